"""Figures and tables of the chapter "Normalizing the inputs" (paper §4.3).

Each function draws what an experiment of :mod:`ebp.experiments.normalizing_inputs` returned; none
computes anything beyond means and ranges for display.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ebp._validate import check_instance
from ebp.experiments.normalizing_inputs import ErrorSurface, HessianSpectra, TrainingSpeed
from ebp.plots.style import BLACK, BLUE, GREEN, VERMILLION, new_figure, panel_label
from ebp.plots.tables import pipe_table

__all__ = [
    "hessian_table_markdown",
    "plot_error_surfaces",
    "plot_training_speed",
    "speed_table_markdown",
]

_GROUP_COLOR = {"clean": GREEN, "spoil": VERMILLION, "fix": BLUE}


def _group(name: str) -> str:
    if name == "clean":
        return "clean"
    if name in ("offset", "scales", "correlated", "spoiled"):
        return "spoil"
    return "fix"


def plot_error_surfaces(surfaces: Sequence[ErrorSurface]) -> Figure:
    """Contours of the error surfaces of a two-weight linear unit, side by side, with GD paths.

    Contours are drawn at excess losses ``E − E_min`` spaced by factors of 4; every panel has
    equal scales on both axes, so a round bowl looks round.

    Parameters
    ----------
    surfaces
        From :func:`ebp.experiments.normalizing_inputs.error_surface`, one per panel.
    """
    if isinstance(surfaces, ErrorSurface) or not isinstance(surfaces, Sequence) or not surfaces:
        raise TypeError("surfaces must be a non-empty sequence of ErrorSurface")
    for i, s in enumerate(surfaces):
        check_instance(s, ErrorSurface, f"surfaces[{i}]")
    n = len(surfaces)
    fig, axes = new_figure(1, n, figsize=(3.6 * n, 3.9))
    axes = np.atleast_1d(axes)
    for i, (ax, s) in enumerate(zip(axes, surfaces, strict=True)):
        excess = s.E - s.E_min
        top = float(excess.max())
        levels = top * 4.0 ** -np.arange(9, 0, -1)
        ax.contour(s.w1, s.w2, excess, levels=levels, colors="#888888", linewidths=0.8)
        ax.plot(s.path[:, 0], s.path[:, 1], color=VERMILLION, lw=1.3, marker="o", ms=3)
        ax.plot(*s.path[0], marker="s", color=BLACK, ms=6, ls="none", label="start")
        ax.plot(*s.w_star, marker="*", color=BLUE, ms=12, ls="none", label="minimum $w^*$")
        ax.set_aspect("equal")
        ax.set_xlim(s.w1[0], s.w1[-1])
        ax.set_ylim(s.w2[0], s.w2[-1])
        ax.set_xlabel("$w_1$")
        ax.set_ylabel("$w_2$")
        ax.grid(False)
        letter = chr(ord("a") + i)
        panel_label(
            ax, f"({letter}) {s.label}\n$\\kappa = {s.condition:.1f}$, $\\eta = {s.eta:.3g}$"
        )
        if i == 0:
            ax.legend(fontsize=9, loc="lower left", handlelength=1.0)
    return fig


def _bars(ax, result: TrainingSpeed, predicted: Mapping[str, float] | None) -> None:
    names = result.names
    y = np.arange(len(names))[::-1]
    for yi, name in zip(y, names, strict=True):
        v = result.best(name)
        color = _GROUP_COLOR[_group(name)]
        if np.all(np.isfinite(v)):
            mean = float(v.mean())
            ax.barh(yi, mean, color=color, alpha=0.75, height=0.6)
            ax.errorbar(mean, yi, xerr=[[mean - v.min()], [v.max() - mean]], color=BLACK,
                        capsize=3, lw=1)  # fmt: skip
            ax.text(v.max() * 1.15, yi, f"{mean:.0f}", va="center", fontsize=9)
        else:
            ax.barh(yi, result.max_epochs, color="white", edgecolor=color, hatch="//", height=0.6)
            ax.text(result.max_epochs * 1.15, yi, f"> {result.max_epochs}", va="center", fontsize=9)
        if predicted is not None and name in predicted:
            label = "predicted from κ" if yi == y[0] else None
            ax.plot(predicted[name], yi, marker="D", color="white", ms=6, mec=BLACK, mew=1.0,
                    ls="none", label=label)  # fmt: skip
    ax.set_yticks(y)
    ax.set_yticklabels([result.labels[n] for n in names])
    ax.set_xscale("log")
    ax.set_xlim(0.7, result.max_epochs * 4)
    ax.grid(axis="y", visible=False)


def plot_training_speed(
    linear: TrainingSpeed,
    tanh: TrainingSpeed,
    predicted: Mapping[str, float] | None = None,
) -> Figure:
    """Epochs to the target at each variant's best η: linear unit (a), tanh network (b).

    Bars are means over the seeds, whiskers their range; a hatched bar marks a variant whose
    runs did not all reach the target.  ``predicted`` (variant → steps) adds diamonds to (a).

    Parameters
    ----------
    linear, tanh
        From :func:`ebp.experiments.normalizing_inputs.training_speed` with ``model="linear"`` and
        ``model="tanh"``.
    predicted
        Optional predicted steps per variant for the linear unit.
    """
    check_instance(linear, TrainingSpeed, "linear")
    check_instance(tanh, TrainingSpeed, "tanh")
    fig, (ax_l, ax_t) = new_figure(1, 2, figsize=(11.0, 4.4), sharey=True)
    _bars(ax_l, linear, predicted)
    _bars(ax_t, tanh, None)
    ax_l.set_xlabel(f"epochs to $E \\leq {linear.target_loss:.4g}$ (batch GD)")
    ax_t.set_xlabel(f"epochs to $E \\leq {tanh.target_loss:.3g}$ (batch GD)")
    panel_label(ax_l, "(a) linear unit with a bias (LMS)")
    panel_label(ax_t, "(b) 2-4-1 network, $1.7159\\tanh(2x/3)$")
    handles = [
        Patch(color=_GROUP_COLOR[g], alpha=0.75, label=text)
        for g, text in (("clean", "clean"), ("spoil", "spoiled"), ("fix", "spoiled, then fixed"))
    ]
    if predicted is not None:
        handles += ax_l.get_legend_handles_labels()[0]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=9)
    return fig


def _fmt_vec(v: np.ndarray, digits: int = 2) -> str:
    return ", ".join(f"{x:.{digits}f}".replace("-0.00", "0.00") for x in v)


def hessian_table_markdown(spectra: HessianSpectra) -> str:
    """A Markdown table: input means, eq 13's ``C_i``, correlation, eigenvalues and κ of H."""
    check_instance(spectra, HessianSpectra, "spectra")
    header = [
        "inputs",
        "means",
        "Cᵢ (eq 13)",
        "correlation",
        "eigenvalues of H",
        "κ of H",
        "κ, no bias",
    ]
    rows = []
    for n in spectra.names:
        r = spectra.correlation[n]
        rows.append([
            spectra.labels[n],
            _fmt_vec(spectra.mean[n]),
            _fmt_vec(spectra.second_moment[n]),
            f"{0.0 if abs(r) < 5e-3 else r:.2f}",
            _fmt_vec(spectra.eigenvalues[n], 3),
            f"{spectra.condition[n]:.1f}",
            f"{spectra.condition_no_bias[n]:.1f}",
        ])  # fmt: skip
    return pipe_table(header, rows)


