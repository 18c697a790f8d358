"""Normalizing the inputs (paper §4.3): fit on the training set, apply to the test set.

Every transform is a scikit-learn estimator (``BaseEstimator`` + ``TransformerMixin``), so it has
``fit``, ``transform``, ``fit_transform``, ``inverse_transform``, ``get_params``, and composes with
:func:`sklearn.pipeline.make_pipeline` (or :func:`compose`).  Each one is affine,
``transform(X) = (X − mean_) @ matrix_``, fitted on the training set only:

- :class:`Center`: mean cancellation (each input's mean ≈ 0);
- :class:`Standardize`: centering and covariance equalization, ``C_i = (1/P) Σ_p (z_i^p)² = 1``
  (eq 13);
- :class:`PCADecorrelate`: rotation onto the principal axes (the Karhunen–Loève expansion), no
  scaling;
- :class:`PCAWhiten`: that rotation, then each axis scaled to unit variance (Fig 3's pipeline:
  mean cancellation → KL expansion → covariance equalization, see :func:`paper_pipeline`);
- :class:`ZCAWhiten`: the symmetric whitening, the one that moves the data least.

Statistics use ``1/P`` (not ``1/(P − 1)``), as in eqs 13 and 29.  They are computed on ``X``
divided by a power of two near its largest entry (exact, and undone afterwards), so inputs of any
finite magnitude (``1e200`` or ``1e-200``) give the same transform as inputs near 1; a result that
float64 cannot hold (the variances of inputs near ``1e200`` are near ``1e400``) raises a
``ValueError`` naming ``X`` instead of overflowing to ``inf``.  A constant input column cannot
be scaled to unit variance: it raises a ``ValueError`` naming the column, unless ``eps > 0`` is
given, which regularizes explicitly (``1/√(variance + eps)``); no transform ever returns NaN.

Helpers for the chapters: :func:`covariance`, :func:`covariance_eigenvalues` and
:func:`condition_number` of ``XᵀX/P``, the Hessian of the LMS cost (eq 29).

:class:`Standardizer` is the immutable per-column scaling the stuck-backprop lab uses
(``Standardizer.fit(X)``, a classmethod); new code should use :class:`Standardize`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline, make_pipeline

from ebp._validate import as_float_array, check_int, check_positive

__all__ = [
    "Center",
    "PCADecorrelate",
    "PCAWhiten",
    "Standardize",
    "Standardizer",
    "ZCAWhiten",
    "compose",
    "condition_number",
    "covariance",
    "covariance_eigenvalues",
    "paper_pipeline",
]

_CONSTANT_RTOL = 1e-10
"""A column whose std is below this fraction of its largest absolute value counts as constant."""


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _check_X(X: Any, name: str = "X", *, min_rows: int = 1) -> np.ndarray:
    X = as_float_array(X, name, ndim=2)
    if X.shape[1] < 1:
        raise ValueError(f"{name} must have at least one column; got shape {X.shape}")
    if X.shape[0] < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} rows; got {X.shape[0]}")
    return X


def _constant_columns(X: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Indices of the columns of ``X`` that are constant up to rounding."""
    size = np.abs(X).max(axis=0)
    return np.flatnonzero(std <= _CONSTANT_RTOL * size)


def _raise_constant(
    name: str,
    columns: np.ndarray,
    what: str,
    hint: str = "pass eps > 0 (e.g. eps=1e-8) to regularize the scaling explicitly",
) -> None:
    listed = ", ".join(str(int(j)) for j in columns[:10])
    more = "" if columns.size <= 10 else f" and {columns.size - 10} more"
    which = "a constant column (index" if columns.size == 1 else "constant columns (indices"
    raise ValueError(
        f"{name} has {which} {listed}{more}); it cannot be {what}. Drop the column, or {hint}"
    )


