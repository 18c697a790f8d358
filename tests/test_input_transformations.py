"""ebp.experiments.input_transformations (paper §5.3, reproduction target R6) and its plots.

R6: adding an offset c to the inputs makes λ_max grow like c² and the steps to a tolerance
grow with κ; centering restores both.  Eigenvalues pass through LAPACK, so they are compared
with tolerances scaled to their size, never bit for bit.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from matplotlib.figure import Figure

from ebp import data
from ebp.experiments import input_transformations as itr
from ebp.plots import input_transformations as itr_plots

OFFSETS = [0.0, 0.5, 1.0, 2.0, 4.0]
EXPONENT_TOL = 0.05  # the fitted exponent of λ_max over c ≥ 3 must be within this of 2


@pytest.fixture(scope="module")
def white():
    return itr.white_inputs(n=100, seed=0)


@pytest.fixture(scope="module")
def spectrum(white):
    return itr.offset_spectrum(white.X, np.geomspace(0.1, 100.0, 31))


@pytest.fixture(scope="module")
def steps(white):
    return itr.offset_steps(white.X, white.y, OFFSETS, tol=1e-6)


def test_white_inputs_are_white(white):
    X = white.X
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(X.T @ X / X.shape[0], np.eye(2), atol=1e-12)
    assert set(np.unique(white.y)) == {-1.0, 1.0}


def test_mean_direction_eigenvalues_closed_form():
    s = np.array([0.0, 0.5, 2.0, 18.0, 1e4])
    lam_minus, lam_plus = itr.mean_direction_eigenvalues(s)
    np.testing.assert_allclose(lam_minus * lam_plus, 1.0, rtol=1e-12)
    for si, lo, hi in zip(s, lam_minus, lam_plus, strict=True):
        block = np.array([[1 + si, np.sqrt(si)], [np.sqrt(si), 1.0]])
        np.testing.assert_allclose(np.linalg.eigvalsh(block), [lo, hi], rtol=1e-10)
    # λ₊ = s + 2 − 1/s + O(s⁻²)
    assert lam_plus[-1] == pytest.approx(1e4 + 2 - 1e-4, abs=1e-7)  # O(s⁻²) = 2e-8


def test_offset_spectrum_matches_the_exact_formula(spectrum):
    lam_minus, lam_plus = spectrum.exact()
    np.testing.assert_allclose(spectrum.lambda_max, lam_plus, rtol=1e-9)
    np.testing.assert_allclose(spectrum.lambda_min, lam_minus, rtol=1e-6)
    # the other eigenvalue stays 1 (white inputs, direction orthogonal to the mean)
    np.testing.assert_allclose(spectrum.eigenvalues[:, 1], 1.0, rtol=1e-9)
    # no bias: I + ccᵀ has eigenvalues 1 and 1 + n c²
    np.testing.assert_allclose(
        spectrum.condition_no_bias, 1 + 2 * spectrum.offsets**2, rtol=1e-9
    )  # fmt: skip


def test_r6_lambda_max_grows_like_c_squared(spectrum):
    """R6: the fitted exponent of λ_max over the large offsets (c ≥ 3) is 2 ± 0.05."""
    fit = spectrum.fit("lambda_max", c_min=3.0)
    assert fit.x_min >= 3.0 and fit.n_points >= 10
    assert abs(fit.exponent - 2.0) < EXPONENT_TOL
    assert abs(spectrum.fit("lambda_min", c_min=3.0).exponent + 2.0) < EXPONENT_TOL
    assert abs(spectrum.fit("condition", c_min=3.0).exponent - 4.0) < 2 * EXPONENT_TOL
    assert abs(spectrum.fit("condition_no_bias", c_min=3.0).exponent - 2.0) < EXPONENT_TOL
    # the check can fail: over small offsets λ_max hardly moves, far from a c² law
    small = itr.fit_power_law(spectrum.offsets, spectrum.lambda_max, x_min=None)
    assert abs(itr.fit_power_law(spectrum.offsets[:8], spectrum.lambda_max[:8]).exponent) < 0.5
    assert abs(small.exponent - 2.0) > EXPONENT_TOL
    # λ_max grows monotonically, λ_min shrinks
    assert np.all(np.diff(spectrum.lambda_max) > 0)
    assert np.all(np.diff(spectrum.lambda_min) < 0)


def test_r6_steps_grow_with_kappa(steps):
    """R6: steps to the tolerance grow with κ, as the rate (κ − 1)/(κ + 1) predicts."""
    assert np.all(np.diff(steps.condition) > 0)
    assert np.all(np.diff(steps.measured) > 0)
    assert steps.measured[0] == 1  # white inputs: η = 1 reaches the minimum in one step
    # plain descent: measured ≤ predicted (up to one step of rounding), and close to it
    assert np.all(steps.measured <= steps.predicted + 1)
    assert np.all(steps.measured >= 0.9 * steps.predicted)
    predicted = np.ceil(np.log(1e-6) / np.log((steps.condition - 1) / (steps.condition + 1)))
    np.testing.assert_array_equal(steps.predicted[1:], predicted[1:])
    # doubling c (2 → 4) multiplies κ, and the steps, by about 2⁴
    ratio = steps.measured[-1] / steps.measured[-2]
    assert ratio == pytest.approx(steps.condition[-1] / steps.condition[-2], rel=0.05)
    assert 10 < ratio < 20


def test_r6_centering_restores_lambda_max_and_steps(steps):
    """R6: after centering, λ_max, κ and the steps are those of the unshifted inputs."""
    np.testing.assert_allclose(steps.centred_lambda_max, steps.lambda_max[0], rtol=1e-9)
    np.testing.assert_allclose(steps.centred_condition, steps.condition[0], rtol=1e-9)
    np.testing.assert_array_equal(steps.centred_measured, steps.measured[0])
    assert steps.lambda_max[-1] > 10 * steps.centred_lambda_max[-1]


def test_centering_restores_non_white_inputs():
    """On the paper's Fig 10 inputs (κ ≈ 28 centred) the restored count is not one step."""
    ds = data.two_gaussians(100, seed=0)
    r = itr.offset_steps(ds.X, ds.y, [0.0, 1.0, 3.0], tol=1e-4)
    assert r.measured[0] > 10
    assert r.measured[-1] > 10 * r.measured[0]
    np.testing.assert_allclose(r.centred_condition, r.condition[0], rtol=1e-8)
    assert np.all(np.abs(r.centred_measured - r.measured[0]) <= 1)


