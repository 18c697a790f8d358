"""``minimize``: one ``scipy.optimize.minimize``-like entry point to the methods of §6."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ebp._validate import as_float_array, check_choice, check_in_range, check_int, check_positive
from ebp.second_order.driver import Result, run
from ebp.second_order.gradient_methods import BFGS, ConjugateGradient
from ebp.second_order.least_squares import GaussNewton, LevenbergMarquardt
from ebp.second_order.line_search import check_wolfe_constants
from ebp.second_order.newton import Newton
from ebp.second_order.problem import Fun, HessFn, HesspFn, Point, Problem, ResidualsFn

__all__ = ["LEAST_SQUARES_METHODS", "METHODS", "minimize"]

METHODS: tuple[str, ...] = (
    "newton",
    "cg-fr",
    "cg-pr",
    "bfgs",
    "gauss-newton",
    "levenberg-marquardt",
)
"""The methods of :func:`~ebp.second_order.minimize`, in the order of the paper's §6."""

LEAST_SQUARES_METHODS: tuple[str, ...] = ("gauss-newton", "levenberg-marquardt")
"""The methods that need ``residuals``."""

AGREEMENT_RTOL = 1e-6
"""How closely ``fun`` must agree with ``½‖r‖²`` and ``Jᵀr`` at ``w0`` when both are given."""


def _check_callable(value: Any, name: str, *, required: bool, why: str = "") -> None:
    if value is None:
        if required:
            raise TypeError(f"{name} is required{why}; got None")
        return
    if not callable(value):
        raise TypeError(f"{name} must be callable or None; got {type(value).__name__}")


def _check_functions(
    method: str, fun: Any, hess: Any, hessp: Any, residuals: Any, damping: Any
) -> None:
    """Which functions each method needs, and which it would silently ignore."""
    least_squares = method in LEAST_SQUARES_METHODS
    _check_callable(fun, "fun", required=not least_squares, why=f" for method={method!r}")
    _check_callable(residuals, "residuals", required=least_squares, why=f" for {method!r}")
    _check_callable(hess, "hess", required=False)
    _check_callable(hessp, "hessp", required=False)
    if not least_squares and residuals is not None:
        raise ValueError(f"residuals is only used by {LEAST_SQUARES_METHODS}; got {method!r}")
    if method != "newton" and (hess is not None or hessp is not None):
        name = "hess" if hess is not None else "hessp"
        raise ValueError(f"{name} is only used by method='newton'; got method={method!r}")
    if method == "newton" and (hess is None) == (hessp is None):
        raise ValueError(
            "hess or hessp (exactly one) is required for method='newton': a function "
            "returning the Hessian matrix, or one returning the product H v"
        )
    if damping is not None and method != "levenberg-marquardt":
        raise ValueError(f"damping is only used by 'levenberg-marquardt'; got {method!r}")


def _check_line_search(line_search: Any, method: str) -> bool:
    if line_search is None:
        return method in ("cg-fr", "cg-pr", "bfgs")
    if not isinstance(line_search, bool):
        raise TypeError(f"line_search must be a bool or None; got {type(line_search).__name__}")
    if not line_search and method in ("cg-fr", "cg-pr", "bfgs"):
        raise ValueError(f"line_search must be True for method={method!r} (it needs one)")
    if line_search and method == "levenberg-marquardt":
        raise ValueError(
            "line_search must be False for 'levenberg-marquardt' (its damping controls the step)"
        )
    return line_search


def _start(problem: Problem, w0: np.ndarray, fun: Fun | None) -> Point:
    """The point at ``w0``, finite; with residuals and ``fun`` both given, check they agree."""
    source = "residuals" if problem.residuals_fn is not None else "fun"
    start = problem.evaluate(w0)
    if not start.finite:
        raise ValueError(
            f"{source} must give a finite loss and gradient at w0; got loss {start.f!r}"
        )
    if source == "residuals" and fun is not None:
        f, g = problem.value_and_grad(w0)
        scale_g = max(float(np.linalg.norm(start.g)), 1.0)
        if (
            abs(f - start.f) > AGREEMENT_RTOL * max(abs(start.f), 1.0)
            or float(np.linalg.norm(g - start.g)) > AGREEMENT_RTOL * scale_g
        ):
            raise ValueError(
                "fun must agree with residuals (loss ½‖r‖², gradient Jᵀr) at w0, or be None; "
                f"got loss {f:.6g} against ½‖r‖² = {start.f:.6g}"
            )
    return start


def _method(
    method: str, problem: Problem, line_search: bool, c1: float, c2: float, options: dict
) -> Any:
    if method == "newton":
        return Newton(problem, line_search=line_search, c1=c1, c2=c2, rtol=options["rtol"])
    if method in ("cg-fr", "cg-pr"):
        return ConjugateGradient(problem, variant=method[3:], c1=c1, c2=c2)
    if method == "bfgs":
        return BFGS(problem, c1=c1, c2=c2)
    if method == "gauss-newton":
        return GaussNewton(problem, line_search=line_search, c1=c1, c2=c2)
    return LevenbergMarquardt(problem, damping=options["damping"])


