"""What every function of :mod:`ebp.landscape` checks: models, data, flat vectors, trajectories.

A *flat vector* lists the model's trainable parameters (``requires_grad``) in
``named_parameters()`` order, as :func:`ebp.hessian.flatten_params` does; frozen parameters and
buffers stay at the model's values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ebp._training_mode import warn_if_stochastic as shared_warn_if_stochastic
from ebp._validate import as_float_array, as_tensor, check_int, describe
from ebp.hessian import flatten_params
from ebp.history import History
from ebp.losses import (
    LossFn,
    as_inputs,
    as_targets,
    check_against_output,
    check_finite_parameters,
    check_model,
    get_loss,
    loss_name,
    model_output,
    trainable_parameters,
)

__all__ = [
    "as_direction_matrix",
    "as_trajectory",
    "check_bool",
    "check_landscape_model",
    "check_n",
    "checked_data",
    "flat_vector",
    "n_weights",
    "origin_vector",
    "warn_if_stochastic",
]


def check_bool(value: Any, name: str) -> bool:
    """``value`` if it is a ``bool``, else ``TypeError`` naming ``name``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool; got {type(value).__name__} {describe(value)}")
    return bool(value)


def check_landscape_model(model: Any) -> nn.Module:
    """``model`` if it is an ``nn.Module`` with finite floating trainable parameters."""
    check_model(model)
    params = trainable_parameters(model)
    if not all(p.is_floating_point() for p in params):
        raise TypeError("model parameters must be floating point")
    check_finite_parameters(model)
    return model


def n_weights(model: nn.Module) -> int:
    """The length of the model's flat vectors (its trainable parameter entries)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def flat_vector(value: Any, name: str, model: nn.Module) -> Tensor:
    """``value`` as a finite flat vector of the model's length, dtype and device (a copy)."""
    p = next(p for p in model.parameters() if p.requires_grad)
    n = n_weights(model)
    if isinstance(value, Tensor):
        value = value.detach()
    t = as_tensor(value, name, ndim=1, dtype=p.dtype, device=p.device)
    if t.shape[0] != n:
        raise ValueError(
            f"{name} must have one entry per trainable parameter of the model ({n}); got "
            f"shape {tuple(t.shape)}"
        )
    return t.clone()


def origin_vector(origin: Any, model: nn.Module) -> Tensor:
    """The model's flat weights (``origin=None``) or ``origin`` checked as a flat vector."""
    if origin is None:
        return flatten_params(model).clone()
    return flat_vector(origin, "origin", model)


def as_direction_matrix(directions: Any, n: int, name: str = "directions") -> np.ndarray:
    """Directions as a float64 ``(k, n)`` array.

    Accepts one flat vector ``(n,)``, a ``(k, n)`` array or tensor, a sequence of flat
    vectors, or a result with a ``directions`` attribute (:class:`PCADirections`,
    :class:`EigenDirections`, :class:`Surface`).
    """
    if hasattr(directions, "directions") and not isinstance(directions, (Tensor, np.ndarray)):
        directions = directions.directions
    if isinstance(directions, (list, tuple)) and directions:
        if all(isinstance(d, Tensor) for d in directions):
            directions = torch.stack([d.detach().reshape(-1).cpu() for d in directions])
    if isinstance(directions, Tensor):
        directions = directions.detach().cpu()
    D = as_float_array(directions, name)
    if D.ndim == 1:
        D = D[None, :]
    if D.ndim != 2:
        raise ValueError(
            f"{name} must be one flat vector ({n},) or a (k, {n}) array of them; got shape "
            f"{D.shape}"
        )
    if D.shape[1] != n or D.shape[0] == 0:
        raise ValueError(
            f"{name} must have {n} entries per direction (one per trainable parameter); got "
            f"shape {D.shape}"
        )
    return D


def as_trajectory(trajectory: Any, name: str = "trajectory") -> np.ndarray:
    """A trajectory as a float64 ``(T, P)`` array of flat weight vectors.

    Accepts an array or tensor ``(T, P)``, a sequence of flat vectors, or an
    :class:`ebp.history.History` recorded with ``snapshots=True`` (``ebp.train.fit``).
    """
    if isinstance(trajectory, History):
        if not trajectory.weights:
            raise ValueError(
                f"{name} is a History without weight snapshots; train with "
                "ebp.train.fit(..., snapshots=True) to record them"
            )
        trajectory = np.stack(trajectory.weights)
    if isinstance(trajectory, (list, tuple)) and trajectory:
        if all(isinstance(t, Tensor) for t in trajectory):
            trajectory = torch.stack([t.detach().reshape(-1).cpu() for t in trajectory])
    if isinstance(trajectory, Tensor):
        trajectory = trajectory.detach().cpu()
    W = as_float_array(trajectory, name)
    if W.ndim != 2:
        raise ValueError(
            f"{name} must be 2-dimensional, (T, P): one flat weight vector per row; got shape "
            f"{W.shape}"
        )
    if W.shape[0] < 1 or W.shape[1] < 1:
        raise ValueError(f"{name} must have at least one row and one column; got shape {W.shape}")
    return W


def check_n(n: Any, low: int, high: int, why: str) -> int:
    """``n`` as an int in ``[low, high]``; ``why`` says where ``high`` comes from."""
    n = check_int(n, "n", min_value=low)
    if n > high:
        raise ValueError(f"n must be <= {high} ({why}); got {n}")
    return n


def _embeds(model: nn.Module) -> bool:
    return any(isinstance(m, (nn.Embedding, nn.EmbeddingBag)) for m in model.modules())


def checked_data(
    model: nn.Module, loss: Any, X: Any, y: Any
) -> tuple[LossFn, str | None, Tensor, Tensor]:
    """``(loss_fn, loss_name, X, y)``: the loss and the data as tensors the model takes.

    ``X`` and ``y`` are checked against the model with :func:`ebp.losses.as_inputs`,
    :func:`ebp.losses.as_targets` and one forward pass on two patterns (buffers restored).
    """
    if loss is None:
        raise TypeError(
            "loss is required: a loss name such as 'mse' (the paper's (1/P) Σ_p ½‖d − o‖², "
            "K/2 times nn.MSELoss()) or a callable loss(output, target)"
        )
    name = loss_name(loss)
    fn = get_loss(loss)
    p = next(p for p in model.parameters() if p.requires_grad)
    Xt = as_inputs(X, "X", p.dtype, p.device, model=model, ndim=None, keep_integer=_embeds(model))
    yt = as_targets(y, "y", name, Xt.shape[0], p.dtype, p.device)
    with torch.no_grad():
        out = model_output(model, Xt[:2], "X", keep_buffers=True, shape=tuple(Xt.shape))
    check_against_output(out, yt, "y", name)
    return fn, name, Xt, yt


def warn_if_stochastic(model: nn.Module) -> None:
    """Warn when dropout or batch-norm layers are in training mode (nothing is switched)."""
    shared_warn_if_stochastic(
        model,
        "the loss is evaluated in that mode (batch statistics, random dropout), so it is not "
        "the loss of model.eval()",
        stacklevel=3,
    )
