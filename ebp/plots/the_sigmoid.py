"""Figures and tables of the chapter "The sigmoid" (paper §4.4).

Each function draws what an experiment of :mod:`ebp.experiments.the_sigmoid` returned; none computes
anything beyond means and ranges for display.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ebp._validate import check_instance
from ebp.experiments.the_sigmoid import (
    ActivationRace,
    DepthGradients,
    SigmoidConstants,
    SigmoidCurves,
    Twisting,
    UnitStatistics,
)
from ebp.plots.style import (
    BLACK,
    BLUE,
    COLUMN_WIDTH,
    GREEN,
    ORANGE,
    SKY_BLUE,
    VERMILLION,
    new_figure,
    panel_label,
)
from ebp.plots.tables import pipe_table

__all__ = [
    "LABELS",
    "TEXT_LABELS",
    "plot_activation_race",
    "plot_depth_gradients",
    "plot_sigmoid_curves",
    "plot_twisting",
    "unit_statistics_markdown",
]

STYLE: dict[str, dict[str, Any]] = {
    "logistic": {"color": VERMILLION, "ls": "--"},
    "tanh": {"color": BLUE, "ls": "-."},
    "lecun_tanh": {"color": GREEN, "ls": "-"},
    "relu": {"color": "#888888", "ls": ":"},
}
LABELS: dict[str, str] = {
    "logistic": r"logistic $1/(1+e^{-x})$",
    "tanh": r"$\tanh x$",
    "lecun_tanh": r"$1.7159\,\tanh(2x/3)$",
    "relu": r"ReLU $\max(0, x)$",
}
"""Labels of the activations in the figures (matplotlib's mathtext)."""

TEXT_LABELS: dict[str, str] = {
    "logistic": "logistic $1/(1 + e^{-x})$",
    "tanh": r"$\tanh x$",
    "lecun_tanh": r"$1.7159\,\tanh(2x/3)$",
    "relu": r"ReLU $\max(0, x)$",
}
"""Labels for Markdown tables, math in ``$...$`` (displayed with MyST, which typesets it)."""


def _mark_landmarks(axes: Sequence[Axes], constants: SigmoidConstants) -> None:
    """The recommended sigmoid's landmarks, each labelled: ``f(±1) = ±1`` and its asymptotes
    ``±1.7159`` in (a), ``f′(0)`` in (b), the extrema of ``f″`` in (c)."""
    ax_f, ax_df, ax_d2 = axes
    ax_f.plot([-1, 1], [-1, 1], "o", color=BLACK, ms=4)
    ax_f.annotate(r"$f(\pm1)=\pm1$", xy=(1, 1), xytext=(1.5, 0.3), fontsize=9,
                  arrowprops={"arrowstyle": "-", "color": BLACK, "lw": 0.6})  # fmt: skip
    for level in (-1.7159, 1.7159):
        ax_f.axhline(level, color=GREEN, lw=0.6, ls=":")
    ax_f.text(-3.9, 1.7159, "asymptote $1.7159$", color=GREEN, va="bottom", fontsize=9)
    ax_f.text(-3.9, -1.7159, "asymptote $-1.7159$", color=GREEN, va="top", fontsize=9)
    ax_df.plot([0], [constants.slope_at_0], "o", color=BLACK, ms=4)
    ax_df.annotate(f"$f'(0) = {constants.slope_at_0:.3f}$", xy=(0, constants.slope_at_0),
                   xytext=(0.6, 1.2), fontsize=9)  # fmt: skip
    xm = constants.argmax_f2
    for sign in (-1, 1):
        ax_d2.axvline(sign * xm, color=GREEN, lw=0.8, ls=":")
    ax_d2.annotate(f"extrema at $x = \\pm{xm:.3f}$", xy=(xm, 0.45), xytext=(1.3, 0.45),
                   va="center", fontsize=9,
                   arrowprops={"arrowstyle": "-", "color": GREEN, "lw": 0.6})  # fmt: skip


def plot_sigmoid_curves(curves: SigmoidCurves, constants: SigmoidConstants) -> Figure:
    """The activations (a, top), their slopes (b, middle) and second derivatives (c, bottom),
    stacked on one axis of the weighted sum.

    The recommended sigmoid's landmarks are marked: ``f(±1) = ±1`` and its asymptotes in (a),
    ``f′(0)`` in (b), and the extrema of ``f″`` near ``±1`` in (c).

    Parameters
    ----------
    curves
        From :func:`ebp.experiments.the_sigmoid.sigmoid_curves`.
    constants
        From :func:`ebp.experiments.the_sigmoid.lecun_tanh_constants`.
    """
    check_instance(curves, SigmoidCurves, "curves")
    check_instance(constants, SigmoidConstants, "constants")
    fig, axes = new_figure(3, 1, figsize=(COLUMN_WIDTH, 8.4), sharex=True)
    x = curves.x
    for name in curves.f:
        style = STYLE[name]
        axes[0].plot(x, curves.f[name], label=LABELS[name], **style)
        axes[1].plot(x, curves.df[name], **style)
        if name != "relu":
            axes[2].plot(x, curves.d2f[name], **style)
    for ax in axes:
        ax.axhline(0.0, color=BLACK, lw=0.6)
        ax.axvline(0.0, color=BLACK, lw=0.6)
        ax.set_xlim(x[0], x[-1])
    axes[2].set_xlabel("weighted sum $x$")
    axes[0].set_ylim(-2.0, 2.0)
    axes[1].set_ylim(-0.05, 1.3)
    _mark_landmarks(axes, constants)
    axes[0].set_ylabel("$f(x)$")
    axes[1].set_ylabel("$f'(x)$")
    axes[2].set_ylabel("$f''(x)$")
    panel_label(axes[0], "(a) the activations")
    panel_label(axes[1], "(b) their slopes")
    panel_label(axes[2], "(c) second derivatives")
    fig.legend(loc="outside lower center", ncols=2, handlelength=3.0)
    return fig


def unit_statistics_markdown(rows: Sequence[UnitStatistics], labels: dict[str, str]) -> str:
    """A Markdown table of :class:`~ebp.experiments.the_sigmoid.UnitStatistics`, one row each.

    Parameters
    ----------
    rows
        From :func:`ebp.experiments.the_sigmoid.unit_statistics`.
    labels
        Activation name → the text of its row header.
    """
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence) or not rows:
        raise TypeError("rows must be a non-empty sequence of UnitStatistics")
    for i, r in enumerate(rows):
        check_instance(r, UnitStatistics, f"rows[{i}]")
    header = [
        "activation $f$",
        "$f'(0)$",
        r"$E\,f(y)$",
        r"$\mathrm{Var}\,f(y)$",
        "std of $f(y)$",
        r"$E\,f'(y)$",
    ]
    body = [
        [labels.get(r.name, r.name)]
        + [f"{v:.3f}" for v in (r.slope_at_0, r.mean, r.var, r.std, r.mean_slope)]
        for r in rows
    ]
    return pipe_table(header, body)


