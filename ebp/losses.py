"""The book's losses, their conventions, and the input/target handling every consumer shares.

Loss convention
---------------
Every loss is a mean over the ``P`` patterns it is evaluated on, the paper's
``E = (1/P) Σ_p E^p`` (§2), and the squared error keeps the paper's ½:

``"mse"``
    ``E = (1/P) Σ_p ½ ‖d^p − o^p‖²`` (paper eq 28), so ``∂E/∂o^p = (o^p − d^p)/P``.  **This is
    not** ``torch.nn.MSELoss()``: that averages over the ``K`` outputs too and has no ½, so for
    ``K`` outputs ``"mse"`` is ``K/2`` times ``nn.MSELoss()`` (and its Hessian ``K/2`` times
    theirs).  It is the same number as :mod:`ebp.scratch` computes for ``"mse"``.
``"cross_entropy"`` (alias ``"softmax_ce"``, the name :mod:`ebp.scratch` uses)
    ``E = −(1/P) Σ_p Σ_k d_k^p log softmax(z^p)_k`` on the network's *logits* ``z`` (the model
    has no softmax layer).  Targets: integer labels ``(P,)`` or probability rows ``(P, K)``.
``"bce"``
    ``E = (1/P) Σ_p Σ_k [−d_k log σ(z_k) − (1 − d_k) log(1 − σ(z_k))]`` on logits ``z`` (the
    model has no logistic layer; the loss applies it stably).  Targets in [0, 1].

A callable ``loss(output, target) -> scalar tensor`` may be given instead of a name; it should
be a mean over the patterns too (see :func:`ebp.hessian.HessianOperator` for what that means
when data come in batches).

Inputs and targets
------------------
:func:`as_inputs`, :func:`as_targets` and :func:`check_against_output` turn user data into
tensors of a model's dtype and device and check them against the model, with messages that name
the argument; :func:`ebp.train.fit`, :func:`ebp.many.fit_many`, :mod:`ebp.hessian` and
:mod:`ebp.optim` all use them, so every entry point refuses bad data the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import vmap

from ebp._validate import as_tensor, check_choice, describe, real_array

__all__ = [
    "LOSSES",
    "LossFn",
    "as_inputs",
    "as_targets",
    "bce_loss",
    "check_against_output",
    "check_finite_parameters",
    "check_model",
    "check_scalar_loss",
    "cross_entropy_loss",
    "expected_input_width",
    "get_loss",
    "loss_name",
    "model_dtype_device",
    "model_output",
    "mse_loss",
    "pattern_losses",
    "trainable_parameters",
]

LossFn = Callable[[Tensor, Tensor], Tensor]
"""A loss, ``loss(output, target)`` → scalar tensor (mean over the patterns)."""


# ---------------------------------------------------------------------------------------------
# Losses (all means over patterns; see the module docstring)
# ---------------------------------------------------------------------------------------------


def _same_shape(output: Tensor, target: Tensor, what: str) -> None:
    if output.shape != target.shape:
        raise ValueError(
            f"target must have the shape of the {what} {tuple(output.shape)}; got shape "
            f"{tuple(target.shape)} (reshape it explicitly: shapes are never broadcast)"
        )


def _check_loss_args(output: Any, target: Any, what: str) -> None:
    """The one check of every named loss: ``output`` (called ``what``) and ``target`` are
    tensors of real numbers (floating or integer; not bool, not complex), else ``TypeError``
    naming the argument.  Dtype and type tests only: no host sync, so it is free in a
    training loop."""
    for value, name in ((output, what), (target, "target")):
        if not isinstance(value, Tensor):
            raise TypeError(
                f"{name} must be a torch.Tensor of real numbers; got {type(value).__name__} "
                f"{describe(value)} (convert with torch.as_tensor, or use ebp.losses.as_targets)"
            )
        if value.dtype == torch.bool or value.is_complex():
            raise TypeError(f"{name} must be a tensor of real numbers; got dtype {value.dtype}")


def _check_labels(logits: Tensor, target: Tensor) -> None:
    """Integer ``target`` of cross-entropy: class labels of shape ``(P,)`` in ``[0, K − 1]``."""
    P = logits.shape[0] if logits.ndim else None
    if logits.ndim != 2 or target.shape != (P,):
        raise ValueError(
            f"target given as integer class labels must have shape ({P},), one label per row of "
            f"the logits {tuple(logits.shape)}; got shape {tuple(target.shape)} (probability "
            "rows must be floating)"
        )
    K = logits.shape[1]
    if P:
        lo, hi = torch.aminmax(target)  # one reduction (a host sync on a GPU)
        lo, hi = int(lo), int(hi)
        if lo < 0 or hi >= K:
            raise ValueError(
                f"target class labels must lie in [0, {K - 1}] (the logits have {K} columns); "
                f"got values in [{lo}, {hi}]"
            )


def mse_loss(output: Tensor, target: Tensor) -> Tensor:
    """``E = (1/P) Σ_p ½ ‖d^p − o^p‖²`` (paper §2 and eq 28, with its ½).

    ``K/2`` times ``torch.nn.MSELoss()`` for ``K`` outputs.  ``target`` must have the shape of
    ``output`` (a ``(P,)`` target against a ``(P, 1)`` output is refused, never broadcast).
    Both must be tensors of real numbers (``TypeError`` naming the argument otherwise).
    """
    _check_loss_args(output, target, "output")
    _same_shape(output, target, "output")
    diff = output - target
    return 0.5 * diff.pow(2).sum() / output.shape[0]


def cross_entropy_loss(logits: Tensor, target: Tensor) -> Tensor:
    """Softmax cross-entropy ``−(1/P) Σ_p Σ_k d_k log softmax(z)_k`` of logits ``z``.

    ``target`` holds integer labels ``(P,)`` in ``[0, K − 1]`` or floating probability rows of
    the logits' shape (``ValueError``/``TypeError`` naming ``target`` otherwise).
    """
    _check_loss_args(logits, target, "logits")
    if not target.is_floating_point():
        _check_labels(logits, target)
        return F.cross_entropy(logits, target if target.dtype == torch.long else target.long())
    _same_shape(logits, target, "logits")
    return -(target * F.log_softmax(logits, dim=1)).sum() / logits.shape[0]


def bce_loss(logits: Tensor, target: Tensor) -> Tensor:
    """Binary cross-entropy of logistic outputs ``σ(z)``: sum over outputs, mean over patterns."""
    _check_loss_args(logits, target, "logits")
    _same_shape(logits, target, "logits")
    total = F.binary_cross_entropy_with_logits(logits, target, reduction="sum")
    return total / logits.shape[0]


LOSSES: dict[str, LossFn] = {
    "mse": mse_loss,
    "cross_entropy": cross_entropy_loss,
    "softmax_ce": cross_entropy_loss,
    "bce": bce_loss,
}
"""Loss names accepted throughout ``ebp``, and their functions."""


def _check_loss_arg(loss: Any) -> None:
    if isinstance(loss, type):
        raise TypeError(
            f"loss must be a loss name, a loss function or a loss instance; got the class "
            f"{loss.__module__}.{loss.__name__} itself (instantiate it: {loss.__name__}())"
        )


def get_loss(loss: str | LossFn) -> LossFn:
    """The loss function for a name in :data:`LOSSES`, or ``loss`` itself if it is callable."""
    _check_loss_arg(loss)
    if callable(loss):
        return loss
    return LOSSES[check_choice(loss, "loss", LOSSES)]


def loss_name(loss: str | LossFn) -> str | None:
    """The canonical name of a named loss (``"softmax_ce"`` → ``"cross_entropy"``), ``None`` for
    a callable."""
    _check_loss_arg(loss)
    if callable(loss):
        return None
    name = check_choice(loss, "loss", LOSSES)
    return "cross_entropy" if name == "softmax_ce" else name


def pattern_losses(
    fn: LossFn, name: str | None, out: Tensor, y: Tensor, *, stacked: bool = False
) -> Tensor:
    """Each pattern's own loss ``E^p`` (so that ``E`` is their mean), without gradients.

    ``out`` is one model's output ``(P, …)``, or with ``stacked=True`` the outputs of ``K``
    models ``(K, P, …)`` against the shared targets ``y``; the result is ``(P,)`` or ``(K, P)``.
    """
    d = 2 if stacked else 1  # the first axis after the patterns
    if name == "mse":
        return 0.5 * (out - y).pow(2).flatten(d).sum(d)
    if name == "cross_entropy":
        if y.dtype == torch.long:
            if stacked:
                return F.cross_entropy(
                    out.transpose(1, 2), y.expand(out.shape[0], -1), reduction="none"
                )
            return F.cross_entropy(out, y, reduction="none")
        return -(y * F.log_softmax(out, dim=d)).sum(d)
    if name == "bce":
        total = F.binary_cross_entropy_with_logits(out, y.expand_as(out), reduction="none")
        return total.flatten(d).sum(d)
    if stacked:
        return torch.stack([pattern_losses(fn, None, o, y) for o in out])
    return torch.stack([fn(out[i : i + 1], y[i : i + 1]) for i in range(out.shape[0])])


def batched_loss(loss: str | LossFn) -> Callable[[Tensor, Tensor, bool], Tensor]:
    """The loss for ``K`` models at once: ``(outputs, targets, per_model) -> (E_k)_k``.

    ``outputs`` is ``(K, P, …)``, the stacked outputs of the models; ``targets`` is shared,
    ``(P, …)``, or one per model, ``(K, P, …)``, as ``per_model`` says.  Returns ``(E_k)_k``,
    shape ``(K,)``, where ``E_k = loss(outputs[k], targets[k])`` with the function of
    :data:`~ebp.losses.LOSSES` (equal to rounding).  The named losses are written for the stacked
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
# Models, inputs and targets
# ---------------------------------------------------------------------------------------------


