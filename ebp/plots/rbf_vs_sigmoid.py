"""Figures of the chapter "Radial basis functions and sigmoid units" (paper §4.8).

Each function draws what an experiment of :mod:`ebp.experiments.rbf_vs_sigmoid` returned; none
computes anything beyond means, ranges and the fitted exponents the experiment module provides.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle
from matplotlib.ticker import NullFormatter

from ebp._validate import check_instance
from ebp.experiments.rbf_vs_sigmoid import DigitsComparison, MoonsComparison, fitted_exponent
from ebp.plots.style import (
    BLACK,
    BLUE,
    COLUMN_WIDTH,
    GREEN,
    MAX_FIGURE_WIDTH,
    ORANGE,
    VERMILLION,
    new_figure,
    panel_label,
)

__all__ = ["plot_moons_maps", "plot_nearest_centre", "plot_units_sweep"]

CMAP = "PuOr_r"
"""Diverging and colour-blind safe: purple < 0 (class 0), white 0, orange > 0 (class 1)."""

LABELS = {"rbf": "RBF net", "sigmoid": "sigmoid net"}

A = 1.7159


def _scatter_classes(ax: Axes, result: MoonsComparison, faint: bool = False) -> None:
    X, y = result.split.X_train, result.split.y_train
    if faint:
        ax.scatter(X[:, 0], X[:, 1], s=3, color="0.45", lw=0)
        return
    ax.scatter(*X[y == 0].T, s=12, marker="o", facecolor="white", edgecolor=BLACK, lw=0.7)
    ax.scatter(*X[y == 1].T, s=12, marker="s", facecolor=BLACK, edgecolor=BLACK, lw=0.4)


def _map(ax: Axes, result: MoonsComparison, values: np.ndarray, limit: float) -> object:
    g = result.grid
    extent = (g[0], g[-1], g[0], g[-1])
    im = ax.imshow(
        values,
        origin="lower",
        extent=extent,
        cmap=CMAP,
        vmin=-limit,
        vmax=limit,
        interpolation="bilinear",
    )
    ax.set_aspect("equal")
    ax.grid(False)
    return im


def plot_moons_maps(result: MoonsComparison) -> Figure:
    """Outputs of the two networks (top) and one hidden unit of each (bottom) on the moons.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.rbf_vs_sigmoid.moons_comparison`.
    """
    check_instance(result, MoonsComparison, "result")
    fig, axes = new_figure(2, 2, figsize=(MAX_FIGURE_WIDTH, 7.0), sharex=True, sharey=True)
    g = result.grid
    for ax, f, tag in zip(axes[0], ("rbf", "sigmoid"), "ab", strict=True):
        im_out = _map(ax, result, result.output[f], 2.0)
        ax.contour(g, g, result.output[f], levels=[0.0], colors=BLACK, linewidths=1.4)
        _scatter_classes(ax, result)
        panel_label(ax, f"({tag}) {LABELS[f]}: output $g(x)$")
    ax = axes[0, 0]
    ax.scatter(*result.centres.T, s=70, marker="X", color=GREEN, edgecolor="white", lw=0.8)
    for f, ax, tag in zip(("rbf", "sigmoid"), axes[1], "cd", strict=True):
        im_unit = _map(ax, result, result.unit[f], A)
        _scatter_classes(ax, result, faint=True)
        panel_label(ax, f"({tag}) one {'RBF' if f == 'rbf' else 'sigmoid'} unit")
    i = result.unit_index["rbf"]
    centre, sigma = result.centres[i], result.widths[i]
    for r, ls, name in ((sigma, "-", "$\\sigma$"), (2 * sigma, "--", "$2\\sigma$")):
        axes[1, 0].add_patch(Circle(centre, r, fill=False, color=BLACK, ls=ls, lw=1.0))
        axes[1, 0].annotate(  # each circle named where it crosses the upper-right diagonal
            name, centre + r / np.sqrt(2), xytext=(3, 3), textcoords="offset points",
            fontsize=10, ha="left", va="bottom",
        )  # fmt: skip
    axes[1, 0].plot(*centre, marker="X", ms=8, color=GREEN, mec="white")
    for ax in axes[1]:
        ax.set_xlabel("$x_1$")
    for ax in axes[:, 0]:
        ax.set_ylabel("$x_2$")
    fig.colorbar(im_out, ax=axes[0], shrink=0.85, label="network output $g(x)$")
    fig.colorbar(im_unit, ax=axes[1], shrink=0.85, label="unit response")
    return fig


def _band(ax: Axes, x: np.ndarray, rows: np.ndarray, color: str, ls: str, label: str) -> None:
    """Mean over seeds (axis 1) with a min–max band."""
    ax.fill_between(x, rows.min(axis=1), rows.max(axis=1), color=color, alpha=0.2, lw=0)
    ax.plot(x, rows.mean(axis=1), color=color, ls=ls, marker="o", ms=4, label=label)


def plot_units_sweep(result: DigitsComparison) -> Figure:
    """Test error against the number of hidden units on the digits, and the hybrids.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.rbf_vs_sigmoid.digits_comparison`.
    """
    check_instance(result, DigitsComparison, "result")
    fig, ax = new_figure(figsize=(COLUMN_WIDTH, 5.0))
    u = result.units.astype(float)
    err = {k: 100 * v for k, v in result.test_error.items()}
    _band(ax, u, err["sigmoid"], BLUE, "-", "sigmoid net (all layers by SGD)")
    _band(ax, u, err["rbf"], VERMILLION, "--", "RBF net (output layer by SGD)")
    _band(ax, u, err["rbf_solved"], ORANGE, ":", "RBF net (output layer solved)")
    x = float(result.hybrid_centres)
    for key, marker, color, dx, label in (
        ("hybrid", "D", GREEN, 0.94, "RBF on sigmoid features (SGD)"),
        ("hybrid_solved", "d", BLACK, 1.06, "RBF on sigmoid features (solved)"),
    ):
        e = 100 * result.hybrid_error[key]
        ax.errorbar(
            x * dx,
            e.mean(),
            yerr=[[e.mean() - e.min()], [e.max() - e.mean()]],
            marker=marker,
            color=color,
            ms=7,
            capsize=3,
            ls="none",
            label=label,
        )
    _log_log_ticks(ax, u, [2, 5, 10, 20, 40])
    ax.set_xlabel("hidden units (RBF units, or sigmoid units)")
    ax.set_ylabel("test error (%)")
    # below the axes: inside, the five entries would cover the bands
    fig.legend(fontsize=9, loc="outside lower center", ncols=2)
    return fig


def _log_log_ticks(ax: Axes, xticks: Sequence[float], yticks: Sequence[float]) -> None:
    """A log₂ x axis and a log y axis, ticked at ``xticks`` (as integers) and ``yticks`` only."""
    ax.set_xscale("log", base=2)
    ax.set_xticks(xticks, [f"{int(v)}" for v in xticks])
    ax.set_yscale("log")
    ax.set_yticks(yticks, [f"{t:g}" for t in yticks])
    ax.yaxis.set_minor_formatter(NullFormatter())


def plot_nearest_centre(digits: DigitsComparison, moons: MoonsComparison) -> Figure:
    """Mean distance to the nearest k-means centre against the number of centres (log–log).

    Each curve is divided by its first value; the fitted ``d`` of ``distance ∝ k^{−1/d}``
    (:func:`ebp.experiments.rbf_vs_sigmoid.fitted_exponent`) is in the legend.

    Parameters
    ----------
    digits, moons
        From :func:`ebp.experiments.rbf_vs_sigmoid.digits_comparison` and
        :func:`~ebp.experiments.rbf_vs_sigmoid.moons_comparison`.
    """
    check_instance(digits, DigitsComparison, "digits")
    check_instance(moons, MoonsComparison, "moons")
    fig, ax = new_figure(figsize=(COLUMN_WIDTH, 4.0))
    curves = (
        (moons.n_centres, moons.nearest_distance, GREEN, "o", "two moons (2 inputs)"),
        (
            digits.units,
            digits.nearest_distance["features"],
            BLUE,
            "s",
            f"digits, sigmoid features ({digits.hybrid_hidden} inputs)",
        ),
        (
            digits.units,
            digits.nearest_distance["pixels"],
            VERMILLION,
            "^",
            "digits, pixels (64 inputs)",
        ),
    )
    for k, dist, color, marker, label in curves:
        d = fitted_exponent(k, dist)
        ax.plot(
            k, dist / dist[0], color=color, marker=marker, ms=5, label=f"{label}: $d$ = {d:.1f}"
        )
    ks = sorted({int(v) for v in np.concatenate([moons.n_centres, digits.units])})
    _log_log_ticks(ax, ks, [0.25, 0.5, 1.0])
    ax.set_xlabel("number of k-means centres $k$")
    ax.set_ylabel("distance to nearest centre\n(relative to the smallest $k$)")
    ax.legend(fontsize=9, loc="lower left")
    return fig
