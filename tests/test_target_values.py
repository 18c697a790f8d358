"""ebp.experiments.target_values (paper §4.5) and its plots."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from matplotlib.figure import Figure

from ebp import scratch
from ebp.experiments import target_values as tv
from ebp.plots import target_values as tv_plots


@pytest.fixture(scope="module")
def small():
    # A smaller version of the chapter's run: same codings, same 5 seeds, fewer epochs.
    return tv.target_values(
        n_train=150, hidden=20, eta=0.1, batch_size=30, checkpoints=(0, 4, 16, 48), seeds=range(5)
    )


def test_single_unit_pm1_settles_asymptote_grows():
    g = tv.single_unit_growth(targets=(1.0, 1.7159), eta=0.1, n_steps=20_000)
    w_pm1, w_asym = g.w
    # target 1 is reached: f(w) = 1 where w = atanh(1/1.7159) / (2/3)
    assert scratch.lecun_tanh(w_pm1[-1]) == pytest.approx(1.0, abs=1e-9)
    assert w_pm1[-1] == pytest.approx(1.5 * np.arctanh(1 / 1.7159), abs=1e-6)
    # the asymptote is never reached: w keeps growing, like the gradient-flow prediction
    assert np.all(np.diff(w_asym) > 0)
    assert w_asym[-1] > 4.0
    np.testing.assert_allclose(w_asym[-5:], g.asymptotic_w()[-5:], rtol=0.01)


def test_asymptote_targets_grow_the_output_weights(small):
    """§4.5: targets at the asymptotes → larger output weights than ±1 targets (seed mean)."""
    w_pm1 = small.weight_norm["pm1"][:, -1].mean()
    w_asym = small.weight_norm["asymptote"][:, -1].mean()
    assert w_asym > 1.3 * w_pm1
    # and they are still growing at the end
    assert small.late_growth("asymptote").mean() > small.late_growth("pm1").mean()
    assert np.all(np.diff(small.weight_norm["asymptote"].mean(axis=0)) > 0)


def test_asymptote_targets_saturate_the_outputs(small):
    assert small.saturated["asymptote"][:, -1].mean() > 0.3
    assert small.saturated["pm1"][:, -1].mean() < 0.02
    assert (
        small.saturated_wrong_label["asymptote"].mean() > small.saturated_wrong_label["pm1"].mean()
    )


def test_shapes_and_determinism(small):
    assert small.weight_norm["pm1"].shape == (5, 4)
    assert small.test_error["logistic01"].shape == (5,)
    assert small.test_error_curve["pm1"].shape == (5, 4)
    np.testing.assert_allclose(small.test_error_curve["pm1"][:, -1], small.test_error["pm1"])
    best, at = small.best_test_error("pm1")
    assert best <= small.test_error["pm1"].mean() and at in small.epoch
    assert small.labels["pm1"] == tv.SETUPS["pm1"].label
    again = tv.target_values(
        names=("pm1",), n_train=150, hidden=20, eta=0.1, batch_size=30,
        checkpoints=(0, 4, 16, 48), seeds=range(5),
    )  # fmt: skip
    # same seeds, same run; compared to rounding, not bit for bit (BLAS reductions)
    np.testing.assert_allclose(again.weight_norm["pm1"], small.weight_norm["pm1"], rtol=1e-10)


def test_relative_slope():
    assert tv.relative_slope("lecun_tanh", 0.0) == pytest.approx(1.0)
    assert tv.relative_slope("logistic", 0.0) == pytest.approx(1.0)
    assert tv.relative_slope("lecun_tanh", 10.0) < 1e-5


def test_custom_setup():
    setup = tv.TargetSetup("logistic", "zero_one", 0.6, 0.0, 1.0, "0.2/0.8")
    res = tv.target_values(
        names=("mine",), setups={"mine": setup}, n_train=100, checkpoints=(0, 2), seeds=(0,)
    )
    assert res.labels == {"mine": "0.2/0.8"}
    assert "0.2/0.8" in tv_plots.target_table_markdown(res)


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"names": ("zeros",)}, ValueError, "names"),
        ({"names": "pm1"}, TypeError, "names"),
        ({"label_noise": 1.0}, ValueError, "label_noise"),
        ({"checkpoints": (1, 2)}, ValueError, "checkpoints"),
        ({"checkpoints": (0, 4, 2)}, ValueError, "checkpoints"),
        ({"threshold": 0.0}, ValueError, "threshold"),
        ({"setups": {"pm1": 1.0}}, TypeError, "setups"),
        ({"eta": {"pm1": 0.1}}, ValueError, "eta"),
        ({"eta": {"pm1": 0.1, "asymptote": 0.1, "logistic01": -1.0}}, ValueError, "eta"),
    ],
)
def test_target_values_bad_input(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        tv.target_values(**kwargs)


def test_single_unit_bad_input():
    with pytest.raises(ValueError, match="targets"):
        tv.single_unit_growth(targets=(2.0,))
    with pytest.raises(ValueError, match="n_steps"):
        tv.single_unit_growth(n_steps=1)


def test_plots(small):
    assert isinstance(tv_plots.plot_target_values(small), Figure)
    g = tv.single_unit_growth(n_steps=1000)
    assert isinstance(tv_plots.plot_single_unit_growth(g), Figure)
    table = tv_plots.target_table_markdown(small)
    assert table.count("\n") == 10
    assert "| learning rate $\\eta$ | 0.1 | 0.1 | 0.1 |" in table
    with pytest.raises(TypeError, match="result"):
        tv_plots.plot_target_values(g)


@pytest.fixture(scope="module")
def sweep():
    # The chapter's sweep on a smaller grid: the same codings, data and seeds.
    return tv.eta_sweep(etas=(0.1, 0.4, 1.6, 6.4), epochs=16, seeds=(10, 11, 12))


def test_eta_sweep_gives_the_logistic_a_larger_rate(sweep):
    """The logistic's slope is at most 1/4: it needs a much larger rate than ±1 targets."""
    assert sweep.train_loss["pm1"].shape == (4, 3)
    for name in sweep.names:
        mean = sweep.mean_loss(name)
        assert sweep.best[name] == sweep.etas[np.argmin(mean)]
        assert mean.min() < mean[0] or sweep.best[name] == sweep.etas[0]
    assert sweep.best["logistic01"] >= 4 * sweep.best["pm1"]
    # at the shared rate 0.1 the logistic network is far behind its own best
    logistic = sweep.mean_loss("logistic01")
    assert logistic[0] > 2 * logistic.min()


