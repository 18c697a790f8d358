"""ebp.preprocess: centering, standardizing, PCA decorrelation, PCA/ZCA whitening (§4.3)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

from ebp import data, preprocess
from ebp.experiments import lab_stuck_backprop as lab

ALL = [
    preprocess.Center,
    preprocess.Standardize,
    preprocess.PCADecorrelate,
    preprocess.PCAWhiten,
    preprocess.ZCAWhiten,
]
WHITENERS = [preprocess.PCAWhiten, preprocess.ZCAWhiten]


def cov(Z: np.ndarray) -> np.ndarray:
    Zc = Z - Z.mean(axis=0)
    return Zc.T @ Zc / Z.shape[0]


@st.composite
def full_rank_data(draw) -> np.ndarray:
    """Random correlated, unequally scaled, offset data with more rows than columns."""
    d = draw(st.integers(1, 6))
    n = draw(st.integers(d + 2, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    log_scales = draw(st.lists(st.floats(-2, 2), min_size=d, max_size=d))
    offset = draw(st.floats(-100, 100))
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(d, d)) * 10.0 ** np.array(log_scales)
    X = rng.normal(size=(n, d)) @ A + offset
    # Whitening divides by the covariance's eigenvalues, so its rounding error grows like the
    # covariance's condition number times 1e-16: keep that below 1e6 for a 1e-8 tolerance.
    assume(np.linalg.cond(X - X.mean(axis=0)) < 1e3)
    return X


# -- the properties ---------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(full_rank_data(), st.sampled_from(WHITENERS))
def test_whitened_training_data_has_identity_covariance(X, cls):
    Z = cls().fit_transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-8)
    np.testing.assert_allclose(cov(Z), np.eye(X.shape[1]), atol=1e-8)


@settings(max_examples=60, deadline=None)
@given(full_rank_data(), st.sampled_from(ALL))
def test_inverse_transform_round_trips(X, cls):
    t = cls().fit(X)
    np.testing.assert_allclose(t.inverse_transform(t.transform(X)), X, rtol=0, atol=1e-8)
    # also on new data, which the transform was not fitted on
    X_new = X[::-1] * 0.5 + 1.0
    np.testing.assert_allclose(t.inverse_transform(t.transform(X_new)), X_new, atol=1e-8)


@settings(max_examples=40, deadline=None)
@given(full_rank_data(), st.integers(0, 1000))
def test_zca_is_the_symmetric_whitening_closest_to_the_data(X, seed):
    assume(X.shape[1] >= 2)
    zca = preprocess.ZCAWhiten().fit(X)
    W = zca.matrix_
    np.testing.assert_allclose(W, W.T, atol=1e-12)
    assert np.all(np.linalg.eigvalsh(W) > 0)  # symmetric positive definite
    Xc = X - X.mean(axis=0)
    Z_zca = zca.transform(X)
    # every other whitening is ZCA followed by a rotation Q; none is closer to the data
    Q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(X.shape[1],) * 2))
    for Z in (preprocess.PCAWhiten().fit_transform(X), Z_zca @ Q):
        assert np.sum((Z_zca - Xc) ** 2) <= np.sum((Z - Xc) ** 2) + 1e-8


@settings(max_examples=60, deadline=None)
@given(full_rank_data())
def test_standardized_columns_have_mean_0_and_variance_1(X):
    Z = preprocess.Standardize().fit_transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-8)
    np.testing.assert_allclose(np.mean(Z**2, axis=0), 1.0, atol=1e-8)  # eq 13


@settings(max_examples=40, deadline=None)
@given(full_rank_data())
def test_pca_decorrelates_without_scaling(X):
    t = preprocess.PCADecorrelate().fit(X)
    Z = t.transform(X)
    np.testing.assert_allclose(cov(Z), np.diag(t.eigenvalues_), atol=1e-8 * t.eigenvalues_[0])
    assert np.all(np.diff(t.eigenvalues_) <= 0)  # largest first
    # a rotation: lengths of the centred patterns are kept
    Xc = X - X.mean(axis=0)
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), np.linalg.norm(Xc, axis=1), rtol=1e-9)


@settings(max_examples=40, deadline=None)
@given(full_rank_data())
def test_paper_pipeline_is_pca_whitening(X):
    np.testing.assert_allclose(
        preprocess.paper_pipeline().fit_transform(X),
        preprocess.PCAWhiten().fit_transform(X),
        atol=1e-8,
    )


# -- fit on train, apply to test --------------------------------------------------------------


def test_transforms_use_the_training_statistics():
    rng = np.random.default_rng(0)
    train = rng.normal(3.0, 2.0, size=(50, 3))
    test = rng.normal(-1.0, 5.0, size=(20, 3))
    c = preprocess.Center().fit(train)
    np.testing.assert_allclose(c.transform(test), test - train.mean(axis=0))
    s = preprocess.Standardize().fit(train)
    np.testing.assert_allclose(s.transform(test), (test - train.mean(0)) / train.std(0))
    w = preprocess.PCAWhiten().fit(train)
    np.testing.assert_allclose(w.transform(test), (test - w.mean_) @ w.matrix_)


def test_composes_with_sklearn_pipelines_and_clone():
    X = data.correlate(np.random.default_rng(1).normal(size=(200, 3)), 0.6) + 4.0
    pipe = make_pipeline(preprocess.Center(), preprocess.PCADecorrelate())
    Z = pipe.fit_transform(X)
    assert np.allclose(cov(Z), np.diag(np.diag(cov(Z))), atol=1e-10)
    np.testing.assert_allclose(pipe.inverse_transform(Z), X, atol=1e-10)
    w = preprocess.ZCAWhiten(eps=1e-6)
    assert w.get_params() == {"eps": 1e-6}
    assert clone(w).eps == 1e-6
    composed = preprocess.compose(preprocess.Center(), preprocess.Standardize())
    assert [n for n, _ in composed.steps] == ["center", "standardize"]


def test_two_gaussians_whitened_and_spectrum():
    X = data.two_gaussians().X
    lam = preprocess.covariance_eigenvalues(X)
    np.testing.assert_allclose(lam, [0.836, 0.036], rtol=1e-9)
    assert preprocess.condition_number(X) == pytest.approx(0.836 / 0.036)
    Z = preprocess.PCAWhiten().fit_transform(X)
    assert preprocess.condition_number(Z) == pytest.approx(1.0)


# -- covariance helpers -----------------------------------------------------------------------


def test_covariance_is_the_lms_hessian_and_options():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 3)) + 2.0
    np.testing.assert_allclose(preprocess.covariance(X), X.T @ X / 30)
    np.testing.assert_allclose(preprocess.covariance(X, center=True), np.cov(X.T, bias=True))
    H = preprocess.covariance(X, bias=True)
    assert H.shape == (4, 4)
    assert H[3, 3] == 1.0
    np.testing.assert_allclose(H[3, :3], X.mean(axis=0))


def test_offset_grows_the_largest_eigenvalue_like_c_squared():
    X = data.two_gaussians().X
    lam = [preprocess.covariance_eigenvalues(data.add_offset(X, c))[0] for c in (10.0, 20.0)]
    # λ_max ≈ 2c² (an offset c on both inputs adds ‖c·1‖² = 2c²)
    assert lam[1] / lam[0] == pytest.approx(4.0, rel=0.01)
    centred = preprocess.Center().fit_transform(data.add_offset(X, 20.0))
    assert preprocess.condition_number(centred) == pytest.approx(
        preprocess.condition_number(X, center=True)
    )


def test_condition_number_of_singular_data_is_inf():
    X = np.random.default_rng(0).normal(size=(10, 2))
    X = np.hstack([X, X[:, :1] * 2.0])
    assert preprocess.condition_number(X) == float("inf")


# -- constant columns, singular data, errors --------------------------------------------------


@pytest.mark.parametrize("cls", [preprocess.Standardize, *WHITENERS])
def test_constant_column_raises_naming_the_column_and_eps(cls):
    X = np.random.default_rng(0).normal(size=(20, 3))
    X[:, 1] = 0.1  # constant, and its mean is not exact in floating point
    with pytest.raises(ValueError, match=r"constant column \(index 1\).*eps"):
        cls().fit(X)


@pytest.mark.parametrize("cls", [preprocess.Standardize, *WHITENERS])
def test_eps_regularizes_a_constant_column_without_nan(cls):
    X = np.random.default_rng(0).normal(size=(20, 3))
    X[:, 2] = 7.0
    t = cls(eps=1e-8).fit(X)
    Z = t.transform(X)
    assert np.all(np.isfinite(Z))
    assert np.all(np.isfinite(t.inverse_transform(Z)))
    np.testing.assert_allclose(t.inverse_transform(Z), X, atol=1e-8)


@pytest.mark.parametrize("cls", WHITENERS)
def test_singular_covariance_raises_unless_eps(cls):
    X = np.random.default_rng(3).normal(size=(20, 2))
    X = np.hstack([X, X.sum(axis=1, keepdims=True)])
    with pytest.raises(ValueError, match=r"singular \(rank 2 < 3.*eps"):
        cls().fit(X)
    with pytest.raises(ValueError, match="singular"):
        cls().fit(np.random.default_rng(0).normal(size=(3, 4)))  # too few rows
    assert np.all(np.isfinite(cls(eps=1e-6).fit_transform(X)))


def test_pca_decorrelate_handles_a_constant_column():
    X = np.random.default_rng(0).normal(size=(20, 3))
    X[:, 0] = 5.0
    t = preprocess.PCADecorrelate().fit(X)
    assert t.eigenvalues_[-1] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(t.inverse_transform(t.transform(X)), X, atol=1e-12)


@pytest.mark.parametrize("cls", ALL)
def test_transform_before_fit_says_call_fit_first(cls):
    with pytest.raises(NotFittedError, match="call fit first"):
        cls().transform(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="call fit first"):  # NotFittedError is a ValueError
        cls().inverse_transform(np.zeros((2, 2)))


@pytest.mark.parametrize("cls", ALL)
def test_bad_inputs_name_the_argument(cls):
    t = cls().fit(np.random.default_rng(0).normal(size=(10, 3)))
    with pytest.raises(ValueError, match=r"X must have shape \(any, 3\)"):
        t.transform(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="X must be 2-dimensional"):
        cls().fit(np.zeros(5))
    with pytest.raises(ValueError, match="X must be finite"):
        cls().fit(np.array([[1.0, np.nan], [2.0, 3.0], [0.0, 1.0]]))
    with pytest.raises(TypeError, match="X must be an array"):
        cls().fit("abc")


@pytest.mark.parametrize("cls", [preprocess.Standardize, *WHITENERS])
def test_eps_is_validated(cls):
    with pytest.raises(ValueError, match="eps must be >= 0"):
        cls(eps=-1.0)
    with pytest.raises(TypeError, match="eps must be a real number"):
        cls(eps="small")


def test_fit_needs_two_rows_for_scaling():
    with pytest.raises(ValueError, match="X must have at least 2 rows"):
        preprocess.Standardize().fit(np.ones((1, 3)))


def test_helpers_validate():
    with pytest.raises(TypeError, match="center must be a bool"):
        preprocess.covariance(np.ones((3, 2)), center=1)
    with pytest.raises(ValueError, match="X must be 2-dimensional"):
        preprocess.condition_number(np.ones(3))
    with pytest.raises(ValueError, match="steps"):
        preprocess.compose()
    with pytest.raises(TypeError, match=r"steps\[1\]"):
        preprocess.compose(preprocess.Center(), 3)


def test_lab_standardizer_lives_here():
    assert lab.Standardizer is preprocess.Standardizer
    X = np.random.default_rng(0).normal(5.0, 3.0, size=(50, 3))
    old, new = preprocess.Standardizer.fit(X), preprocess.Standardize().fit(X)
    np.testing.assert_allclose(old.transform(X), new.transform(X))
    with pytest.raises(ValueError, match=r"X_train has constant columns \(indices 0, 1\)"):
        preprocess.Standardizer.fit(np.ones((5, 2)), "X_train")
    with pytest.raises(ValueError, match=r"constant column \(index 1\).*Standardize\(eps="):
        preprocess.Standardizer.fit(np.array([[1.0, 2.0], [3.0, 2.0]]))


TRANSFORMS = [
    preprocess.Center,
    preprocess.Standardize,
    preprocess.PCADecorrelate,
    preprocess.PCAWhiten,
    preprocess.ZCAWhiten,
]


@pytest.mark.parametrize("scale", [1e-200, 1e-150, 1e150])
@pytest.mark.parametrize("cls", TRANSFORMS)
def test_transforms_do_not_depend_on_the_magnitude_of_x(cls, scale):
    """Statistics are computed on X over a power of two: any finite magnitude works alike.

    ``X * scale`` is rounded, so the comparisons allow relative rounding (1e-9).
    """
    X = np.random.default_rng(0).normal(size=(20, 3)) @ np.array(
        [[1.0, 0.3, 0.0], [0.0, 2.0, 0.5], [0.0, 0.0, 0.5]]
    )
    ref, big = cls().fit(X), cls().fit(X * scale)
    Z_ref, Z = ref.transform(X), big.transform(X * scale)
    if cls in (preprocess.Center, preprocess.PCADecorrelate):
        Z_ref = Z_ref * scale  # these keep the units of X
    np.testing.assert_allclose(Z, Z_ref, rtol=1e-9, atol=1e-9 * np.abs(Z_ref).max())
    np.testing.assert_allclose(
        big.inverse_transform(Z), X * scale, rtol=1e-9, atol=1e-9 * scale * np.abs(X).max()
    )


def test_standardize_at_1e200_is_exact_and_pca_says_what_overflows():
    X = np.random.default_rng(0).normal(size=(10, 2))
    Xb = X * 1e200
    Z = preprocess.Standardize().fit(Xb).transform(Xb)
    np.testing.assert_allclose(Z, preprocess.Standardize().fit(X).transform(X), rtol=1e-9)
    s = preprocess.Standardizer.fit(Xb)
    np.testing.assert_allclose(s.transform(Xb), Z, rtol=1e-9)
    # the variances along the principal axes (~1e400) are not float64 numbers
    for cls in (preprocess.PCADecorrelate, preprocess.PCAWhiten, preprocess.ZCAWhiten):
        with pytest.raises(ValueError, match=r"^X is too large: its variances .* overflow"):
            cls().fit(Xb)


def test_covariance_of_huge_inputs_raises_naming_x():
    Xb = np.random.default_rng(0).normal(size=(10, 2)) * 1e200
    for kwargs in ({}, {"center": True}, {"bias": True}, {"center": True, "bias": True}):
        with pytest.raises(ValueError, match=r"^X is too large: its second moments"):
            preprocess.covariance(Xb, **kwargs)
        with pytest.raises(ValueError, match=r"^X is too large"):
            preprocess.covariance_eigenvalues(Xb, **kwargs)


def test_condition_number_is_scale_free():
    X = np.random.default_rng(0).normal(size=(10, 2))
    for center in (False, True):
        kappa = preprocess.condition_number(X, center=center)
        for scale in (1e-200, 1e200, 1e300):
            assert preprocess.condition_number(X * scale, center=center) == pytest.approx(
                kappa, rel=1e-9
            )
    with pytest.raises(ValueError, match=r"^X is too large"):
        preprocess.condition_number(X * 1e200, bias=True)  # the bias input 1 sets the scale


def test_tiny_inputs_are_not_mistaken_for_constant_columns():
    X = np.random.default_rng(0).normal(size=(10, 2)) * 1e-200
    for cls in TRANSFORMS:
        assert np.all(np.isfinite(cls().fit(X).transform(X)))
    preprocess.Standardizer.fit(X)


def test_transform_that_would_overflow_raises_naming_x():
    t = preprocess.Standardize().fit(np.array([[0.0, 1.0], [1e-300, 2.0], [2e-300, 3.0]]))
    with pytest.raises(ValueError, match=r"^X is too large: its transformed values overflow"):
        t.transform(np.array([[1e300, 1.0]]))
    c = preprocess.Center().fit(np.array([[-1e308], [-1.7e308]]))
    with pytest.raises(ValueError, match=r"^X is too large"):
        c.transform(np.array([[1.7e308]]))
