"""Figures of the chapter "Initializing the weights" (paper §4.6).

Each function draws what an experiment of :mod:`ebp.experiments.initializing_the_weights` returned
and returns the figure; none of them computes anything beyond means and ranges for display.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure

from ebp._validate import check_instance
from ebp.experiments.initializing_the_weights import (
    SCHEMES,
    DepthProfile,
    FanInStd,
    ScaleSweep,
    SchemeComparison,
    Symmetry,
)
from ebp.plots.style import (
    BLACK,
    BLUE,
    COLUMN_WIDTH,
    GREEN,
    MAX_FIGURE_WIDTH,
    ORANGE,
    PURPLE,
    SKY_BLUE,
    VERMILLION,
    new_figure,
    panel_label,
    use_book_style,
)
from ebp.plots.tables import pipe_table

__all__ = [
    "fan_in_table_markdown",
    "plot_depth_and_fan_in",
    "plot_scale_sweep",
    "plot_scheme_histograms",
    "plot_scheme_training",
    "plot_symmetry",
]

_INIT_LABEL = {
    **SCHEMES,
    "lecun_uniform": "LeCun: U(±√(3/m))",
    "zeros": "all zero",
    "constant": "all equal (constant)",
    "normal": "N(0, 1), fan-in ignored",
}
_INIT_STYLE: dict[str, dict[str, Any]] = {
    "lecun_normal": {"color": BLUE, "ls": "-", "marker": "o"},
    "lecun_uniform": {"color": SKY_BLUE, "ls": "--", "marker": "s"},
    "xavier_normal": {"color": GREEN, "ls": "-.", "marker": "^"},
    "he_normal": {"color": VERMILLION, "ls": ":", "marker": "v"},
    "pytorch": {"color": ORANGE, "ls": "--", "marker": "D"},
    "zeros": {"color": VERMILLION, "ls": "-", "lw": 3.0, "marker": None},
    "constant": {"color": PURPLE, "ls": "--", "marker": None},
    "normal": {"color": PURPLE, "ls": "-", "marker": "x"},
}
_SCALE_COLORS = [PURPLE, SKY_BLUE, BLUE, ORANGE, VERMILLION, GREEN, BLACK]
_LAYER_GREYS = ["#000000", "#555555", "#888888", "#aaaaaa"]
_LAYER_MARKERS = ["o", "s", "^", "v"]
_LAYER_LINES = ["-", "--", "-.", ":"]


_TABLE_LABEL = {
    "lecun_normal": "LeCun: $N(0, 1/m)$",
    "lecun_uniform": r"LeCun: $U(\pm\sqrt{3/m})$",
    "pytorch": r"PyTorch default: $U(\pm 1/\sqrt{m})$",
}


def _label(init: str) -> str:
    return _INIT_LABEL.get(init, init)


def _style(init: str) -> dict[str, Any]:
    return _INIT_STYLE.get(init, {"color": BLACK, "ls": "-", "marker": "."})


def _band(ax: Axes, x: np.ndarray, runs: np.ndarray, color: str, label: str, **kw: Any) -> None:
    """Mean line over the rows of ``runs`` and a shaded min–max band."""
    ax.fill_between(x, np.nanmin(runs, 0), np.nanmax(runs, 0), color=color, alpha=0.18, lw=0)
    ax.plot(x, np.nanmean(runs, 0), color=color, label=label, **kw)


# ---------------------------------------------------------------------------------------------


def _stacked(n_rows: int, height: float) -> tuple[Figure, list[SubFigure], list[Axes]]:
    """A column-wide figure of ``n_rows`` panels stacked, each in a subfigure of its own (so
    each panel can have its legend below it)."""
    use_book_style()
    fig = plt.figure(figsize=(COLUMN_WIDTH, height), layout="constrained")
    subs = list(fig.subfigures(n_rows, 1))
    return fig, subs, [sub.subplots() for sub in subs]


def plot_depth_and_fan_in(fan_in: FanInStd, depth: DepthProfile) -> Figure:
    """First-layer std against fan-in (top) and std layer by layer in a deep network (bottom).

    Parameters
    ----------
    fan_in
        From :func:`ebp.experiments.initializing_the_weights.first_layer_std`.
    depth
        From :func:`ebp.experiments.initializing_the_weights.depth_profile`.
    """
    check_instance(fan_in, FanInStd, "fan_in")
    check_instance(depth, DepthProfile, "depth")
    fig, (sub_m, sub_d), (ax_m, ax_d) = _stacked(2, 8.6)
    _fan_in_panel(ax_m, fan_in)
    sub_m.legend(loc="outside lower center", ncols=2)

    ax_d.axhline(1.0, color=BLACK, lw=0.8, ls=":", label='paper: "close to 1"')
    for init in depth.pre_std:
        st = _style(init)
        runs = depth.pre_std[init]
        ax_d.errorbar(
            depth.layer,
            runs.mean(0),
            yerr=runs.std(0, ddof=1) if runs.shape[0] > 1 else None,
            color=st["color"],
            ls="none",
            marker=st["marker"],
            ms=5,
            capsize=2,
            label=f"{_label(init).split(':')[0]}, measured",
        )
        ax_d.plot(
            depth.layer,
            depth.predicted[init],
            color=st["color"],
            lw=1.2,
            label=f"{_label(init).split(':')[0]}, predicted (recursion)",
        )
    ax_d.set_ylim(0.0, 1.15)
    ax_d.set_xticks(depth.layer)
    ax_d.set_xlabel("layer $l$")
    ax_d.set_ylabel("std of the weighted sums of layer $l$")
    panel_label(ax_d, f"(b) {depth.width}-unit layers of $1.7159\\,\\tanh(2y/3)$")
    sub_d.legend(loc="outside lower center", ncols=2)
    return fig


def _fan_in_panel(ax: Axes, fan_in: FanInStd) -> None:
    """Panel (a) of :func:`plot_depth_and_fan_in`: first-layer std against the fan-in."""
    m = fan_in.fan_ins
    ax.axhspan(0.9, 1.1, color=GREEN, alpha=0.10, lw=0, label="target band [0.9, 1.1]")
    for init in fan_in.std:
        st = _style(init)
        if init == "lecun_normal":
            ax.fill_between(
                m,
                fan_in.unit_std_lo[init],
                fan_in.unit_std_hi[init],
                color=st["color"],
                alpha=0.15,
                lw=0,
                label="single units, 10–90 % (LeCun normal)",
            )
        ax.errorbar(
            m,
            fan_in.mean(init),
            yerr=fan_in.spread(init),
            color=st["color"],
            ls=st["ls"],
            marker=st["marker"],
            ms=4,
            capsize=2,
            label=_label(init),
        )
    ax.axhline(
        1 / np.sqrt(3), color=ORANGE, lw=0.8, ls=":", label="$1/\\sqrt{3}$ (PyTorch, predicted)"
    )
    ax.set_xscale("log")
    ax.set_ylim(0.0, 1.6)
    ax.set_xlabel("fan-in $m$ (inputs per unit)")
    ax.set_ylabel("std of the weighted sums $y$")
    panel_label(ax, f"(a) first layer, {fan_in.seeds.size} seeds")


def fan_in_table_markdown(result: FanInStd, inits: tuple[str, ...] | None = None) -> str:
    """A Markdown table: fan-in, then per scheme the std (mean ± sd over seeds).

    For ``"lecun_normal"`` a column adds the 10–90 % range of single units' std.  The headers
    hold ``$...$`` math: display the table with MyST (``markdown_format: myst``).
    """
    check_instance(result, FanInStd, "result")
    inits = tuple(result.std) if inits is None else inits
    head = ["fan-in $m$"]
    for init in inits:
        head.append(_TABLE_LABEL.get(init, _label(init)))
        if init == "lecun_normal":
            head.append("single units, 10–90 %")
    body = []
    for j, m in enumerate(result.fan_ins):
        row = [str(int(m))]
        for init in inits:
            row.append(f"{result.mean(init)[j]:.3f} ± {result.spread(init)[j]:.3f}")
            if init == "lecun_normal":
                row.append(f"{result.unit_std_lo[init][j]:.2f}–{result.unit_std_hi[init][j]:.2f}")
        body.append(row)
    return pipe_table(head, body, align="r")


def plot_symmetry(result: Symmetry) -> Figure:
    """How far apart the hidden units are (left) and the training loss (right), per epoch.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.initializing_the_weights.symmetry`.
    """
    check_instance(result, Symmetry, "result")
    fig, (ax_s, ax_l) = new_figure(1, 2, figsize=(MAX_FIGURE_WIDTH, 3.9))
    for init in result.inits:
        st = {k: v for k, v in _style(init).items() if k != "marker"}
        ax_s.plot(result.epoch, result.unit_spread[init], label=_label(init), **st)
        ax_l.plot(result.epoch, result.train_loss[init], **st)
    notes = []
    for init in ("zeros", "constant"):
        if init in result.unit_spread:  # exact copies, or copies up to rounding
            top = float(result.unit_spread[init].max())
            notes.append(f"{_label(init)}: " + ("exactly 0" if top == 0 else f"≤ {top:.0e}"))
    ax_s.annotate(
        "\n".join(notes),
        (0.5 * result.epoch[-1], 0.0),
        xytext=(0, 12),
        textcoords="offset points",
        ha="center",
        fontsize=9,
    )
    ax_s.set_xlabel("epoch")
    ax_s.set_ylabel(r"$\max_j \|v_j - v_1\|_\infty$ (hidden units)")
    panel_label(ax_s, f"(a) spread of the {result.hidden} hidden units")
    ax_l.axhline(np.log(10), color=BLACK, lw=0.8, ls=":")
    ax_l.annotate("ln 10 (chance)", (result.epoch[-1], np.log(10)), ha="right", va="bottom")
    ax_l.set_xlabel("epoch")
    ax_l.set_ylabel("training loss, cross-entropy (nats)")
    ax_l.set_ylim(0.0, None)
    panel_label(ax_l, "(b) training loss")
    for ax in (ax_s, ax_l):
        ax.set_xlim(0, result.epoch[-1])
    fig.legend(loc="outside lower center", ncols=len(result.inits))
    return fig


def plot_scale_sweep(result: ScaleSweep) -> Figure:
    """The scale sweep: saturation and gradient norms at the start, then training, over seeds.

    Panels: (a) fraction of saturated hidden units per layer against ``s``; (b) per-layer
    gradient norm at the start (log scale) against the layer; (c) training loss per epoch
    (mean and min–max over seeds); (d) loss after the last epoch against ``s``.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.initializing_the_weights.scale_sweep`.
    """
    check_instance(result, ScaleSweep, "result")
    fig, axes = new_figure(2, 2, figsize=(MAX_FIGURE_WIDTH, 7.6))
    (ax_sat, ax_g), (ax_t, ax_f) = axes
    s = result.scales
    _plot_saturation(ax_sat, result)
    colors = {float(v): _SCALE_COLORS[i % len(_SCALE_COLORS)] for i, v in enumerate(s)}
    _plot_start_gradients(ax_g, result, colors)

    for i, v in enumerate(s):
        _band(ax_t, result.epoch, result.train_loss[i], colors[float(v)], f"$s = {v:g}$")
    ax_t.axhline(np.log(10), color=BLACK, lw=0.8, ls=":")
    ax_t.annotate("ln 10 (chance)", (0.5 * result.epoch[-1], np.log(10)), ha="center", va="bottom")
    ax_t.set_yscale("log")
    ax_t.set_xlim(0, result.epoch[-1])
    ax_t.set_xlabel("epoch")
    ax_t.set_ylabel("training loss, cross-entropy (nats)")
    panel_label(ax_t, f"(c) training, {result.seeds.size} seeds (mean, range)")

    _final_loss(ax_f, s, result.train_loss, "training", marker="o", color=BLUE)
    _final_loss(ax_f, s, result.val_loss, "validation", marker="s", color=VERMILLION, ls="--")
    ax_f.set_xscale("log")
    ax_f.set_yscale("log")
    ax_f.set_xlabel(r"scale $s$")
    ax_f.set_ylabel(f"loss after {int(result.epoch[-1])} epochs (nats)")
    ax_f.legend(loc="lower left")
    panel_label(ax_f, "(d) loss at the end (mean ± sd)")
    handles, labels = ax_t.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels))
    return fig


def _plot_saturation(ax: Axes, result: ScaleSweep) -> None:
    """Panel (a) of :func:`plot_scale_sweep`: saturated units per hidden layer against ``s``."""
    for l in range(result.saturated.shape[2]):
        frac = 100 * result.saturated[:, :, l]
        # grey shades and markers: the colours of the other panels stand for the scales s
        ax.errorbar(
            result.scales,
            frac.mean(1),
            yerr=frac.std(1, ddof=1),
            marker=_LAYER_MARKERS[l % len(_LAYER_MARKERS)],
            ms=5,
            capsize=2,
            color=_LAYER_GREYS[l % len(_LAYER_GREYS)],
            ls=_LAYER_LINES[l % len(_LAYER_LINES)],
            label=f"hidden layer {l + 1}",
        )
    ax.set_xscale("log")
    ax.set_xlabel(r"scale $s$ in $\sigma_w = s\,m^{-1/2}$")
    ax.set_ylabel(f"saturated units (%),\n$|f'| < {result.threshold:g}\\,f'(0)$")
    ax.legend(loc="upper left")
    panel_label(ax, "(a) saturation at the start")


def _plot_start_gradients(ax: Axes, result: ScaleSweep, colors: dict[float, str]) -> None:
    """Panel (b) of :func:`plot_scale_sweep`: gradient norm per layer at the start, per ``s``
    (geometric mean over the seeds and their range)."""
    for i, v in enumerate(result.scales):
        g = result.grad_norm[i]
        ax.errorbar(
            result.layer,
            np.exp(np.log(g).mean(0)),
            yerr=None,
            marker="o",
            ms=4,
            color=colors[float(v)],
            label=f"$s = {v:g}$",
        )
        ax.fill_between(result.layer, g.min(0), g.max(0), color=colors[float(v)], alpha=0.15)
    ax.set_yscale("log")
    ax.set_xticks(result.layer)
    ax.set_xlabel("weight layer $l$ (1 = inputs side)")
    ax.set_ylabel(r"$\|\partial E / \partial W_l\|$ at the start")
    panel_label(ax, "(b) gradient per layer at the start")


def _final_loss(ax: Axes, s: np.ndarray, loss: np.ndarray, label: str, **style: Any) -> None:
    """The loss after the last epoch against ``s``: mean ± sd over the seeds (NaN-aware)."""
    last = loss[:, :, -1]
    ax.errorbar(
        s,
        np.nanmean(last, 1),
        yerr=np.nanstd(last, 1, ddof=1),
        **style,
        capsize=3,
        label=label,
    )


def plot_scheme_histograms(result: SchemeComparison) -> Figure:
    """Histograms of the hidden outputs at initialization: schemes in rows, layers in columns.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.initializing_the_weights.compare_schemes`.
    """
    check_instance(result, SchemeComparison, "result")
    n_rows, n_cols = len(result.inits), result.layer.size - 1
    fig, axes = new_figure(
        n_rows,
        n_cols,
        figsize=(MAX_FIGURE_WIDTH, 1.75 * n_rows + 0.6),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    edges = result.hist_edges
    top = max(float(d.max()) for d in result.hist_density.values())
    for r, init in enumerate(result.inits):
        color = _style(init)["color"]
        for c in range(n_cols):
            ax = axes[r, c]
            ax.stairs(result.hist_density[init][c], edges, fill=True, color=color, alpha=0.6)
            sd = result.act_std[init][:, c].mean()
            ax.text(
                0.5,
                0.95,
                f"std {sd:.2f}",
                transform=ax.transAxes,
                ha="center",
                va="top",
                fontsize=9,
            )
            ax.set_ylim(0, 1.3 * top)
            if r == 0:
                ax.set_title(f"hidden layer {c + 1}", fontsize=10)
            if r == n_rows - 1:
                ax.set_xlabel("output $f(y)$")
        axes[r, 0].set_ylabel(_label(init).split(":")[0], fontsize=10)
    return fig


def plot_scheme_training(result: SchemeComparison) -> Figure:
    """Std of the hidden outputs at the start (left) and training loss per scheme (right).

    Parameters
    ----------
    result
        From :func:`ebp.experiments.initializing_the_weights.compare_schemes`.
    """
    check_instance(result, SchemeComparison, "result")
    fig, (ax_p, ax_t) = new_figure(1, 2, figsize=(MAX_FIGURE_WIDTH, 4.2))
    hidden = result.layer[:-1]
    for init in result.inits:
        st = _style(init)
        runs = result.act_std[init]
        ax_p.errorbar(
            hidden,
            runs.mean(0),
            yerr=runs.std(0, ddof=1),
            color=st["color"],
            ls=st["ls"],
            marker=st["marker"],
            ms=4,
            capsize=2,
            label=_label(init),
        )
        _band(ax_t, result.epoch, result.train_loss[init], st["color"], _label(init), ls=st["ls"])
    ax_p.set_xticks(hidden)
    ax_p.set_ylim(0.0, None)
    ax_p.set_xlabel("hidden layer")
    ax_p.set_ylabel("std of the outputs $f(y)$ at the start")
    panel_label(ax_p, "(a) signal at the start")
    ax_t.set_yscale("log")
    ax_t.set_xlim(0, result.epoch[-1])
    ax_t.set_xlabel("epoch")
    ax_t.set_ylabel("training loss, cross-entropy (nats)")
    panel_label(ax_t, f"(b) training, {result.seeds.size} seeds (mean, range)")
    handles, labels = ax_p.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2)
    return fig
