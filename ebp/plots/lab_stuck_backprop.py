"""Figures and the summary table of the lab "hand-written backprop that gets stuck".

Each function draws (or formats) what :mod:`ebp.experiments.lab_stuck_backprop` returned; none
computes a training run.  Errors are RMSE in the units of ``z`` on a log axis; a run that diverged
ends at its last finite record and is marked with an ×.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

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
    GREEN,
    ORANGE,
    PURPLE,
    SKY_BLUE,
    VERMILLION,
    new_figure,
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
    fig, axes = new_figure(1, 2, figsize=(9.0, 3.8), sharey=True)
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
    fig.legend(handles=handles, loc="outside lower center", ncols=min(3, len(handles)))
    return fig


# ---------------------------------------------------------------------------------------------
# Diagnostics
# ---------------------------------------------------------------------------------------------


def plot_diagnosis(diagnosis: Diagnosis) -> Figure:
    """Saturated hidden units (left) and gradient norm per layer (right), at init and trained.

    Bars are grouped by configuration; within a group, each layer has a light bar (at
    initialization) and a dark one (after training, or where training stopped).
    """
    check_instance(diagnosis, Diagnosis, "diagnosis")
    n_cfg = len(diagnosis.names)
    fig, axes = new_figure(1, 2, figsize=(9.0, 3.8))
    panels = (
        (axes[0], diagnosis.saturated, "saturated fraction", False),
        (axes[1], diagnosis.grad_norm, "gradient norm ‖∂E/∂(W, b)‖", True),
    )
    layer_colors = [SKY_BLUE, BLUE, PURPLE, ORANGE]
    for ax, values, ylabel, log in panels:
        n_layers = values.shape[2]
        width = 0.8 / (2 * n_layers)
        x0 = np.arange(n_cfg)
        for l in range(n_layers):
            for s in range(len(diagnosis.stages)):
                pos = x0 - 0.4 + width * (2 * l + s + 0.5)
                v = values[:, s, l]
                shown = np.where(np.isfinite(v), v, 0.0)
                ax.bar(
                    pos,
                    shown,
                    width=width * 0.95,
                    color=layer_colors[l % len(layer_colors)],
                    alpha=0.4 if s == 0 else 1.0,
                    edgecolor="white",
                    linewidth=0.5,
                )
        ax.set_xticks(x0, [_wrap(label, 16) for label in diagnosis.labels], fontsize=9)
        ax.set_ylabel(ylabel)
        ax.grid(axis="x", visible=False)
        if log:
            ax.set_yscale("log")
        else:
            ax.set_ylim(0, 1.05)
    n_layers = diagnosis.grad_norm.shape[2]
    handles = [
        Line2D(
            [],
            [],
            color=layer_colors[l % len(layer_colors)],
            lw=6,
            label="output layer" if l == n_layers - 1 else f"layer {l + 1}",
        )
        for l in range(n_layers)
    ]
    handles += [
        Line2D([], [], color="#888888", alpha=0.4, lw=6, label="at initialization"),
        Line2D([], [], color="#888888", lw=6, label="after training"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=9)
    axes[0].set_title(f"units with f′(z) < {diagnosis.threshold:g}·f′(0)")
    axes[1].set_title("gradient on the training set")
    return fig


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
    fig, axes = new_figure(1, n, figsize=(3.6 * n, 3.6), sharex=True, sharey=True, squeeze=False)
    z = preds.z_true
    lo, hi = float(z.min()), float(z.max())
    pad = 0.05 * (hi - lo)
    for i, ax in enumerate(axes[0]):
        p = preds.z_pred[i]
        finite = np.isfinite(p)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color=BLACK, lw=0.9, ls=":")
        ax.scatter(z[finite], p[finite], s=10, alpha=0.7, color=config_color(preds.names[i], i))
        rmse = math.sqrt(float(np.mean((p - z) ** 2))) if finite.all() else math.nan
        title = _wrap(preds.labels[i], 30)
        if preds.diverged[i]:
            title += "\n(diverged)"
        elif math.isfinite(rmse):
            title += f"\nRMSE {rmse:.3g}"
        ax.set_title(title, fontsize=10.5)
        ax.set_xlabel("true z")
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_aspect("equal")
    axes[0][0].set_ylabel("predicted z")
    return fig


# ---------------------------------------------------------------------------------------------
# NumPy against PyTorch
# ---------------------------------------------------------------------------------------------


def plot_agreement(agreement: Agreement) -> Figure:
    """The NumPy and PyTorch losses of the same run (left) and their relative difference."""
    check_instance(agreement, Agreement, "agreement")
    fig, axes = new_figure(1, 2, figsize=(9.0, 3.4))
    e = agreement.epoch
    ax = axes[0]
    ax.plot(e, agreement.numpy_train, color=BLUE, lw=2.4, label="NumPy (ebp.scratch), training")
    ax.plot(e, agreement.torch_train, color=ORANGE, lw=1.2, ls="--", label="PyTorch, training")
    ax.plot(e, agreement.numpy_val, color=GREEN, lw=2.4, label="NumPy, validation")
    ax.plot(e, agreement.torch_val, color=BLACK, lw=1.0, ls="--", label="PyTorch, validation")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss E")
    ax.legend(fontsize=8.5)
    ax = axes[1]
    tiny = np.finfo(float).tiny
    for a, b, color, marker, label in (
        (agreement.numpy_train, agreement.torch_train, BLUE, "o", "training"),
        (agreement.numpy_val, agreement.torch_val, GREEN, "s", "validation"),
    ):
        rel = np.abs(a - b) / np.maximum(np.abs(a), tiny)
        nonzero = rel > 0  # exact agreement cannot be drawn on a log axis: left out
        ax.plot(
            e[nonzero], rel[nonzero], marker=marker, ms=2.5, ls="none", color=color, label=label
        )
    ax.axhline(np.finfo(float).eps, color=BLACK, lw=0.9, ls=":", label="float64 ε")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("relative difference")
    ax.set_title("|E(NumPy) − E(PyTorch)| / E(NumPy)", fontsize=10.5)
    ax.legend(fontsize=8.5, loc="upper left")
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
