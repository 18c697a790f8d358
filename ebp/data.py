"""Data sets of the book, and target encodings.

Everything here is generated or loaded locally (no download) and is seeded, so the same call
returns the same arrays on every machine.  Arrays are float64 NumPy arrays with one pattern per
row; class labels are ``int64``.

- :func:`digits`: scikit-learn's bundled 8×8 handwritten digits (1797 images), standing in for
  the paper's OCR data, split into fixed stratified train / (validation) / test sets.
- :func:`quadratic_bowl`: the regression ``z = 5a² + 3b²``.
- :func:`encode_targets`: class labels → target vectors (one-hot, ±1, …, paper §4.5).
- :func:`two_gaussians`: the two Gaussian classes of Figs 9/10 (§5.2), as a :class:`Dataset`.
- :func:`fig13_classes`: the 1-D classes N(∓1, σ = 0.4) of Figs 13/14 (§5.2).
- :func:`redundant`, :func:`redundant_two_gaussians`: k copies of n patterns (§4.1).
- :func:`add_offset`, :func:`scale_columns`, :func:`correlate`: transforms that spoil the inputs on
  purpose (a mean offset, unequal scales, correlation; §4.3 and §5.3).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ebp._validate import (
    as_float_array,
    check_choice,
    check_in_range,
    check_int,
    check_positive,
    describe,
    real_array,
)

__all__ = [
    "TARGET_SCHEMES",
    "Dataset",
    "Split",
    "add_offset",
    "correlate",
    "digits",
    "encode_targets",
    "fig13_classes",
    "quadratic_bowl",
    "redundant",
    "redundant_two_gaussians",
    "scale_columns",
    "two_gaussians",
]


@dataclass(frozen=True)
class Split:
    """A labelled data set split into training, optional validation, and test parts.

    Attributes
    ----------
    X_train, X_test
        Inputs, float64, shape ``(P, n_features)``.
    y_train, y_test
        Class labels, int64, shape ``(P,)``.
    X_val, y_val
        The validation part, or ``None`` when none was asked for.
    n_classes
        Number of classes (labels lie in ``0 … n_classes − 1``).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None

    @property
    def n_train(self) -> int:
        """Number of training patterns."""
        return int(self.X_train.shape[0])

    @property
    def n_val(self) -> int:
        """Number of validation patterns (0 if there is no validation part)."""
        return 0 if self.X_val is None else int(self.X_val.shape[0])

    @property
    def n_test(self) -> int:
        """Number of test patterns."""
        return int(self.X_test.shape[0])

    @property
    def n_features(self) -> int:
        """Number of inputs per pattern."""
        return int(self.X_train.shape[1])


# ---------------------------------------------------------------------------------------------
# Handwritten digits
# ---------------------------------------------------------------------------------------------