def check_model(model: Any) -> nn.Module:
    """Return ``model`` if it is a ``torch.nn.Module``, else raise ``TypeError``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    return model


def trainable_parameters(model: nn.Module, name: str = "model") -> list[nn.Parameter]:
    """The parameters of ``model`` with ``requires_grad``, at least one (else ``ValueError``)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError(
            f"{name} must have at least one parameter with requires_grad=True (all of its "
            f"{sum(1 for _ in model.parameters())} parameters are frozen: nothing to train)"
        )
    return params


def check_finite_parameters(model: nn.Module, name: str = "model") -> None:
    """Raise ``ValueError`` if a parameter of ``model`` holds NaN or ±Inf (e.g. after a run
    that diverged), saying how many entries do, instead of computing NaN results."""
    bad, total = 0, 0
    with torch.no_grad():
        for p in model.parameters():
            total += p.numel()
            bad += int((~torch.isfinite(p)).sum())
    if bad:
        raise ValueError(
            f"{name} must have finite parameters; {bad} of its {total} parameter entries are "
            "NaN or Inf (did a training run diverge?)"
        )


def check_scalar_loss(value: Any, what: str = "loss") -> Tensor:
    """Return ``value`` if it is a 0-dimensional tensor (a loss, or any scalar objective), else
    raise ``ValueError`` saying that ``what`` must return one."""
    if not isinstance(value, Tensor) or value.ndim != 0:
        shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
        raise ValueError(f"{what} must return a scalar tensor (0-dimensional); got {shape}")
    return value


