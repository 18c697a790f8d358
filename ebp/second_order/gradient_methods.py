"""Methods that need only gradients: nonlinear conjugate gradient (eqs 41–43) and BFGS (eqs 44–45).

Both move along a direction ``p`` by a strong Wolfe line search
(:mod:`ebp.second_order.line_search`).

Conjugate gradient (eq 41)
    ``p_k = −∇E_k + β_k p_{k−1}``, with Fletcher–Reeves (eq 42)
    ``β = ‖∇E_k‖² / ‖∇E_{k−1}‖²`` or Polak–Ribière (eq 43)
    ``β = ∇E_kᵀ(∇E_k − ∇E_{k−1}) / ‖∇E_{k−1}‖²``, here in its "PR+" form ``max(β, 0)``, which
    restarts by itself when the gradients stop being orthogonal.  Both restart (``β = 0``) every
    ``n`` iterations, when successive gradients are far from orthogonal (Powell's test
    ``|∇E_kᵀ∇E_{k−1}| ≥ 0.2 ‖∇E_k‖²``, which saves Fletcher–Reeves from crawling along bad
    directions; with exact line searches on a quadratic the gradients are orthogonal and it
    never fires), and whenever ``p_k`` is not downhill (possible after an inexact line
    search).  The first trial step is ``1/‖∇E‖`` on the first iteration, then
    ``α_{k−1} ∇E_{k−1}ᵀp_{k−1} / ∇E_kᵀp_k`` (the previous step's first-order decrease again;
    Nocedal & Wright eq 3.60).  On a quadratic in ``n`` variables with exact line searches both
    are the linear conjugate gradient method and stop within ``n`` iterations.
BFGS (eqs 44–45)
    ``p_k = −M_k ∇E_k`` with ``M`` an estimate of the inverse Hessian, updated from the step
    ``s = w_{k+1} − w_k`` and the gradient change ``y = ∇E_{k+1} − ∇E_k`` so that ``M y = s``:
    ``M ← (I − ρ s yᵀ) M (I − ρ y sᵀ) + ρ s sᵀ``, ``ρ = 1/yᵀs``.  ``M₀ = I``; before the first
    update it is rescaled to ``(yᵀs / yᵀy) I`` (Nocedal & Wright eq 6.20), and the first trial
    step is ``1/‖∇E‖``, later ones 1.  The strong Wolfe conditions make ``yᵀs > 0``, which keeps
    ``M`` positive definite; an update with ``yᵀs`` at rounding level is skipped.
"""

from __future__ import annotations

import numpy as np

from ebp.second_order.line_search import line_step
from ebp.second_order.problem import Point, Problem, Step

__all__ = ["BFGS", "POWELL", "ConjugateGradient"]

POWELL = 0.2
"""CG restarts when successive gradients are far from orthogonal,
``|∇E_kᵀ∇E_{k−1}| ≥ POWELL ‖∇E_k‖²`` (Powell 1977)."""


class ConjugateGradient:
    """Nonlinear CG, ``variant`` ``"fr"`` (eq 42) or ``"pr"`` (eq 43, PR+)."""

    def __init__(self, problem: Problem, *, variant: str, c1: float, c2: float) -> None:
        self.problem = problem
        self.variant = variant
        self.c1, self.c2 = c1, c2
        self.p: np.ndarray | None = None
        self.last: tuple[float, float] | None = None  # (α, slope) of the previous step
        self.restarts = 0

    def __call__(self, point: Point, k: int) -> Step | str:
        g = point.g
        p = -g if self.p is None else self.p
        slope = float(g @ p)
        if self.p is not None and not slope < 0:  # not downhill: restart
            self.restarts += 1
            p, slope = -g, -float(g @ g)
        if self.last is None:
            alpha0 = 1.0 / np.linalg.norm(g)
        else:
            alpha0 = self.last[0] * self.last[1] / slope
        out = line_step(self.problem, point, p, slope, alpha0, self.c1, self.c2)
        if isinstance(out, str):
            return out
        alpha, step = out
        g_new = step.point.g
        gg = float(g @ g)
        if self.variant == "fr":
            beta = float(g_new @ g_new) / gg
        else:
            beta = max(float(g_new @ (g_new - g)) / gg, 0.0)
        if (k + 1) % self.problem.n == 0 or abs(float(g_new @ g)) >= POWELL * float(g_new @ g_new):
            beta = 0.0
        self.p = -g_new + beta * p
        self.last = (alpha, slope)
        return step


class BFGS:
    """BFGS on the inverse Hessian estimate ``M`` (:attr:`inverse_hessian`)."""

    def __init__(self, problem: Problem, *, c1: float, c2: float) -> None:
        self.problem = problem
        self.c1, self.c2 = c1, c2
        self.M: np.ndarray | None = None  # None: the identity, not yet rescaled
        self.skipped = 0

    @property
    def inverse_hessian(self) -> np.ndarray:
        """The current estimate ``M`` of ``H⁻¹`` (a copy)."""
        return np.eye(self.problem.n) if self.M is None else self.M.copy()

    def __call__(self, point: Point, k: int) -> Step | str:
        g = point.g
        p = -g if self.M is None else -(self.M @ g)
        slope = float(g @ p)
        if not slope < 0:
            return (
                f"the BFGS direction is not downhill at iteration {k} (∇Eᵀp = {slope:.3g}): "
                "the inverse-Hessian estimate lost positive definiteness to rounding"
            )
        alpha0 = 1.0 / np.linalg.norm(g) if self.M is None else 1.0
        out = line_step(self.problem, point, p, slope, alpha0, self.c1, self.c2)
        if isinstance(out, str):
            return out
        step = out[1]
        self.update(step.point.w - point.w, step.point.g - g)
        return step

    def update(self, s: np.ndarray, y: np.ndarray) -> None:
        """Eq 45: the BFGS update of ``M`` with ``M y = s`` afterwards."""
        sy = float(s @ y)
        if not sy > 1e-12 * np.linalg.norm(s) * np.linalg.norm(y):
            self.skipped += 1
            return
        if self.M is None:
            self.M = (sy / float(y @ y)) * np.eye(self.problem.n)
        rho = 1.0 / sy
        My = self.M @ y
        self.M = (
            self.M
            - rho * (np.outer(s, My) + np.outer(My, s))
            + (rho * rho * float(y @ My) + rho) * np.outer(s, s)
        )
