"""Experiments of the chapter "Classical second-order methods" (paper §6, eqs 40–47).

Each function returns a dataclass of NumPy data; nothing here draws (see
:mod:`ebp.plots.classical_second_order`).  The methods are those of :mod:`ebp.second_order`
(Newton, conjugate gradient, BFGS, Gauss–Newton, Levenberg–Marquardt), against gradient descent
with and without heavy-ball momentum and against ``torch.optim.LBFGS`` as the library reference.

Methods are compared by **cost**, in gradient-equivalent evaluations:

- one loss with its gradient (a call of ``fun``) costs 1;
- one Hessian–vector product costs 1 (Pearlmutter's R-operator costs about one gradient);
- a full Hessian costs ``n`` (the number of weights: ``n`` products);
- one Jacobian of the residuals, with the residuals, costs ``K`` (the number of outputs: one
  backward pass per output, with per-pattern gradients).

Linear algebra (solving a Newton system, updating BFGS's matrix) is not counted; wall time,
which counts everything, is measured in ``benchmarks/second_order_time.py`` and never here, so
that the book's numbers are the same on every build.

- :func:`quadratic_race`, :func:`kappa_sweep`: a quadratic of known spectrum (§6 on the problem
  the methods were made for).
- :func:`bowl_objective`, :func:`bowl_race`, :func:`newton_saddles`: a small tanh network on
  ``z = 5a² + 3b²``.
- :func:`digits_objective`, :func:`bfgs_memory`, :func:`digits_race`: a 64-h-10 network on the
  digits, BFGS's ``N²`` memory.
- :func:`minibatch_breakdown`: CG and BFGS on mini-batch objectives of a redundant set, against
  SGD.
"""

from __future__ import annotations

import functools
import math
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ebp import data, quadratic
from ebp import nn as enn
from ebp._validate import as_float_array, check_choice, check_int, check_positive
from ebp.repro import single_threaded
from ebp.scratch import LECUN_TANH_A, LECUN_TANH_S
from ebp.second_order import METHODS, minimize, model_objective

__all__ = [
    "DESCENT",
    "REFERENCE",
    "BfgsMemory",
    "BowlRace",
    "Counter",
    "DigitsRace",
    "KappaSweep",
    "MinibatchRun",
    "NewtonSaddles",
    "QuadraticRace",
    "Trace",
    "bfgs_memory",
    "bowl_objective",
    "bowl_race",
    "cost_to_target",
    "digits_objective",
    "digits_race",
    "kappa_sweep",
    "lbfgs_trace",
    "minibatch_breakdown",
    "newton_saddles",
    "quadratic_problem",
    "quadratic_race",
    "run_descent",
    "run_method",
]

DESCENT: tuple[str, ...] = ("gd", "momentum")
"""Gradient descent with a fixed rate, and with heavy-ball momentum."""

REFERENCE = "torch-lbfgs"
"""``torch.optim.LBFGS`` (strong Wolfe line search, history 10), the library reference."""

DIVERGED = 1e6
"""Descent counts as diverged once its loss exceeds this multiple of the starting loss."""


