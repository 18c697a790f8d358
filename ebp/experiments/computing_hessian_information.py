"""Experiments of the chapter "Computing Hessian information" (paper §7).

All on one small problem, :func:`digit_problem`: a tanh network with two hidden layers
(64-12-8-10 by default, float64) trained briefly with the squared error and ±1 targets on a few
hundred standardized scikit-learn digits, so that the paper's Gauss–Newton formulas apply.

- :func:`finite_difference_sweep`: the error of eq 59 (forward) and of its central form against
  the exact product, over the step ``α`` (truncation against rounding).
- :func:`curvature_matrices`: the dense Hessian, the Gauss–Newton matrix (§7.2, eqs 48–51) and
  the Hessian built column by column from differences of gradients (§7.1), with their spectra.
- :func:`diagonal_comparison`: the backpropagated diagonal (§7.4, eqs 54–58) against the exact
  Gauss–Newton and Hessian diagonals, layer by layer.
- :func:`hvp_accuracy`: exact products (double backward, forward-over-reverse) against eq 59, and
  the power method (eq 60) with each against the dense eigenvalues.
- :func:`hvp_cost`: the time and graph memory of one product relative to one gradient.
- :func:`linear_unit_hessian`: the Hessian of the linear unit on the Fig 9/10 data is
  ``XᵀX/P`` (eq 29).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from ebp import data
from ebp import hessian as H
from ebp import nn as ebp_nn
from ebp._validate import as_float_array, check_instance, check_int, check_positive
from ebp.hessian.operator import CurvatureOperator
from ebp.repro import single_threaded
from ebp.train import evaluate, fit

__all__ = [
    "CurvatureMatrices",
    "DiagonalComparison",
    "DigitProblem",
    "FiniteDifferenceOperator",
    "FiniteDifferenceSweep",
    "HvpAccuracy",
    "HvpCost",
    "LinearUnitHessian",
    "curvature_matrices",
    "diagonal_comparison",
    "digit_problem",
    "finite_difference_hessian",
    "finite_difference_sweep",
    "hvp_accuracy",
    "hvp_cost",
    "linear_unit_hessian",
    "saved_tensor_bytes",
]


# ---------------------------------------------------------------------------------------------
# The problem
# ---------------------------------------------------------------------------------------------


@dataclass
class DigitProblem:
    """A small tanh network on digits with the squared error, at two points of training.

    Attributes
    ----------
    model_init, model
        The network at its initial weights and after training (float64).
    X, Y
        Training inputs ``(P, 64)`` and ±1 targets ``(P, 10)``, float64 tensors.
    sizes
        The layer widths.
    loss_init, loss_trained
        ``E = (1/P) Σ_p ½‖d^p − o^p‖²`` at the two points.
    epochs, eta, batch_size
        How the network was trained.
    """

    model_init: nn.Sequential
    model: nn.Sequential
    X: Tensor
    Y: Tensor
    sizes: tuple[int, ...]
    loss_init: float
    loss_trained: float
    epochs: int
    eta: float
    batch_size: int

    @property
    def n_params(self) -> int:
        """Number of weights and biases ``n``."""
        return sum(p.numel() for p in self.model.parameters())

    @property
    def n_patterns(self) -> int:
        """Number of training patterns ``P``."""
        return int(self.X.shape[0])

    def operator(self, *, trained: bool = True, **kw: object) -> H.HessianOperator:
        """The Hessian operator of the full training loss at one of the two points."""
        model = self.model if trained else self.model_init
        return H.HessianOperator(model, "mse", (self.X, self.Y), **kw)  # type: ignore[arg-type]


def digit_problem(
    n_train: int = 300,
    sizes: Sequence[int] = (64, 12, 8, 10),
    *,
    epochs: int = 40,
    eta: float = 0.02,
    batch_size: int = 10,
    seed: int = 0,
) -> DigitProblem:
    """Build and briefly train the chapter's network (float64, ``1.7159 tanh(2x/3)`` units).

    Parameters
    ----------
    n_train
        Number of standardized training digits.
    sizes
        Layer widths, 64 inputs first and 10 outputs last.
    epochs, eta, batch_size
        Mini-batch SGD on the squared error with ±1 targets (:func:`ebp.train.fit`).
    seed
        Seed of the split, the initial weights and the order of presentation.
    """
    n_train = check_int(n_train, "n_train", min_value=10)
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < 2 or sizes[0] != 64 or sizes[-1] != 10:
        raise ValueError(f"sizes must start with 64 inputs and end with 10 outputs; got {sizes}")
    epochs = check_int(epochs, "epochs", min_value=0)
    eta = check_positive(eta, "eta")
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    seed = check_int(seed, "seed", min_value=0)
    split = data.digits(n_train=n_train, standardize=True, seed=seed)
    X = torch.as_tensor(split.X_train, dtype=torch.float64)
    Y = torch.as_tensor(data.encode_targets(split.y_train, 10, "pm1"), dtype=torch.float64)
    with single_threaded():
        model_init = ebp_nn.mlp(sizes, "lecun_tanh", seed=seed, dtype=torch.float64)
        model = ebp_nn.mlp(sizes, "lecun_tanh", seed=seed, dtype=torch.float64)
        if epochs > 0:
            fit(model, X, Y, eta=eta, epochs=epochs, batch_size=batch_size, seed=seed)
        loss_init = evaluate(model_init, X, Y)
        loss_trained = evaluate(model, X, Y)
    return DigitProblem(
        model_init, model, X, Y, sizes, loss_init, loss_trained, epochs, eta, batch_size
    )


def _check_problem(problem: object) -> DigitProblem:
    check_instance(problem, DigitProblem, "problem")
    return problem  # type: ignore[return-value]


def _rel(a: Tensor, ref: Tensor) -> float:
    return float((a - ref).norm() / ref.norm())


def _unit_directions(dim: int, n: int, seed: int) -> Tensor:
    """``n`` random unit vectors (rows), seeded."""
    g = torch.Generator().manual_seed(seed)
    V = torch.randn(n, dim, generator=g, dtype=torch.float64)
    return V / V.norm(dim=1, keepdim=True)


# ---------------------------------------------------------------------------------------------
# §7.5 eq 59: the step of the finite difference
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FiniteDifferenceSweep:
    """Relative error of eq 59 against the exact product, over the step.

    Attributes
    ----------
    alphas : numpy.ndarray
        The steps ``α`` (the directions are unit vectors, so ``α`` is a distance in weight space).
    forward, central : numpy.ndarray
        ``(n_directions, n_alphas)``: ``‖Hv_fd − Hv‖ / ‖Hv‖`` for eq 59 and for the central form.
    eps : float
        Machine epsilon of float64.
    default_alpha_forward, default_alpha_central : float
        The steps :func:`ebp.hessian.finite_difference_hvp` picks by default.
    default_forward, default_central : numpy.ndarray
        ``(n_directions,)``: the errors at those default steps.
    """

    alphas: np.ndarray
    forward: np.ndarray
    central: np.ndarray
    eps: float
    default_alpha_forward: float
    default_alpha_central: float
    default_forward: np.ndarray
    default_central: np.ndarray

    def best(self, kind: str) -> tuple[float, float]:
        """``(α, error)`` at the smallest median error of ``kind`` (``"forward"``/``"central"``)."""
        err = np.median(self.forward if kind == "forward" else self.central, axis=0)
        i = int(np.argmin(err))
        return float(self.alphas[i]), float(err[i])

    def slope(self, kind: str, low: float, high: float) -> float:
        """Least-squares slope of log median error against log ``α`` for ``low ≤ α ≤ high``."""
        err = np.median(self.forward if kind == "forward" else self.central, axis=0)
        keep = (self.alphas >= low) & (self.alphas <= high)
        if keep.sum() < 2:
            raise ValueError("low and high must enclose at least two steps")
        return float(np.polyfit(np.log10(self.alphas[keep]), np.log10(err[keep]), 1)[0])


def finite_difference_sweep(
    problem: DigitProblem,
    alphas: Sequence[float] | np.ndarray | None = None,
    *,
    n_directions: int = 5,
    seed: int = 0,
) -> FiniteDifferenceSweep:
    """Eq 59, ``H v ≈ (1/α)[∇E(w + α v) − ∇E(w)]``, and its central form, against the exact
    ``H v`` (double backward) for ``n_directions`` random unit ``v`` at the trained weights.

    Parameters
    ----------
    problem
        From :func:`digit_problem`.
    alphas
        Steps, default ``10^-13 … 10^0`` in half decades.
    n_directions, seed
        Number of random unit directions and their seed.
    """
    problem = _check_problem(problem)
    if alphas is None:
        alphas = 10.0 ** np.arange(-13.0, 0.01, 0.5)
    alphas = as_float_array(alphas, "alphas", ndim=1)
    if alphas.size == 0 or np.any(alphas <= 0):
        raise ValueError("alphas must be a non-empty sequence of steps > 0")
    n_directions = check_int(n_directions, "n_directions", min_value=1)
    seed = check_int(seed, "seed", min_value=0)
    fwd = np.empty((n_directions, alphas.size))
    cen = np.empty_like(fwd)
    dflt_f = np.empty(n_directions)
    dflt_c = np.empty(n_directions)
    with single_threaded():
        op = problem.operator()
        w = op.params
        g0 = op.gradient()
        V = _unit_directions(op.dim, n_directions, seed)
        for d, v in enumerate(V):
            exact = op.matvec(v)
            for j, a in enumerate(alphas):
                g_plus = op.gradient(w + a * v)
                fwd[d, j] = _rel((g_plus - g0) / a, exact)
                cen[d, j] = _rel((g_plus - op.gradient(w - a * v)) / (2 * a), exact)
            dflt_f[d] = _rel(H.finite_difference_hvp(op, v), exact)
            dflt_c[d] = _rel(H.finite_difference_hvp(op, v, central=True), exact)
        eps = torch.finfo(torch.float64).eps
        scale = 1 + float(w.norm())
    return FiniteDifferenceSweep(
        alphas=alphas,
        forward=fwd,
        central=cen,
        eps=eps,
        default_alpha_forward=math.sqrt(eps) * scale,
        default_alpha_central=eps ** (1 / 3) * scale,
        default_forward=dflt_f,
        default_central=dflt_c,
    )


# ---------------------------------------------------------------------------------------------
# §7.1 and §7.2: dense matrices
# ---------------------------------------------------------------------------------------------


def finite_difference_hessian(op: H.HessianOperator, alpha: float | None = None) -> Tensor:
    """The Hessian column by column from differences of gradients (§7.1, eq 59 with the unit
    vectors): ``H[:, j] ≈ (1/α)[∇E(w + α e_j) − ∇E(w)]``, ``n + 1`` gradients.  Not symmetrised.

    ``alpha`` defaults to ``√ε (1 + ‖w‖)``, as in :func:`ebp.hessian.finite_difference_hvp`.
    """
    check_instance(op, H.HessianOperator, "op")
    w = op.params
    if alpha is None:
        alpha = math.sqrt(torch.finfo(op.dtype).eps) * (1 + float(w.norm()))
    alpha = check_positive(alpha, "alpha")
    with single_threaded():
        g0 = op.gradient()
        cols = []
        for j in range(op.dim):
            wj = w.clone()
            wj[j] += alpha
            cols.append((op.gradient(wj) - g0) / alpha)
    return torch.stack(cols, dim=1)


@dataclass(frozen=True)
class CurvatureMatrices:
    """The Hessian and its approximations at one point, with their spectra.

    Attributes
    ----------
    label : str
        Which point (``"initial"`` or ``"trained"``).
    loss : float
        ``E`` at that point.
    hessian_eigenvalues, gauss_newton_eigenvalues : numpy.ndarray
        Eigenvalues of ``H`` and of the Gauss–Newton matrix ``G = (1/P) Σ_p J_pᵀ J_p``, ascending.
    gn_rel_frobenius : float
        ``‖G − H‖_F / ‖H‖_F``.
    gn_equals_square_jacobian : float
        ``‖G_ggn − G_sj‖_F / ‖G_sj‖_F``: the generalized Gauss–Newton ``Jᵀ (∂²L/∂o²) J`` and the
        paper's square Jacobian agree for the squared error (rounding).
    fd_rel_frobenius, fd_asymmetry : float
        The Hessian from differences of gradients (§7.1): ``‖H_fd − H‖_F / ‖H‖_F`` and
        ``‖H_fd − H_fdᵀ‖_F / ‖H_fd‖_F``.
    fd_max_eig_error : float
        ``max |λ_i(sym H_fd) − λ_i(H)| / max |λ(H)|``.
    """

    label: str
    loss: float
    hessian_eigenvalues: np.ndarray
    gauss_newton_eigenvalues: np.ndarray
    gn_rel_frobenius: float
    gn_equals_square_jacobian: float
    fd_rel_frobenius: float
    fd_asymmetry: float
    fd_max_eig_error: float

    @property
    def n_negative(self) -> int:
        """Number of negative eigenvalues of ``H`` below ``−1e-10 · max|λ|`` (rounding aside)."""
        tol = 1e-10 * float(np.abs(self.hessian_eigenvalues).max())
        return int((self.hessian_eigenvalues < -tol).sum())

    @property
    def gn_min_relative(self) -> float:
        """Smallest eigenvalue of ``G`` over its largest (≥ 0 up to rounding: ``G`` is PSD)."""
        ev = self.gauss_newton_eigenvalues
        return float(ev[0] / ev[-1])


def curvature_matrices(
    problem: DigitProblem, *, trained: bool = True, finite_differences: bool = True
) -> CurvatureMatrices:
    """Dense ``H`` (exact products), ``G`` (§7.2) and the finite-difference Hessian (§7.1) at
    the initial or the trained weights, with the eigenvalues of ``H`` and ``G``.

    With ``finite_differences=False`` the ``n + 1`` gradients of §7.1 are skipped and its
    fields are NaN.
    """
    problem = _check_problem(problem)
    if not isinstance(trained, bool):
        raise TypeError(f"trained must be a bool; got {type(trained).__name__}")
    if not isinstance(finite_differences, bool):
        raise TypeError(
            f"finite_differences must be a bool; got {type(finite_differences).__name__}"
        )
    model = problem.model if trained else problem.model_init
    batch = (problem.X, problem.Y)
    with single_threaded():
        op = problem.operator(trained=trained)
        Hd = op.dense()
        G = H.GaussNewtonOperator(model, "mse", batch, kind="ggn").dense()
        Gsj = H.GaussNewtonOperator(model, "mse", batch, kind="square_jacobian").dense()
        ev_h = torch.linalg.eigvalsh(Hd)
        ev_g = torch.linalg.eigvalsh(G)
        fd = (math.nan, math.nan, math.nan)
        if finite_differences:
            Hfd = finite_difference_hessian(op)
            ev_fd = torch.linalg.eigvalsh(0.5 * (Hfd + Hfd.T))
            fd = (
                _rel(Hfd, Hd),
                float((Hfd - Hfd.T).norm() / Hfd.norm()),
                float((ev_fd - ev_h).abs().max() / ev_h.abs().max()),
            )
    return CurvatureMatrices(
        label="trained" if trained else "initial",
        loss=problem.loss_trained if trained else problem.loss_init,
        hessian_eigenvalues=ev_h.numpy(),
        gauss_newton_eigenvalues=ev_g.numpy(),
        gn_rel_frobenius=_rel(G, Hd),
        gn_equals_square_jacobian=_rel(G, Gsj),
        fd_rel_frobenius=fd[0],
        fd_asymmetry=fd[1],
        fd_max_eig_error=fd[2],
    )


# ---------------------------------------------------------------------------------------------
# §7.3–7.4: diagonals
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiagonalComparison:
    """Backpropagated diagonals (§7.4) against the exact ones, layer by layer.

    Attributes
    ----------
    layers : list[str]
        One label per ``Linear`` layer, input side first (``"layer 1 (64→12)"``, …).
    layer_index : numpy.ndarray
        ``(n,)``: the layer (0-based) of every parameter, in the model's parameter order.
    exact_gn, exact_hessian : numpy.ndarray
        ``(n,)``: the exact Gauss–Newton diagonal and the exact Hessian diagonal.
    backprop_gn, backprop_hessian : numpy.ndarray
        ``(n,)``: the backpropagated diagonal with the paper's Gauss–Newton rule (eqs 54–58) and
        with the ``f″`` term kept (the diagonal of eqs 52–53 without the off-diagonal terms).
    err_gn, err_hessian, err_gn_vs_hessian : numpy.ndarray
        ``(n_layers,)`` relative errors ``‖d − d*‖ / ‖d*‖`` per layer: backprop GN against exact
        GN, backprop with ``f″`` against exact ``H``, and exact GN against exact ``H``.
    n_products_exact : int
        Hessian–vector products the exact Hessian diagonal took (one per parameter).
    """

    layers: list[str]
    layer_index: np.ndarray
    exact_gn: np.ndarray
    exact_hessian: np.ndarray
    backprop_gn: np.ndarray
    backprop_hessian: np.ndarray
    err_gn: np.ndarray
    err_hessian: np.ndarray
    err_gn_vs_hessian: np.ndarray
    n_products_exact: int

    def fraction_over(self, layer: int) -> float:
        """Fraction of the non-zero entries of ``layer`` (0-based) where the backpropagated
        Gauss–Newton diagonal exceeds the exact one."""
        sel = (self.layer_index == layer) & (self.exact_gn > 0)
        if not sel.any():
            raise ValueError(f"layer must be one of 0…{len(self.layers) - 1}; got {layer}")
        return float((self.backprop_gn[sel] > self.exact_gn[sel]).mean())


def _per_layer_error(d: np.ndarray, ref: np.ndarray, index: np.ndarray, n: int) -> np.ndarray:
    return np.array(
        [
            np.linalg.norm(d[index == i] - ref[index == i]) / np.linalg.norm(ref[index == i])
            for i in range(n)
        ]
    )


def diagonal_comparison(problem: DigitProblem, *, trained: bool = True) -> DiagonalComparison:
    """The §7.4 diagonal by :func:`ebp.hessian.backprop_diagonal` against
    :func:`ebp.hessian.gauss_newton_diagonal` and :func:`ebp.hessian.hessian_diagonal`."""
    problem = _check_problem(problem)
    if not isinstance(trained, bool):
        raise TypeError(f"trained must be a bool; got {type(trained).__name__}")
    model = problem.model if trained else problem.model_init
    batch = (problem.X, problem.Y)
    with single_threaded():
        exact_h = H.hessian_diagonal(problem.operator(trained=trained))
        exact_gn = H.gauss_newton_diagonal(model, "mse", batch)
        bp_gn = H.backprop_diagonal(model, "mse", batch)
        bp_h = H.backprop_diagonal(model, "mse", batch, gauss_newton=False)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    layers = [f"layer {i + 1} ({m.in_features}→{m.out_features})" for i, m in enumerate(linears)]
    index = np.concatenate(
        [np.full(p.numel(), i) for i, m in enumerate(linears) for p in m.parameters()]
    )
    vals = [r.values.numpy() for r in (exact_gn, exact_h, bp_gn, bp_h)]
    n = len(linears)
    return DiagonalComparison(
        layers=layers,
        layer_index=index,
        exact_gn=vals[0],
        exact_hessian=vals[1],
        backprop_gn=vals[2],
        backprop_hessian=vals[3],
        err_gn=_per_layer_error(vals[2], vals[0], index, n),
        err_hessian=_per_layer_error(vals[3], vals[1], index, n),
        err_gn_vs_hessian=_per_layer_error(vals[0], vals[1], index, n),
        n_products_exact=exact_h.n_products,
    )


# ---------------------------------------------------------------------------------------------
# §7.5: products and the power method
# ---------------------------------------------------------------------------------------------


class FiniteDifferenceOperator(CurvatureOperator):
    """Eq 59 seen as an operator: every product is :func:`ebp.hessian.finite_difference_hvp`
    (two gradients; not exactly linear, nor exactly symmetric)."""

    def __init__(
        self, op: H.HessianOperator, alpha: float | None = None, *, central: bool = False
    ) -> None:
        check_instance(op, H.HessianOperator, "op")
        if alpha is not None:
            alpha = check_positive(alpha, "alpha")
        if not isinstance(central, bool):
            raise TypeError(f"central must be a bool; got {type(central).__name__}")
        super().__init__(op.dim, op.dtype, op.device)
        self.op, self.alpha, self.central = op, alpha, central

    def _matvec(self, v: Tensor) -> Tensor:
        return H.finite_difference_hvp(self.op, v, self.alpha, central=self.central)


@dataclass(frozen=True)
class HvpAccuracy:
    """Exact and finite-difference products, and the power method with each.

    Attributes
    ----------
    forward_over_reverse : numpy.ndarray
        ``(n_directions,)``: ``‖Hv_for − Hv_db‖ / ‖Hv_db‖`` (two exact methods).
    dense : numpy.ndarray
        The same for the dense Hessian's ``H v`` against double backward.
    fd_forward, fd_central : numpy.ndarray
        Eq 59 at its default step, forward and central, against double backward.
    lambda_max : float
        Largest eigenvalue of the dense Hessian (``eigvalsh``).
    power_exact, power_fd : float
        The power method (eq 60, ``which="LA"``) with exact products and with eq 59.
    power_exact_products, power_fd_products : int
        Products each used.
    """

    forward_over_reverse: np.ndarray
    dense: np.ndarray
    fd_forward: np.ndarray
    fd_central: np.ndarray
    lambda_max: float
    power_exact: float
    power_fd: float
    power_exact_products: int
    power_fd_products: int

    @property
    def power_exact_rel_error(self) -> float:
        """``|λ_power − λ_max| / λ_max`` with exact products."""
        return abs(self.power_exact - self.lambda_max) / abs(self.lambda_max)

    @property
    def power_fd_rel_error(self) -> float:
        """``|λ_power − λ_max| / λ_max`` with eq 59."""
        return abs(self.power_fd - self.lambda_max) / abs(self.lambda_max)


def hvp_accuracy(
    problem: DigitProblem, *, n_directions: int = 5, seed: int = 0, tol: float = 1e-6
) -> HvpAccuracy:
    """Exact products (double backward, forward-over-reverse, dense) and eq 59 on random unit
    directions at the trained weights; the power method (eq 60) with exact and with
    finite-difference products against ``eigvalsh`` of the dense Hessian."""
    problem = _check_problem(problem)
    n_directions = check_int(n_directions, "n_directions", min_value=1)
    seed = check_int(seed, "seed", min_value=0)
    tol = check_positive(tol, "tol")
    with single_threaded():
        op = problem.operator()
        op_for = problem.operator(method="forward_over_reverse")
        Hd = op.dense()
        V = _unit_directions(op.dim, n_directions, seed)
        rows = []
        for v in V:
            exact = op.matvec(v)
            rows.append(
                (
                    _rel(op_for.matvec(v), exact),
                    _rel(Hd @ v, exact),
                    _rel(H.finite_difference_hvp(op, v), exact),
                    _rel(H.finite_difference_hvp(op, v, central=True), exact),
                )
            )
        errs = np.array(rows)
        lam = float(torch.linalg.eigvalsh(Hd)[-1])
        op.reset_count()
        pe = H.power_method(op, which="LA", tol=tol, seed=seed)
        pf = H.power_method(FiniteDifferenceOperator(op), which="LA", tol=tol, seed=seed)
    return HvpAccuracy(
        forward_over_reverse=errs[:, 0],
        dense=errs[:, 1],
        fd_forward=errs[:, 2],
        fd_central=errs[:, 3],
        lambda_max=lam,
        power_exact=pe.value,
        power_fd=pf.value,
        power_exact_products=pe.n_products,
        power_fd_products=pf.n_products,
    )


def saved_tensor_bytes(fn: Callable[[], object]) -> int:
    """Bytes of the distinct tensors autograd saves for backward while ``fn()`` runs.

    What a graph keeps alive until it is freed (activations and the like); counted once per
    storage, through ``torch.autograd.graph.saved_tensors_hooks``.  Deterministic, unlike a
    peak-memory reading.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable; got {type(fn).__name__}")
    seen: dict[tuple[int, int], int] = {}

    def pack(t: Tensor) -> Tensor:
        storage = t.untyped_storage()
        seen[(storage.data_ptr(), storage.nbytes())] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return int(sum(seen.values()))


