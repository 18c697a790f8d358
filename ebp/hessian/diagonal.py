"""Diagonals of the Hessian and of the Gauss–Newton matrix (paper §7.4, §9.1).

- :func:`~ebp.hessian.hessian_diagonal`: exact, from the dense matrix (small networks).
- :func:`~ebp.hessian.gauss_newton_diagonal`: exact ``diag(Jᵀ (∂²L/∂o²) J)`` from
  per-pattern Jacobians.
- :func:`~ebp.hessian.backprop_diagonal`: the paper's backpropagated diagonal (§7.4,
  eqs 54–58), one backward pass that keeps only diagonal second derivatives of the states.
- :func:`~ebp.hessian.hutchinson_diagonal`: the unbiased estimate ``E[z ⊙ H z]`` over random
  signs ``z``.

Each returns a :class:`~ebp.hessian.DiagonalResult`;
:meth:`~ebp.hessian.DiagonalResult.error` compares it with an exact one.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call, jacrev, vmap

from ebp import nn as ebp_nn
from ebp._training_mode import stochastic_layers
from ebp._validate import check_instance, check_int, check_positive
from ebp.hessian.operator import (
    CurvatureOperator,
    HessianOperator,
    NondeterministicOperatorWarning,
    _Objective,
    as_operator,
    unflatten_params,
)
from ebp.losses import LossFn

__all__ = [
    "BACKPROP_LOSSES",
    "DiagonalError",
    "DiagonalResult",
    "backprop_diagonal",
    "gauss_newton_diagonal",
    "hessian_diagonal",
    "hutchinson_diagonal",
]

BACKPROP_LOSSES: tuple[str, ...] = ("mse", "cross_entropy", "softmax_ce", "bce")
"""Losses :func:`~ebp.hessian.backprop_diagonal` knows the output second derivatives of."""


@dataclass(frozen=True)
class DiagonalError:
    """How far a diagonal is from an exact one.

    Attributes
    ----------
    rel_l2 : float
        ``‖d − d*‖ / ‖d*‖``.
    max_abs : float
        ``max |d − d*|``.
    max_rel : float
        ``max |d − d*| / max |d*|``.
    """

    rel_l2: float
    max_abs: float
    max_rel: float


@dataclass
class DiagonalResult:
    """A Hessian or Gauss–Newton diagonal.

    Attributes
    ----------
    values : torch.Tensor
        The diagonal, one entry per parameter (flat, in the model's parameter order).
    method : str
        How it was computed.
    n_products : int
        Matrix–vector products used (0 where none were).
    stderr : torch.Tensor or None
        Standard error of each entry, for an estimate.
    """

    values: Tensor
    method: str
    n_products: int = 0
    stderr: Tensor | None = None

    def error(self, exact: DiagonalResult | Any) -> DiagonalError:
        """Compare with an exact diagonal (a :class:`DiagonalResult` or a vector)."""
        ref = exact.values if isinstance(exact, DiagonalResult) else exact
        ref = torch.as_tensor(ref).detach().to("cpu", torch.float64).reshape(-1)
        d = self.values.detach().to("cpu", torch.float64).reshape(-1)
        if ref.shape != d.shape:
            raise ValueError(
                f"exact must have {d.numel()} entries like this diagonal; got {ref.numel()}"
            )
        diff = (d - ref).abs()
        ref_norm = float(ref.norm())
        ref_max = float(ref.abs().max())
        return DiagonalError(
            rel_l2=float(diff.norm()) / ref_norm if ref_norm > 0 else float(diff.norm()),
            max_abs=float(diff.max()),
            max_rel=float(diff.max()) / ref_max if ref_max > 0 else float(diff.max()),
        )

    def by_parameter(self, model: nn.Module) -> dict[str, Tensor]:
        """The values split per parameter tensor of ``model`` (e.g. per layer, for §8)."""
        return unflatten_params(self.values, model)  # type: ignore[return-value]


def hessian_diagonal(
    op: CurvatureOperator | Any, *, chunk_size: int = 256, max_products: int | None = 20_000
) -> DiagonalResult:
    """The exact diagonal of ``op`` (a Hessian or Gauss–Newton operator or a symmetric
    matrix), from products with the unit vectors: ``n`` products, small networks only.

    The columns come ``chunk_size`` at a time and only their diagonal entries are kept, so the
    memory is ``n × chunk_size``, never the dense ``n × n`` matrix.  ``max_products`` (default
    20 000) refuses a larger ``n`` up front (``None`` lifts the limit); for large networks use
    :func:`gauss_newton_diagonal`, :func:`backprop_diagonal` or :func:`hutchinson_diagonal`.
    """
    op = as_operator(op, "op")
    chunk_size = check_positive(chunk_size, "chunk_size", integer=True)
    if max_products is not None:
        max_products = check_int(max_products, "max_products", min_value=1)
        if op.dim > max_products:
            raise ValueError(
                f"max_products: the exact diagonal of {op.dim} parameters needs {op.dim} "
                f"products, more than max_products = {max_products}; use hutchinson_diagonal, "
                "gauss_newton_diagonal or backprop_diagonal, or pass max_products=None"
            )
    before = op.n_products
    values = torch.empty(op.dim, dtype=op.dtype, device=op.device)
    for start, cols in op.column_blocks(chunk_size):
        m = cols.shape[1]
        values[start : start + m] = cols[torch.arange(start, start + m), torch.arange(m)]
    return DiagonalResult(values, "exact", op.n_products - before)


# ---------------------------------------------------------------------------------------------
# Exact Gauss–Newton diagonal
# ---------------------------------------------------------------------------------------------


def _output_hessian_blocks(loss_fn: LossFn, out: Tensor, y: Tensor) -> Tensor:
    """``∂²L/∂o_p²`` for each pattern ``p``: ``(B, K, K)``, for a loss that sums over patterns."""
    B = out.shape[0]
    K = out[0].numel()
    with torch.enable_grad():
        o = out.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(loss_fn(o, y), o, create_graph=True)
        if not g.requires_grad:  # a loss linear in the outputs
            return torch.zeros(B, K, K, dtype=out.dtype, device=out.device)
        E = torch.zeros(K, B, K, dtype=out.dtype, device=out.device)
        E[torch.arange(K), :, torch.arange(K)] = 1.0  # E[k] is 1 at output k of every pattern
        (cols,) = torch.autograd.grad(
            g, o, grad_outputs=E.reshape(K, *out.shape), is_grads_batched=True
        )
    return cols.reshape(K, B, K).permute(1, 2, 0)  # [p, l, k] = column k of block p


def gauss_newton_diagonal(
    model: nn.Module,
    loss: str | LossFn,
    data: Any,
    *,
    chunk_size: int = 64,
) -> DiagonalResult:
    """The exact diagonal of the generalized Gauss–Newton matrix ``Σ_p J_pᵀ (∂²L/∂o_p²) J_p``.

    Per-pattern Jacobians ``J_p`` come from ``torch.func.jacrev`` (``chunk_size`` patterns at a
    time); the loss must be a sum over patterns (no cross-pattern second derivatives), as every
    loss of :mod:`ebp.train` is.  ``loss`` is required (``"mse"`` is the paper's
    ``(1/P) Σ_p ½‖d^p − o^p‖²``, ``K/2`` times ``nn.MSELoss()``).

    Raises
    ------
    ValueError
        If ``model`` has batch-norm or dropout layers in training mode: per-pattern Jacobians
        do not exist when a batch-norm layer couples the patterns of a batch, or when dropout
        draws a new mask per call.  Call ``model.eval()`` first (or use
        :class:`GaussNewtonOperator`, whose products take the batch as a whole).
    """
    check_instance(model, nn.Module, "model")
    stochastic = stochastic_layers(model)
    if stochastic:
        raise ValueError(
            "model has batch-norm or dropout layers in training mode "
            f"({', '.join(stochastic)}): the Gauss–Newton diagonal is built from per-pattern "
            "Jacobians, which do not exist when batch-norm couples a batch's patterns or "
            "dropout draws random masks; call model.eval() first, or use GaussNewtonOperator"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NondeterministicOperatorWarning)
        op = HessianOperator(model, loss, data)
    chunk_size = check_positive(chunk_size, "chunk_size", integer=True)
    obj: _Objective = op._obj
    w = obj.w
    total = torch.zeros_like(w)

    def single(w: Tensor, x: Tensor) -> Tensor:
        return functional_call(obj.model, obj.params_dict(w), (x[None],))[0].reshape(-1)

    jac = vmap(jacrev(single), in_dims=(None, 0))
    for (X, y), c in zip(obj.batches, obj.weights, strict=True):
        with torch.no_grad():
            out = obj.output(w, X)
        H = _output_hessian_blocks(obj.loss_fn, out, y)  # (B, K, K)
        for start in range(0, X.shape[0], chunk_size):
            stop = min(X.shape[0], start + chunk_size)
            J = jac(w, X[start:stop])  # (c, K, n)
            total += c * torch.einsum("pkn,pkl,pln->n", J, H[start:stop], J)
    return DiagonalResult(total, "gauss_newton_exact")


# ---------------------------------------------------------------------------------------------
# The paper's backpropagated diagonal (§7.4)
# ---------------------------------------------------------------------------------------------

_ELEMENTWISE = (
    nn.Tanh,
    nn.Sigmoid,
    nn.ReLU,
    nn.Identity,
    nn.LeakyReLU,
    nn.ELU,
    nn.SiLU,
    nn.Softplus,
    nn.GELU,
    ebp_nn.LeCunTanh,
    ebp_nn.Twisted,
)


def _layers(model: nn.Module) -> list[nn.Module]:
    layers = list(model) if isinstance(model, nn.Sequential) else [model]
    for i, m in enumerate(layers):
        if not isinstance(m, (nn.Linear, *_ELEMENTWISE)):
            raise ValueError(
                "backprop_diagonal needs an nn.Linear or an nn.Sequential of nn.Linear layers "
                f"and elementwise activations; layer {i} is {type(m).__name__}"
            )
    return layers


def _derivatives(act: nn.Module, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``f(y)``, ``f′(y)`` and ``f″(y)`` of an elementwise activation, by autograd."""
    with torch.enable_grad():
        y = y.detach().requires_grad_(True)
        fy = act(y)
        (f1,) = torch.autograd.grad(fy.sum(), y, create_graph=True)
        if f1.requires_grad:
            (f2,) = torch.autograd.grad(f1.sum(), y, allow_unused=True)
            f2 = torch.zeros_like(y) if f2 is None else f2
        else:
            f2 = torch.zeros_like(y)
    return fy.detach(), f1.detach(), f2.detach()


def _output_derivatives(loss_name: str, o: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Per-pattern ``∂L/∂o`` and the diagonal ``∂²L/∂o²`` for a batch mean loss."""
    B = o.shape[0]
    if loss_name == "mse":
        return (o - y) / B, torch.full_like(o, 1.0 / B)
    if loss_name == "cross_entropy":
        p = torch.softmax(o, dim=1)
        d = torch.nn.functional.one_hot(y, o.shape[1]).to(o.dtype) if y.dtype == torch.long else y
        return (p * d.sum(1, keepdim=True) - d) / B, d.sum(1, keepdim=True) * p * (1 - p) / B
    s = torch.sigmoid(o)  # bce
    return (s - y) / B, s * (1 - s) / B


def backprop_diagonal(
    model: nn.Module,
    loss: str,
    data: Any,
    *,
    gauss_newton: bool = True,
) -> DiagonalResult:
    """The paper's backpropagated diagonal second derivatives (§7.4, eqs 54–58).

    One backward pass that keeps, for each state, only its diagonal second derivative:

    - output: ``∂²E/∂o_k²`` of the loss (``1/P`` for the squared error with its ½),
    - through a unit ``x_k = f(y_k)``: ``∂²E/∂y_k² = f′(y_k)² ∂²E/∂x_k²`` (+ ``f″(y_k) ∂E/∂x_k``
      when ``gauss_newton`` is false: the diagonal of the full Hessian, Becker & LeCun),
    - through a layer ``y = W x + b``: ``∂²E/∂w_ki² = ∂²E/∂y_k² x_i²`` (summed over patterns),
      ``∂²E/∂b_k² = ∂²E/∂y_k²`` and ``∂²E/∂x_i² = Σ_k w_ki² ∂²E/∂y_k²``.

    Dropping the off-diagonal terms ``∂²E/∂y_k∂y_l`` makes it an approximation: with the squared
    error it equals the exact Gauss–Newton diagonal (or, with ``gauss_newton=False``, the exact
    Hessian diagonal) on the last two ``Linear`` layers, so for a network with one hidden layer
    everywhere; lower layers get an approximation.  For cross-entropy the softmax's own
    off-diagonal second derivatives are dropped too, so only the last layer is exact.

    Parameters
    ----------
    model
        An ``nn.Linear`` or an ``nn.Sequential`` of ``nn.Linear`` layers and elementwise
        activations (tanh, logistic, the paper's sigmoid, ReLU, twisted forms, …).
    loss
        Required: ``"mse"`` (the paper's ``(1/P) Σ_p ½‖d^p − o^p‖²``, ``K/2`` times
        ``nn.MSELoss()``), ``"cross_entropy"`` (on logits) or ``"bce"`` (on logits).
    data
        ``(X, y)`` or a sequence of ``(X, y)`` batches.
    gauss_newton
        Keep only the Gauss–Newton part (the paper's eqs, default) or add the ``f″`` terms.
    """
    check_instance(model, nn.Module, "model")
    if not isinstance(loss, str) or loss not in BACKPROP_LOSSES:
        raise ValueError(
            f"loss must be one of {', '.join(repr(x) for x in BACKPROP_LOSSES)} for "
            f"backprop_diagonal; got {loss!r}"
        )
    if not isinstance(gauss_newton, bool):
        raise TypeError(f"gauss_newton must be a bool; got {type(gauss_newton).__name__}")
    layers = _layers(model)
    op = HessianOperator(model, loss, data)
    obj = op._obj
    loss_name = obj.loss_name
    d2_params = {name: torch.zeros_like(p) for name, p in model.named_parameters()}
    prefix = "{}." if isinstance(model, nn.Sequential) else ""
    with torch.no_grad():
        for (X, y), c in zip(obj.batches, obj.weights, strict=True):
            # forward, keeping what the backward pass needs
            inputs: list[Tensor] = []
            x = X
            for m in layers:
                inputs.append(x)
                x = m(x)
            d1, d2 = _output_derivatives(loss_name, x, y)
            for i in range(len(layers) - 1, -1, -1):
                m, x_in = layers[i], inputs[i]
                if isinstance(m, nn.Linear):
                    name = prefix.format(i)
                    d2_params[f"{name}weight"] += c * d2.T @ x_in.pow(2)
                    if m.bias is not None:
                        d2_params[f"{name}bias"] += c * d2.sum(0)
                    d1, d2 = d1 @ m.weight, d2 @ m.weight.pow(2)
                else:
                    _, f1, f2 = _derivatives(m, x_in)
                    new_d2 = f1.pow(2) * d2
                    if not gauss_newton:
                        new_d2 = new_d2 + f2 * d1
                    d1, d2 = f1 * d1, new_d2
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    values = torch.cat([d2_params[n].reshape(-1) for n in names])
    method = "backprop_gauss_newton" if gauss_newton else "backprop_hessian"
    return DiagonalResult(values, method)


# ---------------------------------------------------------------------------------------------
# Hutchinson
# ---------------------------------------------------------------------------------------------


def rademacher(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` independent random signs ±1 (float64)."""
    return rng.integers(0, 2, size=n).astype(np.float64) * 2 - 1


def hutchinson_diagonal(
    op: CurvatureOperator | Any, n_samples: int = 100, *, seed: int = 0
) -> DiagonalResult:
    """Hutchinson's estimate of the diagonal, ``mean_s z_s ⊙ (H z_s)`` over random signs ``z``.

    Unbiased; each entry's standard error (``stderr``) is its sample standard deviation over
    ``√n_samples``.  Costs ``n_samples`` products.
    """
    op = as_operator(op, "op")
    n_samples = check_int(n_samples, "n_samples", min_value=2)
    seed = check_int(seed, "seed", min_value=0)
    rng = np.random.default_rng(seed)
    before = op.n_products
    samples = torch.empty(n_samples, op.dim, dtype=op.dtype, device=op.device)
    for s in range(n_samples):
        z = torch.as_tensor(rademacher(op.dim, rng), dtype=op.dtype, device=op.device)
        samples[s] = z * op.matvec(z)
    values = samples.mean(0)
    stderr = samples.std(0, unbiased=True) / n_samples**0.5
    return DiagonalResult(values, "hutchinson", op.n_products - before, stderr)
