"""Experiments of the chapter "Normalizing the inputs" (paper §4.3, eq 13, Fig 3).

Each function returns a dataclass of NumPy data; nothing here draws (see
:mod:`ebp.plots.normalizing_inputs`).

- :func:`clean_two_classes`: a two-class data set whose inputs are white (mean 0, covariance
  ``I``), the "clean" inputs everything else is made from.
- :func:`spoil`: the same inputs with a mean offset, unequal scales and correlation.
- :func:`input_variants`: the clean inputs, each spoiling alone, all three together, and the
  spoiled inputs after each fix (centering, standardizing, PCA whitening, ZCA whitening), every
  one an affine map of the clean inputs.
- :func:`hessian_spectra`: the eigenvalues and condition number of the Hessian of a linear unit,
  ``H = X̃ᵀX̃/P`` (eq 29 with the bias input), for every variant.
- :func:`training_speed`: epochs of full-batch gradient descent to a target loss, for a linear
  unit or a small tanh network, on every variant, at each variant's best learning rate from a
  sweep over η and seeds (:func:`ebp.many.fit_many`).
- :func:`error_surface`: the exact quadratic error surface of a two-weight linear unit and a
  gradient-descent path on it.
- :func:`train_test_whitening`: a whitening fitted on the training set and applied to a test set.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn as tnn

from ebp import data, nn, preprocess
from ebp._validate import as_float_array, check_choice, check_instance, check_int, check_positive
from ebp.many import fit_many

__all__ = [
    "FIXES",
    "LABELS",
    "MODELS",
    "VARIANTS",
    "ErrorSurface",
    "HessianSpectra",
    "InputVariants",
    "TrainTestWhitening",
    "TrainingSpeed",
    "clean_two_classes",
    "error_surface",
    "gd_steps_predicted",
    "hessian_spectra",
    "input_variants",
    "spoil",
    "train_test_whitening",
    "training_speed",
]

VARIANTS: tuple[str, ...] = (
    "clean",
    "offset",
    "scales",
    "correlated",
    "spoiled",
    "centered",
    "standardized",
    "pca_whitened",
    "zca_whitened",
)
"""The input variants of :func:`input_variants`, in table order."""

FIXES: dict[str, Any] = {
    "centered": preprocess.Center,
    "standardized": preprocess.Standardize,
    "pca_whitened": preprocess.paper_pipeline,
    "zca_whitened": preprocess.ZCAWhiten,
}
"""The fixes applied to the spoiled inputs, name → factory of an unfitted transform.

