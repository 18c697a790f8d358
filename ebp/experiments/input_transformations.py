"""Experiments of the chapter "Input transformations revisited" (paper §5.3).

Why the practice of :mod:`ebp.experiments.normalizing_inputs` works, exactly, on the LMS cost
of a linear unit (eqs 28–29), whose Hessian ``H = X̃ᵀX̃/P`` (``X̃`` = the inputs and a constant
bias input 1) is set by the inputs alone (:func:`ebp.quadratic.lms_hessian`).  Each function
returns a dataclass of NumPy data; nothing here draws (see
:mod:`ebp.plots.input_transformations`).

- :func:`white_inputs`: the paper's Fig 9/10 two-class set, whitened exactly (mean 0,
  ``XᵀX/P = I``): the centred inputs every experiment shifts, scales or correlates.
- :func:`mean_direction_eigenvalues`: the closed form of the two eigenvalues an offset creates
  for white inputs with a bias.
- :func:`offset_spectrum`: the spectrum of ``H`` against the offset ``c`` added to every input,
  with and without the bias; :func:`fit_power_law` fits its growth on log-log axes.
- :func:`offset_steps`: steps of batch gradient descent (:func:`ebp.quadratic.descend`) to a
  tolerance at the best single rate, predicted from ``κ`` and measured, before and after
  centering.
- :func:`batch_training_check`: the same descent run as actual batch training of a linear unit
  (:func:`ebp.train.fit`), to show that the quadratic is the training.
- :func:`spoiled_inputs` and :func:`input_treatments`: unequal variances, correlations and a
  mean, and what per-weight rates (a diagonal preconditioner) and whitening do to ``κ``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ebp import data, nn, preprocess, quadratic, train
from ebp._validate import as_float_array, check_choice, check_in_range, check_int, check_positive

__all__ = [
    "RATES",
    "OffsetSpectrum",
    "OffsetSteps",
    "PowerLaw",
    "TrainingCheck",
    "Treatments",
    "batch_training_check",
    "fit_power_law",
    "input_treatments",
    "mean_direction_eigenvalues",
    "offset_spectrum",
    "offset_steps",
    "per_weight_hessian",
    "spoiled_inputs",
    "white_inputs",
]

RATES: tuple[str, ...] = ("best", "inverse_max")
"""The single learning rates :func:`offset_steps` can use: ``"best"`` is ``2/(λ_min + λ_max)``
(:func:`ebp.quadratic.best_eta`), ``"inverse_max"`` the paper's ``1/λ_max`` (eq 39)."""


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------


def white_inputs(n: int = 100, *, seed: int = 0) -> data.Dataset:
    """The Fig 9/10 two-class set (:func:`ebp.data.two_gaussians`), ZCA-whitened exactly.

    The inputs have mean 0 and second-moment matrix ``XᵀX/P = I`` (to rounding), so a linear
    unit with a bias on them has ``H = I``; targets ±1.

    Parameters
    ----------
    n
        Number of patterns, even, ≥ 6 (so that each class's moments can be made exact).
    seed
        Seed of the draw.
    """
    n = check_int(n, "n", min_value=6)
    seed = check_int(seed, "seed", min_value=0)
    base = data.two_gaussians(n, seed=seed, exact=True)
    X = preprocess.ZCAWhiten().fit_transform(base.X)
    return data.Dataset(X=X, y=base.y, name="Fig 10 inputs, whitened")


def _inputs(X: Any, name: str = "X") -> np.ndarray:
    X = as_float_array(X, name, ndim=2)
    if X.shape[0] < 2 or X.shape[1] < 1:
        raise ValueError(f"{name} must be a (P, n) matrix with P >= 2, n >= 1; got {X.shape}")
    return X


def _offsets(offsets: Any) -> np.ndarray:
    c = as_float_array(offsets, "offsets", ndim=1)
    if c.size == 0 or np.any(c < 0):
        raise ValueError("offsets must be a non-empty sequence of numbers >= 0")
    return c


def _tolerance(tol: Any) -> float:
    return check_in_range(tol, "tol", 0.0, 1.0, low_inclusive=False, high_inclusive=False)


# ---------------------------------------------------------------------------------------------
# The spectrum against the offset
# ---------------------------------------------------------------------------------------------


