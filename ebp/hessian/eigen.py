"""Eigenvalues of a curvature operator from products only (paper §7.5, §9.2).

- :func:`~ebp.hessian.power_method`: the paper's eq 60, ``Ψ ← H Ψ / ‖Ψ‖``, with a residual
  stopping rule, and explicit choice of which end of the spectrum (``which``).
- :func:`~ebp.hessian.top_eigenvalues`: ``k`` eigenpairs the best way the toolkit knows, Lanczos
  (:func:`~ebp.hessian.lanczos_eigs`); use it unless you are studying a particular method.
- :func:`~ebp.hessian.lanczos_eigs`: Lanczos (ARPACK through
  :func:`scipy.sparse.linalg.eigsh`), with a dense eigensolver for operators too small for
  ARPACK.
- :func:`~ebp.hessian.deflated_power_method`: ``k`` eigenpairs by the power method with
  deflation, for teaching: on the book's networks it takes 18–110 times the products of
  Lanczos and can leave eigenpairs of a clustered spectrum unconverged
  (``benchmarks/hessian.py``).

``which`` follows SciPy: ``"LA"`` largest algebraic (the most positive), ``"SA"`` smallest
algebraic (the most negative), ``"LM"`` largest in magnitude.  The power method by itself finds
the largest magnitude; ``"LA"`` and ``"SA"`` shift the operator when needed (see
:func:`~ebp.hessian.power_method`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.sparse.linalg import ArpackNoConvergence, eigsh
from torch import Tensor

from ebp._validate import check_choice, check_int, check_positive
from ebp.hessian.operator import CurvatureOperator, as_operator

__all__ = [
    "WHICH",
    "EigenResult",
    "EigenResults",
    "deflated_power_method",
    "lanczos_eigs",
    "power_method",
    "top_eigenvalues",
]

WHICH: tuple[str, ...] = ("LA", "SA", "LM")
"""Which end of the spectrum, largest algebraic, smallest algebraic or largest magnitude."""

STOPS: tuple[str, ...] = ("residual", "change")


@dataclass
class EigenResult:
    """One eigenvalue estimate.

    Attributes
    ----------
    value : float
        The eigenvalue estimate (a Rayleigh quotient ``vᵀ H v``, with its sign).
    vector : torch.Tensor
        The unit eigenvector estimate ``v``.
    converged : bool
        Whether the stopping test was met within the budget.
    n_products : int
        Products with the operator used.
    residual : float
        ``‖H v − λ v‖`` for the returned ``v`` and ``λ``.
    history : numpy.ndarray
        The estimate after each product (of the last run, for a shifted one).
    """

    value: float
    vector: Tensor
    converged: bool
    n_products: int
    residual: float
    history: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))


@dataclass
class EigenResults:
    """Several eigenpairs, ordered from the requested end of the spectrum inwards.

    Attributes
    ----------
    values : numpy.ndarray
        ``(k,)`` eigenvalues.
    vectors : torch.Tensor
        ``(n, k)`` unit eigenvectors, one per column.
    converged : numpy.ndarray
        ``(k,)`` booleans.
    residuals : numpy.ndarray
        ``(k,)`` residuals ``‖H v_i − λ_i v_i‖`` (NaN where not computed).
    n_products : int
        Products with the operator used in all.
    method : str
        ``"power_deflation"``, ``"lanczos"`` or ``"dense"`` (an operator too small for ARPACK).
    """

    values: np.ndarray
    vectors: Tensor
    converged: np.ndarray
    residuals: np.ndarray
    n_products: int
    method: str


def _nonzero_start(op: CurvatureOperator, v0: Any, seed: int) -> Tensor:
    """A copy of ``v0`` as a vector of ``op``, or a standard normal one drawn with ``seed``;
    not normalized (each method divides by its norm in its own way); never zero."""
    if v0 is None:
        rng = np.random.default_rng(check_int(seed, "seed", min_value=0))
        v = torch.as_tensor(rng.standard_normal(op.dim), dtype=op.dtype, device=op.device)
    else:
        v = op.vector(v0, "v0").clone()
    if float(v.norm()) == 0:
        raise ValueError("v0 must not be the zero vector")
    return v


def _start_vector(op: CurvatureOperator, v0: Any, seed: int) -> Tensor:
    v = _nonzero_start(op, v0, seed)
    return v / float(v.norm())


def _check_which(which: str) -> str:
    return check_choice(which, "which", WHICH)


def _power(
    apply: Callable[[Tensor], tuple[Tensor, Tensor]],
    v: Tensor,
    sigma: float,
    tol: float,
    max_products: int,
    stop: str,
) -> EigenResult:
    """Power iteration on ``A − σI``; ``apply(v)`` returns ``(A v, P A v)`` (``P`` a projection
    for deflation); the test uses ``‖P A v − λ v‖`` (``stop="residual"``) or the change in ``λ``.
    """
    history = []
    lam_prev = math.nan
    lam, r_true, converged, n = math.nan, math.nan, False, 0
    while n < max_products:
        Av, PAv = apply(v)
        n += 1
        lam = float(torch.dot(v, PAv))
        r_test = float((PAv - lam * v).norm())
        r_true = float((Av - lam * v).norm())
        history.append(lam)
        if stop == "residual":
            converged = r_test <= tol * abs(lam)
        else:
            converged = abs(lam - lam_prev) <= tol * abs(lam)
        if converged:
            break
        w = PAv - sigma * v
        w_norm = float(w.norm())
        if w_norm == 0 or not math.isfinite(w_norm):
            break
        v = w / w_norm
        lam_prev = lam
    return EigenResult(lam, v, converged, n, r_true, np.asarray(history))


def _checked(tol: Any, max_products: Any, stop: str) -> tuple[float, int, str]:
    tol = check_positive(tol, "tol")
    max_products = check_int(max_products, "max_products", min_value=1)
    stop = check_choice(stop, "stop", STOPS)
    return tol, max_products, stop


def _projected(op: CurvatureOperator, basis: list[Tensor]) -> Callable[[Tensor], tuple]:
    def apply(v: Tensor) -> tuple[Tensor, Tensor]:
        for u in basis:  # keep the iterate out of the found directions
            v = v - torch.dot(u, v) * u
        Av = op.matvec(v)
        PAv = Av
        for u in basis:
            PAv = PAv - torch.dot(u, PAv) * u
        return Av, PAv

    return apply


def _power_which(
    op: CurvatureOperator,
    v: Tensor,
    which: str,
    tol: float,
    max_products: int,
    stop: str,
    basis: list[Tensor],
) -> EigenResult:
    apply = _projected(op, basis)
    first = _power(apply, v, 0.0, tol, max_products, stop)
    at_wanted_end = {"LM": True, "LA": first.value >= 0, "SA": first.value <= 0}[which]
    if at_wanted_end:
        return first
    # The largest magnitude sits at the other end: shift by it, so that every eigenvalue of
    # A − σI has the sign opposite to σ's, and the wanted end becomes the largest magnitude.
    sigma = first.value
    budget = max_products - first.n_products
    if budget < 1:
        return EigenResult(
            first.value, first.vector, False, first.n_products, first.residual, first.history
        )
    second = _power(apply, v, sigma, tol, budget, stop)
    second.n_products += first.n_products
    return second


def power_method(
    op: CurvatureOperator | Any,
    *,
    which: str = "LA",
    tol: float = 1e-6,
    max_products: int = 1000,
    stop: str = "residual",
    v0: Any = None,
    seed: int = 0,
) -> EigenResult:
    """The power method, paper eq 60: ``Ψ ← H Ψ / ‖Ψ‖``, ``λ = Ψᵀ H Ψ`` for unit ``Ψ``.

    Parameters
    ----------
    op
        A :class:`~ebp.hessian.CurvatureOperator` or a symmetric matrix.
    which
        ``"LA"`` (default): the largest algebraic eigenvalue, the one that limits the learning
        rate (eq 38); ``"LM"``: the largest in magnitude, what the plain iteration finds;
        ``"SA"``: the smallest algebraic.  For ``"LA"``/``"SA"``, if the largest magnitude lies
        at the other end, a second run iterates ``A − σI`` with ``σ`` that eigenvalue.
    tol
        Stop when ``‖H v − λ v‖ ≤ tol·|λ|`` (``stop="residual"``, default) or when
        ``|λ_t − λ_{t−1}| ≤ tol·|λ_t|`` (``stop="change"``, which can stop early on a plateau).
    max_products
        Budget of products (both runs together).
    v0, seed
        Start vector, or the seed of a random normal one.

    Returns
    -------
    EigenResult
        With ``converged`` false if the budget ran out first (e.g. when ``±λ`` tie in
        magnitude for ``"LM"``).

    Raises
    ------
    FloatingPointError
        If a product is not finite (NaN or Inf), rather than returning ``value=nan``.

    Notes
    -----
    The shifted run converges at the rate ``|λ_2 − σ| / |λ_1 − σ|`` per product, with ``λ_1``
    the wanted eigenvalue and ``λ_2`` its neighbour.  For ``"SA"`` on a Hessian whose most
    negative eigenvalue is small (``−0.01`` beside ``λ_max = 10``) that ratio is ``0.999``: the
    power method needs tens of thousands of products and with the default budget returns
    ``converged=False`` with a value near 0, so a small negative eigenvalue is missed.  Use
    :func:`lanczos_eigs` (``which="SA"``) for the bottom of the spectrum.
    """
    op = as_operator(op, "op")
    which = _check_which(which)
    tol, max_products, stop = _checked(tol, max_products, stop)
    v = _start_vector(op, v0, seed)
    return _power_which(op, v, which, tol, max_products, stop, [])


def top_eigenvalues(
    op: CurvatureOperator | Any,
    k: int = 1,
    *,
    which: str = "LA",
    tol: float = 1e-8,
    seed: int = 0,
    residuals: bool = True,
) -> EigenResults:
    """The ``k`` eigenpairs at one end of the spectrum, by Lanczos (:func:`lanczos_eigs`).

    The method to reach for: Lanczos needs far fewer products than the power method with
    deflation (:func:`deflated_power_method`, 18–110 times more on the book's networks) and
    converges on clustered spectra where deflation does not; operators too small for ARPACK
    are solved densely.

    Parameters
    ----------
    op
        A curvature operator or a symmetric matrix.
    k
        How many eigenpairs.
    which
        ``"LA"`` (default, the largest), ``"SA"`` (the smallest) or ``"LM"``.
    tol, seed, residuals
        As for :func:`lanczos_eigs`.

    Returns
    -------
    EigenResults
        Ordered from the requested end inwards.

    Examples
    --------
    >>> import numpy as np
    >>> from ebp.hessian import MatrixOperator, top_eigenvalues
    >>> op = MatrixOperator(np.diag(np.arange(1.0, 31.0)))
    >>> top = top_eigenvalues(op, k=3)
    >>> np.round(top.values, 6), top.method
    (array([30., 29., 28.]), 'lanczos')

    For a network, ``op`` is a :class:`HessianOperator` (see its example).
    """
    return lanczos_eigs(op, k, which=which, tol=tol, seed=seed, residuals=residuals)


def deflated_power_method(
    op: CurvatureOperator | Any,
    k: int,
    *,
    which: str = "LA",
    tol: float = 1e-6,
    max_products: int = 1000,
    stop: str = "residual",
    seed: int = 0,
) -> EigenResults:
    """The ``k`` eigenvalues at one end of the spectrum by the power method with deflation.

    For teaching how deflation works; for the eigenvalues themselves use
    :func:`top_eigenvalues` (Lanczos), which on the book's networks needs 18–110 times fewer
    products and converges where this leaves eigenpairs of a clustered spectrum unconverged
    (check ``converged``).

    After each eigenpair ``(λ_i, v_i)`` is found, the next power iteration runs on the
    projected operator ``P H P`` with ``P = I − Σ_i v_i v_iᵀ``: the found directions are
    removed, and the next eigenvalue becomes the dominant one.  The stopping test uses the
    projected residual; ``residuals`` are those of ``H`` itself (they include the error left in
    the earlier vectors).  ``max_products`` is the budget for each eigenpair.
    """
    op = as_operator(op, "op")
    k = check_int(k, "k", min_value=1)
    if k > op.dim:
        raise ValueError(f"k must be <= the number of parameters ({op.dim}); got {k}")
    which = _check_which(which)
    tol, max_products, stop = _checked(tol, max_products, stop)
    rng = np.random.default_rng(check_int(seed, "seed", min_value=0))
    before = op.n_products
    results: list[EigenResult] = []
    basis: list[Tensor] = []
    for _ in range(k):
        v = torch.as_tensor(rng.standard_normal(op.dim), dtype=op.dtype, device=op.device)
        for u in basis:
            v = v - torch.dot(u, v) * u
        v = v / v.norm()
        res = _power_which(op, v, which, tol, max_products, stop, basis)
        u = res.vector
        for b in basis:
            u = u - torch.dot(b, u) * b
        u = u / u.norm()
        basis.append(u)
        results.append(res)
    return EigenResults(
        values=np.array([r.value for r in results]),
        vectors=torch.stack(basis, dim=1),
        converged=np.array([r.converged for r in results]),
        residuals=np.array([r.residual for r in results]),
        n_products=op.n_products - before,
        method="power_deflation",
    )


def _order(vals: np.ndarray, which: str) -> np.ndarray:
    if which == "LA":
        return np.argsort(-vals, kind="stable")
    if which == "SA":
        return np.argsort(vals, kind="stable")
    return np.argsort(-np.abs(vals), kind="stable")


def _dense_eigs(op: CurvatureOperator, k: int, which: str, residuals: bool) -> EigenResults:
    """All eigenpairs of the operator's dense matrix; the ``k`` wanted ones."""
    before = op.n_products
    vals_t, vecs_t = torch.linalg.eigh(op.dense())
    vals = vals_t.detach().to("cpu", torch.float64).numpy()
    order = _order(vals, which)[:k]
    V = vecs_t[:, torch.as_tensor(order, device=vecs_t.device)]
    res = np.full(k, np.nan)
    if residuals:
        for i in range(k):
            res[i] = float((op.matvec(V[:, i]) - float(vals[order[i]]) * V[:, i]).norm())
    return EigenResults(
        values=np.asarray(vals[order], dtype=np.float64),
        vectors=V,
        converged=np.ones(k, dtype=bool),
        residuals=res,
        n_products=op.n_products - before,
        method="dense",
    )


def lanczos_eigs(
    op: CurvatureOperator | Any,
    k: int = 1,
    *,
    which: str = "LA",
    tol: float = 1e-8,
    ncv: int | None = None,
    maxiter: int | None = None,
    seed: int = 0,
    residuals: bool = True,
) -> EigenResults:
    """``k`` eigenpairs by Lanczos: :func:`scipy.sparse.linalg.eigsh` on
    :meth:`~ebp.hessian.CurvatureOperator.as_linear_operator`.

    Parameters
    ----------
    op
        A curvature operator or a symmetric matrix, of dimension ``n ≥ k``.  When ``k ≥ n − 1``
        ARPACK cannot run; the operator's dense matrix (``n`` products) is then solved by
        ``torch.linalg.eigh`` (``method="dense"``), e.g. for a model with two weights.
    which
        ``"LA"`` (top ``k``), ``"SA"`` (smallest ``k``) or ``"LM"``.
    tol, ncv, maxiter
        Passed to ``eigsh`` (``tol``: relative accuracy of the Ritz values; ``ncv``: Lanczos
        vectors kept, default ``min(n − 1, max(2k + 1, 20))``; ``maxiter``: restarts).  A
        smaller ``ncv`` saves little: on a 1 210-weight network, ``k = 1`` took 37 products with
        ``ncv = 8`` against 41 with 20 at ``tol = 1e-8``, 21 against 21 at ``tol = 1e-3``, and
        ``k = 5`` took more (93 against 73).
    seed
        Seed of the start vector (ARPACK's own would differ from run to run).
    residuals
        Also compute ``‖H v_i − λ_i v_i‖`` (``k`` more products, counted in ``n_products``).

    Returns
    -------
    EigenResults
        Ordered from the requested end inwards; ``converged`` false (and NaN values) for pairs
        ARPACK did not converge within ``maxiter``.

    Examples
    --------
    >>> import numpy as np
    >>> from ebp.hessian import lanczos_eigs
    >>> res = lanczos_eigs(np.diag(np.arange(1.0, 31.0)), k=2, which="SA")
    >>> np.round(res.values, 6), bool(res.converged.all())
    (array([1., 2.]), True)
    """
    op = as_operator(op, "op")
    k = check_int(k, "k", min_value=1)
    if k > op.dim:
        raise ValueError(f"k must be <= the number of parameters ({op.dim}); got {k}")
    which = _check_which(which)
    tol = check_positive(tol, "tol", allow_zero=True)
    check_int(seed, "seed", min_value=0)
    if k >= op.dim - 1:  # too small for ARPACK (it needs k < n − 1 with a LinearOperator)
        return _dense_eigs(op, k, which, residuals)
    if ncv is None:
        ncv = min(op.dim - 1, max(2 * k + 1, 20))
    ncv = check_int(ncv, "ncv", min_value=k + 1, max_value=op.dim)
    if maxiter is not None:
        maxiter = check_int(maxiter, "maxiter", min_value=1)
    rng = np.random.default_rng(check_int(seed, "seed", min_value=0))
    v0 = rng.standard_normal(op.dim)
    before = op.n_products
    try:
        vals, vecs = eigsh(
            op.as_linear_operator(), k=k, which=which, tol=tol, ncv=ncv, maxiter=maxiter, v0=v0
        )
        ok = np.ones(k, dtype=bool)
    except ArpackNoConvergence as err:
        got = len(err.eigenvalues)
        vals = np.concatenate([err.eigenvalues, np.full(k - got, np.nan)])
        vecs = np.concatenate([err.eigenvectors, np.full((op.dim, k - got), np.nan)], axis=1)
        ok = np.arange(k) < got
    if which == "LA":
        order = np.argsort(-vals)
    elif which == "SA":
        order = np.argsort(vals)
    else:
        order = np.argsort(-np.abs(vals))
    order = np.concatenate([order[ok[order]], order[~ok[order]]])
    vals, vecs, ok = vals[order], vecs[:, order], ok[order]
    V = torch.as_tensor(vecs, dtype=op.dtype, device=op.device)
    res = np.full(k, np.nan)
    if residuals:
        for i in range(k):
            if ok[i]:
                res[i] = float((op.matvec(V[:, i]) - float(vals[i]) * V[:, i]).norm())
    return EigenResults(
        values=np.asarray(vals, dtype=np.float64),
        vectors=V,
        converged=ok,
        residuals=res,
        n_products=op.n_products - before,
        method="lanczos",
    )
