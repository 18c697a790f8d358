"""Gradient descent on a quadratic, exactly: the theory of paper §5.1–5.3.

On ``E(w) = ½ (w − w*)ᵀ H (w − w*)`` with a symmetric ``H`` the gradient is ``H (w − w*)``, and
gradient descent ``w ← w − η H (w − w*)`` moves the error ``e = w − w*`` by ``e ← (I − η H) e``.
In the eigenbasis of ``H`` (eigenvalues ``λ_i``) the directions decouple: each component of the
error is multiplied by ``1 − η λ_i`` per step.  Everything in §5 follows:

- one dimension: ``η_opt = 1/λ`` reaches the minimum in one step (eq 24), the iteration converges
  iff ``η < η_max = 2 η_opt`` (eq 26), and the four regimes of Fig 6 are the sign and size of
  ``1 − η λ``;
- many dimensions: the iteration converges iff ``η < 2/λ_max`` (eq 38); ``η = 1/λ_max`` (eq 39)
  then leaves the slowest direction contracting by ``1 − λ_min/λ_max``, so the time to converge
  grows with the condition number ``κ = λ_max/λ_min``;
- the LMS cost of a linear unit (eq 28) is such a quadratic, with ``H`` the second-moment matrix
  of the inputs (eq 29), so the input statistics set the spectrum (§5.3).

The functions:

- the iteration: :func:`descend` (plain or heavy-ball momentum), :func:`loss`;
- the spectrum: :func:`eigen`, :func:`condition_number`, :func:`eta_opt`, :func:`eta_max`,
  :func:`best_eta`;
- the rates: :func:`spectral_radius` (per eigenvalue, vectorised), :func:`contraction` (per
  eigendirection of ``H``), :func:`rate` (the worst direction), :func:`momentum_converges` (the
  region of the ``(η, μ)`` plane), :func:`best_momentum` (Polyak's optimum);
- the number of steps: :func:`steps_to_tolerance` (predicted from the rate) and
  :func:`measured_steps` (counted on iterates);
- the LMS problem: :func:`lms_hessian` (eq 29), :func:`lms_minimum`.

Conventions: float64 NumPy throughout; eigenvalues ascending (as :func:`numpy.linalg.eigvalsh`);
a scalar ``H`` is the 1-D case ``n = 1``; ``w_star`` defaults to the origin; momentum is the heavy
ball ``w_{t+1} = w_t − η ∇E(w_t) + μ (w_t − w_{t−1})`` with ``w_{−1} = w_0``, which is exactly
``torch.optim.SGD(lr=η, momentum=μ)`` (no dampening, no Nesterov).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ebp._validate import as_float_array, check_in_range, check_int, check_positive, real_array

__all__ = [
    "HeavyBall",
    "best_eta",
    "best_momentum",
    "condition_number",
    "contraction",
    "descend",
    "eigen",
    "eta_max",
    "eta_opt",
    "lms_hessian",
    "lms_minimum",
    "loss",
    "measured_steps",
    "momentum_converges",
    "rate",
    "spectral_radius",
    "steps_to_tolerance",
]

SYMMETRY_RTOL = 1e-10
"""``H`` counts as symmetric when ``max|H − Hᵀ| ≤ SYMMETRY_RTOL · max|H|`` (then it is
symmetrised); rounding in ``Q Λ Qᵀ`` or ``XᵀX/P`` is far below this."""

MAX_ENTRIES = 10**8
"""The most numbers :func:`descend` returns (800 MB of float64)."""


class HeavyBall(NamedTuple):
    """Polyak's optimal heavy-ball parameters on a quadratic, and the rate they give."""

    eta: float
    """The learning rate ``η* = 4 / (√λ_max + √λ_min)²``."""
    momentum: float
    """The momentum ``μ* = ((√κ − 1)/(√κ + 1))²``."""
    rate: float
    """The factor by which every eigendirection contracts per step, ``(√κ − 1)/(√κ + 1)``."""


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