def mean_direction_eigenvalues(s: Any) -> tuple[np.ndarray, np.ndarray]:
    """The two eigenvalues an offset creates, for white inputs and a bias: ``(λ₋, λ₊)``.

    With white inputs (mean 0, ``XᵀX/P = I``) shifted by a vector ``c`` and the bias input 1
    appended, ``H = diag(I, 0) + c̃ c̃ᵀ`` with ``c̃ = (c, 1)`` (eq 29).  Every direction of the
    inputs orthogonal to ``c`` keeps eigenvalue 1; the plane of ``(ĉ, 0)`` and the bias weight
    carries the ``2 × 2`` block ``[[1 + s, √s], [√s, 1]]`` with ``s = ‖c‖²``, of trace
    ``2 + s`` and determinant 1, whence ``λ± = 1 + s/2 ± √(s + s²/4)`` and ``λ₊ λ₋ = 1``.
    For large ``s``, ``λ₊ = s + 2 − 1/s + O(s⁻²)`` and ``λ₋ = 1/λ₊``.

    Parameters
    ----------
    s
        ``‖c‖² ≥ 0`` (``n c²`` for the same offset ``c`` on ``n`` inputs), a number or array.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``λ₋`` and ``λ₊``, of the shape of ``s``.
    """
    s = as_float_array(s, "s")
    if np.any(s < 0):
        raise ValueError(f"s must be >= 0 (a squared norm); got min {float(s.min()):g}")
    root = np.sqrt(s + 0.25 * s * s)
    lam_plus = 1.0 + 0.5 * s + root
    return 1.0 / lam_plus, lam_plus  # λ₋ = 1/λ₊ without the cancellation in 1 + s/2 − root


@dataclass(frozen=True)
class PowerLaw:
    """A straight line on log-log axes, ``y ≈ prefactor · x^exponent``, fitted on a range."""

    exponent: float
    prefactor: float
    x_min: float
    x_max: float
    n_points: int

    def __call__(self, x: Any) -> np.ndarray:
        """The fitted line at ``x``."""
        return self.prefactor * np.asarray(x, dtype=float) ** self.exponent


def fit_power_law(x: Any, y: Any, *, x_min: float | None = None) -> PowerLaw:
    """Least-squares fit of ``log y = exponent · log x + log prefactor`` over ``x ≥ x_min``.

    Parameters
    ----------
    x, y
        Positive numbers, shape ``(N,)`` each.
    x_min
        Smallest ``x`` used (default: all); at least two points must remain.
    """
    x = as_float_array(x, "x", ndim=1)
    y = as_float_array(y, "y", ndim=1)
    if y.shape != x.shape:
        raise ValueError(f"y must have the shape of x, {x.shape}; got {y.shape}")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("x and y must be > 0 to fit on log-log axes")
    lo = float(x.min()) if x_min is None else check_positive(x_min, "x_min")
    keep = x >= lo
    if int(keep.sum()) < 2:
        raise ValueError(f"x_min = {lo:g} leaves {int(keep.sum())} point(s); at least 2 needed")
    slope, intercept = np.polyfit(np.log(x[keep]), np.log(y[keep]), 1)
    return PowerLaw(
        exponent=float(slope),
        prefactor=float(math.exp(intercept)),
        x_min=float(x[keep].min()),
        x_max=float(x[keep].max()),
        n_points=int(keep.sum()),
    )


