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