def _hessian(H: Any) -> np.ndarray:
    """``H`` as a symmetric float64 ``(n, n)`` matrix (a scalar is ``(1, 1)``)."""
    arr = real_array(H, "H").astype(np.float64)
    if arr.ndim == 0:
        arr = arr.reshape(1, 1)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise ValueError(
            f"H must be a scalar or a square (n, n) matrix with n >= 1; got shape {arr.shape}"
        )
    arr = as_float_array(arr, "H")  # finite
    asym = float(np.max(np.abs(arr - arr.T)))
    if asym > SYMMETRY_RTOL * float(np.max(np.abs(arr))):
        raise ValueError(
            f"H must be symmetric (a Hessian); max |H - H.T| = {asym:.3g} "
            f"against max |H| = {float(np.max(np.abs(arr))):.3g}"
        )
    return 0.5 * (arr + arr.T)


def _positive_definite(H: Any) -> np.ndarray:
    """The eigenvalues of ``H`` (ascending), after checking that it is positive definite.

    An eigenvalue ``≤ n ε λ_max`` counts as zero: rounding cannot tell it from a singular ``H``
    (and one below the smallest normal float64, whose inverse overflows, as well).
    """
    lam = np.linalg.eigvalsh(_hessian(H))
    floor = max(lam.size * np.finfo(np.float64).eps * lam[-1], np.finfo(np.float64).tiny)
    if lam[0] <= floor:
        raise ValueError(
            f"H must be positive definite; its eigenvalues range from {lam[0]:.6g} to "
            f"{lam[-1]:.6g} (the smallest must be > 0, not lost in rounding nor subnormal)"
        )
    return lam


def _point(x: Any, name: str, n: int, match: str = "H") -> np.ndarray:
    """``x`` as a finite float64 vector of length ``n`` (a scalar when ``n = 1``)."""
    arr = as_float_array(x, name)
    if arr.ndim == 0 and n == 1:
        arr = arr.reshape(1)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) to match {match}; got shape {arr.shape}")
    return arr


def _w_star(w_star: Any, n: int, match: str = "H") -> np.ndarray:
    return np.zeros(n) if w_star is None else _point(w_star, "w_star", n, match)


def _momentum(momentum: Any) -> float:
    return check_in_range(momentum, "momentum", 0.0, 1.0, high_inclusive=False)


def _tol(tol: Any) -> float:
    return check_in_range(tol, "tol", 0.0, 1.0, low_inclusive=False, high_inclusive=False)


# ---------------------------------------------------------------------------------------------
# The iteration
# ---------------------------------------------------------------------------------------------


def descend(
    H: Any,
    w0: Any,
    eta: float,
    steps: int,
    *,
    w_star: Any = None,
    momentum: float = 0.0,
) -> np.ndarray:
    """The iterates of gradient descent on ``E(w) = ½ (w − w*)ᵀ H (w − w*)``.

    ``w_{t+1} = w_t − η H (w_t − w*) + μ (w_t − w_{t−1})`` with ``w_{−1} = w_0`` (heavy-ball
    momentum ``μ``; ``μ = 0`` is plain gradient descent).  Computed step by step, not from the
    closed form, so that the two can be compared.

    A divergent run (``η > 2/λ_max`` without momentum, eq 38; outside
    :func:`momentum_converges` with it) is returned as it is: its error grows geometrically,
    by :func:`rate` per step, and the caller chooses ``steps`` to show as much of it as wanted.
    Only when an iterate overflows to ``inf`` does this raise.

    Parameters
    ----------
    H
        Symmetric ``(n, n)`` Hessian, or a scalar for the 1-D case.  Not required to be
        positive definite (a saddle diverges along its negative directions).
    w0
        Starting point, shape ``(n,)`` (a scalar when ``n = 1``).
    eta
        Learning rate ``η > 0``.
    steps
        Number of updates, ``≥ 0``.
    w_star
        The minimum ``w*``, shape ``(n,)``; default the origin.
    momentum
        Heavy-ball momentum ``μ``, ``0 ≤ μ < 1``.

    Returns
    -------
    numpy.ndarray
        ``(steps + 1, n)``: row ``t`` is ``w_t``, row 0 is ``w0``.

    Raises
    ------
    ValueError
        For bad arguments, and when an iterate overflows (``"diverged to inf after k steps"``).

    Examples
    --------
    With ``η = 1/λ_max`` the steep direction is solved in one step, and the flat one shrinks by
    ``1 − η λ_min = 0.9`` per step:

    >>> import numpy as np
    >>> from ebp.quadratic import descend
    >>> descend(np.diag([1.0, 10.0]), [1.0, 1.0], eta=0.1, steps=3)
    array([[1.   , 1.   ],
           [0.9  , 0.   ],
           [0.81 , 0.   ],
           [0.729, 0.   ]])
    """
    H = _hessian(H)
    n = H.shape[0]
    w0 = _point(w0, "w0", n)
    eta = check_positive(eta, "eta")
    steps = check_int(steps, "steps", min_value=0)
    w_star = _w_star(w_star, n)
    mu = _momentum(momentum)
    if (steps + 1) * n > MAX_ENTRIES:
        raise ValueError(
            f"steps = {steps} is too many: the result would hold {(steps + 1) * n} numbers "
            f"(at most {MAX_ENTRIES})"
        )
    path = np.empty((steps + 1, n))
    path[0] = w0
    prev = w = w0
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            nxt = w - eta * (H @ (w - w_star))
            if mu:
                nxt = nxt + mu * (w - prev)
            if not np.all(np.isfinite(nxt)):
                raise _diverged(H, eta, mu, t + 1)
            path[t + 1] = nxt
            prev, w = w, nxt
    return path