@dataclass(frozen=True)
class OffsetSpectrum:
    """The LMS Hessian's spectrum against the offset ``c`` added to every input.

    Attributes
    ----------
    offsets
        ``(C,)`` offsets ``c``.
    n_inputs
        ``n``, the number of inputs (each shifted by ``c``, so ``‖c‖² = n c²``).
    eigenvalues
        ``(C, n + 1)`` eigenvalues of ``H`` with the bias, ascending.
    eigenvalues_no_bias
        ``(C, n)`` eigenvalues of ``XᵀX/P``, a unit without a bias.
    """

    offsets: np.ndarray
    n_inputs: int
    eigenvalues: np.ndarray
    eigenvalues_no_bias: np.ndarray

    @property
    def lambda_max(self) -> np.ndarray:
        """``(C,)`` largest eigenvalue with the bias."""
        return self.eigenvalues[:, -1]

    @property
    def lambda_min(self) -> np.ndarray:
        """``(C,)`` smallest eigenvalue with the bias."""
        return self.eigenvalues[:, 0]

    @property
    def condition(self) -> np.ndarray:
        """``(C,)`` ``κ = λ_max/λ_min`` with the bias."""
        return self.lambda_max / self.lambda_min

    @property
    def condition_no_bias(self) -> np.ndarray:
        """``(C,)`` ``κ`` without the bias."""
        return self.eigenvalues_no_bias[:, -1] / self.eigenvalues_no_bias[:, 0]

    def exact(self) -> tuple[np.ndarray, np.ndarray]:
        """``(λ₋, λ₊)`` of :func:`mean_direction_eigenvalues` at ``s = n c²`` (exact when the
        unshifted inputs are white)."""
        return mean_direction_eigenvalues(self.n_inputs * self.offsets**2)

    def fit(self, what: str = "lambda_max", *, c_min: float = 3.0) -> PowerLaw:
        """:func:`fit_power_law` of ``what`` (``"lambda_max"``, ``"lambda_min"``,
        ``"condition"`` or ``"condition_no_bias"``) against ``c``, over ``c ≥ c_min``."""
        what = check_choice(
            what, "what", ("lambda_max", "lambda_min", "condition", "condition_no_bias")
        )
        return fit_power_law(self.offsets, getattr(self, what), x_min=c_min)


def offset_spectrum(X: Any, offsets: Any) -> OffsetSpectrum:
    """Eigenvalues of the LMS Hessian (eq 29) of ``X + c`` for every offset ``c``.

    Parameters
    ----------
    X
        Inputs ``(P, n)``, ideally centred (the offsets are then the means).
    offsets
        Offsets ``c ≥ 0``, added to every column (:func:`ebp.data.add_offset`), shape ``(C,)``.
    """
    X = _inputs(X)
    c = _offsets(offsets)
    ev, ev0 = [], []
    for ci in c:
        Xc = data.add_offset(X, float(ci))
        ev.append(np.linalg.eigvalsh(quadratic.lms_hessian(Xc, bias=True)))
        ev0.append(np.linalg.eigvalsh(quadratic.lms_hessian(Xc, bias=False)))
    return OffsetSpectrum(
        offsets=c,
        n_inputs=int(X.shape[1]),
        eigenvalues=np.array(ev),
        eigenvalues_no_bias=np.array(ev0),
    )


# ---------------------------------------------------------------------------------------------
# Steps to a tolerance, before and after centering
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OffsetSteps:
    """Steps of batch gradient descent on the LMS cost to ``‖w_t − w*‖ ≤ tol ‖w_0 − w*‖``.

    Every array has one entry per offset; the ``centred_`` ones are for the same inputs after
    subtracting their mean (:class:`ebp.preprocess.Center`).

    Attributes
    ----------
    offsets, tol, rate
        The offsets ``c``, the tolerance and the rate rule (:data:`RATES`).
    lambda_max, lambda_min, condition, eta
        Of ``H`` (with the bias), and the rate used.
    predicted
        ``ceil(ln tol / ln r)`` with ``r`` the worst contraction (:func:`ebp.quadratic.rate`):
        ``r = (κ − 1)/(κ + 1)`` at the best rate, ``1 − 1/κ`` at ``1/λ_max``.
    measured
        Counted on the iterates of :func:`ebp.quadratic.descend` from ``w_0 = 0``.
    errors
        Relative errors ``‖w_t − w*‖/‖w_0 − w*‖`` of each run, a list of ``(T_c + 1,)`` arrays.
    centred_lambda_max, centred_condition, centred_predicted, centred_measured
        The same after centering.
    """

    offsets: np.ndarray
    tol: float
    rate: str
    lambda_max: np.ndarray
    lambda_min: np.ndarray
    condition: np.ndarray
    eta: np.ndarray
    predicted: np.ndarray
    measured: np.ndarray
    errors: list[np.ndarray]
    centred_lambda_max: np.ndarray
    centred_condition: np.ndarray
    centred_predicted: np.ndarray
    centred_measured: np.ndarray