def test_inverse_max_rate_takes_about_twice_as_long(white, steps):
    slow = itr.offset_steps(white.X, white.y, [2.0, 4.0], tol=1e-6, rate="inverse_max")
    assert slow.rate == "inverse_max"
    np.testing.assert_allclose(slow.eta, 1.0 / slow.lambda_max, rtol=1e-12)
    np.testing.assert_allclose(slow.measured / steps.measured[-2:], 2.0, rtol=0.05)


def test_batch_training_follows_descend(white):
    check = itr.batch_training_check(white.X, white.y, 1.0, epochs=150)
    assert check.weights_fit.shape == (151, 3)
    assert check.max_difference < 1e-10  # float64 training against the exact recursion
    assert check.epochs_fit == check.epochs_descend > 10


def test_per_weight_hessian():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4, 4))
    H = A @ A.T + np.diag([0.1, 1.0, 10.0, 100.0])
    M = itr.per_weight_hessian(H)
    np.testing.assert_allclose(np.diag(M), 1.0, rtol=1e-12)
    D2H = H / np.diag(H)[:, None]  # diag(1/H_ii) H: same eigenvalues as D H D
    np.testing.assert_allclose(
        np.sort(np.linalg.eigvals(D2H).real), np.linalg.eigvalsh(M), rtol=1e-9
    )  # fmt: skip


def test_treatments_closed_forms(white):
    cases = itr.spoiled_inputs(white.X, scales=(1.0, 0.1), rho=0.9, offset=3.0)
    t = itr.input_treatments(cases, tol=1e-6)
    assert t.names == ("white", "scales", "correlated", "both", "offset")
    assert t.condition("white") == pytest.approx(1.0, abs=1e-9)
    assert t.condition("scales") == pytest.approx(100.0, rel=1e-9)
    assert t.condition("scales", "per_weight") == pytest.approx(1.0, abs=1e-9)
    assert t.condition("correlated") == pytest.approx(19.0, rel=1e-9)
    assert t.condition("correlated", "per_weight") == pytest.approx(19.0, rel=1e-9)
    assert t.condition("both") > 100.0
    assert t.condition("both", "per_weight") == pytest.approx(19.0, rel=1e-9)
    # a mean: per-weight rates help but do not undo it; whitening undoes everything
    assert 5 < t.condition("offset", "per_weight") < t.condition("offset") / 2
    for name in t.names:
        assert t.condition(name, "whitened") == pytest.approx(1.0, abs=1e-8)
        assert t.predicted_steps(name, "whitened") == 1
    assert t.predicted_steps("both") > t.predicted_steps("both", "per_weight") > 1


