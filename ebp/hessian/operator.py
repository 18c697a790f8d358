"""Hessian–vector products of a model, a loss and data, or of a function of a flat vector.

The objective is the full-data loss ``E(w) = Σ_b (n_b / N) E_b(w)``: data given in batches is
averaged with weights ``n_b / N`` by batch size, so for a loss that is a mean over its patterns
(every loss of :mod:`ebp.train`) ``E`` is the loss of all ``N`` patterns at once, and its Hessian
and products are those of the full-data loss.  **A loss that sums over its patterns** (e.g.
``nn.MSELoss(reduction="sum")``) is rescaled by ``n_b / N`` batch by batch, which is no multiple
of the full-data sum when batches differ in size; :class:`~ebp.hessian.HessianOperator` warns
when a callable loss looks like a sum and data come in several batches.

Two exact products (paper §7.5 mentions the exact alternative to eq 59):

``"double_backward"`` (the default)
    ``H v = ∇_w (∇E(w) · v)``: backpropagate through the gradient with ``torch.autograd``.  The
    gradient's graph is built once and kept, so each further product at the same weights is
    one backward pass (``cache_graph``).
``"forward_over_reverse"``
    ``H v = d/dt ∇E(w + t v)`` at ``t = 0``: a forward-mode derivative (``torch.func.jvp``) of the
    reverse-mode gradient (``torch.func.jacrev``; ``torch.func.grad`` would fail on losses such
    as ``nn.MSELoss()`` whose backward builds immutable zero tensors), Pearlmutter's
    R-operator.  The same numbers to rounding, but slower and hungrier on the book's small
    networks (``benchmarks/hessian.py``), and its first call in a process loads PyTorch's
    forward-mode rules (about 2 s).

and the paper's finite difference, eq 59, ``H v ≈ (1/α)[∇E(w + α v) − ∇E(w)]``
(:func:`~ebp.hessian.finite_difference_hvp`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator
from torch import Tensor, nn
from torch.func import functional_call, jacrev, jvp, vmap

from ebp._training_mode import (
    NondeterministicOperatorWarning,
    warn_if_stochastic,
)
from ebp._validate import (
    as_tensor,
    check_choice,
    check_instance,
    check_int,
    check_positive,
    describe,
)
from ebp.losses import (
    LossFn,
    as_inputs,
    as_targets,
    check_against_output,
    check_scalar_loss,
    get_loss,
    loss_name,
)

__all__ = [
    "HVP_METHODS",
    "CurvatureOperator",
    "FiniteDifferenceWarning",
    "HessianOperator",
    "MatrixOperator",
    "NondeterministicOperatorWarning",
    "as_operator",
    "dense_hessian",
    "finite_difference_hvp",
    "flatten_params",
    "hessian_vector_product",
    "unflatten_params",
]

DENSE_MAX_BYTES: int = 2 * 1024**3
"""The default limit on the memory of a dense ``n × n`` matrix (2 GiB: ``n`` ≈ 16 000 in
float64); pass ``max_bytes=None`` to :meth:`~ebp.hessian.CurvatureOperator.dense` to lift it."""

HVP_METHODS: tuple[str, ...] = ("forward_over_reverse", "double_backward")
"""The exact Hessian–vector products of :class:`~ebp.hessian.HessianOperator`."""


# ---------------------------------------------------------------------------------------------
# Flat parameter vectors
# ---------------------------------------------------------------------------------------------


def _named_tensors(params: Any, name: str) -> list[tuple[str, Tensor]]:
    if isinstance(params, nn.Module):
        return [(n, p) for n, p in params.named_parameters() if p.requires_grad]
    if isinstance(params, Tensor):
        return [("0", params)]
    if isinstance(params, Mapping):
        items = list(params.items())
    elif isinstance(params, Iterable) and not isinstance(params, (str, bytes)):
        items = [(str(i), p) for i, p in enumerate(params)]
    else:
        raise TypeError(
            f"{name} must be an nn.Module, a dict of tensors or a sequence of tensors; "
            f"got {type(params).__name__}"
        )
    for key, p in items:
        if not isinstance(p, Tensor):
            raise TypeError(f"{name}[{key!r}] must be a torch.Tensor; got {type(p).__name__}")
    return items


def flatten_params(params: nn.Module | Mapping[str, Tensor] | Iterable[Tensor]) -> Tensor:
    """Concatenate parameters into one flat vector (a detached copy).

    Parameters
    ----------
    params
        A module (its parameters that require gradients, in ``named_parameters()`` order), a
        dict of tensors, or a sequence of tensors.

    Returns
    -------
    torch.Tensor
        1-D, of the parameters' dtype and device.
    """
    items = _named_tensors(params, "params")
    if not items:
        raise ValueError("params must hold at least one tensor; got none")
    return torch.cat([p.detach().reshape(-1) for _, p in items])


def unflatten_params(
    flat: Any, like: nn.Module | Mapping[str, Tensor] | Sequence[Tensor]
) -> dict[str, Tensor] | list[Tensor]:
    """Split a flat vector into tensors shaped like ``like`` (inverse of :func:`flatten_params`).

    Returns a dict ``name → tensor`` for a module or a dict, else a list.  The pieces are views
    of ``flat`` (so gradients flow through them).
    """
    items = _named_tensors(like, "like")
    numels = [p.numel() for _, p in items]
    n = sum(numels)
    flat = as_tensor(flat, "flat", ndim=1, finite=False)
    if flat.shape[0] != n:
        raise ValueError(
            f"flat must have one entry per parameter ({n}); got shape {tuple(flat.shape)}"
        )
    pieces = [t.view(p.shape) for t, (_, p) in zip(flat.split(numels), items, strict=True)]
    if isinstance(like, (nn.Module, Mapping)):
        return {key: t for (key, _), t in zip(items, pieces, strict=True)}
    return pieces


# ---------------------------------------------------------------------------------------------
# The objective: a model, a loss and batches, or a flat function
# ---------------------------------------------------------------------------------------------


def _is_array(x: Any) -> bool:
    return isinstance(x, (Tensor, np.ndarray))


class _Objective:
    """``E(w) = Σ_b weight_b E_b(w)`` for a flat parameter vector ``w``."""

    def __init__(
        self,
        model: nn.Module | None,
        loss: str | LossFn | None,
        data: Any,
        fn: Callable[[Tensor], Tensor] | None,
        w: Tensor,
    ) -> None:
        self.model = model
        self.fn = fn
        self.w = w
        if model is None:
            self.loss_fn = None
            self.loss_name = None
            self.batches: list[tuple[Tensor, Tensor]] = []
            self.weights = [1.0]
            self.names: list[str] = []
            self.shapes: list[torch.Size] = []
            self.numels: list[int] = []
            return
        items = _named_tensors(model, "model")
        self.names = [n for n, _ in items]
        self.shapes = [p.shape for _, p in items]
        self.numels = [p.numel() for _, p in items]
        # the train/eval mode of every submodule, snapshot with the weights: products always
        # run in this mode, whatever model.train()/model.eval() calls come later
        self.modes = {name: m.training for name, m in model.named_modules()}
        self.loss_name = loss_name(loss)
        self.loss_fn = get_loss(loss)
        self.batches = _parse_batches(data, self, self.loss_name, w.dtype, w.device)
        sizes = [X.shape[0] for X, _ in self.batches]
        total = sum(sizes)
        self.weights = [s / total for s in sizes]
        self.n_patterns = total

    @property
    def n_terms(self) -> int:
        return len(self.weights)

    def params_dict(self, w: Tensor) -> dict[str, Tensor]:
        return {
            n: t.view(s)
            for n, t, s in zip(self.names, w.split(self.numels), self.shapes, strict=True)
        }

    def output(self, w: Tensor, X: Tensor) -> Tensor:
        assert self.model is not None
        state = self.params_dict(w)
        # copies of the buffers, so that a batch-norm layer in training mode updates the copies
        # and never the model's running statistics
        state.update({n: b.clone() for n, b in self.model.named_buffers()})
        changed = [
            m
            for name, m in self.model.named_modules()
            if name in self.modes and m.training != self.modes[name]
        ]
        for m in changed:  # back to the snapshot's mode for this call only
            m.training = not m.training
        try:
            return functional_call(self.model, state, (X,))
        finally:
            for m in changed:
                m.training = not m.training

    def term(self, b: int) -> Callable[[Tensor], Tensor]:
        """``E_b`` as a function of the flat vector."""
        if self.model is None:
            assert self.fn is not None
            return self.fn
        return self._loss_on(*self.batches[b])

    def pattern_term(self, p: int) -> Callable[[Tensor], Tensor]:
        """``E^p``: the loss of pattern ``p`` alone (patterns counted across batches)."""
        p = check_int(p, "p", min_value=0, max_value=self.n_patterns - 1)
        for X, y in self.batches:
            if p < X.shape[0]:
                return self._loss_on(X[p : p + 1], y[p : p + 1])
            p -= X.shape[0]
        raise IndexError(p)

    def _loss_on(self, X: Tensor, y: Tensor) -> Callable[[Tensor], Tensor]:
        loss_fn = self.loss_fn

        def E(w: Tensor) -> Tensor:
            return loss_fn(self.output(w, X), y)

        return E


def _parse_batches(
    data: Any, obj: _Objective, loss_name: str | None, dtype: torch.dtype, device: torch.device
) -> list[tuple[Tensor, Tensor]]:
    if data is None or isinstance(data, (str, bytes)):
        raise TypeError(
            f"data must be a pair (X, y) or a sequence of (X, y) batches; got {describe(data)}"
        )
    if isinstance(data, (tuple, list)) and len(data) == 2 and _is_array(data[0]):
        raw = [data]
    elif hasattr(data, "X") and hasattr(data, "y"):  # an ebp.data.Dataset
        raw = [(data.X, data.y)]
    elif isinstance(data, Iterable):
        raw = list(data)
    else:
        raise TypeError(
            f"data must be a pair (X, y) or a sequence of (X, y) batches; got {type(data).__name__}"
        )
    if not raw:
        raise ValueError("data must hold at least one batch; got none")
    assert obj.model is not None
    # token ids stay integers for a model that embeds them; other integer data (pixel counts)
    # become the model's floats, as before
    embeds = any(isinstance(m, (nn.Embedding, nn.EmbeddingBag)) for m in obj.model.modules())
    batches = []
    for i, batch in enumerate(raw):
        where = "data" if len(raw) == 1 else f"data[{i}]"
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise TypeError(f"{where} must be a pair (X, y); got {describe(batch)}")
        X = as_inputs(
            batch[0], f"{where} X", dtype, device, model=obj.model, ndim=None, keep_integer=embeds
        )
        y = as_targets(batch[1], f"{where} y", loss_name, X.shape[0], dtype, device)
        with torch.no_grad():
            try:
                out = obj.output(obj.w, X[:2])  # two patterns: batch-norm needs more than one
            except (RuntimeError, IndexError, TypeError) as err:
                raise ValueError(
                    f"{where} X must be inputs the model accepts; the model fails on shape "
                    f"{tuple(X.shape)} ({X.dtype}): {err}"
                ) from err
            check_against_output(out, y, f"{where} y", loss_name)
        batches.append((X, y))
    return batches


# ---------------------------------------------------------------------------------------------
# Products of one scalar function
# ---------------------------------------------------------------------------------------------


def _hvp_forward_over_reverse(f: Callable[[Tensor], Tensor], w: Tensor, v: Tensor) -> Tensor:
    # jacrev, not grad: under grad, the backward of losses such as nn.MSELoss() or
    # nn.HuberLoss() builds a ZeroTensor that the forward-mode pass then fails to write into
    return jvp(jacrev(f), (w,), (v,))[1]


def _hvp_double_backward(f: Callable[[Tensor], Tensor], w: Tensor, v: Tensor) -> Tensor:
    """``H v`` from scratch: a forward pass, the gradient with its graph, and its backward."""
    with torch.enable_grad():
        w = w.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(f(w), w, create_graph=True)
        if not g.requires_grad:  # E is linear in w: H = 0
            return torch.zeros_like(w)
        (hv,) = torch.autograd.grad(g, w, grad_outputs=v, allow_unused=True)
    return torch.zeros_like(w) if hv is None else hv.detach()


def _gradient(f: Callable[[Tensor], Tensor], w: Tensor) -> Tensor:
    with torch.enable_grad():
        w = w.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(f(w), w, allow_unused=True)
    return torch.zeros_like(w) if g is None else g


# ---------------------------------------------------------------------------------------------
# Operators
# ---------------------------------------------------------------------------------------------


class CurvatureOperator:
    """A symmetric linear map on flat parameter vectors, applied by products only.

    Subclasses implement ``_matvec``; this class checks vectors, counts products and offers
    :meth:`dense` and :meth:`as_linear_operator`.

    Attributes
    ----------
    dim : int
        The number of parameters ``n``.
    dtype, device
        Of the vectors it takes and returns.
    """

    dim: int
    dtype: torch.dtype
    device: torch.device

    def __init__(self, dim: int, dtype: torch.dtype, device: torch.device) -> None:
        self.dim = dim
        self.dtype = dtype
        self.device = device
        self._n_products = 0

    @property
    def shape(self) -> tuple[int, int]:
        """``(n, n)``."""
        return (self.dim, self.dim)

    @property
    def n_products(self) -> int:
        """How many matrix–vector products have been taken (each column of :meth:`dense` is one)."""
        return self._n_products

    def reset_count(self) -> None:
        """Set :attr:`n_products` back to 0."""
        self._n_products = 0

    def vector(self, v: Any, name: str = "v") -> Tensor:
        """``v`` as a checked 1-D tensor of this operator's dimension, dtype and device."""
        return as_tensor(v, name, ndim=1, shape=(self.dim,), dtype=self.dtype, device=self.device)

    def matvec(self, v: Any) -> Tensor:
        """The product ``A v`` (counted in :attr:`n_products`).

        Raises
        ------
        FloatingPointError
            If the product has NaN or Inf entries (the loss or its derivatives overflow at
            these weights, or a function returned a non-finite value).
        """
        v = self.vector(v)
        out = self._matvec(v)
        self._n_products += 1
        _check_finite_result(out, "the product H v")
        return out

    def __matmul__(self, v: Any) -> Tensor:
        return self.matvec(v)

    def _matvec(self, v: Tensor) -> Tensor:
        raise NotImplementedError

    def _matmat(self, V: Tensor) -> Tensor:
        """Products with the columns of ``V`` (``n × m``); subclasses may vectorise this."""
        return torch.stack([self._matvec(V[:, j]) for j in range(V.shape[1])], dim=1)

    def column_blocks(self, chunk_size: int = 256) -> Iterator[tuple[int, Tensor]]:
        """``(start, A[:, start:start + m])`` for consecutive blocks of ``m ≤ chunk_size``
        columns, from products with the unit vectors (counted); memory ``n × chunk_size``."""
        chunk_size = check_positive(chunk_size, "chunk_size", integer=True)
        n = self.dim
        for start in range(0, n, chunk_size):
            stop = min(n, start + chunk_size)
            E = torch.zeros(n, stop - start, dtype=self.dtype, device=self.device)
            E[torch.arange(start, stop), torch.arange(stop - start)] = 1.0
            cols = self._matmat(E)
            self._n_products += stop - start
            _check_finite_result(cols, f"columns {start}..{stop - 1} of the matrix")
            yield start, cols

    def dense(self, *, chunk_size: int = 256, max_bytes: int | None = DENSE_MAX_BYTES) -> Tensor:
        """The full ``n × n`` matrix, column by column from products with the unit vectors,
        then symmetrised (the asymmetry is rounding).  For small networks only: ``n`` products.

        Parameters
        ----------
        chunk_size
            Columns computed at once.
        max_bytes
            Refuse (``ValueError``) when the ``n × n`` matrix would need more memory than this
            (default ``DENSE_MAX_BYTES``, 2 GiB); ``None`` lifts the limit.
        """
        chunk_size = check_positive(chunk_size, "chunk_size", integer=True)
        _check_dense_size(self.dim, self.dtype, max_bytes)
        H = torch.cat([cols for _, cols in self.column_blocks(chunk_size)], dim=1)
        return 0.5 * (H + H.T)

    def as_linear_operator(self) -> LinearOperator:
        """A :class:`scipy.sparse.linalg.LinearOperator` (float64 NumPy in and out), e.g. for
        ``scipy.sparse.linalg.eigsh``.  Its products are counted here too."""

        def mv(x: np.ndarray) -> np.ndarray:
            x = np.asarray(x, dtype=np.float64).reshape(-1)
            out = self.matvec(torch.as_tensor(x))
            return out.detach().to("cpu", torch.float64).numpy()

        return LinearOperator((self.dim, self.dim), matvec=mv, rmatvec=mv, dtype=np.float64)


