"""Experiments of the chapter "Convergence of gradient descent" (paper §5.1–5.2, Figs 6–14).

Each function returns a dataclass of NumPy data; nothing here draws (see
:mod:`ebp.plots.convergence_of_gradient_descent`).  The quadratic theory comes from
:mod:`ebp.quadratic`; the runs on data compute their gradients from the patterns themselves,
in float64, so that they measure what the theory predicts rather than restate it.

- :func:`one_d_regimes`: the four step-size regimes of Fig 6 on ``E = ½ λ w²`` (eqs 24, 26).
- :func:`quadratic_picture`: lines of constant ``E`` of a 2-D quadratic, its eigen-axes and a
  gradient-descent path, in the weights and in the eigen-coordinates (Figs 7–8).
- :func:`steps_vs_condition`: steps to a tolerance, measured on iterates and predicted from the
  rate, over a range of condition numbers ``κ`` (plain descent and heavy ball).
- :func:`fig10_problem`: the linear unit of Figs 9–11 on the two-Gaussian data, its Hessian
  (eq 29) with and without the bias input.
- :func:`batch_lms`, :func:`online_lms`: batch and stochastic (online) descent on eq 28.
- :func:`divergence_boundary`: the largest η for which batch descent converges, by bisection on
  actual runs.
- :func:`fig13_network`: the 1-1-1 network of Figs 13–14, its error surface over the two weights
  and batch and stochastic trajectories on it.
- :func:`momentum_region`, :func:`valley_runs`, :func:`momentum_table`: heavy-ball momentum from
  its 2×2 iteration matrix (beyond the paper).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ebp import data, quadratic
from ebp._validate import as_float_array, check_in_range, check_instance, check_int, check_positive

__all__ = [
    "Boundary",
    "Fig13Network",
    "LMSRun",
    "LinearUnitProblem",
    "MomentumRegion",
    "OneDRegimes",
    "QuadraticPicture",
    "StepsVsCondition",
    "ValleyRuns",
    "batch_lms",
    "divergence_boundary",
    "fig10_problem",
    "fig13_network",
    "lecun_f",
    "momentum_region",
    "momentum_table",
    "one_d_regimes",
    "online_lms",
    "quadratic_picture",
    "steps_vs_condition",
    "valley_runs",
    "weight_plane",
]

CONVERGED = 1e-8
"""A batch run has converged once its distance to the minimum is this fraction of the first."""

LECUN_A = 1.7159
"""The amplitude of the recommended sigmoid ``f(x) = 1.7159 tanh(2x/3)`` (§4.4)."""


def _vector(x: Any, name: str, n: int) -> np.ndarray:
    arr = as_float_array(x, name)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},); got shape {arr.shape}")
    return arr


def _positive_list(values: Any, name: str) -> np.ndarray:
    arr = as_float_array(values, name)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence; got shape {arr.shape}")
    if np.any(arr <= 0):
        raise ValueError(f"{name} must hold values > 0; got min {float(arr.min()):g}")
    return arr


# ---------------------------------------------------------------------------------------------
# §5.1 in one dimension: Fig 6
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OneDRegimes:
    """Gradient descent on ``E(w) = ½ λ (w − w*)²`` (``w* = 0``) at several rates (Fig 6)."""

    lam: float
    """The curvature ``λ = ∂²E/∂w²``."""
    eta_opt: float
    """``1/λ`` (eq 24)."""
    eta_max: float
    """``2/λ = 2 η_opt`` (eq 26)."""
    etas: np.ndarray
    """``(K,)`` learning rates."""
    paths: np.ndarray
    """``(K, steps + 1)`` iterates ``w_t``."""
    factors: np.ndarray
    """``(K,)`` the factor ``1 − ηλ`` that multiplies ``w_t − w*`` each step."""


def one_d_regimes(
    lam: float = 2.0, ratios: Sequence[float] = (0.5, 1.0, 1.6, 2.2), *, w0: float = 1.0,
    steps: int = 8,
) -> OneDRegimes:  # fmt: skip
    """The four regimes of Fig 6: ``η = ratio · η_opt`` for each ratio, from ``w0``.

    Parameters
    ----------
    lam
        Curvature ``λ > 0``.
    ratios
        ``η / η_opt`` for each run, > 0 (Fig 6: below 1, 1, between 1 and 2, above 2).
    w0
        Start (the minimum is at 0), non-zero.
    steps
        Updates per run, ≥ 1.
    """
    lam = check_positive(lam, "lam")
    ratios = _positive_list(ratios, "ratios")
    w0 = float(as_float_array(w0, "w0", ndim=0))
    if w0 == 0:
        raise ValueError("w0 must be non-zero (the minimum is at 0)")
    steps = check_int(steps, "steps", min_value=1)
    etas = ratios * quadratic.eta_opt(lam)
    paths = np.stack([quadratic.descend(lam, w0, e, steps)[:, 0] for e in etas])
    return OneDRegimes(
        lam=lam, eta_opt=quadratic.eta_opt(lam), eta_max=quadratic.eta_max(lam), etas=etas,
        paths=paths, factors=1.0 - etas * lam,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# §5.1 in many dimensions: Figs 7–8 and the time ∝ κ
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuadraticPicture:
    """A 2-D quadratic ``E = ½ (w − w*)ᵀ H (w − w*)`` on a grid, with a descent path."""

    H: np.ndarray
    """``(2, 2)`` Hessian."""
    lam: np.ndarray
    """Eigenvalues, ascending."""
    Q: np.ndarray
    """Eigenvectors in columns."""
    w_star: np.ndarray
    """The minimum."""
    eta: float
    """The learning rate of the path."""
    path: np.ndarray
    """``(steps + 1, 2)`` iterates in the weights."""
    path_eigen: np.ndarray
    """The same iterates in the eigen-coordinates ``v = Qᵀ (w − w*)``."""
    w1: np.ndarray
    """Grid of the first weight."""
    w2: np.ndarray
    """Grid of the second weight."""
    E: np.ndarray
    """``(len(w2), len(w1))`` values of ``E``."""


def quadratic_picture(
    H: Any, w0: Any, *, eta: float | None = None, steps: int = 20, w_star: Any = None,
    span: float = 1.3, n_grid: int = 161,
) -> QuadraticPicture:  # fmt: skip
    """Lines of constant ``E``, the eigen-axes and a gradient-descent path (Figs 7–8).

    Parameters
    ----------
    H
        Symmetric positive-definite ``(2, 2)`` Hessian.
    w0
        Start, shape ``(2,)``.
    eta
        Learning rate; default ``1/λ_max`` (eq 39).
    steps
        Updates, ≥ 1.
    w_star
        The minimum; default the origin.
    span
        The grid covers ``span · max|w0 − w*|`` on each side of ``w*`` (> 0).
    n_grid
        Grid points per axis, ≥ 3.
    """
    H = as_float_array(H, "H", shape=(2, 2))
    quadratic.condition_number(H)  # checks symmetric positive definite
    w0 = _vector(w0, "w0", 2)
    w_star = np.zeros(2) if w_star is None else _vector(w_star, "w_star", 2)
    eta = quadratic.eta_opt(H) if eta is None else check_positive(eta, "eta")
    steps = check_int(steps, "steps", min_value=1)
    span = check_positive(span, "span")
    n_grid = check_int(n_grid, "n_grid", min_value=3)
    lam, Q = quadratic.eigen(H)
    path = quadratic.descend(H, w0, eta, steps, w_star=w_star)
    r = span * float(np.max(np.abs(w0 - w_star)))
    w1 = np.linspace(w_star[0] - r, w_star[0] + r, n_grid)
    w2 = np.linspace(w_star[1] - r, w_star[1] + r, n_grid)
    grid = np.stack(np.meshgrid(w1, w2), axis=-1)
    return QuadraticPicture(
        H=H, lam=lam, Q=Q, w_star=w_star, eta=eta, path=path,
        path_eigen=(path - w_star) @ Q, w1=w1, w2=w2, E=quadratic.loss(H, grid, w_star),
    )  # fmt: skip


@dataclass(frozen=True)
class StepsVsCondition:
    """Steps to ``‖w_t − w*‖ ≤ tol ‖w_0 − w*‖`` against ``κ``, measured and predicted."""

    kappas: np.ndarray
    """``(K,)`` condition numbers (``λ_max = 1``, ``λ_min = 1/κ``)."""
    tol: float
    """The relative tolerance."""
    methods: tuple[str, ...]
    """``"eta_opt"`` (η = 1/λ_max, eq 39), ``"best_eta"`` (η = 2/(λ_min + λ_max)),
    ``"momentum"`` (Polyak's heavy ball, :func:`ebp.quadratic.best_momentum`)."""
    measured: dict[str, np.ndarray]
    """Method → ``(K,)`` steps counted on the iterates."""
    predicted: dict[str, np.ndarray]
    """Method → ``(K,)`` steps from the rate (:func:`ebp.quadratic.steps_to_tolerance`)."""


def _rotated(kappa: float, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    R = np.array([[c, -s], [s, c]])
    return R @ np.diag([1.0 / kappa, 1.0]) @ R.T


def steps_vs_condition(
    kappas: Sequence[float] = tuple(2.0 ** np.arange(1, 12)), *, tol: float = 1e-3,
    angle: float = 0.5,
) -> StepsVsCondition:  # fmt: skip
    """Measured and predicted steps to ``tol`` for 2-D quadratics of condition number ``κ``.

    ``H`` has eigenvalues ``1/κ`` and 1, its eigenvectors rotated by ``angle`` radians; the start
    has equal components along both (``w0 = Q (1, 1)``), the minimum is the origin.

    Parameters
    ----------
    kappas
        Condition numbers, each ≥ 1.
    tol
        Relative tolerance, in (0, 1).
    angle
        Rotation of the eigenvectors, radians.
    """
    kappas = _positive_list(kappas, "kappas")
    if np.any(kappas < 1):
        raise ValueError(f"kappas must all be >= 1; got min {float(kappas.min()):g}")
    tol = check_in_range(tol, "tol", 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    angle = float(as_float_array(angle, "angle", ndim=0))
    methods = ("eta_opt", "best_eta", "momentum")
    measured = {m: np.zeros(kappas.size) for m in methods}
    predicted = {m: np.zeros(kappas.size) for m in methods}
    for i, k in enumerate(kappas):
        H = _rotated(float(k), angle)
        w0 = quadratic.eigen(H)[1] @ np.ones(2)
        hb = quadratic.best_momentum(H)
        settings = {
            "eta_opt": (quadratic.eta_opt(H), 0.0),
            "best_eta": (quadratic.best_eta(H), 0.0),
            "momentum": (hb.eta, hb.momentum),
        }
        for m, (eta, mu) in settings.items():
            p = quadratic.steps_to_tolerance(H, eta, tol, momentum=mu, w0=w0)
            path = quadratic.descend(H, w0, eta, int(2 * p + 10), momentum=mu)
            predicted[m][i] = p
            measured[m][i] = quadratic.measured_steps(path, None, tol)
    return StepsVsCondition(
        kappas=kappas, tol=tol, methods=methods, measured=measured, predicted=predicted
    )


# ---------------------------------------------------------------------------------------------
# §5.2: the linear unit of Figs 9–12
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinearUnitProblem:
    """A linear unit ``y = w·x + b`` with the LMS cost (eq 28) on a data set."""

    X: np.ndarray
    """``(P, 2)`` inputs."""
    d: np.ndarray
    """``(P,)`` targets ±1."""
    mean: np.ndarray
    """The inputs' mean."""
    covariance_eigenvalues: np.ndarray
    """Eigenvalues of the inputs' covariance (with ``1/P``), ascending (the paper's 0.036 and
    0.84)."""
    H: dict[bool, np.ndarray]
    """``bias → H = (1/P) Σ x xᵀ`` (eq 29), ``(3, 3)`` with the bias input, ``(2, 2)`` without."""
    lam: dict[bool, np.ndarray]
    """``bias →`` eigenvalues of ``H``, ascending."""
    w_star: dict[bool, np.ndarray]
    """``bias →`` the least-squares weights (the bias last)."""
    eta_max: dict[bool, float]
    """``bias → 2/λ_max`` (eq 38)."""

    def loss(self, w: Any, *, bias: bool = True) -> np.ndarray:
        """The cost eq 28, ``(1/2P) Σ (d − w·x̃)²``, at weights ``w`` of shape ``(..., n)``."""
        Xa = _augment(self.X, bias)
        w = as_float_array(w, "w")
        if w.shape[-1] != Xa.shape[1]:
            raise ValueError(f"w must have shape (..., {Xa.shape[1]}); got {w.shape}")
        r = w @ Xa.T - self.d
        return 0.5 * np.mean(r * r, axis=-1)


def _augment(X: np.ndarray, bias: bool) -> np.ndarray:
    if not isinstance(bias, (bool, np.bool_)):
        raise TypeError(f"bias must be True or False; got {type(bias).__name__}")
    return np.hstack([X, np.ones((X.shape[0], 1))]) if bias else X


def fig10_problem(n: int = 100, *, seed: int = 0, offset: float = 0.0) -> LinearUnitProblem:
    """The linear unit of Figs 9–11 on :func:`ebp.data.two_gaussians` (its defaults).

    Parameters
    ----------
    n
        Number of points, even.
    seed
        Seed of the draw.
    offset
        Added to both inputs (0 for the paper's centred data; an exercise shifts them).
    """
    ds = data.two_gaussians(n, seed=seed)
    offset = float(as_float_array(offset, "offset", ndim=0))
    X, d = ds.X + offset, ds.y[:, 0]
    H = {b: quadratic.lms_hessian(X, bias=b) for b in (True, False)}
    lam = {b: np.linalg.eigvalsh(h) for b, h in H.items()}
    return LinearUnitProblem(
        X=X, d=d, mean=X.mean(axis=0),
        covariance_eigenvalues=np.linalg.eigvalsh(np.cov(X.T, bias=True)), H=H, lam=lam,
        w_star={b: quadratic.lms_minimum(X, d, bias=b) for b in (True, False)},
        eta_max={b: float(2.0 / v[-1]) for b, v in lam.items()},
    )  # fmt: skip


@dataclass(frozen=True)
class LMSRun:
    """Weights and losses of descent on eq 28."""

    eta: float
    """The learning rate."""
    weights: np.ndarray
    """``(T + 1, n)`` weights after every recorded update (row 0 the start; bias last)."""
    loss: np.ndarray
    """``(T + 1,)`` the cost eq 28 on the whole set at those weights."""
    updates_per_epoch: int
    """1 for batch, ``P`` for online learning."""

    @property
    def diverged(self) -> bool:
        """Whether the last loss exceeds the first."""
        return bool(not np.isfinite(self.loss[-1]) or self.loss[-1] > self.loss[0])


def _start(problem: LinearUnitProblem, w0: Any, bias: bool) -> np.ndarray:
    n = problem.X.shape[1] + bool(bias)
    return np.zeros(n) if w0 is None else _vector(w0, "w0", n)


def batch_lms(
    problem: LinearUnitProblem, eta: float, epochs: int, *, w0: Any = None, bias: bool = True
) -> LMSRun:
    """Batch gradient descent on eq 28: ``w ← w − η (1/P) Σ_p (w·x̃_p − d_p) x̃_p``.

    The gradient is computed from the patterns at every step (not from ``H``).  A run that
    overflows stops there; its remaining rows are ``inf``.

    Parameters
    ----------
    problem
        From :func:`fig10_problem`.
    eta
        Learning rate > 0.
    epochs
        Updates (one per epoch), ≥ 1.
    w0
        Start ``(w1, w2[, b])``; default zeros.
    bias
        Train the bias (the paper's unit) or a unit without one.
    """
    check_instance(problem, LinearUnitProblem, "problem")
    eta = check_positive(eta, "eta")
    epochs = check_int(epochs, "epochs", min_value=1)
    Xa = _augment(problem.X, bias)
    w = _start(problem, w0, bias)
    W = np.full((epochs + 1, w.size), np.inf)
    W[0] = w
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(epochs):
            w = w - eta * (Xa.T @ (Xa @ w - problem.d)) / Xa.shape[0]
            if not np.all(np.isfinite(w)):
                break
            W[t + 1] = w
        loss = problem.loss(np.where(np.isfinite(W), W, 0.0), bias=bias)
    loss[~np.all(np.isfinite(W), axis=1)] = np.inf
    return LMSRun(eta=eta, weights=W, loss=loss, updates_per_epoch=1)


def online_lms(
    problem: LinearUnitProblem, eta: float, epochs: int, *, w0: Any = None, seed: int = 0
) -> LMSRun:
    """Stochastic (online) descent on eq 28: one pattern per update, shuffled every epoch.

    ``w ← w − η (w·x̃_p − d_p) x̃_p`` (eq 11), with the bias.

    Parameters
    ----------
    problem
        From :func:`fig10_problem`.
    eta
        Learning rate > 0.
    epochs
        Passes through the set, ≥ 1.
    w0
        Start ``(w1, w2, b)``; default zeros.
    seed
        Seed of the presentation order.
    """
    check_instance(problem, LinearUnitProblem, "problem")
    eta = check_positive(eta, "eta")
    epochs = check_int(epochs, "epochs", min_value=1)
    seed = check_int(seed, "seed", min_value=0)
    Xa = _augment(problem.X, True)
    w = _start(problem, w0, True)
    rng = np.random.default_rng(seed)
    P = Xa.shape[0]
    W = np.empty((epochs * P + 1, w.size))
    W[0] = w
    with np.errstate(over="ignore", invalid="ignore"):
        for e in range(epochs):
            for i, p in enumerate(rng.permutation(P)):
                w = w - eta * (Xa[p] @ w - problem.d[p]) * Xa[p]
                W[e * P + i + 1] = w
            if not np.all(np.isfinite(w)):
                raise ValueError(
                    f"online_lms diverged in epoch {e + 1} with eta = {eta:g}; lower eta"
                )
    return LMSRun(eta=eta, weights=W, loss=problem.loss(W), updates_per_epoch=P)


@dataclass(frozen=True)
class Boundary:
    """The largest η for which batch descent on eq 28 converges, measured by bisection."""

    eta: float
    """The measured boundary (the midpoint of the last bracket)."""
    bracket: tuple[float, float]
    """The last ``(converging, diverging)`` pair."""
    predicted: float
    """``2/λ_max`` of the Hessian of the unit trained (eq 38)."""
    bias: bool
    """Whether the unit has a bias."""
    runs: int
    """Batch runs made."""


def _grows(problem: LinearUnitProblem, eta: float, steps: int, w0: np.ndarray, bias: bool) -> bool:
    """Whether a batch run of ``steps`` updates diverges.

    It converges once its distance to the minimum falls below ``CONVERGED`` times the initial
    one (before rounding blurs it); otherwise it diverges iff the distance grew over its last
    update, when only the slowest-shrinking (or fastest-growing) eigendirection is left.
    """
    run = batch_lms(problem, eta, steps, w0=w0, bias=bias)
    if not np.all(np.isfinite(run.weights[-1])):
        return True
    e = run.weights - problem.w_star[bias]
    big = np.maximum(np.abs(e).max(axis=1, keepdims=True), np.finfo(np.float64).tiny)
    norms = big[:, 0] * np.linalg.norm(e / big, axis=1)  # no overflow in the squares
    if np.any(norms <= CONVERGED * norms[0]):
        return False
    return bool(norms[-1] > norms[-2])


def divergence_boundary(
    problem: LinearUnitProblem, *, bias: bool = True, w0: Any = None, low: float = 0.5,
    high: float = 4.0, steps: int = 600, rtol: float = 1e-6,
) -> Boundary:  # fmt: skip
    """Bisect on η between a converging ``low`` and a diverging ``high`` batch run.

    A run counts as diverging when its distance to the minimum grows over its last update:
    after many steps only the slowest-shrinking (or fastest-growing) eigendirection is left,
    which grows iff ``|1 − ηλ_max| > 1``.

    Parameters
    ----------
    problem
        From :func:`fig10_problem`.
    bias
        The unit with a bias (the paper's) or without one.
    w0
        Start; default ``(1.5, −0.5[, 0.5])``, off every eigen-axis.
    low, high
        The initial bracket, ``0 < low < high``; ``low`` must converge and ``high`` diverge.
    steps
        Updates per run, ≥ 10.
    rtol
        Stop when the bracket is narrower than ``rtol · low`` (> 0).
    """
    check_instance(problem, LinearUnitProblem, "problem")
    _augment(problem.X[:1], bias)
    w = _start(problem, (1.5, -0.5, 0.5)[: 2 + bool(bias)] if w0 is None else w0, bias)
    low, high = check_positive(low, "low"), check_positive(high, "high")
    if high <= low:
        raise ValueError(f"high must be > low; got low = {low:g}, high = {high:g}")
    steps = check_int(steps, "steps", min_value=10)
    rtol = check_positive(rtol, "rtol")
    if _grows(problem, low, steps, w, bias):
        raise ValueError(f"low = {low:g} must be a rate that converges; it diverges")
    if not _grows(problem, high, steps, w, bias):
        raise ValueError(f"high = {high:g} must be a rate that diverges; it converges")
    runs = 2
    while high - low > rtol * low:
        mid = 0.5 * (low + high)
        low, high = (low, mid) if _grows(problem, mid, steps, w, bias) else (mid, high)
        runs += 1
    return Boundary(
        eta=0.5 * (low + high), bracket=(low, high), predicted=problem.eta_max[bias],
        bias=bool(bias), runs=runs,
    )  # fmt: skip


def weight_plane(problem: LinearUnitProblem, w1: Any, w2: Any, *, bias: bool = True) -> np.ndarray:
    """The cost eq 28 over a grid of ``(w1, w2)``, the bias at its optimum: ``(len(w2),
    len(w1))``."""
    check_instance(problem, LinearUnitProblem, "problem")
    w1 = as_float_array(w1, "w1", ndim=1)
    w2 = as_float_array(w2, "w2", ndim=1)
    A, B = np.meshgrid(w1, w2)
    pts = [A, B] + ([np.full_like(A, problem.w_star[True][2])] if bias else [])
    return problem.loss(np.stack(pts, axis=-1), bias=bias)


# ---------------------------------------------------------------------------------------------
# §5.2: the 1-1-1 network of Figs 13–14
# ---------------------------------------------------------------------------------------------


def lecun_f(a: Any) -> np.ndarray:
    """``f(a) = 1.7159 tanh(2a/3)`` (§4.4), elementwise, in NumPy."""
    return LECUN_A * np.tanh(2.0 * as_float_array(a, "a") / 3.0)


def _net(theta: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Output, hidden state and the two slopes ``f′`` of ``f(w2 f(w1 x + b1) + b2)``.

    ``theta = (w1, w2, b1, b2)`` with any leading shape; ``x`` of shape ``(P,)``.
    """
    w1, w2, b1, b2 = (theta[..., i, None] for i in range(4))
    t1 = np.tanh(2.0 * (w1 * x + b1) / 3.0)
    h = LECUN_A * t1
    t2 = np.tanh(2.0 * (w2 * h + b2) / 3.0)
    slope = 2.0 * LECUN_A / 3.0
    return LECUN_A * t2, h, np.stack([slope * (1 - t1 * t1), slope * (1 - t2 * t2)])


def _net_loss_grad(theta: np.ndarray, x: np.ndarray, d: np.ndarray) -> tuple[float, np.ndarray]:
    """The cost ``(1/2P) Σ (o − d)²`` of the 1-1-1 network and its gradient in ``theta``."""
    o, h, (s1, s2) = _net(theta, x)
    r = o - d
    delta2 = r * s2
    delta1 = delta2 * theta[1] * s1
    grad = np.array([np.mean(delta1 * x), np.mean(delta2 * h), np.mean(delta1), np.mean(delta2)])
    return 0.5 * float(np.mean(r * r)), grad


@dataclass(frozen=True)
class Fig13Network:
    """The 1-1-1 network on the Fig 13 data: its surface over ``(w1, w2)`` and trajectories."""

    x: np.ndarray
    """``(P,)`` inputs."""
    d: np.ndarray
    """``(P,)`` targets ±1."""
    trained: np.ndarray
    """``(w1, w2, b1, b2)`` after batch training of all four parameters."""
    w1: np.ndarray
    """Grid of the first-layer weight."""
    w2: np.ndarray
    """Grid of the second-layer weight."""
    E: np.ndarray
    """``(len(w2), len(w1))`` cost with the biases fixed at their trained values."""
    start: np.ndarray
    """``(w1, w2)`` start of both trajectories."""
    etas: dict[str, float]
    """``"batch"``/``"stochastic"`` → learning rate."""
    paths: dict[str, np.ndarray]
    """Method → ``(epochs + 1, 2)`` weights at the end of each epoch (biases fixed)."""
    inner: np.ndarray
    """``(epochs · P + 1, 2)`` the stochastic weights after every update."""
    loss: dict[str, np.ndarray]
    """Method → ``(epochs + 1,)`` cost after each epoch."""

    def surface_loss(self, w: Any) -> np.ndarray:
        """The cost at ``(w1, w2)`` points ``(..., 2)``, biases at their trained values."""
        w = as_float_array(w, "w")
        theta = np.concatenate([w, np.broadcast_to(self.trained[2:], w.shape)], axis=-1)
        o = _net(theta, self.x)[0]
        return 0.5 * np.mean((o - self.d) ** 2, axis=-1)


def _descend_net(theta, x, d, eta, epochs, *, batch, rng, free):
    """Batch or online descent on the 1-1-1 network; only the parameters in ``free`` move."""
    ends, inner = [theta.copy()], [theta.copy()]
    for _ in range(epochs):
        if batch:
            theta = theta - eta * _net_loss_grad(theta, x, d)[1] * free
            inner.append(theta.copy())
        else:
            for p in rng.permutation(x.size):
                theta = theta - eta * _net_loss_grad(theta, x[p : p + 1], d[p : p + 1])[1] * free
                inner.append(theta.copy())
        ends.append(theta.copy())
    return np.array(ends), np.array(inner)


def fig13_network(
    *, seed: int = 0, start: Sequence[float] = (-1.0, 2.0), eta_batch: float = 0.5,
    eta_stochastic: float = 0.05, epochs: int = 40, train_epochs: int = 200,
    grid: Sequence[float] = (-4.0, 4.0), n_grid: int = 161,
) -> Fig13Network:  # fmt: skip
    """Figs 13–14: the 1-1-1 network ``f(w2 f(w1 x + b1) + b2)`` on :func:`ebp.data.fig13_classes`.

    First all four parameters are trained by batch descent (η = 0.5, ``train_epochs`` epochs,
    from ``w = (0.5, 0.5)``, ``b = 0``), which fixes the biases.  The surface is then the cost
    over ``(w1, w2)`` with the biases held at those values, and both trajectories descend on
    exactly that surface (only ``w1``, ``w2`` move) from ``start``: batch at ``eta_batch``,
    online at ``eta_stochastic`` (shuffled every epoch).

    Parameters
    ----------
    seed
        Seed of the data and of the presentation order.
    start
        ``(w1, w2)`` start of the trajectories.
    eta_batch, eta_stochastic
        Learning rates > 0.
    epochs
        Epochs of each trajectory, ≥ 1.
    train_epochs
        Epochs of the four-parameter training, ≥ 1.
    grid
        ``(low, high)`` of both weight axes of the surface.
    n_grid
        Grid points per axis, ≥ 3.
    """
    seed = check_int(seed, "seed", min_value=0)
    start = _vector(start, "start", 2)
    etas = {"batch": check_positive(eta_batch, "eta_batch"),
            "stochastic": check_positive(eta_stochastic, "eta_stochastic")}  # fmt: skip
    epochs = check_int(epochs, "epochs", min_value=1)
    train_epochs = check_int(train_epochs, "train_epochs", min_value=1)
    lo, hi = _vector(grid, "grid", 2)
    if hi <= lo:
        raise ValueError(f"grid must be (low, high) with high > low; got {(lo, hi)}")
    n_grid = check_int(n_grid, "n_grid", min_value=3)
    ds = data.fig13_classes(seed=seed)
    x, d = ds.X[:, 0], ds.y[:, 0]
    rng = np.random.default_rng(seed)
    theta0 = np.array([0.5, 0.5, 0.0, 0.0])
    trained = _descend_net(theta0, x, d, 0.5, train_epochs, batch=True, rng=rng,
                           free=np.ones(4))[0][-1]  # fmt: skip
    free = np.array([1.0, 1.0, 0.0, 0.0])
    begin = np.concatenate([start, trained[2:]])
    paths, loss, inner = {}, {}, None
    for name, eta in etas.items():
        ends, steps = _descend_net(begin, x, d, eta, epochs, batch=name == "batch", rng=rng,
                                   free=free)  # fmt: skip
        paths[name] = ends[:, :2]
        if name == "stochastic":
            inner = steps[:, :2]
    w1 = np.linspace(lo, hi, n_grid)
    w2 = np.linspace(lo, hi, n_grid)
    result = Fig13Network(
        x=x, d=d, trained=trained, w1=w1, w2=w2, E=np.zeros((n_grid, n_grid)), start=start,
        etas=etas, paths=paths, inner=inner, loss=loss,
    )  # fmt: skip
    E = result.surface_loss(np.stack(np.meshgrid(w1, w2), axis=-1))
    result.E[...] = E
    for name, p in paths.items():
        loss[name] = result.surface_loss(p)
    return result


# ---------------------------------------------------------------------------------------------
# Beyond the paper: heavy-ball momentum
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MomentumRegion:
    """The spectral radius of heavy ball on one eigendirection, over the ``(ηλ, μ)`` plane."""

    eta_lam: np.ndarray
    """``(A,)`` grid of ``ηλ``."""
    mu: np.ndarray
    """``(B,)`` grid of ``μ``."""
    radius: np.ndarray
    """``(B, A)`` spectral radius of the 2×2 iteration matrix."""
    converges: np.ndarray
    """``(B, A)`` :func:`ebp.quadratic.momentum_converges`."""


def momentum_region(
    eta_lam_max: float = 4.2, *, n_eta: int = 421, n_mu: int = 200
) -> MomentumRegion:
    """The radius ``ρ(ηλ, μ)`` of the iteration ``e_{t+1} = (1 + μ − ηλ) e_t − μ e_{t−1}``.

    Parameters
    ----------
    eta_lam_max
        The grid of ``ηλ`` runs over ``(0, eta_lam_max]`` (> 0).
    n_eta, n_mu
        Grid sizes, ≥ 3; ``μ`` runs over ``[0, 0.99]``.
    """
    top = check_positive(eta_lam_max, "eta_lam_max")
    n_eta = check_int(n_eta, "n_eta", min_value=3)
    n_mu = check_int(n_mu, "n_mu", min_value=3)
    eta_lam = np.linspace(top / n_eta, top, n_eta)
    mu = np.linspace(0.0, 0.99, n_mu)
    E, M = np.meshgrid(eta_lam, mu)
    return MomentumRegion(
        eta_lam=eta_lam, mu=mu, radius=np.asarray(quadratic.spectral_radius(1.0, E, M)),
        converges=np.asarray(quadratic.momentum_converges(1.0, E, M)),
    )  # fmt: skip


@dataclass(frozen=True)
class ValleyRuns:
    """Plain descent and heavy ball on the same elongated quadratic, same step budget."""

    picture: QuadraticPicture
    """The quadratic, its contours and the plain path (at :func:`ebp.quadratic.best_eta`)."""
    momentum_path: np.ndarray
    """``(steps + 1, 2)`` heavy-ball iterates (Polyak's η and μ)."""
    heavy_ball: quadratic.HeavyBall
    """Polyak's parameters."""
    tol: float
    """The relative tolerance of the step counts."""
    steps_needed: dict[str, int | None]
    """``"plain"``/``"momentum"`` → steps to ``tol``, counted on long runs."""


def valley_runs(
    kappa: float = 25.0, *, steps: int = 15, tol: float = 1e-3, angle: float = 0.5,
    w0: Sequence[float] = (-1.6, -0.5),
) -> ValleyRuns:  # fmt: skip
    """Trajectories with and without momentum in a steep valley (``λ = 1/κ`` and 1).

    Parameters
    ----------
    kappa
        Condition number, > 1.
    steps
        The step budget drawn, ≥ 1.
    tol
        Relative tolerance of the step counts, in (0, 1).
    angle
        Rotation of the eigenvectors, radians.
    w0
        Start.
    """
    kappa = check_positive(kappa, "kappa")
    if kappa <= 1:
        raise ValueError(f"kappa must be > 1 (a valley); got {kappa:g}")
    steps = check_int(steps, "steps", min_value=1)
    tol = check_in_range(tol, "tol", 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    angle = float(as_float_array(angle, "angle", ndim=0))
    w0 = _vector(w0, "w0", 2)
    H = _rotated(kappa, angle)
    hb = quadratic.best_momentum(H)
    eta = quadratic.best_eta(H)
    picture = quadratic_picture(H, w0, eta=eta, steps=steps, span=1.15)
    long = int(4 * quadratic.steps_to_tolerance(H, eta, tol) + 20)
    needed = {
        "plain": quadratic.measured_steps(quadratic.descend(H, w0, eta, long), None, tol),
        "momentum": quadratic.measured_steps(
            quadratic.descend(H, w0, hb.eta, long, momentum=hb.momentum), None, tol
        ),
    }
    return ValleyRuns(
        picture=picture, heavy_ball=hb, tol=tol, steps_needed=needed,
        momentum_path=quadratic.descend(H, w0, hb.eta, steps, momentum=hb.momentum),
    )  # fmt: skip


def momentum_table(
    kappas: Sequence[float] = (10.0, 100.0, 1000.0), *, tol: float = 1e-3
) -> list[dict[str, float]]:
    """Per ``κ``: the best plain rate and momentum, their rates and predicted steps to ``tol``.

    Each row holds ``kappa``, ``best_eta`` (``2/(λ_min + λ_max)`` with ``λ_max = 1``),
    ``rate_plain``, ``steps_plain``, ``mu`` and ``eta`` (Polyak's), ``rate_momentum``,
    ``steps_momentum`` (from :func:`ebp.quadratic.steps_to_tolerance`).
    """
    kappas = _positive_list(kappas, "kappas")
    if np.any(kappas < 1):
        raise ValueError(f"kappas must all be >= 1; got min {float(kappas.min()):g}")
    tol = check_in_range(tol, "tol", 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    rows = []
    for k in kappas:
        H = np.diag([1.0 / k, 1.0])
        hb = quadratic.best_momentum(H)
        eta = quadratic.best_eta(H)
        rows.append({
            "kappa": float(k), "best_eta": eta, "rate_plain": quadratic.rate(H, eta),
            "steps_plain": quadratic.steps_to_tolerance(H, eta, tol), "mu": hb.momentum,
            "eta": hb.eta, "rate_momentum": hb.rate,
            "steps_momentum": quadratic.steps_to_tolerance(H, hb.eta, tol, momentum=hb.momentum),
        })  # fmt: skip
    return rows
