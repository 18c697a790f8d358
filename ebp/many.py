"""Many models at once: train ``K`` networks of identical structure in one vectorised loop.

:func:`fit_many` trains models that differ only in their weights (the initialization seed), in
the learning rate η, in the momentum μ or in the shuffling seed, and gives for every model ``k``
what :func:`ebp.train.fit` gives for ``models[k]`` alone with the same arguments: the same
losses (imported from :mod:`ebp.train`), the same presentation order (the same seeded
``torch.Generator``), the same updates as ``torch.optim.SGD`` (dampening 0, no Nesterov), the
same per-model clipping as ``torch.nn.utils.clip_grad_norm_``, the same records before training
and after every epoch, and the same divergence checks.  The results agree to floating-point
rounding (batched matrix products sum in another order); the tests hold them to 1e-10 relative
in float64.  The book uses it for every seed and learning-rate sweep.

How it works
------------
The ``K`` parameter sets are stacked along a new leading axis
(:func:`torch.func.stack_module_state`), and the forward pass of ``models[0]``'s architecture is
mapped over that axis with :func:`torch.func.vmap` of :func:`torch.func.functional_call`, so any
``nn.Module`` works, not only MLPs.  One backward pass of ``Σ_k E_k`` gives every model's own
gradient ``∂E_k/∂θ_k`` at once: ``E_k`` depends on ``θ_k`` only, so the other terms contribute
exactly zero.  With full-batch training the full-set gradient measured for the record after an
epoch is the gradient the next update needs, so it is computed once, not twice as in
:func:`ebp.train.fit`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap

from ebp._validate import check_choice, check_int, check_positive
from ebp.history import DivergenceError, History, check_divergence
from ebp.repro import single_threaded
from ebp.train import (
    LossFn,
    _loss_name,
    _training_data,
    get_loss,
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
        The learning rate and momentum of each model, shape ``(K,)``.
    seed
        The shuffling seed of each model, shape ``(K,)``.

    The array views :attr:`train_loss`, :attr:`val_loss` and :attr:`grad_norm` have shape
    ``(K, T)`` with ``T`` the number of records of the longest run; the rows of models that
    diverged are padded with NaN after their last record (the histories themselves hold only
    finite records).
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
    if not any(requires_grad for *_, requires_grad in reference["parameters"]):
        raise ValueError("models[0] must have at least one parameter with requires_grad=True")
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


def _check_eta(value: Any, name: str) -> float:
    return check_positive(value, name)


def _check_momentum(value: Any, name: str) -> float:
    value = check_positive(value, name, allow_zero=True)
    if value >= 1:
        raise ValueError(f"{name} must be in [0, 1); got {value}")
    return value


def _check_seed(value: Any, name: str) -> int:
    return check_int(value, name, min_value=0)


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
    name = _loss_name(loss)
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
    eta: float | Sequence[float],
    epochs: int,
    batch_size: int | None = None,
    momentum: float | Sequence[float] = 0.0,
    clip_norm: float | None = None,
    shuffle: bool = True,
    seed: int | Sequence[int] = 0,
    X_val: Any = None,
    y_val: Any = None,
    on_divergence: str = "stop",
    device: torch.device | str | None = None,
) -> ManyHistory:
    """Train ``K`` models of identical structure at once, each as :func:`ebp.train.fit` would.

    For every ``k``, ``result.histories[k]`` and ``result.models[k]`` equal (to floating-point
    rounding) what ``ebp.train.fit(models[k], X, y, eta=eta[k], momentum=momentum[k],
    seed=seed[k], on_divergence="stop", …)`` records and leaves in the model, with the other
    arguments shared.

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
        ``"mse"`` (with the ½), ``"cross_entropy"``, ``"bce"``, or a callable
        ``loss(output, target)`` that works under :func:`torch.func.vmap`.
    eta
        Learning rate η > 0 (paper eq 10): one for all, or one per model.
    epochs
        Passes through the training set, ≥ 1.
    batch_size
        Patterns per update: ``None`` for full batch, 1 for online learning (eq 11).
    momentum
        μ in [0, 1) (PyTorch's form, as in :func:`ebp.train.fit`): one for all, or one per model.
    clip_norm
        If given, rescale each model's gradient to global norm ≤ ``clip_norm`` before each update
        (per model, as ``torch.nn.utils.clip_grad_norm_``).
    shuffle
        Visit the patterns in a fresh random order every epoch (§4.2).
    seed
        Seed of the shuffling generator: one for all (every model then sees the same sequence
        of mini-batches, that of ``fit(…, seed=seed)``), or one per model.
    X_val, y_val
        Optional validation set, evaluated at every record.
    on_divergence
        ``"stop"`` (the default here, unlike :func:`ebp.train.fit`): a model that diverges is
        frozen from that step (its weights stop changing and nothing more is recorded for it),
        its history gets ``diverged``, ``message`` and ``step``, and the other models go on.
        ``"raise"``: raise :class:`~ebp.history.DivergenceError` at the first divergence, with
        a message starting ``models[k]:`` and the model's index in ``err.model_index``.
    device
        Where to train; default: where the models' parameters are.  The returned models live
        there.

    Returns
    -------
    ManyHistory
        The per-model histories (records before training and after every epoch: full training
        loss, validation loss if given, norm of the full training gradient), ``(K, T)`` array
        views of them, and the trained copies of the models.

    Notes
    -----
    In full-batch training the gradient for the update of epoch ``e`` is the one measured for
    the record after epoch ``e − 1``: the same number :func:`ebp.train.fit` computes again on
    the (shuffled) batch, up to the order of the sum over patterns.  For the same reason the
    divergence check before each full-batch update, which would repeat the check of the
    previous record, is not repeated.

    Of :func:`ebp.train.fit`'s options, the constant rate, momentum, ``clip_norm``, the shuffled
    or fixed order (``shuffle``), validation and divergence handling are supported; schedules,
    weight decay, ``clip_value``, the other presentation orders, emphasizing, other optimizers,
    callbacks and extra records are not (yet).

    The whole call runs inside :func:`ebp.repro.single_threaded`, so its sums do not depend on
    the number of cores.  On an idle 2-core machine PyTorch's two threads are about 10 % faster
    for the benchmark's 32 networks; on a busy one (a parallel book build) one thread was ten
    times faster (``benchmarks/README.md``).
    """
    models = _check_models(models)
    K = len(models)
    name = _loss_name(loss)
    etas = _per_model(eta, "eta", K, _check_eta)
    mus = _per_model(momentum, "momentum", K, _check_momentum)
    seeds = _per_model(seed, "seed", K, _check_seed)
    epochs = check_positive(epochs, "epochs", integer=True)
    if clip_norm is not None:
        clip_norm = check_positive(clip_norm, "clip_norm")
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(f"shuffle must be a bool; got {type(shuffle).__name__}")
    check_choice(on_divergence, "on_divergence", ("raise", "stop"))

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

    eta_t = torch.tensor(etas, dtype=dtype, device=dev)
    mu_t = torch.tensor(mus, dtype=dtype, device=dev)
    use_momentum = any(m != 0 for m in mus)
    buffers: list[Tensor] | None = None
    active = [True] * K
    active_t = torch.ones(K, dtype=torch.bool, device=dev)

    def per_model_view(v: Tensor, like: Tensor) -> Tensor:
        return v.view(-1, *([1] * (like.ndim - 1)))

    def update(grads: list[Tensor]) -> None:
        """One SGD step per active model, as ``torch.optim.SGD`` (and clipping) would do it."""
        nonlocal buffers
        with torch.no_grad():
            if clip_norm is not None:
                norms = torch.stack(
                    [torch.linalg.vector_norm(g.flatten(1), 2, dim=1) for g in grads]
                )
                total = torch.linalg.vector_norm(norms, 2, dim=0)
                coef = torch.clamp(clip_norm / (total + 1e-6), max=1.0)
                grads = [g * per_model_view(coef, g) for g in grads]
            if use_momentum:
                if buffers is None:
                    buffers = [g.clone() for g in grads]
                else:
                    for b, g in zip(buffers, grads, strict=True):
                        b.mul_(per_model_view(mu_t, b)).add_(g)
                grads = buffers
            all_active = all(active)
            for p, g in zip(leaves, grads, strict=True):
                change = g * per_model_view(-eta_t, g)
                if not all_active:
                    change = torch.where(per_model_view(active_t, g), change, 0.0)
                p.add_(change)

    histories = [History() for _ in range(K)]

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

    def record(epoch: int, values: Tensor, grads: list[Tensor], step: int | None) -> None:
        train_losses = values.tolist()
        norms = grad_norms(grads).tolist()
        vals = val_losses()
        for k in range(K):
            if not active[k]:
                continue
            if step is not None:  # after an epoch: check, and keep only finite rows
                message = check_divergence(
                    train_losses[k], step=step, initial_loss=initial[k], eta=etas[k]
                )
                if message is not None:
                    freeze(k, message, step, train_losses[k])
                    continue
            histories[k].record(
                presentations=epoch * P,
                n_train=P,
                train_loss=train_losses[k],
                val_loss=None if vals is None else vals[k],
                grad_norm=norms[k],
            )

    values, grads = losses_and_grads(X, y, per_model=False)
    initial = values.tolist()
    for k, value in enumerate(initial):
        if not math.isfinite(value):
            raise ValueError(
                f"the initial loss of models[{k}] is not finite ({value}); check X, y and the "
                "weights"
            )
    record(0, values, grads, step=None)

    full_batch = batch_size == P
    distinct_seeds = len(set(seeds)) > 1
    generators = [
        torch.Generator().manual_seed(s) for s in (seeds if distinct_seeds else seeds[:1])
    ]
    step = 0
    for epoch in range(1, epochs + 1):
        if full_batch:
            update(grads)  # the full-set gradient of the last record
            step += 1
        else:
            orders = [
                (torch.randperm(P, generator=g) if shuffle else torch.arange(P)).split(batch_size)
                for g in generators
            ]
            for batch in zip(*orders, strict=True):
                if distinct_seeds:
                    idx = torch.stack(batch).to(dev)
                else:
                    idx = batch[0].to(dev)
                batch_values, batch_grads = losses_and_grads(X[idx], y[idx], distinct_seeds)
                if step > 0:  # the loss after the previous update
                    batch_losses = batch_values.tolist()
                    for k in range(K):
                        if not active[k]:
                            continue
                        message = check_divergence(
                            batch_losses[k], step=step, initial_loss=initial[k], eta=etas[k]
                        )
                        if message is not None:
                            freeze(k, message, step, batch_losses[k])
                    if not any(active):
                        break
                update(batch_grads)
                step += 1
        if not any(active):
            break
        values, grads = losses_and_grads(X, y, per_model=False)
        record(epoch, values, grads, step=step)
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
