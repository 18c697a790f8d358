"""ebp.data: the digits split, the quadratic bowl, target encodings."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebp import data


def test_digits_default_split_sizes_and_types():
    s = data.digits()
    assert s.n_train + s.n_test == 1797
    assert s.n_test == round(0.25 * 1797)
    assert s.X_train.shape == (s.n_train, 64) and s.X_test.shape == (s.n_test, 64)
    assert s.X_train.dtype == np.float64 and s.y_train.dtype == np.int64
    assert s.X_val is None and s.y_val is None and s.n_val == 0
    assert s.n_classes == 10 and s.n_features == 64
    assert s.X_train.min() == 0.0 and s.X_train.max() == 1.0  # pixels 0..16 scaled by 1/16


def test_digits_parts_are_disjoint_and_cover_the_data():
    from sklearn.datasets import load_digits

    s = data.digits(n_val=200, seed=3)
    rows = np.concatenate([s.X_train, s.X_val, s.X_test]) * 16
    full = load_digits().data
    # every image appears exactly as often as in the original data (duplicates included)
    as_set = lambda a: sorted(map(tuple, a.astype(int)))  # noqa: E731
    assert as_set(rows) == as_set(full)


def test_digits_is_stratified():
    s = data.digits(n_train=100, n_val=300, seed=1)
    assert (s.n_train, s.n_val) == (100, 300)
    np.testing.assert_array_equal(np.bincount(s.y_train, minlength=10), np.full(10, 10))
    for y in (s.y_val, s.y_test):
        counts = np.bincount(y, minlength=10)
        assert counts.max() - counts.min() <= 2


def test_digits_is_deterministic_and_seed_dependent():
    a, b = data.digits(n_train=50, seed=7), data.digits(n_train=50, seed=7)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    c = data.digits(n_train=50, seed=8)
    assert not np.array_equal(a.X_train, c.X_train)


def test_digits_standardize_uses_training_statistics():
    raw = data.digits(seed=2)
    s = data.digits(seed=2, standardize=True)
    np.testing.assert_allclose(s.X_train.mean(axis=0), 0.0, atol=1e-12)
    std = s.X_train.std(axis=0)
    varying = raw.X_train.std(axis=0) > 0
    np.testing.assert_allclose(std[varying], 1.0, atol=1e-12)
    mean, sd = raw.X_train.mean(axis=0), raw.X_train.std(axis=0)
    sd[sd == 0] = 1.0
    np.testing.assert_allclose(s.X_test, (raw.X_test - mean) / sd)


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"n_train": 5}, ValueError, "n_train"),
        ({"n_train": 10_000}, ValueError, "n_train"),
        ({"n_train": 10.0}, TypeError, "n_train"),
        ({"n_val": -1}, ValueError, "n_val"),
        ({"n_val": 5}, ValueError, "n_val"),
        ({"test_size": 0.0}, ValueError, "test_size"),
        ({"test_size": 1.5}, ValueError, "test_size"),
        ({"test_size": "0.2"}, TypeError, "test_size"),
        ({"seed": -1}, ValueError, "seed"),
        ({"standardize": 1}, TypeError, "standardize"),
    ],
)
def test_digits_bad_input_names_the_argument(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        data.digits(**kwargs)


def test_quadratic_bowl_values():
    X, z = data.quadratic_bowl(500, seed=4, low=-2.0, high=3.0)
    assert X.shape == (500, 2) and z.shape == (500, 1)
    assert X.min() >= -2.0 and X.max() <= 3.0
    np.testing.assert_allclose(z[:, 0], 5 * X[:, 0] ** 2 + 3 * X[:, 1] ** 2)
    X2, _ = data.quadratic_bowl(500, seed=4, low=-2.0, high=3.0)
    np.testing.assert_array_equal(X, X2)


def test_quadratic_bowl_noise_has_the_requested_spread():
    X, z = data.quadratic_bowl(20_000, seed=0, noise=0.5)
    residual = z[:, 0] - (5 * X[:, 0] ** 2 + 3 * X[:, 1] ** 2)
    assert abs(residual.std() - 0.5) < 0.02
    assert abs(residual.mean()) < 0.02


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"n": 0}, ValueError, "n"),
        ({"n": 3, "low": 1.0, "high": 1.0}, ValueError, "high"),
        ({"n": 3, "noise": -0.1}, ValueError, "noise"),
        ({"n": 3, "low": float("nan")}, ValueError, "low"),
    ],
)
def test_quadratic_bowl_bad_input(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        data.quadratic_bowl(**kwargs)


def test_encode_targets_schemes():
    y = np.array([2, 0, 1])
    np.testing.assert_array_equal(data.encode_targets(y, 3), [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(
        data.encode_targets(y, 3, "pm1"), [[-1, -1, 1], [1, -1, -1], [-1, 1, -1]]
    )
    np.testing.assert_allclose(data.encode_targets(y, 3, "zero_one", value=0.8)[0], [0.1, 0.1, 0.9])
    np.testing.assert_array_equal(data.encode_targets(y, 4, "one_hot", value=2.0)[1], [2, 0, 0, 0])


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.integers(0, 6), min_size=1, max_size=30),
    st.sampled_from(sorted(data.TARGET_SCHEMES)),
    st.floats(0.05, 1.0),
)
def test_encode_targets_argmax_recovers_the_labels(labels, scheme, value):
    T = data.encode_targets(np.array(labels), 7, scheme, value)
    assert T.shape == (len(labels), 7)
    np.testing.assert_array_equal(T.argmax(axis=1), labels)
    assert len(np.unique(T)) == 2


@pytest.mark.parametrize(
    ("args", "kwargs", "exc", "name"),
    [
        (([0, 3], 3), {}, ValueError, "y"),
        (([0, -1], 3), {}, ValueError, "y"),
        (([0.0, 1.0], 3), {}, TypeError, "y"),
        (([[0, 1]], 3), {}, ValueError, "y"),
        (("01", 3), {}, TypeError, "y"),
        (([0, 1], 1), {}, ValueError, "n_classes"),
        (([0, 1], 3), {"scheme": "onehot"}, ValueError, "scheme"),
        (([0, 1], 3), {"value": 0.0}, ValueError, "value"),
        (([0, 1], 3), {"scheme": "zero_one", "value": 1.5}, ValueError, "value"),
    ],
)
def test_encode_targets_bad_input(args, kwargs, exc, name):
    with pytest.raises(exc, match=name):
        data.encode_targets(*args, **kwargs)


# -- the toy sets of §5.2 ---------------------------------------------------------------------


def test_two_gaussians_eigenvalues_match_the_paper():
    """R3 (data part): the Fig 9/10 inputs have covariance eigenvalues 0.84 and 0.036 (±10 %)."""
    from ebp.preprocess import covariance_eigenvalues

    ds = data.two_gaussians()
    lam_max, lam_min = covariance_eigenvalues(ds.X)
    assert lam_max == pytest.approx(0.84, rel=0.10)
    assert lam_min == pytest.approx(0.036, rel=0.10)
    # exact construction: s² + ‖μ‖² and s², whatever the seed
    for seed in (1, 2, 3):
        lam = covariance_eigenvalues(data.two_gaussians(seed=seed).X)
        np.testing.assert_allclose(lam, [0.836, 0.036], rtol=1e-9)


def test_two_gaussians_iid_draws_scatter_around_the_derived_eigenvalues():
    from ebp.preprocess import covariance_eigenvalues

    lam = np.array(
        [covariance_eigenvalues(data.two_gaussians(seed=s, exact=False).X) for s in range(20)]
    )
    np.testing.assert_allclose(lam.mean(axis=0), [0.836, 0.036], rtol=0.05)
    assert lam[:, 1].std() > 0  # really random


def test_two_gaussians_structure():
    ds = data.two_gaussians(100, seed=4)
    assert isinstance(ds, data.Dataset)
    assert ds.X.shape == (100, 2) and ds.y.shape == (100, 1)
    assert ds.X.dtype == np.float64 and ds.y.dtype == np.float64
    assert set(np.unique(ds.y)) == {-1.0, 1.0}
    assert np.count_nonzero(ds.y > 0) == 50
    np.testing.assert_array_equal(ds.labels, (ds.y[:, 0] > 0).astype(int))
    assert ds.n_patterns == 100 and ds.n_features == 2
    X, y = ds  # unpacks like a pair
    assert X is ds.X and y is ds.y
    # class means are exactly the given centres with exact=True
    np.testing.assert_allclose(X[ds.labels == 0].mean(axis=0), [-0.4, -0.8], atol=1e-12)
    np.testing.assert_allclose(X[ds.labels == 1].mean(axis=0), [0.4, 0.8], atol=1e-12)
    # the order is shuffled unless asked otherwise
    assert np.any(np.diff(ds.labels) < 0)
    ordered = data.two_gaussians(100, seed=4, shuffle=False)
    np.testing.assert_array_equal(ordered.labels, np.repeat([0, 1], 50))


def test_two_gaussians_is_deterministic_and_options_apply():
    a, b = data.two_gaussians(seed=3), data.two_gaussians(seed=3)
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, data.two_gaussians(seed=4).X)
    ds = data.two_gaussians(400, means=((0, 0, 0), (1, 1, 1)), class_std=0.5, shuffle=False)
    assert ds.X.shape == (400, 3)
    within = ds.X[:200] - ds.X[:200].mean(axis=0)
    np.testing.assert_allclose(within.T @ within / 200, 0.25 * np.eye(3), atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"n": 7}, ValueError, "n must be even"),
        ({"n": 0}, ValueError, "n"),
        ({"n": 4}, ValueError, "n must be > 4"),  # exact needs n/2 > n_features
        ({"n": 2.0}, TypeError, "n"),
        ({"class_std": 0.0}, ValueError, "class_std"),
        ({"means": ((0, 0), (1, 1), (2, 2))}, ValueError, "means"),
        ({"means": (0, 1)}, ValueError, "means"),
        ({"seed": -2}, ValueError, "seed"),
        ({"exact": "yes"}, TypeError, "exact"),
        ({"shuffle": 1}, TypeError, "shuffle"),
    ],
)
def test_two_gaussians_bad_input(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        data.two_gaussians(**kwargs)


def test_two_gaussians_small_n_without_exact():
    assert data.two_gaussians(2, exact=False).X.shape == (2, 2)


def test_fig13_classes():
    ds = data.fig13_classes()
    assert ds.X.shape == (20, 1) and ds.y.shape == (20, 1)
    assert np.count_nonzero(ds.y < 0) == 10
    big = data.fig13_classes(5000, seed=1, shuffle=False)
    neg, pos = big.X[:5000, 0], big.X[5000:, 0]
    assert np.all(big.y[:5000] == -1.0) and np.all(big.y[5000:] == 1.0)
    assert neg.mean() == pytest.approx(-1.0, abs=0.03)
    assert pos.mean() == pytest.approx(1.0, abs=0.03)
    assert neg.std() == pytest.approx(0.4, rel=0.05)
    np.testing.assert_array_equal(data.fig13_classes(seed=2).X, data.fig13_classes(seed=2).X)


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"n_per_class": 0}, ValueError, "n_per_class"),
        ({"std": -0.4}, ValueError, "std"),
        ({"centers": (1.0,)}, ValueError, "centers"),
        ({"seed": 1.5}, TypeError, "seed"),
    ],
)
def test_fig13_classes_bad_input(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        data.fig13_classes(**kwargs)


# -- redundancy (§4.1) ------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 20), st.integers(1, 4), st.integers(1, 6))
def test_redundant_stacks_k_copies(n, d, k):
    rng = np.random.default_rng(n * 100 + d)
    X, y = rng.normal(size=(n, d)), rng.integers(0, 3, size=n)
    Xr, yr = data.redundant(X, y, k)
    assert Xr.shape == (k * n, d) and yr.shape == (k * n,)
    for i in range(k):
        np.testing.assert_array_equal(Xr[i * n : (i + 1) * n], X)
        np.testing.assert_array_equal(yr[i * n : (i + 1) * n], y)


def test_redundant_two_gaussians_is_the_papers_example():
    ds = data.redundant_two_gaussians()
    base = data.two_gaussians(100)
    assert ds.X.shape == (1000, 2) and ds.y.shape == (1000, 1)
    np.testing.assert_array_equal(ds.X[900:], base.X)
    np.testing.assert_array_equal(ds.y[:100], base.y)
    assert "10 copies of 100" in ds.name


@pytest.mark.parametrize(
    ("args", "exc", "name"),
    [
        ((np.ones((3, 2)), np.ones(3), 0), ValueError, "copies"),
        ((np.ones((3, 2)), np.ones(3), 2.0), TypeError, "copies"),
        ((np.ones((3, 2)), np.ones(4), 2), ValueError, "y must have as many rows"),
        ((np.ones((3, 2)), None, 2), TypeError, "y"),
        (("abc", np.ones(3), 2), TypeError, "X"),
    ],
)
def test_redundant_bad_input(args, exc, name):
    with pytest.raises(exc, match=name):
        data.redundant(*args)


# -- spoiling transforms ----------------------------------------------------------------------


def test_add_offset_and_scale_columns():
    X = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(data.add_offset(X, 5.0), X + 5.0)
    np.testing.assert_array_equal(data.add_offset(X, [1.0, -1.0]), X + np.array([1.0, -1.0]))
    np.testing.assert_array_equal(data.scale_columns(X, [10.0, 0.1]), X * np.array([10.0, 0.1]))
    np.testing.assert_array_equal(data.scale_columns(X, 2.0), 2.0 * X)


def test_correlate_gives_the_requested_correlation():
    Z = np.random.default_rng(0).normal(size=(100_000, 3))
    np.testing.assert_allclose(np.corrcoef(data.correlate(Z, 0.8).T)[0, 1:], 0.8, atol=0.01)
    R = np.array([[1.0, 0.5, -0.3], [0.5, 1.0, 0.0], [-0.3, 0.0, 1.0]])
    Y = data.correlate(Z, R)
    np.testing.assert_allclose(np.corrcoef(Y.T), R, atol=0.01)
    np.testing.assert_allclose(Y.std(axis=0), 1.0, atol=0.01)  # variances kept


@pytest.mark.parametrize(
    ("func", "args", "exc", "name"),
    [
        (data.add_offset, (np.ones((3, 2)), [1.0, 2.0, 3.0]), ValueError, "c must be"),
        (data.add_offset, (np.ones(3), 1.0), ValueError, "X must be 2-dimensional"),
        (data.add_offset, (np.ones((3, 2)), float("inf")), ValueError, "c must be finite"),
        (data.scale_columns, (np.ones((3, 2)), [1.0, 0.0]), ValueError, r"scales\[1\]"),
        (data.scale_columns, (np.ones((3, 2)), "big"), TypeError, "scales"),
        (data.correlate, (np.ones((3, 2)), 1.0), ValueError, "rho must be in"),
        (data.correlate, (np.ones((3, 3)), -0.6), ValueError, "rho must be in"),
        (data.correlate, (np.ones((3, 1)), 0.5), ValueError, "at least 2 columns"),
        (data.correlate, (np.ones((3, 2)), np.eye(3)), ValueError, "rho must be a number or"),
        (data.correlate, (np.ones((3, 2)), [[1, 0.5], [0.2, 1]]), ValueError, "symmetric"),
        (data.correlate, (np.ones((3, 2)), [[2, 0.5], [0.5, 1]]), ValueError, "diagonal"),
        (data.correlate, (np.ones((3, 2)), [[1, 2.0], [2.0, 1]]), ValueError, "positive definite"),
    ],
)
def test_spoiling_transforms_bad_input(func, args, exc, name):
    with pytest.raises(exc, match=name):
        func(*args)


@pytest.mark.parametrize(
    ("y", "exc", "match"),
    [
        ([[0, 1], [1]], ValueError, r"^y must be a rectangular array"),
        (np.ones(4, dtype=np.longdouble), TypeError, r"^y must be float16"),
        (np.ones(4, dtype=complex), TypeError, r"^y must be an array of real numbers"),
        (["a", "b", "c", "d"], TypeError, r"^y must be an array of real numbers"),
        (np.array([0, 1, 0, 1], dtype=object), TypeError, r"^y must be an array of real numbers"),
    ],
)
def test_redundant_refuses_non_numeric_targets_naming_y(y, exc, match):
    with pytest.raises(exc, match=match):
        data.redundant(np.ones((4, 2)), y, 2)


@pytest.mark.parametrize(
    ("y", "exc", "match"),
    [
        ([[0, 1], [1]], ValueError, r"^y must be a rectangular array"),
        (np.array([0, 1], dtype=np.longdouble), TypeError, r"^y must be float16"),
        (np.array([0, 1], dtype=complex), TypeError, r"^y must be an array of real numbers"),
    ],
)
def test_encode_targets_refuses_ragged_and_odd_dtypes_naming_y(y, exc, match):
    with pytest.raises(exc, match=match):
        data.encode_targets(y, 2)


def test_helpers_refuse_to_overflow_silently():
    X = np.random.default_rng(0).normal(size=(5, 2))
    with pytest.raises(ValueError, match=r"^low and high are too large"):
        data.quadratic_bowl(10, low=-1e200, high=1e200)
    with pytest.raises(ValueError, match=r"^X and scales are too large: X · diag\(scales\)"):
        data.scale_columns(X * 1e10, 1e300)
    with pytest.raises(ValueError, match=r"^X and c are too large: X \+ c overflows"):
        data.add_offset(np.abs(X) / np.abs(X).max() * 1e308, 1e308)
    with pytest.raises(ValueError, match=r"^X and rho are too large"):
        data.correlate(np.abs(X) / np.abs(X).max() * 1.7e308, 0.9)
    # large but representable: fine
    assert np.all(np.isfinite(data.scale_columns(X, 1e300)))
    assert np.all(np.isfinite(data.quadratic_bowl(10, low=-1e100, high=1e100)[1]))
