"""The classical second-order methods of paper §6, written out in float64 NumPy.

:func:`minimize` is one ``scipy.optimize.minimize``-like entry point to

- ``"newton"``: eq 40, ``Δw = −H⁻¹∇E``, with ``hess`` (a matrix) or ``hessp`` (products,
  solved by CG): the pure step, which goes uphill where ``H`` is not positive definite
  (reported in ``Result.uphill_steps``);
- ``"cg-fr"``, ``"cg-pr"``: nonlinear conjugate gradient, Fletcher–Reeves or Polak–Ribière+
  (eqs 41–43);
- ``"bfgs"``: quasi-Newton on the inverse Hessian (eqs 44–45);
- ``"gauss-newton"``: eq 46, for ``E = ½‖r‖²`` given ``residuals(w) -> (r, J)``;
- ``"levenberg-marquardt"``: eq 47, damping adapted by the gain ratio.

CG and BFGS move by a strong Wolfe line search written out in
:mod:`ebp.second_order.line_search` (also public as :func:`wolfe_line_search`).  Every run
returns a :class:`Result` with the loss history and counts of function, gradient, Hessian and
Jacobian evaluations, so methods can be compared by cost as well as by iterations.

:func:`model_objective` turns a torch model, a loss and data into the functions ``minimize``
takes (``fun``, ``residuals``, ``hessp``, ``hess``), in float64, leaving the model alone.

Conventions: ``fun(w)`` returns ``(loss, gradient)``; the least-squares loss is ``½‖r‖²`` (as
in ``scipy.optimize.least_squares``), so ``"mse"``'s residuals are ``(o − d)/√P``.
"""

from ebp.second_order.driver import Result
from ebp.second_order.interface import LEAST_SQUARES_METHODS, METHODS, minimize
from ebp.second_order.line_search import LineSearchResult, wolfe_line_search
from ebp.second_order.model import ModelObjective, model_objective

__all__ = [
    "LEAST_SQUARES_METHODS",
    "METHODS",
    "LineSearchResult",
    "ModelObjective",
    "Result",
    "minimize",
    "model_objective",
    "wolfe_line_search",
]
