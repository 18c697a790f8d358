"""Many models at once: train ``K`` networks of identical structure in one vectorised loop.

:func:`fit_many` trains models that differ only in their weights (the initialization seed), in
the learning rate η (a number or a schedule η(t)), in the momentum μ, in the weight decay or in
the shuffling seed, and gives for every model ``k`` what :func:`ebp.train.fit` gives for
``models[k]`` alone with the same arguments: the same losses (imported from :mod:`ebp.train`),
the same presentation order and emphasizing (the same seeded ``torch.Generator`` per model),
the same updates as ``torch.optim.SGD`` (dampening 0, no Nesterov), ``torch.optim.RMSprop``,
``torch.optim.Adam`` or :class:`ebp.optim.PaperAdaptiveRate` (with per-layer rates if asked),
the same per-model clipping as ``torch.nn.utils.clip_grad_value_`` and ``clip_grad_norm_``,
the same records (before training, after every epoch and every ``record_every``
presentations, with the rate when it varies and the weights if asked), and the same divergence
checks.  The results agree to floating-point rounding (batched matrix products sum in another
order); the tests hold them to 1e-10 relative in float64.  The book uses it for every seed and
learning-rate sweep.

How it works
------------
The ``K`` parameter sets are stacked along a new leading axis
(:func:`torch.func.stack_module_state`), and the forward pass of ``models[0]``'s architecture is
mapped over that axis with :func:`torch.func.vmap` of :func:`torch.func.functional_call`, so any
``nn.Module`` works, not only MLPs.  One backward pass of ``Σ_k E_k`` gives every model's own
gradient ``∂E_k/∂θ_k`` at once: ``E_k`` depends on ``θ_k`` only, so the other terms contribute
exactly zero.  The optimizers (SGD, RMSprop, Adam and the paper's adaptive rate, eqs 17–19)
are written out on the stacked tensors, with one rate per model (and parameter group) and each
model's own state, step for step as ``torch.optim`` and :class:`ebp.optim.PaperAdaptiveRate`
do it.  Models that share a shuffling seed share one mini-batch of indices; otherwise (and
with emphasizing) every model gets its own.  With full-batch training the full-set gradient
measured for the record after an epoch is the gradient the next update needs, so it is
computed once, not twice as in :func:`ebp.train.fit`.
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap

from ebp._validate import check_choice, check_int, check_positive, describe
from ebp.history import DivergenceError, History, check_divergence
from ebp.losses import LossFn, check_scalar_loss, get_loss, loss_name, trainable_parameters
from ebp.losses import pattern_losses as one_model_pattern_losses
from ebp.optim import PaperAdaptiveRate
from ebp.presentation import Emphasis, EmphasisSampler, epoch_order
from ebp.repro import single_threaded
from ebp.schedules import Constant, Schedule, as_schedule
from ebp.train import (
    OPTIMIZERS,
    _check_order,
    _check_param_groups,
    _class_labels,
    _training_data,
)

__all__ = ["ManyHistory", "batched_loss", "fit_many"]


# ---------------------------------------------------------------------------------------------
# What a run of many models records
# ---------------------------------------------------------------------------------------------


@dataclass
class ManyHistory:
    """What :func:`fit_many` recorded for each of its ``K`` models, and the trained models.

    Attributes
    ----------
    histories
        One :class:`~ebp.history.History` per model, exactly what :func:`ebp.train.fit` would
        return for it (a diverged model's history stops at its last finite record and carries
        ``diverged``, ``message`` and ``step``).
    models
        The trained models: copies of the input models holding the final weights (a diverged
        model keeps the weights it had when its divergence was detected).  The input models
        are not modified.
    eta, momentum
        The learning rate (of the first update, η_k(0), for a schedule or the adaptive rate)
        and the momentum of each model, shape ``(K,)``.
    seed
        The shuffling seed of each model, shape ``(K,)``.

    The array views :attr:`train_loss`, :attr:`val_loss`, :attr:`grad_norm` and
    :attr:`recorded_eta` have shape ``(K, T)`` with ``T`` the number of records of the longest
    run (at :attr:`presentations`, :attr:`epoch`), and :attr:`weights` ``(K, T, n_weights)``;
    the rows of models that diverged are padded with NaN after their last record (the
    histories themselves hold only finite records).
    """

    histories: list[History]
    models: list[nn.Module]
    eta: np.ndarray
    momentum: np.ndarray
    seed: np.ndarray

    def __len__(self) -> int:
        return len(self.histories)

    def __getitem__(self, k: int) -> History:
        return self.histories[k]

    def _column(self, name: str) -> np.ndarray:
        rows = [getattr(h, name) for h in self.histories]
        T = max(len(h.epoch) for h in self.histories)
        out = np.full((len(rows), T), np.nan)
        for k, row in enumerate(rows):
            out[k, : len(row)] = row
        return out

    @property
    def epoch(self) -> np.ndarray:
        """The epochs of the records, shape ``(T,)`` (0 is the record before training)."""
        longest = max(self.histories, key=lambda h: len(h.epoch))
        return np.asarray(longest.epoch, dtype=float)

    @property
    def presentations(self) -> np.ndarray:
        """The presentation counts of the records, shape ``(T,)`` (as :attr:`epoch`)."""
        longest = max(self.histories, key=lambda h: len(h.epoch))
        return np.asarray(longest.presentations, dtype=np.int64)

    @property
    def train_loss(self) -> np.ndarray:
        """Full training-set loss, shape ``(K, T)``, NaN after a model's divergence."""
        return self._column("train_loss")

    @property
    def val_loss(self) -> np.ndarray | None:
        """Validation loss, shape ``(K, T)`` (NaN-padded), or ``None`` without a validation set."""
        if not self.histories[0].val_loss:
            return None
        return self._column("val_loss")

    @property
    def grad_norm(self) -> np.ndarray:
        """Norm of the full training-set gradient, shape ``(K, T)``, NaN-padded."""
        return self._column("grad_norm")

    @property
    def weights(self) -> np.ndarray | None:
        """The weight snapshots, shape ``(K, T, n_weights)`` (NaN-padded), or ``None`` without
        ``snapshots=True``."""
        if not self.histories[0].weights:
            return None
        T = max(len(h.weights) for h in self.histories)
        n = self.histories[0].weights[0].size
        out = np.full((len(self.histories), T, n), np.nan)
        for k, h in enumerate(self.histories):
            if h.weights:
                out[k, : len(h.weights)] = np.stack(h.weights)
        return out

    @property
    def recorded_eta(self) -> np.ndarray | None:
        """The rate of the next update at every record, ``(K, T)`` (NaN-padded): the
        histories' ``eta``, or :attr:`eta` repeated for a model whose rate is constant;
        ``None`` when no model's rate varies."""
        if not any(h.eta for h in self.histories):
            return None
        out = self._column("eta")
        for k, h in enumerate(self.histories):
            if not h.eta:
                out[k, : len(h.train_loss)] = self.eta[k]
        return out

    @property
    def diverged(self) -> np.ndarray:
        """Which models diverged, shape ``(K,)``, bool."""
        return np.array([h.diverged for h in self.histories], dtype=bool)

    @property
    def final_train_loss(self) -> np.ndarray:
        """Each model's last recorded training loss, shape ``(K,)``."""
        return np.array([h.final_train_loss for h in self.histories])


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


