"""The PyTorch training loop of the book: plain (mini-batch) SGD that records and checks itself.

Losses
------
The losses and their conventions live in :mod:`ebp.losses` (re-exported here): every loss is a
mean over patterns, and ``"mse"`` is ``(1/P) Σ_p ½ ‖d^p − o^p‖²`` with the paper's ½, which is
``K/2`` times ``torch.nn.MSELoss()`` for ``K`` outputs.

The loop
--------
:func:`fit` shuffles with its own seeded ``torch.Generator`` (never the global RNG), updates
as ``torch.optim.SGD`` does, bit for bit (``W ← W − η ∂E/∂W``, paper eq 10), records a
:class:`~ebp.history.History` before training and after every epoch, and checks for
divergence after every update.

Its options cover the tricks of §4.1, §4.2 and §4.7: presentation orders and emphasizing
(:mod:`ebp.presentation`), learning-rate schedules (:mod:`ebp.schedules`), other optimizers and
per-layer rates (:mod:`ebp.optim`), and extra recording (every ``k`` presentations, weight
snapshots, per-layer statistics).  Left at their defaults they change nothing: the run is the
plain SGD loop above, number for number.

The loop itself is :mod:`ebp.engine`'s, shared with :func:`ebp.many.fit_many` (which trains
``K`` models at once on the same semantics); this module gives it one ``nn.Module`` of any kind,
whose gradients autograd computes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ebp._validate import check_choice, check_int, check_positive, describe
from ebp.engine import (
    OPTIMIZERS,
    Data,
    Models,
    Rates,
    check_flag,
    check_momentum,
    check_optimizer_args,
    check_options,
    check_param_groups,
    make_rule,
    train_models,
    training_data,
)
from ebp.history import History
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
    get_loss,
    loss_name,
    model_dtype_device,
    model_output,
    mse_loss,
    pattern_losses,
    trainable_parameters,
)
from ebp.optim import PaperAdaptiveRate
from ebp.presentation import Emphasis
from ebp.schedules import Schedule, as_schedule
from ebp.updates import Grads, LeafCoefficients, Rule

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
        A name in :data:`~ebp.losses.LOSSES` or a callable.  ``"mse"`` (the default) is
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


class _OneModel(Models):
    """One ``nn.Module`` of any kind, its gradients by autograd (:class:`ebp.engine.Models`)."""

    K = 1
    stacked = False

    def __init__(
        self, model: nn.Module, fn: LossFn, name: str | None, data: Data, params: list[Tensor]
    ) -> None:
        self.model, self.fn, self.name, self.data, self.params = model, fn, name, data, params
        self.device = data.X.device

    def batch(self, idx: Tensor) -> tuple[list[float], Grads]:
        if self.device.type != "cpu":
            idx = idx.to(self.device)
        value = self.fn(self.model(self.data.X[idx]), self.data.y[idx])
        grads = torch.autograd.grad(value, self.params, allow_unused=True)
        return [float(value.detach())], list(grads)

    def full(self) -> tuple[list[float], Grads]:
        value = check_scalar_loss(self.fn(self.model(self.data.X), self.data.y))
        if not value.requires_grad:
            raise ValueError(
                "loss must be differentiable in the model's parameters (a torch expression of "
                "the output); its value does not require grad"
            )
        grads = torch.autograd.grad(value, self.params, allow_unused=True)
        return [float(value.detach())], list(grads)

    def val_losses(self) -> list[float] | None:
        if self.data.X_val is None:
            return None
        with torch.no_grad():
            return [float(self.fn(self.model(self.data.X_val), self.data.y_val))]

    def pattern_losses(self) -> np.ndarray:
        out = self.model(self.data.X)
        return pattern_losses(self.fn, self.name, out, self.data.y).cpu().numpy()[None]

    def flat_weights(self) -> np.ndarray:
        flat = torch.cat([p.detach().reshape(-1) for p in self.params])
        return flat.cpu().to(torch.float64).numpy()[None]

    def layer_stats(self) -> dict[str, np.ndarray]:
        return _layer_stats(self.model, self.fn, self.data.X, self.data.y)


def _optimizer(
    optimizer: Any,
    one: _OneModel,
    groups: list[dict[str, Any]] | None,
    rates: Rates,
    momentum: float,
    weight_decay: float,
) -> tuple[Rule | None, torch.optim.Optimizer | None]:
    """The rule for an optimizer name, or the optimizer a user's factory builds."""
    params = one.params
    if optimizer is None or isinstance(optimizer, str):
        name = "sgd" if optimizer is None else check_choice(optimizer, "optimizer", OPTIMIZERS)
        check_optimizer_args(name == "adaptive", name, [momentum], rates)
        if groups is None:
            group_of = [0] * len(params)
        else:
            index = {id(p): g for g, group in enumerate(groups) for p in group["params"]}
            group_of = [index[id(p)] for p in params]
        leaf = LeafCoefficients(group_of, params[0].dtype, stacked=False)
        return make_rule(name, leaf, momentum, rates), None
    if momentum != 0 or weight_decay != 0:
        raise ValueError(
            "momentum and weight_decay must be 0 with an optimizer factory; give them to "
            "the optimizer the factory builds"
        )
    target: list[Any] = params if groups is None else groups
    opt = optimizer(target)
    _check_built(opt, target)
    for group, rate in zip(opt.param_groups, rates.base_table.tolist(), strict=True):
        group["lr"] = rate  # fit owns the rate, whatever the factory set
    if isinstance(opt, PaperAdaptiveRate):
        check_optimizer_args(True, "factory", [0.0], rates)
        rates.adaptive = lambda k: float(opt.param_groups[0]["lr"])
    return None, opt