@dataclass(frozen=True)
class HvpCost:
    """Cost of one product relative to one gradient of the full training loss.

    Attributes
    ----------
    timing_seconds : dict[str, float]
        Best CPU time per call (``time.process_time``, single-threaded) of ``"gradient"``,
        ``"hv_cached"`` (double backward through a kept gradient graph),
        ``"hv_double_backward"`` (forward, gradient with its graph, backward),
        ``"hv_forward_over_reverse"`` and ``"hv_finite_difference"`` (eq 59, two gradients).
    memory_bytes : dict[str, int]
        Bytes of tensors autograd saves for ``"gradient"`` and for ``"hv_double_backward"``
        (:func:`saved_tensor_bytes`): deterministic.
    """

    timing_seconds: dict[str, float]
    memory_bytes: dict[str, int]

    @property
    def timing_ratio(self) -> dict[str, float]:
        """Each method's time over the gradient's."""
        g = self.timing_seconds["gradient"]
        return {k: v / g for k, v in self.timing_seconds.items()}

    @property
    def memory_ratio(self) -> float:
        """Graph memory of a double-backward product over a gradient's."""
        return self.memory_bytes["hv_double_backward"] / self.memory_bytes["gradient"]


def hvp_cost(problem: DigitProblem, *, repeats: int = 5, calls: int = 5) -> HvpCost:
    """Time (best of ``repeats`` rounds of ``calls`` calls, methods taken in turn every round)
    and graph memory of one product and of one gradient at the trained weights."""
    problem = _check_problem(problem)
    repeats = check_int(repeats, "repeats", min_value=1)
    calls = check_int(calls, "calls", min_value=1)
    with single_threaded():
        op = problem.operator()
        op_fresh = problem.operator(cache_graph=False)
        op_for = problem.operator(method="forward_over_reverse")
        v = _unit_directions(op.dim, 1, 0)[0]
        methods: dict[str, Callable[[], object]] = {
            "gradient": op.gradient,
            "hv_cached": lambda: op.matvec(v),
            "hv_double_backward": lambda: op_fresh.matvec(v),
            "hv_forward_over_reverse": lambda: op_for.matvec(v),
            "hv_finite_difference": lambda: H.finite_difference_hvp(op, v),
        }
        for f in methods.values():  # warm up (the cached graph, forward-mode rules)
            f()
        best = dict.fromkeys(methods, math.inf)
        for _ in range(repeats):
            for name, f in methods.items():
                t0 = time.process_time()
                for _ in range(calls):
                    f()
                best[name] = min(best[name], (time.process_time() - t0) / calls)
        w = op.params
        E = op._obj.term(0)

        def gradient() -> None:
            wl = w.detach().requires_grad_(True)
            torch.autograd.grad(E(wl), wl)

        def hv() -> None:
            wl = w.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(E(wl), wl, create_graph=True)
            torch.autograd.grad(g, wl, grad_outputs=v)

        memory = {
            "gradient": saved_tensor_bytes(gradient),
            "hv_double_backward": saved_tensor_bytes(hv),
        }
    return HvpCost(timing_seconds=best, memory_bytes=memory)


