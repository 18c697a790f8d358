"""How a training step changes the weights: clipping, weight decay and the optimizers, once.

Internal to :func:`ebp.train.fit` and :func:`ebp.many.fit_many` (and the arithmetic of
:class:`ebp.optim.PaperAdaptiveRate`); not a public API.  Every function here serves either one
model or ``K`` models stacked along a leading axis:

* **one model** (``stacked=False``): the tensors are the model's own parameters and every
  coefficient (a rate η, a momentum μ, a weight decay λ) is a Python float.  The arithmetic is
  then that of ``torch.optim.SGD``, ``RMSprop`` and ``Adam`` and of
  ``torch.nn.utils.clip_grad_value_``/``clip_grad_norm_``, operation for operation, so
  ``fit``'s updates are PyTorch's bit for bit (``tests/test_updates.py`` compares them);
* **K models** (``stacked=True``): every tensor has a leading axis of length ``K`` and a
  coefficient may be a tensor of shape ``(K,)``, one value per model, broadcast along that axis.

The rules' rates come as a *rate table*: a float64 tensor of the rate of every parameter group,
``(G,)`` for one model or ``(K, G)`` for K models, which :class:`LeafCoefficients` turns into a
coefficient per parameter tensor.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

__all__: list[str] = []

Coef = float | Tensor
"""A coefficient: one Python float for every model, or a ``(K,)`` tensor, one per model."""

Grads = list[Tensor | None]
"""Gradients, one per parameter tensor (``None``: the parameter took no part in the loss)."""


# ---------------------------------------------------------------------------------------------
# Coefficients: a float for all, or one per model along the leading axis
# ---------------------------------------------------------------------------------------------


def per_model(c: Tensor, like: Tensor) -> Tensor:
    """``c`` of shape ``(K,)`` as ``(K, 1, …, 1)``, to broadcast against ``like`` ``(K, …)``."""
    return c.reshape(-1, *([1] * (like.ndim - 1)))


def scaled(x: Tensor, c: Coef) -> Tensor:
    """``c x``, a new tensor."""
    return x * (per_model(c, x) if isinstance(c, Tensor) else c)


def add_scaled(y: Tensor, x: Tensor, c: Coef) -> Tensor:
    """``y + c x``, a new tensor (for a float, torch's fused ``add(alpha=c)``)."""
    if isinstance(c, Tensor):
        return y + x * per_model(c, x)
    return y.add(x, alpha=c)


def add_scaled_(y: Tensor, x: Tensor, c: Coef) -> Tensor:
    """``y += c x`` in place (for a float, torch's fused ``add_(alpha=c)``)."""
    if isinstance(c, Tensor):
        return y.add_(x * per_model(c, x))
    return y.add_(x, alpha=c)


def add_scaled_ratio_(y: Tensor, x: Tensor, d: Tensor, c: Coef) -> Tensor:
    """``y += c x / d`` in place (for a float, torch's fused ``addcdiv_(value=c)``)."""
    if isinstance(c, Tensor):
        return y.add_(x * per_model(c, x) / d)
    return y.addcdiv_(x, d, value=c)


class LeafCoefficients:
    """Turns a rate table (a rate per parameter group) into a coefficient per parameter tensor.

    Parameters
    ----------
    group_of
        The group of every parameter tensor (an index into the table's last axis).
    dtype
        The parameters' dtype (a stacked table is cast to it, as a torch optimizer's float
        rate is cast by its kernels).
    stacked
        ``False``: the table is ``(G,)`` and the coefficients are Python floats; ``True``: the
        table is ``(K, G)`` and the coefficients ``(K,)`` tensors.
    """

    def __init__(self, group_of: list[int], dtype: torch.dtype, stacked: bool) -> None:
        self.group_of = group_of
        self.dtype = dtype
        self.stacked = stacked

    def __call__(self, table: Tensor) -> list[Coef]:
        if self.stacked:
            cast = table.to(self.dtype)
            return [cast[:, g] for g in self.group_of]
        values = table.tolist()
        return [values[g] for g in self.group_of]


# ---------------------------------------------------------------------------------------------
# Clipping and weight decay (before the optimizer, in this order)
# ---------------------------------------------------------------------------------------------


def clip_by_value(grads: Grads, clip_value: float) -> Grads:
    """Every component into ``[−clip_value, clip_value]`` (``clip_grad_value_``)."""
    return [None if g is None else g.clamp(-clip_value, clip_value) for g in grads]


def clip_by_norm(grads: Grads, max_norm: float, stacked: bool) -> Grads:
    """Rescale each model's gradient to global norm ≤ ``max_norm`` (``clip_grad_norm_``:
    the factor ``max_norm / (‖g‖ + 1e-6)``, capped at 1)."""
    present = [g for g in grads if g is not None]
    if not present:
        return grads
    if stacked:
        norms = [torch.linalg.vector_norm(g.flatten(1), 2, dim=1) for g in present]
        total = torch.linalg.vector_norm(torch.stack(norms), 2, dim=0)
    else:
        total = torch.linalg.vector_norm(
            torch.stack([torch.linalg.vector_norm(g, 2) for g in present]), 2
        )
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    return [None if g is None else (scaled(g, coef) if stacked else g * coef) for g in grads]


def add_weight_decay(grads: Grads, params: list[Tensor], weight_decay: Coef) -> Grads:
    """``g + λ w`` for every gradient (an L2 penalty ``½ λ ‖w‖²``, inside the optimizer)."""
    return [
        None if g is None else add_scaled(g, p, weight_decay)
        for g, p in zip(grads, params, strict=True)
    ]


def global_norms(grads: Grads, stacked: bool) -> list[float]:
    """The norm of the whole gradient: one float, or one per model."""
    if stacked:
        squares = torch.stack([g.pow(2).flatten(1).sum(1) for g in grads if g is not None])
        return squares.sum(0).sqrt().tolist()
    squares = [g.pow(2).sum() for g in grads if g is not None]
    return [float(torch.stack(squares).sum().sqrt()) if squares else 0.0]


# ---------------------------------------------------------------------------------------------
# The optimizers
# ---------------------------------------------------------------------------------------------


class Rule:
    """An optimizer: ``step(params, grads, table, count)`` updates ``params`` in place.

    ``table`` is the rate table of this update (see the module docstring) and ``count`` its
    1-based number.  Gradients arrive clipped and with the weight decay added.
    """

    def __init__(self, leaf: LeafCoefficients, momentum: Coef = 0.0) -> None:
        self.leaf = leaf
        self.momentum = momentum
        self.uses_momentum = bool(torch.as_tensor(momentum).ne(0).any())
        self.state: dict[str, list[Tensor | None]] = {}
        self._table: Tensor | None = None
        self._negated: list[Coef] = []

    def negated_rates(self, table: Tensor) -> list[Coef]:
        """``−η`` per parameter tensor (computed once while the table stays the same object)."""
        if table is not self._table:
            self._table, self._negated = table, self.leaf(-table)
        return self._negated

    def buffers(self, key: str, params: list[Tensor]) -> list[Tensor | None]:
        """The state ``key`` (one tensor per parameter), zeros at first."""
        if key not in self.state:
            self.state[key] = [torch.zeros_like(p) for p in params]
        return self.state[key]

    def step(self, params: list[Tensor], grads: Grads, table: Tensor, count: int) -> None:
        raise NotImplementedError


class SGD(Rule):
    """``torch.optim.SGD`` (dampening 0, no Nesterov): ``v ← μ v + g``, ``w ← w − η v``
    (paper eq 10, and §4.7's momentum in PyTorch's form)."""

    def step(self, params: list[Tensor], grads: Grads, table: Tensor, count: int) -> None:
        if self.uses_momentum:
            grads = self.momentum_buffers(grads)
        rates = self.negated_rates(table)
        for p, g, rate in zip(params, grads, rates, strict=True):
            if g is not None:
                add_scaled_(p, g, rate)

    def momentum_buffers(self, grads: Grads) -> Grads:
        if "momentum" not in self.state:  # the first buffer is the gradient itself
            self.state["momentum"] = [None if g is None else g.clone() for g in grads]
        else:
            for b, g in zip(self.state["momentum"], grads, strict=True):
                if b is not None and g is not None:
                    b.mul_(scaled_coef(self.momentum, b)).add_(g)
        return self.state["momentum"]


def scaled_coef(c: Coef, like: Tensor) -> Coef:
    """``c`` ready to multiply ``like``: a float as it is, a ``(K,)`` tensor broadcast."""
    return per_model(c, like) if isinstance(c, Tensor) else c


class RMSprop(Rule):
    """``torch.optim.RMSprop`` (α = 0.99, ε = 1e-8, not centered), with momentum if asked."""

    alpha, eps = 0.99, 1e-8

    def step(self, params: list[Tensor], grads: Grads, table: Tensor, count: int) -> None:
        rates = self.negated_rates(table)
        square_avgs = self.buffers("square_avg", params)
        bufs = self.buffers("momentum", params) if self.uses_momentum else None
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            if g is None:
                continue
            square_avg = square_avgs[i]
            square_avg.mul_(self.alpha).addcmul_(g, g, value=1 - self.alpha)
            avg = square_avg.sqrt().add_(self.eps)
            if bufs is not None:
                bufs[i].mul_(scaled_coef(self.momentum, p)).addcdiv_(g, avg)
                add_scaled_(p, bufs[i], rates[i])
            else:
                add_scaled_ratio_(p, g, avg, rates[i])


class Adam(Rule):
    """``torch.optim.Adam`` (β = (0.9, 0.999), ε = 1e-8, no AMSGrad)."""

    beta1, beta2, eps = 0.9, 0.999, 1e-8

    def step(self, params: list[Tensor], grads: Grads, table: Tensor, count: int) -> None:
        step_sizes = self.leaf(-(table / (1 - self.beta1**count)))
        bias_correction2_sqrt = (1 - self.beta2**count) ** 0.5
        exp_avgs = self.buffers("exp_avg", params)
        exp_avg_sqs = self.buffers("exp_avg_sq", params)
        for i, g in enumerate(grads):
            if g is None:
                continue
            exp_avgs[i].lerp_(g, 1 - self.beta1)
            exp_avg_sqs[i].mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
            denom = (exp_avg_sqs[i].sqrt() / bias_correction2_sqrt).add_(self.eps)
            add_scaled_ratio_(params[i], exp_avgs[i], denom, step_sizes[i])


# ---------------------------------------------------------------------------------------------
# The paper's adaptive rate (§4.7, eqs 17-19)
# ---------------------------------------------------------------------------------------------


def adaptive_step(
    params: list[Tensor],
    grads: Grads,
    running: list[Tensor | None],
    rates: list[Coef],
    delta: list[float],
    stacked: bool,
) -> list[Tensor | None]:
    """Eqs 17–18 for every parameter tensor: ``w ← w − η g`` and ``r ← (1 − δ) r + δ g``.

    ``running`` holds ``r`` (zeros at first); ``rates`` are ``−η`` per tensor.  Returns each
    tensor's ``‖r‖²`` (a 0-d tensor, or ``(K,)``), ``None`` where ``r`` was never set.
    """
    squares: list[Tensor | None] = []
    for i, (p, g) in enumerate(zip(params, grads, strict=True)):
        if g is not None:
            if running[i] is None:
                running[i] = torch.zeros_like(p, memory_format=torch.preserve_format)
            add_scaled_(p, g, rates[i])  # eq 17
            running[i].mul_(1.0 - delta[i]).add_(g, alpha=delta[i])  # eq 18
        r = running[i]
        if r is None:
            squares.append(None)
        else:
            squares.append(r.pow(2).flatten(1).sum(1) if stacked else r.pow(2).sum())
    return squares


def next_eta(eta: Any, alpha: float, beta: float, r_norm: Any) -> Any:
    """Eq 19: ``η(t+1) = η(t) + α η(t) (β ‖r(t+1)‖ − η(t))`` (floats or tensors)."""
    return eta + alpha * eta * (beta * r_norm - eta)


def nonpositive_eta_message(eta: float, new: float, alpha: float, beta_r: float) -> str:
    """Why eq 19 failed: ``α η ≥ 1`` let the step take η to zero or below."""
    return (
        f"eq 19 made the learning rate non-positive ({eta:.4g} -> {new:.4g}, with "
        f"beta*||r|| = {beta_r:.4g}) because alpha*eta = {alpha * eta:.4g} >= 1; lower alpha "
        "(or eta)"
    )


class PaperAdaptive(Rule):
    """The adaptive rate of eqs 17–19 with one η per model and parameter group, each group's
    ``‖r‖`` taken over its own parameters (one group: the paper's global rate).

    The rate table is this rule's own state (:attr:`table`); the one passed to :meth:`step`
    is ignored.  Constants: those of :class:`ebp.optim.PaperAdaptiveRate` (given by the
    caller).
    """

    def __init__(
        self, leaf: LeafCoefficients, table: Tensor, delta: float, alpha: float, beta: float
    ) -> None:
        super().__init__(leaf)
        self.table = table.clone()
        self.delta, self.alpha, self.beta = delta, alpha, beta
        self.active: Tensor | None = None  # (K,) bool: the models still training

    def step(self, params: list[Tensor], grads: Grads, table: Tensor, count: int) -> None:
        running = self.state.setdefault("r", [None] * len(params))
        squares = adaptive_step(
            params,
            grads,
            running,
            self.leaf(-self.table),
            [self.delta] * len(params),
            self.leaf.stacked,
        )
        totals = torch.zeros_like(self.table)
        for sq, g in zip(squares, self.leaf.group_of, strict=True):
            if sq is not None:
                totals[..., g] += sq.to(torch.float64)
        new = next_eta(self.table, self.alpha, self.beta, totals.sqrt())
        bad = new <= 0
        if self.active is not None:
            bad &= self.active[:, None]
        if bool(bad.any()):
            where = tuple(int(i) for i in bad.nonzero()[0])
            old, norm = float(self.table[where]), float(totals[where].sqrt())
            message = nonpositive_eta_message(old, float(new[where]), self.alpha, self.beta * norm)
            raise ValueError(f"models[{where[0]}]: {message}" if self.leaf.stacked else message)
        if self.active is not None:
            new = torch.where(self.active[:, None], new, self.table)
        self.table.copy_(new)
