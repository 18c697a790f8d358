"""Newton's method, eq 40: ``Δw = −H⁻¹ ∇E``, with the Hessian as a matrix or through products.

With ``hess`` (a matrix) the Newton system ``H p = −∇E`` is solved directly; with ``hessp``
(products ``H v``, e.g. from :mod:`ebp.hessian`) it is solved by the linear conjugate gradient
method on products, which never forms ``H``.  Either way the step is the pure Newton step, **not
modified where ``H`` is indefinite**: there eq 40 heads for a saddle point or a maximum as
readily as for a minimum, and the loss may go up.  The run reports such steps
(``Result.uphill_steps``); with ``line_search=True`` a direction that is not downhill stops the
run with a message instead (no line search can go downhill along it).

The linear CG solve on products does not check the sign of the curvature either: it keeps the
recurrence going while ``dᵀHd ≠ 0`` (which, in exact arithmetic, reaches ``H⁻¹ b`` for any
non-singular ``H`` unless it breaks down), and stops at a relative residual ``newton_rtol`` or
after ``2n`` products.  (SciPy's ``Newton-CG`` instead stops at negative curvature and solves
only to ``min(½, √‖∇E‖)``: a truncated Newton method, cheaper and safer, but not eq 40.)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ebp.second_order.line_search import line_step
from ebp.second_order.problem import Point, Problem, Step

__all__ = ["Newton", "solve_by_products"]


def solve_by_products(
    hv: Callable[[np.ndarray], np.ndarray], b: np.ndarray, rtol: float, max_products: int
) -> np.ndarray | str:
    """``H⁻¹ b`` by linear conjugate gradient with products ``hv(d) = H d``; stops at
    ``‖b − H x‖ ≤ rtol ‖b‖``, after ``max_products`` products, or at a breakdown ``dᵀHd = 0``.
    Returns the solution, or why there is none."""
    x = np.zeros_like(b)
    r = b.copy()
    d = r.copy()
    rr = float(r @ r)
    goal = rtol * np.sqrt(rr)
    for _ in range(max_products):
        Hd = hv(d)
        if not np.all(np.isfinite(Hd)):
            return "a Hessian–vector product is not finite"
        curvature = float(d @ Hd)
        if curvature == 0:
            break  # breakdown: keep what was solved so far
        a = rr / curvature
        x += a * d
        r -= a * Hd
        rr_new = float(r @ r)
        if np.sqrt(rr_new) <= goal:
            break
        d = r + (rr_new / rr) * d
        rr = rr_new
    if not np.any(x):
        return "conjugate gradient on Hessian products broke down at once (dᵀHd = 0)"
    return x


class Newton:
    """Eq 40, one step per call; see the module docstring."""

    def __init__(
        self, problem: Problem, *, line_search: bool, c1: float, c2: float, rtol: float
    ) -> None:
        self.problem = problem
        self.line_search = line_search
        self.c1, self.c2 = c1, c2
        self.rtol = rtol

    def direction(self, point: Point) -> np.ndarray | str:
        """The Newton step ``p`` solving ``H p = −∇E``, or why there is none."""
        if self.problem.hess_kind == "matrix":
            H = self.problem.hess(point.w)
            if not np.all(np.isfinite(H)):
                return "the Hessian returned by hess is not finite"
            try:
                return np.linalg.solve(H, -point.g)
            except np.linalg.LinAlgError:
                return "the Hessian is singular: the Newton system has no unique solution"
        return solve_by_products(
            lambda v: self.problem.hessp(point.w, v), -point.g, self.rtol, 2 * self.problem.n
        )

    def __call__(self, point: Point, k: int) -> Step | str:
        p = self.direction(point)
        if isinstance(p, str):
            return p
        if not self.line_search:
            return Step(self.problem.evaluate(point.w + p))
        slope = float(point.g @ p)
        if not slope < 0:
            return (
                f"the Newton direction is not downhill at iteration {k} (∇Eᵀp = {slope:.3g} "
                "≥ 0: the Hessian is not positive definite here), so no line search can "
                "follow it; line_search=False takes the pure step of eq 40"
            )
        out = line_step(self.problem, point, p, slope, 1.0, self.c1, self.c2)
        return out if isinstance(out, str) else out[1]