# ---------------------------------------------------------------------------------------------
# R3: the linear unit of Figs 9/10
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinearUnitHessian:
    """The Hessian of the LMS cost (eq 28) of a linear unit, by autograd and by eq 29.

    Attributes
    ----------
    hessian : numpy.ndarray
        ``2 × 2``, by :func:`ebp.hessian.dense_hessian` (no bias, as in eq 28).
    xtx : numpy.ndarray
        ``XᵀX / P`` (eq 29).
    max_abs_diff : float
        ``max |H − XᵀX/P|``.
    eigenvalues : numpy.ndarray
        Of ``H``, descending (the paper: 0.84 and 0.036).
    gn_max_abs_diff : float
        ``max |G − H|`` for the Gauss–Newton matrix (equal for a linear model).
    independent_of_w : float
        ``max |H(w₁) − H(w₀)|`` at two random weight vectors (a quadratic cost: constant ``H``).
    eigenvalues_with_bias : numpy.ndarray
        Eigenvalues, descending, when the unit has a bias (its input is the constant 1).
    """

    hessian: np.ndarray
    xtx: np.ndarray
    max_abs_diff: float
    eigenvalues: np.ndarray
    gn_max_abs_diff: float
    independent_of_w: float
    eigenvalues_with_bias: np.ndarray


