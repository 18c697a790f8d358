"""Figures of the chapter "Loss landscapes in 2-D and 3-D" beyond :mod:`ebp.plots.landscape`.

Each function draws a result of :mod:`ebp.experiments.loss_landscapes` and returns the
``Figure``; the contours and 3-D surfaces themselves come from :mod:`ebp.plots.landscape`.
"""

from __future__ import annotations

from matplotlib.figure import Figure

from ebp._validate import check_instance
from ebp.experiments.loss_landscapes import Rescaling, TrainingPicture
from ebp.plots.style import BLUE, COLUMN_WIDTH, ORANGE, VERMILLION, new_figure, panel_label

__all__ = ["plot_interpolation", "plot_path_gap", "plot_rescaling"]

_TITLES = {"none": "un-normalized", "filter": "filter-normalized"}


def plot_rescaling(result: Rescaling) -> Figure:
    """The loss along a random direction for two parameterizations of one network.

    Panel (a): un-normalized directions; (b): filter-normalized.  Each panel has one curve per
    parameterization (the original network and the one rescaled by ``c``).
    """
    check_instance(result, Rescaling, "result")
    fig, axes = new_figure(1, 2, figsize=(COLUMN_WIDTH, 3.4), sharey=True)
    styles = {
        "original": dict(color=BLUE, lw=2.4, ls="-"),
        "rescaled": dict(color=ORANGE, lw=1.6, ls="--"),
    }
    labels = {"original": "original", "rescaled": f"rescaled, c = {result.c:g}"}
    for k, (ax, norm) in enumerate(zip(axes, ("none", "filter"), strict=True)):
        for name, losses in result.curves[norm].items():
            ax.plot(result.alphas, losses, label=labels[name], **styles[name])
        ax.set_yscale("log")
        ax.set_xlabel(r"$\alpha$")
        panel_label(ax, f"({'ab'[k]}) {_TITLES[norm]}")
    axes[0].set_ylabel(r"loss $E(\theta + \alpha d)$")
    axes[1].legend(loc="upper center", fontsize=9)
    return fig


def plot_path_gap(picture: TrainingPicture) -> Figure:
    """The true loss along a training path against what its PCA plane shows there.

    Panel (a): both losses against the update count (log scale); (b): the relative gap
    between them and the iterates' relative distance from the plane.
    """
    check_instance(picture, TrainingPicture, "picture")
    gap = picture.gap
    fig, (top, bottom) = new_figure(2, 1, figsize=(COLUMN_WIDTH, 5.6), sharex=True)
    steps = picture.updates
    top.plot(steps, gap.true_loss, color=BLUE, lw=2.4, label=r"true loss $E(\theta_t)$")
    top.plot(steps, gap.plane_loss, color=ORANGE, lw=1.6, ls="--",
             label="loss the plane shows at the projected point")  # fmt: skip
    top.set_yscale("log")
    top.set_ylabel("loss")
    top.legend(loc="upper right", fontsize=9)
    panel_label(top, "(a) the loss along the training path")
    inner = slice(0, -1)  # the last iterate is the plane's origin: both are 0 there
    bottom.plot(steps[inner], gap.relative_gap[inner], color=VERMILLION, lw=1.8,
                label="relative gap between the two losses")  # fmt: skip
    dist = gap.projection.relative_distance
    bottom.plot(steps[inner], dist[inner], color=BLUE, lw=1.4, ls=":",
                label=r"distance from the plane / $\|\theta_t - \theta_T\|$")  # fmt: skip
    bottom.set_yscale("log")
    bottom.set_xlabel("weight updates")
    bottom.set_ylabel("relative size")
    bottom.legend(loc="lower left", fontsize=9)
    panel_label(bottom, "(b) how far the picture is off")
    return fig


def plot_interpolation(picture: TrainingPicture) -> Figure:
    """The loss on the straight line from the initial to the final weights, and along training.

    The training path's loss is drawn against the fraction of the updates made, so both
    curves run from the initial weights (0) to the final ones (1).
    """
    check_instance(picture, TrainingPicture, "picture")
    line = picture.line
    fig, ax = new_figure(figsize=(COLUMN_WIDTH, 3.8))
    ax.plot(line.ts, line.losses, color=BLUE, lw=2.2,
            label=r"straight line $(1-t)\,\theta_0 + t\,\theta_T$")  # fmt: skip
    frac = picture.updates / picture.updates[-1]
    ax.plot(frac, picture.gap.true_loss, color=ORANGE, lw=1.6, ls="--",
            label="training path (t = fraction of updates)")  # fmt: skip
    for t, text in ((0.0, r"$\theta_0$"), (1.0, r"$\theta_T$")):
        ax.axvline(t, color="0.4", lw=0.8, ls=":")
        ax.annotate(text, (t, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -14),
                    textcoords="offset points", fontsize=10)  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlabel("$t$")
    ax.set_ylabel("loss")
    ax.legend(loc="lower left", fontsize=9)
    return fig