def _check_models(models: Any) -> list[nn.Module]:
    if isinstance(models, nn.Module) and not isinstance(models, nn.ModuleList):
        raise TypeError(
            "models must be a sequence of torch.nn.Module (wrap a single model in a list); "
            f"got {type(models).__name__}"
        )
    if not isinstance(models, (Sequence, nn.ModuleList)):
        raise TypeError(
            f"models must be a sequence of torch.nn.Module; got {type(models).__name__}"
        )
    models = list(models)
    if not models:
        raise ValueError("models must contain at least one model; got an empty sequence")
    for k, m in enumerate(models):
        if not isinstance(m, nn.Module):
            raise TypeError(f"models[{k}] must be a torch.nn.Module; got {type(m).__name__}")
    reference = _structure(models[0])
    if not reference["parameters"]:
        raise ValueError("models[0] must have at least one parameter")
    trainable_parameters(models[0], "models[0]")
    for k, m in enumerate(models[1:], start=1):
        theirs = _structure(m)
        for part, ours in reference.items():
            if theirs[part] != ours:
                raise ValueError(
                    f"models[{k}] must have the same structure as models[0] (same modules, "
                    f"parameter and buffer names, shapes, dtypes and devices, same training "
                    f"mode); its {part} differ: {_first_difference(ours, theirs[part])}"
                )
    return models


def _structure(model: nn.Module) -> dict[str, Any]:
    return {
        "modules": [(name, type(m).__name__) for name, m in model.named_modules()],
        "parameters": [
            (name, tuple(p.shape), p.dtype, p.device, p.requires_grad)
            for name, p in model.named_parameters()
        ],
        "buffers": [(name, tuple(b.shape), b.dtype, b.device) for name, b in model.named_buffers()],
        "training mode": [m.training for m in model.modules()],
    }


def _first_difference(ours: list[Any], theirs: list[Any]) -> str:
    for a, b in zip(ours, theirs, strict=False):
        if a != b:
            return f"{b} instead of {a}"
    return f"{len(theirs)} entries instead of {len(ours)}"


def _per_model(
    value: Any, name: str, K: int, check: Callable[[Any, str], float | int]
) -> list[Any]:
    """A scalar (shared by every model) or a sequence of ``K`` values, each checked."""
    if isinstance(value, (Tensor, np.ndarray)) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (Sequence, np.ndarray, Tensor)) and not isinstance(value, (str, bytes)):
        values = list(value.tolist() if isinstance(value, (np.ndarray, Tensor)) else value)
        if len(values) != K:
            raise ValueError(
                f"{name} must be a number or a sequence with one value per model ({K}); "
                f"got {len(values)} values"
            )
        return [check(v, f"{name}[{k}]") for k, v in enumerate(values)]
    return [check(value, name)] * K


def _check_eta(value: Any, name: str) -> Schedule:
    return as_schedule(value, name)


def _check_momentum(value: Any, name: str) -> float:
    value = check_positive(value, name, allow_zero=True)
    if value >= 1:
        raise ValueError(f"{name} must be in [0, 1); got {value}")
    return value


def _check_seed(value: Any, name: str) -> int:
    return check_int(value, name, min_value=0)


def _check_decay(value: Any, name: str) -> float:
    return check_positive(value, name, allow_zero=True)


