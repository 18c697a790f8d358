"""The loss over a grid of weight vectors: 1-D and 2-D surfaces, and straight-line interpolation.

The loss at many weight vectors ``θ`` is evaluated a chunk of points at a time: a
:func:`torch.func.vmap` over the points of ``functional_call(model, θ, X)`` and the loss, so a
chunk of ``chunk_size`` points costs one batched forward pass instead of ``chunk_size`` separate
ones, and memory stays bounded by ``chunk_size`` copies of the activations.  The model itself is
never touched: its weights, their ``requires_grad`` and ``.grad``, its buffers and its train/eval
mode stay as they were (``functional_call`` swaps tensors in and back; a batch-norm layer in
training mode updates copies of its running statistics, one per point, that are thrown away).
A model or a loss that ``vmap`` cannot map (data-dependent Python control flow) is evaluated
point by point instead, with the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap

from ebp._validate import as_float_array, check_positive
from ebp.landscape._common import (
    as_direction_matrix,
    check_landscape_model,
    checked_data,
    flat_vector,
    origin_vector,
    warn_if_stochastic,
)
from ebp.losses import LossFn, check_scalar_loss

__all__ = ["CHUNK_SIZE", "Interpolation", "Surface", "interpolate", "surface"]

CHUNK_SIZE: int = 64
"""Grid points evaluated in one batched forward pass by default (the memory it takes is that
many copies of the network's activations on the whole data)."""


@dataclass(frozen=True, eq=False)
class Surface:
    """The loss on a 1-D or 2-D grid around ``origin``, from :func:`surface`.

    Attributes
    ----------
    alphas : numpy.ndarray
        ``(A,)`` coordinates along the first direction.
    betas : numpy.ndarray or None
        ``(B,)`` coordinates along the second direction (``None`` for a 1-D surface).
    losses : numpy.ndarray
        ``(A,)`` or ``(A, B)``: ``losses[i, j]`` is the loss at
        ``origin + alphas[i] d₁ + betas[j] d₂``.
    origin : numpy.ndarray
        ``(P,)`` the centre ``θ`` (float64).
    directions : numpy.ndarray
        ``(k, P)`` the directions ``d₁`` (and ``d₂``), float64.
    """

    alphas: np.ndarray
    betas: np.ndarray | None
    losses: np.ndarray
    origin: np.ndarray
    directions: np.ndarray

    @property
    def ndim(self) -> int:
        """The dimension of the grid, 1 or 2."""
        return 1 if self.betas is None else 2


@dataclass(frozen=True, eq=False)
class Interpolation:
    """The loss on the straight line ``θ(t) = (1 − t) θ_a + t θ_b``, from :func:`interpolate`.

    Attributes
    ----------
    ts : numpy.ndarray
        ``(T,)`` the positions ``t`` (0 is ``θ_a``, 1 is ``θ_b``).
    losses : numpy.ndarray
        ``(T,)`` the loss at each ``θ(t)``.
    theta_a, theta_b : numpy.ndarray
        ``(P,)`` the two ends (float64).
    """

    ts: np.ndarray
    losses: np.ndarray
    theta_a: np.ndarray
    theta_b: np.ndarray


class _Evaluator:
    """The loss of ``model`` on ``(X, y)`` at flat weight vectors, a chunk at a time."""

    def __init__(self, model: nn.Module, loss: Any, X: Any, y: Any) -> None:
        self.model = check_landscape_model(model)
        self.loss_fn, self.loss_name, self.X, self.y = checked_data(model, loss, X, y)
        named = list(model.named_parameters())
        self.names = [k for k, p in named if p.requires_grad]
        self.shapes = [p.shape for _, p in named if p.requires_grad]
        self.numels = [p.numel() for _, p in named if p.requires_grad]
        self.fixed = {k: p.detach() for k, p in named if not p.requires_grad}
        self.buffers = {k: b.detach().clone() for k, b in model.named_buffers()}
        first = next(p for _, p in named if p.requires_grad)
        self.dtype, self.device = first.dtype, first.device
        self.n = sum(self.numels)

    def _loss(self, w: Tensor, buffers: dict[str, Tensor], loss_fn: LossFn) -> Tensor:
        state = {
            k: t.view(s)
            for k, t, s in zip(self.names, w.split(self.numels), self.shapes, strict=True)
        }
        state.update(self.fixed)
        state.update(buffers)
        return loss_fn(functional_call(self.model, state, (self.X,)), self.y)

    def one(self, w: Tensor) -> Tensor:
        """The loss at one flat vector (checked to be a scalar)."""
        buffers = {k: b.clone() for k, b in self.buffers.items()}
        return check_scalar_loss(self._loss(w, buffers, self.loss_fn), "loss")

    def chunk(self, W: Tensor) -> Tensor:
        """The losses at the rows of ``W`` ``(m, P)``, by one ``vmap``-ed pass."""
        m = W.shape[0]
        buffers = {k: b.unsqueeze(0).expand(m, *b.shape).clone() for k, b in self.buffers.items()}
        try:
            return vmap(lambda w, b: self._loss(w, b, self.loss_fn), randomness="different")(
                W, buffers
            )
        except (RuntimeError, NotImplementedError):  # not vmap-able: one point at a time
            return torch.stack([self.one(w) for w in W])

    def losses(
        self, points: Callable[[int, int], Tensor], count: int, chunk_size: int
    ) -> np.ndarray:
        """The losses at ``points(start, stop)`` for ``count`` points, ``chunk_size`` at once."""
        out = []
        with torch.no_grad():
            self.one(points(0, 1)[0])  # a clear error for a loss that is not a scalar
            for start in range(0, count, chunk_size):
                stop = min(count, start + chunk_size)
                out.append(self.chunk(points(start, stop)).detach())
        values = torch.cat(out).to("cpu", torch.float64).numpy()
        return values


def _check_finite(values: np.ndarray, where: Callable[[int], str]) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise FloatingPointError(
            f"the loss is not finite (NaN or Inf) at {int(bad.sum())} of {values.size} points, "
            f"first at {where(first)}: the weights there overflow the network or the loss; "
            "shrink the range, or use a float64 model"
        )


def _grid(values: Any, name: str) -> np.ndarray:
    g = as_float_array(values, name, ndim=1)
    if g.size == 0:
        raise ValueError(f"{name} must have at least one value; got none")
    if g.size > 1 and not np.all(np.diff(g) > 0):
        raise ValueError(f"{name} must be strictly increasing (a grid); got {g}")
    return g


def surface(
    model: nn.Module,
    loss: str | LossFn,
    X: Any,
    y: Any,
    directions: Any,
    alphas: Any,
    betas: Any = None,
    *,
    origin: Any = None,
    chunk_size: int = CHUNK_SIZE,
) -> Surface:
    """The loss at ``origin + α d₁`` (1-D) or ``origin + α d₁ + β d₂`` (2-D) over a grid.

    Parameters
    ----------
    model
        Any ``nn.Module``; left exactly as found.  Evaluated in its current train/eval mode
        (a warning if dropout or batch-norm layers are in training mode).
    loss
        A name of :data:`ebp.losses.LOSSES` (``"mse"`` is the paper's
        ``(1/P) Σ_p ½‖d^p − o^p‖²``, eq 28) or a callable ``loss(output, target)``.
    X, y
        The data the loss is measured on (all of it, in one batch per grid point).
    directions
        One flat vector (a 1-D surface, ``betas=None``) or two (2-D, with ``betas``): a
        ``(k, P)`` array or tensor, a sequence of flat vectors, or a result with a
        ``directions`` attribute (:func:`pca_directions`, :func:`eigen_directions`).  ``P``
        is the number of trainable parameter entries; they need not be orthogonal.
    alphas, betas
        Strictly increasing 1-D grids of coordinates along ``d₁`` and ``d₂``.
    origin
        The centre ``θ``, a flat vector; default: the model's current weights.
    chunk_size
        Grid points per batched (``vmap``-ed) forward pass.

    Returns
    -------
    Surface
        ``losses`` of shape ``(len(alphas),)`` or ``(len(alphas), len(betas))``.

    Raises
    ------
    FloatingPointError
        If the loss is not finite at some grid point (rather than a silent NaN surface).

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from ebp.landscape import random_direction, surface
    >>> from ebp.nn import mlp
    >>> model = mlp([2, 3, 1], seed=0)
    >>> X = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> y = torch.tensor([[1.0], [-1.0], [0.0]])
    >>> d1, d2 = random_direction(model, seed=1), random_direction(model, seed=2)
    >>> grid = np.linspace(-1.0, 1.0, 5)
    >>> s = surface(model, "mse", X, y, [d1, d2], grid, grid)
    >>> s.losses.shape, s.ndim
    ((5, 5), 2)
    >>> line = surface(model, "mse", X, y, d1, grid)  # 1-D: one direction
    >>> bool(np.isclose(line.losses[2], s.losses[2, 2]))  # the same centre
    True
    """
    ev = _Evaluator(model, loss, X, y)
    D = as_direction_matrix(directions, ev.n)
    a = _grid(alphas, "alphas")
    b = None if betas is None else _grid(betas, "betas")
    want = 1 if b is None else 2
    if D.shape[0] != want:
        raise ValueError(
            f"directions must hold {want} direction{'s' if want == 2 else ''} for a "
            f"{want}-D surface ({'no betas' if b is None else 'betas given'}); got "
            f"{D.shape[0]} (pass betas for two directions, none for one)"
        )
    theta = origin_vector(origin, model)
    chunk_size = check_positive(chunk_size, "chunk_size", integer=True)
    warn_if_stochastic(model)
    coef = a[:, None] if b is None else np.stack(np.meshgrid(a, b, indexing="ij"), -1)
    coef = coef.reshape(-1, want)
    Dt = torch.as_tensor(D, dtype=ev.dtype, device=ev.device)
    Ct = torch.as_tensor(coef, dtype=ev.dtype, device=ev.device)
    values = ev.losses(lambda i, j: theta + Ct[i:j] @ Dt, len(coef), chunk_size)
    _check_finite(values, lambda i: ", ".join(f"{c:g}" for c in coef[i]).join("()"))
    return Surface(
        alphas=a,
        betas=b,
        losses=values.reshape(a.size) if b is None else values.reshape(a.size, b.size),
        origin=theta.to("cpu", torch.float64).numpy(),
        directions=D,
    )


def interpolate(
    model: nn.Module,
    loss: str | LossFn,
    X: Any,
    y: Any,
    theta_a: Any,
    theta_b: Any,
    ts: Any,
    *,
    chunk_size: int = CHUNK_SIZE,
) -> Interpolation:
    """The loss on the straight line ``θ(t) = θ_a + t (θ_b − θ_a)`` between two weight vectors.

    E.g. from the initial weights to the trained ones (Goodfellow et al., 2015): a monotone
    curve says nothing stood between them.  Evaluated like :func:`surface` (batched, the model
    left as found).

    Parameters
    ----------
    model, loss, X, y
        As for :func:`surface`.
    theta_a, theta_b
        Flat weight vectors (``P`` entries, the trainable parameters in order).
    ts
        1-D positions ``t`` (0 is ``θ_a``, 1 is ``θ_b``; values outside [0, 1] extrapolate).
    chunk_size
        Points per batched forward pass.

    Returns
    -------
    Interpolation

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from ebp.hessian import flatten_params
    >>> from ebp.landscape import interpolate
    >>> from ebp.nn import mlp
    >>> X = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> y = torch.tensor([[1.0], [-1.0], [0.0]])
    >>> a = flatten_params(mlp([2, 3, 1], seed=0))
    >>> b = flatten_params(mlp([2, 3, 1], seed=1))
    >>> ts = np.linspace(0.0, 1.0, 11)
    >>> line = interpolate(mlp([2, 3, 1]), "mse", X, y, a, b, ts)
    >>> line.losses.shape
    (11,)
    """
    ev = _Evaluator(model, loss, X, y)
    a = flat_vector(theta_a, "theta_a", model)
    b = flat_vector(theta_b, "theta_b", model)
    t = as_float_array(ts, "ts", ndim=1)
    if t.size == 0:
        raise ValueError("ts must have at least one value; got none")
    chunk_size = check_positive(chunk_size, "chunk_size", integer=True)
    warn_if_stochastic(model)
    Tt = torch.as_tensor(t, dtype=ev.dtype, device=ev.device)[:, None]
    values = ev.losses(lambda i, j: a + Tt[i:j] * (b - a), t.size, chunk_size)
    _check_finite(values, lambda i: f"t = {t[i]:g}")
    return Interpolation(
        ts=t,
        losses=values,
        theta_a=a.to("cpu", torch.float64).numpy(),
        theta_b=b.to("cpu", torch.float64).numpy(),
    )