def _check_finite_result(t: Tensor, what: str) -> None:
    if not bool(torch.isfinite(t).all()):
        n_bad = int((~torch.isfinite(t)).sum())
        raise FloatingPointError(
            f"{what} is not finite ({n_bad} NaN or Inf entries of {t.numel()}): the loss or its "
            "derivatives overflow at these weights, or the function returns NaN"
        )


def _check_dense_size(n: int, dtype: torch.dtype, max_bytes: int | None) -> None:
    if max_bytes is None:
        return
    max_bytes = check_positive(max_bytes, "max_bytes", integer=True)
    need = n * n * torch.finfo(dtype).bits // 8
    if need > max_bytes:
        raise ValueError(
            f"max_bytes: a dense {n} × {n} matrix of {dtype} needs {need / 1e9:.3g} GB, more "
            f"than max_bytes = {max_bytes / 1e9:.3g} GB (and {n} products); use products, "
            "hutchinson_diagonal, gauss_newton_diagonal or lanczos_eigs instead, or pass "
            "max_bytes=None (or a larger limit) if you really want it"
        )


class MatrixOperator(CurvatureOperator):
    """A dense symmetric matrix seen as a :class:`CurvatureOperator` (for tests and toys)."""

    def __init__(self, A: Any, *, name: str = "A", rtol: float = 1e-8) -> None:
        A = as_tensor(A, name, ndim=2)
        if A.shape[0] != A.shape[1]:
            raise ValueError(f"{name} must be a square matrix; got shape {tuple(A.shape)}")
        if A.shape[0] == 0:
            raise ValueError(f"{name} must not be empty")
        scale = float(A.abs().max())
        if float((A - A.T).abs().max()) > rtol * max(scale, 1e-300):
            raise ValueError(f"{name} must be symmetric (A == A.T to relative {rtol:g})")
        super().__init__(A.shape[0], A.dtype, A.device)
        self.A = A

    def _matvec(self, v: Tensor) -> Tensor:
        return self.A @ v

    def _matmat(self, V: Tensor) -> Tensor:
        return self.A @ V