def minimize(
    fun: Fun | None,
    w0: Any,
    *,
    method: str,
    hess: HessFn | None = None,
    hessp: HesspFn | None = None,
    residuals: ResidualsFn | None = None,
    tol: float = 1e-8,
    ftol: float = 0.0,
    max_iter: int | None = None,
    line_search: bool | None = None,
    c1: float = 1e-4,
    c2: float | None = None,
    damping: float | None = None,
    newton_rtol: float = 1e-10,
    callback: Callable[[np.ndarray], Any] | None = None,
) -> Result:
    """Minimize ``E(w)`` from ``w0`` by one of the classical second-order methods (paper §6).

    Parameters
    ----------
    fun
        ``fun(w) -> (loss, gradient)``: a real scalar and an array of ``w``'s shape.  Required
        but for the least-squares methods, where it may be ``None`` (the loss is then
        ``½‖r‖²``, the gradient ``Jᵀr``; if given, it must agree with them at ``w0`` and is not
        called again).
    w0
        The start, a finite 1-D vector (float64 is used throughout).
    method
        ``"newton"`` (eq 40), ``"cg-fr"``/``"cg-pr"`` (conjugate gradient, Fletcher–Reeves or
        Polak–Ribière+, eqs 41–43), ``"bfgs"`` (eqs 44–45), ``"gauss-newton"`` (eq 46),
        ``"levenberg-marquardt"`` (eq 47).
    hess, hessp
        Newton only, exactly one: ``hess(w)`` the ``(n, n)`` Hessian, or ``hessp(w, v)`` the
        product ``H v`` (e.g. :meth:`ModelObjective.hessp`, products from :mod:`ebp.hessian`);
        with ``hessp`` the Newton system is solved by conjugate gradient on products.
    residuals
        Gauss–Newton and Levenberg–Marquardt: ``residuals(w) -> (r, J)``, the residual vector
        ``(m,)`` and its Jacobian ``(m, n)``; the loss is ``½‖r‖²``.
    tol
        Stop with success when ``‖∇E‖₂ ≤ tol``.
    ftol
        If > 0, also stop with success when an iteration changes the loss by at most
        ``ftol`` relative to its size.  0 (the default) turns the test off.
    max_iter
        The most iterations; default ``200 n``.
    line_search
        Newton and Gauss–Newton: ``False`` (default) takes the pure step of eq 40 / 46,
        ``True`` a strong Wolfe step along it.  CG and BFGS always search (``None`` or
        ``True``); Levenberg–Marquardt never does.
    c1, c2
        The Wolfe constants, ``0 < c1 < c2 < 1``; ``c2`` defaults to 0.1 for CG, else 0.9.
        See :mod:`ebp.second_order.line_search`.
    damping
        Levenberg–Marquardt's starting ``λ``; default ``10⁻³ · max_j (JᵀJ)_jj``.
    newton_rtol
        Newton with ``hessp``: the relative residual to which ``H p = −∇E`` is solved.
    callback
        ``callback(w)`` after each iteration, with a copy of the new ``w``; returning ``True``
        stops the run.

    Returns
    -------
    Result
        The last iterate, why the run stopped, the loss history and the cost counters.

    Raises
    ------
    TypeError, ValueError
        For a bad argument (named), a user function returning the wrong shape (the function
        named), or a loss or gradient that is not finite at ``w0``.  Later non-finite values
        stop the run with ``success=False`` and a message instead.

    Examples
    --------
    SciPy's Rosenbrock function by BFGS, and by Newton with Hessian–vector products from
    :mod:`ebp.hessian` (any ``(w, v) -> H v`` works):

    >>> import numpy as np, scipy.optimize as so
    >>> def rosen(w):
    ...     return so.rosen(w), so.rosen_der(w)
    >>> res = minimize(rosen, np.array([-1.2, 1.0]), method="bfgs")
    >>> res.success, np.round(res.x, 6)
    (True, array([1., 1.]))
    >>> import ebp.hessian as hs
    >>> def E(w):  # the same function of a torch tensor
    ...     return (100 * (w[1:] - w[:-1] ** 2) ** 2 + (1 - w[:-1]) ** 2).sum()
    >>> def hessp(w, v):
    ...     return hs.hessian_vector_product(E, v, w=w).numpy()
    >>> res = minimize(rosen, np.array([-1.2, 1.0]), method="newton", hessp=hessp)
    >>> res.success, res.hess_kind, res.uphill_steps  # uphill: steps that raised E
    (True, 'product', 2)
    """
    method = check_choice(method, "method", METHODS)
    w0 = as_float_array(w0, "w0", ndim=1).copy()
    if w0.size == 0:
        raise ValueError("w0 must have at least one entry; got shape (0,)")
    n = w0.size
    _check_functions(method, fun, hess, hessp, residuals, damping)
    tol = check_positive(tol, "tol")
    ftol = check_positive(ftol, "ftol", allow_zero=True)
    max_iter = 200 * n if max_iter is None else check_int(max_iter, "max_iter", min_value=1)
    line_search = _check_line_search(line_search, method)
    c1, c2 = check_wolfe_constants(
        c1, (0.1 if method.startswith("cg") else 0.9) if c2 is None else c2
    )
    if damping is not None:
        damping = check_positive(damping, "damping")
    newton_rtol = check_in_range(newton_rtol, "newton_rtol", 0.0, 1.0, low_inclusive=False)
    _check_callable(callback, "callback", required=False)
    least_squares = method in LEAST_SQUARES_METHODS
    problem = Problem(
        n,
        None if least_squares else fun,
        hess=hess,
        hessp=hessp,
        residuals=residuals if least_squares else None,
    )
    if least_squares:
        problem.fun = fun  # only for the agreement check at w0
    start = _start(problem, w0, fun if least_squares else None)
    stepper = _method(
        method, problem, line_search, c1, c2, {"rtol": newton_rtol, "damping": damping}
    )
    _, fields = run(
        problem,
        stepper,
        start,
        method=method,
        tol=tol,
        ftol=ftol,
        max_iter=max_iter,
        callback=callback,
    )
    inv_hessian = stepper.inverse_hessian if isinstance(stepper, BFGS) else None
    return Result(**fields, inv_hessian=inv_hessian)
