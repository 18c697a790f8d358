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
``fit_many`` and ``fit`` run one engine (:mod:`ebp.engine`): the same loop, presentation
orders, rates, divergence checks and records, and the same update rules (:mod:`ebp.updates`),
here with one coefficient per model.  What this module adds is how the ``K`` models compute:
their parameter sets are stacked along a new leading axis
(:func:`torch.func.stack_module_state`), and the forward pass of ``models[0]``'s architecture is
mapped over that axis with :func:`torch.func.vmap` of :func:`torch.func.functional_call`, so any
``nn.Module`` works, not only MLPs.  One backward pass of ``Σ_k E_k`` gives every model's own
gradient ``∂E_k/∂θ_k`` at once: ``E_k`` depends on ``θ_k`` only, so the other terms contribute
exactly zero.  Models that share a shuffling seed share one mini-batch of indices; otherwise
(and with emphasizing) every model gets its own.  With full-batch training the full-set
gradient measured for the record after an epoch is the gradient the next update needs, so it is
computed once, not twice as in :func:`ebp.train.fit`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap

from ebp._validate import check_choice, check_int, check_positive, describe
from ebp.engine import (
    OPTIMIZERS,
    Data,
    Models,
    Rates,
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
    LossFn,
    batched_loss,
    check_scalar_loss,
    get_loss,
    loss_name,
    pattern_losses,
    trainable_parameters,
)
from ebp.presentation import Emphasis
from ebp.repro import single_threaded
from ebp.schedules import Schedule, as_schedule
from ebp.updates import Grads, LeafCoefficients

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
    eta
        The learning rate of each model, shape ``(K,)`` (of the first update, η_k(0), for a
        schedule or the adaptive rate).
    momentum
        The momentum of each model, shape ``(K,)``.
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