def as_operator(A: Any, name: str = "op") -> CurvatureOperator:
    """``A`` itself if it is a :class:`CurvatureOperator`, else a :class:`MatrixOperator` of it."""
    if isinstance(A, CurvatureOperator):
        return A
    if isinstance(A, (Tensor, np.ndarray)):
        return MatrixOperator(A, name=name)
    raise TypeError(
        f"{name} must be a CurvatureOperator (e.g. HessianOperator) or a symmetric matrix; "
        f"got {type(A).__name__}"
    )


class HessianOperator(CurvatureOperator):
    """The Hessian of the full-data loss at the current weights, applied by exact products.

    Use :meth:`from_function` for a scalar function of a flat vector instead.

    Parameters
    ----------
    model
        A ``torch.nn.Module``; the operator is taken at its current parameters and its current
        ``train()``/``eval()`` mode (copies: later changes to the weights or the mode do not
        move it; see :meth:`at`).
    loss
        Required.  A name in :data:`ebp.losses.LOSSES` or a loss instance/callable
        ``loss(output, target)`` returning a scalar **mean** over the patterns.  Mind the
        convention: ``"mse"`` is the paper's ``(1/P) Σ_p ½‖d^p − o^p‖²`` (eq 28), which is
        ``K/2`` times ``nn.MSELoss()`` for ``K`` outputs, and so is its Hessian.  A loss class
        (``nn.MSELoss`` rather than ``nn.MSELoss()``) is refused.
    data
        ``(X, y)``, an :class:`ebp.data.Dataset`, or a sequence of ``(X, y)`` batches (averaged
        with weights by batch size).  ``X`` may have any shape the model accepts, patterns
        first (images, sequences).  Integer inputs stay integers (``torch.long``) when the model
        has an ``nn.Embedding``/``nn.EmbeddingBag`` (token ids); otherwise, and for floating
        inputs, they take the model's dtype.
    method
        ``"double_backward"`` (default) or ``"forward_over_reverse"``; the same numbers to
        rounding.  On the book's small networks ``torch.func``'s per-call overhead makes the
        second several times slower (see ``benchmarks/hessian.py``).
    cache_graph
        For ``"double_backward"``: build the graph of ``∇E`` once and backpropagate every
        product through it (one backward pass per product instead of a forward and two
        backward passes).  It keeps the activations of all the data in memory while the
        operator lives; set false for large data.

    Notes
    -----
    **Batches and sum-reduced losses.**  The objective is ``E(w) = Σ_b (n_b / N) E_b(w)``.
    That is the full-data loss only when ``loss`` is a mean over the patterns of its batch.
    With a loss that *sums* over patterns (``nn.MSELoss(reduction="sum")``, a hand-written
    ``((o - t)**2).sum()``) and several batches, each batch's sum is silently rescaled by
    ``n_b / N``: with unequal batches ``E`` is then no multiple of the full-data loss.  A
    callable loss whose value doubles on a batch given twice is taken for a sum and gets a
    ``UserWarning`` when there is more than one batch.

    Warns
    -----
    NondeterministicOperatorWarning
        If ``model`` has dropout or batch-norm layers in training mode: the products are then
        random (dropout) or couple the patterns of a batch (batch-norm).  The mode is kept as
        it was at construction, whatever ``model.train()``/``model.eval()`` calls follow.
    UserWarning
        If a callable loss looks sum-reduced and the data come in several batches.

    Raises
    ------
    ValueError
        If the loss is not finite at the model's weights.

    Examples
    --------
    A linear unit's Hessian is ``(1/P) Σ_p x^p x^pᵀ`` (eq 29), whatever its weights:

    >>> import torch
    >>> from ebp.hessian import HessianOperator
    >>> model = torch.nn.Linear(2, 1, bias=False)
    >>> X = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    >>> y = torch.zeros(2, 1)
    >>> H = HessianOperator(model, "mse", (X, y))
    >>> H.matvec(torch.tensor([1.0, 1.0]))
    tensor([0.5000, 2.0000])
    >>> H.dense()
    tensor([[0.5000, 0.0000],
            [0.0000, 2.0000]])
    >>> H.n_products  # one product, then one per column
    3
    """

    def __init__(
        self,
        model: nn.Module,
        loss: str | LossFn,
        data: Any,
        *,
        method: str = "double_backward",
        cache_graph: bool = True,
    ) -> None:
        check_instance(model, nn.Module, "model")
        self.method = check_choice(method, "method", HVP_METHODS)
        self.cache_graph = _check_bool(cache_graph, "cache_graph")
        self._graphs: dict[int, tuple[Tensor, Tensor]] = {}
        if not any(p.requires_grad and p.numel() for p in model.parameters()):
            raise ValueError("model must have at least one parameter that requires grad")
        w = flatten_params(model)
        _check_finite_params(model)
        if not w.is_floating_point():
            raise TypeError(f"model parameters must be floating point; got {w.dtype}")
        stochastic = warn_if_stochastic(
            model,
            "the loss is not a fixed function of the weights, so the Hessian operator is not "
            "deterministic",
            "call model.eval() first if you want the deterministic one",
        )
        self._obj = _Objective(model, loss, data, None, w)
        super().__init__(w.numel(), w.dtype, w.device)
        value = self._obj.term(0)(w)
        check_scalar_loss(value, "loss")
        if not bool(torch.isfinite(value)):
            raise ValueError(
                f"loss must be finite at the model's weights; it is {float(value)} on "
                f"{'data' if self._obj.n_terms == 1 else 'data[0]'}"
            )
        if not stochastic and self._obj.loss_name is None and self._obj.n_terms > 1:
            _warn_if_sum_reduced(self._obj, value)

    @classmethod
    def from_function(
        cls,
        fn: Callable[[Tensor], Tensor],
        w: Any,
        *,
        method: str = "double_backward",
        cache_graph: bool = True,
    ) -> HessianOperator:
        """The Hessian of a scalar function ``fn`` of a flat vector, at ``w``.

        ``fn`` must be written in torch operations (so both autograd and ``torch.func`` can
        differentiate it) and return a 0-dimensional tensor.
        """
        if not callable(fn) or isinstance(fn, nn.Module):
            raise TypeError(f"fn must be a function of a flat tensor; got {type(fn).__name__}")
        w = as_tensor(w, "w", ndim=1).detach().clone()
        if w.numel() == 0:
            raise ValueError("w must have at least one entry")
        self = cls.__new__(cls)
        self.method = check_choice(method, "method", HVP_METHODS)
        self.cache_graph = _check_bool(cache_graph, "cache_graph")
        self._graphs = {}
        self._obj = _Objective(None, None, None, fn, w)
        CurvatureOperator.__init__(self, w.numel(), w.dtype, w.device)
        value = fn(w)
        check_scalar_loss(value, "fn")
        if not bool(torch.isfinite(value)):
            raise ValueError(f"fn must return a finite value at w; it returned {float(value)}")
        return self

    # -- where and what -----------------------------------------------------------------------

    @property
    def params(self) -> Tensor:
        """The flat parameter vector ``w`` at which the Hessian is taken (a copy)."""
        return self._obj.w.clone()

    @property
    def model(self) -> nn.Module | None:
        """The model (``None`` for an operator made :meth:`from_function`)."""
        return self._obj.model

    @property
    def n_patterns(self) -> int:
        """The number of patterns in the data (a model's operator only)."""
        self._require_model("n_patterns")
        return self._obj.n_patterns

    def at(self, w: Any) -> HessianOperator:
        """The same objective's Hessian at another flat parameter vector ``w``."""
        w = self.vector(w, "w").detach().clone()
        new = self.__class__.__new__(self.__class__)
        new.method = self.method
        new.cache_graph = self.cache_graph
        new._graphs = {}
        obj = _Objective.__new__(_Objective)
        obj.__dict__.update(self._obj.__dict__)
        obj.w = w
        new._obj = obj
        CurvatureOperator.__init__(new, self.dim, self.dtype, self.device)
        return new

    def _require_model(self, what: str) -> None:
        if self._obj.model is None:
            raise ValueError(f"{what} needs an operator built from a model and data")

    # -- values -------------------------------------------------------------------------------

    def loss_value(self, w: Any = None) -> float:
        """The full-data loss ``E(w)`` (default: at :attr:`params`); ``FloatingPointError`` if
        it is not finite there."""
        w = self._obj.w if w is None else self.vector(w, "w")
        with torch.no_grad():
            value = sum(c * self._obj.term(b)(w) for b, c in enumerate(self._obj.weights))
        _check_finite_result(torch.as_tensor(value), "the loss E(w)")
        return float(value)

    def gradient(self, w: Any = None) -> Tensor:
        """The full-data gradient ``∇E(w)`` (default: at :attr:`params`); ``FloatingPointError``
        if it is not finite there."""
        w = self._obj.w if w is None else self.vector(w, "w")
        total = torch.zeros_like(w)
        for b, c in enumerate(self._obj.weights):
            total += c * _gradient(self._obj.term(b), w)
        _check_finite_result(total, "the gradient ∇E(w)")
        return total

    def pattern_gradient(self, p: int, w: Any = None) -> Tensor:
        """``∇E^p(w)``: the gradient of pattern ``p``'s loss alone (a model's operator only).

        ``p`` counts patterns across batches, ``0 ≤ p < n_patterns`` (no negative indices).
        """
        self._require_model("pattern_gradient")
        w = self._obj.w if w is None else self.vector(w, "w")
        g = _gradient(self._obj.pattern_term(p), w)
        _check_finite_result(g, f"the gradient of pattern {p}")
        return g

    # -- products -----------------------------------------------------------------------------

    def _graph(self, b: int) -> tuple[Tensor, Tensor]:
        """The leaf ``w`` and ``∇E_b(w)`` with its graph, built once."""
        if b not in self._graphs:
            with torch.enable_grad():
                w = self._obj.w.detach().requires_grad_(True)
                (g,) = torch.autograd.grad(self._obj.term(b)(w), w, create_graph=True)
            self._graphs[b] = (w, g)
        return self._graphs[b]

    def _batch_hvp(self, b: int, v: Tensor) -> Tensor:
        if self.method == "forward_over_reverse":
            return _hvp_forward_over_reverse(self._obj.term(b), self._obj.w, v)
        if not self.cache_graph:
            return _hvp_double_backward(self._obj.term(b), self._obj.w, v)
        w, g = self._graph(b)
        if not g.requires_grad:  # E_b is linear in w
            return torch.zeros_like(v)
        (hv,) = torch.autograd.grad(g, w, grad_outputs=v, retain_graph=True, allow_unused=True)
        return torch.zeros_like(v) if hv is None else hv.detach()

    def _matvec(self, v: Tensor) -> Tensor:
        total = torch.zeros_like(v)
        for b, c in enumerate(self._obj.weights):
            total += c * self._batch_hvp(b, v)
        return total

    def _matmat(self, V: Tensor) -> Tensor:
        if self.method == "double_backward":
            if not self.cache_graph:
                return super()._matmat(V)
            total = torch.zeros_like(V)
            for b, c in enumerate(self._obj.weights):
                w, g = self._graph(b)
                if g.requires_grad:
                    (cols,) = torch.autograd.grad(
                        g, w, grad_outputs=V.T, retain_graph=True, is_grads_batched=True
                    )
                    total += c * cols.T
            return total
        w = self._obj.w
        total = torch.zeros_like(V)
        for b, c in enumerate(self._obj.weights):
            f = self._obj.term(b)
            try:
                cols = vmap(
                    lambda v, f=f: _hvp_forward_over_reverse(f, w, v), in_dims=1, out_dims=1
                )(V)
            except (RuntimeError, NotImplementedError):  # fn not vmap-able: one at a time
                cols = torch.stack(
                    [_hvp_forward_over_reverse(f, w, V[:, j]) for j in range(V.shape[1])], 1
                )
            total += c * cols
        return total


