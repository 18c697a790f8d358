"""Figures and tables of the chapter "Input transformations revisited" (paper §5.3).

Each function draws what an experiment of :mod:`ebp.experiments.input_transformations`
returned; none computes anything beyond closed forms drawn as reference lines.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ebp._validate import check_instance
from ebp.experiments.input_transformations import (
    OffsetSpectrum,
    OffsetSteps,
    PowerLaw,
    Treatments,
)
from ebp.plots.style import BLACK, BLUE, COLUMN_WIDTH, GREEN, ORANGE, VERMILLION, new_figure
from ebp.plots.style import panel_label as _panel_label
from ebp.plots.tables import pipe_table

__all__ = [
    "offset_table_markdown",
    "plot_offset_spectrum",
    "plot_offset_steps",
    "plot_treatments",
    "treatments_table_markdown",
]

_TREATMENTS = (
    ("raw", "raw inputs", "o", VERMILLION),
    ("per_weight", "per-weight rates $\\eta/H_{ii}$", "s", ORANGE),
    ("whitened", "whitened", "D", BLUE),
)


def _fit_line(ax, fit: PowerLaw, color: str) -> None:
    """The fitted power law, dashed in its data's colour, drawn 3× above the data; its
    exponent in the legend."""
    x = np.geomspace(fit.x_min, fit.x_max, 50)
    ax.plot(x, fit(x) * 3.0, ls="--", lw=1.2, color=color,
            label=f"fit $\\propto c^{{{fit.exponent:.2f}}}$, ×3")  # fmt: skip


def plot_offset_spectrum(spectrum: OffsetSpectrum, *, c_min: float = 3.0) -> Figure:
    """(a) the eigenvalues of ``H`` against the offset ``c``, measured (markers) and exact
    (lines); (b) ``κ`` with and without the bias.  Log-log axes; each fitted power law is drawn
    three times above its data (dashed), so that it does not hide them.

    Parameters
    ----------
    spectrum
        From :func:`ebp.experiments.input_transformations.offset_spectrum`.
    c_min
        Smallest offset of the fitted range.
    """
    check_instance(spectrum, OffsetSpectrum, "spectrum")
    c = spectrum.offsets
    keep = c > 0
    fig, (ax_l, ax_k) = new_figure(1, 2, figsize=(COLUMN_WIDTH, 4.4))
    lam_minus, lam_plus = spectrum.exact()
    ax_l.plot(c[keep], lam_plus[keep], color=VERMILLION, lw=1.2, label=r"exact $\lambda_+$")
    ax_l.plot(c[keep], lam_minus[keep], color=BLUE, lw=1.2, label=r"exact $\lambda_-$")
    ax_l.plot(c[keep], spectrum.lambda_max[keep], "o", ms=4, mfc="none", color=VERMILLION,
              label=r"$\lambda_{\max}$")  # fmt: skip
    ax_l.plot(c[keep], spectrum.lambda_min[keep], "s", ms=4, mfc="none", color=BLUE,
              label=r"$\lambda_{\min}$")  # fmt: skip
    _fit_line(ax_l, spectrum.fit("lambda_max", c_min=c_min), VERMILLION)
    _fit_line(ax_l, spectrum.fit("lambda_min", c_min=c_min), BLUE)
    ax_l.set_ylabel("eigenvalue of $H$")
    _panel_label(ax_l, "(a) eigenvalues")
    ax_k.plot(c[keep], spectrum.condition[keep], "o", ms=4, color=VERMILLION,
              label="with bias")  # fmt: skip
    ax_k.plot(c[keep], spectrum.condition_no_bias[keep], "s", ms=4, color=GREEN,
              label="no bias")  # fmt: skip
    _fit_line(ax_k, spectrum.fit("condition", c_min=c_min), VERMILLION)
    _fit_line(ax_k, spectrum.fit("condition_no_bias", c_min=c_min), GREEN)
    ax_k.set_ylabel(r"$\kappa = \lambda_{\max}/\lambda_{\min}$")
    _panel_label(ax_k, r"(b) condition number $\kappa$")
    for ax in (ax_l, ax_k):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("offset $c$ added to every input")
        ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2)
    return fig


def _tol_text(tol: float) -> str:
    """``1e-06`` as ``$10^{-6}$`` (a power of ten), anything else as ``{tol:g}``."""
    k = math.log10(tol)
    return f"$10^{{{round(k)}}}$" if abs(k - round(k)) < 1e-12 else f"{tol:g}"


def _error_curves(ax, steps: OffsetSteps) -> None:
    """Relative distance to the minimum per step, one curve per offset (``c = 0``, which
    reaches the minimum at the first step, has nothing to draw on a log axis)."""
    colors = [BLUE, GREEN, ORANGE, VERMILLION, "#CC79A7", "#56B4E9", BLACK]
    for i, (c, err) in enumerate(zip(steps.offsets, steps.errors, strict=True)):
        if err.size < 3 or c == 0:
            continue
        t = np.unique(np.geomspace(1, err.size - 1, 300).astype(int))
        ax.plot(t, np.maximum(err[t], 1e-300), color=colors[i % len(colors)], lw=1.4,
                label=f"$c = {c:g}$")  # fmt: skip
    ax.axhline(steps.tol, color=BLACK, lw=0.9, ls=":")
    ax.text(1.1, steps.tol * 1.6, f"tolerance {_tol_text(steps.tol)}", fontsize=9)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(steps.tol / 30, 3)
    ax.set_xlabel("step $t$")
    ax.set_ylabel(r"$\|w_t - w^*\| \,/\, \|w_0 - w^*\|$")
    ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def plot_offset_steps(steps: OffsetSteps) -> Figure:
    """Panel (a), the relative distance to the minimum against the step, one curve per offset;
    (b) steps to the tolerance against ``κ``: measured (dots), predicted from ``κ`` (line),
    and after centering (diamond).  Log-log axes.

    Parameters
    ----------
    steps
        From :func:`ebp.experiments.input_transformations.offset_steps`.
    """
    check_instance(steps, OffsetSteps, "steps")
    fig, (ax_e, ax_s) = new_figure(2, 1, figsize=(COLUMN_WIDTH, 7.0))
    _error_curves(ax_e, steps)
    _panel_label(ax_e, "(a) distance to the minimum, batch gradient descent")
    kappa = np.geomspace(1.0 + 1e-3, steps.condition.max() * 2, 200)
    r = (kappa - 1) / (kappa + 1) if steps.rate == "best" else 1 - 1 / kappa
    ax_s.plot(kappa, np.ceil(np.log(steps.tol) / np.log(r)), color=BLACK, lw=1.0,
              label=r"predicted from $\kappa$")  # fmt: skip
    ax_s.plot(steps.condition, steps.measured, "o", ms=7, color=VERMILLION,
              label="measured, inputs $+\\,c$")  # fmt: skip
    for c, k, m in zip(steps.offsets, steps.condition, steps.measured, strict=True):
        if c > 0:
            ax_s.annotate(f"$c = {c:g}$", (k, m), xytext=(6, -12), textcoords="offset points",
                          fontsize=9)  # fmt: skip
    ax_s.plot(steps.centred_condition, steps.centred_measured, "D", ms=9, mfc="none",
              color=BLUE, mew=1.5, label="measured, centred (every $c$)")  # fmt: skip
    ax_s.set_xscale("log")
    ax_s.set_yscale("log")
    ax_s.set_xlim(0.7, kappa[-1])
    ax_s.set_ylim(0.7, steps.measured.max() * 3)
    ax_s.set_xlabel(r"condition number $\kappa$ of $H$")
    ax_s.set_ylabel(f"steps to tolerance {_tol_text(steps.tol)}")
    ax_s.legend(fontsize=9, loc="upper left")
    _panel_label(ax_s, r"(b) steps against $\kappa$")
    return fig


def plot_treatments(treatments: Treatments, labels: Mapping[str, str] | None = None) -> Figure:
    """The eigenvalues of ``H`` per input case (rows) on a log axis: raw, with per-weight rates
    (``D H D``) and after whitening, each a row of markers.

    Parameters
    ----------
    treatments
        From :func:`ebp.experiments.input_transformations.input_treatments`.
    labels
        Optional display label per case.
    """
    check_instance(treatments, Treatments, "treatments")
    labels = dict(labels or {})
    names = treatments.names
    fig, ax = new_figure(1, 1, figsize=(COLUMN_WIDTH, 0.75 * len(names) + 1.4))
    y = np.arange(len(names))[::-1].astype(float)
    for (key, _text, marker, color), dy in zip(_TREATMENTS, (0.22, 0.0, -0.22), strict=True):
        for yi, name in zip(y, names, strict=True):
            lam = treatments.spectrum(name, key)
            ax.plot(lam, np.full(lam.shape, yi + dy), marker, ms=7, mfc="none", mew=1.4,
                    color=color, ls="-", lw=0.8)  # fmt: skip
    ax.set_yticks(y)
    ax.set_yticklabels([labels.get(n, n) for n in names])
    ax.set_xscale("log")
    ax.set_xlabel("eigenvalues of the Hessian $H$ (with the bias)")
    ax.grid(axis="y", visible=False)
    handles = [
        Line2D([], [], marker=m, ms=7, mfc="none", mew=1.4, color=col, ls="-", lw=0.8, label=t)
        for _k, t, m, col in _TREATMENTS
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=9)
    return fig


def _num(x: float) -> str:
    """A number for a table: 4 significant digits, whole numbers from 10⁴ to 10⁶."""
    if 1e4 <= abs(x) < 1e6:
        return f"{x:.0f}"
    if x == 0 or 1e-3 <= abs(x) < 1e4:
        return f"{x:.4g}"
    return f"{x:.3e}"


def offset_table_markdown(spectrum_steps: OffsetSteps) -> str:
    """A Markdown table per offset: ``λ_max``, the exact ``λ₊``, ``λ_min``, ``κ``, predicted
    and measured steps, and ``λ_max``, ``κ`` and measured steps after centering."""
    check_instance(spectrum_steps, OffsetSteps, "spectrum_steps")
    s = spectrum_steps
    header = [
        "$c$",
        r"$\lambda_{\max}$",
        r"$\lambda_{\min}$",
        r"$\kappa$",
        r"$\eta$",
        "steps predicted",
        "steps measured",
        r"centred $\lambda_{\max}$",
        r"centred $\kappa$",
        "centred steps",
    ]
    rows = []
    for i, c in enumerate(s.offsets):
        rows.append([
            f"{c:g}",
            _num(s.lambda_max[i]),
            _num(s.lambda_min[i]),
            _num(s.condition[i]),
            _num(s.eta[i]),
            f"{s.predicted[i]:d}",
            f"{s.measured[i]:d}",
            _num(s.centred_lambda_max[i]),
            _num(s.centred_condition[i]),
            f"{s.centred_measured[i]:d}",
        ])  # fmt: skip
    return pipe_table(header, rows)


def treatments_table_markdown(
    treatments: Treatments, labels: Mapping[str, str] | None = None
) -> str:
    """A Markdown table per input case: the eigenvalues of ``H``, and ``κ`` with the predicted
    steps raw, with per-weight rates and whitened."""
    check_instance(treatments, Treatments, "treatments")
    labels = dict(labels or {})
    header = ["inputs", "eigenvalues of $H$"]
    for _key, text, _m, _c in _TREATMENTS:
        header.append(rf"$\kappa$, {text}")
    header.append("steps: raw / per-weight / whitened")
    rows = []
    for name in treatments.names:
        lam = treatments.eigenvalues[name]
        row = [labels.get(name, name), ", ".join(_num(v) for v in lam)]
        row += [_num(treatments.condition(name, k)) for k, *_ in _TREATMENTS]
        row.append(" / ".join(str(treatments.predicted_steps(name, k)) for k, *_ in _TREATMENTS))
        rows.append(row)
    return pipe_table(header, rows)