def _check_built(opt: Any, target: list[Any]) -> None:
    """A factory's optimizer must hold exactly the parameters (or groups) it was given."""
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
        The named optimizers are carried out by :mod:`ebp.updates` with the arithmetic of the
        ``torch.optim`` classes they name (tests compare them bit for bit).
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

    Examples
    --------
    A linear unit learns ``y = 2 a + b`` by full-batch gradient descent:

    >>> import numpy as np
    >>> from ebp.nn import mlp
    >>> from ebp.train import fit
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    >>> y = X @ np.array([[2.0], [1.0]])
    >>> model = mlp([2, 1], seed=0)
    >>> history = fit(model, X, y, loss="mse", eta=0.5, epochs=200)
    >>> len(history.train_loss)  # before training, then after every epoch
    201
    >>> bool(history.train_loss[-1] < 1e-6)
    True
    """
    model = check_model(model)
    if device is not None:
        model.to(device)
    dtype, dev = model_dtype_device(model)
    name = loss_name(loss)
    fn = get_loss(loss)
    schedule = as_schedule(eta, "eta")
    momentum = check_momentum(momentum)
    weight_decay = check_positive(weight_decay, "weight_decay", allow_zero=True)
    options = check_options(
        epochs=epochs,
        clip_norm=clip_norm,
        clip_value=clip_value,
        shuffle=shuffle,
        order=order,
        emphasis=emphasis,
        on_divergence=on_divergence,
        record_every=record_every,
        snapshots=snapshots,
    )
    seed = check_int(seed, "seed", min_value=0)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable; got {describe(callback)}")
    if optimizer is not None and not callable(optimizer) and not isinstance(optimizer, str):
        raise TypeError(
            f"optimizer must be one of {OPTIMIZERS}, a factory params -> torch.optim.Optimizer, "
            f"or None; got {describe(optimizer)}"
        )
    layer_stats = check_flag(layer_stats, "layer_stats")

    params = trainable_parameters(model)
    data = training_data(model, X, y, X_val, y_val, batch_size, name, dtype, dev)
    groups = None if param_groups is None else check_param_groups(param_groups, params)
    eta0 = schedule(0)
    rates = Rates(
        [schedule],
        [[eta0] if groups is None else [float(g.get("lr", eta0)) for g in groups]],
        [False] if groups is None else ["lr" in g for g in groups],
        stacked=False,
        device=torch.device("cpu"),
    )
    one = _OneModel(model, fn, name, data, params)
    rule, torch_optimizer = _optimizer(optimizer, one, groups, rates, momentum, weight_decay)
    history = History()
    try:
        train_models(
            one,
            rates,
            options,
            [history],
            seeds=[seed],
            loss_name=name,
            weight_decay=weight_decay if weight_decay != 0 else None,
            rule=rule,
            optimizer=torch_optimizer,
            label=False,
            reuse_full_batch=False,
            layer_stats=layer_stats,
            after_epoch=None
            if callback is None
            else lambda epoch: callback(epoch, model, history) is True,
        )
    finally:
        for p in params:
            p.grad = None
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
