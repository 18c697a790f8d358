"""Figures of loss landscapes and weight trajectories (:mod:`ebp.landscape`).

Each function draws result objects of :mod:`ebp.landscape` (a :class:`~ebp.landscape.Surface`,
a :class:`~ebp.landscape.Projection`, :class:`~ebp.landscape.PCADirections`, an
:class:`~ebp.landscape.Interpolation`) or a training :class:`~ebp.history.History`, and returns
the ``Figure``; none computes anything beyond what display needs (contour levels, the height of
a path lifted onto a drawn surface).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib import colors as mcolors
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy.interpolate import RegularGridInterpolator

from ebp._validate import as_float_array, check_instance, check_int, describe
from ebp.history import History
from ebp.landscape import Interpolation, PCADirections, Projection, Surface
from ebp.plots.style import (
    BLACK,
    BLUE,
    COLUMN_WIDTH,
    PALETTE,
    VERMILLION,
    new_figure,
)

__all__ = [
    "plot_contour",
    "plot_loss_curves",
    "plot_pca_trajectory",
    "plot_pca_trajectory_3d",
    "plot_surface_3d",
]


def _check_surface_2d(surface: Surface) -> None:
    check_instance(surface, Surface, "surface")
    if surface.ndim != 2:
        raise ValueError("surface must be a 2-D surface (computed with betas); got a 1-D one")


def _check_path(path: Projection | None, surface: Surface) -> None:
    if path is None:
        return
    check_instance(path, Projection, "path")
    same = (
        path.directions.shape == surface.directions.shape
        and np.allclose(path.directions, surface.directions)
        and np.allclose(path.origin, surface.origin)
    )
    if not same:
        raise ValueError(
            "path must be projected on the surface's own directions and origin: "
            "project(trajectory, surface)"
        )


def _levels(losses: np.ndarray, n: int) -> tuple[np.ndarray, Any]:
    lo, hi = float(np.min(losses)), float(np.max(losses))
    if lo > 0 and hi / lo > 10:  # spans decades: geometric levels, log colours
        return np.geomspace(lo, hi, n), mcolors.LogNorm(lo, hi)
    if hi == lo:
        hi = lo + 1.0
    return np.linspace(lo, hi, n), None


def _mark_ends(ax: Axes, x: np.ndarray, y: np.ndarray, z: np.ndarray | None = None) -> None:
    """The path's start and end as labelled markers (for the legend)."""
    ends = [(0, "o", "start", BLUE), (-1, "*", "end", VERMILLION)]
    for i, marker, label, color in ends:
        pts = (x[i], y[i]) if z is None else (x[i], y[i], z[i])
        ax.plot(*[[v] for v in pts], marker, color=color, ms=11, mec=BLACK, label=label, zorder=5)