def _stratified_take(
    y: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of ``n`` patterns drawn so class proportions follow ``y``, and the remaining ones.

    Each class gets ``n`` times its share, rounded by the largest-remainder rule (ties go to the
    lower label), so the result is exact and deterministic for a given ``rng``.
    """
    classes, counts = np.unique(y, return_counts=True)
    quota = n * counts / counts.sum()
    take = np.floor(quota).astype(int)
    remainder = quota - take
    short = n - int(take.sum())
    if short > 0:
        order = np.lexsort((classes, -remainder))  # largest remainder first, then lower label
        take[order[:short]] += 1
    chosen = []
    for c, k in zip(classes, take, strict=True):
        members = np.flatnonzero(y == c)
        chosen.append(rng.permutation(members)[:k])
    picked = np.sort(np.concatenate(chosen))
    rest = np.setdiff1d(np.arange(y.size), picked, assume_unique=True)
    return picked, rest


def _standardize(parts: list[np.ndarray | None]) -> list[np.ndarray | None]:
    """Center and scale every column with the first part's (training) mean and std.

    Columns that are constant on the training part are only centred.
    """
    train = parts[0]
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std[std == 0] = 1.0
    return [None if p is None else (p - mean) / std for p in parts]


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 images scaled to [0, 1] and their labels, read once (read-only arrays: every
    part :func:`digits` returns is a copy taken by fancy indexing)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X = bunch.data.astype(np.float64) / 16.0
    y = bunch.target.astype(np.int64)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def digits(
    *,
    n_train: int | None = None,
    n_val: int = 0,
    test_size: float = 0.25,
    seed: int = 0,
    standardize: bool = False,
) -> Split:
    """scikit-learn's 8×8 handwritten digits, split into stratified train/validation/test sets.

    The 1797 images (about 180 per digit; Alpaydin & Kaynak's UCI optical-digits test set) are
    bundled with scikit-learn, so nothing is downloaded.  Each image becomes 64 pixel values,
    scaled from 0…16 to [0, 1].

    The split is made in three stratified steps, all driven by ``seed``: first a test set of
    ``test_size`` of the data; then, from the rest, ``n_val`` validation patterns; then, if
    ``n_train`` is given, a training subset of that size from what is left (otherwise all of
    it).  Class proportions are kept in every part, to within one pattern per class.

    Parameters
    ----------
    n_train
        Number of training patterns (≥ the number of classes, 10); ``None`` for all that remain.
    n_val
        Number of validation patterns (0 for none).
    test_size
        Fraction of the 1797 images in the test set, in (0, 1).
    seed
        Seed of the split (non-negative int).
    standardize
        If true, every pixel is centred and scaled with the training part's mean and standard
        deviation (applied unchanged to validation and test; constant pixels are only centred).

    Returns
    -------
    Split
        ``X_*`` float64 ``(P, 64)``, ``y_*`` int64 ``(P,)``, ``n_classes = 10``.
    """
    test_size = check_in_range(
        test_size, "test_size", 0.0, 1.0, low_inclusive=False, high_inclusive=False
    )
    seed = check_int(seed, "seed", min_value=0)
    n_val = check_int(n_val, "n_val", min_value=0)
    if n_train is not None:
        n_train = check_int(n_train, "n_train", min_value=1)
    if not isinstance(standardize, (bool, np.bool_)):
        raise TypeError(f"standardize must be a bool; got {type(standardize).__name__}")

    X, y = _digits_arrays()
    n_classes = int(y.max()) + 1
    n_test = round(test_size * y.size)
    if not n_classes <= n_test <= y.size - n_classes:
        raise ValueError(
            f"test_size must leave at least {n_classes} patterns in each of the test and "
            f"training parts; got {test_size:g} ({n_test} test patterns)"
        )
    rng = np.random.default_rng(seed)
    test_idx, pool = _stratified_take(y, n_test, rng)

    available = pool.size - n_val
    if n_val > 0:
        if n_val < n_classes or available < n_classes:
            raise ValueError(
                f"n_val must be 0 or between {n_classes} and {pool.size - n_classes} "
                f"(the patterns left after the test split); got {n_val}"
            )
        picked, rest = _stratified_take(y[pool], n_val, rng)
        val_idx, pool = pool[picked], pool[rest]
    else:
        val_idx = None
    if n_train is not None:
        if not n_classes <= n_train <= pool.size:
            raise ValueError(
                f"n_train must be between {n_classes} and {pool.size} (the patterns left after "
                f"the test and validation splits); got {n_train}"
            )
        picked, _ = _stratified_take(y[pool], n_train, rng)
        pool = pool[picked]
    train_idx = pool

    parts = [X[train_idx], None if val_idx is None else X[val_idx], X[test_idx]]
    if standardize:
        parts = _standardize(parts)
    X_train, X_val, X_test = parts
    return Split(
        X_train=X_train,
        y_train=y[train_idx],
        X_test=X_test,
        y_test=y[test_idx],
        n_classes=n_classes,
        X_val=X_val,
        y_val=None if val_idx is None else y[val_idx],
    )


# ---------------------------------------------------------------------------------------------
# Regression
# ---------------------------------------------------------------------------------------------


def quadratic_bowl(
    n: int,
    *,
    seed: int = 0,
    low: float = -1.0,
    high: float = 1.0,
    noise: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The regression ``z = 5a² + 3b²`` on inputs drawn uniformly from a square.

    Parameters
    ----------
    n
        Number of patterns (≥ 1).
    seed
        Seed of the inputs and the noise.
    low, high
        Each input ``a``, ``b`` is drawn from ``U(low, high)``; ``low < high``.
    noise
        Standard deviation of Gaussian noise added to ``z`` (≥ 0).

    Returns
    -------
    X : numpy.ndarray
        Inputs ``(a, b)``, shape ``(n, 2)``.
    z : numpy.ndarray
        Targets, shape ``(n, 1)``.
    """
    n = check_int(n, "n", min_value=1)
    seed = check_int(seed, "seed", min_value=0)
    low = check_in_range(low, "low")
    high = check_in_range(high, "high")
    if not low < high:
        raise ValueError(f"high must be greater than low; got low={low:g}, high={high:g}")
    noise = check_positive(noise, "noise", allow_zero=True)
    rng = np.random.default_rng(seed)
    with np.errstate(over="ignore", invalid="ignore"):
        X = rng.uniform(low, high, size=(n, 2))
        z = 5.0 * X[:, :1] ** 2 + 3.0 * X[:, 1:] ** 2
        if noise > 0:
            z = z + noise * rng.standard_normal(z.shape)
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(z))):
        raise ValueError(
            f"low and high are too large: the inputs in [{low:g}, {high:g}] (or z = 5a² + 3b² of "
            f"them, plus noise {noise:g}) overflow float64"
        )
    return X, z


