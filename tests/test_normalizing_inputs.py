"""ebp.experiments.normalizing_inputs (paper §4.3) and its plots."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from matplotlib.figure import Figure

from ebp import preprocess
from ebp.experiments import normalizing_inputs as nz
from ebp.plots import normalizing_inputs as nz_plots

FAST = ("clean", "offset", "spoiled", "standardized", "pca_whitened")
ETAS = 2.0 ** np.arange(-1.0, 0.51, 0.5)  # around the best rates of these variants


@pytest.fixture(scope="module")
def variants():
    return nz.input_variants(n=100, offset=1.0, scales=(1.0, 0.3), rho=0.8)


@pytest.fixture(scope="module")
def spectra(variants):
    return nz.hessian_spectra(variants)


@pytest.fixture(scope="module")
def linear(variants):
    return nz.training_speed(
        variants, model="linear", names=FAST, etas=ETAS, max_epochs=400
    )  # fmt: skip


@pytest.fixture(scope="module")
def tanh(variants):
    return nz.training_speed(
        variants, model="tanh", names=("pca_whitened", "spoiled"), etas=(1.0, 1.414),
        max_epochs=300,
    )  # fmt: skip


def test_clean_inputs_are_white():
    for seed in (0, 3):
        X = nz.clean_two_classes(60, seed=seed, angle=25.0).X
        np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-12)
        np.testing.assert_allclose(X.T @ X / X.shape[0], np.eye(2), atol=1e-12)
    # plain draws are only approximately white
    X = nz.clean_two_classes(60, exact=False).X
    assert np.abs(X.T @ X / 60 - np.eye(2)).max() > 1e-3


def test_variants_are_affine_maps_of_the_clean_inputs(variants):
    X0 = variants.X["clean"]
    for name in variants.names:
        np.testing.assert_allclose(
            X0 @ variants.A[name] + variants.b[name], variants.X[name], atol=1e-10
        )
    assert variants.names == nz.VARIANTS
    np.testing.assert_allclose(variants.offset, [1.0, 1.0])


def test_eq13_and_spoilings(variants, spectra):
    """Eq 13: standardizing and whitening give C_i = 1; each spoiling breaks one property."""
    for name in ("standardized", "pca_whitened", "zca_whitened", "clean"):
        np.testing.assert_allclose(spectra.second_moment[name], 1.0, atol=1e-10)
        np.testing.assert_allclose(spectra.mean[name], 0.0, atol=1e-10)
    np.testing.assert_allclose(spectra.mean["offset"], 1.0, atol=1e-12)
    np.testing.assert_allclose(spectra.second_moment["scales"], [1.0, 0.09], atol=1e-12)
    assert spectra.correlation["correlated"] == pytest.approx(0.8, abs=1e-10)
    assert spectra.correlation["pca_whitened"] == pytest.approx(0.0, abs=1e-10)


def test_condition_numbers(spectra):
    """Whitening gives κ = 1 exactly; each spoiling raises it; all three compound."""
    for name in ("clean", "pca_whitened", "zca_whitened"):
        assert spectra.condition[name] == pytest.approx(1.0, abs=1e-9)
        np.testing.assert_allclose(spectra.eigenvalues[name], 1.0, atol=1e-10)
    for name in ("offset", "scales", "correlated", "centered", "standardized"):
        assert spectra.condition[name] > 5.0
    k = spectra.condition
    assert k["spoiled"] > max(k["offset"], k["scales"], k["correlated"])
    # the fixes help one step at a time (Fig 3)
    assert k["spoiled"] > k["centered"] > k["standardized"] > k["pca_whitened"]
    # closed forms: correlation ρ gives (1 + ρ)/(1 − ρ); a scale s gives 1/s²
    assert k["correlated"] == pytest.approx(1.8 / 0.2, rel=1e-9)
    assert k["scales"] == pytest.approx(1 / 0.09, rel=1e-9)
    # offset c on both inputs, with a bias: κ = λ₊², λ± = 1 + c² ± √(2c² + c⁴) with ‖c‖² = 2
    lam = 1 + 1.0 + np.sqrt(2.0 + 1.0)
    assert k["offset"] == pytest.approx(lam**2, rel=1e-9)
    assert spectra.condition_no_bias["offset"] == pytest.approx(3.0, rel=1e-9)


def test_paper_pipeline_equals_pca_whitening(variants):
    X = variants.X["spoiled"]
    a = preprocess.paper_pipeline().fit_transform(X)
    b = preprocess.PCAWhiten().fit_transform(X)
    np.testing.assert_allclose(a, b, atol=1e-10)
    np.testing.assert_allclose(variants.X["pca_whitened"], b, atol=1e-10)


def test_gd_steps_predicted():
    assert nz.gd_steps_predicted(1.0, 1e-3) == 1
    t = nz.gd_steps_predicted(100.0, 1e-3)
    assert t == pytest.approx(100 / 4 * np.log(1e3), rel=0.01)
    assert nz.gd_steps_predicted(200.0, 1e-3) > 1.9 * t
    with pytest.raises(ValueError, match="condition"):
        nz.gd_steps_predicted(0.5, 1e-3)


def test_linear_unit_spoiled_inputs_take_more_steps(linear, spectra):
    """LMS: whitened inputs converge in one step; spoiled ones need about κ/4 ln(1/tol) steps."""
    assert linear.best("pca_whitened").tolist() == [1.0] * 5
    assert linear.best("clean").tolist() == [1.0] * 5
    assert linear.reached("spoiled")
    assert linear.mean("spoiled") > 5 * linear.mean("offset")
    assert linear.mean("spoiled") > linear.mean("standardized") > linear.mean("pca_whitened")
    for name in ("offset", "spoiled", "standardized"):
        predicted = nz.gd_steps_predicted(spectra.condition[name], 1e-3)
        assert 0.5 * predicted < linear.mean(name) < 2.0 * predicted
    # every variant's minimum is the same: affine maps of one another
    assert linear.min_loss == pytest.approx(0.5 / (1 + 3.0**2), rel=1e-9)


def test_tanh_net_spoiled_inputs_take_more_epochs(tanh):
    assert tanh.reached("pca_whitened")
    assert tanh.mean("spoiled") > 3 * tanh.mean("pca_whitened")
    assert tanh.target_loss == pytest.approx(0.5 * tanh.min_loss)


def test_training_speed_shapes_and_determinism(variants, linear):
    assert linear.names == FAST
    assert linear.epochs["spoiled"].shape == (linear.etas.size, 5)
    assert linear.final_loss["spoiled"].shape == (linear.etas.size, 5)
    assert linear.curves["clean"].shape == (5, 401)
    assert linear.best_eta["spoiled"] in linear.etas
    assert np.isnan(linear.spread("spoiled")) or linear.spread("spoiled") >= 0
    again = nz.training_speed(
        variants, model="linear", names=("spoiled",), etas=ETAS, max_epochs=400
    )  # fmt: skip
    np.testing.assert_array_equal(again.epochs["spoiled"], linear.epochs["spoiled"])
    np.testing.assert_array_equal(again.curves["spoiled"], linear.curves["spoiled"])


def test_not_reached_picks_lowest_final_loss(variants):
    r = nz.training_speed(
        variants, model="linear", names=("spoiled",), etas=(0.1, 0.3), seeds=(0, 1), max_epochs=5
    )
    assert not r.reached("spoiled")
    assert r.mean("spoiled") == np.inf
    assert r.best_eta["spoiled"] == 0.3  # the larger stable rate gets lower
    assert "> 5" in nz_plots.speed_table_markdown(nz.hessian_spectra(variants), r, r)


def test_error_surface_is_the_lms_loss(variants):
    X, y = variants.X["standardized"], variants.y
    s = nz.error_surface(X, y, n_steps=40, grid=21)
    assert s.E.shape == (21, 21)
    # the grid values equal ½ mean (d − w·x)² evaluated directly
    i, j = 3, 17
    w = np.array([s.w1[i], s.w2[j]])
    assert s.E[j, i] == pytest.approx(0.5 * np.mean((X @ w - y[:, 0]) ** 2), rel=1e-10)
    assert s.loss(w) == pytest.approx(s.E[j, i], rel=1e-10)
    assert s.condition == pytest.approx(9.0, rel=1e-9)
    assert s.eta == pytest.approx(2 / (1.8 + 0.2))
    # the path converges, and more slowly than on whitened inputs (one step)
    white = nz.error_surface(variants.X["pca_whitened"], y, n_steps=40)
    assert white.steps_to(1e-10) == 1
    assert s.steps_to(1e-4) > 5
    assert s.loss(s.path[-1]) - s.E_min < 1e-6


def test_train_test_whitening():
    tt = nz.train_test_whitening(100, 100)
    np.testing.assert_allclose(tt.train_eigenvalues, 1.0, atol=1e-10)
    np.testing.assert_allclose(tt.train_mean, 0.0, atol=1e-10)
    assert np.abs(tt.test_eigenvalues - 1).max() > 1e-3  # close to white, not exactly
    assert np.abs(tt.test_eigenvalues - 1).max() < 0.5
    # whitening (fitted on the training set) does not change what a linear unit can fit
    assert tt.test_loss["train_fit"] == pytest.approx(tt.test_loss["raw"], rel=1e-9)
    assert tt.test_loss["test_refit"] != pytest.approx(tt.test_loss["raw"], rel=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"model": "relu"}, ValueError, "model"),
        ({"names": "clean"}, TypeError, "names"),
        ({"names": ("dirty",)}, ValueError, "names"),
        ({"etas": (0.1, -1.0)}, ValueError, "etas"),
        ({"seeds": ()}, ValueError, "seeds"),
        ({"tol": 1.5}, ValueError, "tol"),
        ({"beat": 0.0}, ValueError, "beat"),
        ({"max_epochs": 0}, ValueError, "max_epochs"),
    ],
)
def test_training_speed_bad_input(variants, kwargs, exc, name):
    with pytest.raises(exc, match=name):
        nz.training_speed(variants, **kwargs)


def test_bad_input():
    with pytest.raises(TypeError, match="variants"):
        nz.hessian_spectra("clean")
    with pytest.raises(ValueError, match="separation"):
        nz.clean_two_classes(separation=0.0)
    with pytest.raises(ValueError, match="X"):
        nz.error_surface(np.ones((10, 3)), np.ones(10))
    with pytest.raises(ValueError, match="y"):
        nz.error_surface(np.eye(2), np.ones(3))
    with pytest.raises(ValueError, match="singular"):
        nz.error_surface(np.ones((10, 2)), np.ones(10))
    with pytest.raises(ValueError, match="transform"):
        nz.train_test_whitening(transform="svd")


def test_plots(variants, spectra, linear, tanh):
    names = ("spoiled", "standardized", "clean")
    surfaces = [nz.error_surface(variants.X[n], variants.y, grid=11) for n in names]
    assert isinstance(nz_plots.plot_error_surfaces(surfaces[:2]), Figure)
    fig = nz_plots.plot_error_surfaces(surfaces)  # two above, the third centred below
    (a, b, c) = (ax.get_position() for ax in fig.axes)
    assert a.y0 == b.y0 > c.y0 and a.x0 < c.x0 < b.x0
    predicted = {n: nz.gd_steps_predicted(spectra.condition[n], 1e-3) for n in linear.names}
    speed_fig = nz_plots.plot_training_speed(linear, tanh, predicted)
    assert isinstance(speed_fig, Figure)
    assert all(not ax.patches for ax in speed_fig.axes)  # points on the log axis, no bars
    table = nz_plots.hessian_table_markdown(spectra)
    assert table.count("\n") == len(spectra.names) + 1
    speed = nz_plots.speed_table_markdown(spectra, linear, tanh, predicted)
    assert speed.count("\n") == len(linear.names) + 1
    with pytest.raises(TypeError, match="surfaces"):
        nz_plots.plot_error_surfaces(surfaces[0])
    with pytest.raises(TypeError, match="linear"):
        nz_plots.plot_training_speed(spectra, tanh)