_SHAPE_ERROR = re.compile(
    r"mat1 and mat2|shapes? cannot|size mismatch|must match the size|invalid for input of size|"
    r"expected input|to have \d+ channels|input\[",
    re.IGNORECASE,
)


def model_output(
    model: nn.Module,
    X: Tensor,
    name: str = "X",
    *,
    keep_buffers: bool = False,
    shape: tuple[int, ...] | None = None,
) -> Tensor:
    """``model(X)``, checked: a tensor, and a shape error of the forward pass reported as a
    ``ValueError`` that names ``X`` when the model's input width could not be checked
    beforehand (:func:`expected_input_width` is ``None``; otherwise :func:`as_inputs` has
    checked it, and a shape error is the model's own and propagates unchanged).

    Parameters
    ----------
    model
        The network.
    X
        Its input, already a tensor (:func:`as_inputs`).
    name
        The argument's name, used in messages.
    keep_buffers
        Restore every buffer afterwards (batch-norm running statistics, its counter): the pass
        runs in the model's own mode, so its outputs are those of ``model(X)``, but it leaves
        the model exactly as it was.
    shape
        The shape of the whole argument, for messages, when ``X`` is a part of it (the first
        pattern, say).
    """
    saved = [(b, b.detach().clone()) for b in model.buffers()] if keep_buffers else []
    try:
        out = model(X)
    except RuntimeError as err:
        # a known width was checked by as_inputs: a shape error is then the model's own
        if expected_input_width(model) is not None or _SHAPE_ERROR.search(str(err)) is None:
            raise
        raise ValueError(
            f"{name} must have the shape the model's first layer takes; got shape "
            f"{tuple(X.shape if shape is None else shape)}, and the model's forward pass "
            f"failed with: {err}"
        ) from err
    finally:
        with torch.no_grad():
            for b, value in saved:
                b.copy_(value)
    if not isinstance(out, Tensor):
        raise TypeError(
            f"model must return a single tensor (the outputs); it returned {type(out).__name__} "
            "(wrap it so that forward returns the output tensor only)"
        )
    return out