# ---------------------------------------------------------------------------------------------
# Target encodings (paper §4.5)
# ---------------------------------------------------------------------------------------------

TARGET_SCHEMES: dict[str, Callable[[float], tuple[float, float]]] = {
    "one_hot": lambda value: (value, 0.0),
    "pm1": lambda value: (value, -value),
    "zero_one": lambda value: (0.5 + value / 2.0, 0.5 - value / 2.0),
}
"""Target schemes, name → function of ``value`` giving (target of the true class, of the others).

``"one_hot"``: ``value`` and 0; ``"pm1"``: ``+value`` and ``−value`` (the paper's ±1 targets for
its symmetric sigmoid when ``value = 1``); ``"zero_one"``: ``0.5 ± value/2``, targets inside
[0, 1] for a logistic output (``value = 1`` gives 1/0, ``value = 0.8`` gives 0.9/0.1, away from
the asymptotes as §4.5 advises).
"""


def _check_labels(y: Any, name: str) -> np.ndarray:
    if isinstance(y, (str, bytes)) or y is None:
        raise TypeError(f"{name} must be an array of integer class labels; got {type(y).__name__}")
    raw = real_array(y, name)
    if raw.dtype == np.bool_ or raw.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer class labels; got dtype {raw.dtype}")
    if raw.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional (one label per pattern); got {raw.shape}")
    return raw.astype(np.int64)


def encode_targets(
    y: Any,
    n_classes: int,
    scheme: str = "one_hot",
    value: float = 1.0,
) -> np.ndarray:
    """Turn class labels into target vectors, one row per pattern.

    Parameters
    ----------
    y
        Integer class labels, shape ``(P,)``, in ``0 … n_classes − 1``.
    n_classes
        Number of classes, K ≥ 2.
    scheme
        One of :data:`TARGET_SCHEMES`: ``"one_hot"`` (``value`` / 0), ``"pm1"`` (``±value``),
        ``"zero_one"`` (``0.5 ± value/2``).
    value
        The scheme's amplitude, > 0 (≤ 1 for ``"zero_one"``).

    Returns
    -------
    numpy.ndarray
        Targets, float64, shape ``(P, n_classes)``.

    Examples
    --------
    >>> encode_targets([2, 0], 3, "pm1")
    array([[-1., -1.,  1.],
           [ 1., -1., -1.]])
    """
    labels = _check_labels(y, "y")
    n_classes = check_int(n_classes, "n_classes", min_value=2)
    scheme = check_choice(scheme, "scheme", TARGET_SCHEMES)
    value = check_positive(value, "value")
    if scheme == "zero_one" and value > 1:
        raise ValueError(
            f"value must be <= 1 for scheme='zero_one' (targets in [0, 1]); got {value}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"y must hold labels in [0, {n_classes - 1}] for n_classes={n_classes}; got values "
            f"in [{labels.min()}, {labels.max()}] ({describe(y)})"
        )
    on, off = TARGET_SCHEMES[scheme](value)
    targets = np.full((labels.size, n_classes), off, dtype=np.float64)
    targets[np.arange(labels.size), labels] = on
    return targets


