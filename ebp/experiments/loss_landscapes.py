"""Experiments of the chapter "Loss landscapes in 2-D and 3-D" (Part V, issue 12).

Pictures of a network's loss in weight space, made with :mod:`ebp.landscape`, and the numbers
that say how far to trust them.  Each function returns a dataclass of NumPy data (and
:mod:`ebp.landscape` results); nothing here draws (see :mod:`ebp.plots.loss_landscapes` and
:mod:`ebp.plots.landscape`).  Everything runs in float64, seeded, on one thread.

- :func:`two_weight_slice`: the paper's 1-1-1 network (Figs 13–14), every parameter fixed but
  the two weights: the exact loss over them, and the path gradient descent takes on it.
- :func:`rescaling`: one ReLU network in two parameterizations (layer 1 times ``c``, layer 2
  divided by ``c``: the same function), seen along random directions with and without filter
  normalization (Li et al., 2018).
- :func:`eigen_plane`: the plane of the Hessian's top two eigenvectors, and
  :func:`curvature_check`: the surface's second difference along a unit direction against
  ``dᵀHd``.
- :func:`training_picture`: a digits network's training path, the PCA plane of the path, the
  surface there, :func:`path_gap` (the true loss along the path against the loss the plane
  shows at the path's projected points), and the loss on the straight line from the initial
  to the final weights.
- :func:`losses_at`: the loss at arbitrary flat weight vectors (one at a time; the reference).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn as tnn

from ebp import data, landscape, train
from ebp import nn as enn
from ebp._validate import as_float_array, check_int, check_positive
from ebp.hessian import hessian_vector_product
from ebp.landscape import (
    EigenDirections,
    Interpolation,
    PCADirections,
    Projection,
    Surface,
)
from ebp.landscape._common import as_direction_matrix, as_trajectory, checked_data, n_weights
from ebp.losses import LossFn
from ebp.repro import single_threaded

__all__ = [
    "CurvatureCheck",
    "EigenPlane",
    "PathGap",
    "Rescaling",
    "TrainingPicture",
    "TwoWeightSlice",
    "curvature_check",
    "eigen_plane",
    "losses_at",
    "path_gap",
    "rescale_relu_layers",
    "rescaling",
    "training_picture",
    "two_weight_slice",
]

DTYPE = torch.float64


def _grid(span: float, n_grid: int, centre: float = 0.0) -> np.ndarray:
    return np.linspace(centre - span, centre + span, n_grid)


def losses_at(model: tnn.Module, loss: str | LossFn, X: Any, y: Any, points: Any) -> np.ndarray:
    """The loss at each row of ``points``, one weight vector at a time (the slow reference).

    A copy of ``model`` gets each flat vector (its trainable parameters, in
    ``named_parameters()`` order) with :func:`torch.nn.utils.vector_to_parameters`, and
    :func:`ebp.train.evaluate` measures it; ``model`` itself is not touched.

    Parameters
    ----------
    model, loss, X, y
        As for :func:`ebp.landscape.surface`.
    points
        ``(T, P)`` flat weight vectors (or a ``History`` with weight snapshots).

    Returns
    -------
    numpy.ndarray
        ``(T,)`` float64 losses.
    """
    W = as_trajectory(points, "points")
    if W.shape[1] != n_weights(model):
        raise ValueError(
            f"points must have one column per trainable parameter ({n_weights(model)}); got "
            f"shape {W.shape}"
        )
    work = copy.deepcopy(model)
    params = [p for p in work.parameters() if p.requires_grad]
    out = np.empty(W.shape[0])
    with torch.no_grad():
        for t, w in enumerate(W):
            vec = torch.as_tensor(w, dtype=params[0].dtype, device=params[0].device)
            torch.nn.utils.vector_to_parameters(vec, params)
            out[t] = train.evaluate(work, X, y, loss)
    return out


# ---------------------------------------------------------------------------------------------
# 1. The slice every tutorial starts with: all parameters fixed but two weights
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TwoWeightSlice:
    """The loss of the 1-1-1 network over ``(w1, w2)``, biases fixed, and a descent path."""

    surface: Surface
    """Over the weights themselves, ``origin = 0`` and the unit vectors ``e1``, ``e2``."""
    path: Projection
    """The iterates ``(w1, w2)`` of batch descent (distance from the plane: 0)."""
    path_losses: np.ndarray
    """``(T,)`` the training loss at each iterate (recorded by ``fit``)."""
    trained: np.ndarray
    """``(w1, b1, w2, b2)`` after training all four parameters (biases then held)."""
    eta: float
    epochs: int
    grid_minimum: np.ndarray
    """``(w1, w2, loss)`` at the lowest grid point."""


def _one_one_one(seed: int, train_epochs: int) -> tuple[tnn.Module, data.Dataset]:
    """The paper's 1-1-1 network, trained on all four parameters as in Figs 13–14."""
    ds = data.fig13_classes(seed=seed)
    net = enn.mlp((1, 1, 1), output_activation="lecun_tanh", dtype=DTYPE, seed=seed)
    with torch.no_grad():
        net[0].weight.fill_(0.5)
        net[2].weight.fill_(0.5)
        net[0].bias.zero_()
        net[2].bias.zero_()
    train.fit(net, ds.X, ds.y, eta=0.5, epochs=train_epochs, shuffle=False)
    return net, ds