def _warn_if_sum_reduced(obj: _Objective, value: Tensor) -> None:
    """Warn when a callable loss's value doubles on its first batch given twice (a sum)."""
    X, y = obj.batches[0]
    with torch.no_grad():
        twice = obj.loss_fn(obj.output(obj.w, torch.cat([X, X])), torch.cat([y, y]))
    v, t = float(value), float(twice)
    # a mean gives the same number to rounding; a sum gives twice it
    if abs(v) > 0 and math.isfinite(t) and abs(t - 2 * v) <= 1e-3 * abs(v):
        warnings.warn(
            "loss looks like a sum over patterns (its value doubles when the batch is given "
            "twice), and data come in several batches: the operator's objective "
            "Σ_b (n_b / N) E_b rescales each batch's sum by n_b / N; use a mean-reduced loss "
            "(e.g. reduction='mean') or pass all the data as one batch",
            UserWarning,
            stacklevel=3,
        )


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool; got {type(value).__name__}")
    return value


def _check_finite_params(model: nn.Module) -> None:
    for name, p in model.named_parameters():
        if p.is_floating_point() and not bool(torch.isfinite(p).all()):
            n_bad = int((~torch.isfinite(p)).sum())
            raise ValueError(
                f"model parameters must be finite; {name!r} contains {n_bad} NaN or Inf value(s)"
            )


