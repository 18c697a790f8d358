"""Wall time to a target loss of the classical second-order methods, side by side.

The chapter "Classical second-order methods" compares the methods by counted evaluations, which
are the same on every build; wall time is measured here instead, on the same problem: the
2-5-1 LeCun-tanh network on ``z = 5a² + 3b²`` of ``cso.bowl_race`` (100 patterns, float64,
seed 0), each method with the chapter's budget of 300 gradient-equivalent evaluations.  For
every method it prints the evaluations and the seconds until the training loss first reaches
the target (1e-2 by default), the best of ``--repeats`` runs (``time.perf_counter`` at every
iteration), and the ratio to BFGS's time.

Two versions of the loss are timed: the NumPy one the chapter uses (``cso.TanhNet``), and
PyTorch's (``ebp.second_order.model_objective``: ``torch.func`` gradients, Jacobians and
Hessians), whose per-call overhead dominates on so small a network.  Newton's Hessian always
comes from PyTorch.  Everything runs inside ``ebp.repro.single_threaded()``.

    .venv/bin/python benchmarks/second_order_time.py [--repeats 3] [--target 1e-2]
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np

from ebp.experiments import classical_second_order as cso
from ebp.repro import single_threaded
from ebp.second_order import METHODS


def _timed(run: Callable[[Callable[[float], None]], cso.Trace]) -> tuple[cso.Trace, np.ndarray]:
    """Run with a hook that stamps the time after each iteration (or evaluation)."""
    stamps: list[float] = []
    start = time.perf_counter()
    trace = run(lambda _cost: stamps.append(time.perf_counter() - start))
    return trace, np.array(stamps)


def _time_to_target(trace: cso.Trace, stamps: np.ndarray, target: float, offset: int) -> float:
    """Seconds until the first point of ``trace`` at or below ``target``; ``offset`` is 1
    when ``trace.loss[0]`` (the start) has no stamp."""
    hit = np.flatnonzero(trace.loss <= target)
    if not hit.size:
        return math.nan
    k = hit[0] - offset
    return 0.0 if k < 0 else float(stamps[min(k, stamps.size - 1)])


def _runs(obj, budget: int) -> dict[str, tuple[Callable, int]]:
    """Method → (a run taking the hook, the offset of its stamps)."""

    def method(m: str) -> Callable:
        return lambda hook: cso.run_method(obj, m, budget=budget, tol=1e-10, on_iteration=hook)

    def descent(mu: float) -> Callable:
        return lambda hook: cso.run_descent(
            obj.fun, obj.w0, eta=0.2, momentum=mu, budget=budget, on_iteration=hook
        )

    runs = {m: (method(m), 1) for m in METHODS}
    runs["gd"] = (descent(0.0), 0)
    runs["momentum"] = (descent(0.9), 0)
    runs[cso.REFERENCE] = (
        lambda hook: cso.lbfgs_trace(obj.fun, obj.w0, budget=budget, on_iteration=hook),
        0,
    )
    return runs


class _TorchLoss:
    """The bowl problem with ``fun`` and ``residuals`` from PyTorch's ``model_objective``."""

    def __init__(self, problem: cso.NetworkProblem) -> None:
        self.w0, self.n = problem.w0, problem.n
        self.fun = problem.reference.fun
        self.residuals = problem.reference.residuals
        self.hess = problem.reference.hess


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--target", type=float, default=1e-2)
    parser.add_argument("--budget", type=int, default=300)
    args = parser.parse_args()
    problem = cso.bowl_objective(100, 5, seed=0)
    with single_threaded():
        for name, obj in (
            ("NumPy loss (the chapter's)", problem),
            ("PyTorch loss", _TorchLoss(problem)),
        ):
            print(f"\n== {name}: 2-5-1 network, N = {problem.n}, target {args.target:g} ==")
            results = {}
            for m, (run, offset) in _runs(obj, args.budget).items():
                best = math.inf
                for _ in range(args.repeats):
                    trace, stamps = _timed(run)
                    best = min(best, _time_to_target(trace, stamps, args.target, offset))
                results[m] = (cso.cost_to_target(trace, args.target), best, float(stamps[-1]))
            ref = results["bfgs"][1]
            print(f"{'method':22s} {'evals to target':>16s} {'s to target':>12s} "
                  f"{'ratio to BFGS':>14s} {'s for the budget':>17s}")  # fmt: skip
            for m, (cost, sec, total) in results.items():
                ratio = sec / ref if math.isfinite(sec) else math.nan
                print(f"{m:22s} {cost:16.0f} {sec:12.4f} {ratio:14.2f} {total:17.3f}")


if __name__ == "__main__":
    main()