``"pca_whitened"`` is Fig 3's pipeline (mean cancellation → KL expansion → covariance
equalization), which equals :class:`ebp.preprocess.PCAWhiten`.
"""

LABELS: dict[str, str] = {
    "clean": "clean (white)",
    "offset": "+ offset",
    "scales": "+ unequal scales",
    "correlated": "+ correlation",
    "spoiled": "spoiled (all three)",
    "centered": "spoiled, centred",
    "standardized": "spoiled, standardized",
    "pca_whitened": "spoiled, PCA-whitened (Fig 3)",
    "zca_whitened": "spoiled, ZCA-whitened",
}
"""Display labels of the variants."""


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def clean_two_classes(
    n: int = 100,
    *,
    separation: float = 3.0,
    angle: float = 60.0,
    seed: int = 0,
    exact: bool = True,
) -> data.Dataset:
    """Two classes in the plane whose inputs are white: mean 0, covariance ``I`` (with ``1/P``).

    Each class is drawn from ``N(±(a, 0), I)`` (``a = separation``) by
    :func:`ebp.data.two_gaussians`, and the first input is then divided by ``√(1 + a²)``, the
    standard deviation the class means add to it; last, the plane is rotated so that the class
    means lie along the direction ``angle`` (so that both inputs carry information).  With
    ``exact=True`` each class's sample moments are exact, so the whole set has mean exactly 0
    and ``XᵀX/P = I``: the inputs the paper asks for (§4.3), with the classes ``a``
    within-class standard deviations from the origin.

    Parameters
    ----------
    n
        Number of patterns, even (``n/2`` per class), > 4 with ``exact=True``.
    separation
        ``a > 0``.
    angle
        Direction of the class means, in degrees from the first input's axis.
    seed
        Seed of the draw and of the shuffle.
    exact
        Exact sample moments (see :func:`ebp.data.two_gaussians`); ``False`` for plain draws,
        whose moments are only close (a test set).

    Returns
    -------
    ebp.data.Dataset
        ``X`` ``(n, 2)``, targets ``y`` ``(n, 1)`` equal to ±1.
    """
    a = check_positive(separation, "separation")
    angle = float(as_float_array(angle, "angle", ndim=0))
    base = data.two_gaussians(n, seed=seed, means=((-a, 0.0), (a, 0.0)), class_std=1.0, exact=exact)
    X = data.scale_columns(base.X, [1.0 / math.sqrt(1.0 + a * a), 1.0])
    t = math.radians(angle)
    rotation = np.array([[math.cos(t), math.sin(t)], [-math.sin(t), math.cos(t)]])
    return data.Dataset(X=X @ rotation, y=base.y, name=f"two white classes (a = {a:g})")


def spoil(
    X: Any,
    *,
    offset: float | Sequence[float] = 0.0,
    scales: float | Sequence[float] = 1.0,
    rho: float = 0.0,
) -> np.ndarray:
    """Spoil normalized inputs: correlate the columns, scale them unequally, shift their mean.

    ``correlate(X, rho)`` (:func:`ebp.data.correlate`), then ``scale_columns(·, scales)``, then
    ``add_offset(·, offset)``: each step undoes one of §4.3's three recommendations.  All three
    are affine maps.

    Parameters
    ----------
    X
        Inputs ``(P, n)``, ideally white.
    offset
        Added to every column (a number) or per column.
    scales
        Factor per column (> 0), or one for all.
    rho
        Correlation between the columns (0 leaves them alone).
    """
    X = as_float_array(X, "X", ndim=2)
    rho = float(as_float_array(rho, "rho", ndim=0))
    if rho != 0.0:
        X = data.correlate(X, rho)
    return data.add_offset(data.scale_columns(X, scales), offset)


def _affine_map(f: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(A, b)`` with ``f(X) = X A + b`` for an affine ``f`` on rows of length ``n``."""
    b = np.asarray(f(np.zeros((1, n))), dtype=float)[0]
    A = np.asarray(f(np.eye(n)), dtype=float) - b
    return A, b


@dataclass(frozen=True)
class InputVariants:
    """The input variants of :func:`input_variants`: every one an affine map of the clean inputs.

    Attributes
    ----------
    names
        Variant names (see :data:`VARIANTS`).
    labels
        Display labels.
    X
        Inputs of each variant, ``(P, n)``.
    y
        Targets ±1, ``(P, 1)``, shared.
    A, b
        ``X[name] = X["clean"] @ A[name] + b[name]``.
    offset, scales, rho
        The spoiling used.
    """

    names: tuple[str, ...]
    labels: dict[str, str]
    X: dict[str, np.ndarray]
    y: np.ndarray
    A: dict[str, np.ndarray]
    b: dict[str, np.ndarray]
    offset: np.ndarray
    scales: np.ndarray
    rho: float

    @property
    def n_patterns(self) -> int:
        """Number of patterns ``P``."""
        return int(self.y.shape[0])