def two_weight_slice(
    *,
    seed: int = 0,
    start: Sequence[float] = (-1.0, 2.0),
    eta: float = 0.5,
    epochs: int = 40,
    train_epochs: int = 200,
    span: float = 4.0,
    n_grid: int = 41,
) -> TwoWeightSlice:
    """The 1-1-1 network ``f(w2 f(w1 x + b1) + b2)`` of Figs 13–14, seen over its two weights.

    All four parameters are first trained by batch descent (η = 0.5 from ``w = 0.5``,
    ``b = 0``); the biases are then frozen (``requires_grad=False``), so the flat vectors of
    :mod:`ebp.landscape` are ``(w1, w2)``, and the surface over the unit vectors with origin
    0 is the exact loss at the weights on the axes.  Batch descent from ``start`` moves only
    the two weights, so its path lies in the picture exactly.

    Parameters
    ----------
    seed
        Seed of the data.
    start
        ``(w1, w2)`` where the descent starts.
    eta
        Learning rate of the descent (> 0).
    epochs, train_epochs
        Epochs of the two-weight descent and of the first four-parameter training (≥ 1).
    span
        The grid covers ``[-span, span]`` on both weights (> 0).
    n_grid
        Points per axis (≥ 3).
    """
    seed = check_int(seed, "seed", min_value=0)
    w0 = as_float_array(start, "start", shape=(2,))
    eta = check_positive(eta, "eta")
    epochs = check_int(epochs, "epochs", min_value=1)
    train_epochs = check_int(train_epochs, "train_epochs", min_value=1)
    span = check_positive(span, "span")
    n_grid = check_int(n_grid, "n_grid", min_value=3)
    with single_threaded():
        net, ds = _one_one_one(seed, train_epochs)
        trained = landscape.flatten_params(net).detach().numpy().copy()
        for layer in (net[0], net[2]):
            layer.bias.requires_grad_(False)
        with torch.no_grad():
            net[0].weight.fill_(float(w0[0]))
            net[2].weight.fill_(float(w0[1]))
        hist = train.fit(net, ds.X, ds.y, eta=eta, epochs=epochs, shuffle=False, snapshots=True)
        grid = _grid(span, n_grid)
        surf = landscape.surface(
            net, "mse", ds.X, ds.y, np.eye(2), grid, grid, origin=np.zeros(2), chunk_size=4096
        )
    i, j = np.unravel_index(np.argmin(surf.losses), surf.losses.shape)
    return TwoWeightSlice(
        surface=surf,
        path=landscape.project(hist, surf),
        path_losses=np.asarray(hist.train_loss, dtype=np.float64),
        trained=trained,
        eta=eta,
        epochs=epochs,
        grid_minimum=np.array([grid[i], grid[j], surf.losses[i, j]]),
    )


# ---------------------------------------------------------------------------------------------
# 2. Scale invariance: random directions with and without filter normalization
# ---------------------------------------------------------------------------------------------