# ---------------------------------------------------------------------------------------------
# The toy sets of §5.2 and the redundant set of §4.1
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """Inputs and targets of a small labelled data set, with a name for figure titles.

    It unpacks like a pair: ``X, y = two_gaussians()``.

    Attributes
    ----------
    X
        Inputs, float64, shape ``(P, n_features)``.
    y
        Targets, float64, shape ``(P, 1)``; ``±1`` for the paper's two-class sets (§4.5).
    name
        A short description, e.g. ``"two Gaussians (Fig 9/10)"``.
    """

    X: np.ndarray
    y: np.ndarray
    name: str

    def __iter__(self) -> Iterator[np.ndarray]:
        """Iterate over ``(X, y)``, so that a data set unpacks like a tuple."""
        return iter((self.X, self.y))

    @property
    def n_patterns(self) -> int:
        """Number of patterns ``P``."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of inputs per pattern."""
        return int(self.X.shape[1])

    @property
    def labels(self) -> np.ndarray:
        """Class labels, int64 ``(P,)``: 1 where the first target is positive, else 0."""
        return (self.y[:, 0] > 0).astype(np.int64)


FIG10_CLASS_VARIANCE = 0.036
"""Per-class isotropic variance ``s²`` of :func:`two_gaussians` (see its derivation)."""


def _check_means(means: Any) -> np.ndarray:
    arr = as_float_array(means, "means", ndim=2)
    if arr.shape[0] != 2 or arr.shape[1] < 1:
        raise ValueError(
            f"means must hold two points, shape (2, n_features); got shape {arr.shape}"
        )
    return arr


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool; got {type(value).__name__}")
    return bool(value)


def _whiten_sample(E: np.ndarray) -> np.ndarray:
    """``E`` centred and rotated/scaled so that its sample covariance (``1/P``) is exactly ``I``."""
    E = E - E.mean(axis=0)
    lam, U = np.linalg.eigh(E.T @ E / E.shape[0])
    return E @ (U / np.sqrt(lam)) @ U.T


