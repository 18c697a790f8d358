"""Figures and tables of the chapter "Shuffling and emphasizing" (paper §4.2).

Each function draws what an experiment of :mod:`ebp.experiments.shuffling_and_emphasizing`
returned; none computes anything beyond means and ranges for display.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullFormatter

from ebp._validate import check_instance
from ebp.experiments.shuffling_and_emphasizing import (
    ClassForgetting,
    EmphasisComparison,
    EmphasisProfile,
    OrderComparison,
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
    "ORDER_STYLE",
    "emphasis_table_markdown",
    "plot_class_forgetting",
    "plot_emphasis_comparison",
    "plot_emphasis_profile",
    "plot_order_comparison",
]

ORDER_STYLE: dict[str, dict[str, Any]] = {
    "class_sorted": {"color": VERMILLION, "ls": "-", "label": "class-sorted"},
    "fixed": {"color": ORANGE, "ls": "--", "label": "fixed"},
    "shuffle": {"color": BLUE, "ls": "-", "label": "shuffled every epoch"},
    "interleaved": {"color": GREEN, "ls": ":", "label": "interleaved classes"},
}
"""Colour, line style and label of each presentation order in the figures."""

_RUN_STYLE: dict[tuple[str, str], dict[str, Any]] = {
    ("clean", "shuffle"): {"color": BLUE, "ls": "-"},
    ("clean", "cap 4"): {"color": SKY_BLUE, "ls": "--"},
    ("noisy", "shuffle"): {"color": BLACK, "ls": "-"},
    ("noisy", "cap 4"): {"color": VERMILLION, "ls": "--"},
    ("noisy", "no cap"): {"color": PURPLE, "ls": ":"},
}
_EXTRA = [ORANGE, GREEN, SKY_BLUE, PURPLE]
_EPOCH_LINE: dict[str, Any] = {"color": "#999999", "lw": 0.8, "zorder": 0}


def _run_style(condition: str, setting: str, i: int) -> dict[str, Any]:
    return _RUN_STYLE.get((condition, setting), {"color": _EXTRA[i % len(_EXTRA)], "ls": "-."})


def _run_label(result: EmphasisComparison, condition: str, setting: str) -> str:
    data = "clean labels" if condition == "clean" else f"{100 * result.noise_share:.0f} % flipped"
    how = "shuffled" if setting == "shuffle" else f"emphasis, {setting}"
    return f"{how} ({data})"


def _band(ax: Axes, x: np.ndarray, rows: np.ndarray, style: dict[str, Any], label: str) -> None:
    color = style["color"]
    ax.fill_between(x, rows.min(axis=0), rows.max(axis=0), color=color, alpha=0.18, lw=0)
    ax.plot(x, rows.mean(axis=0), color=color, ls=style["ls"], label=label)


def plot_order_comparison(result: OrderComparison) -> Figure:
    """Training loss against presentations, one line per presentation order.

    Lines are seed means, bands their min–max range; grey lines mark the epochs.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.shuffling_and_emphasizing.order_comparison`.
    """
    check_instance(result, OrderComparison, "result")
    fig, ax = new_figure(figsize=(COLUMN_WIDTH, 4.2))
    x = result.presentations
    for order in result.orders:
        style = ORDER_STYLE.get(order, {"color": BLACK, "ls": "-", "label": order})
        _band(ax, x, result.train_loss[order], style, style["label"])
    for e in range(1, result.epochs):
        ax.axvline(e * result.n_train, **_EPOCH_LINE, label=None if e > 1 else "end of an epoch")
    ax.set_yscale("log")
    ax.set_xlim(0, x[-1])
    mode = "online" if result.batch_size == 1 else f"mini-batches of {result.batch_size}"
    ax.set_xlabel(f"presentations ({mode}, $\\eta = {result.eta:g}$, {result.n_train} digits)")
    ax.set_ylabel("training loss (cross-entropy)")
    ax.legend(fontsize=9, loc="lower left", ncols=2)
    return fig


def plot_class_forgetting(result: ClassForgetting, classes: tuple[int, ...] = (0, 4, 9)) -> Figure:
    """The loss on a few digits during class-sorted online learning (first seed).

    The presentations of each digit in the class-sorted epochs are shaded in that digit's
    colour; thin dotted lines show the same digits in the shuffled run of the same seed, when
    there is one.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.shuffling_and_emphasizing.class_forgetting`, with
        ``"class_sorted"`` among its orders.
    classes
        The digits to draw (at most four).
    """
    check_instance(result, ClassForgetting, "result")
    if "class_sorted" not in result.orders:
        raise ValueError("result must contain the 'class_sorted' order")
    n_classes = result.class_counts.size
    if not 1 <= len(classes) <= 4 or any(not 0 <= c < n_classes for c in classes):
        raise ValueError(f"classes must be 1 to 4 digits in 0 … {n_classes - 1}; got {classes}")
    fig, ax = new_figure(figsize=(COLUMN_WIDTH, 4.4))
    x = result.presentations
    edges = result.block_edges()
    colors = [VERMILLION, BLUE, GREEN, PURPLE]
    for color, c in zip(colors, classes, strict=False):
        for row in edges:
            ax.axvspan(row[c], row[c + 1], color=color, alpha=0.15, lw=0, zorder=0)
        ax.plot(x, result.class_loss["class_sorted"][0, c], color=color, label=f"digit {c}")
        if "shuffle" in result.orders:
            ax.plot(x, result.class_loss["shuffle"][0, c], color=color, ls=":", lw=1.2)
    for e in range(1, result.epochs):
        ax.axvline(e * result.n_train, **_EPOCH_LINE, label=None if e > 1 else "end of an epoch")
    ax.set_yscale("log")
    ax.set_xlim(0, x[-1])
    ax.set_xlabel("presentations (shaded: the digit is being presented)")
    ax.set_ylabel("loss on the digit's training patterns")
    handles, labels = ax.get_legend_handles_labels()
    if "shuffle" in result.orders:
        handles.append(Line2D([], [], color=BLACK, ls=":", lw=1.2))
        labels.append("same digits, shuffled")
    fig.legend(handles, labels, fontsize=9, loc="outside lower center", ncols=3)
    panel_label(ax, f"class-sorted online learning, seed {result.seeds[0]}")
    return fig


def _ceiling_lines(ax: Axes, result: EmphasisComparison) -> None:
    """Panel (b)'s reference lines: the uniform share and each cap's ceiling, labelled at the
    left, where the curves have not yet risen."""
    uniform = 100.0 * result.noise_share
    lines = [(uniform, "uniform share", BLACK, "--")]
    for setting, cap in result.caps.items():
        if cap is not None and setting in result.runs("noisy"):
            level = min(100.0, cap * uniform)
            lines.append((level, f"ceiling of the {setting}", VERMILLION, "-."))
    for k, (level, text, color, ls) in enumerate(lines):
        ax.axhline(level, color=color, lw=0.8, ls=ls)
        below = k == 0  # the uniform share: below its line, which the shuffled run covers
        ax.annotate(text, (0.05, level), xytext=(0, -3 if below else 3),
                    textcoords="offset points", fontsize=9, color=color,
                    va="top" if below else "bottom")  # fmt: skip


def plot_emphasis_comparison(result: EmphasisComparison) -> Figure:
    """Emphasizing against shuffling, three panels stacked: clean training loss (a, top), share
    of presentations on the mislabelled patterns (b, middle) and test error (c, bottom),
    against the epoch.

    Lines are seed means, bands their min–max range.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.shuffling_and_emphasizing.emphasis_comparison`.
    """
    check_instance(result, EmphasisComparison, "result")
    fig, (ax_a, ax_b, ax_c) = new_figure(3, 1, figsize=(COLUMN_WIDTH, 8.6), sharex=True)
    x = result.epoch
    i = 0
    for condition in ("clean", "noisy"):
        for setting in result.runs(condition):
            style = _run_style(condition, setting, i)
            label = _run_label(result, condition, setting)
            i += 1
            if condition == "clean":
                _band(ax_a, x, result.train_loss[condition][setting], style, label)
            else:
                share = 100.0 * result.flipped_share[condition][setting]
                _band(ax_b, x[1:], share, style, label)
            _band(ax_c, x, 100.0 * result.test_error[condition][setting], style, label)
    ax_a.set_yscale("log")
    ax_a.set_ylabel("training loss\n(cross-entropy)")
    panel_label(ax_a, "(a) clean labels: training loss")
    _ceiling_lines(ax_b, result)
    ax_b.set_ylim(0, None)
    ax_b.set_ylabel("presentations on\nmislabelled patterns (%)")
    panel_label(ax_b, f"(b) {result.flipped.size} of {result.n_train} labels flipped: where the "
                "presentations go")  # fmt: skip
    ax_c.set_yscale("log")
    ax_c.set_yticks([5, 10, 20, 50, 100], ["5", "10", "20", "50", "100"])
    ax_c.yaxis.set_minor_formatter(NullFormatter())
    ax_c.set_ylabel("test error (%)")
    panel_label(ax_c, "(c) test error")
    ax_c.set_xlabel("epoch")
    ax_c.set_xlim(0, x[-1])
    handles, labels = ax_c.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=9)
    return fig


def plot_emphasis_profile(profile: EmphasisProfile) -> Figure:
    """Presentation rate relative to uniform, ``n·P_p``, against the pattern's loss, per cap.

    Parameters
    ----------
    profile
        From :func:`ebp.experiments.shuffling_and_emphasizing.emphasis_profile`.
    """
    check_instance(profile, EmphasisProfile, "profile")
    fig, ax = new_figure(figsize=(COLUMN_WIDTH, 4.0))
    colors = [BLUE, VERMILLION, GREEN, ORANGE]
    sizes = [46, 14, 8, 4]
    items = sorted(profile.relative.items(), key=lambda kv: kv[1].max(), reverse=True)
    for i, (label, rel) in enumerate(items):  # the widest spread first, underneath
        color = colors[i % len(colors)]
        for mask, marker, who in (
            (~profile.flipped, "o", "right"),
            (profile.flipped, "X", "wrong"),
        ):
            ax.scatter(
                profile.loss[mask], rel[mask], s=sizes[i % 4] * (2 if who == "wrong" else 1),
                marker=marker, color=color, lw=0, label=f"{label}, {who} label",
            )  # fmt: skip
        cap = profile.caps[label]
        if cap is not None:
            ax.axhline(cap, color=color, lw=0.8, ls="-.")
            ax.text(
                profile.loss.min(), cap, f" cap = {cap:g}", color=color, va="bottom", fontsize=9
            )
    ax.axhline(1.0, color=BLACK, lw=0.8, ls="--")
    ax.text(profile.loss.min(), 1.0, " uniform shuffling", va="bottom", fontsize=9)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("loss $E^p$ of the pattern")
    ax.set_ylabel(r"presentation rate $n\,P_p$ (1 = uniform)")
    ax.legend(fontsize=9, loc="lower right")
    return fig


def emphasis_table_markdown(result: EmphasisComparison) -> str:
    """A Markdown table of the end-of-training measurements, one row per run.

    Entries are means over the seeds ± one standard deviation.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.shuffling_and_emphasizing.emphasis_comparison`.
    """
    check_instance(result, EmphasisComparison, "result")

    def cell(v: np.ndarray, scale: float = 1.0, digits: int = 3) -> str:
        v = scale * np.asarray(v, dtype=float)
        if np.isnan(v).all():
            return "–"
        sd = float(np.std(v, ddof=1)) if v.size > 1 else 0.0
        return f"{np.mean(v):.{digits}f} ± {sd:.{digits}f}"

    rows = []
    for condition in ("clean", "noisy"):
        for setting in result.runs(condition):
            share = result.flipped_share[condition][setting][:, -1]
            rows.append([
                _run_label(result, condition, setting),
                cell(result.final("train_loss", condition, setting)),
                cell(result.final("clean_loss", condition, setting)),
                cell(result.final("flipped_loss", condition, setting)),
                cell(share, 100.0, 1) if condition == "noisy" else "–",
                cell(result.final("test_error", condition, setting), 100.0, 1),
            ])  # fmt: skip
    header = [
        "run",
        "training loss",
        "loss, right labels",
        "loss, flipped labels",
        "share on flipped (%)",
        "test error (%)",
    ]
    return pipe_table(header, rows)
