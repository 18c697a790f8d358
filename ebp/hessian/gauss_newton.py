"""Gauss–Newton products (paper §6.4 and §7.2).

With ``o(w)`` the network's outputs on a batch and ``J = ∂o/∂w`` their Jacobian, the Hessian of
``E = L(o(w))`` is ``Jᵀ (∂²L/∂o²) J + Σ (∂L/∂o) ∂²o/∂w²``.  Dropping the second term leaves

``"ggn"``
    the generalized Gauss–Newton matrix ``G = Jᵀ (∂²L/∂o²) J``: positive semi-definite for
    every convex loss of the outputs (squared error, softmax cross-entropy, logistic);
``"square_jacobian"``
    the paper's square-Jacobian approximation (§7.2, eqs 48–51) ``(1/P) Σ_p J_pᵀ J_p``, which
    ignores the loss and equals ``G`` for the book's squared error ``(1/P) Σ_p ½‖d − o‖²``.

Both are averaged over batches with weights by batch size, like
:class:`~ebp.hessian.HessianOperator`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ebp._validate import check_choice
from ebp.hessian.operator import HessianOperator
from ebp.losses import LossFn

__all__ = [
    "GAUSS_NEWTON_KINDS",
    "GaussNewtonOperator",
    "gauss_newton_vector_product",
    "square_jacobian_vector_product",
]

GAUSS_NEWTON_KINDS: tuple[str, ...] = ("ggn", "square_jacobian")
"""The Gauss–Newton matrices of :class:`~ebp.hessian.GaussNewtonOperator`."""


class GaussNewtonOperator(HessianOperator):
    """The Gauss–Newton matrix of a model, a loss and data, applied by exact products.

    Parameters
    ----------
    model, loss, data
        As for :class:`HessianOperator`; ``loss`` is required (``"mse"`` is the paper's
        ``(1/P) Σ_p ½‖d^p − o^p‖²``, ``K/2`` times ``nn.MSELoss()``, and so is ``G``).
    kind
        ``"ggn"`` (default): ``Jᵀ (∂²L/∂o²) J``; ``"square_jacobian"``: ``(1/P) Σ_p J_pᵀ J_p``.
    cache_graph
        Build each batch's graphs (outputs, ``Jᵀu`` and the loss gradient) once and reuse them
        for every product (default).  They hold the activations of all the data while the
        operator lives; set false for large data: each product then rebuilds them (a forward
        and a backward pass more per batch) and frees them.
    """

    def __init__(
        self,
        model: nn.Module,
        loss: str | LossFn,
        data: Any,
        *,
        kind: str = "ggn",
        cache_graph: bool = True,
    ) -> None:
        self.kind = check_choice(kind, "kind", GAUSS_NEWTON_KINDS)
        super().__init__(model, loss, data, cache_graph=cache_graph)

    @classmethod
    def from_function(cls, *args: Any, **kwargs: Any) -> HessianOperator:
        """Not available: a Gauss–Newton matrix needs the model's outputs."""
        raise TypeError("GaussNewtonOperator needs a model, a loss and data, not a function")

    def at(self, w: Any) -> GaussNewtonOperator:
        """The same Gauss–Newton matrix at another flat parameter vector ``w``."""
        new = super().at(w)
        new.kind = self.kind
        return new  # type: ignore[return-value]

    def _pieces(self, b: int) -> tuple[Tensor, Tensor, Tensor, Tensor | None, Tensor]:
        """For batch ``b``: the leaf ``w``, the outputs ``o(w)``, a dummy ``u`` with ``Jᵀu``
        and its graph, and the loss gradient ``∂L/∂o`` with its graph (its own leaf); kept for
        later products when ``cache_graph``."""
        if b in self._graphs:
            return self._graphs[b]  # type: ignore[return-value]
        obj = self._obj
        X, y = obj.batches[b]
        with torch.enable_grad():
            w = obj.w.detach().requires_grad_(True)
            out = obj.output(w, X)
            u = torch.zeros_like(out, requires_grad=True)
            (Jtu,) = torch.autograd.grad(out, w, grad_outputs=u, create_graph=True)
            o = out.detach().requires_grad_(True)
            (gL,) = torch.autograd.grad(obj.loss_fn(o, y), o, create_graph=True)
        pieces = (w, out, u, Jtu, o, gL)
        if self.cache_graph:
            self._graphs[b] = pieces  # type: ignore[assignment]
        return pieces  # type: ignore[return-value]

    def _batch_product(self, b: int, v: Tensor) -> Tensor:
        w, out, u, Jtu, o, gL = self._pieces(b)  # type: ignore[misc]
        # J v without forward mode: the derivative of (Jᵀu)·v with respect to u
        (Jv,) = torch.autograd.grad(Jtu, u, grad_outputs=v, retain_graph=True)
        if self.kind == "square_jacobian":
            HJv = Jv / out.shape[0]
        elif gL.requires_grad:
            (HJv,) = torch.autograd.grad(gL, o, grad_outputs=Jv, retain_graph=True)
        else:  # a loss linear in the outputs
            HJv = torch.zeros_like(Jv)
        (Gv,) = torch.autograd.grad(out, w, grad_outputs=HJv, retain_graph=True)
        return Gv.detach()

    def _matvec(self, v: Tensor) -> Tensor:
        total = torch.zeros_like(v)
        for b, c in enumerate(self._obj.weights):
            total += c * self._batch_product(b, v)
        return total

    def _matmat(self, V: Tensor) -> Tensor:
        return torch.stack([self._matvec(V[:, j]) for j in range(V.shape[1])], dim=1)


def gauss_newton_vector_product(model: nn.Module, v: Any, loss: str | LossFn, data: Any) -> Tensor:
    """The exact generalized Gauss–Newton–vector product ``G v = Jᵀ (∂²L/∂o²) J v``.

    ``loss`` is required (see :class:`GaussNewtonOperator` for the ``"mse"`` convention).
    """
    return GaussNewtonOperator(model, loss, data, kind="ggn").matvec(v)


def square_jacobian_vector_product(
    model: nn.Module, v: Any, loss: str | LossFn, data: Any
) -> Tensor:
    """The square-Jacobian product ``(1/P) Σ_p J_pᵀ J_p v`` of §7.2 (eqs 48–51).

    ``loss`` is used only to read the targets' form; the product does not depend on it.
    """
    return GaussNewtonOperator(model, loss, data, kind="square_jacobian").matvec(v)
