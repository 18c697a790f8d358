"""Data sets of the book, and target encodings.

Everything here is generated or loaded locally (no download) and is seeded, so the same call
returns the same arrays on every machine.  Arrays are float64 NumPy arrays with one pattern per
row; class labels are ``int64``.

- :func:`digits`: scikit-learn's bundled 8×8 handwritten digits (1797 images), standing in for
  the paper's OCR data, split into fixed stratified train / (validation) / test sets.
- :func:`quadratic_bowl`: the regression ``z = 5a² + 3b²``.
- :func:`encode_targets`: class labels → target vectors (one-hot, ±1, …, paper §4.5).

New data sets (the two Gaussians of Figs 9/10, the 1-1-1 set of Fig 13, …) are added as further
functions that return arrays or a :class:`Split`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ebp._validate import (
    check_choice,
    check_in_range,
    check_int,
    check_positive,
    describe,
)

__all__ = [
    "TARGET_SCHEMES",
    "Split",
    "digits",
    "encode_targets",
    "quadratic_bowl",
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
    from sklearn.datasets import load_digits

    test_size = check_in_range(
        test_size, "test_size", 0.0, 1.0, low_inclusive=False, high_inclusive=False
    )
    seed = check_int(seed, "seed", min_value=0)
    n_val = check_int(n_val, "n_val", min_value=0)
    if n_train is not None:
        n_train = check_int(n_train, "n_train", min_value=1)
    if not isinstance(standardize, (bool, np.bool_)):
        raise TypeError(f"standardize must be a bool; got {type(standardize).__name__}")

    bunch = load_digits()
    X = bunch.data.astype(np.float64) / 16.0
    y = bunch.target.astype(np.int64)
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
    X = rng.uniform(low, high, size=(n, 2))
    z = 5.0 * X[:, :1] ** 2 + 3.0 * X[:, 1:] ** 2
    if noise > 0:
        z = z + noise * rng.standard_normal(z.shape)
    return X, z


# ---------------------------------------------------------------------------------------------
# Target encodings (paper §4.5)
# ---------------------------------------------------------------------------------------------

TARGET_SCHEMES: dict[str, Callable[[float], tuple[float, float]]] = {
    "one_hot": lambda value: (value, 0.0),
    "pm1": lambda value: (value, -value),
    "zero_one": lambda value: (0.5 + value / 2.0, 0.5 - value / 2.0),
}
"""Target schemes: name → function of ``value`` giving (target of the true class, of the others).

``"one_hot"``: ``value`` and 0; ``"pm1"``: ``+value`` and ``−value`` (the paper's ±1 targets for
its symmetric sigmoid when ``value = 1``); ``"zero_one"``: ``0.5 ± value/2``, targets inside
[0, 1] for a logistic output (``value = 1`` gives 1/0, ``value = 0.8`` gives 0.9/0.1, away from
the asymptotes as §4.5 advises).
"""


def _check_labels(y: Any, name: str) -> np.ndarray:
    if isinstance(y, (str, bytes)) or y is None:
        raise TypeError(f"{name} must be an array of integer class labels; got {type(y).__name__}")
    raw = y.detach().cpu().numpy() if hasattr(y, "detach") else np.asarray(y)
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