def two_gaussians(
    n: int = 100,
    *,
    seed: int = 0,
    means: Any = ((-0.4, -0.8), (0.4, 0.8)),
    class_std: float | None = None,
    exact: bool = True,
    shuffle: bool = True,
) -> Dataset:
    """The two Gaussian classes of Figs 9/10 (§5.2): ``n/2`` points each, targets ``∓1``.

    Class 0 (target −1) is drawn from ``N(means[0], s² I)``, class 1 (target +1) from
    ``N(means[1], s² I)``.  The paper gives the means and the input covariance's eigenvalues
    (≈ 0.84 and ≈ 0.036) but not ``s``; it follows from them.  With ``means = ±μ`` and equal
    class sizes, the inputs have mean 0 and covariance ``s² I + μ μᵀ``: the between-class part
    ``μ μᵀ`` adds ``‖μ‖²`` along ``μ`` only.  Its eigenvalues are therefore ``s² + ‖μ‖²``
    (along ``μ``) and ``s²`` (across it).  With ``μ = (0.4, 0.8)``, ``‖μ‖² = 0.16 + 0.64 = 0.8``,
    so ``s² = 0.036`` gives ``0.836 ≈ 0.84`` and ``0.036``: the default ``class_std = √0.036``.

    The eigenvalues of an i.i.d. sample of 100 points scatter around these values (the smaller by
    about ±14 % from seed to seed: a variance estimated from ``P`` points has relative spread
    ``√(2/P)``).  With ``exact=True`` (the default) each class's Gaussian noise is drawn and then
    whitened and rescaled so that its *sample* mean is exactly 0 and its *sample* covariance
    (with ``1/(n/2)``) exactly ``s² I``; the points still look like a Gaussian sample, but the
    data's covariance, and so the LMS Hessian ``XᵀX/P`` (eq 29), has exactly the eigenvalues
    ``s² + ‖μ‖²`` and ``s²`` whatever the seed, as the paper's sample had.

    Parameters
    ----------
    n
        Number of points, even, ≥ 2.
    seed
        Seed of the draw (and of the shuffle).
    means
        The two class centres, shape ``(2, n_features)``.
    class_std
        Per-class isotropic standard deviation ``s > 0``; ``None`` for ``√0.036 ≈ 0.190``.
    exact
        Make each class's sample mean and covariance exactly ``means[k]`` and ``s² I`` (needs
        ``n/2 > n_features``); ``False`` for plain i.i.d. draws.
    shuffle
        If true, the rows come in a random (seeded) order; otherwise class 0 first.

    Returns
    -------
    Dataset
        ``X`` of shape ``(n, n_features)``, ``y`` of shape ``(n, 1)`` with entries ``±1``.
    """
    n = check_int(n, "n", min_value=2)
    if n % 2:
        raise ValueError(f"n must be even (n/2 points per class); got {n}")
    seed = check_int(seed, "seed", min_value=0)
    centres = _check_means(means)
    s = math.sqrt(FIG10_CLASS_VARIANCE) if class_std is None else class_std
    s = check_positive(s, "class_std")
    _check_bool(exact, "exact")
    _check_bool(shuffle, "shuffle")
    half = n // 2
    d = centres.shape[1]
    if exact and half <= d:
        raise ValueError(
            f"n must be > {2 * d} with exact=True (each class needs more than {d} points for its "
            f"sample covariance to be s² I); got {n}"
        )
    rng = np.random.default_rng(seed)
    noise = [rng.standard_normal((half, d)) for _ in centres]
    if exact:
        noise = [_whiten_sample(e) for e in noise]
    X = np.concatenate([c + s * e for c, e in zip(centres, noise, strict=True)])
    y = np.concatenate([np.full((half, 1), -1.0), np.full((half, 1), 1.0)])
    if shuffle:
        order = rng.permutation(n)
        X, y = X[order], y[order]
    return Dataset(X=X, y=y, name="two Gaussians (Fig 9/10)")


def fig13_classes(
    n_per_class: int = 10,
    *,
    seed: int = 0,
    centers: tuple[float, float] = (-1.0, 1.0),
    std: float = 0.4,
    shuffle: bool = True,
) -> Dataset:
    """The 1-D two-class set of Figs 13/14 (§5.2), learnt there by a 1-1-1 network.

    Class 0 is drawn from ``N(centers[0], std²)`` with target −1, class 1 from
    ``N(centers[1], std²)`` with target +1 (the paper: ``N(∓1, σ = 0.4)``, 10 examples each,
    targets ∓1).

    Parameters
    ----------
    n_per_class
        Examples per class (≥ 1).
    seed
        Seed of the draw and the shuffle.
    centers
        The two class means.
    std
        The classes' standard deviation, > 0.
    shuffle
        If true, the rows come in a random (seeded) order; otherwise class 0 first.

    Returns
    -------
    Dataset
        ``X`` and ``y`` of shape ``(2 n_per_class, 1)``.
    """
    n_per_class = check_int(n_per_class, "n_per_class", min_value=1)
    seed = check_int(seed, "seed", min_value=0)
    c = as_float_array(centers, "centers", shape=(2,))
    std = check_positive(std, "std")
    _check_bool(shuffle, "shuffle")
    rng = np.random.default_rng(seed)
    X = np.concatenate([m + std * rng.standard_normal((n_per_class, 1)) for m in c])
    y = np.concatenate([np.full((n_per_class, 1), -1.0), np.full((n_per_class, 1), 1.0)])
    if shuffle:
        order = rng.permutation(X.shape[0])
        X, y = X[order], y[order]
    return Dataset(X=X, y=y, name="1-D classes N(∓1, 0.4²) (Fig 13/14)")


