"""A line search that satisfies the strong Wolfe conditions (for CG, BFGS and damped Newton).

Along a descent direction ``p`` at ``w`` (slope ``φ'(0) = ∇E(w)ᵀp < 0``), look at the loss as a
function of the step, ``φ(α) = E(w + α p)``, and accept an ``α > 0`` with

1. **sufficient decrease** (Armijo): ``φ(α) ≤ φ(0) + c₁ α φ'(0)``: the loss falls by at least a
   fraction ``c₁`` of what the tangent line promises, so steps that are too long are refused;
2. **curvature** (strong form): ``|φ'(α)| ≤ c₂ |φ'(0)|``: the slope has flattened by a factor
   ``c₂``, so steps that are too short (where the loss is still falling steeply) are refused too,
   and so is overshooting far up the other side.

With ``0 < c₁ < c₂ < 1`` such steps exist for any loss bounded below (Nocedal & Wright 2006,
Lemma 3.1).  Customary values: ``c₁ = 10⁻⁴``; ``c₂ = 0.9`` for Newton and BFGS (the unit step is
then usually accepted at once) and ``c₂ = 0.1`` for nonlinear conjugate gradient, whose
directions stay conjugate only if each line search is nearly exact (Fletcher–Reeves needs
``c₂ < ½`` to be sure of a descent direction).  A tiny ``c₂`` (say 10⁻¹⁰) asks for an exact line
search, ``φ'(α) ≈ 0``.

The algorithm is Nocedal & Wright's (Algorithms 3.5 and 3.6), in two phases:

*bracketing*
    try ``α₀``; if it breaks sufficient decrease, or the loss rose since the previous trial, a
    step satisfying both conditions lies between the previous trial and this one; if the slope
    is already flat enough, accept; if the slope has turned positive, the minimum has been
    passed and is bracketed; otherwise the step was too short: double it and try again;
*zoom*
    shrink the bracket ``[α_lo, α_hi]`` (``α_lo`` the best step so far satisfying sufficient
    decrease) by trying the minimizer of the cubic that matches ``φ`` and ``φ'`` at both ends,
    kept at least a tenth of the bracket away from either end, until a step satisfies both
    conditions.  When the cubic's minimizer is not there, the quadratic through ``φ(α_lo)``,
    ``φ'(α_lo)`` and ``φ(α_hi)`` is tried (it may lie close to ``α_lo``: after a first step
    that was far too long, the only good step is), then the midpoint.

On a quadratic ``φ`` the cubic is ``φ`` itself, so zoom lands on the exact minimizer in one
trial.

Near a minimum the losses of the trials differ by no more than their rounding errors, and
comparing them says nothing, while slopes still can be compared.  So losses within
``ROUNDING · |φ(0)|`` of each other count as equal; a step whose loss is that close to ``φ(0)``
passes sufficient decrease if and only if ``φ'(α) ≤ (1 − 2c₁)|φ'(0)|`` (the "approximate Wolfe"
conditions of Hager & Zhang 2005: on a quadratic the two forms of sufficient decrease are the
same condition, so only rounding is forgiven), and zoom interpolates between such steps by the
secant on the slopes instead of the cubic.  Without this, CG and BFGS stop with a failed line
search well before ``‖∇E‖`` reaches 10⁻⁸ on a quadratic with κ = 10³.

A trial where the loss or gradient is not finite (a step into overflow) counts as a step that
is too long.  Each trial costs one loss and one gradient.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ebp._validate import as_float_array, check_in_range, check_int, check_positive
from ebp.second_order.problem import Point, Problem, Step

__all__ = ["MAX_EVALS", "LineSearchResult", "line_step", "search", "wolfe_line_search"]

GROW = 2.0
"""Bracketing: a step that is too short is multiplied by this."""

SAFEGUARD = 0.1
"""Zoom: a trial stays at least this fraction of the bracket away from either end."""

ROUNDING = 1e-10
"""Losses within this fraction of ``|φ(0)|`` of each other are compared by slopes instead."""

Trial = Callable[[float], tuple[float, float, Any]]
"""``α ↦ (φ(α), φ'(α), payload)``; the payload (the point at ``w + α p``) is handed back."""


def _cubic_min(a: float, fa: float, da: float, b: float, fb: float, db: float) -> float:
    """The minimizer of the cubic with values ``fa, fb`` and slopes ``da, db`` at ``a, b``
    (Nocedal & Wright eq 3.59); NaN if it has none or the data are not finite."""
    with np.errstate(all="ignore"):
        d1 = da + db - 3 * (fa - fb) / (a - b)
        disc = d1 * d1 - da * db
        if not (math.isfinite(disc) and disc >= 0):
            return math.nan
        d2 = math.copysign(math.sqrt(disc), b - a)
        denom = db - da + 2 * d2
        if denom == 0 or not math.isfinite(denom):
            return math.nan
        return b - (b - a) * (db + d2 - d1) / denom


def _too_long(
    a: float, f: float, d: float, phi0: float, dphi0: float, c1: float, noise: float
) -> bool:
    """Whether the trial ``(α, φ(α), φ'(α))`` breaks sufficient decrease (or overflowed)."""
    if not (math.isfinite(f) and math.isfinite(d)):
        return True
    if abs(f - phi0) <= noise:  # rounding level: sufficient decrease judged by the slope
        return d > (1 - 2 * c1) * -dphi0
    return f > phi0 + c1 * a * dphi0


def _next_trial(
    lo: tuple[float, float, float], hi: tuple[float, float, float], noise: float
) -> float:
    """The next trial step of zoom inside the bracket from ``lo`` to ``hi`` (each
    ``(α, φ, φ')``): the cubic's minimizer if it lies in the middle 80 % of the bracket; else,
    if the far end is much higher, the quadratic's through ``φ(lo)``, ``φ'(lo)`` and ``φ(hi)``,
    which may lie close to ``lo`` (after a first step far too long, where the cubic is lost
    to cancellation); a tenth of the way if ``φ(hi)`` overflowed; else the midpoint.  At
    rounding level (``|φ(hi) − φ(lo)| ≤ noise``) only the secant on the slopes is used, kept in
    the middle 80 %."""
    a_lo, f_lo, d_lo = lo
    a_hi, f_hi, d_hi = hi
    width = a_hi - a_lo
    if not math.isfinite(f_hi) or not math.isfinite(d_hi):
        return a_lo + SAFEGUARD * width

    def inside(a: float, low: float) -> bool:
        return math.isfinite(a) and low <= (a - a_lo) / width <= 1 - SAFEGUARD

    if abs(f_hi - f_lo) <= noise and d_hi != d_lo:  # only the slopes can be trusted
        t = -d_lo / (d_hi - d_lo)
        t = min(max(t, SAFEGUARD), 1 - SAFEGUARD) if math.isfinite(t) else 0.5
        return a_lo + t * width
    a = _cubic_min(a_lo, f_lo, d_lo, a_hi, f_hi, d_hi)
    if inside(a, SAFEGUARD):
        return a
    curvature = f_hi - f_lo - d_lo * width
    if curvature > 0:
        a = a_lo - d_lo * width * width / (2 * curvature)
        if a != a_lo and inside(a, 0.0):
            return a
    return a_lo + 0.5 * width


def _zoom(
    trial: Trial,
    lo: tuple[float, float, float, Any],
    hi: tuple[float, float, float],
    phi0: float,
    dphi0: float,
    c1: float,
    c2: float,
    evals_left: int,
) -> tuple[float, Any, str | None, int]:
    """Shrink the bracket ``[lo, hi]`` (each ``(α, φ, φ')``; ``lo`` also carries its payload)
    to a strong Wolfe step; returns ``(α, payload, failure or None, evaluations)``."""
    a_lo, f_lo, d_lo, pay_lo = lo
    a_hi, f_hi, d_hi = hi
    noise = ROUNDING * abs(phi0)
    for used in range(1, evals_left + 1):
        width = a_hi - a_lo
        if abs(width) <= 1e-14 * max(abs(a_lo), abs(a_hi)):
            return a_lo, pay_lo, "the bracket shrank to rounding level", used - 1
        a = _next_trial((a_lo, f_lo, d_lo), (a_hi, f_hi, d_hi), noise)
        f, d, pay = trial(a)
        if _too_long(a, f, d, phi0, dphi0, c1, noise) or f > f_lo + noise:
            a_hi, f_hi, d_hi = a, f, d
            continue
        if abs(d) <= -c2 * dphi0:
            return a, pay, None, used
        if d * (a_hi - a_lo) >= 0:
            a_hi, f_hi, d_hi = a_lo, f_lo, d_lo
        a_lo, f_lo, d_lo, pay_lo = a, f, d, pay
    return a_lo, pay_lo, f"no strong Wolfe step within {evals_left} zoom trials", evals_left


def search(
    trial: Trial,
    phi0: float,
    dphi0: float,
    alpha0: float,
    c1: float,
    c2: float,
    max_evals: int,
) -> tuple[float, Any, str | None, int]:
    """The strong Wolfe search on ``φ`` (module docstring), for callers that have checked their
    arguments; ``dphi0 < 0``.  Returns ``(α, payload, failure, evaluations)``: ``failure`` is
    ``None`` on success, else why the search stopped (``α`` and ``payload`` are then the best
    step found that satisfies sufficient decrease, or ``α = 0`` and ``None``)."""
    a_prev, f_prev, d_prev, pay_prev = 0.0, phi0, dphi0, None
    noise = ROUNDING * abs(phi0)
    a = alpha0
    for used in range(1, max_evals + 1):
        f, d, pay = trial(a)
        higher = used > 1 and f > f_prev + noise
        if _too_long(a, f, d, phi0, dphi0, c1, noise) or higher:
            a, pay, fail, n = _zoom(
                trial,
                (a_prev, f_prev, d_prev, pay_prev),
                (a, f, d),
                phi0,
                dphi0,
                c1,
                c2,
                max_evals - used,
            )
            return a, pay, fail, used + n
        if abs(d) <= -c2 * dphi0:
            return a, pay, None, used
        if d >= 0:
            a, pay, fail, n = _zoom(
                trial,
                (a, f, d, pay),
                (a_prev, f_prev, d_prev),
                phi0,
                dphi0,
                c1,
                c2,
                max_evals - used,
            )
            return a, pay, fail, used + n
        a_prev, f_prev, d_prev, pay_prev = a, f, d, pay
        a = GROW * a
    return a_prev, pay_prev, f"no strong Wolfe step within {max_evals} trials", max_evals


@dataclass(frozen=True, eq=False)
class LineSearchResult:
    """The outcome of :func:`wolfe_line_search`.

    Attributes
    ----------
    alpha : float
        The accepted step (``0.0`` when no step satisfying sufficient decrease was found).
    fun : float
        The loss at ``w + alpha p``.
    grad : numpy.ndarray
        The gradient at ``w + alpha p``.
    nfev : int
        Calls of ``fun`` (each gives a loss and a gradient).
    success : bool
        Whether ``alpha`` satisfies both strong Wolfe conditions.
    message : str
        Why the search stopped.
    """

    alpha: float
    fun: float
    grad: np.ndarray
    nfev: int
    success: bool
    message: str


def check_wolfe_constants(c1: Any, c2: Any) -> tuple[float, float]:
    """``0 < c1 < c2 < 1``, else ``ValueError`` naming the constant at fault."""
    c1 = check_in_range(c1, "c1", 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    c2 = check_in_range(c2, "c2", 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    if not c1 < c2:
        raise ValueError(f"c2 must be > c1 (0 < c1 < c2 < 1); got c1={c1:g}, c2={c2:g}")
    return c1, c2


def wolfe_line_search(
    fun: Callable[[np.ndarray], tuple[Any, Any]],
    w: Any,
    p: Any,
    *,
    alpha0: float = 1.0,
    c1: float = 1e-4,
    c2: float = 0.9,
    max_evals: int = 30,
) -> LineSearchResult:
    """A step ``α`` along ``p`` from ``w`` satisfying the strong Wolfe conditions.

    ``φ(α) = E(w + α p)`` must satisfy ``φ(α) ≤ φ(0) + c₁ α φ'(0)`` and
    ``|φ'(α)| ≤ c₂ |φ'(0)|``; the algorithm (bracketing, then zoom by safeguarded cubic
    interpolation) is described in :mod:`ebp.second_order.line_search`.  This is the search
    :func:`ebp.second_order.minimize` uses for CG (eqs 41–43), BFGS (eq 44) and damped Newton.

    Parameters
    ----------
    fun
        ``fun(w) -> (loss, gradient)``, as for :func:`ebp.second_order.minimize`.
    w
        The start, a finite 1-D vector.
    p
        The direction, the shape of ``w``; must go downhill, ``∇E(w)ᵀp < 0``.
    alpha0
        The first step tried.
    c1, c2
        The constants, ``0 < c1 < c2 < 1``.
    max_evals
        The most calls of ``fun`` after the one at ``w``.

    Returns
    -------
    LineSearchResult
        ``nfev`` includes the call at ``w``.
    """
    if not callable(fun):
        raise TypeError(f"fun must be callable; got {type(fun).__name__}")
    w = as_float_array(w, "w", ndim=1)
    if w.size == 0:
        raise ValueError("w must have at least one entry; got shape (0,)")
    p = as_float_array(p, "p", shape=w.shape)
    alpha0 = check_positive(alpha0, "alpha0")
    c1, c2 = check_wolfe_constants(c1, c2)
    max_evals = check_int(max_evals, "max_evals", min_value=1)
    problem = Problem(w.shape[0], fun)
    start = problem.evaluate(w)
    if not start.finite:
        raise ValueError("fun must return a finite loss and gradient at w")
    slope = float(start.g @ p)
    if not slope < 0:
        raise ValueError(f"p must be a descent direction, ∇E(w)ᵀp < 0; got {slope:g}")
    alpha, point, fail, _ = search(problem.trial(w, p), start.f, slope, alpha0, c1, c2, max_evals)
    point = start if point is None else point
    message = fail or "the strong Wolfe conditions hold"
    return LineSearchResult(alpha, point.f, point.g, problem.nfev, fail is None, message)


MAX_EVALS = 30
"""The most trials of one line search inside :func:`ebp.second_order.minimize`."""


def line_step(
    problem: Problem,
    point: Point,
    p: np.ndarray,
    slope: float,
    alpha0: float,
    c1: float,
    c2: float,
) -> tuple[float, Step] | str:
    """One strong Wolfe step of a method from ``point`` along ``p`` (``slope = ∇Eᵀp < 0``):
    ``(α, Step)``, or why the search failed (the run then stops where it is)."""
    trial = problem.trial(point.w, p)
    alpha, new, fail, _ = search(trial, point.f, slope, alpha0, c1, c2, MAX_EVALS)
    if fail is not None:
        return (
            f"the line search failed ({fail}) at loss {point.f:.6g}, gradient norm "
            f"{np.linalg.norm(point.g):.3g}: no further progress at this precision"
        )
    return alpha, Step(new)
