"""The iteration every method shares: stopping rules, history, counters, the
:class:`~ebp.second_order.Result`.

A method is a callable ``step(point, k) -> Step | str`` that makes iteration ``k`` from the
current point; a string is a reason to stop (a failed line search, a singular Hessian).  The
driver stops

- with success when ``‖∇E(w)‖₂ ≤ tol`` (checked at the start too: a start that is already a
  stationary point takes no iteration), or when ``ftol > 0`` and an iteration that moved ``w``
  changed the loss by at most ``ftol · max(|E_old|, |E_new|)`` (relative loss change);
- without success after ``max_iter`` iterations, when a method cannot go on, when the loss or
  gradient at a new point is not finite (the run diverged; ``x`` is the last finite iterate and
  the history ends there), or when ``callback`` returns ``True``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ebp.second_order.line_search import ROUNDING
from ebp.second_order.problem import Point, Problem, Step

__all__ = ["Result", "run"]

Method = Callable[[Point, int], "Step | str"]


@dataclass(frozen=True, eq=False)
class Result:
    """What :func:`ebp.second_order.minimize` returns.

    Attributes
    ----------
    x : numpy.ndarray
        The last iterate (the last finite one if the run diverged).
    fun : float
        The loss at ``x``.
    grad_norm : float
        ``‖∇E(x)‖₂``.
    nit : int
        Iterations made (for Levenberg–Marquardt: trial steps, rejected ones included).
    success : bool
        Whether a convergence test (``tol`` or ``ftol``) was met.
    message : str
        Why the run stopped.
    history : numpy.ndarray
        The loss at the start and after each iteration, ``nit + 1`` values.
    nfev, ngev, nhev, njev : int
        Calls of the user's functions: loss values (``fun`` and ``residuals``), gradients
        (``fun``), Hessian information (``hess`` matrices or ``hessp`` products, as
        :attr:`hess_kind` says) and Jacobians (``residuals``).  A call of ``fun`` counts in both
        ``nfev`` and ``ngev``, one of ``residuals`` in both ``nfev`` and ``njev``.
    hess_kind : str or None
        ``"matrix"`` if ``nhev`` counts Hessian matrices, ``"product"`` if it counts
        Hessian–vector products, ``None`` if the method used neither.
    uphill_steps : int
        Iterations after which the loss was higher than before (by more than rounding,
        ``ROUNDING = 10⁻¹⁰`` relative): Newton's and Gauss–Newton's
        pure steps where the quadratic model misleads (a Hessian with a negative eigenvalue, or
        an overshoot).  Line-search methods and Levenberg–Marquardt never go uphill.
    method : str
        The method that ran.
    inv_hessian : numpy.ndarray or None
        BFGS only: the final estimate ``M`` of the inverse Hessian (eq 45).
    """

    x: np.ndarray
    fun: float
    grad_norm: float
    nit: int
    success: bool
    message: str
    history: np.ndarray
    nfev: int
    ngev: int
    nhev: int
    njev: int
    hess_kind: str | None
    uphill_steps: int
    method: str
    inv_hessian: np.ndarray | None = None


def _relative_change(old: float, new: float) -> float:
    scale = max(abs(old), abs(new))
    return abs(old - new) / scale if scale > 0 else 0.0


def run(
    problem: Problem,
    step: Method,
    start: Point,
    *,
    method: str,
    tol: float,
    ftol: float,
    max_iter: int,
    callback: Callable[[np.ndarray], Any] | None,
) -> tuple[Point, dict[str, Any]]:
    """Iterate ``step`` from ``start`` until a stopping rule (module docstring) fires; return
    the last point and the fields of the :class:`Result` but ``inv_hessian``."""
    point, history, uphill = start, [start.f], 0
    success, message = False, f"max_iter = {max_iter} iterations reached"
    for k in range(max_iter + 1):
        gnorm = float(np.linalg.norm(point.g))
        if gnorm <= tol:
            success, message = True, f"gradient norm {gnorm:.3g} ≤ tol = {tol:g}"
            break
        if k == max_iter:
            message += f" (gradient norm {gnorm:.3g} > tol = {tol:g})"
            break
        out = step(point, k)
        if isinstance(out, str):
            message = out
            break
        new = out.point
        if not new.finite:
            message = (
                f"the loss or its gradient is not finite after iteration {k + 1} (loss "
                f"{new.f:.6g}): the run diverged; x is the last finite iterate"
            )
            break
        uphill += new.f > point.f + ROUNDING * abs(point.f)
        history.append(new.f)
        old, point = point, new
        if callback is not None and callback(point.w.copy()) is True:
            message = f"stopped by callback after iteration {k + 1}"
            break
        if out.moved and ftol > 0 and _relative_change(old.f, new.f) <= ftol:
            change = _relative_change(old.f, new.f)
            success, message = True, f"relative loss change {change:.3g} ≤ ftol = {ftol:g}"
            break
    fields = {
        "x": point.w.copy(),
        "fun": point.f,
        "grad_norm": float(np.linalg.norm(point.g)),
        "nit": len(history) - 1,
        "success": success,
        "message": message,
        "history": np.asarray(history, dtype=np.float64),
        "nfev": problem.nfev,
        "ngev": problem.ngev,
        "nhev": problem.nhev,
        "njev": problem.njev,
        "hess_kind": problem.hess_kind,
        "uphill_steps": int(uphill),
        "method": method,
    }
    return point, fields