def _band(ax: Axes, x: np.ndarray, curves: np.ndarray, label: str, style: dict) -> None:
    ax.fill_between(
        x, np.nanmin(curves, axis=0), np.nanmax(curves, axis=0), color=style["color"], alpha=0.18
    )
    ax.plot(x, np.nanmean(curves, axis=0), label=label, lw=2.0, **style)


def plot_activation_race(race: ActivationRace) -> Figure:
    """Training loss at each activation's best rate (a, top) and final loss against the rate
    (b, bottom).

    Lines are means over the seeds, bands their min–max range.

    Parameters
    ----------
    race
        From :func:`ebp.experiments.the_sigmoid.activation_race`.
    """
    check_instance(race, ActivationRace, "race")
    fig, (ax_c, ax_e) = new_figure(2, 1, figsize=(COLUMN_WIDTH, 7.6))
    for name in race.names:
        style = STYLE[name]
        label = f"{LABELS[name]}, $\\eta = {race.best_eta(name):g}$"
        _band(ax_c, race.epoch, race.best_curves(name), label, style)
        final = race.train_loss[name][..., -1]
        mean = np.nanmean(final, axis=1)
        lo, hi = np.nanmin(final, axis=1), np.nanmax(final, axis=1)
        ax_e.errorbar(
            race.etas,
            mean,
            yerr=[mean - lo, hi - mean],
            marker="o",
            ms=4,
            capsize=3,
            label=LABELS[name],
            **style,
        )
    ax_c.set_yscale("log")
    ax_c.set_xlim(0, race.epoch[-1])
    ax_c.set_xlabel("epoch")
    ax_c.set_ylabel("training cross-entropy (nats)")
    ax_c.legend(fontsize=9, handlelength=3.0)
    panel_label(ax_c, f"(a) at each activation's best $\\eta$, {race.seeds.size} seeds")
    ax_e.set_xscale("log")
    ax_e.set_yscale("log")
    ax_e.set_xlabel(r"learning rate $\eta$")
    ax_e.set_ylabel(f"training cross-entropy\nafter {int(race.epoch[-1])} epochs")
    panel_label(ax_e, "(b) the learning-rate sweep (line styles as in (a))")
    return fig


