"""The objective as the methods see it: user functions wrapped, checked and counted.

:class:`Problem` calls the user's ``fun``, ``hess``, ``hessp`` and ``residuals`` on copies of
``w``, checks what they return (shapes, then finiteness), and counts every call, so that the
methods can be compared by cost and not only by iterations:

``nfev``
    objective values: calls of ``fun``, plus calls of ``residuals`` (each gives ``½‖r‖²``);
``ngev``
    gradients: calls of ``fun`` (each returns one); the least-squares gradient ``Jᵀr`` is paid
    for by the Jacobian, counted in ``njev``;
``nhev``
    Hessian information: calls of ``hess`` (whole matrices) *or* of ``hessp`` (products ``H v``);
    a run uses one of the two, and :attr:`Problem.hess_kind` says which;
``njev``
    Jacobians: calls of ``residuals`` (each returns ``(r, J)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ebp._validate import as_float_array, describe

__all__ = ["Point", "Problem", "Step"]

Fun = Callable[[np.ndarray], tuple[Any, Any]]
HessFn = Callable[[np.ndarray], Any]
HesspFn = Callable[[np.ndarray, np.ndarray], Any]
ResidualsFn = Callable[[np.ndarray], tuple[Any, Any]]


@dataclass(frozen=True, eq=False)
class Point:
    """The objective at ``w``: loss ``f``, gradient ``g`` and, for least squares, ``r`` and
    ``J`` (``f = ½‖r‖²``, ``g = Jᵀr``)."""

    w: np.ndarray
    f: float
    g: np.ndarray
    r: np.ndarray | None = None
    J: np.ndarray | None = None

    @property
    def finite(self) -> bool:
        """Whether the loss and the gradient are finite."""
        return bool(np.isfinite(self.f) and np.all(np.isfinite(self.g)))


@dataclass(frozen=True, eq=False)
class Step:
    """What one iteration of a method produced: the new point, and whether ``w`` moved (a
    rejected Levenberg–Marquardt trial leaves it where it was)."""

    point: Point
    moved: bool = True


def _pair(out: Any, what: str, names: str) -> tuple[Any, Any]:
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise ValueError(f"{what} must return a pair {names}; got {describe(out)}")
    return out[0], out[1]


def _array(x: Any, what: str, shape: tuple[int | None, ...]) -> np.ndarray:
    """``x`` as a float64 array of ``shape`` (NaN allowed: the caller decides what it means)."""
    try:
        arr = as_float_array(x, what, finite=False)
    except TypeError as err:
        raise ValueError(str(err)) from None
    ok = arr.ndim == len(shape) and all(
        s is None or s == a for s, a in zip(shape, arr.shape, strict=False)
    )
    if not ok:
        want = "(" + ", ".join("m" if s is None else str(s) for s in shape)
        want += ",)" if len(shape) == 1 else ")"
        raise ValueError(f"{what} must have shape {want}; got shape {arr.shape}")
    return arr


def _scalar(x: Any, what: str) -> float:
    try:
        arr = as_float_array(x, what, finite=False)
    except TypeError as err:
        raise ValueError(str(err)) from None
    if arr.size != 1:
        raise ValueError(f"{what} must be a real scalar; got shape {arr.shape}")
    return float(arr.reshape(-1)[0])


class Problem:
    """The user's functions of a flat float64 vector of size ``n``, checked and counted.

    Exactly one of ``fun`` and ``residuals`` defines the loss: with ``residuals`` the loss is
    ``½‖r‖²`` and its gradient ``Jᵀr`` (``fun``, if also given, is checked once against them
    by :func:`ebp.second_order.minimize` and not used afterwards).
    """

    def __init__(
        self,
        n: int,
        fun: Fun | None = None,
        *,
        hess: HessFn | None = None,
        hessp: HesspFn | None = None,
        residuals: ResidualsFn | None = None,
    ) -> None:
        self.n = n
        self.fun = fun
        self.hess_fn = hess
        self.hessp_fn = hessp
        self.residuals_fn = residuals
        self.nfev = self.ngev = self.nhev = self.njev = 0
        self.m: int | None = None  # the number of residuals, fixed by the first call

    @property
    def hess_kind(self) -> str | None:
        """``"matrix"`` (``hess``), ``"product"`` (``hessp``) or ``None``."""
        if self.hess_fn is not None:
            return "matrix"
        return "product" if self.hessp_fn is not None else None

    def evaluate(self, w: np.ndarray) -> Point:
        """The loss and gradient at ``w`` (from ``residuals`` when given, else ``fun``)."""
        if self.residuals_fn is not None:
            r, J = self.residuals(w)
            with np.errstate(over="ignore", invalid="ignore"):
                return Point(w, float(0.5 * (r @ r)), J.T @ r, r, J)
        f, g = self.value_and_grad(w)
        return Point(w, f, g)

    def trial(self, w: np.ndarray, p: np.ndarray) -> Callable[[float], tuple[float, float, Point]]:
        """``α ↦ (φ(α), φ'(α), point)`` along ``p`` from ``w``, for the line search (a
        non-finite gradient gives a NaN slope)."""

        def phi(alpha: float) -> tuple[float, float, Point]:
            point = self.evaluate(w + alpha * p)
            slope = float(point.g @ p) if point.finite else math.nan
            return point.f, slope, point

        return phi

    def value_and_grad(self, w: np.ndarray) -> tuple[float, np.ndarray]:
        """``fun(w)``, checked: a real scalar and a gradient of shape ``(n,)``."""
        out = self.fun(w.copy())
        self.nfev += 1
        self.ngev += 1
        f, g = _pair(out, "fun", "(loss, gradient)")
        f = _scalar(f, "the loss returned by fun")
        g = _array(g, "the gradient returned by fun", (self.n,))
        return f, g

    def residuals(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``residuals(w)``, checked: ``r`` of shape ``(m,)`` and ``J`` of shape ``(m, n)``,
        ``m`` the same at every call."""
        out = self.residuals_fn(w.copy())
        self.nfev += 1
        self.njev += 1
        r, J = _pair(out, "residuals", "(r, J)")
        r = _array(r, "the residuals r returned by residuals", (self.m,))
        if r.size == 0:
            raise ValueError("the residuals r returned by residuals must not be empty")
        self.m = r.shape[0]
        J = _array(J, "the Jacobian J returned by residuals", (self.m, self.n))
        return r, J

    def hess(self, w: np.ndarray) -> np.ndarray:
        """``hess(w)``, checked: an ``(n, n)`` matrix."""
        H = self.hess_fn(w.copy())
        self.nhev += 1
        return _array(H, "the Hessian returned by hess", (self.n, self.n))

    def hessp(self, w: np.ndarray, v: np.ndarray) -> np.ndarray:
        """``hessp(w, v)``, checked: a vector of shape ``(n,)``."""
        Hv = self.hessp_fn(w.copy(), v.copy())
        self.nhev += 1
        return _array(Hv, "the product returned by hessp", (self.n,))