def input_variants(
    n: int = 100,
    *,
    offset: float | Sequence[float] = 1.0,
    scales: float | Sequence[float] = (1.0, 0.3),
    rho: float = 0.8,
    separation: float = 3.0,
    angle: float = 60.0,
    seed: int = 0,
) -> InputVariants:
    """The clean inputs, each spoiling alone, all three, and the spoiled inputs after each fix.

    The clean inputs come from :func:`clean_two_classes`; the spoilings from :func:`spoil`;
    the fixes of :data:`FIXES` are fitted on the spoiled inputs.

    Parameters
    ----------
    n, separation, angle, seed
        Passed to :func:`clean_two_classes`.
    offset, scales, rho
        Passed to :func:`spoil`, alone (variants ``"offset"``, ``"scales"``, ``"correlated"``)
        and together (``"spoiled"``).
    """
    clean = clean_two_classes(n, separation=separation, angle=angle, seed=seed)
    X0 = clean.X
    d = X0.shape[1]
    maps: dict[str, Any] = {
        "clean": lambda X: X,
        "offset": lambda X: spoil(X, offset=offset),
        "scales": lambda X: spoil(X, scales=scales),
        "correlated": lambda X: spoil(X, rho=rho),
        "spoiled": lambda X: spoil(X, offset=offset, scales=scales, rho=rho),
    }
    Xs = {name: f(X0) for name, f in maps.items()}
    for name, factory in FIXES.items():
        transform = factory().fit(Xs["spoiled"])
        maps[name] = lambda X, t=transform: t.transform(maps["spoiled"](X))
        Xs[name] = transform.transform(Xs["spoiled"])
    A, b = {}, {}
    for name, f in maps.items():
        A[name], b[name] = _affine_map(f, d)
    return InputVariants(
        names=VARIANTS,
        labels={k: LABELS[k] for k in VARIANTS},
        X={k: Xs[k] for k in VARIANTS},
        y=clean.y,
        A={k: A[k] for k in VARIANTS},
        b={k: b[k] for k in VARIANTS},
        offset=data.add_offset(np.zeros((1, d)), offset)[0],
        scales=data.scale_columns(np.ones((1, d)), scales)[0],
        rho=float(rho),
    )


# ---------------------------------------------------------------------------------------------
# The Hessian of a linear unit
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HessianSpectra:
    """Input statistics and the LMS Hessian of a linear unit with a bias, per variant.

    Attributes
    ----------
    names, labels
        As in :class:`InputVariants`.
    mean
        Mean of each input, ``(n,)`` per variant.
    second_moment
        ``C_i = (1/P) Σ_p (x_i^p)²`` per input (eq 13, on the raw inputs), ``(n,)``.
    correlation
        Correlation coefficient between the two inputs (first pair), per variant.
    eigenvalues
        Eigenvalues of ``H = X̃ᵀX̃/P`` (``X̃`` = inputs and a constant 1, eq 29), largest first.
    condition
        ``κ = λ_max/λ_min`` of ``H``.
    condition_no_bias
        ``κ`` of ``XᵀX/P``, the Hessian of a unit without a bias.
    """

    names: tuple[str, ...]
    labels: dict[str, str]
    mean: dict[str, np.ndarray]
    second_moment: dict[str, np.ndarray]
    correlation: dict[str, float]
    eigenvalues: dict[str, np.ndarray]
    condition: dict[str, float]
    condition_no_bias: dict[str, float]


def hessian_spectra(variants: InputVariants) -> HessianSpectra:
    """Eigenvalues and condition numbers of the linear unit's Hessian for each variant.

    For the LMS cost the Hessian is the raw second-moment matrix of the inputs, ``XᵀX/P``
    (eq 29): not centred, so a mean shows up in it.  A bias is a weight whose input is always 1,
    so the unit's full Hessian is that of ``X̃ = [X, 1]``.
    """
    check_instance(variants, InputVariants, "variants")
    out: dict[str, dict[str, Any]] = {k: {} for k in ("m", "c", "r", "ev", "k", "k0")}
    for name in variants.names:
        X = variants.X[name]
        out["m"][name] = X.mean(axis=0)
        out["c"][name] = np.mean(X**2, axis=0)
        out["r"][name] = float(np.corrcoef(X[:, 0], X[:, 1])[0, 1])
        out["ev"][name] = preprocess.covariance_eigenvalues(X, bias=True)
        out["k"][name] = preprocess.condition_number(X, bias=True)
        out["k0"][name] = preprocess.condition_number(X)
    return HessianSpectra(
        names=variants.names,
        labels=dict(variants.labels),
        mean=out["m"],
        second_moment=out["c"],
        correlation=out["r"],
        eigenvalues=out["ev"],
        condition=out["k"],
        condition_no_bias=out["k0"],
    )