def _check_optimizer(optimizer: Any) -> str:
    """The optimizer's name: ``None`` is ``"sgd"``; factories are refused."""
    if optimizer is None:
        return "sgd"
    if not isinstance(optimizer, str):
        raise TypeError(
            f"optimizer must be one of {OPTIMIZERS} or None (fit_many updates the stacked "
            f"weights itself, so it takes no optimizer factory); got {describe(optimizer)}"
        )
    return check_choice(optimizer, "optimizer", OPTIMIZERS)


# keys of a parameter group that torch optimizers would read: fit_many takes only "lr"
_OPTIMIZER_KEYS = frozenset(
    {
        "momentum",
        "dampening",
        "nesterov",
        "weight_decay",
        "maximize",
        "foreach",
        "differentiable",
        "fused",
        "capturable",
        "alpha",
        "eps",
        "centered",
        "betas",
        "amsgrad",
        "decoupled_weight_decay",
        "delta",
        "beta",
    }
)

# eq 19's constants: those PaperAdaptiveRate uses by default, as fit(optimizer="adaptive") does
_ADAPTIVE = {
    key: inspect.signature(PaperAdaptiveRate).parameters[key].default
    for key in ("delta", "alpha", "beta")
}


def _check_groups(param_groups: Any, model: nn.Module) -> list[tuple[set[str], float | None]]:
    """``param_groups`` of ``model``'s parameters as (parameter names, ``"lr"`` or None)."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if param_groups is None:
        return [({n for n, _ in named}, None)]
    try:
        checked = _check_param_groups(param_groups, [p for _, p in named])
    except (TypeError, ValueError) as err:
        raise type(err)(
            f"{err} (fit_many takes param_groups of models[0]'s parameters, e.g. "
            "ebp.optim.per_layer_rates(models[0], eta))"
        ) from None
    name_of = {id(p): n for n, p in named}
    groups = []
    for i, group in enumerate(checked):
        for key in group:
            if key in _OPTIMIZER_KEYS:
                raise ValueError(
                    f"param_groups[{i}] sets {key!r}; fit_many takes only 'params' and 'lr' "
                    "per group (give momentum and weight_decay to fit_many itself)"
                )
        lr = float(group["lr"]) if "lr" in group else None
        groups.append(({name_of[id(p)] for p in group["params"]}, lr))
    return groups


# ---------------------------------------------------------------------------------------------
# Losses of K models at once
# ---------------------------------------------------------------------------------------------


def batched_loss(loss: str | LossFn) -> Callable[[Tensor, Tensor, bool], Tensor]:
    """The loss of :mod:`ebp.train` for ``K`` models at once: ``(outputs, targets, per_model)``.

    ``outputs`` is ``(K, P, …)``, the stacked outputs of the models; ``targets`` is shared,
    ``(P, …)``, or one per model, ``(K, P, …)``, as ``per_model`` says.  Returns ``(E_k)_k``,
    shape ``(K,)``, where ``E_k = loss(outputs[k], targets[k])`` with the function of
    :data:`ebp.train.LOSSES` (equal to rounding).  The named losses are written for the stacked
    outputs, with the classes of cross-entropy on an inner axis: PyTorch's softmax over a
    short last axis (10 classes) costs about ten times more than over an outer one.  A callable
    loss is mapped over the models with :func:`torch.func.vmap`.
    """
    name = loss_name(loss)
    fn = get_loss(loss)

    def mapped(out: Tensor, t: Tensor, per_model: bool) -> Tensor:
        return vmap(fn, in_dims=(0, 0 if per_model else None))(out, t)

    def mse(out: Tensor, t: Tensor, per_model: bool) -> Tensor:
        return 0.5 * (out - t).pow(2).flatten(1).sum(1) / out.shape[1]

    def cross_entropy(out: Tensor, t: Tensor, per_model: bool) -> Tensor:
        if out.ndim != 3:  # not (K, P, classes): leave it to the definition
            return mapped(out, t, per_model)
        logits = out.transpose(1, 2)  # (K, classes, P)
        if t.dtype == torch.long:
            labels = t if per_model else t.expand(out.shape[0], -1)
            return F.cross_entropy(logits, labels, reduction="none").sum(1) / out.shape[1]
        log_p = F.log_softmax(logits, dim=1).transpose(1, 2)
        return -(t * log_p).flatten(1).sum(1) / out.shape[1]

    def bce(out: Tensor, t: Tensor, per_model: bool) -> Tensor:
        total = F.binary_cross_entropy_with_logits(out, t.expand_as(out), reduction="none")
        return total.flatten(1).sum(1) / out.shape[1]

    named = {"mse": mse, "cross_entropy": cross_entropy, "bce": bce}
    return named.get(name, mapped) if name is not None else mapped


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


@single_threaded()
def fit_many(
    models: Sequence[nn.Module],
    X: Any,
    y: Any,
    *,
    loss: str | LossFn = "mse",
    eta: float | Schedule | Callable[[int], float] | Sequence[float | Schedule],
    epochs: int,
    batch_size: int | None = None,
    momentum: float | Sequence[float] = 0.0,
    weight_decay: float | Sequence[float] = 0.0,
    clip_norm: float | None = None,
    clip_value: float | None = None,
    shuffle: bool = True,
    seed: int | Sequence[int] = 0,
    X_val: Any = None,
    y_val: Any = None,
    on_divergence: str = "stop",
    device: torch.device | str | None = None,
    order: str | None = None,
    emphasis: Emphasis | bool | None = None,
    optimizer: str | None = None,
    param_groups: Sequence[dict[str, Any]] | None = None,
    record_every: int | None = None,
    snapshots: bool = False,
) -> ManyHistory:
    """Train ``K`` models of identical structure at once, each as :func:`ebp.train.fit` would.

    For every ``k``, ``result.histories[k]`` and ``result.models[k]`` equal (to floating-point
    rounding) what ``ebp.train.fit(models[k], X, y, eta=eta[k], momentum=momentum[k],
    weight_decay=weight_decay[k], seed=seed[k], on_divergence="stop", …)`` records and leaves
    in the model, with the other arguments shared (for ``param_groups``, see there).

    Parameters
    ----------
    models
        ``K ≥ 1`` torch modules of the same structure (same modules, parameter and buffer names,
        shapes, dtypes, device and training mode) that differ in their weights.  They are not
        modified: the trained weights are in copies, ``result.models``.  The forward pass must
        work under :func:`torch.func.vmap` (no in-place buffer updates, e.g. batch norm in
        training mode, and no random layers such as dropout).
    X, y
        Training inputs ``(P, n_in)`` and targets, shared by every model (see :mod:`ebp.train`).
    loss
        ``"mse"`` (the default), ``"cross_entropy"``, ``"bce"``, or a callable
        ``loss(output, target)`` that works under :func:`torch.func.vmap`.  As in
        :func:`ebp.train.fit`, **``"mse"`` is not** ``torch.nn.MSELoss()``: it is
        ``(1/P) Σ_p ½ ‖d^p − o^p‖²`` (the paper's ½, summed over the ``K`` outputs), ``K/2``
        times ``nn.MSELoss()``; see :mod:`ebp.losses`.
    eta
        Learning rate η > 0 (paper eq 10), or a schedule η(t) of the 0-based update count
        (:mod:`ebp.schedules`, or any callable ``t -> rate``) applied before every update, as
        in :func:`ebp.train.fit`: one for all, or a sequence of one per model (numbers,
        schedules, or both).
    epochs
        Passes through the training set, ≥ 1.
    batch_size
        Patterns per update: ``None`` for full batch, 1 for online learning (eq 11).
    momentum
        μ in [0, 1) (PyTorch's form, as in :func:`ebp.train.fit`): one for all, or one per model.
        Used by SGD and RMSprop; must be 0 with ``"adam"`` and ``"adaptive"``.
    weight_decay
        λ ≥ 0, added as ``λ W`` to every gradient inside the optimizer, as in
        :func:`ebp.train.fit`: one for all, or one per model.
    clip_norm, clip_value
        If given, clip every component of each model's gradient to ``[−clip_value,
        clip_value]``, then rescale it to global norm ≤ ``clip_norm`` (per model, in this
        order, as ``fit`` calls ``torch.nn.utils.clip_grad_value_`` and ``clip_grad_norm_``).
    shuffle
        Visit the patterns in a fresh random order every epoch (§4.2).
    seed
        Seed of the shuffling generator: one for all (every model then sees the same sequence
        of mini-batches, that of ``fit(…, seed=seed)``), or one per model.
    X_val, y_val
        Optional validation set, evaluated at every record.
    on_divergence
        ``"stop"`` (the default here, unlike :func:`ebp.train.fit`): a model that diverges
        (:func:`ebp.history.check_divergence`, the same rule as ``fit``) is frozen from that
        step (its weights stop changing and nothing more is recorded for it),
        its history gets ``diverged``, ``message`` and ``step``, and the other models go on.
        ``"raise"``: raise :class:`~ebp.history.DivergenceError` at the first divergence, with
        a message starting ``models[k]:`` and the model's index in ``err.model_index``.
    device
        Where to train; default: where the models' parameters are.  The returned models live
        there.
    order
        The presentation order of every epoch, as in :func:`ebp.train.fit`
        (:func:`ebp.presentation.epoch_order`): ``"shuffle"``, ``"fixed"``, ``"class_sorted"``
        or ``"interleaved"``; ``None`` follows ``shuffle``.  Each model draws it from its own
        generator seeded with its ``seed``, so models with the same seed see the same order.
    emphasis
        Emphasizing (§4.2), as in :func:`ebp.train.fit`: an
        :class:`ebp.presentation.Emphasis` (``True`` for its defaults).  Every model has its
        own :class:`~ebp.presentation.EmphasisSampler` (on its own generator, seeded with its
        ``seed``), fed at the start of every epoch with that model's per-pattern losses
        (measured for all models in one forward pass).  Needs the shuffled order.
    optimizer
        As in :func:`ebp.train.fit`, carried out on the stacked weights with each model's own
        state: ``None`` or ``"sgd"`` (``torch.optim.SGD`` with ``momentum`` and
        ``weight_decay``), ``"rmsprop"`` (``torch.optim.RMSprop(lr=η, momentum,
        weight_decay)``), ``"adam"`` (``torch.optim.Adam(lr=η, weight_decay)``) or
        ``"adaptive"`` (:class:`ebp.optim.PaperAdaptiveRate`, eqs 17–19, with ``eta0=η`` and
        its default δ, α, β: every model has its own η and ``‖r‖``, and its own η per group
        with ``param_groups``).  Optimizer factories are not accepted.
    param_groups
        Parameter groups of ``models[0]``'s parameters, e.g.
        ``ebp.optim.per_layer_rates(models[0], eta)``; they are mapped by parameter name onto
        every model and must split the trainable parameters exactly.  Each group may set
        ``"lr"`` (other keys that an optimizer reads, such as ``"momentum"``, are refused;
        labels such as ``"name"`` are ignored).  The groups' rates are those of ``models[0]``:
        model ``k``'s group with ``"lr"`` runs at ``lr · η_k(0)/η_0(0)``, and a group without
        one at ``η_k``, so every model keeps the groups' ratios to its own η; a schedule then
        scales each group's rate by ``η_k(t)/η_k(0)``, as in :func:`ebp.train.fit`.  With one
        ``eta`` for all models every model gets exactly the groups' rates.
    record_every
        Also record after the update that brings the number of presentations to or past each
        multiple of ``record_every`` (the row carries the exact count; epoch ends are recorded
        anyway), as :func:`ebp.train.fit` does.
    snapshots
        Store each model's flattened trainable parameters (float64) at every record in its
        ``history.weights``, as :func:`ebp.train.fit` does (also as :attr:`ManyHistory.weights`).

    Returns
    -------
    ManyHistory
        The per-model histories (records before training, after every epoch and every
        ``record_every`` presentations: full training loss, validation loss if given, norm of
        the full training gradient; ``eta`` when the rate varies; ``weights`` on request),
        ``(K, T)`` array views of them, and the trained copies of the models.

    Raises
    ------
    DivergenceError
        With ``on_divergence="raise"``, at the first model that diverges (see there).
    ValueError
        Besides bad arguments: when a model's initial loss is not finite, or when eq 19 of
        ``optimizer="adaptive"`` would make a model's rate non-positive (as
        :class:`ebp.optim.PaperAdaptiveRate` raises), naming the model.

    Notes
    -----
    In full-batch training the gradient for the update of epoch ``e`` is the one measured for
    the record after epoch ``e − 1``: the same number :func:`ebp.train.fit` computes again on
    the (shuffled) batch, up to the order of the sum over patterns.  For the same reason the
    divergence check before each full-batch update, which would repeat the check of the
    previous record, is not repeated.

    Of :func:`ebp.train.fit`'s options, the rate (constant or a schedule), momentum, weight
    decay, both clippings, the presentation orders (``shuffle``, ``order``), ``emphasis``, the
    named optimizers, ``param_groups``, validation, ``record_every``, ``snapshots`` and
    divergence handling are supported; optimizer factories, ``callback`` and ``layer_stats``
    are not (yet).

    The whole call runs inside :func:`ebp.repro.single_threaded`, so its sums do not depend on
    the number of cores.  On an idle 2-core machine PyTorch's two threads are about 10 % faster
    for the benchmark's 32 networks; on a busy one (a parallel book build) one thread was ten
    times faster (``benchmarks/README.md``).
    """
    models = _check_models(models)
    K = len(models)
    name = loss_name(loss)
    schedules = _per_model(eta, "eta", K, _check_eta)
    etas = [s(0) for s in schedules]
    varying = [not isinstance(s, Constant) for s in schedules]
    any_varying = any(varying)
    mus = _per_model(momentum, "momentum", K, _check_momentum)
    seeds = _per_model(seed, "seed", K, _check_seed)
    epochs = check_positive(epochs, "epochs", integer=True)
    if clip_norm is not None:
        clip_norm = check_positive(clip_norm, "clip_norm")
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(f"shuffle must be a bool; got {type(shuffle).__name__}")
    check_choice(on_divergence, "on_divergence", ("raise", "stop"))
    if record_every is not None:
        record_every = check_int(record_every, "record_every", min_value=1)
    if not isinstance(snapshots, (bool, np.bool_)):
        raise TypeError(f"snapshots must be a bool; got {type(snapshots).__name__}")
    order, emphasis = _check_order(order, shuffle, emphasis)

    decays = _per_model(weight_decay, "weight_decay", K, _check_decay)
    if clip_value is not None:
        clip_value = check_positive(clip_value, "clip_value")
    optimizer = _check_optimizer(optimizer)
    if optimizer in ("adam", "adaptive"):
        for k, mu in enumerate(mus):
            if mu != 0:
                where = "momentum" if len(set(mus)) == 1 else f"momentum[{k}]"
                raise ValueError(
                    f"{where} must be 0 with optimizer={optimizer!r} (it has no momentum term "
                    f"of this form); got {mu}"
                )
    if optimizer == "adaptive":
        for k, s in enumerate(schedules):
            if varying[k]:
                where = "eta" if len({id(s) for s in schedules}) == 1 else f"eta[{k}]"
                raise ValueError(
                    f"{where} must be a constant with an adaptive optimizer (it sets its own "
                    f"rate); got {describe(s)}"
                )
    groups = _check_groups(param_groups, models[0])

    # Copies hold the trained weights; the first is also the architecture vmap calls.
    trained = [copy.deepcopy(m) for m in models]
    if device is not None:
        for m in trained:
            m.to(device)
    base = trained[0]
    first = next(iter(base.parameters()))
    dtype, dev = first.dtype, first.device

    X, y, X_val, y_val, batch_size = _training_data(
        base, X, y, X_val, y_val, batch_size, name, dtype, dev
    )
    P = X.shape[0]

    # Stacked state: trainable parameters (leaves we update in place), and everything else
    # (frozen parameters, buffers) passed along unchanged.
    stacked_params, stacked_buffers = stack_module_state(trained)
    trainable = [n for n, p in base.named_parameters() if p.requires_grad]
    params = {n: stacked_params[n].detach().requires_grad_(True) for n in trainable}
    constants = {
        n: t.detach() for n, t in {**stacked_params, **stacked_buffers}.items() if n not in params
    }
    leaves = list(params.values())

    def output_of(p: dict[str, Tensor], c: dict[str, Tensor], x: Tensor) -> Tensor:
        return functional_call(base, (p, c), (x,))

    outputs_shared_data = vmap(output_of, in_dims=(0, 0, None))
    outputs_own_data = vmap(output_of, in_dims=(0, 0, 0))
    losses = batched_loss(loss)

    def losses_and_grads(x: Tensor, t: Tensor, per_model: bool) -> tuple[Tensor, list[Tensor]]:
        """``E_k`` for every model ``k`` and the gradients ``∂E_k/∂θ_k``, stacked."""
        forward = outputs_own_data if per_model else outputs_shared_data
        with torch.enable_grad():
            values = losses(forward(params, constants, x), t, per_model)
            grads = torch.autograd.grad(values.sum(), leaves)
        return values.detach(), list(grads)

    def grad_norms(grads: list[Tensor]) -> Tensor:
        squares = torch.stack([g.pow(2).flatten(1).sum(1) for g in grads])
        return squares.sum(0).sqrt()

    def val_losses() -> list[float] | None:
        if X_val is None:
            return None
        with torch.no_grad():
            return losses(outputs_shared_data(params, constants, X_val), y_val, False).tolist()

    def pattern_losses(out: Tensor) -> Tensor:
        """Each model's per-pattern losses ``E_k^p``, ``(K, P)``, as ``fit`` measures them."""
        if name == "mse":
            return 0.5 * (out - y).pow(2).flatten(2).sum(2)
        if name == "cross_entropy" and y.dtype == torch.long:
            return F.cross_entropy(out.transpose(1, 2), y.expand(K, -1), reduction="none")
        if name == "cross_entropy":
            return -(y * F.log_softmax(out, dim=2)).sum(2)
        if name == "bce":
            total = F.binary_cross_entropy_with_logits(out, y.expand_as(out), reduction="none")
            return total.flatten(2).sum(2)
        fn = get_loss(loss)
        return torch.stack([one_model_pattern_losses(fn, None, out[k], y) for k in range(K)])

    labels = _class_labels(y, order) if order in ("class_sorted", "interleaved") else None

    # The rates: one per model and parameter group, shape (K, G) in float64 (the Python floats
    # of fit); fixed (the fast path), η_k(t) set before every update, or eq 19's adaptive η.
    def per_model_view(v: Tensor, like: Tensor) -> Tensor:
        return v.reshape(-1, *([1] * (like.ndim - 1)))

    def rates_at(t: int) -> list[float]:
        """``η_k(t)`` for every model (a schedule shared by several models is called once)."""
        seen: dict[int, float] = {}
        out = []
        for s in schedules:
            if id(s) not in seen:
                seen[id(s)] = s(t)
            out.append(seen[id(s)])
        return out

    # group g's rate for model k at t = 0: its own "lr" (for models[0]; scaled by η_k/η_0 for
    # model k) or η_k; a schedule scales it by η_k(t)/η_k(0), as fit does.
    own = [lr is not None for _, lr in groups]
    base_rates = [
        [lr * (etas[k] / etas[0]) if lr is not None else etas[k] for _, lr in groups]
        for k in range(K)
    ]
    base_rates_t = torch.tensor(base_rates, dtype=torch.float64, device=dev)
    group_of = [next(g for g, (names, _) in enumerate(groups) if n in names) for n in trainable]
    adaptive_eta = base_rates_t.clone() if optimizer == "adaptive" else None

    def group_rates(t: int) -> Tensor:
        """The rate of update ``t`` of every model and group, ``(K, G)``, float64."""
        if adaptive_eta is not None:
            return adaptive_eta
        if not any_varying:
            return base_rates_t
        rows = []
        for rate, eta0, bases in zip(rates_at(t), etas, base_rates, strict=True):
            rows.append([b * (rate / eta0) if o else rate for b, o in zip(bases, own, strict=True)])
        return torch.tensor(rows, dtype=torch.float64, device=dev)

    def leaf_rates(rates: Tensor) -> list[Tensor]:
        """``rates`` ``(K, G)`` as a ``(K, 1, …)`` view for every leaf, in its dtype."""
        rates = rates.to(dtype)
        return [per_model_view(rates[:, g], p) for p, g in zip(leaves, group_of, strict=True)]

    fixed_neg_rates = None
    if not any_varying and adaptive_eta is None:
        fixed_neg_rates = leaf_rates(-base_rates_t)
    mu_t = torch.tensor(mus, dtype=dtype, device=dev)
    use_momentum = any(m != 0 for m in mus)
    wd_t = torch.tensor(decays, dtype=dtype, device=dev)
    use_decay = any(w != 0 for w in decays)
    state: dict[str, list[Tensor]] = {}
    active = [True] * K
    active_t = torch.ones(K, dtype=torch.bool, device=dev)

    def zeros() -> list[Tensor]:
        return [torch.zeros_like(p) for p in leaves]

    def sgd(grads: list[Tensor], t: int) -> list[Tensor]:
        """``torch.optim.SGD``'s changes (dampening 0, no Nesterov)."""
        if use_momentum:
            if "momentum" not in state:
                state["momentum"] = [g.clone() for g in grads]
            else:
                for b, g in zip(state["momentum"], grads, strict=True):
                    b.mul_(per_model_view(mu_t, b)).add_(g)
            grads = state["momentum"]
        lrs = fixed_neg_rates if fixed_neg_rates is not None else leaf_rates(-group_rates(t))
        return [g * lr for g, lr in zip(grads, lrs, strict=True)]

    def rmsprop(grads: list[Tensor], t: int) -> list[Tensor]:
        """``torch.optim.RMSprop``'s changes (alpha 0.99, eps 1e-8, not centered)."""
        lrs = leaf_rates(-group_rates(t))
        if "square_avg" not in state:
            state["square_avg"] = zeros()
            if use_momentum:
                state["momentum"] = zeros()
        changes = []
        for i, g in enumerate(grads):
            square_avg = state["square_avg"][i]
            square_avg.mul_(0.99).addcmul_(g, g, value=1 - 0.99)
            avg = square_avg.sqrt().add_(1e-8)
            if use_momentum:
                buf = state["momentum"][i]
                buf.mul_(per_model_view(mu_t, buf)).addcdiv_(g, avg)
                changes.append(buf * lrs[i])
            else:
                changes.append(g * lrs[i] / avg)
        return changes

    def adam(grads: list[Tensor], t: int) -> list[Tensor]:
        """``torch.optim.Adam``'s changes (betas (0.9, 0.999), eps 1e-8, no amsgrad)."""
        beta1, beta2 = 0.9, 0.999
        if "exp_avg" not in state:
            state["exp_avg"], state["exp_avg_sq"] = zeros(), zeros()
        count = t + 1  # the optimizer's step count
        step_sizes = leaf_rates(-(group_rates(t) / (1 - beta1**count)))
        bias_correction2_sqrt = (1 - beta2**count) ** 0.5
        changes = []
        for i, g in enumerate(grads):
            exp_avg, exp_avg_sq = state["exp_avg"][i], state["exp_avg_sq"][i]
            exp_avg.lerp_(g, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(1e-8)
            changes.append(exp_avg * step_sizes[i] / denom)
        return changes

    def paper_adaptive(grads: list[Tensor], t: int) -> list[Tensor]:
        """:class:`ebp.optim.PaperAdaptiveRate`'s changes (eqs 17-18), then eq 19 for η."""
        assert adaptive_eta is not None
        delta, alpha, beta = _ADAPTIVE["delta"], _ADAPTIVE["alpha"], _ADAPTIVE["beta"]
        lrs = leaf_rates(-adaptive_eta)
        if "r" not in state:
            state["r"] = zeros()
        changes = []
        squares = torch.zeros(K, len(groups), dtype=torch.float64, device=dev)
        for i, g in enumerate(grads):
            changes.append(g * lrs[i])  # eq 17
            r = state["r"][i]
            r.mul_(1.0 - delta).add_(g, alpha=delta)  # eq 18
            squares[:, group_of[i]] += r.pow(2).flatten(1).sum(1).to(torch.float64)
        if param_groups is None:  # one global rate: the norm of r over all the parameters
            squares = squares.sum(1, keepdim=True)
        new = adaptive_eta + alpha * adaptive_eta * (beta * squares.sqrt() - adaptive_eta)
        bad = (new <= 0) & active_t[:, None]
        if bool(bad.any()):
            k, g = (int(i) for i in bad.nonzero()[0])
            old, norm = float(adaptive_eta[k, g]), float(squares[k, g].sqrt())
            raise ValueError(
                f"models[{k}]: eq 19 made the learning rate non-positive ({old:.4g} -> "
                f"{float(new[k, g]):.4g}, with beta*||r|| = {beta * norm:.4g}) because "
                f"alpha*eta = {alpha * old:.4g} >= 1; lower alpha (or eta)"
            )
        adaptive_eta.copy_(torch.where(active_t[:, None], new, adaptive_eta))  # eq 19
        return changes

    step_of = {"sgd": sgd, "rmsprop": rmsprop, "adam": adam, "adaptive": paper_adaptive}
    optimizer_step = step_of[optimizer]

    def update(grads: list[Tensor], t: int) -> None:
        """Update ``t`` (0-based) of every active model, as ``fit``'s clipping and optimizer
        would do it (clip values, then the norm; weight decay inside the optimizer)."""
        with torch.no_grad():
            if clip_value is not None:
                grads = [g.clamp(-clip_value, clip_value) for g in grads]
            if clip_norm is not None:
                norms = torch.stack(
                    [torch.linalg.vector_norm(g.flatten(1), 2, dim=1) for g in grads]
                )
                total = torch.linalg.vector_norm(norms, 2, dim=0)
                coef = torch.clamp(clip_norm / (total + 1e-6), max=1.0)
                grads = [g * per_model_view(coef, g) for g in grads]
            if use_decay:
                grads = [
                    g + p * per_model_view(wd_t, p) for g, p in zip(grads, leaves, strict=True)
                ]
            changes = optimizer_step(grads, t)
            all_active = all(active)
            for p, change in zip(leaves, changes, strict=True):
                if not all_active:
                    change = torch.where(per_model_view(active_t, p), change, 0.0)
                p.add_(change)

    histories = [History() for _ in range(K)]

    def next_eta(k: int, t: int) -> float:
        """The rate of model ``k``'s update ``t`` (what ``fit`` records in ``history.eta``)."""
        if adaptive_eta is not None:
            return float(adaptive_eta[k, 0])
        return schedules[k](t)

    def last_eta(k: int, t: int) -> float:
        """The rate of model ``k``'s last update, ``t − 1``, for messages (as fit)."""
        if adaptive_eta is not None:
            return float(adaptive_eta[k, 0])
        return schedules[k](max(t - 1, 0))

    def freeze(k: int, message: str, step: int, value: float) -> None:
        if on_divergence == "raise":
            err = DivergenceError(f"models[{k}]: {message}", step=step, loss=value)
            err.model_index = k  # type: ignore[attr-defined]
            raise err
        histories[k].diverged = True
        histories[k].message = message
        histories[k].step = step
        active[k] = False
        active_t[k] = False

    def check(k: int, value: float, step: int) -> bool:
        """Check model ``k``'s loss after update ``step``; freeze it and say so if diverged."""
        message = check_divergence(
            value, step=step, initial_loss=initial[k], eta=last_eta(k, step), loss_name=name
        )
        if message is None:
            return False
        freeze(k, message, step, value)
        return True

    def record(presentations: int, values: Tensor, grads: list[Tensor], step: int) -> None:
        """A row for every active model (after a divergence check unless before training)."""
        train_losses = values.tolist()
        norms = grad_norms(grads).tolist()
        vals = val_losses()
        flat = None  # the flattened weights of every model, (K, n_weights), on demand
        for k in range(K):
            if not active[k] or (step > 0 and check(k, train_losses[k], step)):
                continue  # the histories keep only finite rows
            history = histories[k]
            history.record(
                presentations=presentations,
                n_train=P,
                train_loss=train_losses[k],
                val_loss=None if vals is None else vals[k],
                grad_norm=norms[k],
            )
            if varying[k] or adaptive_eta is not None:
                history.eta.append(next_eta(k, step))
            if snapshots:
                if flat is None:
                    flat = torch.cat([p.detach().reshape(K, -1) for p in leaves], dim=1)
                    flat = flat.cpu().to(torch.float64).numpy()
                history.weights.append(flat[k].copy())

    values, grads = losses_and_grads(X, y, per_model=False)
    if values.shape != (K,):  # a callable loss that is not reduced to one number per model
        check_scalar_loss(values[0])
    initial = values.tolist()
    for k, value in enumerate(initial):
        if not math.isfinite(value):
            raise ValueError(
                f"the initial loss of models[{k}] is not finite ({value}); check X, y and the "
                "weights"
            )
    record(0, values, grads, step=0)

    # The presentation order of every epoch: one for all models when they share a seed (and
    # without emphasis), else one per model, drawn from each model's own generator as in fit.
    samplers: list[EmphasisSampler] | None = None
    if emphasis is not None:
        samplers = [emphasis.sampler(P, torch.Generator().manual_seed(s)) for s in seeds]
    full_batch = batch_size == P and samplers is None
    per_model_order = samplers is not None or (len(set(seeds)) > 1 and order != "fixed")
    generators = [torch.Generator().manual_seed(s) for s in seeds]

    def epoch_indices() -> Tensor:
        """The epoch's pattern indices: ``(P,)`` shared, or ``(K, P)`` one row per model."""
        if samplers is not None:
            with torch.no_grad():
                errors = pattern_losses(outputs_shared_data(params, constants, X)).cpu().numpy()
            rows = []
            for k, sampler in enumerate(samplers):
                if active[k]:  # a frozen model's row is never used
                    sampler.update(errors[k])
                    rows.append(sampler.draw())
                else:
                    rows.append(torch.arange(P))
            return torch.stack(rows)
        if not per_model_order:
            return epoch_order(order, P, labels=labels, generator=generators[0])
        return torch.stack([epoch_order(order, P, labels=labels, generator=g) for g in generators])

    step = 0
    presented = 0
    mark = 0
    for epoch in range(1, epochs + 1):
        if full_batch:
            update(grads, step)  # the full-set gradient of the last record
            step += 1
        else:
            for batch in epoch_indices().split(batch_size, dim=-1):
                idx = batch.to(dev)
                batch_values, batch_grads = losses_and_grads(X[idx], y[idx], per_model_order)
                if step > 0:  # the loss after the previous update
                    batch_losses = batch_values.tolist()
                    for k in range(K):
                        if active[k]:
                            check(k, batch_losses[k], step)
                    if not any(active):
                        break
                update(batch_grads, step)
                step += 1
                presented += batch.shape[-1]
                if record_every is not None and presented // record_every > mark:
                    mark = presented // record_every
                    if presented < epoch * P:  # epoch ends are recorded below
                        values, grads = losses_and_grads(X, y, per_model=False)
                        record(presented, values, grads, step=step)
                        if not any(active):
                            break
        if not any(active):
            break
        presented = epoch * P
        values, grads = losses_and_grads(X, y, per_model=False)
        record(epoch * P, values, grads, step=step)
        if not any(active):
            break

    with torch.no_grad():
        for k, model in enumerate(trained):
            named = dict(model.named_parameters())
            for n, p in params.items():
                named[n].copy_(p[k])
    return ManyHistory(
        histories=histories,
        models=trained,
        eta=np.asarray(etas, dtype=float),
        momentum=np.asarray(mus, dtype=float),
        seed=np.asarray(seeds, dtype=np.int64),
    )