def _descent(X: np.ndarray, y: np.ndarray, tol: float, rate: str) -> dict[str, Any]:
    """Spectrum, rate, predicted and measured steps of batch GD on the LMS cost of ``X``."""
    H = quadratic.lms_hessian(X)
    w_star = quadratic.lms_minimum(X, y)
    lam = np.linalg.eigvalsh(H)
    eta = quadratic.best_eta(H) if rate == "best" else quadratic.eta_opt(H)
    predicted = quadratic.steps_to_tolerance(H, eta, tol)
    path = quadratic.descend(H, np.zeros(H.shape[0]), eta, int(predicted) + 2, w_star=w_star)
    err = np.linalg.norm(path - w_star, axis=1)
    measured = quadratic.measured_steps(path, w_star, tol)
    return {
        "lambda_max": float(lam[-1]),
        "lambda_min": float(lam[0]),
        "condition": float(lam[-1] / lam[0]),
        "eta": float(eta),
        "predicted": int(predicted),
        "measured": -1 if measured is None else measured,
        "errors": err / err[0],
    }


def offset_steps(
    X: Any,
    y: Any,
    offsets: Any,
    *,
    tol: float = 1e-6,
    rate: str = "best",
    max_steps: int = 1_000_000,
) -> OffsetSteps:
    """Predicted and measured steps of batch gradient descent on ``X + c``, and after centering.

    For each offset the LMS problem of a linear unit with a bias (eqs 28–29) is solved exactly
    (:func:`ebp.quadratic.lms_minimum`), and :func:`ebp.quadratic.descend` runs from ``w = 0``
    at one rate until the predicted count (plus two steps); the prediction bounds the measured
    count for plain descent, so the run reaches the tolerance.

    Parameters
    ----------
    X
        Inputs ``(P, n)``, centred (the offsets are then the means).
    y
        Targets ``(P,)`` or ``(P, 1)``.
    offsets
        Offsets ``c ≥ 0``, shape ``(C,)``.
    tol
        Relative tolerance on the distance to the minimum, in (0, 1).
    rate
        ``"best"`` (``2/(λ_min + λ_max)``) or ``"inverse_max"`` (``1/λ_max``, eq 39).
    max_steps
        Refuse an offset whose predicted count exceeds this (the run would be too long).
    """
    X = _inputs(X)
    y = as_float_array(y, "y").reshape(-1)
    if y.size != X.shape[0]:
        raise ValueError(f"y must have one target per row of X ({X.shape[0]}); got {y.size}")
    c = _offsets(offsets)
    tol = _tolerance(tol)
    rate = check_choice(rate, "rate", RATES)
    max_steps = check_int(max_steps, "max_steps", min_value=1)
    rows, centred = [], []
    for ci in c:
        Xc = data.add_offset(X, float(ci))
        H = quadratic.lms_hessian(Xc)
        eta = quadratic.best_eta(H) if rate == "best" else quadratic.eta_opt(H)
        if quadratic.steps_to_tolerance(H, eta, tol) > max_steps:
            raise ValueError(
                f"offsets: c = {ci:g} needs more than max_steps = {max_steps} steps "
                f"(kappa = {quadratic.condition_number(H):.3g}); lower c or raise max_steps"
            )
        rows.append(_descent(Xc, y, tol, rate))
        centred.append(_descent(preprocess.Center().fit_transform(Xc), y, tol, rate))

    def col(key: str, src: list[dict[str, Any]] = rows) -> np.ndarray:
        return np.array([r[key] for r in src])

    return OffsetSteps(
        offsets=c,
        tol=tol,
        rate=rate,
        lambda_max=col("lambda_max"),
        lambda_min=col("lambda_min"),
        condition=col("condition"),
        eta=col("eta"),
        predicted=col("predicted"),
        measured=col("measured"),
        errors=[r["errors"] for r in rows],
        centred_lambda_max=col("lambda_max", centred),
        centred_condition=col("condition", centred),
        centred_predicted=col("predicted", centred),
        centred_measured=col("measured", centred),
    )


@dataclass(frozen=True)
class TrainingCheck:
    """Batch training of a linear unit (:func:`ebp.train.fit`) against
    :func:`~ebp.quadratic.descend`.

    Attributes
    ----------
    offset, eta, epochs
        The offset, the rate (``2/(λ_min + λ_max)``) and the number of epochs.
    weights_fit, weights_descend
        ``(epochs + 1, n + 1)`` weights (bias last) after every epoch, from both.
    max_difference
        ``max |weights_fit − weights_descend|``.
    epochs_fit, epochs_descend
        Epochs to ``‖w_t − w*‖ ≤ tol ‖w_0 − w*‖`` counted on each (``-1`` if not reached).
    """

    offset: float
    eta: float
    epochs: int
    weights_fit: np.ndarray
    weights_descend: np.ndarray
    max_difference: float
    epochs_fit: int
    epochs_descend: int