def rescale_relu_layers(model: tnn.Sequential, c: float) -> tnn.Sequential:
    """A copy of a ``Linear, ReLU, Linear`` network with the same function, other weights.

    The first layer's weights and bias are multiplied by ``c > 0`` and the second layer's
    weights divided by it; since ``relu(c z) = c relu(z)``, the outputs do not change.
    """
    c = check_positive(c, "c")
    layers = [m for m in model if isinstance(m, tnn.Linear)]
    acts = [m for m in model if not isinstance(m, tnn.Linear)]
    if len(layers) != 2 or len(acts) != 1 or not isinstance(acts[0], tnn.ReLU):
        raise ValueError("model must be nn.Sequential(Linear, ReLU, Linear)")
    out = copy.deepcopy(model)
    first, second = (m for m in out if isinstance(m, tnn.Linear))
    with torch.no_grad():
        first.weight.mul_(c)
        first.bias.mul_(c)
        second.weight.div_(c)
    return out


@dataclass(frozen=True, eq=False)
class Rescaling:
    """One ReLU network in two parameterizations, seen along random directions."""

    c: float
    alphas: np.ndarray
    curves: dict[str, dict[str, np.ndarray]]
    """``normalize → {"original", "rescaled"} → (A,)`` loss along ``θ + α d``."""
    rise: dict[str, dict[str, float]]
    """The loss rise at ``α = 1``, ``E(θ + d) − E(θ)``."""
    curvature: dict[str, dict[str, float]]
    """The second difference at ``α = 0``, ``(E(θ + h d) − 2E(θ) + E(θ − h d))/h²``."""
    loss: float
    """The (common) loss at the centre."""
    output_gap: float
    """Max ``|f(x) − f_c(x)|`` over the data: the two networks compute the same function."""


def _train_relu(hidden: int, n: int, epochs: int, eta: float, seed: int):
    ds = data.two_gaussians(n, seed=seed)
    net = enn.mlp((2, hidden, 1), activation="relu", init="lecun_normal", dtype=DTYPE, seed=seed)
    train.fit(net, ds.X, ds.y, eta=eta, epochs=epochs, shuffle=False)
    return net, ds


def rescaling(
    *,
    c: float = 4.0,
    hidden: int = 8,
    n: int = 100,
    epochs: int = 100,
    eta: float = 0.2,
    seed: int = 0,
    alphas: Any = None,
    h: float = 1e-3,
) -> Rescaling:
    """Random-direction pictures of a ReLU network before and after a rescaling of its layers.

    A 2-``hidden``-1 ReLU network is trained on :func:`ebp.data.two_gaussians` (batch
    descent); :func:`rescale_relu_layers` makes the same function with the first layer ``c``
    times larger and the second ``c`` times smaller.  Each network is seen along its own random
    direction drawn with the same seed, un-normalized (``"none"``) and filter-normalized
    (``"filter"``, biases left out).

    Parameters
    ----------
    c
        The rescaling factor (> 0).
    hidden, n, epochs, eta, seed
        Hidden units, patterns, epochs and rate of the training, and the seed of data, weights
        and directions.
    alphas
        Grid along the direction (default: 41 points on ``[-1, 1]``).
    h
        Step of the second difference (> 0).
    """
    c = check_positive(c, "c")
    hidden = check_int(hidden, "hidden", min_value=1)
    n = check_int(n, "n", min_value=2)
    epochs = check_int(epochs, "epochs", min_value=1)
    eta = check_positive(eta, "eta")
    seed = check_int(seed, "seed", min_value=0)
    a = np.linspace(-1.0, 1.0, 41) if alphas is None else as_float_array(alphas, "alphas", ndim=1)
    h = check_positive(h, "h")
    curves: dict[str, dict[str, np.ndarray]] = {}
    rise: dict[str, dict[str, float]] = {}
    curv: dict[str, dict[str, float]] = {}
    with single_threaded():
        net, ds = _train_relu(hidden, n, epochs, eta, seed)
        nets = {"original": net, "rescaled": rescale_relu_layers(net, c)}
        with torch.no_grad():
            X = torch.as_tensor(ds.X, dtype=DTYPE)
            gap = float((nets["original"](X) - nets["rescaled"](X)).abs().max())
        for norm in ("none", "filter"):
            curves[norm], rise[norm], curv[norm] = {}, {}, {}
            for name, m in nets.items():
                d = landscape.random_direction(m, normalize=norm, seed=seed)
                curves[norm][name] = landscape.surface(m, "mse", ds.X, ds.y, d, a).losses
                ends = landscape.surface(m, "mse", ds.X, ds.y, d, [-h, 0.0, h, 1.0]).losses
                rise[norm][name] = float(ends[3] - ends[1])
                curv[norm][name] = float((ends[0] - 2 * ends[1] + ends[2]) / h**2)
        loss = train.evaluate(net, ds.X, ds.y, "mse")
    return Rescaling(
        c=c, alphas=a, curves=curves, rise=rise, curvature=curv, loss=loss, output_gap=gap
    )


