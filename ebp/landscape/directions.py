"""Directions in weight space to look along: random (filter-normalized), PCA of a trajectory, and
the Hessian's top eigenvectors.

Every direction is a flat vector over the model's trainable parameters, in
``named_parameters()`` order (the order of :func:`ebp.hessian.flatten_params`, of
``ebp.train.fit``'s weight snapshots and of ``model.parameters()`` when nothing is frozen).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.decomposition import PCA
from torch import Tensor, nn

from ebp._validate import check_choice, check_int
from ebp.hessian import HessianOperator, top_eigenvalues
from ebp.hessian.eigen import WHICH
from ebp.landscape._common import (
    as_trajectory,
    check_bool,
    check_landscape_model,
    check_n,
    checked_data,
    n_weights,
)
from ebp.losses import LossFn

__all__ = [
    "NORMALIZATIONS",
    "EigenDirections",
    "PCADirections",
    "eigen_directions",
    "pca_directions",
    "random_direction",
]

NORMALIZATIONS: tuple[str, ...] = ("filter", "layer", "none")
"""The scalings of :func:`~ebp.landscape.random_direction`."""


def _scaled(d: Tensor, w: Tensor, normalize: str) -> Tensor:
    """``d`` scaled to the norms of ``w``: per slice along the first axis (``"filter"``), for
    the whole tensor (``"layer"``), or not at all (``"none"``)."""
    if normalize == "none":
        return d
    if normalize == "layer" or w.ndim <= 1:
        return d * (w.norm() / d.norm())
    rows, wr = d.reshape(d.shape[0], -1), w.reshape(w.shape[0], -1)
    return (rows * (wr.norm(dim=1) / rows.norm(dim=1))[:, None]).reshape(d.shape)


def random_direction(
    model: nn.Module,
    *,
    normalize: str = "filter",
    ignore_bias: bool = True,
    seed: int = 0,
) -> Tensor:
    """A random Gaussian direction in weight space, scaled like the weights.

    Filter normalization (Li et al., 2018, "Visualizing the loss landscape of neural nets"):
    draw ``d ~ N(0, I)``, then scale each unit's slice ``d_i`` to the norm of the same unit's
    weights, ``d_i ← d_i ‖θ_i‖ / ‖d_i‖``.  A unit is a slice along the first axis of a
    parameter of two or more dimensions: a row of an ``nn.Linear`` weight (one output unit's
    incoming weights), an output filter of an ``nn.Conv*d`` weight.  Then a step ``α d``
    changes every unit by the same fraction ``α`` of its weights, whatever the scale of the
    weights of each unit (which ReLU and batch-norm networks do not see), so surfaces of
    different networks can be compared.

    Parameters
    ----------
    model
        The network (left as found); its trainable parameters give the direction's layout.
    normalize
        ``"filter"`` (default, per unit as above), ``"layer"`` (each parameter tensor scaled
        to that tensor's norm) or ``"none"`` (the raw Gaussian).
    ignore_bias
        True (default, as Li et al.): parameters of fewer than two dimensions (biases,
        batch-norm scales and shifts) get a zero direction, so the surface moves the weights
        only.  False: they move too; each such parameter counts as one unit, its Gaussian
        slice scaled to the norm of the whole parameter (with ``"filter"`` or ``"layer"``;
        left raw with ``"none"``).  Li et al.'s code copies the parameter itself instead; we
        keep the direction random.
    seed
        Seed of the direction's own ``torch.Generator`` (the global generator is not used).
        The same seed gives the same direction on any device and dtype (it is drawn in
        float64 on the CPU, then converted).

    Returns
    -------
    torch.Tensor
        A flat vector of the model's dtype and device, one entry per trainable parameter.

    Examples
    --------
    >>> import torch
    >>> from ebp.landscape import random_direction
    >>> model = torch.nn.Linear(3, 2)
    >>> d = random_direction(model, seed=0)
    >>> d.shape  # 2 × 3 weights, then 2 biases
    torch.Size([8])
    >>> # unit 0's slice has the norm of unit 0's weights
    >>> bool(torch.isclose(d[:3].norm(), model.weight[0].norm()))
    True
    >>> d[6:]  # the biases do not move (ignore_bias=True)
    tensor([0., 0.])
    """
    check_landscape_model(model)
    normalize = check_choice(normalize, "normalize", NORMALIZATIONS)
    ignore_bias = check_bool(ignore_bias, "ignore_bias")
    seed = check_int(seed, "seed", min_value=0)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    pieces = []
    for p in params:
        w = p.detach().to("cpu", torch.float64)
        d = torch.randn(w.shape, generator=gen, dtype=torch.float64)  # drawn for every tensor
        if w.ndim <= 1 and ignore_bias:
            d = torch.zeros_like(d)
        else:
            d = _scaled(d, w, normalize)
        pieces.append(d.reshape(-1))
    return torch.cat(pieces).to(dtype=params[0].dtype, device=params[0].device)


@dataclass(frozen=True, eq=False)
class PCADirections:
    """The principal directions of a weight trajectory, from :func:`pca_directions`.

    Attributes
    ----------
    directions : numpy.ndarray
        ``(n, P)`` orthonormal rows, in order of decreasing variance.
    explained_variance_ratio : numpy.ndarray
        ``(n,)`` the fraction of the trajectory's variance (about its mean) along each.
    explained_variance : numpy.ndarray
        ``(n,)`` the variances themselves.
    origin : numpy.ndarray
        ``(P,)`` the last iterate ``θ_final``, where the plane is placed.
    """

    directions: np.ndarray
    explained_variance_ratio: np.ndarray
    explained_variance: np.ndarray
    origin: np.ndarray


def pca_directions(trajectory: Any, n: int = 2) -> PCADirections:
    """The top ``n`` principal directions of a weight trajectory (Li et al., 2018, §7).

    As Li et al. do: the matrix of the differences ``θ_t − θ_final`` (one row per iterate, the
    last row zero) is given to scikit-learn's ``PCA``.  ``PCA`` centres the rows by their mean,
    which cancels the subtraction of ``θ_final``: the directions are the principal axes of the
    iterates about their mean, and ``explained_variance_ratio`` is the share of that variance
    (1 for a trajectory that lies in an ``n``-dimensional affine subspace).  The plane is then
    placed through ``θ_final`` (``origin``), where the path ends.

    Parameters
    ----------
    trajectory
        ``(T, P)`` flat weight vectors, an array, a tensor or a list of them, or the
        :class:`ebp.history.History` of ``ebp.train.fit(..., snapshots=True)``.
    n
        How many directions: ``1 ≤ n ≤ min(T − 1, P)`` (``T`` centred iterates span at most
        ``T − 1`` dimensions).

    Returns
    -------
    PCADirections

    Examples
    --------
    A path along ``(1, 1, 0)`` with a small turn at the end:

    >>> import numpy as np
    >>> from ebp.landscape import pca_directions
    >>> path = np.array(
    ...     [[0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [2.0, 2.0, 0.0], [3.0, 3.0, 0.3]]
    ... )
    >>> pca = pca_directions(path, n=2)
    >>> np.round(np.abs(pca.directions[0]), 2)
    array([0.71, 0.71, 0.06])
    >>> pca.origin  # the plane passes through the last iterate
    array([3. , 3. , 0.3])
    """
    W = as_trajectory(trajectory)
    T, P = W.shape
    if T < 2:
        raise ValueError(f"trajectory must have at least 2 iterates (rows); got shape {W.shape}")
    n = check_n(n, 1, min(T - 1, P), f"a trajectory of {T} iterates of {P} weights")
    M = W - W[-1]
    if not np.any(M):
        raise ValueError("trajectory must move: every iterate equals the last one")
    pca = PCA(n_components=n, svd_solver="full").fit(M)
    return PCADirections(
        directions=np.asarray(pca.components_, dtype=np.float64),
        explained_variance_ratio=np.asarray(pca.explained_variance_ratio_, dtype=np.float64),
        explained_variance=np.asarray(pca.explained_variance_, dtype=np.float64),
        origin=W[-1].copy(),
    )


@dataclass(frozen=True, eq=False)
class EigenDirections:
    """Eigenvectors of the Hessian of the loss, from :func:`eigen_directions`.

    Attributes
    ----------
    directions : numpy.ndarray
        ``(n, P)`` unit eigenvectors, one per row.
    values : numpy.ndarray
        ``(n,)`` their eigenvalues, from the requested end of the spectrum inwards.
    origin : numpy.ndarray
        ``(P,)`` the weights at which the Hessian was taken.
    converged : numpy.ndarray
        ``(n,)`` booleans, from the Lanczos solver.
    """

    directions: np.ndarray
    values: np.ndarray
    origin: np.ndarray
    converged: np.ndarray


def eigen_directions(
    model: nn.Module,
    loss: str | LossFn,
    X: Any,
    y: Any,
    n: int = 2,
    *,
    which: str = "LA",
    seed: int = 0,
) -> EigenDirections:
    """The Hessian's top (or bottom) ``n`` eigenvectors at the model's weights, as directions.

    The Hessian of the loss on ``(X, y)`` (:class:`ebp.hessian.HessianOperator`), its
    eigenpairs by Lanczos (:func:`ebp.hessian.top_eigenvalues`).  Along a unit eigenvector
    ``d`` the surface's curvature at the centre is its eigenvalue: ``E(θ + α d) ≈ E(θ) +
    α ∇Eᵀd + ½ λ α²``.

    Parameters
    ----------
    model, loss, X, y
        As for :func:`surface` (the model is left as found).
    n
        How many eigenvectors, ``1 ≤ n ≤ P``.
    which
        ``"LA"`` (default: the most positive eigenvalues, the sharpest directions), ``"SA"``
        (the most negative) or ``"LM"`` (largest in magnitude).
    seed
        Seed of Lanczos's start vector.

    Returns
    -------
    EigenDirections
    """
    check_landscape_model(model)
    _, _, Xt, yt = checked_data(model, loss, X, y)
    n = check_n(n, 1, n_weights(model), "the number of trainable parameters")
    which = check_choice(which, "which", WHICH)
    seed = check_int(seed, "seed", min_value=0)
    op = HessianOperator(model, loss, (Xt, yt))
    eig = top_eigenvalues(op, n, which=which, seed=seed)
    return EigenDirections(
        directions=eig.vectors.T.detach().to("cpu", torch.float64).numpy().copy(),
        values=np.asarray(eig.values, dtype=np.float64),
        origin=op.params.to("cpu", torch.float64).numpy(),
        converged=np.asarray(eig.converged, dtype=bool),
    )