def test_eta_sweep_picks_the_lower_training_loss():
    # far too large a rate saturates every output (bounded outputs: no overflow) and loses
    sw = tv.eta_sweep(names=("pm1",), etas=(1e3, 0.1), epochs=1, seeds=(0,), n_train=100)
    assert sw.train_loss["pm1"][0, 0] > sw.train_loss["pm1"][1, 0]
    assert sw.best["pm1"] == 0.1


def test_target_values_takes_one_rate_per_coding():
    eta = {"pm1": 0.05, "logistic01": 0.8}
    res = tv.target_values(
        names=("pm1", "logistic01"), eta=eta, n_train=100, checkpoints=(0, 2), seeds=(0,)
    )
    assert res.eta == eta
    same = tv.target_values(names=("pm1",), eta=0.05, n_train=100, checkpoints=(0, 2), seeds=(0,))
    np.testing.assert_allclose(same.weight_norm["pm1"], res.weight_norm["pm1"], rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"etas": ()}, TypeError, "etas"),
        ({"etas": (0.1, 0.0)}, ValueError, "etas"),
        ({"epochs": 0}, ValueError, "epochs"),
        ({"names": ("zeros",)}, ValueError, "names"),
        ({"seeds": ()}, ValueError, "seeds"),
    ],
)
def test_eta_sweep_bad_input(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        tv.eta_sweep(**kwargs)