def model_dtype_device(model: nn.Module) -> tuple[torch.dtype, torch.device]:
    """The dtype and device of ``model``'s first parameter (``ValueError`` if it has none)."""
    for p in model.parameters():
        return p.dtype, p.device
    raise ValueError("model must have at least one parameter")


def expected_input_width(model: nn.Module) -> int | None:
    """The number of input columns ``model`` expects, when it can be read off the model.

    That is the ``in_features`` of the first module that runs: ``model`` itself, or the first
    layer of an ``nn.Sequential`` (recursively).  ``None`` when it cannot be known without
    running the model (any other architecture).
    """
    module: nn.Module = model
    while isinstance(module, nn.Sequential) and len(module) > 0:
        module = module[0]
    width = getattr(module, "in_features", None)
    return width if isinstance(width, int) else None


def as_inputs(
    X: Any,
    name: str,
    dtype: torch.dtype,
    device: torch.device,
    *,
    model: nn.Module | None = None,
    ndim: int | None = 2,
    keep_integer: bool = False,
) -> Tensor:
    """``X`` as a tensor of ``dtype`` on ``device``, with at least one pattern (row).

    Parameters
    ----------
    X
        Array-like or tensor, patterns along the first axis.
    name
        The argument's name, used in messages.
    dtype, device
        Those of the model.
    model
        If given, the width of ``X`` is checked against :func:`expected_input_width`.
    ndim
        Required number of dimensions (2 for ``(P, n_in)``); ``None`` accepts any shape with a
        pattern axis first (images, sequences).
    keep_integer
        If true, integer inputs (token ids, class indices for an embedding) keep an integer
        dtype (``torch.long``) instead of being cast to ``dtype``; floating inputs are cast as
        usual.  Default false: every input becomes ``dtype``.
    """
    if not isinstance(keep_integer, bool):
        raise TypeError(f"keep_integer must be a bool; got {type(keep_integer).__name__}")
    if keep_integer:
        raw = X if isinstance(X, Tensor) else torch.as_tensor(real_array(X, name))
        if raw.dtype != torch.bool and not raw.is_complex() and not raw.is_floating_point():
            if ndim is not None and raw.ndim != ndim:
                raise ValueError(f"{name} must be {ndim}-dimensional; got shape {tuple(raw.shape)}")
            X = raw.to(device=device, dtype=torch.long)
            if X.ndim == 0 or X.shape[0] == 0:
                raise ValueError(
                    f"{name} must contain at least one pattern; got shape {tuple(X.shape)}"
                )
            return X
    t = as_tensor(X, name, ndim=ndim, dtype=dtype, device=device)
    if t.ndim == 0 or t.shape[0] == 0:
        raise ValueError(f"{name} must contain at least one pattern; got shape {tuple(t.shape)}")
    if model is not None:
        width = expected_input_width(model)
        if width is not None and (t.ndim != 2 or t.shape[1] != width):
            raise ValueError(
                f"{name} must have shape (P, {width}): the model's first layer takes {width} "
                f"inputs; got shape {tuple(t.shape)}"
            )
    return t