def hessian_vector_product(
    model_or_fn: nn.Module | Callable[[Tensor], Tensor],
    v: Any,
    loss: str | LossFn | None = None,
    data: Any = None,
    *,
    w: Any = None,
    method: str = "double_backward",
) -> Tensor:
    """``H v`` for a model, a loss and data, or for a function of a flat vector at ``w``.

    A shortcut for ``HessianOperator(model, loss, data, method=method).matvec(v)`` or
    ``HessianOperator.from_function(fn, w, method=method).matvec(v)``.  ``loss`` is required
    with a model (``"mse"`` is ``(1/P) Σ_p ½‖d^p − o^p‖²``, ``K/2`` times ``nn.MSELoss()``; see
    :class:`HessianOperator`).

    Examples
    --------
    For a function of a flat vector, ``E(w) = Σ w_i³`` has ``H = diag(6 w)``:

    >>> import torch
    >>> from ebp.hessian import hessian_vector_product
    >>> w = torch.tensor([1.0, 2.0, 3.0])
    >>> v = torch.tensor([0.0, 1.0, 0.0])
    >>> hessian_vector_product(lambda w: (w**3).sum(), v, w=w)
    tensor([ 0., 12.,  0.])
    """
    return _operator(model_or_fn, loss, data, w, method).matvec(v)


