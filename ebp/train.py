"""The PyTorch training loop of the book: plain (mini-batch) SGD that records and checks itself.

Losses
------
The losses and their conventions live in :mod:`ebp.losses` (re-exported here): every loss is a
mean over patterns, and ``"mse"`` is ``(1/P) Σ_p ½ ‖d^p − o^p‖²`` with the paper's ½, which is
``K/2`` times ``torch.nn.MSELoss()`` for ``K`` outputs.

The loop
--------
:func:`fit` shuffles with its own seeded ``torch.Generator`` (never the global RNG), updates with
``torch.optim.SGD`` (``W ← W − η ∂E/∂W``, paper eq 10), records a :class:`~ebp.history.History`
before training and after every epoch, and checks for divergence after every update.

Its options cover the tricks of §4.1, §4.2 and §4.7: presentation orders and emphasizing
(:mod:`ebp.presentation`), learning-rate schedules (:mod:`ebp.schedules`), other optimizers and
per-layer rates (:mod:`ebp.optim`), and extra recording (every ``k`` presentations, weight
snapshots, per-layer statistics).  Left at their defaults they change nothing: the run is the
plain SGD loop above, number for number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ebp._validate import check_choice, check_int, check_positive, describe
from ebp.history import DivergenceError, History, check_divergence
from ebp.losses import (
    LOSSES,
    LossFn,
    as_inputs,
    as_targets,
    bce_loss,
    check_against_output,
    check_finite_parameters,
    check_model,
    check_scalar_loss,
    cross_entropy_loss,
    expected_input_width,
    get_loss,
    loss_name,
    model_dtype_device,
    model_output,
    mse_loss,
    pattern_losses,
    trainable_parameters,
)
from ebp.optim import PaperAdaptiveRate
from ebp.presentation import ORDERS, Emphasis, EmphasisSampler, epoch_order
from ebp.schedules import Constant, Schedule, as_schedule

__all__ = [
    "LOSSES",
    "OPTIMIZERS",
    "EarlyStopping",
    "LossFn",
    "bce_loss",
    "cross_entropy_loss",
    "early_stopping_epoch",
    "evaluate",
    "fit",
    "get_loss",
    "mse_loss",
    "predict",
    "predict_classes",
]

OPTIMIZERS: tuple[str, ...] = ("sgd", "rmsprop", "adam", "adaptive")
"""Optimizer names accepted by :func:`fit` (see its ``optimizer`` argument)."""


# ---------------------------------------------------------------------------------------------
# Inputs and targets
# ---------------------------------------------------------------------------------------------


def _training_data(
    model: nn.Module,
    X: Any,
    y: Any,
    X_val: Any,
    y_val: Any,
    batch_size: Any,
    loss: str | None,
    dtype: torch.dtype,
    device: torch.device,
) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None, int]:
    """The training and validation sets as tensors, checked against ``model``'s output, and
    the mini-batch size (default: every pattern), as :func:`fit` and ``fit_many`` take them.

    The tensors are detached from any graph of the caller's (an ``X`` with ``requires_grad``
    gets no ``.grad`` from training).  The first forward pass (one pattern) goes through
    :func:`ebp.losses.model_output`, so an ``X`` or ``X_val`` the model cannot take is refused
    naming it, and a model that does not return a tensor is refused.
    """
    X = as_inputs(X, "X", dtype, device, model=model).detach()
    P = X.shape[0]
    y = as_targets(y, "y", loss, P, dtype, device).detach()
    if batch_size is None:
        batch_size = P
    batch_size = check_positive(batch_size, "batch_size", integer=True)
    if batch_size > P:
        raise ValueError(f"batch_size must be <= the number of patterns ({P}); got {batch_size}")
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be given together")
    if X_val is not None:
        X_val = as_inputs(X_val, "X_val", dtype, device, model=model).detach()
        y_val = as_targets(y_val, "y_val", loss, X_val.shape[0], dtype, device).detach()
    with torch.no_grad():
        out = model_output(model, X[:1], "X", shape=tuple(X.shape))
        check_against_output(out, y, "y", loss)
        if X_val is not None:
            check_against_output(out, y_val, "y_val", loss)
            if expected_input_width(model) is None:
                # X_val's width could not be checked against the model: try one pattern
                model_output(model, X_val[:1], "X_val", keep_buffers=True, shape=tuple(X_val.shape))
    return X, y, X_val, y_val, batch_size


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


def _outputs(model: Any, X: Any) -> Tensor:
    """``model(X)`` for :func:`evaluate` and :func:`predict`: the model and ``X`` checked
    (finite parameters, ``X``'s width), without gradients, leaving the model unchanged."""
    model = check_model(model)
    dtype, device = model_dtype_device(model)
    check_finite_parameters(model)
    X = as_inputs(X, "X", dtype, device, model=model)
    with torch.no_grad():
        return model_output(model, X, "X", keep_buffers=True)


def evaluate(model: nn.Module, X: Any, y: Any, loss: str | LossFn = "mse") -> float:
    """The loss of ``model`` on the whole set ``(X, y)``, without gradients.

    The model runs in its own mode (``model.train()``/``model.eval()`` as the caller set it)
    and is left exactly as it was: buffers such as batch-norm running statistics are restored
    after the pass.  A model with NaN/Inf parameters is refused (``ValueError``).

    Parameters
    ----------
    model
        A torch module mapping ``(P, n_in)`` to ``(P, n_out)``.
    X, y
        Inputs and targets (see :mod:`ebp.losses` for the targets each loss takes).
    loss
        A name in :data:`LOSSES` or a callable.  ``"mse"`` (the default) is
        ``(1/P) Σ_p ½ ‖d^p − o^p‖²``, with the paper's ½ and a sum over the ``K`` outputs:
        ``K/2`` times ``torch.nn.MSELoss()``, not the same number (:mod:`ebp.losses`).
    """
    name = loss_name(loss)
    fn = get_loss(loss)
    out = _outputs(model, X)
    y = as_targets(y, "y", name, out.shape[0], out.dtype, out.device)
    check_against_output(out, y, "y", name)
    with torch.no_grad():
        return float(check_scalar_loss(fn(out, y)))


def predict(model: nn.Module, X: Any) -> np.ndarray:
    """The model's outputs for ``X`` as a float64 NumPy array ``(P, n_out)``.

    As :func:`evaluate`: the model's own mode, buffers restored, NaN/Inf parameters refused.
    """
    return _outputs(model, X).detach().cpu().numpy().astype(np.float64)


def predict_classes(model: nn.Module, X: Any) -> np.ndarray:
    """Predicted class labels (int64): the largest output, or ``output > 0`` for one output.

    The threshold 0 suits a single logit (``σ(z) > ½``) and a symmetric sigmoid with ±1 targets.
    """
    out = predict(model, X)
    if out.shape[1] == 1:
        return (out[:, 0] > 0).astype(np.int64)
    return out.argmax(axis=1).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


def _batches(
    n: int, batch_size: int, shuffle: bool, generator: torch.Generator
) -> Iterator[Tensor]:
    """Index tensors of the mini-batches of one epoch (the last one may be smaller)."""
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    yield from order.split(batch_size)


def _loss_and_grad_norm(model: nn.Module, fn: LossFn, X: Tensor, y: Tensor) -> tuple[float, float]:
    """Loss on ``(X, y)`` and the norm of its gradient, leaving every ``.grad`` untouched."""
    params = [p for p in model.parameters() if p.requires_grad]
    value = check_scalar_loss(fn(model(X), y))
    if not value.requires_grad:
        raise ValueError(
            "loss must be differentiable in the model's parameters (a torch expression of the "
            "output); its value does not require grad"
        )
    grads = torch.autograd.grad(value, params, allow_unused=True)
    squares = [g.pow(2).sum() for g in grads if g is not None]
    norm = float(torch.stack(squares).sum().sqrt()) if squares else 0.0
    return float(value.detach()), norm


def _class_labels(y: Tensor, order: str) -> np.ndarray:
    """Class labels for the class-aware orders.

    Integer labels as they are, the argmax of target rows, or the index of each pattern's
    value among the distinct values of a single target column (refused when there are more
    than ``max(2, P // 2)`` of them: that is regression, not classes).
    """
    if y.dtype == torch.long and y.ndim == 1:
        return y.cpu().numpy()
    t = y.detach().cpu().numpy()
    if t.ndim == 2 and t.shape[1] > 1:
        return t.argmax(axis=1).astype(np.int64)
    column = t.reshape(len(t), -1)[:, 0]
    values, labels = np.unique(column, return_inverse=True)
    if len(values) > max(2, len(t) // 2):
        raise ValueError(
            f"order={order!r} needs class targets (integer labels, one-hot rows or a column with "
            f"few distinct values); y has {len(values)} distinct values for {len(t)} patterns"
        )
    return labels.astype(np.int64)


def _check_param_groups(param_groups: Any, params: list[Tensor]) -> list[dict[str, Any]]:
    """Copies of ``param_groups`` after checking that they split the trainable parameters."""
    if isinstance(param_groups, (str, bytes, dict)) or not isinstance(param_groups, Sequence):
        raise TypeError(
            "param_groups must be a list of dicts {'params': [...], 'lr': ...} (e.g. from "
            f"ebp.optim.per_layer_rates); got {type(param_groups).__name__}"
        )
    if not param_groups:
        raise ValueError("param_groups must contain at least one group")
    trainable = {id(p) for p in params}
    seen: set[int] = set()
    groups = []
    for i, group in enumerate(param_groups):
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"param_groups[{i}] must be a dict with a 'params' entry")
        members = group["params"]
        members = [members] if isinstance(members, Tensor) else list(members)
        for p in members:
            if not isinstance(p, Tensor) or id(p) not in trainable:
                raise ValueError(
                    f"param_groups[{i}] holds a tensor that is not a trainable parameter of model"
                )
            if id(p) in seen:
                raise ValueError(f"param_groups[{i}] repeats a parameter of an earlier group")
            seen.add(id(p))
        if "lr" in group:
            check_positive(group["lr"], f"param_groups[{i}]['lr']")
        groups.append({**group, "params": members})
    if len(seen) != len(trainable):
        raise ValueError(
            f"param_groups must include every trainable parameter of model; "
            f"{len(trainable) - len(seen)} are missing"
        )
    return groups


def _make_optimizer(
    optimizer: Any,
    target: list[Any],
    *,
    eta0: float,
    momentum: float,
    weight_decay: float,
    per_group: bool,
) -> torch.optim.Optimizer:
    """The optimizer ``fit`` uses (see its ``optimizer`` argument)."""
    if optimizer is None or optimizer == "sgd":
        return torch.optim.SGD(target, lr=eta0, momentum=momentum, weight_decay=weight_decay)
    if callable(optimizer) and not isinstance(optimizer, str):
        if momentum != 0 or weight_decay != 0:
            raise ValueError(
                "momentum and weight_decay must be 0 with an optimizer factory; give them to "
                "the optimizer the factory builds"
            )
        opt = optimizer(target)
        if not isinstance(opt, torch.optim.Optimizer):
            raise TypeError(
                "optimizer must build a torch.optim.Optimizer when called with the parameters; "
                f"got {type(opt).__name__}"
            )
        expected = len(target) if isinstance(target[0], dict) else 1
        if len(opt.param_groups) != expected:
            raise ValueError(
                "optimizer must build its optimizer on the parameters (or param_groups) it is "
                f"given; it made {len(opt.param_groups)} parameter group(s)"
            )
        given = [p for g in target for p in g["params"]] if isinstance(target[0], dict) else target
        built = [p for g in opt.param_groups for p in g["params"]]
        if len(built) != len(given) or {id(p) for p in built} != {id(p) for p in given}:
            foreign = sum(1 for p in built if id(p) not in {id(q) for q in given})
            raise ValueError(
                "optimizer must build its optimizer on exactly the parameters it is given (the "
                f"model's trainable parameters); it holds {len(built)} tensor(s), {foreign} of "
                f"them not among the {len(given)} given, so training would not update the model"
            )
        return opt
    check_choice(optimizer, "optimizer", OPTIMIZERS)
    if optimizer in ("adam", "adaptive") and momentum != 0:
        raise ValueError(
            f"momentum must be 0 with optimizer={optimizer!r} (it has no momentum term of "
            f"this form); got {momentum}"
        )
    if optimizer == "rmsprop":
        return torch.optim.RMSprop(target, lr=eta0, momentum=momentum, weight_decay=weight_decay)
    if optimizer == "adam":
        return torch.optim.Adam(target, lr=eta0, weight_decay=weight_decay)
    return PaperAdaptiveRate(target, eta0=eta0, weight_decay=weight_decay, per_group=per_group)


def _flat_weights(params: list[Tensor]) -> np.ndarray:
    return torch.cat([p.detach().reshape(-1) for p in params]).cpu().to(torch.float64).numpy()


def _layer_stats(model: nn.Module, fn: LossFn, X: Tensor, y: Tensor) -> dict[str, np.ndarray]:
    """Per ``nn.Linear`` layer: statistics of its weighted sums and activations over the
    training set, and the norm of the training loss's gradient for its weights and bias."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    act_module: dict[int, nn.Module] = {}
    if isinstance(model, nn.Sequential):
        children = list(model)
        for i, child in enumerate(children):
            if isinstance(child, nn.Linear):
                j = i
                while j + 1 < len(children) and not isinstance(children[j + 1], nn.Linear):
                    j += 1
                act_module[id(child)] = children[j]
    outputs: dict[int, Tensor] = {}

    def keep(module: nn.Module, _inputs: Any, output: Tensor) -> None:
        outputs[id(module)] = output.detach()

    hooks = [m.register_forward_hook(keep) for m in linears]
    hooks += [
        m.register_forward_hook(keep) for m in act_module.values() if not isinstance(m, nn.Linear)
    ]
    try:
        value = fn(model(X), y)
    finally:
        for h in hooks:
            h.remove()
    layer_params = [[p for p in m.parameters(recurse=False) if p.requires_grad] for m in linears]
    flat = [p for ps in layer_params for p in ps]
    grads = torch.autograd.grad(value, flat, allow_unused=True) if flat else ()
    grad_of = {id(p): g for p, g in zip(flat, grads, strict=True)}
    stats: dict[str, list[float]] = {k: [] for k in ("sum_mean", "sum_std", "act_mean")}
    stats["act_std"], stats["grad_norm"] = [], []
    for m, ps in zip(linears, layer_params, strict=True):
        s = outputs[id(m)]
        a = outputs[id(act_module.get(id(m), m))]
        stats["sum_mean"].append(float(s.mean()))
        stats["sum_std"].append(float(s.std(correction=0)))
        stats["act_mean"].append(float(a.mean()))
        stats["act_std"].append(float(a.std(correction=0)))
        squares = [grad_of[id(p)].pow(2).sum() for p in ps if grad_of[id(p)] is not None]
        stats["grad_norm"].append(float(torch.stack(squares).sum().sqrt()) if squares else 0.0)
    return {k: np.asarray(v, dtype=float) for k, v in stats.items()}


def _check_order(order: Any, shuffle: bool, emphasis: Any) -> tuple[str, Emphasis | None]:
    """The presentation order and emphasizing of :func:`fit` (and ``fit_many``), checked."""
    if order is None:
        order = "shuffle" if shuffle else "fixed"
    else:
        check_choice(order, "order", ORDERS)
        if not shuffle and order != "fixed":
            raise ValueError(
                f"order={order!r} contradicts shuffle=False (which means order='fixed'); "
                "give only one of them"
            )
    if emphasis is True:
        emphasis = Emphasis()
    elif emphasis is False:
        emphasis = None
    if emphasis is not None:
        if not isinstance(emphasis, Emphasis):
            raise TypeError(
                "emphasis must be an ebp.presentation.Emphasis, True or None; got "
                f"{type(emphasis).__name__}"
            )
        if order != "shuffle":
            raise ValueError(
                f"emphasis draws its own random order; it cannot be combined with order={order!r}"
            )
    return order, emphasis


def fit(
    model: nn.Module,
    X: Any,
    y: Any,
    *,
    loss: str | LossFn = "mse",
    eta: float | Schedule | Callable[[int], float],
    epochs: int,
    batch_size: int | None = None,
    momentum: float = 0.0,
    weight_decay: float = 0.0,
    clip_norm: float | None = None,
    clip_value: float | None = None,
    shuffle: bool = True,
    seed: int = 0,
    X_val: Any = None,
    y_val: Any = None,
    on_divergence: str = "raise",
    device: torch.device | str | None = None,
    callback: Callable[[int, nn.Module, History], bool | None] | None = None,
    order: str | None = None,
    emphasis: Emphasis | bool | None = None,
    optimizer: str | Callable[[list[Any]], torch.optim.Optimizer] | None = None,
    param_groups: Sequence[dict[str, Any]] | None = None,
    record_every: int | None = None,
    snapshots: bool = False,
    layer_stats: bool = False,
) -> History:
    """Train ``model`` in place by (mini-batch) SGD and return what it recorded.

    Parameters
    ----------
    model
        A torch module, updated in place (moved to ``device`` if one is given).
    X, y
        Training inputs ``(P, n_in)`` and targets (see the module docstring).
    loss
        ``"mse"`` (the default), ``"cross_entropy"``, ``"bce"`` or a callable
        ``loss(output, target)`` returning a scalar tensor.  **``"mse"`` is not**
        ``torch.nn.MSELoss()``: it is ``(1/P) Σ_p ½ ‖d^p − o^p‖²``, with the paper's ½ and a
        sum over the ``K`` outputs, i.e. ``K/2`` times ``nn.MSELoss()`` (and so are its
        gradient and Hessian); see :mod:`ebp.losses` for every loss's convention.
    eta
        Learning rate η > 0 (paper eq 10), or a schedule η(t) of the 0-based update count
        (:mod:`ebp.schedules`, or any callable ``t -> rate``), applied before every update.
    epochs
        Passes through the training set, ≥ 1.
    batch_size
        Patterns per update: ``None`` for full batch, 1 for online (stochastic) learning (eq 11).
    momentum
        μ in [0, 1).  PyTorch's form ``v ← μ v + ∂E/∂W``, ``W ← W − η v``; for a constant η this
        is the paper's ``ΔW(t+1) = μ ΔW(t) − η ∂E/∂W`` (§4.7).
    weight_decay
        λ ≥ 0: adds ``λ W`` to every gradient (an L2 penalty ``½ λ ‖W‖²``, not recorded in the
        losses).
    clip_norm, clip_value
        If given, rescale each update's gradient to global norm ≤ ``clip_norm``, and/or clip every
        component to ``[−clip_value, clip_value]``.
    shuffle
        Visit the patterns in a fresh random order every epoch (§4.2).  ``shuffle=False`` is
        ``order="fixed"``; see ``order``.
    seed
        Seed of the shuffling generator (a local ``torch.Generator``; global RNG untouched).
    X_val, y_val
        Optional validation set, evaluated at every record.
    on_divergence
        ``"raise"``: raise :class:`~ebp.history.DivergenceError`; ``"stop"``: stop and return the
        history with ``diverged=True`` and the message (the model keeps its last weights).
    device
        Where to train; default: where the model's parameters are.
    callback
        Called as ``callback(epoch, model, history)`` after every epoch's record (``epoch``
        counts from 1); returning ``True`` stops training.
    order
        The presentation order of every epoch (:func:`ebp.presentation.epoch_order`):
        ``"shuffle"``, ``"fixed"``, ``"class_sorted"`` or ``"interleaved"``.  ``None``
        (default) follows ``shuffle``.  When given, ``order`` wins over ``shuffle``, except that
        ``shuffle=False`` with an order other than ``"fixed"`` is a contradiction and raises.
        The class-aware orders read classes from ``y``: integer labels, the argmax of target
        rows, or the distinct values of a single target column (such as ±1).
    emphasis
        Emphasizing (§4.2): an :class:`ebp.presentation.Emphasis` (``True`` for its defaults).
        At the start of every epoch each pattern's own loss is measured and the epoch's ``P``
        presentations are drawn by :class:`ebp.presentation.EmphasisSampler`, high-loss patterns
        more often (capped).  An epoch stays ``P`` presentations.  Needs the shuffled order
        (``order`` ``None`` or ``"shuffle"``, ``shuffle=True``).
    optimizer
        ``None`` or ``"sgd"``: ``torch.optim.SGD`` with ``momentum`` and ``weight_decay`` (the
        default); ``"rmsprop"``: ``torch.optim.RMSprop(lr=η, momentum, weight_decay)``;
        ``"adam"``: ``torch.optim.Adam(lr=η, weight_decay)``; ``"adaptive"``:
        :class:`ebp.optim.PaperAdaptiveRate` with ``eta0=η`` and its default δ, α, β (one
        η per group when ``param_groups`` are given).  Or a factory ``params -> Optimizer``,
        called with the parameter list (or the ``param_groups``); ``fit`` then sets each
        group's ``"lr"`` to its rate (``eta``, or the group's own ``"lr"``), so ``eta`` keeps
        its meaning, and ``momentum``/``weight_decay`` must be given to the factory instead.
    param_groups
        Parameter groups for the optimizer, e.g. :func:`ebp.optim.per_layer_rates`; they must
        split the model's trainable parameters exactly.  A group without ``"lr"`` gets ``eta``.
        A schedule scales every group's rate by ``η(t)/η(0)``.
    record_every
        Also record after the update that brings the number of presentations to or past each
        multiple of ``record_every`` (the row carries the exact count; epoch ends are recorded
        anyway), for loss-vs-presentations curves (§4.1).
    snapshots
        Store the flattened parameter vector at every record in ``history.weights``.
    layer_stats
        Store, at every record, per ``nn.Linear`` layer in ``history.layer_stats``: the mean
        and (population) standard deviation over the training set of its weighted sums
        (``sum_mean``, ``sum_std``) and of its activations (``act_mean``, ``act_std``: the
        output of the modules that follow it in an ``nn.Sequential`` up to the next
        ``nn.Linear``; the weighted sums otherwise), and the norm of the training loss's
        gradient for its weights and bias (``grad_norm``).  Arrays of one value per layer.

    Returns
    -------
    History
        Rows before training and after every epoch (and every ``record_every`` presentations):
        the training loss over the whole training set, the validation loss (if given), and the
        norm of the full-batch training gradient; ``eta`` when the rate changes during the run
        (a schedule or ``optimizer="adaptive"``); ``weights`` and ``layer_stats`` on request.

    Raises
    ------
    DivergenceError
        With ``on_divergence="raise"``, when the loss after an update is NaN/Inf or has blown up
        (:func:`~ebp.history.check_divergence`, with the growth allowed for this loss: ``1e6``
        times its start plus one for the squared error and callables, ``1e3`` for
        cross-entropy and BCE), or when the optimizer refuses an update that would make the
        weights non-finite (:class:`ebp.optim.SDLM`); ``err.step`` is that update's number.
        The loss after update ``k`` is the mini-batch loss computed for update ``k + 1`` (no
        extra forward pass), and the full training loss at each record.  With
        ``on_divergence="stop"`` the history keeps only the finite rows before it.
    ValueError, TypeError
        For bad arguments, naming them: e.g. an ``X`` whose width the model does not take, a
        model with no trainable parameter or whose forward pass does not return a tensor, a
        loss that does not return a scalar, an optimizer factory that ignores the parameters
        it is given.
    """
    model = check_model(model)
    if device is not None:
        model.to(device)
    dtype, dev = model_dtype_device(model)
    name = loss_name(loss)
    fn = get_loss(loss)
    schedule = as_schedule(eta, "eta")
    eta0 = schedule(0)
    varying = not isinstance(schedule, Constant)
    epochs = check_positive(epochs, "epochs", integer=True)
    momentum = check_positive(momentum, "momentum", allow_zero=True)
    if momentum >= 1:
        raise ValueError(f"momentum must be in [0, 1); got {momentum}")
    weight_decay = check_positive(weight_decay, "weight_decay", allow_zero=True)
    if clip_norm is not None:
        clip_norm = check_positive(clip_norm, "clip_norm")
    if clip_value is not None:
        clip_value = check_positive(clip_value, "clip_value")
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(f"shuffle must be a bool; got {type(shuffle).__name__}")
    seed = check_int(seed, "seed", min_value=0)
    check_choice(on_divergence, "on_divergence", ("raise", "stop"))
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable; got {describe(callback)}")
    order, emphasis = _check_order(order, shuffle, emphasis)
    if optimizer is not None and not callable(optimizer) and not isinstance(optimizer, str):
        raise TypeError(
            f"optimizer must be one of {OPTIMIZERS}, a factory params -> torch.optim.Optimizer, "
            f"or None; got {describe(optimizer)}"
        )
    if record_every is not None:
        record_every = check_int(record_every, "record_every", min_value=1)
    for flag, flag_name in ((snapshots, "snapshots"), (layer_stats, "layer_stats")):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{flag_name} must be a bool; got {type(flag).__name__}")

    params = trainable_parameters(model)
    X, y, X_val, y_val, batch_size = _training_data(
        model, X, y, X_val, y_val, batch_size, name, dtype, dev
    )
    P = X.shape[0]
    labels = _class_labels(y, order) if order in ("class_sorted", "interleaved") else None

    groups = None if param_groups is None else _check_param_groups(param_groups, params)
    target: list[Any] = params if groups is None else groups
    optimizer_arg = optimizer
    optimizer = _make_optimizer(
        optimizer_arg,
        target,
        eta0=eta0,
        momentum=momentum,
        weight_decay=weight_decay,
        per_group=groups is not None,
    )
    # each group's rate at t = 0: its own "lr" or eta; a schedule scales it by eta(t)/eta(0)
    explicit = [False] if groups is None else ["lr" in g for g in groups]
    bases = [eta0] if groups is None else [float(g.get("lr", eta0)) for g in groups]
    if callable(optimizer_arg) and not isinstance(optimizer_arg, str):
        for group, base in zip(optimizer.param_groups, bases, strict=True):
            group["lr"] = base  # fit owns the rate, whatever the factory set
    adaptive = isinstance(optimizer, PaperAdaptiveRate)
    if adaptive and varying:
        raise ValueError(
            "eta must be a constant with an adaptive optimizer (it sets its own rate); got "
            f"{describe(schedule)}"
        )
    generator = torch.Generator().manual_seed(seed)
    sampler: EmphasisSampler | None = None
    if emphasis is not None:
        sampler = emphasis.sampler(P, generator)
    history = History()

    def measure() -> tuple[float, float, float | None]:
        train_loss, grad_norm = _loss_and_grad_norm(model, fn, X, y)
        val_loss = None
        if X_val is not None:
            with torch.no_grad():
                val_loss = float(fn(model(X_val), y_val))
        return train_loss, grad_norm, val_loss

    def current_eta() -> float:
        """The (base) rate of the next update, ``step``."""
        return float(optimizer.param_groups[0]["lr"]) if adaptive else schedule(step)

    def last_eta() -> float:
        """The (base) rate of the last update, for messages."""
        return float(optimizer.param_groups[0]["lr"]) if adaptive else schedule(max(step - 1, 0))

    def record(presentations: int, train_loss: float, grad_norm: float, val: float | None) -> None:
        history.record(
            presentations=presentations,
            n_train=P,
            train_loss=train_loss,
            val_loss=val,
            grad_norm=grad_norm,
        )
        if varying or adaptive:
            history.eta.append(current_eta())
        if snapshots:
            history.weights.append(_flat_weights(params))
        if layer_stats:
            history.layer_stats.append(_layer_stats(model, fn, X, y))

    def diverged(message: str, step: int, value: float) -> History:
        if on_divergence == "raise":
            raise DivergenceError(message, step=step, loss=value)
        history.diverged = True
        history.message = message
        history.step = step
        return history

    def epoch_batches() -> Iterator[Tensor]:
        if sampler is not None:
            with torch.no_grad():
                sampler.update(pattern_losses(fn, name, model(X), y).cpu().numpy())
            yield from sampler.draw().split(batch_size)
        elif order in ("shuffle", "fixed"):
            yield from _batches(P, batch_size, order == "shuffle", generator)
        else:
            yield from epoch_order(order, P, labels=labels, generator=generator).split(batch_size)

    step = 0
    initial_loss, grad_norm, val_loss = measure()
    if not math.isfinite(initial_loss):
        raise ValueError(
            f"the initial loss is not finite ({initial_loss}); check X, y and the weights"
        )
    record(0, initial_loss, grad_norm, val_loss)
    presented = 0
    mark = 0
    for epoch in range(1, epochs + 1):
        for idx in epoch_batches():
            if dev.type != "cpu":
                idx = idx.to(dev)
            batch_loss = fn(model(X[idx]), y[idx])
            if step > 0:  # the loss after the previous update
                value = float(batch_loss.detach())
                message = check_divergence(
                    value, step=step, initial_loss=initial_loss, eta=last_eta(), loss_name=name
                )
                if message is not None:
                    return diverged(message, step, value)
            optimizer.zero_grad(set_to_none=True)
            batch_loss.backward()
            if clip_value is not None:
                nn.utils.clip_grad_value_(params, clip_value)
            if clip_norm is not None:
                nn.utils.clip_grad_norm_(params, clip_norm)
            if varying:
                rate = schedule(step)
                for group, base, own in zip(optimizer.param_groups, bases, explicit, strict=True):
                    group["lr"] = base * (rate / eta0) if own else rate
            try:
                optimizer.step()
            except DivergenceError as err:  # an optimizer that refuses non-finite weights
                return diverged(str(err), err.step if err.step else step + 1, err.loss)
            step += 1
            presented += len(idx)
            if record_every is not None and presented // record_every > mark:
                mark = presented // record_every
                if presented < epoch * P:  # epoch ends are recorded below
                    train_loss, grad_norm, val_loss = measure()
                    message = check_divergence(
                        train_loss,
                        step=step,
                        initial_loss=initial_loss,
                        eta=last_eta(),
                        loss_name=name,
                    )
                    if message is not None:
                        return diverged(message, step, train_loss)
                    record(presented, train_loss, grad_norm, val_loss)
        train_loss, grad_norm, val_loss = measure()
        message = check_divergence(
            train_loss, step=step, initial_loss=initial_loss, eta=last_eta(), loss_name=name
        )
        if message is not None:  # the history keeps only finite rows
            return diverged(message, step, train_loss)
        record(epoch * P, train_loss, grad_norm, val_loss)
        if callback is not None and callback(epoch, model, history) is True:
            break
    optimizer.zero_grad(set_to_none=True)
    return history


# ---------------------------------------------------------------------------------------------
# Early stopping
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EarlyStopping:
    """What a patience rule on the validation loss would have done to a recorded run.

    Attributes
    ----------
    stop_epoch
        The epoch at which the rule stops (the last recorded epoch if it never fires).
    restore_epoch
        The epoch of minimal validation loss up to ``stop_epoch``: the weights early stopping
        keeps.
    best_epoch
        The epoch of minimal validation loss over the whole run.
    best_val_loss
        The validation loss at ``best_epoch``.
    stopped
        Whether the rule fired before the end of the run.
    """

    stop_epoch: float
    restore_epoch: float
    best_epoch: float
    best_val_loss: float
    stopped: bool


def early_stopping_epoch(
    history: History, patience: int, *, min_delta: float = 0.0
) -> EarlyStopping:
    """Apply the rule "stop after ``patience`` records without improvement" to ``history``.

    A record improves if its validation loss is below the best so far by more than
    ``min_delta``; the rule stops at the ``patience``-th record in a row that does not
    (Prechelt's simplest criterion).

    Parameters
    ----------
    history
        A run recorded with a validation set.
    patience
        Records (epochs) without improvement tolerated, ≥ 1.
    min_delta
        Smallest decrease that counts as an improvement, ≥ 0.
    """
    if not isinstance(history, History):
        raise TypeError(f"history must be an ebp.history.History; got {type(history).__name__}")
    patience = check_int(patience, "patience", min_value=1)
    min_delta = check_positive(min_delta, "min_delta", allow_zero=True)
    val = np.asarray(history.val_loss, dtype=float)
    if val.size == 0:
        raise ValueError("history must contain validation losses (train with X_val and y_val)")
    if val.size != len(history.epoch):
        raise ValueError("history must have one validation loss per recorded epoch")
    epochs = np.asarray(history.epoch, dtype=float)
    best, wait, stop = val[0], 0, val.size - 1
    stopped = False
    for i in range(1, val.size):
        if val[i] < best - min_delta:
            best, wait = val[i], 0
        else:
            wait += 1
            if wait >= patience:
                stop, stopped = i, True
                break
    restore = int(np.argmin(val[: stop + 1]))
    overall = int(np.argmin(val))
    return EarlyStopping(
        stop_epoch=float(epochs[stop]),
        restore_epoch=float(epochs[restore]),
        best_epoch=float(epochs[overall]),
        best_val_loss=float(val[overall]),
        stopped=stopped,
    )