def as_targets(
    y: Any,
    name: str,
    loss: str | None,
    n_patterns: int,
    dtype: torch.dtype,
    device: torch.device,
) -> Tensor:
    """Targets as a tensor: long labels for cross-entropy, else floats; 1-D → a column.

    A 1-D target of ``"mse"`` or ``"bce"`` becomes a column ``(P, 1)``, explicitly (documented
    here and checked against the model's output by :func:`check_against_output`).
    """
    if y is None or isinstance(y, (str, bytes)):
        raise TypeError(f"{name} must be an array of targets; got {type(y).__name__}")
    raw = y if isinstance(y, Tensor) else torch.as_tensor(real_array(y, name))
    if raw.dtype == torch.bool or raw.is_complex():
        raise TypeError(f"{name} must hold real numbers; got dtype {raw.dtype}")
    if raw.ndim == 0 or raw.shape[0] != n_patterns:
        raise ValueError(
            f"{name} must have one row per pattern ({n_patterns}); got shape {tuple(raw.shape)}"
        )
    integer = not raw.is_floating_point()
    if loss == "cross_entropy" and raw.ndim == 1:
        if not integer:
            raise TypeError(
                f"{name} given as class labels (1-D) must be integers for loss='cross_entropy'; "
                f"got dtype {raw.dtype}"
            )
        return raw.to(device=device, dtype=torch.long)
    if loss is None and integer:
        return raw.to(device=device, dtype=torch.long)
    t = as_tensor(raw, name, dtype=dtype, device=device)
    if loss in ("mse", "bce") and t.ndim == 1:
        t = t[:, None]
    if loss in ("cross_entropy", "bce") and bool(((t < 0) | (t > 1)).any()):
        raise ValueError(f"{name} must lie in [0, 1] for loss={loss!r}")
    return t


def check_against_output(out: Tensor, target: Tensor, name: str, loss: str | None) -> None:
    """Check all of ``target`` against the model's output ``out`` for one or more patterns."""
    if loss is None:
        return
    n_out = out.shape[1] if out.ndim == 2 else None
    if loss == "cross_entropy" and target.ndim == 1:
        lo, hi = int(target.min()), int(target.max())
        if n_out is None or lo < 0 or hi >= n_out:
            raise ValueError(
                f"{name} class labels must lie in [0, {(n_out or 1) - 1}] (the model has "
                f"{n_out} outputs); got values in [{lo}, {hi}]"
            )
        return
    if tuple(target.shape[1:]) != tuple(out.shape[1:]):
        want = (target.shape[0], *out.shape[1:])
        raise ValueError(
            f"{name} must have the shape of the model's output {want}; "
            f"got shape {tuple(target.shape)}"
        )