def test_fit_power_law_recovers_a_power_law():
    x = np.geomspace(1.0, 50.0, 12)
    fit = itr.fit_power_law(x, 3.0 * x**2.5, x_min=2.0)
    assert fit.exponent == pytest.approx(2.5, rel=1e-10)
    assert fit.prefactor == pytest.approx(3.0, rel=1e-10)
    assert fit.x_min >= 2.0 and fit.n_points == int(np.sum(x >= 2.0))
    np.testing.assert_allclose(fit(x), 3.0 * x**2.5, rtol=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"offsets": [-1.0]}, ValueError, "offsets"),
        ({"offsets": []}, ValueError, "offsets"),
        ({"tol": 1.0}, ValueError, "tol"),
        ({"tol": 0.0}, ValueError, "tol"),
        ({"rate": "fast"}, ValueError, "rate"),
        ({"rate": 1.0}, TypeError, "rate"),
        ({"max_steps": 10, "offsets": [4.0]}, ValueError, "max_steps"),
        ({"max_steps": 0}, ValueError, "max_steps"),
        ({"y": np.ones(7)}, ValueError, "y"),
        ({"X": np.ones(10)}, ValueError, "X"),
        ({"X": np.array([[np.nan, 1.0], [0.0, 1.0]])}, ValueError, "X"),
    ],
)
def test_offset_steps_bad_input(white, kwargs, exc, name):
    args = {"X": white.X, "y": white.y, "offsets": [0.0, 1.0]} | kwargs
    X, y, offsets = args.pop("X"), args.pop("y"), args.pop("offsets")
    with pytest.raises(exc, match=name):
        itr.offset_steps(X, y, offsets, **args)


def test_bad_input(white, spectrum):
    with pytest.raises(ValueError, match="n"):
        itr.white_inputs(n=4)
    with pytest.raises(TypeError, match="seed"):
        itr.white_inputs(seed=1.5)
    with pytest.raises(ValueError, match="s"):
        itr.mean_direction_eigenvalues(-1.0)
    with pytest.raises(ValueError, match="offsets"):
        itr.offset_spectrum(white.X, [1.0, -2.0])
    with pytest.raises(ValueError, match="X"):
        itr.offset_spectrum(np.ones((1, 2)), [1.0])
    with pytest.raises(ValueError, match="what"):
        spectrum.fit("kappa")
    with pytest.raises(ValueError, match="x_min"):
        itr.fit_power_law([1.0, 2.0, 3.0], [1.0, 4.0, 9.0], x_min=2.5)
    with pytest.raises(ValueError, match="> 0"):
        itr.fit_power_law([0.0, 2.0], [1.0, 4.0])
    with pytest.raises(ValueError, match="y"):
        itr.fit_power_law([1.0, 2.0], [1.0, 4.0, 9.0])
    with pytest.raises(ValueError, match="offset"):
        itr.batch_training_check(white.X, white.y, -1.0)
    with pytest.raises(ValueError, match="epochs"):
        itr.batch_training_check(white.X, white.y, 1.0, epochs=0)
    with pytest.raises(ValueError, match="y"):
        itr.batch_training_check(white.X, white.y[:5], 1.0)
    with pytest.raises(ValueError, match="offset"):
        itr.spoiled_inputs(white.X, offset=-3.0)
    with pytest.raises(ValueError, match="rho"):
        itr.spoiled_inputs(white.X, rho=1.0)
    with pytest.raises(ValueError, match="scales"):
        itr.spoiled_inputs(white.X, scales=(1.0, 0.0))
    with pytest.raises(ValueError, match="H"):
        itr.per_weight_hessian(np.array([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="H"):
        itr.per_weight_hessian(np.array([[0.0, 0.0], [0.0, 1.0]]))
    with pytest.raises(TypeError, match="inputs"):
        itr.input_treatments(white.X)
    with pytest.raises(TypeError, match="inputs"):
        itr.input_treatments({})
    with pytest.raises(ValueError, match="inputs\\['a'\\]"):
        itr.input_treatments({"a": np.ones(5)})
    t = itr.input_treatments({"white": white.X})
    with pytest.raises(ValueError, match="name"):
        t.condition("dirty")
    with pytest.raises(ValueError, match="treatment"):
        t.condition("white", "newton")


def test_plots(white, spectrum, steps):
    fig = itr_plots.plot_offset_spectrum(spectrum)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert all(ax.get_xscale() == "log" and not ax.patches for ax in fig.axes)
    fig = itr_plots.plot_offset_steps(steps)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert fig.get_figwidth() <= 7.6
    t = itr.input_treatments(itr.spoiled_inputs(white.X))
    assert isinstance(itr_plots.plot_treatments(t, {"white": "white inputs"}), Figure)
    table = itr_plots.offset_table_markdown(steps)
    assert table.count("\n") == len(OFFSETS) + 1
    table = itr_plots.treatments_table_markdown(t)
    assert table.count("\n") == len(t.names) + 1
    with pytest.raises(TypeError, match="spectrum"):
        itr_plots.plot_offset_spectrum(steps)
    with pytest.raises(TypeError, match="steps"):
        itr_plots.plot_offset_steps(spectrum)
    with pytest.raises(TypeError, match="treatments"):
        itr_plots.plot_treatments(steps)