def _pow2_scale(A: np.ndarray, axis: int | None = None) -> Any:
    """A power of two within a factor 2 of ``max |A|`` (1 where that is 0), per ``axis``.

    Dividing by it is exact (it only changes exponents), and it brings every entry into
    ``[-2, 2]``: the squares and sums of the scaled entries can neither overflow nor underflow
    (except entries far smaller than the largest, whose squares do not count beside its).
    """
    largest = np.max(np.abs(A), axis=axis, initial=0.0)
    ok = (largest > 0) & np.isfinite(largest)
    c = np.where(ok, np.ldexp(1.0, np.frexp(np.where(ok, largest, 1.0))[1] - 1), 1.0)
    return float(c) if axis is None else c


def _too_large(name: str, what: str, largest: float, of: str | None = None) -> ValueError:
    of = of or name
    return ValueError(
        f"{name} is too large: {what} overflow float64 (largest |{of}| = {largest:.3g}); "
        f"divide {name} by a constant (e.g. its largest absolute value) first"
    )


def _scaled_mean(X: np.ndarray) -> np.ndarray:
    """The column means of ``X``, computed without overflow."""
    c = _pow2_scale(X, axis=0)
    return (X / c).mean(axis=0) * c


def _centred(X: np.ndarray, mean: np.ndarray, name: str = "X") -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        Xc = X - mean
    if not np.all(np.isfinite(Xc)):
        raise _too_large(name, "its deviations from the mean", float(np.max(np.abs(X))))
    return Xc


def _column_std(Xc: np.ndarray) -> np.ndarray:
    """``sqrt(mean(Xc**2))`` per column of centred data, without overflow or underflow."""
    c = _pow2_scale(Xc, axis=0)
    return np.sqrt(np.mean((Xc / c) ** 2, axis=0)) * c


def _scaled_moment(X: np.ndarray, center: bool) -> tuple[np.ndarray, float]:
    """``(H_s, c)`` with ``H_s = X_sᵀX_s/P`` for ``X_s = X/c`` (centred first if asked)."""
    c = _pow2_scale(X)
    Xs = X / c
    if center:
        Xs = Xs - Xs.mean(axis=0)
    return Xs.T @ Xs / Xs.shape[0], c


def _second_moment(X: np.ndarray, center: bool, bias: bool) -> np.ndarray:
    H_s, c = _scaled_moment(X, center)
    with np.errstate(over="ignore", invalid="ignore"):
        H = H_s * c * c
        if bias:
            m = np.zeros(X.shape[1]) if center else _scaled_mean(X)
            H = np.block([[H, m[:, None]], [m[None, :], np.ones((1, 1))]])
    if not np.all(np.isfinite(H)):
        raise _too_large("X", "its second moments XᵀX/P", float(np.max(np.abs(X))))
    return H


def _check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool; got {type(value).__name__}")
    return bool(value)


def covariance(X: Any, *, center: bool = False, bias: bool = False) -> np.ndarray:
    """The input matrix ``H = (1/P) Σ_p x^p x^pᵀ = XᵀX/P``: the LMS Hessian (eq 29).

    Parameters
    ----------
    X
        Inputs, shape ``(P, n)``.
    center
        Subtract the mean first (the usual covariance, with ``1/P``).  The default keeps the mean,
        as the Hessian does: a non-zero mean adds one large eigenvalue (§5.3).
    bias
        Append a constant input 1 (the bias weight's input), giving an ``(n + 1, n + 1)`` matrix.

    Returns
    -------
    numpy.ndarray
        Symmetric, positive semi-definite, shape ``(n, n)`` (or ``(n + 1, n + 1)``).
    """
    X = _check_X(X)
    return _second_moment(X, _check_flag(center, "center"), _check_flag(bias, "bias"))


def covariance_eigenvalues(X: Any, *, center: bool = False, bias: bool = False) -> np.ndarray:
    """Eigenvalues of :func:`covariance` ``(X, center=center, bias=bias)``, largest first.

    These are the curvatures of the LMS cost along its principal axes (eq 29); gradient descent
    converges for ``η < 2/λ_max`` (eq 38).
    """
    H = covariance(X, center=center, bias=bias)
    return np.linalg.eigvalsh(H)[::-1].copy()