def _operator(model_or_fn: Any, loss: Any, data: Any, w: Any, method: str) -> HessianOperator:
    if isinstance(model_or_fn, HessianOperator):
        return model_or_fn
    if isinstance(model_or_fn, nn.Module):
        if w is not None:
            raise ValueError("w is for a function of a flat vector; a model carries its weights")
        if loss is None:
            raise TypeError(
                "loss is required with a model: a loss name such as 'mse' (the paper's "
                "(1/P) Σ_p ½‖d − o‖², K/2 times nn.MSELoss()) or a loss instance/callable"
            )
        if data is None:
            raise TypeError("data is required with a model: (X, y) or a sequence of batches")
        return HessianOperator(model_or_fn, loss, data, method=method)
    if callable(model_or_fn):
        if w is None:
            raise ValueError(
                "w (the flat vector at which to take the Hessian) is required "
                "when model_or_fn is a function"
            )
        return HessianOperator.from_function(model_or_fn, w, method=method)
    raise TypeError(
        "model_or_fn must be an nn.Module, a function of a flat tensor or a HessianOperator; "
        f"got {type(model_or_fn).__name__}"
    )


def dense_hessian(
    model_or_fn: nn.Module | Callable[[Tensor], Tensor] | HessianOperator,
    loss: str | LossFn | None = None,
    data: Any = None,
    *,
    w: Any = None,
    method: str = "double_backward",
    chunk_size: int = 256,
    max_bytes: int | None = DENSE_MAX_BYTES,
) -> Tensor:
    """The full ``n × n`` Hessian of the full-data loss (small networks: ``n`` products).

    Built from products with the unit vectors (backpropagated through one cached gradient
    graph, or with ``method="forward_over_reverse"`` vectorised ``chunk_size`` columns at a
    time), and symmetrised.  ``loss`` is required with a model (see :class:`HessianOperator`
    for the ``"mse"`` convention); a matrix over ``max_bytes`` (default 2 GiB) is refused
    before anything is computed, ``max_bytes=None`` lifts the limit.
    """
    op = _operator(model_or_fn, loss, data, w, method)
    return op.dense(chunk_size=chunk_size, max_bytes=max_bytes)