def _diverged(H: np.ndarray, eta: float, mu: float, steps: int) -> ValueError:
    """The error :func:`descend` raises when its iterates overflow after ``steps`` steps."""
    try:
        growth = f"the error grows by {rate(H, eta, mu):.4g} per step"
    except ValueError:  # eta * lambda itself overflows
        growth = "eta * lambda_max overflows"
    return ValueError(
        f"descend diverged to inf after {steps} steps: with eta = {eta:g} and momentum = "
        f"{mu:g}, {growth}; lower eta (below eta_max = 2/lambda_max for plain descent) or steps"
    )


def loss(H: Any, w: Any, w_star: Any = None) -> np.ndarray | float:
    """``E(w) = ½ (w − w*)ᵀ H (w − w*)`` at one point or a grid of points.

    Parameters
    ----------
    H
        Symmetric ``(n, n)`` matrix, or a scalar.
    w
        Points of shape ``(..., n)``, e.g. ``(rows, cols, 2)`` for a contour plot.  When
        ``n = 1`` an array of any shape whose last axis is not 1 is read as one point per
        entry.
    w_star
        The minimum, shape ``(n,)``; default the origin.

    Returns
    -------
    numpy.ndarray or float
        ``E`` of shape ``(...)`` (a float for a single point).
    """
    H = _hessian(H)
    n = H.shape[0]
    w = as_float_array(w, "w")
    if n == 1 and (w.ndim == 0 or w.shape[-1] != 1):
        w = w[..., None]
    if w.shape[-1] != n:
        raise ValueError(f"w must have shape (..., {n}) to match H; got shape {w.shape}")
    e = w - _w_star(w_star, n)
    with np.errstate(over="ignore", invalid="ignore"):
        E = 0.5 * np.einsum("...i,ij,...j->...", e, H, e)
    if not np.all(np.isfinite(E)):
        raise ValueError("w is too far from w_star: E overflows float64")
    return float(E) if E.ndim == 0 else E


# ---------------------------------------------------------------------------------------------
# The spectrum and the learning rates
# ---------------------------------------------------------------------------------------------


