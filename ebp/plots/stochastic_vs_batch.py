"""Figures and tables of the chapter "Stochastic versus batch learning" (paper §4.1).

Each function draws what an experiment of :mod:`ebp.experiments.stochastic_vs_batch` returned; none
computes anything beyond means and ranges for display.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from ebp._validate import check_instance, check_int
from ebp.experiments.stochastic_vs_batch import (
    Annealing,
    BatchSizes,
    Ladder,
    Redundancy,
    UpdateRate,
)
from ebp.plots.style import (
    BLACK,
    BLUE,
    COLUMN_WIDTH,
    GREEN,
    ORANGE,
    PURPLE,
    SKY_BLUE,
    VERMILLION,
    new_figure,
    panel_label,
)
from ebp.plots.tables import pipe_table

__all__ = [
    "batch_size_table_markdown",
    "plot_annealing",
    "plot_batch_sizes",
    "plot_ladder",
    "plot_redundancy",
]

# batch: blue, online: vermillion; the copies solid, the originals dashed
_METHOD = {"batch": BLUE, "online": VERMILLION}
_SET = {"original": "--", "redundant": "-"}


def _set_labels(n: int, copies: int) -> dict[str, str]:
    """Legend names of the two data sets: ``n`` patterns, and ``copies`` copies of them."""
    return {"original": f"{n} patterns", "redundant": f"{copies} copies ({n * copies})"}


_SIZE_COLORS = [BLUE, GREEN, PURPLE, VERMILLION, ORANGE, SKY_BLUE]
_SIZE_LINES = ["-", "--", "-.", "-", ":", "--"]
_ANNEALING: dict[str, dict[str, Any]] = {
    "constant": {"color": VERMILLION, "ls": "-", "label": r"constant $\eta$"},
    "inverse_time": {"color": BLUE, "ls": "-", "label": r"$\eta(t) \approx c/t$ (eq 12)"},
    "growing_batch": {"color": GREEN, "ls": "--", "label": "growing mini-batch"},
}


def _band(ax: Axes, x: np.ndarray, rows: np.ndarray, **style: Any) -> None:
    """Mean of ``rows`` over its first axis as a line, min–max as a band (NaN ignored)."""
    ok = np.all(np.isfinite(rows), axis=0)
    x, rows = x[ok], rows[:, ok]
    label = style.pop("label", None)
    zorder = style.get("zorder", 2)
    ax.fill_between(
        x, rows.min(axis=0), rows.max(axis=0), color=style["color"], alpha=0.2, lw=0, zorder=zorder
    )
    ax.plot(x, rows.mean(axis=0), label=label, **style)


def plot_redundancy(result: Redundancy) -> Figure:
    """The redundancy experiment (paper §4.1) in two stacked panels: (a, top) presentations to
    reach the target against η for each method and set (mean over the seeds, where every seed
    reached it; the best rate ringed); (b, bottom) the loss against presentations at each
    method's best rate (mean and min–max over the seeds).  One legend, below, serves both.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.stochastic_vs_batch.redundancy`.
    """
    check_instance(result, Redundancy, "result")
    fig, (ax_eta, ax_loss) = new_figure(2, 1, figsize=(COLUMN_WIDTH, 7.6))
    set_labels = _set_labels(result.n, result.copies)
    for (data_set, method), s in result.sweeps.items():
        color, ls = _METHOD[method], _SET[data_set]
        label = f"{method}, {set_labels[data_set]}, best $\\eta = {s.best_eta:.3g}$"
        m = s.mean_reached
        ok = np.isfinite(m)
        ax_eta.plot(s.etas[ok], m[ok], color=color, ls=ls, marker="o", ms=3)
        ax_eta.plot(s.best_eta, m[s.best], "o", ms=9, mfc="none", mec=color, mew=1.5)
        curves = s.best_loss_curves / result.e_star - 1.0
        x = s.presentations.copy()
        x[0] = 1.0  # the start, drawn at 1 on the log axis
        _band(ax_loss, x, curves, color=color, ls=ls, label=label)
    ax_eta.set_xscale("log")
    ax_eta.set_yscale("log")
    ax_eta.set_xlabel(r"learning rate $\eta$")
    ax_eta.set_ylabel("presentations to\nreach the target")
    panel_label(
        ax_eta, f"(a) each method at its best rate (target ${result.target_factor:g}\\,E^*$)"
    )
    ax_loss.axhline(result.target_factor - 1.0, color=BLACK, lw=1.0, ls=":", label="target")
    ax_loss.set_xscale("log")
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("presentations (pattern gradients computed)")
    ax_loss.set_ylabel(r"excess loss $E/E^* - 1$")
    panel_label(ax_loss, "(b) the loss at the best rates")
    handles, labels = ax_loss.get_legend_handles_labels()
    handles.append(Line2D([], [], ls="none", marker="o", ms=9, mfc="none", mec=BLACK, mew=1.5))
    labels.append("best rate, in (a)")
    fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=9)
    return fig


def plot_ladder(ladders: dict[str, Ladder], copies: int, n: int = 100) -> Figure:
    """The batch-to-online cost ratio on the copies and on the originals (a, top), and their
    quotient (b, bottom), against the target, for each way of reading the runs.

    Colour tells the data set apart, line style and marker fill the rule (solid and filled for
    the first rule, dashed and open for the second, dash-dotted and half-filled for a third).

    Parameters
    ----------
    ladders
        ``rule → Ladder`` (from :meth:`ebp.experiments.stochastic_vs_batch.Redundancy.ladder`).
    copies
        The number of copies (the paper's prediction for the gain), drawn as a reference.
    n
        The number of original patterns (for the legend).
    """
    copies = check_int(copies, "copies", min_value=2)
    n = check_int(n, "n", min_value=1)
    if not isinstance(ladders, dict) or not ladders:
        raise TypeError("ladders must be a non-empty dict of rule name → Ladder")
    for name, ladder in ladders.items():
        check_instance(ladder, Ladder, f"ladders[{name!r}]")
    fig, (ax_r, ax_g) = new_figure(2, 1, figsize=(COLUMN_WIDTH, 6.6), sharex=True)
    rule_styles = [("-", "full"), ("--", "none"), ("-.", "left")]
    handles = []
    for i, (rule, ladder) in enumerate(ladders.items()):
        ls, fill = rule_styles[i % len(rule_styles)]
        f = ladder.target_factors
        kw = {"ls": ls, "fillstyle": fill, "ms": 6, "mew": 1.3}
        for ratio, color, marker in (
            (ladder.ratio_redundant, BLUE, "o"),
            (ladder.ratio_original, ORANGE, "s"),
        ):
            ax_r.plot(f, ratio, color=color, marker=marker, **kw)
        ax_g.plot(f, ladder.gain, color=GREEN, marker="o", **kw)
        handles.append(Line2D([], [], color=BLACK, marker="o", label=f"rule '{rule}'", **kw))
    ax_g.axhline(copies, color=BLACK, lw=1.0, ls=(0, (1, 3)))
    ax_g.annotate(f"paper: {copies}", (0.0, copies), xycoords=("axes fraction", "data"),
                  xytext=(4, -3), textcoords="offset points", ha="left", va="top",
                  fontsize=9)  # fmt: skip
    handles = [
        Line2D([], [], color=BLUE, marker="o", ls="none", label=f"(a) {copies} copies"),
        Line2D([], [], color=ORANGE, marker="s", ls="none", label=f"(a) {n} patterns"),
        Line2D([], [], color=GREEN, marker="o", ls="none", label="(b) copies / patterns"),
        *handles,
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=9,
               handlelength=3.0)  # fmt: skip
    ax_g.set_xlabel(r"target loss, as a multiple of $E^*$")
    ax_r.set_yscale("log")
    ax_g.set_ylim(bottom=0.0)
    ax_r.set_ylabel("batch presentations /\nonline presentations")
    ax_g.set_ylabel("ratio on the copies /\nratio on the originals")
    panel_label(ax_r, "(a) how much faster online learning is")
    panel_label(ax_g, "(b) the part due to the copies")
    return fig


def plot_batch_sizes(result: BatchSizes) -> Figure:
    """(a, top) The loss against presentations for each batch size at its best rate (mean and
    min–max over the seeds); (b, bottom) the gradient noise against the batch size.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.stochastic_vs_batch.batch_sizes`.
    """
    check_instance(result, BatchSizes, "result")
    fig, (ax_l, ax_n) = new_figure(2, 1, figsize=(COLUMN_WIDTH, 7.4), height_ratios=(1.4, 1.0))
    for i, s in enumerate(result.sweeps):
        color = _SIZE_COLORS[i % len(_SIZE_COLORS)]
        x = s.presentations.copy()
        x[0] = 1.0
        label = f"$B = {s.batch_size}$, $\\eta = {s.best_eta:.3g}$"
        ls = _SIZE_LINES[i % len(_SIZE_LINES)]
        # smaller batches first in the legend order but drawn below the larger ones
        _band(
            ax_l,
            x,
            s.best_loss_curves / result.e_star - 1.0,
            color=color,
            ls=ls,
            label=label,
            zorder=2 + len(result.sweeps) - i if s.batch_size > 1 else 1.5,
        )
    target = result.sweeps[0].target / result.e_star - 1.0
    ax_l.axhline(target, color=BLACK, lw=1.0, ls=":", label="target")
    ax_l.set_xscale("log")
    ax_l.set_yscale("log")
    ax_l.set_xlabel("presentations")
    ax_l.set_ylabel(r"excess loss $E/E^* - 1$")
    ax_l.legend(fontsize=9, loc="lower left", handlelength=3.0)
    panel_label(ax_l, "(a) batch, mini-batch and online learning")
    B = result.batch_sizes
    stochastic = B < B.max()
    for noise, fmt, color, label in (
        (result.noise_at_start, "o-", BLUE, "at the initial weights"),
        (result.noise_at_minimum, "s-", VERMILLION, "at the minimum"),
    ):
        ax_n.plot(B[stochastic], noise[stochastic], fmt, color=color, label=label)
    ref = result.noise_at_minimum[B == 1]
    if ref.size:
        ax_n.plot(
            B[stochastic],
            ref[0] / B[stochastic],
            color=BLACK,
            ls=":",
            lw=1.0,
            label=r"$\propto 1/B$",
        )
    ax_n.set_xscale("log")
    ax_n.set_yscale("log")
    ax_n.set_xlabel("batch size $B$")
    ax_n.set_ylabel(r"$\mathbb{E}\,\|g_B - \nabla E\|^2$")
    ax_n.legend(fontsize=9, loc="upper right")
    panel_label(ax_n, "(b) gradient noise")
    return fig


def batch_size_table_markdown(result: BatchSizes, rate: UpdateRate | None = None) -> str:
    """The batch / mini-batch / online table: one row per batch size.

    Columns: the batch size, its best rate, the presentations (mean, min–max over the seeds)
    and updates (mean) to reach the target, the gradient noise at the minimum and the excess
    loss at the end of the run.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.stochastic_vs_batch.batch_sizes`.
    rate
        Optional timings from :func:`ebp.experiments.stochastic_vs_batch.update_rate` for the same
        batch sizes (adds a column of updates per second).
    """
    check_instance(result, BatchSizes, "result")
    if rate is not None:
        check_instance(rate, UpdateRate, "rate")
        if list(rate.batch_sizes) != list(result.batch_sizes):
            raise ValueError(
                f"rate must time the same batch sizes {list(result.batch_sizes)}; got "
                f"{list(rate.batch_sizes)}"
            )
    header = [
        "$B$",
        r"best $\eta$",
        "presentations to target",
        "updates to target",
        r"noise at $w^*$",
        r"$E/E^* - 1$ at end",
    ]
    if rate is not None:
        header.append("updates / s")
    rows = []
    for i, row in enumerate(result.rows()):
        cells = [
            f"{row['batch_size']:d}",
            f"{row['eta']:.3g}",
            f"{row['presentations_mean']:,.0f} ({row['presentations_min']:,.0f}–"
            f"{row['presentations_max']:,.0f})",
            f"{row['updates_mean']:,.1f}",
            f"{row['noise_at_minimum']:.2g}",
            f"{row['final_excess']:.2g}",
        ]
        if rate is not None:
            cells.append(f"{rate.timing_updates_per_s[i]:,.0f}")
        rows.append(cells)
    return pipe_table(header, rows)


def _annealing_style(method: str) -> dict[str, Any]:
    """A copy of the colour, line style and label of an annealing ``method``."""
    return dict(_ANNEALING.get(method, {"color": BLACK, "ls": "-", "label": method}))


def plot_annealing(result: Annealing) -> Figure:
    """(a) The excess loss against presentations for the constant rate, the ``c/t`` schedule and
    the growing mini-batch (mean and min–max over the seeds), top; (b) what each does to the
    noise: the rate divided by the batch size, ``η/B``, below, on the same presentations axis.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.stochastic_vs_batch.annealing`.
    """
    check_instance(result, Annealing, "result")
    fig, (ax_l, ax_s) = new_figure(
        2, 1, figsize=(COLUMN_WIDTH, 7.0), sharex=True, height_ratios=(1.4, 1.0)
    )
    for method in result.methods:
        style = _annealing_style(method)
        x = result.presentations[method]
        _band(ax_l, x[1:], result.excess[method][:, 1:], **style)
    ax_l.set_yscale("log")
    ax_l.set_ylabel(r"excess loss $E/E^* - 1$")
    panel_label(ax_l, f"(a) online learning from $\\eta_0 = {result.eta0:.3g}$")
    P, block = result.n_patterns, result.block
    t = np.arange(0, len(result.growing_sizes) * block * P)
    scale = {
        "constant": np.full(t.shape, result.eta0),
        "inverse_time": result.eta0 * result.t0 / (result.t0 + t),
        "growing_batch": result.eta0 / np.repeat(result.growing_sizes, block * P),
    }
    for method in result.methods:
        style = _annealing_style(method)
        ax_s.plot(t, scale[method], color=style["color"], ls=style["ls"])
    ax_s.set_yscale("log")
    ax_s.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax_s.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax_s.yaxis.set_minor_formatter(NullFormatter())
    ax_s.set_xlabel("presentations")
    ax_s.set_ylabel(r"$\eta / B$ (rate per pattern)")
    panel_label(ax_s, "(b) what shrinks the noise")
    fig.legend(*ax_l.get_legend_handles_labels(), loc="outside lower center", ncols=3,
               fontsize=9, handlelength=3.0)  # fmt: skip
    return fig