def batch_training_check(
    X: Any,
    y: Any,
    offset: float,
    *,
    epochs: int = 800,
    tol: float = 1e-6,
    seed: int = 0,
) -> TrainingCheck:
    """Train a linear unit with a bias on ``X + offset`` by full-batch gradient descent and
    compare every epoch's weights with :func:`ebp.quadratic.descend` from the same start.

    The unit is ``ebp.nn.mlp((n, 1))`` in float64 (LeCun initialization, ``seed``), trained by
    :func:`ebp.train.fit` with the paper's ``"mse"`` loss (eq 28) at ``η = 2/(λ_min + λ_max)``.

    Parameters
    ----------
    X, y
        Inputs ``(P, n)`` and targets ``(P,)`` or ``(P, 1)``.
    offset
        ``c ≥ 0`` added to every input.
    epochs
        Full-batch epochs (one update each), ≥ 1.
    tol
        Relative tolerance of the epoch counts, in (0, 1).
    seed
        Seed of the initial weights.
    """
    X = _inputs(X)
    y = as_float_array(y, "y").reshape(-1, 1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have one target per row of X ({X.shape[0]}); got {y.shape[0]}")
    offset = check_positive(offset, "offset", allow_zero=True)
    epochs = check_int(epochs, "epochs", min_value=1)
    tol = _tolerance(tol)
    seed = check_int(seed, "seed", min_value=0)
    Xc = data.add_offset(X, offset)
    H = quadratic.lms_hessian(Xc)
    w_star = quadratic.lms_minimum(Xc, y[:, 0])
    eta = quadratic.best_eta(H)
    model = nn.mlp((X.shape[1], 1), seed=seed, dtype=torch.float64)
    w0 = np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])
    history = train.fit(model, Xc, y, eta=eta, epochs=epochs, shuffle=False, snapshots=True)
    fitted = np.array(history.weights)
    path = quadratic.descend(H, w0, eta, epochs, w_star=w_star)
    counts = [quadratic.measured_steps(w, w_star, tol) for w in (fitted, path)]
    return TrainingCheck(
        offset=float(offset),
        eta=float(eta),
        epochs=epochs,
        weights_fit=fitted,
        weights_descend=path,
        max_difference=float(np.abs(fitted - path).max()),
        epochs_fit=-1 if counts[0] is None else counts[0],
        epochs_descend=-1 if counts[1] is None else counts[1],
    )


# ---------------------------------------------------------------------------------------------
# Unequal variances, correlations, a mean: per-weight rates and whitening
# ---------------------------------------------------------------------------------------------


def spoiled_inputs(
    X: Any,
    *,
    scales: float | Sequence[float] = (1.0, 0.1),
    rho: float = 0.9,
    offset: float = 3.0,
) -> dict[str, np.ndarray]:
    """White inputs spoiled one way at a time, and two ways at once.

    Returns ``{"white": X, "scales": X·diag(scales), "correlated": correlate(X, rho),
    "both": correlate then scale, "offset": X + offset}`` (:mod:`ebp.data`).

    Parameters
    ----------
    X
        White inputs ``(P, n)``, ``n ≥ 2`` (:func:`white_inputs`).
    scales
        One factor per input (> 0), or one for all.
    rho
        Correlation between every pair of inputs.
    offset
        Mean added to every input, ≥ 0.
    """
    X = _inputs(X)
    offset = check_positive(offset, "offset", allow_zero=True)
    correlated = data.correlate(X, rho)
    return {
        "white": X,
        "scales": data.scale_columns(X, scales),
        "correlated": correlated,
        "both": data.scale_columns(correlated, scales),
        "offset": data.add_offset(X, offset),
    }


