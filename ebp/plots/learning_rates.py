"""Figures and tables of the chapter "Learning rates, momentum and adaptive rates" (§4.7).

Each function draws what an experiment of :mod:`ebp.experiments.learning_rates` returned; none
computes anything beyond means and ranges for display.  Lines are seed means, bands the min–max
range over the seeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ebp._validate import check_instance
from ebp.experiments.learning_rates import (
    ClippingDemo,
    RateSweep,
    RavineComparison,
    ScheduleComparison,
)
from ebp.plots.style import (
    BLACK,
    BLUE,
    GREEN,
    MAX_FIGURE_WIDTH,
    ORANGE,
    PALETTE,
    PURPLE,
    SKY_BLUE,
    VERMILLION,
    new_figure,
    panel_label,
    use_book_style,
)
from ebp.plots.tables import pipe_table

__all__ = [
    "STYLE",
    "plot_adaptive",
    "plot_clipping",
    "plot_ravine",
    "plot_schedules",
    "plot_sweeps",
    "sweep_table_markdown",
]

STYLE: dict[str, dict[str, Any]] = {
    "gd": {"color": BLACK, "ls": "-"},
    "sgd": {"color": BLACK, "ls": "-"},
    "sgd_layers": {"color": GREEN, "ls": "--"},
    "momentum": {"color": BLUE, "ls": "-"},
    "rmsprop": {"color": ORANGE, "ls": "-."},
    "adam": {"color": VERMILLION, "ls": "--"},
    "adaptive": {"color": PURPLE, "ls": "-"},
    "constant": {"color": BLACK, "ls": "-"},
    "step": {"color": BLUE, "ls": "--"},
    "inverse_time": {"color": ORANGE, "ls": "-."},
    "good": {"color": BLUE, "ls": "-"},
    "large": {"color": VERMILLION, "ls": "--"},
    "large_clipped": {"color": GREEN, "ls": "-."},
}
"""Colour and line style of every method, variant, schedule and run, by name."""


def _style(name: str, i: int = 0) -> dict[str, Any]:
    return STYLE.get(name, {"color": PALETTE[i % len(PALETTE)], "ls": "-"})


def _band(ax: Axes, x: np.ndarray, rows: np.ndarray, style: dict, label: str, **kw: Any) -> None:
    """Seed mean as a line, min–max over seeds as a band (NaN-aware, columns all-NaN skipped)."""
    rows = np.asarray(rows, dtype=float)
    ok = np.isfinite(rows).any(axis=0)
    with np.errstate(all="ignore"):
        lo, hi = np.nanmin(rows[:, ok], axis=0), np.nanmax(rows[:, ok], axis=0)
        mean = np.nanmean(rows[:, ok], axis=0)
    ax.fill_between(x[ok], lo, hi, color=style["color"], alpha=0.18, lw=0)
    ax.plot(x[ok], mean, label=label, **style, **kw)


# ---------------------------------------------------------------------------------------------
# The ravine
# ---------------------------------------------------------------------------------------------


def _contours(ax: Axes, result: RavineComparison, xlim: tuple, ylim: tuple) -> None:
    w1 = np.linspace(*xlim, 241)
    w2 = np.linspace(*ylim, 161)
    W = np.stack(np.meshgrid(w1, w2), axis=-1)
    E = result.surface.loss(W)
    e0 = float(result.surface.loss(result.surface.w0))
    levels = e0 * np.geomspace(1e-3, 1.0, 7)
    ax.contour(w1, w2, E, levels=levels, colors="#999999", linewidths=0.7)
    ax.plot([0], [0], marker="*", color=BLACK, ms=11, ls="none", zorder=5)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("$w_1$ (along the valley)")
    ax.grid(False)


def plot_ravine(result: RavineComparison) -> Figure:
    """Paths on the ravine's contours (a–c) and ``E/E(0)`` against the step (d), two by two.

    Each contour panel has its own vertical range, wide enough for its paths.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.learning_rates.ravine_comparison`.
    """
    check_instance(result, RavineComparison, "result")
    use_book_style()
    fig = plt.figure(figsize=(MAX_FIGURE_WIDTH, 7.8), layout="constrained")
    axd = fig.subplot_mosaic([["a", "b"], ["c", "d"]])
    w0 = result.surface.w0
    pad = 0.15 * max(abs(w0[0]), abs(w0[1]))
    panels = {
        "a": (("gd",), "(a) gradient descent"),
        "b": (("momentum",), "(b) momentum"),
        "c": (("rmsprop", "adam"), "(c) RMSProp and Adam"),
    }
    for key, (names, title) in panels.items():
        ax = axd[key]
        points = np.concatenate([result.path[n] for n in names] + [w0[None, :]])
        points = points[np.isfinite(points).all(axis=1)]
        x_lo, x_hi = min(points[:, 0].min(), 0.0) - pad, max(points[:, 0].max(), 0.0) + pad
        half = np.abs(points[:, 1]).max() + pad
        _contours(ax, result, (x_lo, x_hi), (-half, half))
        for name in names:
            path, st = result.path[name], _style(name)
            ax.plot(path[:, 0], path[:, 1], color=st["color"], lw=0.9, marker="o", ms=2.0,
                    label=_label(result, name, short=True))  # fmt: skip
        ax.plot(*w0, marker="s", color=BLACK, ms=6, ls="none")
        ax.legend(loc="lower right", fontsize=9, frameon=True, framealpha=0.9)
        ax.set_ylabel("$w_2$ (across the valley)")
        panel_label(ax, title)
    _ravine_loss_panel(axd["d"], result)
    handles, labels = axd["d"].get_legend_handles_labels()
    handles += [
        Line2D([], [], ls="none", marker="s", color=BLACK, ms=6),
        Line2D([], [], ls="none", marker="*", color=BLACK, ms=11),
    ]
    labels += ["start", "minimum"]
    fig.legend(handles, labels, loc="outside lower center", ncols=2)
    return fig


def _ravine_loss_panel(ax: Axes, result: RavineComparison) -> None:
    """Panel (d): ``E(t)/E(0)`` of every method against the step, with the tolerance."""
    for name in result.names:
        loss = result.loss[name]
        rel = loss / loss[0]
        ax.plot(np.arange(rel.size), rel, label=_label(result, name), **_style(name))
    ax.axhline(result.tol, color="#777777", lw=1.0, ls=":", label=f"tolerance {result.tol:g}")
    ax.set_yscale("log")
    ax.set_ylim(max(1e-12, result.tol * 1e-4), 30.0)
    ax.set_xlim(0, result.n_steps)
    ax.set_xlabel("step $t$")
    ax.set_ylabel("$E(t)\\,/\\,E(0)$")
    panel_label(ax, f"(d) loss along the paths ($\\kappa = {result.surface.kappa:g}$)")


def _label(result: RavineComparison, name: str, *, short: bool = False) -> str:
    eta, mu = result.eta[name], result.momentum[name]
    text = f"$\\eta = {eta:.3g}$" if short and name != "rmsprop" and name != "adam" else ""
    text = text or f"{result.labels[name]}, $\\eta = {eta:.3g}$"
    if mu:
        text += f", $\\mu = {mu:.3f}$"
    return text


# ---------------------------------------------------------------------------------------------
# Sweeps on the digits
# ---------------------------------------------------------------------------------------------


def plot_sweeps(sweeps: Sequence[RateSweep], *, layer_change: bool = False) -> Figure:
    """Final loss against the rate (a) and the loss curves at each variant's best rate (b).

    With ``layer_change``, a panel (c) below (a) shows how far each layer's weights moved
    (``‖W_l(end) − W_l(0)‖ / ‖W_l(0)‖``) at the best rate, and the legend fills the cell beside
    it; without, the two panels sit side by side above the legend.

    Parameters
    ----------
    sweeps
        From :func:`ebp.experiments.learning_rates.rate_sweep`, one per variant.
    layer_change
        Add panel (c).
    """
    if isinstance(sweeps, RateSweep) or not isinstance(sweeps, Sequence) or not sweeps:
        raise TypeError("sweeps must be a non-empty sequence of RateSweep")
    for i, s in enumerate(sweeps):
        check_instance(s, RateSweep, f"sweeps[{i}]")
    use_book_style()
    if layer_change:
        fig = plt.figure(figsize=(MAX_FIGURE_WIDTH, 7.2), layout="constrained")
        axd = fig.subplot_mosaic([["a", "b"], ["c", "legend"]])
    else:
        fig = plt.figure(figsize=(MAX_FIGURE_WIDTH, 4.4), layout="constrained")
        axd = fig.subplot_mosaic([["a", "b"]])
    ax_s, ax_c = axd["a"], axd["b"]
    for i, s in enumerate(sweeps):
        st = _style(s.variant, i)
        _sweep_points(ax_s, s, st, i)
        _band(ax_c, s.epoch, s.best_curves, st, f"{s.label}, $\\eta = {s.best_eta:.3g}$")
    ax_s.set_xscale("log")
    ax_s.set_yscale("log")
    _plain_log(ax_s.xaxis)
    _plain_log(ax_s.yaxis)
    ax_s.set_xlabel("learning rate $\\eta$")
    ax_s.set_ylabel(f"training loss after {sweeps[0].setup.epochs} epochs")
    panel_label(ax_s, "(a) final loss against the rate")
    ax_c.set_yscale("log")
    ax_c.set_xlabel("epoch")
    ax_c.set_ylabel("training loss")
    panel_label(ax_c, "(b) at each variant's best rate")
    handles, labels = ax_c.get_legend_handles_labels()
    n_marks = 3 if any(s.diverged.any() for s in sweeps) else 1
    handles += _SWEEP_MARKS[0][:n_marks]
    labels += _SWEEP_MARKS[1][:n_marks]
    if layer_change:
        _layer_change_panel(axd["c"], sweeps)
        axd["legend"].axis("off")
        axd["legend"].legend(handles, labels, loc="center", borderaxespad=0)
    else:
        fig.legend(handles, labels, loc="outside lower center", ncols=2)
    return fig


_SWEEP_MARKS = (
    [
        Line2D([], [], ls="none", marker="*", ms=13, color="#666666"),
        Line2D([], [], ls="none", marker="o", ms=6, mfc="white", color="#666666"),
        Line2D([], [], ls="none", marker="x", ms=8, mew=2, color="#666666"),
    ],
    ["best rate", "some seeds diverged: mean of the others", "seeds that diverged"],
)
"""Legend entries explaining the marks of a sweep panel."""


def _plain_log(axis: Any) -> None:
    """Tick labels of a log axis as plain numbers (0.2, not 2×10⁻¹); minor ticks labelled at 2
    and 5 times a power of ten where the axis spans less than two decades (also 3 below one)."""

    def minor(v: float, _pos: int) -> str:
        lo, hi = axis.get_view_interval()
        span = np.log10(hi / lo) if lo > 0 and hi > 0 else np.inf
        if v <= 0 or span >= 2:
            return ""
        mantissa = v / 10.0 ** np.floor(np.log10(v))
        keep = (2, 3, 5) if span < 1 else (2, 5)
        return f"{v:g}" if min(abs(mantissa - m) for m in keep) < 1e-6 else ""

    axis.set_major_formatter(ticker.FormatStrFormatter("%g"))
    axis.set_minor_formatter(ticker.FuncFormatter(minor))


def _sweep_points(ax: Axes, s: RateSweep, st: dict[str, Any], i: int) -> None:
    """One variant of panel (a): seed mean and range where no seed diverged, the mean of the
    others (open circle) where some did, a cross with the count on the top edge, the best ★."""
    final = np.where(s.diverged, np.nan, s.train_loss[:, :, -1])
    ok = ~s.diverged.any(axis=1)
    _band(ax, s.etas[ok], final[ok].T, st, s.label, marker="o", ms=3.5)
    some = s.diverged.any(axis=1) & ~s.diverged.all(axis=1)
    if some.any():  # dotted on from the last rate without divergence, open circles
        with np.errstate(all="ignore"):
            rest = np.nanmean(final[some], axis=1)
        last = np.flatnonzero(ok)[-1:] if ok.any() else []
        x_rest = np.concatenate([s.etas[last], s.etas[some]])
        y_rest = np.concatenate([np.nanmean(final[last], axis=1), rest])
        ax.plot(x_rest, y_rest, color=st["color"], ls=":", lw=1.2, marker="o", ms=6,
                mfc="white", mew=1.5, markevery=list(range(len(last), x_rest.size)))  # fmt: skip
    y = 0.96 - 0.08 * i  # one row per variant, so that crosses at the same rate stay apart
    for eta, d in zip(s.etas[~ok], s.diverged[~ok], strict=True):
        ax.plot([eta], [y], marker="x", ms=8, mew=2, ls="none", color=st["color"],
                transform=ax.get_xaxis_transform(), clip_on=False)  # fmt: skip
        ax.annotate(f"η = {eta:.3g}: {int(d.sum())}/{d.size} diverged", (eta, y), xytext=(-8, 0),
                    xycoords=("data", "axes fraction"), textcoords="offset points",
                    ha="right", va="center", fontsize=9, color=st["color"])  # fmt: skip
    ax.plot([s.best_eta], [np.mean(final[s.best])], marker="*", ms=13, ls="none",
            color=st["color"], zorder=5)  # fmt: skip


def _layer_change_panel(ax: Axes, sweeps: Sequence[RateSweep]) -> None:
    """Panel (c): relative change of each layer's weights at the best rate, mean ± sd."""
    L = sweeps[0].layer_change.shape[2]
    width = 0.8 / len(sweeps)
    for i, s in enumerate(sweeps):
        st = _style(s.variant, i)
        change = s.layer_change[s.best]
        x = np.arange(1, L + 1) + (i - (len(sweeps) - 1) / 2) * width
        ax.bar(x, np.nanmean(change, axis=0), width=width, color=st["color"], alpha=0.85)
        ax.errorbar(x, np.nanmean(change, axis=0), yerr=np.nanstd(change, axis=0, ddof=1),
                    fmt="none", ecolor=BLACK, lw=1.0, capsize=2)  # fmt: skip
    ax.set_xticks(np.arange(1, L + 1))
    ax.set_xlabel("layer (1 = lowest)")
    ax.set_ylabel("$\\|W_l(\\mathrm{end}) - W_l(0)\\| \\,/\\, \\|W_l(0)\\|$")
    panel_label(ax, "(c) how far each layer moved")


def sweep_table_markdown(sweeps: Sequence[RateSweep]) -> str:
    """A Markdown table: per variant, the rates tried, the best, and the results there.

    A rate at which some seeds diverged says how many; "(edge)" marks a best rate at the end
    of its grid.  Results are means ± standard deviations over the seeds.

    Parameters
    ----------
    sweeps
        From :func:`ebp.experiments.learning_rates.rate_sweep`.
    """
    for i, s in enumerate(sweeps):
        check_instance(s, RateSweep, f"sweeps[{i}]")

    def pm(v: np.ndarray, scale: float = 1.0, digits: int = 3) -> str:
        v = scale * np.asarray(v, dtype=float)
        return f"{np.mean(v):.{digits}f} ± {np.std(v, ddof=1):.{digits}f}"

    rows = []
    for s in sweeps:
        tried = ", ".join(
            f"{e:.3g}" + (f" ({int(d.sum())}/{d.size} diverged)" if d.any() else "")
            for e, d in zip(s.etas, s.diverged, strict=True)
        )
        rows.append(
            [
                s.label,
                tried,
                f"{s.best_eta:.3g}" + (" (edge)" if s.best_at_edge else ""),
                pm(s.final_loss[s.best]),
                pm(s.test_error[s.best], 100.0, 1),
            ]
        )
    header = ["variant", "rates tried", "best rate", "training loss", "test error (%)"]
    return pipe_table(header, rows, align="llrrr")


# ---------------------------------------------------------------------------------------------
# The paper's adaptive rate
# ---------------------------------------------------------------------------------------------


def plot_adaptive(adaptive: RateSweep, constant: RateSweep) -> Figure:
    """η(t) of the adaptive rule from each η(0) (a), and its loss beside a constant rate (b).

    Parameters
    ----------
    adaptive
        :func:`ebp.experiments.learning_rates.rate_sweep` with ``variant="adaptive"``.
    constant
        A plain-SGD sweep; its best rate is drawn for comparison.
    """
    check_instance(adaptive, RateSweep, "adaptive")
    check_instance(constant, RateSweep, "constant")
    if adaptive.eta_history is None:
        raise ValueError("adaptive must be a sweep of variant 'adaptive' (it records eta)")
    fig, (ax_e, ax_l) = new_figure(1, 2, figsize=(MAX_FIGURE_WIDTH, 4.2))
    colors = [PURPLE, SKY_BLUE, GREEN, ORANGE]
    for r, eta0 in enumerate(adaptive.etas):
        st = {"color": colors[r % len(colors)], "ls": "-"}
        label = f"adaptive, $\\eta(0) = {eta0:g}$"
        _band(ax_e, adaptive.epoch, adaptive.eta_history[r], st, label, marker="o", ms=3)
        _band(ax_l, adaptive.epoch, adaptive.train_loss[r], st, label)
    best = constant.best_eta
    st = {"color": BLACK, "ls": "--"}
    label = f"best constant rate, $\\eta = {best:.3g}$"
    ax_e.axhline(best, **st, lw=1.2, label=label)
    _band(ax_l, constant.epoch, constant.best_curves, st, label)
    _label_rate_and_loss(
        ax_e, ax_l, "learning rate $\\eta$ at the end of the epoch", "(a) the rate the rule chooses"
    )
    fig.legend(*ax_e.get_legend_handles_labels(), loc="outside lower center", ncols=2)
    return fig


def _label_rate_and_loss(ax_e: Axes, ax_l: Axes, eta_label: str, eta_title: str) -> None:
    """Log scales, labels and titles of a rate panel (a) beside a training-loss panel (b)."""
    ax_e.set_yscale("log")
    _plain_log(ax_e.yaxis)
    ax_e.set_ylabel(eta_label)
    panel_label(ax_e, eta_title)
    ax_l.set_yscale("log")
    _plain_log(ax_l.yaxis)
    ax_l.set_ylabel("training loss")
    panel_label(ax_l, "(b) training loss")
    for ax in (ax_e, ax_l):
        ax.set_xlabel("epoch")


# ---------------------------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------------------------


def plot_schedules(result: ScheduleComparison) -> Figure:
    """The rate of each schedule (a) and the training loss it gives (b), against the epoch.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.learning_rates.schedule_comparison`.
    """
    check_instance(result, ScheduleComparison, "result")
    fig, (ax_e, ax_l) = new_figure(1, 2, figsize=(MAX_FIGURE_WIDTH, 4.0))
    for i, name in enumerate(result.names):
        st = _style(name, i)
        ax_e.plot(result.epoch, result.eta[name], label=result.labels[name], **st)
        _band(ax_l, result.epoch, result.train_loss[name], st, result.labels[name])
    eta_title = f"(a) the schedules, $\\eta_0 = {result.eta0:.3g}$"
    _label_rate_and_loss(ax_e, ax_l, "learning rate $\\eta$", eta_title)
    fig.legend(*ax_e.get_legend_handles_labels(), loc="outside lower center", ncols=3)
    return fig


# ---------------------------------------------------------------------------------------------
# Clipping
# ---------------------------------------------------------------------------------------------


def plot_clipping(result: ClippingDemo) -> Figure:
    """Gradient norm over the first updates (a, top left) and per epoch (b, top right), and the
    loss (c, bottom left); the legend fills the cell beside (c).

    A run that diverged ends with a cross at its last finite record; the dotted line is the
    clipping threshold.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.learning_rates.clipping_demo`.
    """
    check_instance(result, ClippingDemo, "result")
    use_book_style()
    fig = plt.figure(figsize=(MAX_FIGURE_WIDTH, 7.0), layout="constrained")
    axd = fig.subplot_mosaic([["a", "b"], ["c", "legend"]])
    axes = [axd["a"], axd["b"], axd["c"]]
    for i, name in enumerate(result.names):
        st, label = _style(name, i), result.labels[name]
        for ax, x, rows in (
            (axes[0], result.early_update, result.early_grad_norm[name]),
            (axes[1], result.epoch, result.grad_norm[name]),
            (axes[2], result.epoch, result.train_loss[name]),
        ):
            _band(ax, x, rows, st, label)
            if result.diverged[name].any() or np.isnan(rows).any():
                last = np.isfinite(rows).sum(axis=1).max() - 1
                ax.plot(x[last], np.nanmean(rows[:, last]), marker="X", ms=10, ls="none",
                        color=st["color"])  # fmt: skip
    for ax in axes[:2]:  # the clipping threshold
        ax.axhline(result.clip_norm, color=GREEN, lw=1.0, ls=":",
                   label=f"clipping threshold, clip_norm = {result.clip_norm:g}")  # fmt: skip
    axes[0].set_xlabel("update")
    axes[0].set_ylabel("gradient norm (whole training set)")
    panel_label(axes[0], "(a) the first updates")
    axes[1].set_ylabel("gradient norm (whole training set)")
    panel_label(axes[1], "(b) per epoch")
    axes[2].set_ylabel("training loss")
    panel_label(axes[2], "(c) training loss")
    for ax in axes:
        ax.set_yscale("log")
    for ax in axes[1:]:
        ax.set_xlabel("epoch")
        _plain_log(ax.yaxis)
    handles, labels = axes[0].get_legend_handles_labels()
    handles.append(Line2D([], [], ls="none", marker="X", ms=10, color="#666666"))
    labels.append("diverged: last finite value")
    axd["legend"].axis("off")
    axd["legend"].legend(handles, labels, loc="center", borderaxespad=0)
    return fig