def redundant(X: Any, y: Any, copies: int) -> tuple[np.ndarray, np.ndarray]:
    """``copies`` copies of the ``n`` patterns ``(X, y)``, stacked block after block (§4.1).

    The paper's example of a redundant training set is 1000 patterns made of 10 copies of the
    same 100: a batch gradient costs 10× more than on the 100 patterns and tells nothing more,
    while stochastic learning sees the same information 10× sooner.

    Parameters
    ----------
    X
        Inputs, shape ``(n, …)``.
    y
        Targets or labels, with the same number of rows as ``X``.
    copies
        Number of copies ``k`` (≥ 1).

    Returns
    -------
    X_rep, y_rep : numpy.ndarray
        ``k·n`` rows; rows ``i·n … (i+1)·n − 1`` equal ``X`` (resp. ``y``) for every block ``i``.
    """
    X = as_float_array(X, "X")
    if X.ndim < 1 or X.shape[0] < 1:
        raise ValueError(f"X must have at least one pattern (row); got shape {X.shape}")
    y_arr = real_array(y, "y")
    if y_arr.ndim < 1 or y_arr.shape[0] != X.shape[0]:
        raise ValueError(f"y must have as many rows as X ({X.shape[0]}); got shape {y_arr.shape}")
    copies = check_int(copies, "copies", min_value=1)
    reps_X = (copies,) + (1,) * (X.ndim - 1)
    reps_y = (copies,) + (1,) * (y_arr.ndim - 1)
    return np.tile(X, reps_X), np.tile(y_arr, reps_y)


def redundant_two_gaussians(n: int = 100, copies: int = 10, *, seed: int = 0) -> Dataset:
    """``copies`` copies of :func:`two_gaussians` ``(n, seed=seed)``: §4.1's redundant set.

    The default is the paper's example, 1000 patterns = 10 copies of 100 (target R5).
    """
    base = two_gaussians(n, seed=seed)
    copies = check_int(copies, "copies", min_value=1)
    X, y = redundant(base.X, base.y, copies)
    return Dataset(X=X, y=y, name=f"{copies} copies of {n} two-Gaussian patterns (§4.1)")


# ---------------------------------------------------------------------------------------------
# Transforms that spoil the inputs on purpose (§4.3, §5.3)
# ---------------------------------------------------------------------------------------------


def _check_X(X: Any) -> np.ndarray:
    X = as_float_array(X, "X", ndim=2)
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"X must have at least one row and one column; got shape {X.shape}")
    return X


def _finite_result(out: np.ndarray, what: str, X: np.ndarray, name: str) -> np.ndarray:
    """``out``, after checking that computing it from ``X`` and ``name`` did not overflow."""
    if not np.all(np.isfinite(out)):
        raise ValueError(
            f"X and {name} are too large: {what} overflows float64 (largest |X| = "
            f"{float(np.max(np.abs(X))):.3g}); rescale X first"
        )
    return out


def _per_column(value: Any, name: str, n_columns: int) -> np.ndarray:
    """A scalar or one value per column, as a float array of shape ``(n_columns,)``."""
    arr = as_float_array(value, name)
    if arr.ndim == 0:
        return np.full(n_columns, float(arr))
    if arr.shape != (n_columns,):
        raise ValueError(
            f"{name} must be a number or have one entry per column of X, shape ({n_columns},); "
            f"got shape {arr.shape}"
        )
    return arr


