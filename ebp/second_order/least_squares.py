"""Gauss–Newton (eq 46) and Levenberg–Marquardt (eq 47) for ``E(w) = ½‖r(w)‖²``.

The loss is half the squared norm of a residual vector ``r(w) ∈ ℝᵐ`` with Jacobian ``J``, so
``∇E = Jᵀr`` and ``H = JᵀJ + Σ_i r_i ∇²r_i``.  (SciPy's ``least_squares`` uses the same ½; for
the book's ``"mse"``, ``r = (o − d)/√P`` gives ``½‖r‖² = (1/P) Σ_p ½‖d^p − o^p‖²``.)

Gauss–Newton (eq 46)
    drop the second term of ``H``: ``p = −(JᵀJ)⁻¹ Jᵀr``, the minimizer of the linearized
    residual ``‖r + J p‖``.  It is computed by least squares on ``J`` (``numpy.linalg.lstsq``,
    which never squares the condition number by forming ``JᵀJ``; the minimum-norm step when
    ``J`` is rank-deficient).  The full step is taken (or, with ``line_search=True``, a strong
    Wolfe step along it); on a linear least-squares problem it lands on the minimizer at once,
    on a nonlinear one it can overshoot and go uphill (``Result.uphill_steps``).
Levenberg–Marquardt (eq 47)
    ``p = −(JᵀJ + λI)⁻¹ Jᵀr``: Gauss–Newton for small ``λ``, a short gradient step
    ``−Jᵀr/λ`` for large ``λ``.  Each iteration tries one step (solved as least squares on
    ``J`` stacked over ``√λ I``) and compares the actual decrease of the loss with the one the
    linear model promised, the *gain ratio*
    ``ρ = [E(w) − E(w + p)] / [½‖r‖² − ½‖r + J p‖²]``.
    Marquardt's scheme (in the form of Madsen, Nielsen & Tingleff 2004, §3.2): the step is
    accepted if ``ρ > 0`` (the loss went down), else rejected (``w`` and the loss stay; the
    history repeats the loss); then ``λ ← λ/3`` if ``ρ > 0.75`` (the model is good: trust it
    more), ``λ ← 2λ`` if ``ρ < 0.25`` (a rejected step included), else unchanged.  ``λ₀`` is
    ``damping`` or ``10⁻³ · max_j (JᵀJ)_jj``.  Each trial costs one call of ``residuals``,
    also when the step is rejected and its Jacobian never used.
"""

from __future__ import annotations

import math

import numpy as np

from ebp.second_order.line_search import line_step
from ebp.second_order.problem import Point, Problem, Step

__all__ = [
    "GAIN_HIGH",
    "GAIN_LOW",
    "LAMBDA_DOWN",
    "LAMBDA_UP",
    "TAU",
    "GaussNewton",
    "LevenbergMarquardt",
]

TAU = 1e-3
"""The default ``λ₀`` is ``TAU · max_j (JᵀJ)_jj`` at the start."""

GAIN_LOW, GAIN_HIGH = 0.25, 0.75
"""Gain ratios below which λ grows and above which it shrinks."""

LAMBDA_UP, LAMBDA_DOWN = 2.0, 3.0
"""λ is multiplied by ``LAMBDA_UP`` (poor or rejected step) or divided by ``LAMBDA_DOWN``."""


def _lost_in_rounding(w: np.ndarray, p: np.ndarray) -> bool:
    return bool(np.all(w + p == w))


class GaussNewton:
    """Eq 46, one step per call."""

    def __init__(self, problem: Problem, *, line_search: bool, c1: float, c2: float) -> None:
        self.problem = problem
        self.line_search = line_search
        self.c1, self.c2 = c1, c2

    def __call__(self, point: Point, k: int) -> Step | str:
        assert point.J is not None and point.r is not None
        p = np.linalg.lstsq(point.J, -point.r, rcond=None)[0]
        if _lost_in_rounding(point.w, p):
            return "the Gauss–Newton step is below rounding level: no further progress"
        if not self.line_search:
            return Step(self.problem.evaluate(point.w + p))
        slope = float(point.g @ p)
        if not slope < 0:
            return f"the Gauss–Newton direction is not downhill (∇Eᵀp = {slope:.3g})"
        out = line_step(self.problem, point, p, slope, 1.0, self.c1, self.c2)
        return out if isinstance(out, str) else out[1]


class LevenbergMarquardt:
    """Eq 47 with Marquardt's gain-ratio control of λ (``damping``), one trial per call."""

    def __init__(self, problem: Problem, *, damping: float | None) -> None:
        self.problem = problem
        self.damping = damping
        self.rejected = 0

    def __call__(self, point: Point, k: int) -> Step | str:
        J, r = point.J, point.r
        assert J is not None and r is not None
        n = self.problem.n
        if self.damping is None:
            self.damping = TAU * max(float(np.max(np.sum(J * J, axis=0))), 1e-300)
        A = np.vstack([J, math.sqrt(self.damping) * np.eye(n)])
        p = np.linalg.lstsq(A, np.concatenate([-r, np.zeros(n)]), rcond=None)[0]
        if _lost_in_rounding(point.w, p):
            return (
                f"the damped step is below rounding level (λ = {self.damping:.3g}): no "
                f"further decrease of the loss {point.f:.6g} is possible at this precision"
            )
        new = self.problem.evaluate(point.w + p)
        linear = r + J @ p
        predicted = point.f - 0.5 * float(linear @ linear)
        actual = point.f - new.f
        rho = actual / predicted if new.finite and predicted > 0 else -math.inf
        if rho > GAIN_HIGH:
            self.damping /= LAMBDA_DOWN
        elif rho < GAIN_LOW:
            self.damping *= LAMBDA_UP
        if rho > 0:
            return Step(new)
        self.rejected += 1
        return Step(point, moved=False)