def _linear_unit(bias: bool, seed: int) -> nn.Linear:
    unit = nn.Linear(2, 1, bias=bias, dtype=torch.float64)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in unit.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
    return unit


def linear_unit_hessian(n: int = 100, *, seed: int = 0) -> LinearUnitHessian:
    """R3: the autograd Hessian of ``E = (1/2P) Σ (d − wᵀx)²`` on :func:`ebp.data.two_gaussians`
    equals ``XᵀX/P`` (eq 29)."""
    n = check_int(n, "n", min_value=8)
    seed = check_int(seed, "seed", min_value=0)
    ds = data.two_gaussians(n, seed=seed)
    X = torch.as_tensor(ds.X)
    batch = (X, torch.as_tensor(ds.y))
    with single_threaded():
        unit = _linear_unit(False, seed)
        Hd = H.dense_hessian(unit, "mse", batch)
        G = H.GaussNewtonOperator(unit, "mse", batch).dense()
        H1 = H.dense_hessian(_linear_unit(False, seed + 1), "mse", batch)
        Hb = H.dense_hessian(_linear_unit(True, seed), "mse", batch)
    xtx = (X.T @ X / X.shape[0]).numpy()
    Hn = Hd.numpy()
    return LinearUnitHessian(
        hessian=Hn,
        xtx=xtx,
        max_abs_diff=float(np.abs(Hn - xtx).max()),
        eigenvalues=np.linalg.eigvalsh(Hn)[::-1].copy(),
        gn_max_abs_diff=float((G - Hd).abs().max()),
        independent_of_w=float((H1 - Hd).abs().max()),
        eigenvalues_with_bias=np.linalg.eigvalsh(Hb.numpy())[::-1].copy(),
    )