def add_offset(X: Any, c: Any) -> np.ndarray:
    """``X + c``: shift the inputs' mean away from zero (§5.3: a mean ``c`` adds an eigenvalue
    of order ``c²`` to the LMS Hessian, eq 29).

    Parameters
    ----------
    X
        Inputs, shape ``(P, n)``.
    c
        A number (added to every column) or one offset per column, shape ``(n,)``.
    """
    X = _check_X(X)
    offset = _per_column(c, "c", X.shape[1])
    with np.errstate(over="ignore", invalid="ignore"):
        return _finite_result(X + offset, "X + c", X, "c")


def scale_columns(X: Any, scales: Any) -> np.ndarray:
    """``X · diag(scales)``: give the inputs unequal variances (§4.3, §5.3).

    Parameters
    ----------
    X
        Inputs, shape ``(P, n)``.
    scales
        One factor per column, shape ``(n,)``, each > 0 (or a single number for all).
    """
    X = _check_X(X)
    s = _per_column(scales, "scales", X.shape[1])
    if np.any(s <= 0):
        bad = int(np.flatnonzero(s <= 0)[0])
        raise ValueError(f"scales must all be > 0; got scales[{bad}] = {s[bad]:g}")
    with np.errstate(over="ignore", invalid="ignore"):
        return _finite_result(X * s, "X · diag(scales)", X, "scales")


def _correlation_matrix(rho: Any, n: int) -> np.ndarray:
    arr = as_float_array(rho, "rho")
    if arr.ndim == 0:
        r = float(arr)
        low = -1.0 / (n - 1)
        if not low < r < 1.0:
            raise ValueError(
                f"rho must be in ({low:g}, 1) for {n} columns (so the correlation matrix is "
                f"positive definite); got {r:g}"
            )
        C = np.full((n, n), r)
        np.fill_diagonal(C, 1.0)
        return C
    if arr.shape != (n, n):
        raise ValueError(
            f"rho must be a number or an ({n}, {n}) correlation matrix; got shape {arr.shape}"
        )
    if not np.allclose(arr, arr.T, rtol=0.0, atol=1e-12):
        raise ValueError("rho must be a symmetric matrix")
    if not np.allclose(np.diag(arr), 1.0, rtol=0.0, atol=1e-12):
        raise ValueError("rho must have ones on its diagonal (a correlation matrix)")
    return (arr + arr.T) / 2.0


def correlate(X: Any, rho: Any) -> np.ndarray:
    """Mix the columns of ``X`` so that they become correlated: ``X Lᵀ`` with ``L Lᵀ = R``.

    ``L`` is the Cholesky factor of the correlation matrix ``R``.  If the columns of ``X`` are
    uncorrelated with equal variance ``σ²`` (e.g. after whitening, or fresh ``N(0, 1)`` draws),
    the result's columns have variance ``σ²`` and correlation matrix ``R`` (§4.3: correlated
    inputs slow learning; decorrelation undoes this).  Each row of ``L`` has unit norm, so the
    variance of every column is kept.

    Parameters
    ----------
    X
        Inputs, shape ``(P, n)``, ``n ≥ 2``.
    rho
        A number, the correlation between every pair of columns (in ``(−1/(n−1), 1)``), or a full
        ``(n, n)`` correlation matrix (symmetric, unit diagonal, positive definite).

    Returns
    -------
    numpy.ndarray
        The mixed inputs, shape ``(P, n)``.
    """
    X = _check_X(X)
    n = X.shape[1]
    if n < 2:
        raise ValueError(f"X must have at least 2 columns to correlate; got shape {X.shape}")
    R = _correlation_matrix(rho, n)
    try:
        L = np.linalg.cholesky(R)
    except np.linalg.LinAlgError:
        raise ValueError("rho must be a positive definite correlation matrix") from None
    with np.errstate(over="ignore", invalid="ignore"):
        return _finite_result(X @ L.T, "X Lᵀ", X, "rho")
