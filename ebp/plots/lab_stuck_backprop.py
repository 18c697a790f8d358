"""Figures and the summary table of the lab "hand-written backprop that gets stuck".

Each function draws (or formats) what :mod:`ebp.experiments.lab_stuck_backprop` returned; none
computes a training run.  Errors are RMSE in the units of ``z`` on a log axis; a run that diverged
ends at its last finite record and is marked with an ×.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, NullLocator

from ebp._validate import check_instance
from ebp.experiments.lab_stuck_backprop import (
    Agreement,
    Diagnosis,
    LabResult,
    LabSummary,
    Predictions,
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
    use_book_style,
)
from ebp.plots.tables import pipe_table

__all__ = [
    "CONFIG_COLORS",
    "config_color",
    "plot_agreement",
    "plot_curves",
    "plot_diagnosis",
    "plot_predictions",
    "summary_table",
]

CONFIG_COLORS: dict[str, str] = {
    "beginner": VERMILLION,
    "larger_eta": PURPLE,
    "clipping_only": "#555555",
    "inputs": "#8c6d31",
    "targets": SKY_BLUE,
    "init": BLUE,
    "all": GREEN,
}
"""The colour of each configuration of :data:`ebp.experiments.lab_stuck_backprop.CONFIGS`, in every
figure."""

_FALLBACK = [BLACK, "#7f7f7f", "#bcbd22", "#17becf"]

_CONFIG_LINESTYLES: dict[str, str | tuple[int, tuple[int, ...]]] = {
    "beginner": "-",
    "larger_eta": "--",
    "clipping_only": "-.",
    "inputs": "--",
    "targets": (0, (6, 2, 1, 2)),
    "init": (0, (3, 1, 1, 1, 1, 1)),
    "all": "-",
}
"""The line style of each configuration's mean curve, so that two configurations of similar
colour (the faded ones above all) still differ in the legend."""


def _config_ls(name: str) -> str | tuple[int, tuple[int, ...]]:
    return _CONFIG_LINESTYLES.get(name, "-")


def config_color(name: str, index: int = 0) -> str:
    """The colour of configuration ``name`` (a fallback colour by ``index`` if it has none)."""
    return CONFIG_COLORS.get(name, _FALLBACK[index % len(_FALLBACK)])


def _check_names(result: LabResult, names: Sequence[str] | None) -> list[str]:
    if names is None:
        return [c.name for c in result.configs]
    if isinstance(names, str) or not isinstance(names, Sequence) or len(names) == 0:
        raise TypeError(f"names must be a non-empty sequence of configuration names; got {names!r}")
    for n in names:
        result.config(n)  # raises ValueError naming the choices
    return list(names)


# ---------------------------------------------------------------------------------------------
# Loss curves
# ---------------------------------------------------------------------------------------------


def _draw_config(
    ax: Axes, result: LabResult, name: str, which: str, color: str, faded: bool
) -> None:
    runs = result.runs[name]
    key = "train_rmse" if which == "train" else "val_rmse"
    alive = [r for r in runs if not r.diverged]
    if not faded:
        for r in runs:
            y = getattr(r, key)
            ax.plot(r.epoch, y, color=color, lw=0.7, alpha=0.45)
            if r.diverged and r.divergence_epoch is not None and y.size:
                # The run stopped between two records: a dotted link from its last record.
                ax.plot(
                    [r.epoch[-1], r.divergence_epoch], [y[-1], y[-1]], color=color, lw=0.7, ls=":"
                )
                ax.plot([r.divergence_epoch], [y[-1]], marker="x", ms=8, mew=2, color=color)
    if alive:
        mean = np.mean([getattr(r, key) for r in alive], axis=0)
        ax.plot(
            alive[0].epoch,
            mean,
            color=color,
            ls=_config_ls(name),
            lw=1.3 if faded else 2.2,
            alpha=0.5 if faded else 1.0,
            zorder=1 if faded else 3,
        )


def plot_curves(
    result: LabResult,
    names: Sequence[str] | None = None,
    *,
    highlight: Sequence[str] | None = None,
    show_baseline: bool = True,
) -> Figure:
    """Training and validation RMSE against epochs, one colour per configuration.

    Seeds are thin lines, their mean (over the seeds that did not diverge) a thick one.  A
    diverged seed's curve stops at its last finite record and an × marks the epoch at which
    training stopped.  The x-axis is linear up to epoch 1 and logarithmic beyond, so that early
    blow-ups and long runs are both visible.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.lab_stuck_backprop.run_lab`.
    names
        Configurations to draw (default: all), in legend order.
    highlight
        Configurations drawn in full (every seed, and the mean); the others only as a faint mean
        curve, for reference.  Default: all of ``names``.
    show_baseline
        Draw the error of always predicting the mean target (the targets' standard deviation).
    """
    check_instance(result, LabResult, "result")
    names = _check_names(result, names)
    highlight = names if highlight is None else _check_names(result, highlight)
    fig, axes = new_figure(1, 2, figsize=(MAX_FIGURE_WIDTH, 3.8), sharey=True)
    std = float(result.data.z_train.std())
    for ax, which in zip(axes, ("train", "val"), strict=True):
        for i, name in enumerate(names):
            faded = name not in highlight
            _draw_config(ax, result, name, which, config_color(name, i), faded)
        if show_baseline:
            ax.axhline(std, color=BLACK, lw=0.9, ls=":", zorder=0)
        ax.set_xscale("symlog", linthresh=1.0, linscale=0.4)
        ax.set_yscale("log")
        ax.set_xlim(0, result.epochs * 1.05)
        ticks = [t for t in (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if t <= result.epochs]
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("epoch")
        ax.set_title("training set" if which == "train" else "validation set")
    lo, hi = axes[0].get_ylim()
    if hi / lo < 20:  # less than about a decade: label the minor ticks with plain numbers
        axes[0].yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axes[0].yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axes[0].set_ylabel("RMSE (units of z)")
    handles = [
        Line2D(
            [],
            [],
            color=config_color(n, i),
            ls=_config_ls(n),
            lw=2.2 if n in highlight else 1.3,
            alpha=1.0 if n in highlight else 0.5,
            label=result.config(n).label,
        )
        for i, n in enumerate(names)
    ]
    if any(r.diverged for n in highlight for r in result.runs[n]):
        handles.append(
            Line2D([], [], color=BLACK, marker="x", ms=7, mew=2, ls="none", label="diverged")
        )
    if show_baseline:
        handles.append(Line2D([], [], color=BLACK, lw=0.9, ls=":", label="predict the mean"))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(2, len(handles)))
    return fig


# ---------------------------------------------------------------------------------------------
# Diagnostics
# ---------------------------------------------------------------------------------------------


def plot_diagnosis(diagnosis: Diagnosis) -> Figure:
    """Saturated hidden units (left) and gradient norm per layer (right), at init and trained.

    Points are grouped by configuration; within a group, each layer has an open marker (at
    initialization) and a filled one (after training, or where training stopped), joined by a
    thin line.  Points, not bars: the gradient axis is logarithmic, where a bar's length would
    depend on an arbitrary baseline.
    """
    check_instance(diagnosis, Diagnosis, "diagnosis")
    fig, axes = new_figure(1, 2, figsize=(MAX_FIGURE_WIDTH, 3.9))
    panels = (
        (axes[0], diagnosis.saturated, "saturated fraction", False),
        (axes[1], diagnosis.grad_norm, "gradient norm ‖∂E/∂(W, b)‖", True),
    )
    for ax, values, ylabel, log in panels:
        _diagnosis_points(ax, values)
        ax.set_xticks(
            np.arange(len(diagnosis.names)), [_wrap(label, 16) for label in diagnosis.labels]
        )
        ax.set_xlim(-0.6, len(diagnosis.names) - 0.4)
        ax.set_ylabel(ylabel)
        ax.grid(axis="x", visible=False)
        if log:
            ax.set_yscale("log")
        else:
            ax.set_ylim(-0.03, 1.05)
    n_layers = diagnosis.grad_norm.shape[2]
    handles = [
        Line2D(
            [],
            [],
            color=_LAYER_COLORS[l % len(_LAYER_COLORS)],
            marker=_LAYER_MARKERS[l % len(_LAYER_MARKERS)],
            ls="none",
            ms=7,
            label="output layer" if l == n_layers - 1 else f"layer {l + 1}",
        )
        for l in range(n_layers)
    ]
    handles += [
        Line2D(
            [],
            [],
            color="#666666",
            marker="o",
            mfc="white",
            ls="none",
            ms=7,
            label="at initialization",
        ),
        Line2D([], [], color="#666666", marker="o", ls="none", ms=7, label="after training"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=(len(handles) + 1) // 2)
    axes[0].set_title(f"units with f′(z) < {diagnosis.threshold:g}·f′(0)")
    axes[1].set_title("gradient on the training set")
    return fig


_LAYER_COLORS = [SKY_BLUE, BLUE, PURPLE, ORANGE]
_LAYER_MARKERS = ["o", "s", "D", "^"]


def _diagnosis_points(ax: Axes, values: np.ndarray) -> None:
    """One panel of :func:`plot_diagnosis`: ``values[config, stage, layer]`` as points, the
    layers side by side within each configuration's group, the first stage (initialization)
    open and the second (after training) filled; non-finite values are left out."""
    n_cfg, _, n_layers = values.shape
    step = 0.7 / n_layers
    for l in range(n_layers):
        color = _LAYER_COLORS[l % len(_LAYER_COLORS)]
        marker = _LAYER_MARKERS[l % len(_LAYER_MARKERS)]
        for i in range(n_cfg):
            x = i - 0.35 + step * (l + 0.5) + step * np.array([-0.15, 0.15])
            v = values[i, :2, l]
            ok = np.isfinite(v)
            ax.plot(x[ok], v[ok], color=color, lw=0.9, zorder=2)
            for k in np.flatnonzero(ok):
                face = "white" if k == 0 else color
                ax.plot(x[k], v[k], marker=marker, ms=7, mew=1.5, color=color, mfc=face, zorder=3)


def _wrap(label: str, width: int = 22) -> str:
    words, lines, line = label.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Predictions
# ---------------------------------------------------------------------------------------------


def plot_predictions(preds: Predictions) -> Figure:
    """Predicted against true ``z`` on the validation set, one panel per configuration."""
    check_instance(preds, Predictions, "preds")
    n = len(preds.names)
    ncols = min(n, 2)
    nrows = math.ceil(n / ncols)
    fig, axes = new_figure(
        nrows,
        ncols,
        figsize=(COLUMN_WIDTH, 3.5 * nrows + 0.4),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    z = preds.z_true
    lo, hi = float(z.min()), float(z.max())
    pad = 0.05 * (hi - lo)
    for i, ax in enumerate(axes.flat[:n]):
        p = preds.z_pred[i]
        finite = np.isfinite(p)
        ax.plot(
            [lo - pad, hi + pad],
            [lo - pad, hi + pad],
            color=BLACK,
            lw=0.9,
            ls=":",
            label="perfect prediction",
        )
        ax.scatter(z[finite], p[finite], s=10, alpha=0.7, color=config_color(preds.names[i], i))
        rmse = math.sqrt(float(np.mean((p - z) ** 2))) if finite.all() else math.nan
        title = _wrap(preds.labels[i], 20)
        if preds.diverged[i]:
            title += "\n(diverged)"
        elif math.isfinite(rmse):
            title += f"\nRMSE {rmse:.3g}"
        ax.set_title(title, fontsize=10.5)
        if i >= n - ncols:
            ax.set_xlabel("true z")
        if i % ncols == 0:
            ax.set_ylabel("predicted z")
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_aspect("equal")
    fig.legend(
        handles=[Line2D([], [], color=BLACK, lw=0.9, ls=":", label="perfect prediction (y = x)")],
        loc="outside lower center",
    )
    return fig


# ---------------------------------------------------------------------------------------------
# NumPy against PyTorch
# ---------------------------------------------------------------------------------------------


def plot_agreement(agreement: Agreement) -> Figure:
    """The NumPy and PyTorch losses of the same run (top) and their relative difference
    (bottom), each panel with its legend below it."""
    check_instance(agreement, Agreement, "agreement")
    use_book_style()
    fig = plt.figure(figsize=(COLUMN_WIDTH, 7.2), layout="constrained")
    subs = fig.subfigures(2, 1)
    e = agreement.epoch
    ax = subs[0].subplots()
    ax.plot(e, agreement.numpy_train, color=BLUE, lw=2.4, label="NumPy (ebp.scratch), training")
    ax.plot(e, agreement.torch_train, color=ORANGE, lw=1.2, ls="--", label="PyTorch, training")
    ax.plot(e, agreement.numpy_val, color=GREEN, lw=2.4, label="NumPy, validation")
    ax.plot(e, agreement.torch_val, color=BLACK, lw=1.0, ls="--", label="PyTorch, validation")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss E")
    ax.set_title("(a) the losses", loc="left", fontsize=11)
    subs[0].legend(loc="outside lower center", ncols=2)
    ax = subs[1].subplots()
    tiny = np.finfo(float).tiny
    for a, b, color, marker, label in (
        (agreement.numpy_train, agreement.torch_train, BLUE, "o", "training"),
        (agreement.numpy_val, agreement.torch_val, GREEN, "s", "validation"),
    ):
        rel = np.abs(a - b) / np.maximum(np.abs(a), tiny)
        nonzero = rel > 0  # exact agreement cannot be drawn on a log axis: left out
        ax.plot(e[nonzero], rel[nonzero], marker=marker, ms=3, ls="none", color=color, label=label)
    ax.axhline(np.finfo(float).eps, color=BLACK, lw=0.9, ls=":", label="float64 ε")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("relative difference")
    ax.set_title("(b) |E(NumPy) − E(PyTorch)| / E(NumPy)", loc="left", fontsize=11)
    subs[1].legend(loc="outside lower center", ncols=3)
    return fig


# ---------------------------------------------------------------------------------------------
# The summary table
# ---------------------------------------------------------------------------------------------


def _num(x: float, digits: int) -> str:
    # Significant digits without exponent notation for the sizes that occur here.
    return f"{x:.0f}" if abs(x) >= 10 ** (digits - 1) else f"{x:.{digits}g}"


def _pm(mean: float, std: float) -> str:
    if not math.isfinite(mean):
        return "—"
    return f"{_num(mean, 3)} ± {_num(std, 2)}"


def summary_table(summary: LabSummary, names: Sequence[str] | None = None) -> str:
    """A Markdown table of the final errors per configuration (RMSE in the units of ``z``).

    Parameters
    ----------
    summary
        From :func:`ebp.experiments.lab_stuck_backprop.summarize`.
    names
        Rows to show, in order (default: all).
    """
    check_instance(summary, LabSummary, "summary")
    if names is None:
        names = summary.names
    header = ["set-up", "diverged", "median step of divergence", "training RMSE", "validation RMSE"]
    rows = []
    for name in names:
        i = summary.index(name)
        step = summary.median_divergence_step[i]
        rows.append(
            [
                str(summary.labels[i]),
                f"{int(summary.n_diverged[i])}/{summary.n_seeds}",
                f"{step:.0f}" if math.isfinite(step) else "—",
                _pm(summary.train_mean[i], summary.train_std[i]),
                _pm(summary.val_mean[i], summary.val_std[i]),
            ]
        )
    return pipe_table(header, rows)
