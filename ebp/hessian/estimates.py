"""The paper's gradient-difference estimates of the principal eigenvalue (§9.2, eqs 63–64).

Neither needs a Hessian–vector product: both difference two gradients (eq 59), the first on
the full data, the second on one pattern at a time while patterns are presented.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ebp._validate import check_choice, check_in_range, check_instance, check_int, check_positive
from ebp.hessian.eigen import STOPS, EigenResult, _nonzero_start
from ebp.hessian.operator import HessianOperator

__all__ = [
    "FIG24_GAMMA_STEPS",
    "OnlineEstimate",
    "gamma_schedule",
    "online_eigenvalue_estimate",
    "taylor_estimate",
]

FIG24_GAMMA_STEPS: tuple[tuple[int, float], ...] = ((0, 0.1), (20, 0.03), (80, 0.01), (200, 0.003))
"""Fig 24's γ schedule, pairs ``(from presentation, γ)``: 0.1, then 0.03 from 20, 0.01 from 80
and 0.003 from 200."""


def gamma_schedule(t: int, steps: Sequence[tuple[int, float]] = FIG24_GAMMA_STEPS) -> float:
    """The γ in force at presentation ``t`` (0-based) of a piecewise-constant schedule.

    ``steps`` lists ``(first presentation, γ)`` pairs in increasing order, the first at 0;
    the default is Fig 24's.
    """
    t = check_int(t, "t", min_value=0)
    gamma = steps[0][1]
    for start, g in steps:
        if t >= start:
            gamma = g
    return float(gamma)


def _default_alpha(op: HessianOperator, w: Tensor) -> float:
    return math.sqrt(torch.finfo(op.dtype).eps) * (1.0 + float(w.norm()))


def _start(op: HessianOperator, v0: Any, seed: int) -> Tensor:
    v = _nonzero_start(op, v0, seed)
    return v / v.norm()


def taylor_estimate(
    op: HessianOperator,
    *,
    alpha: float | None = None,
    tol: float = 1e-6,
    max_gradients: int = 500,
    stop: str = "residual",
    v0: Any = None,
    seed: int = 0,
) -> EigenResult:
    """The paper's eq 63: ``Ψ ← (1/α)[∇E(w + α Ψ/‖Ψ‖) − ∇E(w)]``; ``‖Ψ‖ → |λ_max|``.

    The power method (eq 60) with each product replaced by a difference of full-data
    gradients (eq 59).  It finds the eigenvalue largest in magnitude.

    Parameters
    ----------
    op
        A :class:`~ebp.hessian.HessianOperator` (its gradients are used, not its products).
    alpha
        The difference step; default ``√ε (1 + ‖w‖)``.
    tol, stop
        Stop when ``‖Ψ − (Ψ̂·Ψ) Ψ̂‖ ≤ tol ‖Ψ‖`` (``"residual"``) or when ``‖Ψ‖`` changes by at
        most ``tol ‖Ψ‖`` (``"change"``).
    max_gradients
        Budget of gradient evaluations (one per iteration, plus one for ``∇E(w)``).
    v0, seed
        Start direction, or the seed of a random one.

    Returns
    -------
    EigenResult
        ``value`` is ``‖Ψ‖`` (eq 63's estimate, without sign), ``n_products`` counts gradient
        evaluations, ``history`` holds ``‖Ψ‖`` after each iteration.
    """
    check_instance(op, HessianOperator, "op")
    tol = check_positive(tol, "tol")
    max_gradients = check_int(max_gradients, "max_gradients", min_value=2)
    stop = check_choice(stop, "stop", STOPS)
    w = op.params
    alpha = _default_alpha(op, w) if alpha is None else check_positive(alpha, "alpha")
    psi_hat = _start(op, v0, seed)
    g0 = op.gradient(w)
    n_grad = 1
    history: list[float] = []
    value, residual, converged, prev = math.nan, math.nan, False, math.nan
    while n_grad < max_gradients:
        psi = (op.gradient(w + alpha * psi_hat) - g0) / alpha
        n_grad += 1
        value = float(psi.norm())
        residual = float((psi - torch.dot(psi_hat, psi) * psi_hat).norm())
        history.append(value)
        if stop == "residual":
            converged = residual <= tol * value
        else:
            converged = abs(value - prev) <= tol * value
        if converged or value == 0:
            break
        psi_hat, prev = psi / value, value
    return EigenResult(value, psi_hat, converged, n_grad, residual, np.asarray(history))


@dataclass
class OnlineEstimate:
    """The online estimate of eq 64, presentation by presentation.

    Attributes
    ----------
    norms : numpy.ndarray
        ``‖Ψ‖`` after each presentation.
    gammas : numpy.ndarray
        The γ used at each presentation.
    patterns : numpy.ndarray
        Which pattern was presented.
    corrected : bool
        Whether the gradient difference carried the factor γ (see
        :func:`online_eigenvalue_estimate`).
    n_gradients : int
        Gradient evaluations used.
    """

    norms: np.ndarray
    gammas: np.ndarray
    patterns: np.ndarray
    corrected: bool
    n_gradients: int

    @property
    def estimates(self) -> np.ndarray:
        """The eigenvalue estimate after each presentation, ``‖Ψ‖`` with the correction, and
        ``γ‖Ψ‖`` for the rule as printed (whose ``‖Ψ‖`` settles near ``λ/γ``)."""
        return self.norms if self.corrected else self.gammas * self.norms

    @property
    def final(self) -> float:
        """The last estimate."""
        return float(self.estimates[-1])


def online_eigenvalue_estimate(
    op: HessianOperator,
    *,
    n_presentations: int = 300,
    gamma: str | float | Callable[[int], float] = "fig24",
    alpha: float | None = None,
    corrected: bool = True,
    v0: Any = None,
    seed: int = 0,
) -> OnlineEstimate:
    """The paper's online estimate, eq 64, one pattern ``p`` per presentation:

    ``Ψ ← (1 − γ) Ψ + γ (1/α)[∇E^p(w + α Ψ/‖Ψ‖) − ∇E^p(w)]``.

    As printed, eq 64 has no factor γ on the second term; then at a fixed point
    ``γ Ψ = H Ψ̂``, so ``‖Ψ‖`` settles at ``λ/γ`` rather than ``λ``.  With ``corrected=True``
    (default) the term carries γ and ``‖Ψ‖ → λ``: a running average of per-pattern power
    steps.  ``corrected=False`` runs the rule as printed.

    Parameters
    ----------
    op
        A :class:`~ebp.hessian.HessianOperator` built from a model and data; its patterns
        are presented in a new seeded random order each pass.
    n_presentations
        How many patterns to present.
    gamma
        ``"fig24"`` (default): the schedule of Fig 24
        (:data:`~ebp.hessian.estimates.FIG24_GAMMA_STEPS`); a constant in (0, 1]; or a function
        of the presentation index ``t`` (0-based).
    alpha
        The difference step; default ``√ε (1 + ‖w‖)``.
    corrected
        See above.
    v0, seed
        Start direction (default random), and the seed of it and of the presentation order.
    """
    check_instance(op, HessianOperator, "op")
    op._require_model("online_eigenvalue_estimate")
    n_presentations = check_int(n_presentations, "n_presentations", min_value=1)
    if not isinstance(corrected, bool):
        raise TypeError(f"corrected must be a bool; got {type(corrected).__name__}")
    if isinstance(gamma, str):
        check_choice(gamma, "gamma", ("fig24",))
        gamma_at: Callable[[int], float] = gamma_schedule
    elif callable(gamma):
        gamma_at = gamma
    else:
        g = check_in_range(gamma, "gamma", 0.0, 1.0, low_inclusive=False)

        def gamma_at(t: int) -> float:
            return g

    seed = check_int(seed, "seed", min_value=0)
    rng = np.random.default_rng(seed)
    w = op.params
    alpha = _default_alpha(op, w) if alpha is None else check_positive(alpha, "alpha")
    psi = _start(op, v0, seed)
    P = op.n_patterns
    base: dict[int, Tensor] = {}
    order = np.empty(0, dtype=np.int64)
    norms = np.empty(n_presentations)
    gammas = np.empty(n_presentations)
    patterns = np.empty(n_presentations, dtype=np.int64)
    n_grad = 0
    for t in range(n_presentations):
        if t % P == 0:
            order = rng.permutation(P)
        p = int(order[t % P])
        g = check_in_range(gamma_at(t), f"gamma({t})", 0.0, 1.0, low_inclusive=False)
        if p not in base:
            base[p] = op.pattern_gradient(p, w)
            n_grad += 1
        diff = (op.pattern_gradient(p, w + alpha * psi / psi.norm()) - base[p]) / alpha
        n_grad += 1
        psi = (1 - g) * psi + (g * diff if corrected else diff)
        norms[t], gammas[t], patterns[t] = float(psi.norm()), g, p
        if float(psi.norm()) == 0:
            raise ValueError(
                f"Ψ became zero at presentation {t}: the pattern gradients do not change "
                "along it (is the loss flat in every direction?)"
            )
    return OnlineEstimate(norms, gammas, patterns, corrected, n_grad)