def gd_steps_predicted(condition: float, reduction: float) -> int:
    """Steps of gradient descent at the best single rate to cut the excess loss by ``reduction``.

    On a quadratic with curvatures ``λ_min … λ_max``, the rate ``η = 2/(λ_max + λ_min)``
    shrinks every error component by at least ``(κ − 1)/(κ + 1)`` per step, the excess loss by
    its square, so ``t = ln(1/reduction) / (2 ln((κ + 1)/(κ − 1))) ≈ (κ/4) ln(1/reduction)``
    steps suffice (the worst case over starting points, rounded up; 1 step when ``κ = 1``).
    """
    kappa = check_positive(condition, "condition")
    reduction = float(check_positive(reduction, "reduction"))
    if kappa < 1 or not 0 < reduction < 1:
        raise ValueError(
            f"condition must be >= 1 and reduction in (0, 1); got {kappa:g}, {reduction:g}"
        )
    if kappa - 1.0 < 1e-9:
        return 1  # η = 1/λ reaches the minimum in one step
    t = math.log(1.0 / reduction) / (2.0 * math.log((kappa + 1.0) / (kappa - 1.0)))
    return max(1, math.ceil(t))


# ---------------------------------------------------------------------------------------------
# Training speed
# ---------------------------------------------------------------------------------------------