def _one_thread(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run an experiment inside :func:`ebp.repro.single_threaded`: the networks are tiny, and
    one thread neither stalls on a shared machine nor changes the order of sums."""

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with single_threaded():
            return fn(*args, **kwargs)

    return wrapped


# ---------------------------------------------------------------------------------------------
# Counting the cost of a run
# ---------------------------------------------------------------------------------------------


@dataclass
class Counter:
    """Gradient-equivalent evaluations spent so far (see the module docstring)."""

    n: int
    """Weights, the cost of one Hessian."""
    outputs: int = 1
    """Outputs ``K``: the cost of one Jacobian."""
    cost: float = 0.0

    def wrap(self, fn: Callable[..., Any] | None, kind: str) -> Callable[..., Any] | None:
        """``fn`` that adds its cost (``kind``: "fun", "hessp", "hess" or "jac") per call."""
        if fn is None:
            return None
        unit = {"fun": 1, "hessp": 1, "hess": self.n, "jac": self.outputs}[kind]

        def counted(*args: Any) -> Any:
            self.cost += unit
            return fn(*args)

        return counted


@dataclass(frozen=True)
class Trace:
    """A run: the loss after each iteration against the cost spent to get there."""

    method: str
    cost: np.ndarray
    """``(T + 1,)`` cumulative gradient-equivalent evaluations (entry 0: the start's)."""
    loss: np.ndarray
    """``(T + 1,)`` the loss at the iterates (``torch-lbfgs``: the lowest loss evaluated)."""
    iterations: int
    message: str = ""
    uphill_steps: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    """``nfev``, ``ngev``, ``nhev``, ``njev`` where the method reports them."""

    @property
    def final(self) -> float:
        """The last loss."""
        return float(self.loss[-1])


def cost_to_target(trace: Trace, target: float) -> float:
    """The cost at which ``trace`` first reaches a loss ``≤ target`` (NaN if it never does)."""
    hit = np.flatnonzero(trace.loss <= target)
    return float(trace.cost[hit[0]]) if hit.size else math.nan


def _iterations_to_target(trace: Trace, target: float) -> float:
    hit = np.flatnonzero(trace.loss <= target)
    return float(hit[0]) if hit.size else math.nan


def run_method(
    obj: Any, method: str, *, budget: float, outputs: int = 1, tol: float = 1e-12,
    stop_below: float | None = None, on_iteration: Callable[[float], Any] | None = None,
    **options: Any,
) -> Trace:  # fmt: skip
    """Run a method of :func:`ebp.second_order.minimize` on ``obj`` until ``budget`` is spent.

    Parameters
    ----------
    obj
        Has ``w0`` and ``fun``; ``hess`` for ``"newton"``, ``residuals`` for the least-squares
        methods (e.g. a :class:`ebp.second_order.ModelObjective`).
    method
        One of :data:`~ebp.second_order.interface.METHODS`.
    budget
        Gradient-equivalent evaluations; the run stops after the iteration that reaches it.
    outputs
        ``K``, the cost of a Jacobian.
    tol
        Passed to ``minimize`` (gradient norm).
    stop_below
        Also stop once the loss is at most this.
    on_iteration
        Called with the cost after each iteration (the time benchmark uses it).
    options
        Passed to ``minimize`` (``max_iter``, ``c2``, ...).
    """
    method = check_choice(method, "method", METHODS)
    budget = check_positive(budget, "budget")
    w0 = np.asarray(obj.w0, dtype=np.float64)
    counter = Counter(n=w0.size, outputs=check_int(outputs, "outputs", min_value=1))
    kw: dict[str, Any] = {"max_iter": options.pop("max_iter", 100_000), **options}
    if method == "newton":
        kw["hess"] = counter.wrap(kw.get("hess", obj.hess), "hess")
    if method in ("gauss-newton", "levenberg-marquardt"):
        kw["residuals"] = counter.wrap(obj.residuals, "jac")
        fun = None
    else:
        fun = counter.wrap(obj.fun, "fun")
    costs: list[float] = []
    losses: list[float] = []

    def callback(w: np.ndarray) -> bool:
        costs.append(counter.cost)
        if on_iteration is not None:
            on_iteration(counter.cost)
        if stop_below is not None:
            losses.append(float(obj.fun(w)[0]))
            if losses[-1] <= stop_below:
                return True
        return counter.cost >= budget

    start_cost = outputs if fun is None else 1
    res = minimize(fun, w0, method=method, tol=tol, callback=callback, **kw)
    cost = np.array([start_cost, *costs[: res.nit]], dtype=np.float64)
    counts = {"nfev": res.nfev, "ngev": res.ngev, "nhev": res.nhev, "njev": res.njev}
    return Trace(method, cost, res.history.copy(), res.nit, res.message, res.uphill_steps, counts)


def run_descent(
    fun: Callable[[np.ndarray], tuple[float, np.ndarray]], w0: Any, *, eta: float,
    momentum: float = 0.0, budget: int, label: str | None = None,
    stop_below: float | None = None, on_iteration: Callable[[float], Any] | None = None,
) -> Trace:  # fmt: skip
    """Gradient descent ``w ← w + v``, ``v ← μ v − η ∇E`` (heavy ball), ``budget`` gradients.

    The trace holds the loss at ``w_0 … w_{budget−1}`` (each evaluated with its gradient, cost
    1 each).  A run whose loss passes ``DIVERGED`` times the first, or stops being finite,
    ends there with the message ``"diverged"``; with ``stop_below``, a run also ends at the
    first loss at most that.
    """
    eta = check_positive(eta, "eta")
    momentum = float(momentum)
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must be in [0, 1); got {momentum:g}")
    budget = check_int(budget, "budget", min_value=1)
    w = as_float_array(w0, "w0", ndim=1).copy()
    v = np.zeros_like(w)
    losses: list[float] = []
    message = f"budget of {budget} gradients spent"
    for _ in range(budget):
        f, g = fun(w)
        if not math.isfinite(f) or (losses and f > DIVERGED * losses[0]):
            message = "diverged"
            break
        losses.append(float(f))
        if on_iteration is not None:
            on_iteration(float(len(losses)))
        if stop_below is not None and f <= stop_below:
            message = "target reached"
            break
        v = momentum * v - eta * g
        w = w + v
    label = label or ("momentum" if momentum > 0 else "gd")
    cost = np.arange(1, len(losses) + 1, dtype=np.float64)
    return Trace(label, cost, np.array(losses), len(losses) - 1, message)


def lbfgs_trace(
    fun: Callable[[np.ndarray], tuple[float, np.ndarray]], w0: Any, *, budget: int,
    history_size: int = 10, on_iteration: Callable[[float], Any] | None = None,
) -> Trace:  # fmt: skip
    """``torch.optim.LBFGS`` with ``line_search_fn="strong_wolfe"`` on ``fun``, in float64.

    The closure calls ``fun`` (cost 1 each; ``max_eval = budget``); the trace is the lowest
    loss evaluated after each call, since LBFGS does not expose its iterates.
    """
    budget = check_int(budget, "budget", min_value=1)
    w = torch.tensor(as_float_array(w0, "w0", ndim=1), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS(
        [w], lr=1.0, max_iter=budget, max_eval=budget, history_size=history_size,
        tolerance_grad=1e-12, tolerance_change=1e-15, line_search_fn="strong_wolfe",
    )  # fmt: skip
    losses: list[float] = []

    def closure() -> torch.Tensor:
        f, g = fun(w.detach().numpy().copy())
        w.grad = torch.as_tensor(np.asarray(g, dtype=np.float64).copy())
        losses.append(float(f))
        if on_iteration is not None:
            on_iteration(float(len(losses)))
        return torch.tensor(float(f), dtype=torch.float64)

    opt.step(closure)
    n_iter = int(opt.state[opt._params[0]].get("n_iter", 0))
    best = np.minimum.accumulate(np.array(losses))
    cost = np.arange(1, best.size + 1, dtype=np.float64)
    return Trace(REFERENCE, cost, best, n_iter, f"{best.size} evaluations",
                 counts={"nfev": best.size, "ngev": best.size})  # fmt: skip


# ---------------------------------------------------------------------------------------------
# A quadratic of known spectrum
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuadraticProblem:
    """``E(w) = ½ wᵀ H w`` with ``H = Q diag(λ) Qᵀ``, ``Q`` a random rotation."""

    H: np.ndarray
    lam: np.ndarray
    """Eigenvalues, ascending."""
    w0: np.ndarray

    def fun(self, w: np.ndarray) -> tuple[float, np.ndarray]:
        """``(E, ∇E)``."""
        Hw = self.H @ w
        return 0.5 * float(w @ Hw), Hw

    def hess(self, w: np.ndarray) -> np.ndarray:
        """``H``."""
        return self.H


def quadratic_problem(
    n: int = 100, kappa: float = 1e3, *, clusters: int | None = None, seed: int = 0
) -> QuadraticProblem:
    """A quadratic with eigenvalues log-spaced from ``1/κ`` to 1 (``λ_max = 1``).

    Parameters
    ----------
    n
        Dimension, ≥ 2.
    kappa
        Condition number, ≥ 1.
    clusters
        If given, only this many distinct eigenvalues (log-spaced over the same range, the
        ``n`` eigenvalues shared out among them as evenly as possible).
    seed
        Seed of the rotation and of the start ``w0 ~ N(0, I)``.
    """
    n = check_int(n, "n", min_value=2)
    kappa = check_positive(kappa, "kappa")
    if kappa < 1:
        raise ValueError(f"kappa must be >= 1; got {kappa:g}")
    seed = check_int(seed, "seed", min_value=0)
    if clusters is None:
        lam = np.logspace(-math.log10(kappa), 0.0, n)
    else:
        clusters = check_int(clusters, "clusters", min_value=1)
        if clusters > n:
            raise ValueError(f"clusters must be <= n = {n}; got {clusters}")
        values = np.logspace(-math.log10(kappa), 0.0, clusters)
        lam = np.sort(values[np.arange(n) * clusters // n])
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    H = (Q * lam) @ Q.T
    return QuadraticProblem(H=0.5 * (H + H.T), lam=lam, w0=rng.standard_normal(n))


@dataclass(frozen=True)
class QuadraticRace:
    """Every method on one quadratic, loss against cost."""

    n: int
    kappa: float
    target: float
    """Relative loss ``E/E_0`` that counts as reached."""
    traces: dict[str, Trace]
    """Method → its run, the loss divided by ``E_0``."""
    cost_to_target: dict[str, float]
    iterations_to_target: dict[str, float]
    eta_gd: float
    """``2/(λ_min + λ_max)``, the best fixed rate."""
    heavy_ball: quadratic.HeavyBall
    """Polyak's ``η``, ``μ``."""


def _relative(trace: Trace, e0: float) -> Trace:
    return Trace(trace.method, trace.cost, trace.loss / e0, trace.iterations, trace.message,
                 trace.uphill_steps, trace.counts)  # fmt: skip


QUADRATIC_OPTIONS: dict[str, dict[str, float]] = {
    "newton": {},
    "cg-fr": {"c2": 1e-3},
    "cg-pr": {"c2": 1e-3},
    "bfgs": {},
}
"""The methods of the quadratic race and their options: CG with nearly exact line searches
(``c2 = 10⁻³``), as the theory of its finite termination assumes; BFGS with the default
``c2 = 0.9``."""


def _quadratic_runs(
    prob: QuadraticProblem, target: float, budget: int, methods: dict[str, dict[str, float]],
    descent: bool = True,
) -> dict[str, Trace]:  # fmt: skip
    e0 = prob.fun(prob.w0)[0]
    stop = target * e0
    traces = {
        m: _relative(run_method(prob, m, budget=budget, stop_below=stop, tol=1e-300, **opts), e0)
        for m, opts in methods.items()
    }
    if not descent:
        return traces
    eta = quadratic.best_eta(prob.H)
    hb = quadratic.best_momentum(prob.H)
    for label, (rate, mu) in (("gd", (eta, 0.0)), ("momentum", (hb.eta, hb.momentum))):
        t = run_descent(
            prob.fun, prob.w0, eta=rate, momentum=mu, budget=budget, label=label, stop_below=stop
        )
        traces[label] = _relative(t, e0)
    return traces


@_one_thread
def quadratic_race(
    n: int = 100, kappa: float = 1e3, *, target: float = 1e-10, budget: int = 20_000,
    seed: int = 0,
) -> QuadraticRace:  # fmt: skip
    """Newton, CG (FR, PR), BFGS, the best fixed rate and Polyak's heavy ball on
    :func:`quadratic_problem` ``(n, kappa)``, each until ``E/E_0 ≤ target`` or ``budget``
    (options: ``QUADRATIC_OPTIONS``)."""
    target = check_positive(target, "target")
    budget = check_int(budget, "budget", min_value=1)
    prob = quadratic_problem(n, kappa, seed=seed)
    traces = _quadratic_runs(prob, target, budget, QUADRATIC_OPTIONS)
    return QuadraticRace(
        n=n, kappa=float(kappa), target=target, traces=traces,
        cost_to_target={m: cost_to_target(t, target) for m, t in traces.items()},
        iterations_to_target={m: _iterations_to_target(t, target) for m, t in traces.items()},
        eta_gd=quadratic.best_eta(prob.H), heavy_ball=quadratic.best_momentum(prob.H),
    )  # fmt: skip


def _descent_steps(
    prob: QuadraticProblem, eta: float, mu: float, target: float, max_steps: int
) -> float:
    """Steps of descent (heavy ball if ``mu > 0``) to ``E/E_0 ≤ target``, iterated on the
    eigen-components ``v = Qᵀw`` (the same iteration as :func:`run_descent`, rotated)."""
    lam, Q = quadratic.eigen(prob.H)
    v = Q.T @ prob.w0
    dv = np.zeros_like(v)
    e0 = 0.5 * float(lam @ (v * v))
    for t in range(max_steps + 1):
        if 0.5 * float(lam @ (v * v)) <= target * e0:
            return float(t)
        dv = mu * dv - eta * lam * v
        v = v + dv
    return math.nan


@dataclass(frozen=True)
class KappaSweep:
    """Iterations to ``E/E_0 ≤ target`` against ``κ``, per method and spectrum."""

    n: int
    kappas: np.ndarray
    target: float
    clusters: int
    iterations: dict[str, np.ndarray]
    """``"cg-pr"``, ``"bfgs"``, ``"gd"``, ``"momentum"`` (log-spaced spectrum) and
    ``"cg-pr-clustered"`` → ``(K,)`` counts (NaN: not reached within the budget)."""
    cost: dict[str, np.ndarray]
    """The same runs' gradient-equivalent evaluations (one per step for descent)."""


@_one_thread
def kappa_sweep(
    kappas: Sequence[float] = (1e1, 1e2, 1e3, 1e4), *, n: int = 100, clusters: int = 5,
    target: float = 1e-10, budget: int = 100_000, seed: int = 0,
) -> KappaSweep:  # fmt: skip
    """For each ``κ``: CG-PR (``c2 = 10⁻³``) and BFGS on the log-spaced spectrum and CG-PR on
    one with ``clusters`` distinct eigenvalues (:func:`quadratic_problem`), and the best fixed
    rate and Polyak's heavy ball on the log-spaced one."""
    kappas = as_float_array(kappas, "kappas", ndim=1)
    if kappas.size == 0 or np.any(kappas < 1):
        raise ValueError("kappas must be a non-empty list of values >= 1")
    target = check_positive(target, "target")
    budget = check_int(budget, "budget", min_value=1)
    its: dict[str, list[float]] = {}
    cost: dict[str, list[float]] = {}
    options = {"cg-pr": QUADRATIC_OPTIONS["cg-pr"], "bfgs": QUADRATIC_OPTIONS["bfgs"]}
    for k in kappas:
        prob = quadratic_problem(n, float(k), seed=seed)
        clustered = quadratic_problem(n, float(k), clusters=clusters, seed=seed)
        runs = _quadratic_runs(prob, target, budget, options, descent=False)
        runs["cg-pr-clustered"] = _quadratic_runs(
            clustered, target, budget, {"cg-pr": options["cg-pr"]}, descent=False
        )["cg-pr"]
        for key, t in runs.items():
            its.setdefault(key, []).append(_iterations_to_target(t, target))
            cost.setdefault(key, []).append(cost_to_target(t, target))
        hb = quadratic.best_momentum(prob.H)
        for key, (eta, mu) in (("gd", (quadratic.best_eta(prob.H), 0.0)),
                               ("momentum", (hb.eta, hb.momentum))):  # fmt: skip
            steps = _descent_steps(prob, eta, mu, target, budget)
            its.setdefault(key, []).append(steps)
            cost.setdefault(key, []).append(steps + 1)
    return KappaSweep(
        n=n, kappas=kappas, target=target, clusters=clusters,
        iterations={k: np.array(v) for k, v in its.items()},
        cost={k: np.array(v) for k, v in cost.items()},
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# A small network on z = 5a² + 3b²
# ---------------------------------------------------------------------------------------------


def _standardized(a: np.ndarray) -> np.ndarray:
    return (a - a.mean(axis=0)) / a.std(axis=0)


class TanhNet:
    """A one-hidden-layer network of LeCun tanh units with linear outputs and the ``"mse"``
    loss, in NumPy: ``fun(w) -> (E, ∇E)`` and ``residuals(w) -> (r, J)`` with the conventions
    of :class:`ebp.second_order.ModelObjective` (the same flat ``w``: ``W1, b1, W2, b2``).

    The experiments call ``fun`` thousands of times on tiny networks, where PyTorch's
    per-call overhead is a hundred times the arithmetic; the tests check that both agree.
    """

    def __init__(self, X: np.ndarray, Y: np.ndarray, hidden: int) -> None:
        self.X, self.Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
        self.d, self.h, self.K = self.X.shape[1], hidden, self.Y.shape[1]
        self.n = self.h * (self.d + 1) + self.K * (self.h + 1)

    def subset(self, idx: np.ndarray) -> TanhNet:
        """The same network on the patterns ``idx``."""
        return TanhNet(self.X[idx], self.Y[idx], self.h)

    def _forward(self, w: np.ndarray) -> tuple[np.ndarray, ...]:
        d, h, K = self.d, self.h, self.K
        W1 = w[: h * d].reshape(h, d)
        b1 = w[h * d : h * d + h]
        W2 = w[h * d + h : h * d + h + K * h].reshape(K, h)
        t = np.tanh(LECUN_TANH_S * (self.X @ W1.T + b1))
        hid = LECUN_TANH_A * t
        out = hid @ W2.T + w[h * d + h + K * h :]
        return hid, LECUN_TANH_A * LECUN_TANH_S * (1.0 - t * t), W2, out - self.Y

    def fun(self, w: np.ndarray) -> tuple[float, np.ndarray]:
        """``E = (1/P) Σ_p ½ ‖o^p − d^p‖²`` and its gradient."""
        hid, slope, W2, r = self._forward(w)
        P = self.X.shape[0]
        do = r / P
        da = (do @ W2) * slope
        grad = np.concatenate([(da.T @ self.X).ravel(), da.sum(0), (do.T @ hid).ravel(),
                               do.sum(0)])  # fmt: skip
        return 0.5 * float(np.sum(r * r)) / P, grad

    def residuals(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``r = (o − d)/√P`` pattern by pattern and its Jacobian ``(P·K, n)``."""
        hid, slope, W2, r = self._forward(w)
        P, d, h, K = self.X.shape[0], self.d, self.h, self.K
        c = 1.0 / math.sqrt(P)
        J = np.zeros((P, K, self.n))
        back = W2[None, :, :] * slope[:, None, :]  # ∂o_k/∂a_j, (P, K, h)
        J[:, :, : h * d] = (back[:, :, :, None] * self.X[:, None, None, :]).reshape(P, K, -1)
        J[:, :, h * d : h * d + h] = back
        for k in range(K):
            J[:, k, h * d + h + k * h : h * d + h + (k + 1) * h] = hid
            J[:, k, h * d + h + K * h + k] = 1.0
        return (c * r).reshape(-1), c * J.reshape(P * K, self.n)


@dataclass(frozen=True)
class NetworkProblem:
    """A network's loss as functions of ``w``: ``fun`` and ``residuals`` from :class:`TanhNet`,
    ``hess`` from :func:`ebp.second_order.model_objective` (and ``reference``, that objective,
    which the tests compare with)."""

    w0: np.ndarray
    n: int
    net: TanhNet
    reference: Any

    def fun(self, w: np.ndarray) -> tuple[float, np.ndarray]:
        """``(E, ∇E)``."""
        return self.net.fun(w)

    def residuals(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(r, J)``."""
        return self.net.residuals(w)

    def hess(self, w: np.ndarray) -> np.ndarray:
        """The Hessian, by PyTorch (:meth:`ebp.second_order.ModelObjective.hess`)."""
        return self.reference.hess(w)


def _network(X: np.ndarray, Y: np.ndarray, hidden: int, seed: int) -> NetworkProblem:
    net = enn.mlp([X.shape[1], hidden, Y.shape[1]], seed=seed, dtype=torch.float64)
    ref = model_objective(net, "mse", X, Y)
    return NetworkProblem(ref.w0, ref.n, TanhNet(X, Y, hidden), ref)


def bowl_objective(n_patterns: int = 100, hidden: int = 5, *, seed: int = 0) -> NetworkProblem:
    """A 2-``hidden``-1 LeCun-tanh network (``ebp.nn.mlp``, fan-in init, float64) on
    ``z = 5a² + 3b²``.

    Inputs ``U(−1, 1)²`` and targets are standardized (zero mean, unit variance; see the
    chapter on normalizing inputs); the data use seed 0, the weights ``seed``.  The loss is
    ``"mse"``.
    """
    n_patterns = check_int(n_patterns, "n_patterns", min_value=2)
    hidden = check_int(hidden, "hidden", min_value=1)
    seed = check_int(seed, "seed", min_value=0)
    X, z = data.quadratic_bowl(n_patterns, seed=0)
    return _network(_standardized(X), _standardized(z), hidden, seed)


@dataclass(frozen=True)
class BowlRace:
    """Every method on the bowl network, loss against cost."""

    hidden: int
    n: int
    """Weights."""
    target: float
    traces: dict[str, Trace]
    cost_to_target: dict[str, float]
    grid: dict[tuple[float, float], float]
    """``(η, μ)`` → final loss of descent (inf: diverged); the tuning of ``"gd"`` (``μ = 0``)
    and ``"momentum"`` (``μ > 0``), each the best of its rows."""
    eta_gd: float
    eta_momentum: float
    momentum: float


def _tuned_descent(
    fun: Callable, w0: np.ndarray, etas: Sequence[float], momenta: Sequence[float], budget: int
) -> tuple[dict[tuple[float, float], float], dict[str, Trace], dict[str, tuple[float, float]]]:
    """Descent for every ``(η, μ)``; the best final loss with ``μ = 0`` and with ``μ > 0``."""
    grid: dict[tuple[float, float], float] = {}
    best: dict[str, Trace] = {}
    chosen: dict[str, tuple[float, float]] = {}
    for mu in momenta:
        for eta in etas:
            t = run_descent(fun, w0, eta=eta, momentum=mu, budget=budget)
            final = t.final if t.message != "diverged" else math.inf
            grid[(float(eta), float(mu))] = final
            label = "momentum" if mu > 0 else "gd"
            if label not in best or final < grid[chosen[label]]:
                best[label], chosen[label] = t, (float(eta), float(mu))
    return grid, best, chosen


@_one_thread
def bowl_race(
    *, hidden: int = 5, n_patterns: int = 100, seed: int = 0, budget: int = 300,
    target: float = 1e-2, etas: Sequence[float] = (0.2, 0.5),
    momenta: Sequence[float] = (0.0, 0.9),
) -> BowlRace:  # fmt: skip
    """The six methods of §6, tuned descent and momentum, and ``torch.optim.LBFGS`` on
    :func:`bowl_objective`, each with ``budget`` gradient-equivalent evaluations.

    Newton takes the pure step of eq 40 with the exact Hessian (cost ``n`` each);
    Gauss–Newton its pure step (eq 46); descent is tuned over ``etas × momenta`` by the final
    loss (every setting gets the whole budget).
    """
    budget = check_int(budget, "budget", min_value=2)
    target = check_positive(target, "target")
    obj = bowl_objective(n_patterns, hidden, seed=seed)
    traces = {m: run_method(obj, m, budget=budget, tol=1e-10) for m in METHODS}
    grid, best, chosen = _tuned_descent(obj.fun, obj.w0, etas, momenta, budget)
    traces.update(best)
    traces[REFERENCE] = lbfgs_trace(obj.fun, obj.w0, budget=budget)
    return BowlRace(
        hidden=hidden, n=obj.n, target=target, traces=traces,
        cost_to_target={m: cost_to_target(t, target) for m, t in traces.items()}, grid=grid,
        eta_gd=chosen.get("gd", (math.nan, 0.0))[0],
        eta_momentum=chosen.get("momentum", (math.nan, 0.0))[0],
        momentum=chosen.get("momentum", (math.nan, math.nan))[1],
    )  # fmt: skip


@dataclass(frozen=True)
class NewtonSaddles:
    """Pure Newton steps (eq 40) on the bowl network from several starts."""

    seeds: np.ndarray
    lam_min: np.ndarray
    """``(S,)`` the smallest Hessian eigenvalue at the iterate each step starts from."""
    slope: np.ndarray
    """``(S,)`` ``∇Eᵀp`` of the Newton step ``p`` (> 0: it points uphill)."""
    delta: np.ndarray
    """``(S,)`` the change of the loss the step made."""
    run: np.ndarray
    """``(S,)`` which start (index into ``seeds``) each step belongs to."""
    end_loss: np.ndarray
    """``(R,)`` per start: the loss where the run stopped."""
    end_lam_min: np.ndarray
    """``(R,)`` per start: ``λ_min`` of the Hessian there."""
    end_grad: np.ndarray
    """``(R,)`` per start: ``‖∇E‖`` there."""
    messages: list[str]

    @property
    def uphill(self) -> np.ndarray:
        """Steps after which the loss was higher (beyond rounding)."""
        return self.delta > 1e-10


def _newton_steps(obj: Any, max_iter: int) -> tuple[list[tuple[float, float]], Any]:
    """Run pure Newton; record ``(λ_min, ∇Eᵀp)`` at each iterate from the Hessian it uses."""
    last: dict[str, np.ndarray] = {}
    steps: list[tuple[float, float]] = []

    def fun(w: np.ndarray) -> tuple[float, np.ndarray]:
        f, g = obj.fun(w)
        last["w"], last["g"] = w.copy(), g
        return f, g

    def hess(w: np.ndarray) -> np.ndarray:
        H = obj.hess(w)
        lam = np.linalg.eigvalsh(H)
        g = last["g"] if np.array_equal(last["w"], w) else obj.fun(w)[1]
        try:
            p = np.linalg.solve(H, -g)
            slope = float(g @ p)
        except np.linalg.LinAlgError:
            slope = math.nan
        steps.append((float(lam[0]), slope))
        return H

    res = minimize(fun, obj.w0, method="newton", hess=hess, max_iter=max_iter, tol=1e-10)
    return steps[: res.nit], res


@_one_thread
def newton_saddles(
    seeds: Sequence[int] = tuple(range(6)), *, hidden: int = 5, n_patterns: int = 100,
    max_iter: int = 15,
) -> NewtonSaddles:  # fmt: skip
    """Pure Newton from the initial weights of each seed: per step, the smallest eigenvalue of
    the Hessian it inverted, the slope of its step and the change of the loss; per run, where
    it ended (loss, ``λ_min``, gradient norm)."""
    seeds = [check_int(s, "seeds", min_value=0) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    max_iter = check_int(max_iter, "max_iter", min_value=1)
    cols: dict[str, list[float]] = {"lam": [], "slope": [], "delta": [], "run": []}
    ends: dict[str, list[float]] = {"loss": [], "lam": [], "grad": []}
    messages = []
    for r, seed in enumerate(seeds):
        obj = bowl_objective(n_patterns, hidden, seed=seed)
        steps, res = _newton_steps(obj, max_iter)
        for k, (lam, slope) in enumerate(steps):
            cols["lam"].append(lam)
            cols["slope"].append(slope)
            cols["delta"].append(float(res.history[k + 1] - res.history[k]))
            cols["run"].append(r)
        ends["loss"].append(res.fun)
        ends["lam"].append(float(np.linalg.eigvalsh(obj.hess(res.x))[0]))
        ends["grad"].append(res.grad_norm)
        messages.append(res.message)
    return NewtonSaddles(
        seeds=np.array(seeds), lam_min=np.array(cols["lam"]), slope=np.array(cols["slope"]),
        delta=np.array(cols["delta"]), run=np.array(cols["run"], dtype=int),
        end_loss=np.array(ends["loss"]), end_lam_min=np.array(ends["lam"]),
        end_grad=np.array(ends["grad"]), messages=messages,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Digits: BFGS's N² memory, and cost to a target
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _digits_data(n_train: int) -> tuple[np.ndarray, np.ndarray]:
    split = data.digits(n_train=n_train, seed=0, standardize=True)
    return split.X_train, data.encode_targets(split.y_train, 10, "pm1")


def digits_objective(hidden: int = 8, *, n_train: int = 200, seed: int = 0) -> NetworkProblem:
    """A 64-``hidden``-10 LeCun-tanh network (float64) on ``n_train`` standardized digits,
    ``"mse"`` loss on ±1 targets (one per class)."""
    hidden = check_int(hidden, "hidden", min_value=1)
    n_train = check_int(n_train, "n_train", min_value=10)
    X, Y = _digits_data(n_train)
    return _network(X, Y, hidden, seed)


@dataclass(frozen=True)
class BfgsMemory:
    """The inverse-Hessian estimate of BFGS against the number of weights."""

    hidden: np.ndarray
    N: np.ndarray
    """Weights of each network."""
    nbytes: np.ndarray
    """``Result.inv_hessian.nbytes``."""
    peak: np.ndarray
    """The peak of NumPy's allocations during the run (``tracemalloc``), bytes."""
    iterations: int


@_one_thread
def bfgs_memory(
    hidden: Sequence[int] = (2, 4, 8, 16), *, iterations: int = 1, n_train: int = 200
) -> BfgsMemory:
    """BFGS for ``iterations`` iterations on :func:`digits_objective` of each width: the size
    of its matrix ``M`` and the peak memory NumPy allocated meanwhile."""
    hidden = [check_int(h, "hidden", min_value=1) for h in hidden]
    iterations = check_int(iterations, "iterations", min_value=1)
    N, nbytes, peak = [], [], []
    for h in hidden:
        obj = digits_objective(h, n_train=n_train)
        obj.fun(obj.w0)  # warm up outside the measurement
        tracemalloc.start()
        try:
            res = minimize(obj.fun, obj.w0, method="bfgs", max_iter=iterations)
            peak.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        N.append(obj.n)
        nbytes.append(res.inv_hessian.nbytes)
    return BfgsMemory(np.array(hidden), np.array(N), np.array(nbytes), np.array(peak),
                      iterations)  # fmt: skip


@dataclass(frozen=True)
class DigitsRace:
    """The gradient-only methods on the digits network, loss against cost."""

    hidden: int
    n: int
    n_train: int
    target: float
    traces: dict[str, Trace]
    cost_to_target: dict[str, float]
    eta: float
    momentum: float
    jacobian_bytes: int
    """Bytes of one Jacobian of the residuals, ``(P·K) × N`` doubles (Gauss–Newton, LM)."""


@_one_thread
def digits_race(
    *, hidden: int = 8, n_train: int = 200, budget: int = 200, target: float = 0.4,
    eta: float = 0.3, momentum: float = 0.9,
) -> DigitsRace:  # fmt: skip
    """CG-PR, BFGS, ``torch.optim.LBFGS``, descent at ``eta`` and heavy ball at
    ``eta·(1 − momentum)`` (the same long-run step) on :func:`digits_objective`, ``budget``
    gradient evaluations each."""
    budget = check_int(budget, "budget", min_value=2)
    target = check_positive(target, "target")
    obj = digits_objective(hidden, n_train=n_train)
    traces = {m: run_method(obj, m, budget=budget) for m in ("cg-pr", "bfgs")}
    traces["gd"] = run_descent(obj.fun, obj.w0, eta=eta, budget=budget)
    traces["momentum"] = run_descent(obj.fun, obj.w0, eta=eta * (1 - momentum),
                                     momentum=momentum, budget=budget)  # fmt: skip
    traces[REFERENCE] = lbfgs_trace(obj.fun, obj.w0, budget=budget)
    return DigitsRace(
        hidden=hidden, n=obj.n, n_train=n_train, target=target, traces=traces,
        cost_to_target={m: cost_to_target(t, target) for m, t in traces.items()}, eta=eta,
        momentum=momentum, jacobian_bytes=8 * n_train * 10 * obj.n,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Mini-batches on a redundant set
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MinibatchRun:
    """CG and BFGS on mini-batch objectives, SGD, and the batch methods, on a redundant set."""

    P: int
    batch: int
    epochs: dict[str, np.ndarray]
    """Method → patterns whose gradient was computed, over ``P`` (epochs), at each point."""
    loss: dict[str, np.ndarray]
    """Method → the full-set loss there."""
    iterations: dict[str, int]
    failures: dict[str, int]
    """Method → line searches that failed (each ends a run, which restarts from there)."""
    rises: dict[str, int]
    """Method → iterations after which the full-set loss was higher."""
    eta: float

    def loss_at(self, method: str, epochs: float) -> float:
        """The full-set loss of ``method`` at the last point with at most ``epochs``."""
        method = check_choice(method, "method", tuple(self.loss))
        k = np.flatnonzero(self.epochs[method] <= epochs)
        return float(self.loss[method][k[-1]])


class _Batches:
    """``fun(w)`` on a fresh mini-batch at every call (shuffled epochs, no pattern twice in an
    epoch); counts patterns."""

    def __init__(self, net: TanhNet, batch: int, seed: int) -> None:
        self.net, self.batch = net, batch
        self.P = net.X.shape[0]
        self.rng = np.random.default_rng(seed)
        self.order = np.empty(0, dtype=int)
        self.patterns = 0

    def fun(self, w: np.ndarray) -> tuple[float, np.ndarray]:
        if self.order.size < self.batch:
            self.order = self.rng.permutation(self.P)
        idx, self.order = self.order[: self.batch], self.order[self.batch :]
        self.patterns += self.batch
        return self.net.subset(idx).fun(w)


def _restarting(
    method: str, source: _Batches, full: Any, limit: int
) -> tuple[list, list, int, int]:
    """Run ``method`` on ``source.fun``; after a failed line search (or any stop but the
    budget's), restart from where it stopped; until ``limit`` patterns.  Returns patterns and
    full losses per iteration, iterations and failures."""
    w = full.w0.copy()
    pats, losses = [0], [full.fun(w)[0]]
    iterations = failures = 0

    def callback(x: np.ndarray) -> bool:
        pats.append(source.patterns)
        losses.append(full.fun(x)[0])
        return source.patterns >= limit

    while source.patterns < limit:
        res = minimize(source.fun, w, method=method, callback=callback, max_iter=100_000,
                       tol=1e-12)  # fmt: skip
        iterations += res.nit
        w = res.x
        if res.success or "callback" in res.message:
            break
        failures += 1  # a failed line search (or a lost direction): restart from w
    if source.patterns > pats[-1]:  # evaluations spent by failed searches after the last step
        pats.append(source.patterns)
        losses.append(losses[-1])
    return pats, losses, iterations, failures


@_one_thread
def minibatch_breakdown(
    *, batch: int = 10, epochs: float = 20.0, hidden: int = 4, copies: int = 10,
    eta: float = 0.2, seed: int = 0,
) -> MinibatchRun:  # fmt: skip
    """On :func:`ebp.data.redundant_two_gaussians` (``copies`` × 100 patterns), a 2-``hidden``-1
    network: SGD at a fixed ``eta``, CG-PR and BFGS on a fresh mini-batch of ``batch`` patterns
    at every evaluation (restarted after each failed line search), and CG-PR and BFGS on the
    whole set, each until ``epochs × P`` pattern gradients."""
    batch = check_int(batch, "batch", min_value=1)
    epochs = check_positive(epochs, "epochs")
    eta = check_positive(eta, "eta")
    ds = data.redundant_two_gaussians(100, copies, seed=seed)
    P = ds.X.shape[0]
    if batch > P:
        raise ValueError(f"batch must be <= the {P} patterns; got {batch}")
    full = _network(ds.X, ds.y, hidden, seed)
    limit = round(epochs * P)
    out: dict[str, dict[str, Any]] = {}
    pats, losses, steps = _sgd(_Batches(full.net, batch, seed), full, eta, limit)
    out["sgd"] = {"pats": pats, "loss": losses, "it": steps, "fail": 0}
    for m in ("cg-pr", "bfgs"):
        src = _Batches(full.net, batch, seed)
        pats, losses, it, fail = _restarting(m, src, full, limit)
        out[f"{m}-minibatch"] = {"pats": pats, "loss": losses, "it": it, "fail": fail}
        whole = _Batches(full.net, P, seed)
        pats, losses, it, fail = _restarting(m, whole, full, limit)
        out[f"{m}-batch"] = {"pats": pats, "loss": losses, "it": it, "fail": fail}
    return MinibatchRun(
        P=P, batch=batch, epochs={k: np.array(v["pats"]) / P for k, v in out.items()},
        loss={k: np.array(v["loss"]) for k, v in out.items()},
        iterations={k: v["it"] for k, v in out.items()},
        failures={k: v["fail"] for k, v in out.items()},
        rises={k: int(np.sum(np.diff(v["loss"]) > 0)) for k, v in out.items()}, eta=eta,
    )  # fmt: skip


def _sgd(source: _Batches, full: Any, eta: float, limit: int) -> tuple[list, list, int]:
    """SGD ``w ← w − η ∇E_batch`` until ``limit`` patterns, the full-set loss ten times per
    epoch."""
    record = max(1, source.P // source.batch // 10)
    w = full.w0.copy()
    pats, losses = [0], [full.fun(w)[0]]
    step = 0
    while source.patterns < limit:
        w = w - eta * source.fun(w)[1]
        step += 1
        if step % record == 0 or source.patterns >= limit:
            pats.append(source.patterns)
            losses.append(full.fun(w)[0])
    return pats, losses, step