def plot_depth_gradients(result: DepthGradients) -> Figure:
    """Gradient norm ``‖∂E/∂W_l‖`` per layer at initialization, mean and range over seeds.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.the_sigmoid.depth_gradients`.
    """
    check_instance(result, DepthGradients, "result")
    fig, ax = new_figure(figsize=(COLUMN_WIDTH, 4.0))
    for name in result.names:
        style = STYLE[name]
        g = result.grad_norm[name]
        label = LABELS[name]
        if result.scales[name] != 1.0:
            label += f", $\\sigma_w = {result.scales[name]:.3g}/\\sqrt{{m}}$"
        ax.fill_between(result.layer, g.min(axis=0), g.max(axis=0), color=style["color"], alpha=0.2)
        ax.plot(result.layer, g.mean(axis=0), marker="o", ms=4, label=label, **style)
    ax.set_yscale("log")
    ax.set_xticks(result.layer)
    ax.set_xlabel("layer $l$ (1 = next to the input)")
    ax.set_ylabel(r"gradient norm $\|\partial E/\partial W_l\|$")
    ax.legend(fontsize=9, loc="lower right", handlelength=3.0)
    return fig


def plot_twisting(result: Twisting) -> Figure:
    """Slope of ``f(x) + a·x`` (a, top) and the weighted sum of a saturated unit under
    descent (b, bottom).

    Parameters
    ----------
    result
        From :func:`ebp.experiments.the_sigmoid.twisting`.
    """
    check_instance(result, Twisting, "result")
    fig, (ax_s, ax_z) = new_figure(2, 1, figsize=(COLUMN_WIDTH, 7.0))
    colors = [BLACK, ORANGE, SKY_BLUE, VERMILLION, GREEN]
    base = {"tanh": r"\tanh x", "lecun_tanh": r"1.7159\tanh(2x/3)", "logistic": r"\sigma(x)"}
    for i, a in enumerate(result.a_values):
        c = colors[i % len(colors)]
        label = f"${base[result.base]}$" if a == 0 else f"${base[result.base]} + {a:g}\\,x$"
        ax_s.plot(result.x, result.slope[i], color=c, label=label)
        ax_z.plot(result.steps, result.z[i], color=c)
        if a > 0:
            ax_s.axhline(a, color=c, lw=0.6, ls=":")
            ax_s.text(0.0, a, f"$a = {a:g}$", color=c, ha="center", va="top", fontsize=9)
    ax_s.set_yscale("log")
    ax_s.set_ylim(1e-5, 2.0)
    ax_s.set_xlim(result.x[0], result.x[-1])
    ax_s.axvline(result.z0, color=BLACK, lw=0.6, ls="--")
    ax_s.annotate("start", xy=(result.z0, 2e-5), xytext=(-4, 0), textcoords="offset points",
                  ha="right", fontsize=9)  # fmt: skip
    ax_s.set_xlabel("weighted sum $x$")
    ax_s.set_ylabel("slope $f'(x) + a$")
    panel_label(ax_s, "(a) the slope never drops below $a$")
    ax_z.axhline(0.0, color=BLACK, lw=0.6)
    ax_z.set_xlim(0, result.n_steps)
    ax_z.set_xlabel("gradient-descent step")
    ax_z.set_ylabel("weighted sum $w$ of the unit")
    panel_label(ax_z, f"(b) leaving the flat spot, target {result.target:g}")
    fig.legend(loc="outside lower center", ncols=len(result.a_values))
    return fig