def condition_number(X: Any, *, center: bool = False, bias: bool = False) -> float:
    """``κ = λ_max / λ_min`` of :func:`covariance` ``(X, …)`` (§5.1); ``inf`` if it is singular.

    Convergence time of batch gradient descent grows with ``κ``; normalizing the inputs
    (§4.3) brings it towards 1.
    """
    X = _check_X(X)
    center, bias = _check_flag(center, "center"), _check_flag(bias, "bias")
    if bias:
        lam = np.linalg.eigvalsh(_second_moment(X, center, bias))[::-1]
    else:  # κ does not depend on the scale of X: compute it on X/c, which cannot overflow
        lam = np.linalg.eigvalsh(_scaled_moment(X, center)[0])[::-1]
    lam_max, lam_min = float(lam[0]), float(lam[-1])
    if lam_max <= 0 or lam_min <= lam_max * lam.size * np.finfo(np.float64).eps:
        return float("inf")
    return lam_max / lam_min


# ---------------------------------------------------------------------------------------------
# The transforms
# ---------------------------------------------------------------------------------------------


class _Affine(TransformerMixin, BaseEstimator):
    """Base of the transforms: ``transform(X) = (X − mean_) @ matrix_``.

    Subclasses implement ``_fit_matrix(Xc)`` on the centred training data and return the matrix
    and its inverse.
    """

    def fit(self, X: Any, y: Any = None) -> _Affine:
        """Learn the transform from the training inputs ``X`` (shape ``(P, n)``); ``y`` is ignored.

        Returns
        -------
        self
        """
        X = _check_X(X, min_rows=self._min_rows)
        mean = _scaled_mean(X)
        matrix, inverse = self._fit_matrix(X, _centred(X, mean))
        self.n_features_in_ = X.shape[1]
        self.mean_ = mean
        self.matrix_, self.inverse_matrix_ = matrix, inverse
        return self

    _min_rows = 1

    def _fit_matrix(self, X: np.ndarray, Xc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not hasattr(self, "matrix_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit first (on the training "
                "inputs), then transform the training and test inputs"
            )

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "matrix_")

    def transform(self, X: Any) -> np.ndarray:
        """Apply the fitted transform to ``X`` (shape ``(P, n)``, the training ``n``)."""
        self._check_fitted()
        X = as_float_array(X, "X", ndim=2, shape=(None, self.n_features_in_))
        with np.errstate(over="ignore", invalid="ignore"):
            return _finite_output((X - self.mean_) @ self.matrix_, X)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Map transformed inputs back to the original units: ``X @ inverse_matrix_ + mean_``."""
        self._check_fitted()
        X = as_float_array(X, "X", ndim=2, shape=(None, self.n_features_in_), finite=False)
        return X @ self.inverse_matrix_ + self.mean_


def _finite_output(Z: np.ndarray, X: np.ndarray, name: str = "X") -> np.ndarray:
    """``Z``, after checking that transforming ``X`` did not overflow."""
    if not np.all(np.isfinite(Z)):
        raise _too_large(name, "its transformed values", float(np.max(np.abs(X), initial=0.0)))
    return Z


def _check_eps(eps: Any) -> float:
    return check_positive(eps, "eps", allow_zero=True)


class Center(_Affine):
    """Mean cancellation (§4.3): subtract each input's training-set mean.

    Attributes
    ----------
    mean_
        Training means, shape ``(n,)``.
    matrix_, inverse_matrix_
        The identity, shape ``(n, n)``.
    """

    def _fit_matrix(self, X: np.ndarray, Xc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        eye = np.eye(X.shape[1])
        return eye, eye.copy()

    def transform(self, X: Any) -> np.ndarray:
        """``X − mean_``."""
        self._check_fitted()
        X = as_float_array(X, "X", ndim=2, shape=(None, self.n_features_in_))
        with np.errstate(over="ignore", invalid="ignore"):
            return _finite_output(X - self.mean_, X)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """``X + mean_``."""
        self._check_fitted()
        X = as_float_array(X, "X", ndim=2, shape=(None, self.n_features_in_), finite=False)
        return X + self.mean_


class Standardize(_Affine):
    """Centering and covariance equalization (§4.3, eq 13): ``z_i = (x_i − m_i) / s_i``.

    After fitting, every training column has mean 0 and ``C_i = (1/P) Σ_p (z_i^p)² = 1`` (eq 13).
    Correlations are left as they are (see :class:`PCAWhiten` / :class:`ZCAWhiten`).

    Parameters
    ----------
    eps
        Regularizer, ≥ 0: ``s_i = √(var_i + eps)``.  With ``eps = 0`` (default) a constant column
        raises a ``ValueError``; with ``eps > 0`` it becomes a column of zeros (and every other
        column's variance ``var_i/(var_i + eps)``, slightly below 1).

    Attributes
    ----------
    mean_, scale_
        Training means and scales ``s_i``, shape ``(n,)``.
    matrix_, inverse_matrix_
        ``diag(1/s)`` and ``diag(s)``.
    """

    _min_rows = 2

    def __init__(self, eps: float = 0.0) -> None:
        _check_eps(eps)
        self.eps = eps

    def _fit_matrix(self, X: np.ndarray, Xc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        eps = _check_eps(self.eps)
        std = _column_std(Xc)
        if eps == 0:
            constant = _constant_columns(X, std)
            if constant.size:
                _raise_constant("X", constant, "scaled to unit variance")
        self.scale_ = np.hypot(std, np.sqrt(eps))  # √(var + eps), without overflow
        return np.diag(1.0 / self.scale_), np.diag(self.scale_)

    def transform(self, X: Any) -> np.ndarray:
        """``(X − mean_) / scale_``."""
        self._check_fitted()
        X = as_float_array(X, "X", ndim=2, shape=(None, self.n_features_in_))
        with np.errstate(over="ignore", invalid="ignore"):
            return _finite_output((X - self.mean_) / self.scale_, X)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """``X · scale_ + mean_``."""
        self._check_fitted()
        X = as_float_array(X, "X", ndim=2, shape=(None, self.n_features_in_), finite=False)
        return X * self.scale_ + self.mean_


class _Eigen(_Affine):
    """Shared part of the PCA transforms: the eigen-decomposition of the training covariance."""

    _min_rows = 2

    def _eigen(self, Xc: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """``(λ_s, U, c)``: eigenvalues of the covariance of ``Xc/c`` (``λ = c² λ_s``), axes."""
        C, c = _scaled_moment(Xc, False)
        lam_s, U = np.linalg.eigh(C)
        lam_s, U = np.maximum(lam_s[::-1], 0.0), U[:, ::-1]
        with np.errstate(over="ignore"):
            lam = lam_s * c * c
        if not np.all(np.isfinite(lam)):
            largest = float(np.max(np.abs(Xc)))
            raise _too_large("X", "its variances along the principal axes", largest, "X − mean")
        # A deterministic sign: the largest-magnitude entry of each axis is positive.
        signs = np.sign(U[np.argmax(np.abs(U), axis=0), np.arange(U.shape[1])])
        U = U * np.where(signs == 0, 1.0, signs)
        self.eigenvalues_ = lam
        self.components_ = U.T.copy()
        return lam_s, U, c

    def _whitening_scales(
        self, X: np.ndarray, Xc: np.ndarray, lam_s: np.ndarray, c: float
    ) -> np.ndarray:
        """``√(λ + eps)``, after checking that no direction has zero variance when ``eps = 0``.

        ``λ = c² λ_s``: the eigenvalues come scaled, so that neither overflows.
        """
        eps = _check_eps(self.eps)
        if eps == 0:
            constant = _constant_columns(X, _column_std(Xc))
            if constant.size:
                _raise_constant("X", constant, "whitened")
            tol = lam_s[0] * max(X.shape) * np.finfo(np.float64).eps
            rank = int(np.count_nonzero(lam_s > tol))
            if lam_s[0] <= 0 or rank < lam_s.size:
                raise ValueError(
                    f"X's covariance is singular (rank {rank} < {lam_s.size} columns: some columns "
                    f"are linear combinations of others, or there are too few rows, "
                    f"{X.shape[0]}); it cannot be whitened. Pass eps > 0 (e.g. eps=1e-8) to "
                    "regularize explicitly"
                )
        return np.hypot(np.sqrt(lam_s) * c, np.sqrt(eps))


class PCADecorrelate(_Eigen):
    """Decorrelation by rotation onto the principal axes, the KL expansion (§4.3); no scaling.

    ``z = (x − m) U`` where the columns of ``U`` are the eigenvectors of the training covariance,
    largest eigenvalue first.  The training outputs are uncorrelated, with variances ``λ_i``.

    Attributes
    ----------
    mean_
        Training means.
    eigenvalues_
        Variances along the principal axes, largest first.
    components_
        The principal axes as rows (``Uᵀ``; the sign makes each axis's largest entry positive).
    matrix_, inverse_matrix_
        ``U`` and ``Uᵀ``.
    """

    def _fit_matrix(self, X: np.ndarray, Xc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        _, U, _ = self._eigen(Xc)
        return U, U.T.copy()


class _Whiten(_Eigen):
    """Shared part of the whitening transforms: ``eps`` and the scales ``√(λ + eps)``."""

    def __init__(self, eps: float = 0.0) -> None:
        _check_eps(eps)
        self.eps = eps

    def _axes_and_scales(self, X: np.ndarray, Xc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(U, √(λ + eps))``: the principal axes and the checked whitening scales."""
        lam_s, U, c = self._eigen(Xc)
        return U, self._whitening_scales(X, Xc, lam_s, c)


class PCAWhiten(_Whiten):
    """PCA whitening (§4.3, Fig 3): rotate onto the principal axes, then equalize variances.

    ``z = (x − m) U Λ^{-1/2}``: the training outputs have identity covariance.  This is the
    paper's pipeline mean cancellation → KL expansion → covariance equalization in one step.

    Parameters
    ----------
    eps
        Regularizer, ≥ 0: ``Λ^{-1/2}`` becomes ``(Λ + eps)^{-1/2}``.  With ``eps = 0`` a constant
        column or a singular covariance raises a ``ValueError``.

    Attributes
    ----------
    mean_, eigenvalues_, components_
        As for :class:`PCADecorrelate`.
    matrix_, inverse_matrix_
        ``U (Λ + eps)^{-1/2}`` and its inverse ``(Λ + eps)^{1/2} Uᵀ``.
    """

    def _fit_matrix(self, X: np.ndarray, Xc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        U, s = self._axes_and_scales(X, Xc)
        return U / s, s[:, None] * U.T


class ZCAWhiten(_Whiten):
    """ZCA (zero-phase) whitening: ``z = (x − m) U Λ^{-1/2} Uᵀ``, a symmetric matrix.

    Of all whitening transforms (``W`` with ``Wᵀ C W = I``), ZCA's is the only symmetric positive
    definite one, and the one whose outputs stay closest to the centred inputs in mean squared
    distance: it whitens without rotating, so each output still corresponds to one input (an
    image stays an image).  It differs from :class:`PCAWhiten` by the rotation ``Uᵀ``.

    Parameters
    ----------
    eps
        Regularizer, ≥ 0, as for :class:`PCAWhiten`.

    Attributes
    ----------
    mean_, eigenvalues_, components_
        As for :class:`PCADecorrelate`.
    matrix_, inverse_matrix_
        ``U (Λ + eps)^{-1/2} Uᵀ`` and ``U (Λ + eps)^{1/2} Uᵀ``, both symmetric.
    """

    def _fit_matrix(self, X: np.ndarray, Xc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        U, s = self._axes_and_scales(X, Xc)
        W = (U / s) @ U.T
        W_inv = (U * s) @ U.T
        return (W + W.T) / 2.0, (W_inv + W_inv.T) / 2.0


def compose(*steps: Any) -> Pipeline:
    """Chain transforms, applied left to right: :func:`sklearn.pipeline.make_pipeline`.

    Examples
    --------
    >>> pipe = compose(Center(), PCADecorrelate(), Standardize())
    >>> [name for name, _ in pipe.steps]
    ['center', 'pcadecorrelate', 'standardize']
    """
    if not steps:
        raise ValueError("steps must hold at least one transform")
    for i, step in enumerate(steps):
        if not (hasattr(step, "fit") and hasattr(step, "transform")):
            raise TypeError(
                f"steps[{i}] must be a transform with fit and transform methods; "
                f"got {type(step).__name__}"
            )
    return make_pipeline(*steps)


def paper_pipeline(eps: float = 0.0) -> Pipeline:
    """Fig 3's pipeline: mean cancellation → KL expansion → covariance equalization (§4.3).

    Equivalent to :class:`PCAWhiten` ``(eps)``, but in three visible steps.

    Examples
    --------
    Fitted on the training set, applied to any data:

    >>> import numpy as np
    >>> from ebp.preprocess import paper_pipeline
    >>> rng = np.random.default_rng(0)
    >>> A = np.array([[3.0, 1.0], [0.0, 0.5]])
    >>> X_train = 5.0 + rng.normal(size=(200, 2)) @ A
    >>> pipe = paper_pipeline().fit(X_train)
    >>> Z = pipe.transform(X_train)
    >>> bool(np.allclose(Z.mean(axis=0), 0.0))  # centred
    True
    >>> bool(np.allclose(Z.T @ Z / len(Z), np.eye(2)))  # identity covariance
    True
    >>> [name for name, _ in pipe.steps]
    ['center', 'pcadecorrelate', 'standardize']
    """
    return compose(Center(), PCADecorrelate(), Standardize(eps=eps))


# ---------------------------------------------------------------------------------------------
# The lab's immutable scaler
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Standardizer:
    """Per-column affine scaling ``(x − mean) / scale``, fitted on the training set (§4.3).

    An immutable value (used by :mod:`ebp.experiments.lab_stuck_backprop`): ``Standardizer.fit(X)``
    is a classmethod returning a new scaler.  :class:`Standardize` is the scikit-learn-style
    equivalent.

    Attributes
    ----------
    mean, scale
        One entry per column; ``scale > 0``.
    """

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, X: Any, name: str = "X") -> Standardizer:
        """Mean and standard deviation of each column of ``X`` (shape ``(P, n)``, ``P ≥ 2``)."""
        X = as_float_array(X, name, ndim=2)
        if X.shape[0] < 2:
            raise ValueError(f"{name} must have at least 2 rows to standardize; got {X.shape[0]}")
        mean = _scaled_mean(X)
        std = _column_std(_centred(X, mean, name))
        constant = _constant_columns(X, std)
        if constant.size:
            _raise_constant(
                name, constant, "standardized", "use Standardize(eps=1e-8) to regularize"
            )
        return cls(mean=mean, scale=std)

    @classmethod
    def identity(cls, n_columns: int) -> Standardizer:
        """The scaling that changes nothing (mean 0, scale 1)."""
        n_columns = check_int(n_columns, "n_columns", min_value=1)
        return cls(mean=np.zeros(n_columns), scale=np.ones(n_columns))

    def transform(self, X: Any, name: str = "X") -> np.ndarray:
        """``(X − mean) / scale``."""
        X = as_float_array(X, name, ndim=2, shape=(None, self.mean.size))
        with np.errstate(over="ignore", invalid="ignore"):
            return _finite_output((X - self.mean) / self.scale, X, name)

    def inverse_transform(self, Y: Any, name: str = "Y") -> np.ndarray:
        """``Y · scale + mean``: back to the original units."""
        Y = as_float_array(Y, name, ndim=2, shape=(None, self.mean.size), finite=False)
        return Y * self.scale + self.mean
