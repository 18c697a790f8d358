"""Curvature of a network's loss from products: the Hessian toolkit of paper §7–§9.

Everything starts from an operator, a symmetric linear map on flat parameter vectors:

- :class:`HessianOperator` (a model, a loss and data in batches, or a function of a flat
  vector): exact Hessian–vector products, forward-over-reverse or double backward; the paper's
  finite difference (eq 59) is :func:`finite_difference_hvp`.
- :class:`GaussNewtonOperator`: the generalized Gauss–Newton matrix or the square-Jacobian
  approximation of §7.2.
- :class:`MatrixOperator`: a dense symmetric matrix (any function below also takes one).

Then:

- dense matrices: :func:`dense_hessian`, ``op.dense()``, :func:`flatten_params`,
  :func:`unflatten_params`;
- diagonals: :func:`hessian_diagonal`, :func:`gauss_newton_diagonal`,
  :func:`backprop_diagonal` (§7.4), :func:`hutchinson_diagonal`;
- eigenvalues: :func:`top_eigenvalues` (Lanczos, the one to use), :func:`power_method`
  (eq 60), :func:`lanczos_eigs`, :func:`deflated_power_method` (for teaching);
- the paper's estimates (§9.2): :func:`taylor_estimate` (eq 63),
  :func:`online_eigenvalue_estimate` (eq 64);
- trace and spectrum: :func:`hutchinson_trace`, :func:`slq_density`.

Every operator counts its products (``op.n_products``) and converts to a SciPy
``LinearOperator`` (``op.as_linear_operator()``).  A model with dropout or batch-norm in training
mode gets a :class:`NondeterministicOperatorWarning`; an operator keeps the train/eval mode the
model had when it was built, like its weights.

Every entry point that takes a model needs ``loss``, with no default: ``"mse"`` is the paper's
``(1/P) Σ_p ½‖d^p − o^p‖²`` (eq 28), ``K/2`` times ``torch.nn.MSELoss()`` for ``K`` outputs, and
its Hessian is ``K/2`` times theirs.
"""

from ebp.hessian.diagonal import (
    DiagonalError,
    DiagonalResult,
    backprop_diagonal,
    gauss_newton_diagonal,
    hessian_diagonal,
    hutchinson_diagonal,
)
from ebp.hessian.eigen import (
    EigenResult,
    EigenResults,
    deflated_power_method,
    lanczos_eigs,
    power_method,
    top_eigenvalues,
)
from ebp.hessian.estimates import (
    FIG24_GAMMA_STEPS,
    OnlineEstimate,
    gamma_schedule,
    online_eigenvalue_estimate,
    taylor_estimate,
)
from ebp.hessian.gauss_newton import (
    GaussNewtonOperator,
    gauss_newton_vector_product,
    square_jacobian_vector_product,
)
from ebp.hessian.operator import (
    CurvatureOperator,
    FiniteDifferenceWarning,
    HessianOperator,
    MatrixOperator,
    NondeterministicOperatorWarning,
    as_operator,
    dense_hessian,
    finite_difference_hvp,
    flatten_params,
    hessian_vector_product,
    unflatten_params,
)
from ebp.hessian.stochastic import (
    SpectralDensity,
    TraceEstimate,
    hutchinson_trace,
    lanczos_tridiagonal,
    slq_density,
)

__all__ = [
    "FIG24_GAMMA_STEPS",
    "CurvatureOperator",
    "DiagonalError",
    "DiagonalResult",
    "EigenResult",
    "EigenResults",
    "FiniteDifferenceWarning",
    "GaussNewtonOperator",
    "HessianOperator",
    "MatrixOperator",
    "NondeterministicOperatorWarning",
    "OnlineEstimate",
    "SpectralDensity",
    "TraceEstimate",
    "as_operator",
    "backprop_diagonal",
    "deflated_power_method",
    "dense_hessian",
    "finite_difference_hvp",
    "flatten_params",
    "gamma_schedule",
    "gauss_newton_diagonal",
    "gauss_newton_vector_product",
    "hessian_diagonal",
    "hessian_vector_product",
    "hutchinson_diagonal",
    "hutchinson_trace",
    "lanczos_eigs",
    "lanczos_tridiagonal",
    "online_eigenvalue_estimate",
    "power_method",
    "slq_density",
    "square_jacobian_vector_product",
    "taylor_estimate",
    "top_eigenvalues",
    "unflatten_params",
]