def _cell(result: TrainingSpeed, name: str) -> str:
    v = result.best(name)
    if not np.all(np.isfinite(v)):
        n_ok = int(np.isfinite(v).sum())
        return f"> {result.max_epochs} ({n_ok}/{v.size} reached)"
    sd = float(np.std(v, ddof=1)) if v.size > 1 else 0.0
    return f"{v.mean():.1f} ± {sd:.1f}"


def speed_table_markdown(
    spectra: HessianSpectra,
    linear: TrainingSpeed,
    tanh: TrainingSpeed,
    predicted: Mapping[str, float] | None = None,
) -> str:
    """A Markdown table: κ, and per model the best η and the epochs to the target (mean ± sd)."""
    check_instance(spectra, HessianSpectra, "spectra")
    check_instance(linear, TrainingSpeed, "linear")
    check_instance(tanh, TrainingSpeed, "tanh")
    header = ["inputs", "κ of H", "linear: best η", "linear: epochs"]
    if predicted is not None:
        header.append("linear: predicted")
    header += ["tanh net: best η", "tanh net: epochs"]
    rows = []
    for n in linear.names:
        row = [
            linear.labels[n],
            f"{spectra.condition[n]:.1f}",
            f"{linear.best_eta[n]:.3g}",
            _cell(linear, n),
        ]
        if predicted is not None:
            row.append(f"{predicted[n]:.0f}")
        row += [f"{tanh.best_eta[n]:.3g}", _cell(tanh, n)] if n in tanh.names else ["", ""]
        rows.append(row)
    return pipe_table(header, rows)