def _check_groups(param_groups: Any, model: nn.Module) -> list[tuple[set[str], float | None]]:
    """``param_groups`` of ``model``'s parameters as (parameter names, ``"lr"`` or None)."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if param_groups is None:
        return [({n for n, _ in named}, None)]
    try:
        checked = check_param_groups(param_groups, [p for _, p in named])
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
# Training
# ---------------------------------------------------------------------------------------------


class _Stacked(Models):
    """``K`` models of one architecture, their parameters stacked along a leading axis and the
    forward pass mapped over it with :func:`torch.func.vmap` (:class:`ebp.engine.Models`)."""

    stacked = True

    def __init__(self, trained: list[nn.Module], loss: str | LossFn, data: Data) -> None:
        self.K, self.data, self.trained = len(trained), data, trained
        self.name, self.fn = loss_name(loss), get_loss(loss)
        base = trained[0]
        # trainable parameters: leaves updated in place; the rest (frozen parameters, buffers)
        # passed along unchanged
        stacked_params, stacked_buffers = stack_module_state(trained)
        self.names = [n for n, p in base.named_parameters() if p.requires_grad]
        self.by_name = {n: stacked_params[n].detach().requires_grad_(True) for n in self.names}
        everything = {**stacked_params, **stacked_buffers}
        self.constants = {n: t.detach() for n, t in everything.items() if n not in self.by_name}
        self.params = list(self.by_name.values())

        def output_of(p: dict[str, Tensor], c: dict[str, Tensor], x: Tensor) -> Tensor:
            return functional_call(base, (p, c), (x,))

        self.outputs_shared_data = vmap(output_of, in_dims=(0, 0, None))
        self.outputs_own_data = vmap(output_of, in_dims=(0, 0, 0))
        self.losses = batched_loss(loss)

    def _losses_and_grads(self, x: Tensor, t: Tensor, per_model: bool) -> tuple[Tensor, Grads]:
        """``E_k`` for every model ``k`` and the gradients ``∂E_k/∂θ_k``, stacked: one backward
        pass of ``Σ_k E_k`` (``E_k`` depends on ``θ_k`` only)."""
        forward = self.outputs_own_data if per_model else self.outputs_shared_data
        with torch.enable_grad():
            values = self.losses(forward(self.by_name, self.constants, x), t, per_model)
            grads = torch.autograd.grad(values.sum(), self.params)
        return values.detach(), list(grads)

    def batch(self, idx: Tensor) -> tuple[list[float], Grads]:
        idx = idx.to(self.data.X.device)
        values, grads = self._losses_and_grads(self.data.X[idx], self.data.y[idx], idx.ndim == 2)
        return values.tolist(), grads

    def full(self) -> tuple[list[float], Grads]:
        values, grads = self._losses_and_grads(self.data.X, self.data.y, per_model=False)
        if values.shape != (self.K,):  # a callable loss that is not reduced to one number
            check_scalar_loss(values[0])
        return values.tolist(), grads

    def val_losses(self) -> list[float] | None:
        if self.data.X_val is None:
            return None
        with torch.no_grad():
            out = self.outputs_shared_data(self.by_name, self.constants, self.data.X_val)
            return self.losses(out, self.data.y_val, False).tolist()

    def pattern_losses(self) -> np.ndarray:
        out = self.outputs_shared_data(self.by_name, self.constants, self.data.X)
        return pattern_losses(self.fn, self.name, out, self.data.y, stacked=True).cpu().numpy()

    def flat_weights(self) -> np.ndarray:
        flat = torch.cat([p.detach().reshape(self.K, -1) for p in self.params], dim=1)
        return flat.cpu().to(torch.float64).numpy()

    def finish(self) -> list[nn.Module]:
        """The trained copies, holding the final weights."""
        with torch.no_grad():
            for k, model in enumerate(self.trained):
                named = dict(model.named_parameters())
                for n, p in self.by_name.items():
                    named[n].copy_(p[k])
        return self.trained


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
    schedules = _per_model(eta, "eta", K, as_schedule)
    mus = _per_model(momentum, "momentum", K, check_momentum)
    seeds = _per_model(seed, "seed", K, _check_seed)
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
    decays = _per_model(weight_decay, "weight_decay", K, _check_decay)
    optimizer = _check_optimizer(optimizer)
    groups = _check_groups(param_groups, models[0])

    # Copies hold the trained weights; the first is also the architecture vmap calls.
    trained = [copy.deepcopy(m) for m in models]
    if device is not None:
        for m in trained:
            m.to(device)
    first = next(iter(trained[0].parameters()))
    dtype, dev = first.dtype, first.device
    data = training_data(trained[0], X, y, X_val, y_val, batch_size, name, dtype, dev)
    stack = _Stacked(trained, loss, data)

    # group g's rate for model k at t = 0: its own "lr" (for models[0]; scaled by η_k/η_0 for
    # model k) or η_k
    etas = [s(0) for s in schedules]
    bases = [
        [etas[k] if lr is None else lr * (etas[k] / etas[0]) for _, lr in groups] for k in range(K)
    ]
    rates = Rates(schedules, bases, [lr is not None for _, lr in groups], True, dev)
    check_optimizer_args(optimizer == "adaptive", optimizer, mus, rates)
    group_of = [next(g for g, (names, _) in enumerate(groups) if n in names) for n in stack.names]
    leaf = LeafCoefficients(group_of, dtype, stacked=True)
    rule = make_rule(optimizer, leaf, torch.tensor(mus, dtype=dtype, device=dev), rates)
    histories = [History() for _ in range(K)]
    train_models(
        stack,
        rates,
        options,
        histories,
        seeds=seeds,
        loss_name=name,
        weight_decay=torch.tensor(decays, dtype=dtype, device=dev) if any(decays) else None,
        rule=rule,
        label=True,
        reuse_full_batch=True,
    )
    return ManyHistory(
        histories=histories,
        models=stack.finish(),
        eta=np.asarray(etas, dtype=float),
        momentum=np.asarray(mus, dtype=float),
        seed=np.asarray(seeds, dtype=np.int64),
    )