class _FixedAffine(tnn.Module):
    """``x ↦ x A + b`` with fixed ``A``, ``b`` (buffers): a variant made from the clean inputs.

    Putting the map inside the model lets one :func:`ebp.many.fit_many` call train every variant
    at once on the shared clean inputs; the trainable layers see exactly the variant's inputs.
    """

    def __init__(self, A: np.ndarray, b: np.ndarray, dtype: torch.dtype) -> None:
        super().__init__()
        self.register_buffer("A", torch.as_tensor(A, dtype=dtype))
        self.register_buffer("b", torch.as_tensor(b, dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.A + self.b


MODELS: tuple[str, ...] = ("linear", "tanh")
"""The models :func:`training_speed` trains: a linear unit, or a small tanh network."""


def _least_squares_loss(X: np.ndarray, y: np.ndarray) -> float:
    """The smallest LMS loss ``½ mean(d − w·x − b)²`` of a linear unit with a bias."""
    Xb = np.hstack([X, np.ones((X.shape[0], 1))])
    w, *_ = np.linalg.lstsq(Xb, y, rcond=None)
    return float(0.5 * np.mean((Xb @ w - y) ** 2))


@dataclass(frozen=True)
class TrainingSpeed:
    """Epochs of full-batch gradient descent to a target loss, per variant, η and seed.

    Attributes
    ----------
    model
        ``"linear"`` (a linear unit with a bias) or ``"tanh"`` (a 2-h-1 network of
        ``1.7159 tanh(2x/3)`` units).
    names, labels
        The variants trained.
    etas, seeds
        The learning-rate grid ``(E,)`` and the seeds of the initial weights ``(S,)``.
    target_loss
        The loss to reach.
    min_loss
        The smallest loss of a linear unit with a bias (the same for every variant: they are
        affine maps of each other).
    max_epochs
        Training length; a run that does not reach the target counts ``inf`` epochs.
    epochs
        ``(E, S)`` epochs to the target per variant, ``inf`` if not reached (or diverged).
    final_loss
        ``(E, S)`` loss after the last epoch per variant (``inf`` for a diverged run).
    best_eta
        Per variant, the η of the grid with the smallest mean epochs over the seeds (if no η
        brings every seed to the target, the one with the smallest mean final loss).
    curves
        Per variant, the training loss at ``best_eta`` after every epoch, ``(S, max_epochs+1)``
        (NaN after a divergence).
    """

    model: str
    names: tuple[str, ...]
    labels: dict[str, str]
    etas: np.ndarray
    seeds: np.ndarray
    target_loss: float
    min_loss: float
    max_epochs: int
    epochs: dict[str, np.ndarray]
    final_loss: dict[str, np.ndarray]
    best_eta: dict[str, float]
    curves: dict[str, np.ndarray] = field(repr=False)

    def best(self, name: str) -> np.ndarray:
        """Epochs to the target at the variant's best η, one per seed ``(S,)``."""
        i = int(np.flatnonzero(self.etas == self.best_eta[name])[0])
        return self.epochs[name][i]

    def mean(self, name: str) -> float:
        """Mean epochs to the target at the best η (``inf`` if some seed did not reach it)."""
        return float(np.mean(self.best(name)))

    def spread(self, name: str) -> float:
        """Sample standard deviation of the epochs at the best η over the seeds."""
        v = self.best(name)
        return float(np.std(v, ddof=1)) if np.all(np.isfinite(v)) and v.size > 1 else math.nan

    def reached(self, name: str) -> bool:
        """Whether every seed reached the target at the best η."""
        return bool(np.all(np.isfinite(self.best(name))))


def _build(model: str, hidden: int, seed: int, dtype: torch.dtype) -> tnn.Sequential:
    if model == "linear":
        return nn.mlp((2, 1), seed=seed, dtype=dtype)
    return nn.mlp(
        (2, hidden, 1), activation="lecun_tanh", output_activation="lecun_tanh", seed=seed,
        dtype=dtype,
    )  # fmt: skip


def _check_variant_names(names: Sequence[str] | None, variants: InputVariants) -> tuple[str, ...]:
    if names is None:
        names = variants.names
    if isinstance(names, str):
        raise TypeError("names must be a sequence of variant names, not a string")
    names = tuple(check_choice(n, f"names[{i}]", variants.names) for i, n in enumerate(names))
    if not names:
        raise ValueError("names must name at least one variant")
    return names


def _check_eta_grid(etas: Sequence[float] | None) -> np.ndarray:
    grid = 2.0 ** np.arange(-2.0, 2.01, 0.5) if etas is None else etas
    grid = as_float_array(grid, "etas", ndim=1)
    if grid.size == 0 or np.any(grid <= 0):
        raise ValueError("etas must be a non-empty sequence of positive learning rates")
    return grid


def _check_fraction(value: float, name: str) -> float:
    """``value`` checked to lie in (0, 1)."""
    value = check_positive(value, name)
    if value >= 1:
        raise ValueError(f"{name} must be in (0, 1); got {value:g}")
    return value


def _fronted(
    variants: InputVariants, name: str, layers: tnn.Sequential, dtype: torch.dtype
) -> tnn.Sequential:
    """``layers`` behind the fixed affine map of variant ``name``."""
    return tnn.Sequential(_FixedAffine(variants.A[name], variants.b[name], dtype), *layers)


def _best_index(epochs: np.ndarray, final_loss: np.ndarray) -> int:
    """The rate (row) with the fewest seed-mean epochs to the target, the smallest among ties;
    when no rate reached it, the one with the lowest seed-mean final loss."""
    mean_epochs = epochs.mean(axis=1)
    if np.all(np.isinf(mean_epochs)):  # no η reached the target: the lowest final loss
        return int(np.argmin(final_loss.mean(axis=1)))
    return int(np.argmin(mean_epochs))  # the smallest η among ties


def training_speed(
    variants: InputVariants,
    *,
    model: str = "linear",
    names: Sequence[str] | None = None,
    etas: Sequence[float] | None = None,
    seeds: Sequence[int] = range(5),
    max_epochs: int = 600,
    tol: float = 1e-3,
    beat: float = 0.5,
    hidden: int = 4,
    dtype: torch.dtype = torch.float32,
) -> TrainingSpeed:
    """Epochs of full-batch gradient descent to a target loss on each variant, at its best η.

    Every model (variant × η × seed) is trained in one :func:`ebp.many.fit_many` call: the
    variant's fixed affine map ``x ↦ xA + b`` sits in front of the trainable layers, which thus
    see exactly the variant's inputs, while ``fit_many`` is given the shared clean inputs.
    The initial weights (LeCun's ``σ_w = m^{-1/2}``, §4.6) depend on the seed only, so every
    variant starts from the same weights.

    Parameters
    ----------
    variants
        From :func:`input_variants`.
    model
        ``"linear"``: a linear unit with a bias (LMS, the quadratic case); ``"tanh"``: a
        ``2-hidden-1`` network with ``1.7159 tanh(2x/3)`` hidden and output units, ±1 targets.
    names
        The variants to train (default: all).
    etas
        The learning-rate grid (default: ``2^k``, ``k = −2, −1.5, …, 2``).
    seeds
        Seeds of the initial weights, at least 5 distinct values for a spread.
    max_epochs
        Epochs per run (one update each).
    tol
        Target of the linear unit, in (0, 1): ``E_min + tol (E_0 − E_min)``, where ``E_min`` is
        the least-squares loss and ``E_0 = ½ mean(d²)`` that of the zero unit.
    beat
        Target of the tanh network, in (0, 1): ``beat · E_min``, a fraction of the loss of the
        best linear unit.
    hidden
        Hidden units of the tanh network.
    dtype
        Of the weights.
    """
    check_instance(variants, InputVariants, "variants")
    model = check_choice(model, "model", MODELS)
    names = _check_variant_names(names, variants)
    grid = _check_eta_grid(etas)
    if isinstance(seeds, (str, bytes)) or len(seeds) == 0:
        raise ValueError("seeds must be a non-empty sequence of ints")
    seeds = [check_int(s, f"seeds[{i}]", min_value=0) for i, s in enumerate(seeds)]
    max_epochs = check_int(max_epochs, "max_epochs", min_value=1)
    tol = _check_fraction(tol, "tol")
    beat = _check_fraction(beat, "beat")
    hidden = check_int(hidden, "hidden", min_value=1)

    X0, y = variants.X["clean"], variants.y
    e_min = _least_squares_loss(X0, y)
    e_zero = 0.5 * float(np.mean(y**2))
    target = e_min + tol * (e_zero - e_min) if model == "linear" else beat * e_min

    models, eta_k = [], []
    for name in names:
        for eta in grid:
            for s in seeds:
                models.append(_fronted(variants, name, _build(model, hidden, s, dtype), dtype))
                eta_k.append(float(eta))
    result = fit_many(models, X0, y, loss="mse", eta=eta_k, epochs=max_epochs)
    losses = result.train_loss  # (K, T), NaN after a divergence
    below = np.nan_to_num(losses, nan=np.inf) <= target
    first = np.where(below.any(axis=1), below.argmax(axis=1), np.inf)

    final = result.final_train_loss  # a diverged model's last finite loss
    final = np.where(result.diverged, np.inf, final)
    E, S = grid.size, len(seeds)
    epochs, final_loss, best_eta, curves = {}, {}, {}, {}
    for v, name in enumerate(names):
        block = first[v * E * S : (v + 1) * E * S].reshape(E, S)
        epochs[name] = block
        final_loss[name] = final[v * E * S : (v + 1) * E * S].reshape(E, S)
        i = _best_index(block, final_loss[name])
        best_eta[name] = float(grid[i])
        rows = slice((v * E + i) * S, (v * E + i + 1) * S)
        curve = np.full((S, max_epochs + 1), np.nan)
        curve[:, : losses.shape[1]] = losses[rows]
        curves[name] = curve
    return TrainingSpeed(
        model=model,
        names=names,
        labels={n: variants.labels[n] for n in names},
        etas=grid,
        seeds=np.asarray(seeds),
        target_loss=float(target),
        min_loss=e_min,
        max_epochs=max_epochs,
        epochs=epochs,
        final_loss=final_loss,
        best_eta=best_eta,
        curves=curves,
    )


# ---------------------------------------------------------------------------------------------
# Error surface of a two-weight linear unit
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorSurface:
    """The LMS error surface of a two-weight linear unit ``o = w·x`` (no bias) on a grid.

    Attributes
    ----------
    label
        What inputs it was computed on.
    w1, w2
        Grid coordinates, ``(G,)`` each.
    E
        ``E(w) = ½ mean(d − w·x)²`` on the grid, ``(G, G)``, indexed ``[j, i]`` for
        ``(w1[i], w2[j])``.
    w_star, E_min
        The minimum and its loss.
    H
        The Hessian ``XᵀX/P`` (eq 29), ``(2, 2)``; ``eigenvalues`` largest first.
    eta
        The rate of the path, ``2/(λ_max + λ_min)`` unless given.
    path
        Weights of gradient descent from ``w0``, ``(n_steps + 1, 2)``.
    """

    label: str
    w1: np.ndarray
    w2: np.ndarray
    E: np.ndarray
    w_star: np.ndarray
    E_min: float
    H: np.ndarray
    eigenvalues: np.ndarray
    eta: float
    path: np.ndarray

    @property
    def condition(self) -> float:
        """``κ = λ_max/λ_min`` of ``H``."""
        return float(self.eigenvalues[0] / self.eigenvalues[-1])

    def loss(self, w: Any) -> np.ndarray:
        """``E(w)`` for weights ``w`` of shape ``(…, 2)``, from the closed form."""
        d = np.asarray(w, dtype=float) - self.w_star
        return self.E_min + 0.5 * np.einsum("...i,ij,...j->...", d, self.H, d)

    def steps_to(self, excess: float) -> int | None:
        """First step of the path with ``E − E_min ≤ excess``; ``None`` if never."""
        ok = np.flatnonzero(self.loss(self.path) - self.E_min <= excess)
        return int(ok[0]) if ok.size else None


def error_surface(
    X: Any,
    y: Any,
    *,
    label: str = "",
    w0: Sequence[float] = (0.0, 0.0),
    eta: float | None = None,
    n_steps: int = 30,
    grid: int = 201,
    margin: float = 0.15,
) -> ErrorSurface:
    """The exact error surface of ``o = w·x`` on ``(X, y)`` and a gradient-descent path on it.

    The LMS cost is exactly quadratic: ``E(w) = E_min + ½ (w − w*)ᵀ H (w − w*)`` with
    ``H = XᵀX/P`` (eq 29) and ``w*`` the least-squares weights.  The grid is square in weight
    units (so circles look like circles), centred on ``w*`` and wide enough for ``w0`` and the
    path.

    Parameters
    ----------
    X, y
        Inputs ``(P, 2)`` and targets ``(P,)`` or ``(P, 1)``.
    label
        Stored for the figure.
    w0
        Starting weights.
    eta
        Rate of the path; default ``2/(λ_max + λ_min)``, the best single rate on a quadratic.
    n_steps
        Steps of the path.
    grid
        Grid points per axis.
    margin
        Extra room around the path, as a fraction of the grid's half-width.
    """
    X = as_float_array(X, "X", ndim=2, shape=(None, 2))
    y = as_float_array(y, "y").reshape(-1)
    if y.size != X.shape[0]:
        raise ValueError(f"y must have one target per row of X ({X.shape[0]}); got {y.size}")
    w0 = as_float_array(w0, "w0", shape=(2,))
    n_steps = check_int(n_steps, "n_steps", min_value=1)
    grid = check_int(grid, "grid", min_value=3)
    margin = check_positive(margin, "margin", allow_zero=True)
    P = X.shape[0]
    H = X.T @ X / P
    g = X.T @ y / P
    lam = np.linalg.eigvalsh(H)[::-1]
    if lam[-1] <= lam[0] * 1e-12:
        raise ValueError("X's second-moment matrix is singular; the minimum is not unique")
    w_star = np.linalg.solve(H, g)
    e_min = float(0.5 * np.mean((X @ w_star - y) ** 2))
    eta = 2.0 / (lam[0] + lam[-1]) if eta is None else check_positive(eta, "eta")
    path = np.empty((n_steps + 1, 2))
    path[0] = w0
    for t in range(n_steps):
        path[t + 1] = path[t] - eta * (H @ path[t] - g)  # ∂E/∂w = Hw − Xᵀd/P
    half = (1.0 + margin) * float(np.max(np.abs(path - w_star)))
    w1 = w_star[0] + np.linspace(-half, half, grid)
    w2 = w_star[1] + np.linspace(-half, half, grid)
    W = np.stack(np.meshgrid(w1, w2), axis=-1)
    # ½ mean_p (d − w·x)² expanded: ½ wᵀHw − wᵀ(Xᵀd/P) + ½ mean(d²), exact for every w.
    E = 0.5 * np.einsum("...i,ij,...j->...", W, H, W) - W @ g + 0.5 * float(np.mean(y**2))
    return ErrorSurface(
        label=label,
        w1=w1,
        w2=w2,
        E=E,
        w_star=w_star,
        E_min=e_min,
        H=H,
        eigenvalues=lam.copy(),
        eta=float(eta),
        path=path,
    )


# ---------------------------------------------------------------------------------------------
# Fit on the training set, apply to the test set
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainTestWhitening:
    """A whitening fitted on spoiled training inputs and applied to spoiled test inputs.

    Attributes
    ----------
    train_eigenvalues, test_eigenvalues
        Eigenvalues of the covariance of the transformed training and test inputs.
    train_mean, test_mean
        Their means.
    test_loss
        LMS test loss of the least-squares linear unit with a bias fitted on the training set:
        ``"raw"`` on the spoiled inputs, ``"train_fit"`` on the inputs whitened with the
        training set's transform, ``"test_refit"`` with the test inputs whitened by a second
        transform fitted on the test set itself (the mistake).
    """

    train_eigenvalues: np.ndarray
    test_eigenvalues: np.ndarray
    train_mean: np.ndarray
    test_mean: np.ndarray
    test_loss: dict[str, float]
    n_train: int
    n_test: int


def _fit_predict(X: np.ndarray, y: np.ndarray, X_test: np.ndarray, y_test: np.ndarray) -> float:
    Xb = np.hstack([X, np.ones((X.shape[0], 1))])
    w, *_ = np.linalg.lstsq(Xb, y, rcond=None)
    Xt = np.hstack([X_test, np.ones((X_test.shape[0], 1))])
    return float(0.5 * np.mean((Xt @ w - y_test) ** 2))


def train_test_whitening(
    n_train: int = 100,
    n_test: int = 100,
    *,
    transform: str = "pca",
    offset: float | Sequence[float] = 1.0,
    scales: float | Sequence[float] = (1.0, 0.3),
    rho: float = 0.8,
    separation: float = 3.0,
    angle: float = 60.0,
    seed: int = 0,
) -> TrainTestWhitening:
    """Whiten spoiled inputs the right way (fit on train, apply to both) and the wrong way.

    Training set: :func:`clean_two_classes` ``(n_train, seed=seed)`` spoiled by :func:`spoil`.
    Test set: fresh i.i.d. draws (``exact=False``, seed ``seed + 1``) spoiled the same way.

    Parameters
    ----------
    transform
        ``"pca"`` (:class:`ebp.preprocess.PCAWhiten`) or ``"zca"``
        (:class:`ebp.preprocess.ZCAWhiten`).
    offset, scales, rho
        The spoiling (:func:`spoil`).
    separation, angle, seed
        Of the clean classes (:func:`clean_two_classes`).
    """
    transform = check_choice(transform, "transform", ("pca", "zca"))
    seed = check_int(seed, "seed", min_value=0)
    cls = preprocess.PCAWhiten if transform == "pca" else preprocess.ZCAWhiten
    train = clean_two_classes(n_train, separation=separation, angle=angle, seed=seed)
    test = clean_two_classes(n_test, separation=separation, angle=angle, seed=seed + 1, exact=False)
    X_tr = spoil(train.X, offset=offset, scales=scales, rho=rho)
    X_te = spoil(test.X, offset=offset, scales=scales, rho=rho)

    white = cls().fit(X_tr)
    Z_tr, Z_te = white.transform(X_tr), white.transform(X_te)
    Z_te_wrong = cls().fit_transform(X_te)
    losses = {
        "raw": _fit_predict(X_tr, train.y, X_te, test.y),
        "train_fit": _fit_predict(Z_tr, train.y, Z_te, test.y),
        "test_refit": _fit_predict(Z_tr, train.y, Z_te_wrong, test.y),
    }
    return TrainTestWhitening(
        train_eigenvalues=preprocess.covariance_eigenvalues(Z_tr, center=True),
        test_eigenvalues=preprocess.covariance_eigenvalues(Z_te, center=True),
        train_mean=Z_tr.mean(axis=0),
        test_mean=Z_te.mean(axis=0),
        test_loss=losses,
        n_train=int(n_train),
        n_test=int(n_test),
    )
