"""Figures and tables of the chapter "Normalizing the inputs" (paper §4.3).

Each function draws what an experiment of :mod:`ebp.experiments.normalizing_inputs` returned; none
computes anything beyond means and ranges for display.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ebp._validate import check_instance
from ebp.experiments.normalizing_inputs import ErrorSurface, HessianSpectra, TrainingSpeed
from ebp.plots.style import (
    BLACK,
    BLUE,
    COLUMN_WIDTH,
    GREEN,
    VERMILLION,
    new_figure,
    panel_label,
    use_book_style,
)
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


def _surface_axes(n: int) -> tuple[Figure, list]:
    """A column-wide figure with ``n`` panels, two per row; an odd last one is centred."""
    rows = (n + 1) // 2
    mosaic = [[2 * r, 2 * r, 2 * r + 1, 2 * r + 1] for r in range(rows)]
    if n % 2:
        mosaic[-1] = [".", n - 1, n - 1, "."]
    if n == 1:
        mosaic = [[0]]
    use_book_style()
    fig, axd = plt.subplot_mosaic(
        mosaic, figsize=(COLUMN_WIDTH, 3.3 * rows + 0.2), layout="constrained"
    )
    return fig, [axd[i] for i in range(n)]


def plot_error_surfaces(surfaces: Sequence[ErrorSurface]) -> Figure:
    """Contours of the error surfaces of a two-weight linear unit, with GD paths, two panels
    per row (an odd last panel centred below).

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
    fig, axes = _surface_axes(len(surfaces))
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
            ax.legend(
                fontsize=9,
                loc="lower left",
                handlelength=1.0,
                frameon=True,
                framealpha=0.9,
                edgecolor="none",
            )
    return fig


def _points(ax, result: TrainingSpeed, predicted: Mapping[str, float] | None) -> None:
    """One row per input version: the seeds' mean epochs as a dot, their range as whiskers,
    the count written beside; an open triangle at ``max_epochs`` where some runs fell short."""
    names = result.names
    y = np.arange(len(names))[::-1]
    for yi, name in zip(y, names, strict=True):
        v = result.best(name)
        color = _GROUP_COLOR[_group(name)]
        right = [result.max_epochs]
        text = f"> {result.max_epochs}"
        if np.all(np.isfinite(v)):
            mean = float(v.mean())
            ax.errorbar(mean, yi, xerr=[[mean - v.min()], [v.max() - mean]], color=color,
                        marker="o", ms=7, capsize=3, lw=1.2)  # fmt: skip
            right, text = [float(v.max())], f"{mean:.0f}"
        else:
            ax.plot(result.max_epochs, yi, marker=">", ms=8, color=color, mfc="white", mew=1.5)
        if predicted is not None and name in predicted:
            ax.plot(predicted[name], yi, marker="D", ms=9, mfc="none", mec=BLACK, mew=1.0,
                    ls="none", zorder=3)  # fmt: skip
            right.append(predicted[name])
        ax.annotate(text, (max(right), yi), xytext=(8, 0), textcoords="offset points",
                    va="center", fontsize=9)  # fmt: skip
    ax.set_yticks(y)
    ax.set_yticklabels([result.labels[n] for n in names])
    ax.set_ylim(-0.6, len(names) - 0.4)
    ax.set_xscale("log")
    ax.set_xlim(0.7, result.max_epochs * 3)
    ax.grid(axis="y", visible=False)


def plot_training_speed(
    linear: TrainingSpeed,
    tanh: TrainingSpeed,
    predicted: Mapping[str, float] | None = None,
) -> Figure:
    """Epochs to the target at each variant's best η: linear unit (a), tanh network (b).

    Dots are means over the seeds, whiskers their range (points on a log axis: a bar's length
    would depend on where the axis starts); an open triangle at the epoch limit marks a variant
    whose runs did not all reach the target.  ``predicted`` (variant → steps) adds open diamonds
    to (a).

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
    fig, (ax_l, ax_t) = new_figure(1, 2, figsize=(7.2, 4.6), sharey=True)
    _points(ax_l, linear, predicted)
    _points(ax_t, tanh, None)
    ax_l.set_xlabel(f"epochs to $E \\leq {linear.target_loss:.4g}$")
    ax_t.set_xlabel(f"epochs to $E \\leq {tanh.target_loss:.3g}$")
    panel_label(ax_l, "(a) linear unit with a bias")
    panel_label(ax_t, "(b) 2-4-1 tanh network")
    handles = [
        Line2D([], [], color=_GROUP_COLOR[g], marker="o", ms=7, ls="none", label=text)
        for g, text in (("clean", "clean"), ("spoil", "spoiled"), ("fix", "spoiled, then fixed"))
    ]
    if predicted is not None:
        handles.append(Line2D([], [], marker="D", ms=9, mfc="none", mec=BLACK, ls="none",
                              label="predicted from κ"))  # fmt: skip
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=9)
    return fig


def _fmt_vec(v: np.ndarray, digits: int = 2) -> str:
    return ", ".join(f"{x:.{digits}f}".replace("-0.00", "0.00") for x in v)


def hessian_table_markdown(spectra: HessianSpectra) -> str:
    """A Markdown table: input means, eq 13's ``C_i``, correlation, eigenvalues and κ of H.

    Headers carry math in ``$…$``: show it with MyST (``markdown_format: myst``)."""
    check_instance(spectra, HessianSpectra, "spectra")
    header = [
        "inputs",
        "means",
        "$C_i$ (eq 13)",
        "correlation",
        "eigenvalues of $H$",
        r"$\kappa$ of $H$",
        r"$\kappa$, no bias",
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
    header = ["inputs", r"$\kappa$ of $H$", r"linear: best $\eta$", "linear: epochs"]
    if predicted is not None:
        header.append("predicted")
    header += [r"tanh: best $\eta$", "tanh: epochs"]
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