def plot_contour(
    surface: Surface,
    path: Projection | None = None,
    *,
    levels: int = 20,
    labels: tuple[str, str] = (r"$\alpha$ (direction 1)", r"$\beta$ (direction 2)"),
) -> Figure:
    """Contours of a 2-D loss surface, with a trajectory projected on its plane.

    Parameters
    ----------
    surface
        From :func:`ebp.landscape.surface` with two directions.
    path
        Optional: ``project(trajectory, surface)``, drawn as a line from its start (circle) to
        its end (star).
    levels
        Number of contour levels (geometric when the losses span more than a decade).
    labels
        Axis labels.
    """
    _check_surface_2d(surface)
    _check_path(path, surface)
    levels = check_int(levels, "levels", min_value=2)
    fig, ax = new_figure(figsize=(COLUMN_WIDTH, 5.0))
    lv, norm = _levels(surface.losses, levels)
    A, B = np.meshgrid(surface.alphas, surface.betas, indexing="ij")
    filled = ax.contourf(A, B, surface.losses, levels=lv, norm=norm, cmap="viridis")
    ax.contour(A, B, surface.losses, levels=lv, colors="white", linewidths=0.5, alpha=0.6)
    bar = fig.colorbar(filled, ax=ax)
    ticks = lv[:: max(1, len(lv) // 6)]
    bar.ax.minorticks_off()
    bar.set_ticks(ticks, labels=[f"{t:.3g}" for t in ticks])
    bar.set_label("loss" + (" (log scale)" if norm is not None else ""))
    if path is not None:
        x, y = path.coords[:, 0], path.coords[:, 1]
        ax.plot(x, y, "-", color=VERMILLION, lw=1.6, marker=".", ms=4, label="trajectory")
        _mark_ends(ax, x, y)
        ax.legend(loc="upper right", frameon=True)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.grid(False)
    return fig


def plot_surface_3d(
    surface: Surface,
    path: Projection | None = None,
    *,
    path_losses: Any = None,
    labels: tuple[str, str] = (r"$\alpha$", r"$\beta$"),
) -> Figure:
    """A 2-D loss surface as a 3-D plot, optionally with a trajectory on it.

    Parameters
    ----------
    surface
        From :func:`ebp.landscape.surface` with two directions.
    path
        Optional: ``project(trajectory, surface)``.  Drawn at the heights ``path_losses`` if
        given (e.g. the loss at each iterate), else lifted onto the drawn surface (its
        interpolated height at the projected coordinates; points off the grid are left out).
    path_losses
        ``(T,)`` heights of the path's points.
    labels
        Labels of the two horizontal axes.
    """
    _check_surface_2d(surface)
    _check_path(path, surface)
    fig, ax = new_figure(figsize=(COLUMN_WIDTH, 5.0), subplot_kw={"projection": "3d"})
    A, B = np.meshgrid(surface.alphas, surface.betas, indexing="ij")
    ax.plot_surface(A, B, surface.losses, cmap="viridis", linewidth=0, alpha=0.85)
    if path is not None:
        T = path.coords.shape[0]
        if path_losses is None:
            lift = RegularGridInterpolator(
                (surface.alphas, surface.betas), surface.losses, bounds_error=False
            )
            z = lift(path.coords[:, :2])
        else:
            z = as_float_array(path_losses, "path_losses", shape=(T,))
        x, y = path.coords[:, 0], path.coords[:, 1]
        ax.plot(x, y, z, "-", color=VERMILLION, lw=2.0, label="trajectory", zorder=4)
        _mark_ends(ax, x, y, z)
        ax.legend(loc="upper left")
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_zlabel("loss")
    return fig


def _pca_label(pca: PCADirections, j: int) -> str:
    return f"PC{j + 1} ({100 * pca.explained_variance_ratio[j]:.1f} % of variance)"


def _check_pca_path(projection: Projection, pca: PCADirections, k: int) -> None:
    check_instance(projection, Projection, "projection")
    check_instance(pca, PCADirections, "pca")
    if projection.coords.shape[1] < k or pca.directions.shape[0] < k:
        raise ValueError(
            f"projection must have at least {k} coordinates and pca {k} directions; got "
            f"{projection.coords.shape[1]} and {pca.directions.shape[0]}"
        )


def plot_pca_trajectory(projection: Projection, pca: PCADirections) -> Figure:
    """A weight trajectory in the plane of its first two principal directions.

    Parameters
    ----------
    projection
        ``project(trajectory, pca)``.
    pca
        ``pca_directions(trajectory, n)`` with ``n ≥ 2``; the axes give the share of the
        trajectory's variance each direction explains.
    """
    _check_pca_path(projection, pca, 2)
    fig, ax = new_figure(figsize=(COLUMN_WIDTH, 4.8))
    x, y = projection.coords[:, 0], projection.coords[:, 1]
    ax.plot(x, y, "-", color=BLACK, lw=1.4, marker=".", ms=5, label="iterates")
    _mark_ends(ax, x, y)
    ax.set_xlabel(_pca_label(pca, 0))
    ax.set_ylabel(_pca_label(pca, 1))
    ax.legend(loc="best")
    return fig


def plot_pca_trajectory_3d(projection: Projection, pca: PCADirections) -> Figure:
    """A weight trajectory in the space of its first three principal directions.

    Parameters
    ----------
    projection
        ``project(trajectory, pca)`` with ``pca`` of ``n ≥ 3`` directions.
    pca
        ``pca_directions(trajectory, n)`` with ``n ≥ 3``.
    """
    _check_pca_path(projection, pca, 3)
    fig, ax = new_figure(figsize=(COLUMN_WIDTH, 5.2), subplot_kw={"projection": "3d"})
    x, y, z = (projection.coords[:, j] for j in range(3))
    ax.plot(x, y, z, "-", color=BLACK, lw=1.4, marker=".", ms=5, label="iterates")
    _mark_ends(ax, x, y, z)
    ax.set_xlabel(f"PC1 ({100 * pca.explained_variance_ratio[0]:.1f} %)", labelpad=8)
    ax.set_ylabel(f"PC2 ({100 * pca.explained_variance_ratio[1]:.1f} %)", labelpad=8)
    ax.set_zlabel(f"PC3 ({100 * pca.explained_variance_ratio[2]:.1f} %)", labelpad=8)
    ax.legend(loc="upper left")
    return fig


def _curve(value: Any, name: str) -> tuple[np.ndarray, np.ndarray, str]:
    """``(x, loss, x label)`` of one curve."""
    if isinstance(value, History):
        return np.asarray(value.epoch), np.asarray(value.train_loss), "epoch"
    if isinstance(value, Interpolation):
        return value.ts, value.losses, "$t$ (0: $\\theta_a$, 1: $\\theta_b$)"
    if isinstance(value, Surface):
        if value.ndim != 1:
            raise ValueError(f"{name} must be a 1-D surface (no betas); got a 2-D one")
        return value.alphas, value.losses, r"$\alpha$"
    y = as_float_array(value, name, ndim=1)
    return np.arange(y.size, dtype=float), y, "step"


def plot_loss_curves(
    curves: Mapping[str, Any], *, log: bool = True, xlabel: str | None = None
) -> Figure:
    """Loss curves, one per entry, on a log scale.

    Parameters
    ----------
    curves
        ``label → curve``: a training :class:`~ebp.history.History` (its training loss by
        epoch), an :class:`~ebp.landscape.Interpolation` (loss against ``t``), a 1-D
        :class:`~ebp.landscape.Surface` (loss against ``α``), or a 1-D array (against its
        index).
    log
        Log scale for the loss (the default; needs positive losses).
    xlabel
        The x-axis label; default from the curves' kind (``"position"`` if they differ).
    """
    if not isinstance(curves, Mapping) or not curves:
        raise TypeError(f"curves must be a non-empty mapping label → curve; got {describe(curves)}")
    if not isinstance(log, bool):
        raise TypeError(f"log must be a bool; got {type(log).__name__}")
    fig, ax = new_figure(figsize=(COLUMN_WIDTH, 4.0))
    kinds = set()
    for i, (label, value) in enumerate(curves.items()):
        x, y, kind = _curve(value, f"curves[{label!r}]")
        if log and np.any(y <= 0):
            raise ValueError(f"curves[{label!r}] has losses <= 0; pass log=False to draw them")
        ax.plot(x, y, color=PALETTE[i % len(PALETTE)], label=str(label))
        kinds.add(kind)
    if log:
        ax.set_yscale("log")
    if xlabel is None:  # curves of different kinds share no x-axis name
        xlabel = kinds.pop() if len(kinds) == 1 else "position"
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    ax.legend(loc="best")
    return fig