# ---------------------------------------------------------------------------------------------
# 3. The plane of the Hessian's top two eigenvectors, where the picture can be checked
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CurvatureCheck:
    """The surface's curvature along unit directions against ``dᵀHd``."""

    second_difference: np.ndarray
    """``(k,)`` ``(E(θ + h d) − 2E(θ) + E(θ − h d))/h²`` from :func:`ebp.landscape.surface`."""
    dHd: np.ndarray
    """``(k,)`` ``dᵀHd`` from :func:`ebp.hessian.hessian_vector_product`."""
    relative_difference: np.ndarray
    """``(k,)`` ``|second difference − dᵀHd| / |dᵀHd|``."""
    h: float


def curvature_check(
    model: tnn.Module, loss: str | LossFn, X: Any, y: Any, directions: Any, *, h: float = 1e-3
) -> CurvatureCheck:
    """Second differences of the loss surface at the model's weights against ``dᵀHd``.

    Each direction is scaled to unit length first.  The central second difference has error
    ``h² E''''/12``, plus rounding of order ``ε E/h²``: ``h = 1e-3`` in float64 leaves both far
    below ``1e-4`` of ``dᵀHd`` on the book's networks.

    Parameters
    ----------
    model, loss, X, y
        As for :func:`ebp.landscape.surface` (float64 recommended).
    directions
        One or more flat vectors (or a result with ``directions``).
    h
        Step of the second difference (> 0).
    """
    h = check_positive(h, "h")
    D = as_direction_matrix(directions, n_weights(model))
    norms = np.linalg.norm(D, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("directions must be non-zero")
    D = D / norms
    _, _, Xt, yt = checked_data(model, loss, X, y)
    second, dhd = [], []
    for d in D:
        ends = landscape.surface(model, loss, X, y, d, [-h, 0.0, h]).losses
        second.append((ends[0] - 2 * ends[1] + ends[2]) / h**2)
        dt = torch.as_tensor(d, dtype=Xt.dtype, device=Xt.device)
        Hd = hessian_vector_product(model, dt, loss, (Xt, yt))
        dhd.append(float(dt @ Hd.detach()))
    second_a, dhd_a = np.array(second), np.array(dhd)
    return CurvatureCheck(
        second_difference=second_a,
        dHd=dhd_a,
        relative_difference=np.abs(second_a - dhd_a) / np.abs(dhd_a),
        h=h,
    )


@dataclass(frozen=True, eq=False)
class EigenPlane:
    """The loss in the plane of the Hessian's top two eigenvectors at a trained network."""

    surface: Surface
    eigen: EigenDirections
    check: CurvatureCheck
    loss: float
    gradient_norm: float
    """``‖∇E‖`` at the centre (how close to a stationary point it is)."""
    model: tnn.Module
    """The trained network (for further checks, e.g. :func:`curvature_check` with other ``h``)."""
    X: np.ndarray
    y: np.ndarray


def eigen_plane(
    *,
    hidden: int = 4,
    n: int = 100,
    epochs: int = 300,
    eta: float = 0.5,
    seed: int = 0,
    span: float = 1.0,
    n_grid: int = 41,
    h: float = 1e-3,
) -> EigenPlane:
    """A trained 2-``hidden``-1 tanh network seen in the plane of its top two eigenvectors.

    The network (the paper's ``1.7159 tanh(2x/3)``, LeCun initialization, float64) is trained
    by batch descent on :func:`ebp.data.two_gaussians`; :func:`ebp.landscape.eigen_directions`
    gives the plane, and :func:`curvature_check` compares the surface's second differences
    along the two eigenvectors with ``dᵀHd``.

    Parameters
    ----------
    hidden, n, epochs, eta, seed
        Hidden units, patterns, epochs, rate and seed of the training.
    span
        The grid covers ``[-span, span]`` along both unit eigenvectors (> 0).
    n_grid
        Points per axis (≥ 3).
    h
        Step of the second difference (> 0).
    """
    hidden = check_int(hidden, "hidden", min_value=1)
    n = check_int(n, "n", min_value=2)
    epochs = check_int(epochs, "epochs", min_value=1)
    eta = check_positive(eta, "eta")
    seed = check_int(seed, "seed", min_value=0)
    span = check_positive(span, "span")
    n_grid = check_int(n_grid, "n_grid", min_value=3)
    h = check_positive(h, "h")
    with single_threaded():
        ds = data.two_gaussians(n, seed=seed)
        net = enn.mlp((2, hidden, 1), dtype=DTYPE, seed=seed)
        hist = train.fit(net, ds.X, ds.y, eta=eta, epochs=epochs, shuffle=False)
        eig = landscape.eigen_directions(net, "mse", ds.X, ds.y, 2, seed=seed)
        grid = _grid(span, n_grid)
        surf = landscape.surface(net, "mse", ds.X, ds.y, eig, grid, grid, chunk_size=4096)
        check = curvature_check(net, "mse", ds.X, ds.y, eig, h=h)
    return EigenPlane(
        surface=surf,
        eigen=eig,
        check=check,
        loss=float(hist.train_loss[-1]),
        gradient_norm=float(hist.grad_norm[-1]),
        model=net,
        X=ds.X,
        y=ds.y,
    )


# ---------------------------------------------------------------------------------------------
# 4–5. A training path in its PCA plane: how much the picture leaves out; init → solution
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PathGap:
    """The true loss along a path against the loss the plane shows at its projected points."""

    true_loss: np.ndarray
    """``(T,)`` ``E(θ_t)``."""
    plane_loss: np.ndarray
    """``(T,)`` ``E(origin + c_t D)``, ``c_t`` the least-squares coordinates of ``θ_t``."""
    relative_gap: np.ndarray
    """``(T,)`` ``|plane_loss − true_loss| / true_loss``."""
    projection: Projection
    max_relative_gap: float
    median_relative_gap: float


def path_gap(
    model: tnn.Module,
    loss: str | LossFn,
    X: Any,
    y: Any,
    trajectory: Any,
    directions: Any,
    origin: Any = None,
) -> PathGap:
    """How far the loss a landscape plot shows along a path is from the path's real loss.

    A plot in a plane draws the path at its projected coordinates ``c_t``
    (:func:`ebp.landscape.project`) on a surface whose height there is
    ``E(origin + c_t D)``; the iterate's loss is ``E(θ_t)``.  The two agree where the path lies
    in the plane, and differ by what the part of ``θ_t`` off the plane does to the loss.

    Parameters
    ----------
    model, loss, X, y
        As for :func:`ebp.landscape.surface`.
    trajectory
        ``(T, P)`` flat weight vectors, or a ``History`` with weight snapshots.
    directions, origin
        As for :func:`ebp.landscape.project` (e.g. :func:`ebp.landscape.pca_directions`).
    """
    W = as_trajectory(trajectory)
    proj = landscape.project(W, directions, origin)
    in_plane = proj.origin + proj.coords @ proj.directions
    true = losses_at(model, loss, X, y, W)
    shown = losses_at(model, loss, X, y, in_plane)
    scale = np.abs(true)
    rel = np.divide(np.abs(shown - true), scale, out=np.zeros_like(true), where=scale > 0)
    return PathGap(
        true_loss=true,
        plane_loss=shown,
        relative_gap=rel,
        projection=proj,
        max_relative_gap=float(rel.max()),
        median_relative_gap=float(np.median(rel)),
    )


@dataclass(frozen=True, eq=False)
class TrainingPicture:
    """A digits network's training path, its PCA plane, the surface there, and the gaps."""

    sizes: tuple[int, ...]
    n_train: int
    presentations: np.ndarray
    """``(T,)`` patterns presented at each snapshot."""
    updates: np.ndarray
    """``(T,)`` weight updates made at each snapshot."""
    pca: PCADirections
    surface: Surface
    """Over the PCA plane, centred at the final weights."""
    path: Projection
    gap: PathGap
    line: Interpolation
    """The loss on the straight line from the initial (t = 0) to the final (t = 1) weights."""


def _pca_grid(coords: np.ndarray, margin: float, n_grid: int) -> list[np.ndarray]:
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    pad = margin * (hi - lo)
    return [np.linspace(lo[k] - pad[k], hi[k] + pad[k], n_grid) for k in range(2)]


def training_picture(
    *,
    sizes: Sequence[int] = (64, 16, 10),
    n_train: int = 300,
    epochs: int = 20,
    batch_size: int = 30,
    eta: float = 0.1,
    seed: int = 0,
    n_grid: int = 41,
    margin: float = 0.25,
    ts: Any = None,
) -> TrainingPicture:
    """Train a tanh network on digits by mini-batch SGD and look at its path.

    Cross-entropy on ``n_train`` of :func:`ebp.data.digits` (standardized pixels); a snapshot
    every two updates.  The PCA plane of the snapshots (:func:`ebp.landscape.pca_directions`,
    centred at the final weights), the surface over it, the path's projection,
    :func:`path_gap`, and :func:`ebp.landscape.interpolate` from the initial to the final
    weights (``ts`` default: 61 points on ``[-0.25, 1.25]``).

    Parameters
    ----------
    sizes
        Layer widths, 64 inputs first and 10 outputs last.
    n_train, epochs, batch_size, eta, seed
        The training set's size and the training (seed of split, weights and shuffling).
    n_grid
        Grid points per axis (≥ 3).
    margin
        The grid extends beyond the path's projection by this fraction of its extent (≥ 0).
    ts
        Positions on the line from the initial to the final weights.
    """
    sizes = tuple(check_int(s, f"sizes[{i}]", min_value=1) for i, s in enumerate(sizes))
    if len(sizes) < 2 or sizes[0] != 64 or sizes[-1] != 10:
        raise ValueError(f"sizes must run from 64 inputs to 10 outputs; got {sizes}")
    n_train = check_int(n_train, "n_train", min_value=10)
    epochs = check_int(epochs, "epochs", min_value=1)
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    eta = check_positive(eta, "eta")
    seed = check_int(seed, "seed", min_value=0)
    n_grid = check_int(n_grid, "n_grid", min_value=3)
    margin = check_positive(margin, "margin", allow_zero=True)
    t = np.linspace(-0.25, 1.25, 61) if ts is None else as_float_array(ts, "ts", ndim=1)
    with single_threaded():
        split = data.digits(n_train=n_train, seed=seed, standardize=True)
        X, y = split.X_train, split.y_train
        net = enn.mlp(sizes, dtype=DTYPE, seed=seed)
        hist = train.fit(
            net, X, y, loss="cross_entropy", eta=eta, epochs=epochs, batch_size=batch_size,
            seed=seed, snapshots=True, record_every=2 * batch_size,
        )  # fmt: skip
        W = np.stack(hist.weights)
        pca = landscape.pca_directions(W, n=2)
        path = landscape.project(W, pca)
        alphas, betas = _pca_grid(path.coords, margin, n_grid)
        surf = landscape.surface(net, "cross_entropy", X, y, pca, alphas, betas, origin=pca.origin)
        gap = path_gap(net, "cross_entropy", X, y, W, pca)
        line = landscape.interpolate(net, "cross_entropy", X, y, W[0], W[-1], t)
    presentations = np.asarray(hist.presentations)
    return TrainingPicture(
        sizes=sizes,
        n_train=n_train,
        presentations=presentations,
        updates=np.ceil(presentations / batch_size).astype(int),
        pca=pca,
        surface=surf,
        path=landscape.project(W, surf),
        gap=gap,
        line=line,
    )
