"""Figures of the chapter "Learning and generalization" (paper §1–2).

Each function draws what an experiment of :mod:`ebp.experiments.learning_and_generalization`
returned and returns the figure; none of them computes anything beyond means and ranges for display.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ebp._validate import check_instance
from ebp.experiments.learning_and_generalization import (
    LOSS_CURVES,
    DigitsClassifier,
    LossCurves,
    Overfitting,
)
from ebp.plots.style import (
    BLACK,
    BLUE,
    GREEN,
    MAX_FIGURE_WIDTH,
    ORANGE,
    PURPLE,
    VERMILLION,
    new_figure,
    panel_label,
)
from ebp.plots.tables import pipe_table

__all__ = ["metrics_table_markdown", "plot_classifier", "plot_loss_curves", "plot_overfitting"]

_CURVE_STYLE: dict[str, dict[str, Any]] = {
    "mse_linear": {"color": BLUE, "ls": "-"},
    "mse_lecun_tanh": {"color": ORANGE, "ls": "--"},
    "bce": {"color": GREEN, "ls": "-."},
    "cross_entropy": {"color": PURPLE, "ls": ":"},
}
_CURVE_LABEL = {
    "mse_linear": "squared error, linear output",
    "mse_lecun_tanh": "squared error, $1.7159\\,\\tanh(2z/3)$ output",
    "bce": "binary cross-entropy, logistic output",
    "cross_entropy": "cross-entropy, softmax over {K} classes",
}


def plot_loss_curves(curves: LossCurves, *, loss_max: float = 6.0) -> Figure:
    """The per-pattern losses (left) and their derivatives (right) against the weighted sum ``z``.

    Parameters
    ----------
    curves
        From :func:`ebp.experiments.learning_and_generalization.loss_curves`.
    loss_max
        Upper limit of the loss axis (the linear-output squared error grows without bound).
    """
    check_instance(curves, LossCurves, "curves")
    fig, (ax_loss, ax_grad) = new_figure(1, 2, figsize=(MAX_FIGURE_WIDTH, 3.9))
    for key in LOSS_CURVES:
        style = _CURVE_STYLE[key]
        label = _CURVE_LABEL[key].format(K=curves.n_classes)
        ax_loss.plot(curves.z, curves.loss[key], label=label, **style)
        ax_grad.plot(curves.z, curves.grad[key], **style)
    ax_loss.set_ylim(0.0, loss_max)
    ax_grad.set_ylim(-2.2, 1.2)
    for ax in (ax_loss, ax_grad):
        ax.axvline(0.0, color=BLACK, lw=0.6)
        top = ax.get_ylim()[1]
        ax.annotate(
            "$z = 0$",
            (0.0, top),
            xytext=(3, -3),
            textcoords="offset points",
            ha="left",
            va="top",
            fontsize=9,
        )
        ax.set_xlabel("output unit's weighted sum $z$")
        ax.set_xlim(curves.z[0], curves.z[-1])
    ax_grad.axhline(0.0, color=BLACK, lw=0.6)
    ax_loss.set_ylabel("per-pattern loss $E^p$ (nats for\nthe entropies)")
    ax_grad.set_ylabel(r"gradient $\partial E^p / \partial z$")
    panel_label(ax_loss, "(a) loss, target 1")
    panel_label(ax_grad, "(b) its derivative, the error signal")
    ax_grad.annotate(
        "confidently wrong, yet\nalmost no gradient",
        xy=(-4.5, 0.0),
        xytext=(-5.6, 0.75),
        fontsize=9,
        color=ORANGE,
        arrowprops={"arrowstyle": "->", "color": ORANGE, "lw": 1.0},
    )
    ax_grad.annotate(
        "zero gradient",
        (curves.z[0], 0.0),
        xytext=(3, -3),
        textcoords="offset points",
        ha="left",
        va="top",
        fontsize=9,
    )
    fig.legend(loc="outside lower center", ncols=2)
    return fig


def plot_classifier(result: DigitsClassifier) -> Figure:
    """Learning curves (left) and the test-set confusion matrix (right) of a digits classifier.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.learning_and_generalization.digits_classifier`.
    """
    check_instance(result, DigitsClassifier, "result")
    fig, (ax_curve, ax_cm) = new_figure(
        1, 2, figsize=(MAX_FIGURE_WIDTH, 4.0), gridspec_kw={"width_ratios": [1.0, 1.0]}
    )
    ax_curve.plot(result.epoch, result.train_loss, color=BLUE, label="training set")
    ax_curve.plot(result.epoch, result.test_loss, color=VERMILLION, ls="--", label="test set")
    ax_curve.set_yscale("log")
    ax_curve.set_xlabel("epoch (passes through\nthe training set)")
    loss_name = "cross-entropy (nats)" if result.loss == "cross_entropy" else "½ squared error"
    ax_curve.set_ylabel(f"mean loss per pattern,\n{loss_name}")
    ax_curve.set_xlim(0, result.epoch[-1])
    ax_curve.legend()
    panel_label(ax_curve, "(a) training and test loss")

    cm = result.confusion
    K = cm.shape[0]
    ax_cm.imshow(cm, cmap="Blues", vmin=0, vmax=cm.max())
    threshold = 0.6 * cm.max()
    for i in range(K):
        for j in range(K):
            if cm[i, j]:
                ax_cm.text(
                    j,
                    i,
                    str(cm[i, j]),
                    ha="center",
                    va="center",
                    fontsize=9,
                    color="white" if cm[i, j] > threshold else BLACK,
                )
    ax_cm.set_xticks(range(K))
    ax_cm.set_yticks(range(K))
    ax_cm.set_xlabel("predicted digit")
    ax_cm.set_ylabel("true digit")
    ax_cm.grid(False)
    panel_label(ax_cm, f"(b) test confusions ({result.n_test} digits)")
    return fig


def metrics_table_markdown(results: dict[str, DigitsClassifier]) -> str:
    """A Markdown table of the metrics of several classifiers, one column per classifier.

    Parameters
    ----------
    results
        Column header → result of
        :func:`ebp.experiments.learning_and_generalization.digits_classifier`.
    """
    if not isinstance(results, dict) or not results:
        raise TypeError("results must be a non-empty dict of header -> DigitsClassifier")
    for header, result in results.items():
        check_instance(result, DigitsClassifier, f"results[{header!r}]")
    rows = [
        ("training accuracy (%)", lambda r: f"{100 * r.train_accuracy:.1f}"),
        ("test accuracy (%)", lambda r: f"{100 * r.accuracy:.1f}"),
        ("test macro F1", lambda r: f"{r.macro_f1:.3f}"),
        ("test ROC-AUC (one-vs-rest, macro)", lambda r: f"{r.roc_auc:.4f}"),
        ("learning rate η", lambda r: f"{r.eta:g}"),
    ]
    body = [[label, *(fmt(r) for r in results.values())] for label, fmt in rows]
    return pipe_table(["", *results], body)


def plot_overfitting(result: Overfitting, *, title: str | None = None) -> Figure:
    """Training and validation loss (left) and test error (right) per epoch, over the seeds.

    Thin lines are single seeds, thick lines their mean; dots mark each seed's epoch of minimal
    validation loss and crosses where the patience rule stopped.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.learning_and_generalization.overfitting`.
    title
        Optional figure title.
    """
    check_instance(result, Overfitting, "result")
    fig, (ax_loss, ax_err) = new_figure(1, 2, figsize=(MAX_FIGURE_WIDTH, 4.4))
    epoch = result.epoch
    rows = np.arange(result.seeds.size)
    for curves, color, label in (
        (result.train_loss, BLUE, f"training ({result.n_train} digits)"),
        (result.val_loss, VERMILLION, f"validation ({result.n_val} digits)"),
    ):
        ax_loss.plot(epoch, curves.T, color=color, lw=0.7, alpha=0.45)
        ax_loss.plot(epoch, curves.mean(axis=0), color=color, lw=2.2, label=label)
    best, stop = result.best_epoch, result.stop_epoch
    ax_loss.plot(
        best, result.val_loss[rows, best], "o", color=BLACK, ms=4, label="validation minimum"
    )
    ax_loss.plot(
        stop, result.val_loss[rows, stop], "x", color=BLACK, ms=6, label="patience rule stops"
    )
    ax_loss.set_ylim(0.0, 1.25 * float(result.val_loss[:, 1:].mean(axis=0).max()))
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("mean cross-entropy\nper pattern (nats)")

    panel_label(ax_loss, "(a) loss")

    err = 100.0 * result.test_error
    ax_err.fill_between(epoch, err.min(axis=0), err.max(axis=0), color=GREEN, alpha=0.2, lw=0)
    ax_err.plot(epoch, err.T, color=GREEN, lw=0.7, alpha=0.45)
    ax_err.plot(epoch, err.mean(axis=0), color=GREEN, lw=2.2, label="test error (mean)")
    restore = result.restore_epoch
    ax_err.plot(
        restore, err[rows, restore], "D", color=BLACK, ms=4, label="weights kept by early stopping"
    )
    ax_err.set_xlabel("epoch")
    ax_err.set_ylabel(f"test error (% of {result.n_test} digits)")
    top = float(np.percentile(err[:, 1:], 99.5)) if err.shape[1] > 1 else float(err.max())
    ax_err.set_ylim(0.0, max(1.15 * top, 1.0))

    panel_label(ax_err, f"(b) test error, {result.seeds.size} seeds")
    for ax in (ax_loss, ax_err):
        ax.set_xlim(0, epoch[-1])
    handles, labels = ax_loss.get_legend_handles_labels()
    more = ax_err.get_legend_handles_labels()
    fig.legend([*handles, *more[0]], [*labels, *more[1]], loc="outside lower center", ncols=2)
    if title is not None:
        fig.suptitle(title)
    return fig