def eigen(H: Any) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and unit eigenvectors of the symmetric ``H``.

    Each eigenvector's sign is fixed so that its largest component (the first, on a tie) is
    positive, so that figures drawn from it do not depend on the LAPACK build.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``lam`` of shape ``(n,)`` and ``Q`` of shape ``(n, n)``, ``H = Q diag(lam) Qᵀ``, the
        eigenvector of ``lam[i]`` in column ``Q[:, i]``.
    """
    lam, Q = np.linalg.eigh(_hessian(H))
    biggest = np.argmax(np.abs(Q), axis=0)
    signs = np.sign(Q[biggest, np.arange(Q.shape[1])])
    return lam, Q * np.where(signs == 0, 1.0, signs)


def condition_number(H: Any) -> float:
    """``κ = λ_max / λ_min`` of a positive-definite ``H``: the time gradient descent needs grows
    with it (§5.1)."""
    lam = _positive_definite(H)
    return float(lam[-1] / lam[0])


def eta_opt(H: Any) -> float:
    """``1/λ_max`` of a positive-definite ``H``.

    In 1-D it is the optimal rate ``η_opt = (∂²E/∂w²)⁻¹`` that reaches the minimum in one step
    (eq 24); in n-D it is the paper's choice ``η = 1/λ_max`` (eq 39), optimal for the steepest
    direction, which leaves the others contracting by ``1 − λ_i/λ_max`` per step (see
    :func:`best_eta` for the rate that minimises the worst direction's factor).

    Examples
    --------
    >>> import numpy as np
    >>> from ebp.quadratic import eta_opt
    >>> eta_opt(np.diag([1.0, 10.0]))
    0.1
    """
    return float(1.0 / _positive_definite(H)[-1])


def eta_max(H: Any) -> float:
    """``2/λ_max`` of a positive-definite ``H``: gradient descent converges iff ``η`` is below
    it (eq 38; in 1-D ``η_max = 2 η_opt``, eq 26)."""
    return float(2.0 / _positive_definite(H)[-1])


def best_eta(H: Any) -> float:
    """``2/(λ_min + λ_max)``: the rate that minimises :func:`rate` for plain gradient descent.

    The steepest and the flattest directions then contract equally, by ``(κ − 1)/(κ + 1)``
    per step.  ``H`` must be positive definite.
    """
    lam = _positive_definite(H)
    return float(2.0 / (lam[0] + lam[-1]))


# ---------------------------------------------------------------------------------------------
# Contraction rates
# ---------------------------------------------------------------------------------------------


def _broadcast(lam: Any, eta: Any, momentum: Any) -> tuple[np.ndarray, ...]:
    lam = as_float_array(lam, "lam")
    eta = as_float_array(eta, "eta")
    momentum = as_float_array(momentum, "momentum")
    try:
        return np.broadcast_arrays(lam, eta, momentum)
    except ValueError:
        raise ValueError(
            f"lam, eta and momentum must broadcast together; got shapes {lam.shape}, "
            f"{eta.shape} and {momentum.shape}"
        ) from None


def spectral_radius(lam: Any, eta: Any, momentum: Any = 0.0) -> np.ndarray | float:
    """The factor by which one eigendirection's error shrinks per step (asymptotically).

    The error along an eigenvector of eigenvalue ``λ`` obeys ``e_{t+1} = (1 + μ − ηλ) e_t −
    μ e_{t−1}``: the iteration matrix ``[[1 + μ − ηλ, −μ], [1, 0]]``, whose spectral radius is
    returned, in closed form.  With ``b = 1 + μ − ηλ`` its eigenvalues are the roots of
    ``z² − b z + μ``: for ``|b| ≥ 2√μ`` they are real and the radius is
    ``(|b| + √(b² − 4μ))/2``; otherwise they are complex, of modulus ``√μ``.  Without momentum
    this is ``|1 − ηλ|``.

    At a double root (``|b| = 2√μ``, e.g. the extreme eigenvalues at :func:`best_momentum`)
    the root itself moves by ``√δ`` when ``b`` moves by ``δ``, so rounding shows as an error
    of about ``1e-8``.

    Parameters
    ----------
    lam
        Eigenvalue(s) ``λ`` (any real numbers), an array.
    eta
        Learning rate(s) ``η > 0``, an array that broadcasts with ``lam``.
    momentum
        Momentum(s) ``0 ≤ μ < 1``, an array that broadcasts with the others.

    Returns
    -------
    numpy.ndarray or float
        The broadcast shape of the arguments (a float if all are scalars).
    """
    lam, eta, mu = _broadcast(lam, eta, momentum)
    if np.any(eta <= 0):
        raise ValueError(f"eta must be > 0; got min {float(eta.min()):g}")
    if np.any(mu < 0) or np.any(mu >= 1):
        raise ValueError(
            f"momentum must be in [0, 1); got values from {float(mu.min()):g} to "
            f"{float(mu.max()):g}"
        )
    with np.errstate(over="ignore", invalid="ignore"):
        b = np.abs(1.0 + mu - eta * lam)
        s2 = 2.0 * np.sqrt(mu)
        real = b >= s2
        # √(b² − 4μ) as √(b − 2√μ)·√(b + 2√μ): no overflow, and accurate near the double root
        gap = np.sqrt(np.where(real, b - s2, 0.0)) * np.sqrt(b + s2)
        radius = np.where(real, 0.5 * b + 0.5 * gap, 0.5 * s2)
        radius = np.where(mu == 0, b, radius)  # exactly |1 − ηλ| without momentum
    if not np.all(np.isfinite(radius)):
        raise ValueError("eta * lam overflows float64: eta or lam is far too large")
    return float(radius) if radius.ndim == 0 else radius


def contraction(H: Any, eta: float, momentum: float = 0.0) -> np.ndarray:
    """The per-step contraction factor of each eigendirection of ``H``.

    ``|1 − η λ_i|`` without momentum, the spectral radius of the 2×2 iteration matrix with it
    (:func:`spectral_radius`), for the eigenvalues ``λ_i`` in ascending order.

    Parameters
    ----------
    H
        Symmetric ``(n, n)`` matrix, or a scalar.
    eta
        Learning rate ``η > 0``.
    momentum
        Heavy-ball momentum ``0 ≤ μ < 1``.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` factors, one per eigenvalue of ``H`` in ascending order; a factor ≥ 1 means that
        direction does not converge.
    """
    lam = np.linalg.eigvalsh(_hessian(H))
    eta = check_positive(eta, "eta")
    mu = _momentum(momentum)
    return np.asarray(spectral_radius(lam, eta, mu)).reshape(lam.shape)


def rate(H: Any, eta: float, momentum: float = 0.0) -> float:
    """The asymptotic factor by which the error shrinks per step: the largest
    :func:`contraction`.  The iteration converges from every start iff it is < 1; without
    momentum on a positive-definite ``H`` that is ``η < 2/λ_max`` (eq 38)."""
    return float(np.max(contraction(H, eta, momentum)))


def momentum_converges(lam: Any, eta: Any, momentum: Any) -> np.ndarray | bool:
    """Whether heavy ball converges along an eigendirection: ``0 ≤ μ < 1`` and
    ``0 < η λ < 2 (1 + μ)``.

    Vectorised over broadcasting arrays, for plotting the region of the ``(η, μ)`` plane.
    Inside ``0 ≤ μ < 1`` it is exactly ``spectral_radius(lam, eta, momentum) < 1`` (Jury's
    test on ``z² − (1 + μ − ηλ) z + μ``); outside it (``μ < 0`` or ``μ ≥ 1``) it is ``False``,
    as those are not momenta.  With ``μ = 0`` it is the plain condition ``0 < ηλ < 2`` (eq 38).

    Returns
    -------
    numpy.ndarray or bool
        Booleans of the broadcast shape (a bool if all arguments are scalars).
    """
    lam, eta, mu = _broadcast(lam, eta, momentum)
    step = eta * lam
    inside = (mu >= 0) & (mu < 1) & (step > 0) & (step < 2.0 * (1.0 + mu))
    return bool(inside) if inside.ndim == 0 else inside


def best_momentum(H: Any) -> HeavyBall:
    """Polyak's heavy-ball parameters, optimal on a quadratic with spectrum in
    ``[λ_min, λ_max]``.

    ``η* = 4 / (√λ_max + √λ_min)²`` and ``μ* = ((√κ − 1)/(√κ + 1))²`` make every eigendirection
    contract by ``√μ* = (√κ − 1)/(√κ + 1)`` per step, against ``(κ − 1)/(κ + 1)`` for the best
    plain rate (:func:`best_eta`): the number of steps grows like ``√κ`` instead of ``κ``.

    Parameters
    ----------
    H
        Positive-definite ``(n, n)`` matrix, or a scalar > 0.

    Returns
    -------
    HeavyBall
        ``(eta, momentum, rate)``.
    """
    lam = _positive_definite(H)
    a, b = math.sqrt(float(lam[-1])), math.sqrt(float(lam[0]))
    r = (a - b) / (a + b)
    return HeavyBall(eta=4.0 / (a + b) ** 2, momentum=r * r, rate=r)


# ---------------------------------------------------------------------------------------------
# Steps to a tolerance: predicted and measured
# ---------------------------------------------------------------------------------------------


def steps_to_tolerance(
    H: Any,
    eta: float,
    tol: float,
    *,
    momentum: float = 0.0,
    w0: Any = None,
    w_star: Any = None,
) -> int | float:
    """The number of steps that the asymptotic rate predicts for ``‖w_t − w*‖ ≤ tol ‖w_0 − w*‖``.

    The prediction is ``ceil(log(tol) / log(r))`` with ``r`` the :func:`rate`: the ``t`` at which
    ``r^t`` first falls to ``tol``; ``math.inf`` when ``r ≥ 1`` (no convergence), 1 when
    ``r = 0``.  What it promises:

    - without momentum ``‖e_t‖ ≤ r^t ‖e_0‖`` holds exactly, so the measured count
      (:func:`measured_steps`) is never larger (up to one step when ``log(tol)/log(r)`` is an
      integer to rounding), and it is equal for a start along the slowest eigendirection; a
      start with little of that direction gets there sooner;
    - with momentum the 2×2 iteration matrices are not normal, so the prediction is only
      asymptotic (``‖e_t‖^{1/t} → r``) and the measured count can exceed it.  At a double root
      (both extreme directions at :func:`best_momentum`) the error along that direction is
      ``c (1 + (1 − r) t) r^t``, which adds about ``ln(1 + ln(1/tol)) / (−ln r)`` steps
      (about a fifth more for ``tol = 1e-6``); complex roots close to a double one behave
      alike.

    Parameters
    ----------
    H
        Symmetric ``(n, n)`` matrix, or a scalar.
    eta
        Learning rate ``η > 0``.
    tol
        Relative tolerance, ``0 < tol < 1``.
    momentum
        Heavy-ball momentum ``0 ≤ μ < 1``.
    w0, w_star
        Optional start and minimum (``w_star`` defaults to the origin and is used only with
        ``w0``).  Then ``r`` is taken over the eigendirections in which ``w0 − w*`` has a
        non-zero component (exactly zero happens for a start on an axis of a diagonal ``H``,
        as in Fig 7; rounding makes every component non-zero otherwise), and the answer is 0
        when ``w0 = w*``.

    Returns
    -------
    int or float
        The predicted number of steps, or ``math.inf``.
    """
    H = _hessian(H)
    n = H.shape[0]
    eta = check_positive(eta, "eta")
    tol = _tol(tol)
    mu = _momentum(momentum)
    start = None if w0 is None else _point(w0, "w0", n)
    w_star = _w_star(w_star, n)
    lam, Q = np.linalg.eigh(H)
    factors = np.asarray(spectral_radius(lam, eta, mu)).reshape(lam.shape)
    if start is not None:
        present = (start - w_star) @ Q != 0
        if not np.any(present):
            return 0
        factors = factors[present]
    r = float(np.max(factors))
    if r >= 1:
        return math.inf
    if r == 0:
        return 1
    return max(1, math.ceil(math.log(tol) / math.log(r)))


def measured_steps(iterates: Any, w_star: Any, tol: float) -> int | None:
    """The first ``t`` with ``‖w_t − w*‖ ≤ tol ‖w_0 − w*‖``, counted on iterates.

    Parameters
    ----------
    iterates
        ``(T + 1, n)`` points, e.g. from :func:`descend`.
    w_star
        The minimum, shape ``(n,)`` (a scalar when ``n = 1``); ``None`` for the origin.
    tol
        Relative tolerance, ``0 < tol < 1``.

    Returns
    -------
    int or None
        The step count, or ``None`` if no iterate gets there.
    """
    path = as_float_array(iterates, "iterates", ndim=2)
    if path.shape[0] == 0 or path.shape[1] == 0:
        raise ValueError(f"iterates must hold at least one point; got shape {path.shape}")
    w_star = _w_star(w_star, path.shape[1], "iterates")
    tol = _tol(tol)
    err = np.linalg.norm(path - w_star, axis=1)
    hits = np.flatnonzero(err <= tol * err[0])
    return int(hits[0]) if hits.size else None


# ---------------------------------------------------------------------------------------------
# The LMS cost of a linear unit (eqs 28–29)
# ---------------------------------------------------------------------------------------------


def _lms_inputs(X: Any, bias: Any) -> np.ndarray:
    X = as_float_array(X, "X")
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(
            f"X must be a (P, n) matrix of P >= 1 input patterns (or a (P,) vector); "
            f"got shape {X.shape}"
        )
    if not isinstance(bias, (bool, np.bool_)):
        raise TypeError(f"bias must be True or False; got {type(bias).__name__} {bias!r}")
    return np.hstack([X, np.ones((X.shape[0], 1))]) if bias else X


def lms_hessian(X: Any, *, bias: bool = True) -> np.ndarray:
    """The Hessian of the LMS cost of a linear unit, ``H = (1/P) Σ_p x_p x_pᵀ`` (eq 29).

    The cost is ``E = (1/2P) Σ_p ‖d_p − Wᵀ x_p‖²`` (eq 28); its Hessian with respect to the
    weights of each output is the same matrix, independent of the targets ``d_p``.

    This is the *second-moment* matrix of the inputs, which equals their covariance only when
    the inputs are centred; with ``bias=True`` each ``x_p`` gets a constant input 1 appended,
    and a mean input then creates one large eigenvalue (§5.3).  The eigenvalues 0.84 and 0.036
    that the paper quotes for its Fig 10 data are those of the covariance of the two inputs,
    without the bias.

    Parameters
    ----------
    X
        ``(P, n)`` input patterns (a ``(P,)`` vector for one input).
    bias
        Append the constant input 1, making ``H`` ``(n + 1, n + 1)``, its last row and column
        those of the bias weight.

    Returns
    -------
    numpy.ndarray
        ``(n, n)`` or ``(n + 1, n + 1)`` symmetric positive semi-definite matrix.
    """
    Xa = _lms_inputs(X, bias)
    H = Xa.T @ Xa / Xa.shape[0]
    return 0.5 * (H + H.T)


def lms_minimum(X: Any, d: Any, *, bias: bool = True) -> np.ndarray:
    """The weights ``w*`` that minimise the LMS cost (eq 28) of one linear output.

    The LMS gradient is ``H w − (1/P) Σ_p d_p x_p = H (w − w*)``, so batch gradient descent on
    eq 28 is :func:`descend` with ``H = lms_hessian(X, bias=bias)`` and this ``w_star`` (the
    cost itself differs from :func:`loss` by the constant ``E(w*)``).  Computed by least
    squares, so a singular ``H`` gives the minimum of smallest norm.

    Parameters
    ----------
    X
        ``(P, n)`` input patterns (a ``(P,)`` vector for one input).
    d
        ``(P,)`` targets.
    bias
        Append the constant input 1, as in :func:`lms_hessian` (the bias weight comes last).

    Returns
    -------
    numpy.ndarray
        ``(n,)`` or ``(n + 1,)`` weights.
    """
    Xa = _lms_inputs(X, bias)
    d = as_float_array(d, "d", ndim=1)
    if d.shape[0] != Xa.shape[0]:
        raise ValueError(
            f"d must have one target per pattern, shape ({Xa.shape[0]},); got shape {d.shape}"
        )
    return np.linalg.lstsq(Xa, d, rcond=None)[0]