def per_weight_hessian(H: Any) -> np.ndarray:
    """``D H D`` with ``D = diag(H_ii)^{-1/2}``: the Hessian seen by per-weight rates
    ``η_i = η / H_ii``.

    Gradient descent with those rates, ``w ← w − η D² H (w − w*)``, is plain gradient descent
    on ``v = D⁻¹ w``, whose Hessian is ``D H D`` (same eigenvalues as ``D² H``).  Its diagonal
    is 1: a diagonal preconditioner removes unequal scales, and what is left is the matrix of
    correlations (uncentred, with the bias) between the inputs.

    Parameters
    ----------
    H
        Symmetric ``(n, n)`` matrix with a positive diagonal.
    """
    H = as_float_array(H, "H", ndim=2)
    if H.shape[0] != H.shape[1] or not np.allclose(H, H.T, rtol=1e-10, atol=0.0):
        raise ValueError(f"H must be a symmetric (n, n) matrix; got shape {H.shape}")
    diag = np.diag(H)
    if np.any(diag <= 0):
        raise ValueError("H must have a positive diagonal (every weight some curvature)")
    d = 1.0 / np.sqrt(diag)
    return 0.5 * (H + H.T) * d[:, None] * d[None, :]


@dataclass(frozen=True)
class Treatments:
    """The LMS Hessian (with the bias) of each input case, raw, with per-weight rates and
    after whitening.

    Attributes
    ----------
    names
        The cases, in the order given.
    eigenvalues, eigenvalues_per_weight, eigenvalues_whitened
        Ascending eigenvalues of ``H``, of :func:`per_weight_hessian` ``(H)`` and of ``H`` of
        the PCA-whitened inputs (:class:`ebp.preprocess.PCAWhiten`), per case.
    tol
        The tolerance of the predicted step counts.
    """

    names: tuple[str, ...]
    eigenvalues: dict[str, np.ndarray]
    eigenvalues_per_weight: dict[str, np.ndarray]
    eigenvalues_whitened: dict[str, np.ndarray]
    tol: float

    def condition(self, name: str, treatment: str = "raw") -> float:
        """``κ`` of case ``name`` under ``treatment`` (``"raw"``, ``"per_weight"`` or
        ``"whitened"``)."""
        lam = self.spectrum(name, treatment)
        return float(lam[-1] / lam[0])

    def predicted_steps(self, name: str, treatment: str = "raw") -> int:
        """Steps at ``2/(λ_min + λ_max)`` to cut the error by ``tol``, from ``κ``:
        ``ceil(ln tol / ln((κ − 1)/(κ + 1)))`` (1 when ``κ = 1``)."""
        kappa = self.condition(name, treatment)
        if kappa - 1.0 < 1e-9:
            return 1
        return max(1, math.ceil(math.log(self.tol) / math.log((kappa - 1) / (kappa + 1))))

    def spectrum(self, name: str, treatment: str = "raw") -> np.ndarray:
        """Ascending eigenvalues of case ``name`` under ``treatment``."""
        name = check_choice(name, "name", self.names)
        treatment = check_choice(treatment, "treatment", ("raw", "per_weight", "whitened"))
        table = {
            "raw": self.eigenvalues,
            "per_weight": self.eigenvalues_per_weight,
            "whitened": self.eigenvalues_whitened,
        }
        return table[treatment][name]


def input_treatments(inputs: Mapping[str, Any], *, tol: float = 1e-6) -> Treatments:
    """Spectra of the LMS Hessian for each case of ``inputs``, raw and treated.

    Parameters
    ----------
    inputs
        Case name → inputs ``(P, n)`` (e.g. :func:`spoiled_inputs`).
    tol
        Tolerance of :meth:`Treatments.predicted_steps`, in (0, 1).
    """
    if not isinstance(inputs, Mapping) or not inputs:
        raise TypeError("inputs must be a non-empty mapping of case name -> (P, n) inputs")
    tol = _tolerance(tol)
    raw, per_weight, whitened = {}, {}, {}
    for name, X in inputs.items():
        X = _inputs(X, f"inputs[{name!r}]")
        H = quadratic.lms_hessian(X)
        raw[name] = np.linalg.eigvalsh(H)
        per_weight[name] = np.linalg.eigvalsh(per_weight_hessian(H))
        Z = preprocess.PCAWhiten().fit_transform(X)
        whitened[name] = np.linalg.eigvalsh(quadratic.lms_hessian(Z))
    return Treatments(
        names=tuple(inputs),
        eigenvalues=raw,
        eigenvalues_per_weight=per_weight,
        eigenvalues_whitened=whitened,
        tol=tol,
    )
