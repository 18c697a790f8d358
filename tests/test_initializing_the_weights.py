"""ebp.experiments.initializing_the_weights (paper §4.6): target R2 and the symmetry problem."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ebp.experiments import initializing_the_weights as ini


@pytest.fixture(scope="module")
def fan_in():
    return ini.first_layer_std()  # the chapter's call


@pytest.fixture(scope="module")
def depth():
    return ini.depth_profile()  # the chapter's call


def test_r2_first_layer_std_is_one_for_every_fan_in(fan_in):
    """Eq 16: σ_w = m^{-1/2} with standardized inputs gives weighted sums of std ≈ 1."""
    assert list(fan_in.fan_ins) == list(ini.FAN_INS)
    assert fan_in.seeds.size >= 5
    for init in ("lecun_normal", "lecun_uniform"):
        mean = fan_in.mean(init)
        assert np.all((mean >= 0.9) & (mean <= 1.1)), (init, mean)
        assert np.all(fan_in.spread(init) < 0.1)
    # single units scatter much more at small fan-in: eq 16 fixes only the average Σ w_i²
    lo, hi = fan_in.unit_std_lo["lecun_normal"], fan_in.unit_std_hi["lecun_normal"]
    assert hi[0] - lo[0] > 3 * (hi[-1] - lo[-1])


def test_r2_pytorch_default_is_one_over_root_three(fan_in):
    target = 1 / math.sqrt(3)
    mean = fan_in.mean("pytorch")
    big = fan_in.fan_ins >= 30  # the bias adds 1/(3m) to the variance at small fan-in
    assert np.all(np.abs(mean[big] / target - 1) < 0.1), mean
    expected = np.sqrt(1 / 3 + 1 / (3 * fan_in.fan_ins))
    np.testing.assert_allclose(mean, expected, rtol=0.1)


def test_r2_std_shrinks_with_depth_for_the_recommended_sigmoid(depth):
    lecun = depth.pre_std["lecun_normal"].mean(axis=0)
    assert 0.9 <= lecun[0] <= 1.1
    assert np.all(np.diff(lecun[:4]) < 0), lecun
    assert 0.8 <= lecun[1] <= 0.95
    # the Gaussian recursion predicts the measured profile
    np.testing.assert_allclose(lecun, depth.predicted["lecun_normal"], rtol=0.03)
    torch_default = depth.pre_std["pytorch"].mean(axis=0)
    assert abs(torch_default[0] * math.sqrt(3) - 1) < 0.1
    assert np.all(torch_default < lecun)


def test_var_f_of_unit_gaussian_is_three_quarters():
    assert ini.gaussian_second_moment("lecun_tanh", 1.0) == pytest.approx(0.7504, abs=1e-3)
    assert ini.gaussian_second_moment("identity", 2.5) == pytest.approx(2.5)
    np.testing.assert_allclose(ini.mean_field_std(3, activation="identity"), 1.0)


def test_zero_and_constant_init_keep_hidden_units_identical():
    sym = ini.symmetry(inits=("zeros", "constant", "lecun_normal"), epochs=3)
    # From zeros the symmetry is exact on any machine: every hidden output is f(0) = 0 and
    # every gradient of W1, b1 and W2 is a sum of products with an exact zero, which is 0
    # whatever the order of summation.
    assert sym.unit_spread["zeros"].max() == 0.0
    assert sym.weight_norm["zeros"].max() == 0.0  # W1 never leaves 0
    # From a constant the units are copies only up to rounding: BLAS may sum different
    # output units in different orders (vector lanes, blocking, threads), so they can differ
    # by a few units in the last place, and the symmetric state is unstable (the spread grows
    # about 2x per epoch).  After 3 epochs it is ~1e-16 of the weights' size; a relative
    # tolerance of 1e-10 allows for any BLAS while a real asymmetry (the random start's
    # spread > 0.1, or one update of size eta * gradient) is many orders above it.
    scale = float(sym.weight_norm["constant"].max())
    assert sym.unit_spread["constant"].max() <= 1e-10 * scale
    # the constant network does learn (as one unit)
    w = sym.weight_norm["constant"]
    assert abs(w[-1] - w[0]) > 1e-3 * w[0]
    assert sym.train_loss["constant"][-1] < sym.train_loss["constant"][0]
    assert sym.unit_spread["lecun_normal"].min() > 0.1
    assert sym.train_loss["lecun_normal"][-1] < sym.train_loss["constant"][-1]


def test_drift_rate_is_the_growth_per_epoch_of_the_spread():
    spread = {"exact": np.zeros(4), "drift": np.array([0.0, 1e-16, 0.0, 4e-16])}
    sym = ini.Symmetry(
        epoch=np.arange(4), inits=("exact", "drift"), unit_spread=spread, weight_norm={},
        train_loss={}, hidden=2, eta=0.1, batch_size=1, constant=0.1,
    )  # fmt: skip
    assert sym.drift_rate("exact") == 1.0
    assert sym.drift_rate("drift") == pytest.approx(2.0)  # x4 over epochs 1 -> 3


def test_scale_sweep_small_vanishes_large_saturates():
    sweep = ini.scale_sweep((0.1, 1.0, 10.0), sizes=(64, 32, 32, 10), epochs=1, seeds=(0, 1))
    assert sweep.train_loss.shape == (3, 2, 2)
    assert sweep.saturated.shape == (3, 2, 2)
    assert sweep.saturated[0].max() == 0.0
    assert sweep.saturated[2].min() > 0.5
    # too small: every layer's gradient is tiny (product of a small signal and a small error)
    assert np.all(sweep.grad_norm[0] < 0.05 * sweep.grad_norm[1].min())
    assert np.all(np.isfinite(sweep.train_loss[1]))
    assert sweep.train_loss[1, :, -1].mean() < sweep.train_loss[0, :, -1].mean()


def test_compare_schemes_signal_sizes():
    res = ini.compare_schemes(
        ("lecun_normal", "pytorch"), sizes=(64, 32, 32, 10), epochs=1, seeds=(0, 1), bins=10
    )
    assert res.hist_density["pytorch"].shape == (2, 10)
    widths = np.diff(res.hist_edges)
    np.testing.assert_allclose((res.hist_density["lecun_normal"] * widths).sum(axis=1), 1.0)
    assert np.all(res.act_std["pytorch"] < res.act_std["lecun_normal"])


def test_deterministic(fan_in):
    again = ini.first_layer_std()
    # same seeds, same numbers; compared to rounding, not bit for bit (BLAS reductions)
    for init in fan_in.std:
        np.testing.assert_allclose(again.std[init], fan_in.std[init], rtol=1e-12)


def test_plots_fit_the_column(fan_in, depth):
    """Every figure fits the book's column (the conftest fixture checks the figures left
    open), labels its axes, and labels its reference lines."""
    from matplotlib.figure import Figure

    from ebp.plots import initializing_the_weights as ini_plots

    small = {"sizes": (64, 16, 16, 10), "epochs": 1, "seeds": (0, 1)}
    sweep = ini.scale_sweep((0.1, 1.0), **small)
    schemes = ini.compare_schemes(("lecun_normal", "pytorch"), bins=10, **small)
    figs = [
        ini_plots.plot_depth_and_fan_in(fan_in, depth),
        ini_plots.plot_symmetry(ini.symmetry(epochs=1)),
        ini_plots.plot_scale_sweep(sweep),
        ini_plots.plot_scheme_histograms(schemes),
        ini_plots.plot_scheme_training(schemes),
    ]
    for fig in figs:
        assert isinstance(fig, Figure)
        assert any(ax.get_xlabel() for ax in fig.get_axes())
    # (a) above (b): the fan-in figure's panels are stacked, each with its legend below
    ax_m, ax_d = figs[0].get_axes()
    figs[0].draw_without_rendering()
    assert ax_m.get_window_extent().y0 > ax_d.get_window_extent().y1
    labels = [t.get_text() for sub in figs[0].subfigs for t in sub.legends[0].get_texts()]
    assert any("sqrt{3}" in t for t in labels) and 'paper: "close to 1"' in labels
    # the scale sweep: one legend of the scales for panels (b) and (c), below the panels
    assert [t.get_text() for t in figs[2].legends[0].get_texts()] == ["$s = 0.1$", "$s = 1$"]


@pytest.mark.parametrize(
    ("call", "exc", "name"),
    [
        (lambda: ini.first_layer_std([0]), ValueError, "fan_ins"),
        (lambda: ini.first_layer_std(inits=["bogus"]), ValueError, "inits"),
        (lambda: ini.depth_profile(width=1), ValueError, "width"),
        (lambda: ini.depth_profile(inits=("normal",)), ValueError, "init"),
        (lambda: ini.symmetry(hidden=1), ValueError, "hidden"),
        (lambda: ini.scale_sweep([0.0]), ValueError, "scales"),
        (lambda: ini.scale_sweep(seeds=[0]), ValueError, "seeds"),
        (lambda: ini.compare_schemes(eta=-1.0), ValueError, "eta"),
        (lambda: ini.mean_field_std(0), ValueError, "depth"),
    ],
)
def test_bad_input(call, exc, name):
    with pytest.raises(exc, match=name):
        call()