class FiniteDifferenceWarning(UserWarning):
    """A finite difference of gradients (eq 59) that could not be made to agree with itself at
    smaller steps: the gradient is not smooth along the direction (a ReLU unit switching on or
    off between ``w`` and ``w + α v``), or rounding dominates (float32)."""


FD_MAX_HALVINGS = 8
"""How many times :func:`~ebp.hessian.finite_difference_hvp` shrinks its default step (by 4)
looking for two steps that agree."""


def finite_difference_hvp(
    op: HessianOperator,
    v: Any,
    alpha: float | None = None,
    *,
    central: bool = False,
    check: bool = True,
) -> Tensor:
    """The paper's eq 59: ``H v ≈ (1/α)[∇E(w + α v) − ∇E(w)]``.

    Parameters
    ----------
    op
        The Hessian operator whose gradients are differenced.
    v
        The direction.
    alpha
        The step.  Default: from the dtype and the scale of the weights,
        ``√ε (1 + ‖w‖) / ‖v‖`` (``ε`` the dtype's machine epsilon), or ``ε^{1/3} (1 + ‖w‖) / ‖v‖``
        for the central difference, each the balance of truncation and rounding for a smooth
        loss; then checked (``check``).
    central
        Use ``(1/2α)[∇E(w + α v) − ∇E(w − α v)]`` instead (error O(α²) rather than O(α)).
    check
        With the default step only: also take the difference at ``α/2``; if the two disagree
        by more than truncation and rounding explain for a smooth loss (relative
        ``10³ √ε`` forward, ``10³ ε^{2/3}`` central), the step crossed a kink of the gradient
        (a ReLU unit switching between ``w`` and ``w + α v``: the difference is then off by
        the jump over ``α``, easily 100 % or more).  The step is then divided by 4 and tried
        again, up to ``FD_MAX_HALVINGS`` times, and a :class:`FiniteDifferenceWarning` is
        issued if no two steps agree.  Costs two or three gradients more per try; the value
        returned is the difference at the first step that passed.  An explicit ``alpha`` is
        used as given, unchecked.

    Warns
    -----
    FiniteDifferenceWarning
        If the default step could not be checked to agree with a smaller one.
    """
    check_instance(op, HessianOperator, "op")
    v = op.vector(v)
    w = op.params
    check = _check_bool(check, "check")
    if alpha is not None:
        alpha = check_positive(alpha, "alpha")
        return _difference(op, w, v, alpha, central, None)
    v_norm = float(v.norm())
    if v_norm == 0:
        return torch.zeros_like(v)
    eps = torch.finfo(op.dtype).eps
    alpha = (eps ** (1 / 3) if central else math.sqrt(eps)) * (1 + float(w.norm())) / v_norm
    g0 = None if central else op.gradient(w)
    first = _difference(op, w, v, alpha, central, g0)
    if not check:
        return first
    tol = 1e3 * (eps ** (2 / 3) if central else math.sqrt(eps))
    current = first
    disagreement = math.nan
    for _ in range(FD_MAX_HALVINGS):
        half = _difference(op, w, v, alpha / 2, central, g0)
        scale = float(half.norm())
        disagreement = float((current - half).norm()) / scale if scale > 0 else 0.0
        if disagreement <= tol:
            return current
        alpha /= 4
        current = _difference(op, w, v, alpha, central, g0)
    warnings.warn(
        f"finite_difference_hvp: the {'central' if central else 'forward'} differences at steps "
        f"α and α/2 still disagree by {disagreement:.2g} (relative; a smooth loss would give "
        f"under {tol:.1g}) after shrinking the default step {FD_MAX_HALVINGS} times to "
        f"{alpha:.2g}: the gradient has kinks along v (ReLU units switching), or rounding "
        f"dominates in {op.dtype}; the result may be far off, use the exact product op.matvec(v)",
        FiniteDifferenceWarning,
        stacklevel=2,
    )
    return current


def _difference(
    op: HessianOperator, w: Tensor, v: Tensor, alpha: float, central: bool, g0: Tensor | None
) -> Tensor:
    if central:
        return (op.gradient(w + alpha * v) - op.gradient(w - alpha * v)) / (2 * alpha)
    if g0 is None:
        g0 = op.gradient(w)
    return (op.gradient(w + alpha * v) - g0) / alpha
