"""The training engine behind :func:`ebp.train.fit` and :func:`ebp.many.fit_many`.

Internal (``fit`` and ``fit_many`` are the API).  One loop trains ``K`` models, ``K = 1`` for
``fit``, with every option written once:

* :class:`Models` – *how* gradients are computed, the one part that differs: ``fit`` runs any
  ``nn.Module`` with autograd (``ebp.train``), ``fit_many`` maps one architecture over ``K``
  stacked parameter sets with ``torch.func.vmap`` (``ebp.many``);
* :class:`Rates` – η of every model and parameter group at every update (a constant, a schedule
  η(t), per-group rates, or the paper's adaptive rate);
* :class:`Presenter` – the order of every epoch (shuffled, fixed, class-aware, emphasizing);
* :class:`Updater` – clipping, weight decay and the optimizer (:mod:`ebp.updates`), or an
  optimizer a user's factory built;
* :class:`Guard` – the divergence rule (:func:`ebp.history.check_divergence`), per model;
* :class:`Recorder` – the rows of each model's :class:`~ebp.history.History`;
* :func:`run` – the loop: for every epoch, for every mini-batch, check the loss of the last
  update, update; record at the epoch's end and every ``record_every`` presentations.

The shared checks of the two entry points (orders, parameter groups, data) live here too.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ebp._validate import check_choice, check_int, check_positive, describe
from ebp.history import DivergenceError, History, blowup_factor, check_divergence
from ebp.losses import (
    as_inputs,
    as_targets,
    check_against_output,
    expected_input_width,
    model_output,
)
from ebp.optim import PaperAdaptiveRate
from ebp.presentation import ORDERS, Emphasis, EmphasisSampler, epoch_order
from ebp.schedules import Constant, Schedule
from ebp.updates import (
    SGD,
    Adam,
    Coef,
    Grads,
    LeafCoefficients,
    PaperAdaptive,
    RMSprop,
    Rule,
    add_weight_decay,
    clip_by_norm,
    clip_by_value,
    global_norms,
)

__all__: list[str] = []

OPTIMIZERS: tuple[str, ...] = ("sgd", "rmsprop", "adam", "adaptive")
"""Optimizer names accepted by ``fit`` and ``fit_many``."""

CLASS_ORDERS: tuple[str, ...] = ("class_sorted", "interleaved")
"""The presentation orders that read classes from the targets (:func:`class_labels`)."""


# ---------------------------------------------------------------------------------------------
# Checks shared by fit and fit_many
# ---------------------------------------------------------------------------------------------


def check_order(order: Any, shuffle: Any, emphasis: Any) -> tuple[str, Emphasis | None]:
    """The presentation order and emphasizing, checked (``order=None`` follows ``shuffle``)."""
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(f"shuffle must be a bool; got {type(shuffle).__name__}")
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


@dataclass(frozen=True)
class Options:
    """The options ``fit`` and ``fit_many`` share, checked."""

    epochs: int
    clip_norm: float | None
    clip_value: float | None
    order: str
    emphasis: Emphasis | None
    on_divergence: str
    record_every: int | None
    snapshots: bool


def check_options(
    *,
    epochs: Any,
    clip_norm: Any,
    clip_value: Any,
    shuffle: Any,
    order: Any,
    emphasis: Any,
    on_divergence: Any,
    record_every: Any,
    snapshots: Any,
) -> Options:
    """Check the options every training run takes, naming the bad one."""
    epochs = check_positive(epochs, "epochs", integer=True)
    if clip_norm is not None:
        clip_norm = check_positive(clip_norm, "clip_norm")
    if clip_value is not None:
        clip_value = check_positive(clip_value, "clip_value")
    order, emphasis = check_order(order, shuffle, emphasis)
    check_choice(on_divergence, "on_divergence", ("raise", "stop"))
    if record_every is not None:
        record_every = check_int(record_every, "record_every", min_value=1)
    check_flag(snapshots, "snapshots")
    return Options(
        epochs, clip_norm, clip_value, order, emphasis, on_divergence, record_every, snapshots
    )


def check_flag(value: Any, name: str) -> bool:
    """A bool (NumPy's too), else ``TypeError`` naming it."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool; got {type(value).__name__}")
    return bool(value)


def check_momentum(value: Any, name: str = "momentum") -> float:
    """μ in [0, 1)."""
    value = check_positive(value, name, allow_zero=True)
    if value >= 1:
        raise ValueError(f"{name} must be in [0, 1); got {value}")
    return value


def check_param_groups(param_groups: Any, params: list[Tensor]) -> list[dict[str, Any]]:
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


def class_labels(y: Tensor, order: str) -> np.ndarray:
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


@dataclass(frozen=True)
class Data:
    """The training (and validation) set as tensors, and the mini-batch size."""

    X: Tensor
    y: Tensor
    X_val: Tensor | None
    y_val: Tensor | None
    batch_size: int

    @property
    def P(self) -> int:
        return self.X.shape[0]


def training_data(
    model: nn.Module,
    X: Any,
    y: Any,
    X_val: Any,
    y_val: Any,
    batch_size: Any,
    loss: str | None,
    dtype: torch.dtype,
    device: torch.device,
) -> Data:
    """The training and validation sets as tensors, checked against ``model``'s output, and
    the mini-batch size (default: every pattern).

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
    return Data(X, y, X_val, y_val, batch_size)


# ---------------------------------------------------------------------------------------------
# How gradients are computed: the one part fit and fit_many do differently
# ---------------------------------------------------------------------------------------------


class Models:
    """``K`` models and their data: the losses and gradients the loop asks for.

    ``params`` are the tensors the updates change in place: one model's own parameters
    (``stacked = False``, ``K = 1``) or the ``K`` models' parameters stacked along a leading
    axis (``stacked = True``).  Losses come back as one float per model; gradients as one
    tensor (or ``None``) per parameter tensor.
    """

    K: int
    stacked: bool
    params: list[Tensor]
    data: Data

    def batch(self, idx: Tensor) -> tuple[list[float], Grads]:
        """Loss and gradient of every model on the patterns ``idx``: ``(B,)``, shared, or
        ``(K, B)``, one row per model."""
        raise NotImplementedError

    def full(self) -> tuple[list[float], Grads]:
        """Loss and gradient of every model on the whole training set."""
        raise NotImplementedError

    def val_losses(self) -> list[float] | None:
        """Every model's loss on the validation set (``None`` without one)."""
        raise NotImplementedError

    def pattern_losses(self) -> np.ndarray:
        """Each model's loss on each training pattern, ``(K, P)`` (for emphasizing)."""
        raise NotImplementedError

    def flat_weights(self) -> np.ndarray:
        """Each model's trainable parameters as one float64 vector, ``(K, n_weights)``."""
        raise NotImplementedError

    def layer_stats(self) -> dict[str, np.ndarray]:
        """Per-layer statistics of the (one) model (see ``fit``'s ``layer_stats``)."""
        raise ValueError("layer_stats is recorded for one model (ebp.train.fit) only")


# ---------------------------------------------------------------------------------------------
# Learning rates, presentation orders, divergence, records
# ---------------------------------------------------------------------------------------------


class Rates:
    """η of every model and parameter group for every update: the rate table of
    :mod:`ebp.updates`.

    Group ``g`` of model ``k`` runs at ``bases[k][g]`` at ``t = 0``: the group's own ``"lr"``
    (``own[g]``) or η_k(0).  A schedule scales a group with its own rate by
    ``η_k(t)/η_k(0)`` and sets the others to ``η_k(t)``.  With the adaptive rate the table is
    the optimizer's state (``adaptive``: the current η of model ``k``'s first group).
    """

    def __init__(
        self,
        schedules: list[Schedule],
        bases: list[list[float]],
        own: list[bool],
        stacked: bool,
        device: torch.device,
    ) -> None:
        self.schedules = schedules
        self.etas = [s(0) for s in schedules]
        self.varying = [not isinstance(s, Constant) for s in schedules]
        self.bases, self.own, self.stacked, self.device = bases, own, stacked, device
        self.base_table = self._tensor(bases)
        self.adaptive: Callable[[int], float] | None = None

    def _tensor(self, rows: list[list[float]]) -> Tensor:
        return torch.tensor(
            rows if self.stacked else rows[0], dtype=torch.float64, device=self.device
        )

    def table(self, t: int) -> Tensor:
        """The rates of update ``t`` (0-based): ``(G,)`` for one model, ``(K, G)`` stacked."""
        if not any(self.varying):
            return self.base_table
        rows = []
        seen: dict[int, float] = {}  # a schedule shared by several models is called once
        for s, eta0, bases in zip(self.schedules, self.etas, self.bases, strict=True):
            if id(s) not in seen:
                seen[id(s)] = s(t)
            rate = seen[id(s)]
            rows.append(
                [b * (rate / eta0) if o else rate for b, o in zip(bases, self.own, strict=True)]
            )
        return self._tensor(rows)

    def recorded(self, k: int) -> bool:
        """Whether model ``k``'s history records η (it changes during the run)."""
        return self.varying[k] or self.adaptive is not None

    def next_eta(self, k: int, t: int) -> float:
        """The (base) rate of model ``k``'s update ``t``."""
        return self.adaptive(k) if self.adaptive is not None else self.schedules[k](t)

    def last_eta(self, k: int, t: int) -> float:
        """The (base) rate of model ``k``'s last update, ``t − 1``, for messages."""
        return self.next_eta(k, max(t - 1, 0))


class Presenter:
    """The pattern indices of every epoch: ``(P,)`` shared by every model, or ``(K, P)``.

    Each model draws its order from its own ``torch.Generator`` seeded with its seed, so models
    with one seed see one order (and share it, computed once); with emphasizing each model has
    its own :class:`~ebp.presentation.EmphasisSampler` on that generator, fed with its own
    per-pattern losses.
    """

    def __init__(
        self, order: str, emphasis: Emphasis | None, seeds: list[int], P: int, labels: Any
    ) -> None:
        self.order, self.P, self.labels = order, P, labels
        self.generators = [torch.Generator().manual_seed(s) for s in seeds]
        self.samplers: list[EmphasisSampler] | None = None
        if emphasis is not None:
            self.samplers = [emphasis.sampler(P, g) for g in self.generators]
        self.per_model = self.samplers is not None or (len(set(seeds)) > 1 and order != "fixed")

    def epoch(self, models: Models, active: list[bool]) -> Tensor:
        if self.samplers is not None:
            with torch.no_grad():
                errors = models.pattern_losses()
            rows = []
            for k, sampler in enumerate(self.samplers):
                if active[k]:  # a frozen model's row is never used
                    sampler.update(errors[k])
                    rows.append(sampler.draw())
                else:
                    rows.append(torch.arange(self.P))
            return rows[0] if len(rows) == 1 else torch.stack(rows)
        if not self.per_model:
            return epoch_order(self.order, self.P, labels=self.labels, generator=self.generators[0])
        orders = [
            epoch_order(self.order, self.P, labels=self.labels, generator=g)
            for g in self.generators
        ]
        return torch.stack(orders)


class Guard:
    """Divergence, per model: the rule of :func:`~ebp.history.check_divergence`.

    A diverged model raises :class:`~ebp.history.DivergenceError` (``on_divergence="raise"``;
    with ``label`` its message starts ``models[k]:`` and ``err.model_index`` is ``k``) or is
    frozen: its history gets ``diverged``, ``message`` and ``step``, and nothing more is
    recorded for it.
    """

    def __init__(
        self,
        histories: list[History],
        on_divergence: str,
        loss_name: str | None,
        label: bool,
        rates: Rates,
    ) -> None:
        self.histories, self.on_divergence = histories, on_divergence
        self.loss_name, self.label, self.rates = loss_name, label, rates
        self.active = [True] * len(histories)
        self.initial: list[float] = []
        self.limits: list[float] = []  # check_divergence finds nothing in a finite loss below
        self.on_freeze: Callable[[int], None] = lambda k: None

    def start(self, losses: list[float]) -> None:
        """Keep the initial losses, refusing a non-finite one."""
        for k, value in enumerate(losses):
            if not math.isfinite(value):
                of = f" of models[{k}]" if self.label else ""
                raise ValueError(
                    f"the initial loss{of} is not finite ({value}); check X, y and the weights"
                )
        self.initial = losses
        # check_divergence's blow-up rule, computed once: most checks need no message.
        factor = blowup_factor(self.loss_name)
        self.limits = [factor * (abs(value) + 1.0) for value in losses]

    @property
    def any_active(self) -> bool:
        return any(self.active)

    def check(self, k: int, value: float, step: int) -> bool:
        """Check model ``k``'s loss after update ``step``; freeze it (True) if diverged."""
        if math.isfinite(value) and value <= self.limits[k]:
            return False  # (what check_divergence says, without building its arguments)
        message = check_divergence(
            value,
            step=step,
            initial_loss=self.initial[k],
            eta=self.rates.last_eta(k, step),
            loss_name=self.loss_name,
        )
        if message is None:
            return False
        self.freeze(k, message, step, value)
        return True

    def check_all(self, values: list[float], step: int) -> None:
        for k, value in enumerate(values):
            if self.active[k]:
                self.check(k, value, step)

    def freeze(self, k: int, message: str, step: int, value: float) -> None:
        if self.on_divergence == "raise":
            err = DivergenceError(
                f"models[{k}]: {message}" if self.label else message, step=step, loss=value
            )
            err.model_index = k  # type: ignore[attr-defined]
            raise err
        history = self.histories[k]
        history.diverged, history.message, history.step = True, message, step
        self.active[k] = False
        self.on_freeze(k)


class Recorder:
    """The rows of every model's history: before training, after every epoch, and every
    ``record_every`` presentations; divergence is checked before a row is written."""

    def __init__(
        self, models: Models, guard: Guard, rates: Rates, snapshots: bool, layer_stats: bool
    ) -> None:
        self.models, self.guard, self.rates = models, guard, rates
        self.snapshots, self.layer_stats = snapshots, layer_stats

    def __call__(self, presentations: int, losses: list[float], grads: Grads, step: int) -> None:
        norms = global_norms(grads, self.models.stacked)
        vals = self.models.val_losses()
        flat = None  # every model's flattened weights, on demand
        for k, history in enumerate(self.guard.histories):
            if not self.guard.active[k] or (step > 0 and self.guard.check(k, losses[k], step)):
                continue  # the histories keep only finite rows
            history.record(
                presentations=presentations,
                n_train=self.models.data.P,
                train_loss=losses[k],
                val_loss=None if vals is None else vals[k],
                grad_norm=norms[k],
            )
            if self.rates.recorded(k):
                history.eta.append(self.rates.next_eta(k, step))
            if self.snapshots:
                flat = self.models.flat_weights() if flat is None else flat
                history.weights.append(flat[k].copy())
            if self.layer_stats:
                history.layer_stats.append(self.models.layer_stats())


# ---------------------------------------------------------------------------------------------
# The update
# ---------------------------------------------------------------------------------------------


class Updater:
    """One update of every active model: clip the values, clip the norm, add the weight decay,
    then the optimizer – a :mod:`ebp.updates` rule, or a ``torch.optim.Optimizer`` a user's
    factory built (one model only; ``fit`` sets its groups' rates)."""

    def __init__(
        self,
        models: Models,
        rates: Rates,
        options: Options,
        weight_decay: Coef | None,
        rule: Rule | None = None,
        optimizer: torch.optim.Optimizer | None = None,
    ) -> None:
        self.params, self.stacked = models.params, models.stacked
        self.rates, self.options, self.weight_decay = rates, options, weight_decay
        self.rule, self.optimizer = rule, optimizer
        self.frozen: dict[int, list[Tensor]] = {}  # frozen models' weights, kept as they were
        if isinstance(rule, PaperAdaptive) and self.stacked:
            rule.active = torch.ones(models.K, dtype=torch.bool, device=rule.table.device)

    def freeze(self, k: int) -> None:
        """Model ``k`` diverged: its weights and rate stay as they are from now on."""
        if self.stacked:
            self.frozen[k] = [p[k].detach().clone() for p in self.params]
        if isinstance(self.rule, PaperAdaptive) and self.rule.active is not None:
            self.rule.active[k] = False

    def __call__(self, grads: Grads, step: int) -> None:
        """Update number ``step + 1`` (0-based ``step``)."""
        with torch.no_grad():
            if self.options.clip_value is not None:
                grads = clip_by_value(grads, self.options.clip_value)
            if self.options.clip_norm is not None:
                grads = clip_by_norm(grads, self.options.clip_norm, self.stacked)
            if self.weight_decay is not None:
                grads = add_weight_decay(grads, self.params, self.weight_decay)
            table = self.rates.table(step)
            if self.optimizer is not None:
                self._torch_step(grads, table, step)
            else:
                assert self.rule is not None
                self.rule.step(self.params, grads, table, step + 1)
            for k, weights in self.frozen.items():
                for p, w in zip(self.params, weights, strict=True):
                    p[k] = w

    def _torch_step(self, grads: Grads, table: Tensor, step: int) -> None:
        assert self.optimizer is not None
        if any(self.rates.varying):
            for group, rate in zip(self.optimizer.param_groups, table.tolist(), strict=True):
                group["lr"] = rate
        for p, g in zip(self.params, grads, strict=True):
            p.grad = g
        self.optimizer.step()  # (SDLM may refuse with a DivergenceError: see _update)


# ---------------------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------------------


def train_models(
    models: Models,
    rates: Rates,
    options: Options,
    histories: list[History],
    *,
    seeds: list[int],
    loss_name: str | None,
    weight_decay: Coef | None,
    rule: Rule | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    label: bool,
    reuse_full_batch: bool,
    layer_stats: bool = False,
    after_epoch: Callable[[int], bool] | None = None,
) -> None:
    """Train ``models``, filling ``histories`` (one per model): the pieces above, wired."""
    labels = None
    if options.order in CLASS_ORDERS:
        labels = class_labels(models.data.y, options.order)
    guard = Guard(histories, options.on_divergence, loss_name, label, rates)
    update = Updater(models, rates, options, weight_decay, rule=rule, optimizer=optimizer)
    guard.on_freeze = update.freeze
    run(
        models,
        update,
        Presenter(options.order, options.emphasis, seeds, models.data.P, labels),
        guard,
        Recorder(models, guard, rates, options.snapshots, layer_stats),
        options,
        reuse_full_batch=reuse_full_batch,
        after_epoch=after_epoch,
    )


def run(
    models: Models,
    update: Updater,
    presenter: Presenter,
    guard: Guard,
    record: Recorder,
    options: Options,
    *,
    reuse_full_batch: bool,
    after_epoch: Callable[[int], bool] | None = None,
) -> None:
    """Train: record, then ``options.epochs`` epochs of updates, recording as asked.

    The loss after update ``k`` is checked on the mini-batch of update ``k + 1`` (no extra
    forward pass) and on the whole training set at every record.  With ``reuse_full_batch``
    and full-batch training the gradient measured for a record is the one the next update
    uses (the same set, summed in another order), so each epoch costs one gradient, not two.
    ``after_epoch(epoch)`` returning ``True`` stops training.
    """
    P, batch_size = models.data.P, models.data.batch_size
    losses, grads = models.full()
    guard.start(losses)
    record(0, losses, grads, step=0)
    full_batch = reuse_full_batch and batch_size == P and presenter.samplers is None
    step = presented = mark = 0
    for epoch in range(1, options.epochs + 1):
        if full_batch:
            step = _update(update, guard, grads, step)
        else:
            for idx in presenter.epoch(models, guard.active).split(batch_size, dim=-1):
                batch_losses, batch_grads = models.batch(idx)
                if step > 0:  # the loss after the previous update
                    guard.check_all(batch_losses, step)
                    if not guard.any_active:
                        return
                step = _update(update, guard, batch_grads, step)
                presented += idx.shape[-1]
                if options.record_every is not None and presented // options.record_every > mark:
                    mark = presented // options.record_every
                    if presented < epoch * P:  # epoch ends are recorded below
                        losses, grads = models.full()
                        record(presented, losses, grads, step=step)
                if not guard.any_active:
                    return
        if not guard.any_active:
            return
        presented = epoch * P
        losses, grads = models.full()
        record(presented, losses, grads, step=step)
        if not guard.any_active or (after_epoch is not None and after_epoch(epoch)):
            return


def _update(update: Updater, guard: Guard, grads: Grads, step: int) -> int:
    """Apply update ``step + 1``; an optimizer that refuses it freezes the model."""
    try:
        update(grads, step)
    except DivergenceError as err:  # raised by a one-model optimizer (fit's factories)
        guard.freeze(0, str(err), err.step or step + 1, err.loss)
    return step + 1


# ---------------------------------------------------------------------------------------------
# The built-in optimizers
# ---------------------------------------------------------------------------------------------

# eq 19's constants: PaperAdaptiveRate's defaults
ADAPTIVE = {
    key: inspect.signature(PaperAdaptiveRate).parameters[key].default
    for key in ("delta", "alpha", "beta")
}


def check_optimizer_args(
    adaptive: bool, optimizer: str, momenta: list[float], rates: Rates
) -> None:
    """An optimizer with no momentum term refuses a momentum; one that sets its own rate
    refuses a schedule (naming ``momentum[k]``/``eta[k]`` when models differ)."""
    if optimizer in ("adam", "adaptive"):
        for k, mu in enumerate(momenta):
            if mu != 0:
                where = "momentum" if len(set(momenta)) == 1 else f"momentum[{k}]"
                raise ValueError(
                    f"{where} must be 0 with optimizer={optimizer!r} (it has no momentum term "
                    f"of this form); got {mu}"
                )
    if adaptive:
        for k, s in enumerate(rates.schedules):
            if rates.varying[k]:
                where = "eta" if len({id(s) for s in rates.schedules}) == 1 else f"eta[{k}]"
                raise ValueError(
                    f"{where} must be a constant with an adaptive optimizer (it sets its own "
                    f"rate); got {describe(s)}"
                )


def make_rule(optimizer: str, leaf: LeafCoefficients, momentum: Coef, rates: Rates) -> Rule:
    """The :mod:`ebp.updates` rule for an optimizer name of :data:`OPTIMIZERS`."""
    if optimizer == "sgd":
        return SGD(leaf, momentum)
    if optimizer == "rmsprop":
        return RMSprop(leaf, momentum)
    if optimizer == "adam":
        return Adam(leaf)
    rule = PaperAdaptive(leaf, rates.base_table, **ADAPTIVE)
    if leaf.stacked:
        rates.adaptive = lambda k: float(rule.table[k, 0])
    else:
        rates.adaptive = lambda k: float(rule.table[0])
    return rule
