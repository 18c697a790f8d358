"""Figures and tables of the chapter "Computing Hessian information" (paper §7).

Each function draws what an experiment of :mod:`ebp.experiments.computing_hessian_information`
returned; none computes anything beyond medians, ranges and sorting for display.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ebp._validate import check_instance
from ebp.experiments.computing_hessian_information import (
    CurvatureMatrices,
    DiagonalComparison,
    FiniteDifferenceSweep,
)
from ebp.plots.style import (
    BLACK,
    BLUE,
    COLUMN_WIDTH,
    GREEN,
    ORANGE,
    VERMILLION,
    new_figure,
    panel_label,
)
from ebp.plots.tables import pipe_table

__all__ = [
    "diagonal_table_markdown",
    "plot_diagonals",
    "plot_finite_difference_error",
    "plot_spectra",
]

LAYER_COLORS = [BLUE, ORANGE, GREEN, VERMILLION]
"""One colour per ``Linear`` layer, input side first."""


def plot_finite_difference_error(sweep: FiniteDifferenceSweep) -> Figure:
    """Relative error of eq 59 (forward) and of the central difference against the step ``α``,
    log–log: median over the directions, shaded from the smallest to the largest.

    Parameters
    ----------
    sweep
        From :func:`ebp.experiments.computing_hessian_information.finite_difference_sweep`.
    """
    check_instance(sweep, FiniteDifferenceSweep, "sweep")
    fig, ax = new_figure(figsize=(COLUMN_WIDTH, 4.2))
    a = sweep.alphas
    for err, color, label in (
        (sweep.forward, BLUE, "forward, eq 59: error O(α)"),
        (sweep.central, ORANGE, "central: error O(α²)"),
    ):
        med = np.median(err, axis=0)
        ax.fill_between(a, err.min(axis=0), err.max(axis=0), color=color, alpha=0.25, lw=0)
        ax.plot(a, med, color=color, marker="o", ms=3, label=label)
    # guides with the slopes of the error model, each through one measured point
    fwd = np.median(sweep.forward, axis=0)
    cen = np.median(sweep.central, axis=0)
    i_hi = int(np.argmin(np.abs(np.log10(a) + 2)))  # α ≈ 1e-2
    i_lo = int(np.argmin(np.abs(np.log10(a) + 12)))  # α ≈ 1e-12
    guides = (
        (a >= 1e-7, fwd[i_hi] * a / a[i_hi]),
        (a >= 1e-6, cen[i_hi] * (a / a[i_hi]) ** 2),
        (a <= 1e-6, fwd[i_lo] * a[i_lo] / a),
    )
    for sel, line in guides:
        ax.plot(a[sel], line[sel], color=BLACK, ls=":", lw=1.0)
    ax.text(a[i_hi] * 2, fwd[i_hi] / 30, "slope 1", fontsize=9)
    ax.text(a[i_hi] / 3, cen[i_hi] / 3000, "slope 2", fontsize=9, ha="right")
    ax.text(a[i_lo] * 2, fwd[i_lo] * 1.5, "slope −1 (rounding)", fontsize=9)
    for alpha, color, label in (
        (sweep.default_alpha_forward, BLUE, "default α, forward"),
        (sweep.default_alpha_central, ORANGE, "default α, central"),
    ):
        ax.axvline(alpha, color=color, ls="--", lw=1.0, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(max(1e-13, 0.3 * float(cen.min())), 10.0)
    ax.set_xlabel("step α (unit direction v)")
    ax.set_ylabel("‖Hv_fd − Hv‖ / ‖Hv‖")
    ax.legend(loc="lower left", fontsize=9)
    return fig


def _signed_sorted(ev: np.ndarray) -> np.ndarray:
    return np.sort(ev)[::-1]


def plot_spectra(*matrices: CurvatureMatrices, linthresh: float = 1e-3) -> Figure:
    """Eigenvalues of ``H`` and of the Gauss–Newton matrix, largest first, one panel per point,
    stacked (symmetric-log axis: linear within ``±linthresh``; zero dotted).

    Parameters
    ----------
    *matrices
        From :func:`ebp.experiments.computing_hessian_information.curvature_matrices`.
    linthresh
        Half-width of the linear part of the eigenvalue axis.
    """
    if not matrices:
        raise ValueError("matrices must hold at least one CurvatureMatrices")
    for i, m in enumerate(matrices):
        check_instance(m, CurvatureMatrices, f"matrices[{i}]")
    n = len(matrices)
    fig, axes = new_figure(n, 1, figsize=(COLUMN_WIDTH, 0.4 + 3.0 * n), sharex=True, sharey=True)
    axes = np.atleast_1d(axes)
    for k, (ax, m) in enumerate(zip(axes, matrices, strict=True)):
        ev_h = _signed_sorted(m.hessian_eigenvalues)
        ev_g = _signed_sorted(m.gauss_newton_eigenvalues)
        rank = np.arange(1, ev_h.size + 1)
        ax.plot(rank, ev_h, color=BLUE, label="Hessian H")
        ax.plot(rank, ev_g, color=ORANGE, ls="--", label="Gauss–Newton G")
        ax.axhline(0.0, color=BLACK, lw=0.8, ls=":", label="eigenvalue 0")
        ax.set_yscale("symlog", linthresh=linthresh)
        ax.set_ylabel("eigenvalue")
        panel_label(ax, f"({chr(97 + k)}) {m.label} weights, E = {m.loss:.2f}")
    axes[-1].set_xlabel("rank (largest first)")
    axes[0].legend(loc="lower left")
    return fig


def _diagonal_scatter(ax: Axes, diag: DiagonalComparison) -> None:
    """Backpropagated against exact Gauss–Newton diagonal, one point per weight, by layer."""
    keep = diag.exact_gn > 0  # constant pixels give exactly zero entries (log axis)
    lo = float(min(diag.exact_gn[keep].min(), diag.backprop_gn[keep].min()))
    hi = float(max(diag.exact_gn.max(), diag.backprop_gn.max()))
    markers = ["o", "s", "^", "D"]
    for i, name in enumerate(diag.layers):
        sel = keep & (diag.layer_index == i)
        ax.scatter(
            diag.exact_gn[sel],
            diag.backprop_gn[sel],
            s=10,
            marker=markers[i % len(markers)],
            color=LAYER_COLORS[i % len(LAYER_COLORS)],
            alpha=0.6,
            lw=0,
            label=name,
        )
    ax.plot([lo, hi], [lo, hi], color=BLACK, lw=0.8, ls=":", label="equal (y = x)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("exact Gauss–Newton diagonal")
    ax.set_ylabel("backpropagated diagonal\n(eqs 54–58)")
    ax.legend(loc="upper left", markerscale=1.5, fontsize=9)
    panel_label(ax, "(a) one point per weight")


def _diagonal_errors(bx: Axes, diag: DiagonalComparison, floor: float = 1e-17) -> None:
    """Per-layer relative errors as points on a log axis; an error of exactly 0 is drawn open
    on the bottom edge, which is labelled 0."""
    comparisons = (
        (diag.err_gn, "backprop GN vs exact GN", BLUE, "o"),
        (diag.err_hessian, "backprop with f″ vs exact H", ORANGE, "s"),
        (diag.err_gn_vs_hessian, "exact GN vs exact H", GREEN, "^"),
    )
    x = np.arange(len(diag.layers))
    for j, (err, label, color, marker) in enumerate(comparisons):
        err = np.asarray(err, dtype=float)
        xj = x + (j - 1) * 0.22
        zero = err <= 0
        bx.plot(xj[~zero], err[~zero], marker, ms=8, color=color, label=label)
        if zero.any():  # (an empty unclipped line would still claim a place in the layout)
            bx.plot(xj[zero], np.full(int(zero.sum()), floor), marker, ms=8, mfc="white",
                    color=color, clip_on=False)  # fmt: skip
    bx.set_yscale("log")
    bx.set_ylim(floor, 30.0)
    ticks = [floor, 1e-13, 1e-9, 1e-5, 1e-1]
    bx.set_yticks(ticks, ["0", *[f"$10^{{{int(np.log10(t))}}}$" for t in ticks[1:]]])
    bx.set_xticks(x, [name.replace(" (", "\n(") for name in diag.layers])
    bx.set_xlim(-0.6, len(diag.layers) - 0.4)
    bx.set_ylabel("relative error per layer")
    bx.legend(loc="center", fontsize=9)
    panel_label(bx, "(b) per layer (open marker on the bottom edge: exactly 0)")


def plot_diagonals(diag: DiagonalComparison) -> Figure:
    """(a, top) the backpropagated Gauss–Newton diagonal (§7.4) against the exact one, per
    layer; (b, below) per-layer relative errors of the three comparisons, as points on a log
    axis (~1e-16 is rounding; an exact 0 sits on the bottom edge).

    Parameters
    ----------
    diag
        From :func:`ebp.experiments.computing_hessian_information.diagonal_comparison`.
    """
    check_instance(diag, DiagonalComparison, "diag")
    fig, (ax, bx) = new_figure(2, 1, figsize=(COLUMN_WIDTH, 7.6))
    _diagonal_scatter(ax, diag)
    _diagonal_errors(bx, diag)
    return fig


def diagonal_table_markdown(diag: DiagonalComparison) -> str:
    """The per-layer relative errors of :func:`plot_diagonals` (b) as a Markdown table."""
    check_instance(diag, DiagonalComparison, "diag")
    rows = [
        [name, f"{a:.2g}", f"{b:.2g}", f"{c:.2g}"]
        for name, a, b, c in zip(
            diag.layers, diag.err_gn, diag.err_hessian, diag.err_gn_vs_hessian, strict=True
        )
    ]
    header = [
        "layer",
        "backprop GN vs exact GN",
        "backprop with f″ vs exact H",
        "exact GN vs exact H",
    ]
    return pipe_table(header, rows)
