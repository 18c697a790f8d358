"""Figures of the chapter "Weight trajectories and PCA".

They draw :mod:`ebp.experiments.weight_trajectories`' results.

The single-path pictures (PCA in 2-D and 3-D, the contour of the loss in the PCA plane, loss
curves) come from :mod:`ebp.plots.landscape`; this module adds the four paths in their common
plane, the step cosines and ``λ_max`` along the paths.  :func:`figures` draws them all.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ebp._validate import check_instance
from ebp.experiments.weight_trajectories import NAMES, WeightTrajectories
from ebp.plots import landscape as land_plots
from ebp.plots.style import (
    BLACK,
    BLUE,
    COLUMN_WIDTH,
    GREEN,
    ORANGE,
    VERMILLION,
    new_figure,
    panel_label,
)

__all__ = [
    "COLORS",
    "figures",
    "plot_common_plane",
    "plot_edge_of_stability",
    "plot_lambda_max",
    "plot_step_cosines",
]

COLORS: dict[str, str] = dict(zip(NAMES, (BLUE, ORANGE, GREEN, VERMILLION), strict=True))
"""One colour per optimizer, the same in every figure of the chapter."""


def plot_common_plane(result: WeightTrajectories) -> Figure:
    """The four paths in the plane of the first two principal directions of all of them."""
    check_instance(result, WeightTrajectories, "result")
    fig, ax = new_figure(figsize=(COLUMN_WIDTH, 4.8))
    for name, proj in result.common_paths.items():
        x, y = proj.coords[:, 0], proj.coords[:, 1]
        thin = name == NAMES[1]  # SGD: a thousand noisy steps
        ax.plot(x, y, "-", color=COLORS[name], lw=0.6 if thin else 1.6, label=name)
        ax.plot(x[-1], y[-1], "*", color=COLORS[name], ms=12, mec=BLACK, zorder=5)
    ax.plot([0], [0], "o", color="white", mec=BLACK, ms=9, zorder=6, label="common start")
    evr = 100 * result.common.pca.explained_variance_ratio
    ax.set_xlabel(f"common PC1 ({evr[0]:.1f} % of variance)")
    ax.set_ylabel(f"common PC2 ({evr[1]:.1f} %)")
    ax.legend(loc="best", title="stars: final weights", fontsize=9, title_fontsize=9)
    return fig


def plot_step_cosines(result: WeightTrajectories) -> Figure:
    """The cosine between successive steps against the epoch, one panel per optimizer, with
    the mean as a labelled dashed line."""
    check_instance(result, WeightTrajectories, "result")
    fig, axes = new_figure(2, 2, figsize=(COLUMN_WIDTH, 5.0), sharex=True, sharey=True)
    for k, (ax, name) in enumerate(zip(axes.flat, NAMES, strict=True)):
        cos = result.cosines[name]
        epoch = result.paths[name].epoch[1:-1]  # cosine t uses steps t and t + 1
        ax.plot(epoch, cos, ".", color=COLORS[name], ms=2.5 if name == NAMES[1] else 4)
        mean = float(np.nanmean(cos))
        ax.axhline(mean, color=BLACK, ls="--", lw=1.0, label=f"mean {mean:.2f}")
        ax.axhline(0.0, color="0.6", lw=0.6)
        ax.set_ylim(-1.08, 1.08)
        ax.legend(loc="lower right", fontsize=9, frameon=True, framealpha=0.9)
        panel_label(ax, f"({'abcd'[k]}) {name}")
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    for ax in axes[:, 0]:
        ax.set_ylabel("cos(step t, step t+1)")
    return fig


def plot_lambda_max(result: WeightTrajectories) -> Figure:
    """``λ_max`` along the four paths, with the stability limit ``2/η`` of batch GD (eq 38)
    as a labelled line."""
    check_instance(result, WeightTrajectories, "result")
    fig, ax = new_figure(figsize=(COLUMN_WIDTH, 3.8))
    limit = 2.0 / result.eta
    for name, lam in result.lambda_max.items():
        ax.plot(result.lambda_epoch, lam, "-o", ms=3, color=COLORS[name], label=name)
    ax.axhline(limit, color=BLACK, ls="--", lw=1.0, label=r"$2/\eta$ of batch GD")
    ax.set_ylim(top=limit + 0.4 * (limit - ax.get_ylim()[0]))
    ax.legend(loc="upper center", fontsize=9, ncol=3)
    ax.set_xlabel("epoch")
    ax.set_ylabel(r"$\lambda_{\max}$")
    return fig


def plot_edge_of_stability(result: WeightTrajectories) -> Figure:
    """Batch GD run on: ``λ_max`` against ``2/η`` (a) and the training loss (b, log scale)."""
    check_instance(result, WeightTrajectories, "result")
    fig, (ax1, ax2) = new_figure(2, 1, figsize=(COLUMN_WIDTH, 5.4), sharex=True)
    ax1.plot(result.long_epoch, result.long_lambda, "-o", ms=3, color=COLORS[NAMES[0]],
             label=r"$\lambda_{\max}$")  # fmt: skip
    ax1.axhline(2.0 / result.eta, color=BLACK, ls="--", lw=1.0, label=r"$2/\eta$")
    ax1.set_ylabel(r"$\lambda_{\max}$")
    ax1.legend(loc="lower right", fontsize=9)
    panel_label(ax1, r"(a) sharpness $\lambda_{\max}$")
    epochs = np.arange(result.long_loss.size)
    ax2.plot(epochs, result.long_loss, color=COLORS[NAMES[0]])
    ax2.set_yscale("log")
    ax2.set_ylabel("training loss")
    ax2.set_xlabel("epoch (= update) of batch GD")
    panel_label(ax2, "(b) training loss")
    return fig


def figures(result: WeightTrajectories) -> dict[str, Figure]:
    """Every figure of the chapter, by name: ``"pca-2d"``, ``"pca-3d"``, ``"contour"``,
    ``"common-plane"``, ``"loss-curves"``, ``"step-cosines"``, ``"lambda-max"``,
    ``"edge-of-stability"``."""
    check_instance(result, WeightTrajectories, "result")
    curves = {k: p.train_loss[p.at_epochs()] for k, p in result.paths.items()}
    return {
        "pca-2d": land_plots.plot_pca_trajectory(result.projection, result.pca),
        "pca-3d": land_plots.plot_pca_trajectory_3d(result.projection, result.pca),
        "contour": land_plots.plot_contour(
            result.surface, result.surface_path, labels=("PC1", "PC2")
        ),
        "common-plane": plot_common_plane(result),
        "loss-curves": land_plots.plot_loss_curves(curves, xlabel="epoch"),
        "step-cosines": plot_step_cosines(result),
        "lambda-max": plot_lambda_max(result),
        "edge-of-stability": plot_edge_of_stability(result),
    }
