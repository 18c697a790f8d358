"""ebp.experiments.the_sigmoid (paper §4.4, target R1) and its plots."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

from matplotlib.figure import Figure

from ebp import nn
from ebp.experiments import the_sigmoid as sig
from ebp.plots import the_sigmoid as sig_plots


@pytest.fixture(scope="module")
def const():
    # The same call as the chapter.
    return sig.lecun_tanh_constants(n_mc=1_000_000, seed=0)


# --- target R1 ---------------------------------------------------------------------------------


def test_r1_f_at_1(const):
    assert abs(const.f_at_1 - 1.0) < 1e-4
    assert const.f_at_1 < 1.0  # 1.7159 is 1/tanh(2/3) rounded down


def test_r1_slope_at_0(const):
    assert abs(const.slope_at_0 - 1.7159 * 2 / 3) < 1e-9
    assert const.slope_at_0_exact == pytest.approx(1.7159 * 2 / 3, abs=1e-15)
    assert const.slope_at_0 == pytest.approx(1.144, abs=1e-3)


def test_r1_argmax_second_derivative_is_near_but_not_at_1(const):
    assert 0.9 <= const.argmax_f2 <= 1.1
    assert const.argmax_f2 == pytest.approx(const.argmax_f2_exact, abs=1e-6)
    assert const.argmax_f2 == pytest.approx(0.99, abs=0.005)
    assert abs(const.argmax_f2 - 1.0) > 0.01  # "near 1", honestly: 0.988


def test_r1_output_variance_is_three_quarters_not_one(const):
    assert 0.7 <= const.var_quad <= 0.8
    assert abs(const.var_quad - const.var_mc) < 1e-2
    assert abs(const.var_quad - const.var_mc) < 4 * const.var_mc_stderr
    assert abs(const.var_quad - 1.0) > 0.2  # not "≈ 1"
    assert 0.8 < const.mean_slope < 0.9  # the average slope, the effective gain


def test_r1_is_deterministic():
    a = sig.lecun_tanh_constants(n_mc=10_000, seed=3)
    b = sig.lecun_tanh_constants(n_mc=10_000, seed=3)
    assert a == b


# --- curves and statistics -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["logistic", "tanh", "lecun_tanh"])
def test_second_derivative_matches_autograd(name):
    x = torch.linspace(-4, 4, 41, dtype=torch.float64, requires_grad=True)
    f = nn.get_activation(name)
    (df,) = torch.autograd.grad(f(x).sum(), x, create_graph=True)
    (d2f,) = torch.autograd.grad(df.sum(), x)
    np.testing.assert_allclose(sig.second_derivative(name, x.detach().numpy()), d2f, atol=1e-12)


def test_max_curvature_points_closed_forms():
    assert sig.max_curvature_point("logistic") == pytest.approx(math.log(2 + math.sqrt(3)), 1e-7)
    assert sig.max_curvature_point("tanh") == pytest.approx(math.atanh(3**-0.5), 1e-7)


def test_curves_shapes_and_values():
    c = sig.sigmoid_curves(-2.0, 2.0, n=5)
    assert set(c.f) == set(sig.SIGMOIDS)
    np.testing.assert_allclose(c.f["logistic"][2], 0.5)
    np.testing.assert_allclose(c.df["lecun_tanh"][2], 1.7159 * 2 / 3)
    np.testing.assert_allclose(c.f["relu"], [0, 0, 0, 1, 2])


def test_unit_statistics_known_values():
    logistic = sig.unit_statistics("logistic")
    assert logistic.mean == pytest.approx(0.5, abs=1e-10)
    assert logistic.slope_at_0 == 0.25
    relu = sig.unit_statistics("relu")
    assert relu.mean == pytest.approx(1 / math.sqrt(2 * math.pi), abs=1e-9)
    assert relu.var == pytest.approx(0.5 - 1 / (2 * math.pi), abs=1e-9)
    assert relu.mean_slope == pytest.approx(0.5, abs=1e-9)
    tanh = sig.unit_statistics("tanh")
    assert tanh.mean == pytest.approx(0.0, abs=1e-10)
    assert logistic.var < tanh.var < sig.unit_statistics("lecun_tanh").var < 1


@pytest.mark.parametrize(
    ("call", "exc", "name"),
    [
        (lambda: sig.sigmoid_curves(1.0, 0.0), ValueError, "x_max"),
        (lambda: sig.sigmoid_curves(names=("sigmoidd",)), ValueError, "names"),
        (lambda: sig.unit_statistics("softplus"), ValueError, "name"),
        (lambda: sig.lecun_tanh_constants(n_mc=10), ValueError, "n_mc"),
        (lambda: sig.depth_gradients(depth=1), ValueError, "depth"),
        (lambda: sig.depth_gradients(scales=[1.0]), TypeError, "scales"),
        (lambda: sig.twisting(a_values=(-0.1,)), ValueError, "a_values"),
        (lambda: sig.activation_race(names=("relu",)), ValueError, "names"),
        (lambda: sig.activation_race(seeds=()), ValueError, "seeds"),
    ],
)
def test_bad_input(call, exc, name):
    with pytest.raises(exc, match=name):
        call()


# --- symmetric vs logistic -----------------------------------------------------------------------


def test_hidden_moments_logistic_has_a_large_eigenvalue():
    m = sig.hidden_moments(n_train=200, seeds=(0, 1))
    assert m.mean_state["logistic"] == pytest.approx(0.5, abs=0.02)
    assert abs(m.mean_state["lecun_tanh"]) < 0.05
    assert m.lambda_max("logistic") > 2 * m.lambda_max("lecun_tanh")
    assert m.condition("logistic") > 10 * m.condition("lecun_tanh")


def test_activation_race_small():
    race = sig.activation_race(etas=(0.1, 0.3), n_train=100, epochs=3, seeds=(0, 1))
    for name in race.names:
        assert race.train_loss[name].shape == (2, 2, 4)
        assert race.test_error[name].shape == (2, 2)
        assert race.best_curves(name).shape == (2, 4)
    # at the same learning rate, the symmetric units learn faster
    i = 0
    assert (
        race.train_loss["lecun_tanh"][i, :, -1].mean()
        < race.train_loss["logistic"][i, :, -1].mean()
    )
    assert isinstance(sig_plots.plot_activation_race(race), Figure)


# --- depth and twisting --------------------------------------------------------------------------


def test_depth_gradients_vanish_for_the_logistic_only():
    d = sig.depth_gradients(depth=8, width=32, n_patterns=100, seeds=(0, 1))
    assert d.grad_norm["logistic"].shape == (2, 8)
    assert d.span("logistic") > 1e3
    assert 0.3 < d.span("lecun_tanh") < 3
    assert d.mean_slope["logistic"].max() <= 0.25
    assert d.scales["relu"] == pytest.approx(math.sqrt(2))
    assert isinstance(sig_plots.plot_depth_gradients(d), Figure)


def test_twisting_slope_floor_and_escape():
    tw = sig.twisting(a_values=(0.0, 0.1), n_steps=200)
    assert np.all(tw.slope[1] >= 0.1 - 1e-12)
    assert tw.slope[0].min() < 1e-4  # flat spots without the twist
    assert tw.escape_step[0] == -1  # stuck for 200 steps
    assert 0 < tw.escape_step[1] < 200
    assert tw.grad[1, 0] > 100 * tw.grad[0, 0]
    assert isinstance(sig_plots.plot_twisting(tw), Figure)


def test_plots_curves_and_table(const):
    fig = sig_plots.plot_sigmoid_curves(sig.sigmoid_curves(n=51), const)
    assert isinstance(fig, Figure)
    tops = [ax.get_position().y0 for ax in fig.axes]
    assert len(tops) == 3 and tops == sorted(tops, reverse=True)  # (a), (b), (c) stacked
    table = sig_plots.unit_statistics_markdown(
        [sig.unit_statistics(n) for n in ("tanh", "lecun_tanh")], sig_plots.LABELS
    )
    assert table.count("\n") == 3
    with pytest.raises(TypeError, match="curves"):
        sig_plots.plot_sigmoid_curves(None, const)


def test_activation_race_sweep_at_the_chapter_size():
    """The chapter's panel (b): at equal rates up to the symmetric units' best rates the
    logistic network ends far behind (several times the loss); at the largest rate the
    symmetric units fail (loss near or above ln 10, a uniform guess) and the logistic is ahead."""
    race = sig.activation_race()
    final = {name: race.final_loss(name) for name in race.names}
    sym = np.fmin(final["tanh"], final["lecun_tanh"])
    small = race.etas <= max(race.best_eta("tanh"), race.best_eta("lecun_tanh"))
    assert np.all(final["logistic"][small] > 5 * sym[small])
    assert final["logistic"][-1] < sym[-1]
    assert sym[-1] > 0.9 * math.log(10)
    assert race.best_eta("logistic") > race.best_eta("tanh")  # "needs a rate several times larger"
    split = race.logistic_vs_symmetric()
    assert split["behind_eta"] < split["ahead_eta"]
    assert split["behind_lo"] > 5 and split["ahead_log"] < split["ahead_sym"]


def _race_with_final_losses(logistic, tanh, lecun_tanh):
    etas = np.array([0.1, 0.3, 1.0, 3.0])
    loss = {
        name: np.asarray(final, dtype=float)[:, None, None] * np.ones((1, 1, 2))
        for name, final in (("logistic", logistic), ("tanh", tanh), ("lecun_tanh", lecun_tanh))
    }
    return sig.ActivationRace(
        names=tuple(loss), etas=etas, seeds=np.array([0]), epoch=np.array([0.0, 1.0]),
        train_loss=loss, test_error={n: np.zeros((4, 1)) for n in loss},
        best_eta_index={n: 0 for n in loss}, sizes=(64, 10), n_train=1, n_test=1, batch_size=1,
    )  # fmt: skip


def test_logistic_vs_symmetric_reports_a_clean_split_and_refuses_any_other():
    race = _race_with_final_losses([4, 2, 1, 0.5], [1, 0.5, 2, 3], [2, 1, 3, 4])
    split = race.logistic_vs_symmetric()
    assert split == pytest.approx(
        {"behind_eta": 0.3, "behind_lo": 4, "behind_hi": 4, "ahead_eta": 1.0,
         "ahead_sym": 2, "ahead_log": 1}
    )  # fmt: skip
    mixed = _race_with_final_losses([4, 0.1, 3, 0.5], [1, 0.5, 2, 3], [2, 1, 3, 4])
    with pytest.raises(ValueError, match="not behind at the small rates"):
        mixed.logistic_vs_symmetric()


def test_variance_map_settles_below_one():
    """Exercise: v ← E f(√v y)² from v = 1 falls (0.75, 0.62, 0.55, …) to a fixed point
    v* ≈ 0.38, not 0 (f′(0)² > 1) and not 1."""
    m = sig.variance_map(layers=40, n_mc=200_000, seed=0)
    const_var = sig.unit_statistics("lecun_tanh").var
    assert m.variance[0] == pytest.approx(const_var, rel=0.01)
    assert np.all(np.diff(m.variance) < 0)  # falls monotonically towards v*
    assert 0.3 < m.fixed_point < 0.45
    assert m.variance[-1] == pytest.approx(m.fixed_point, rel=1e-3)
    assert m.slope_at_0**2 > 1
    assert 1 < m.settled(0.01) < 40
    np.testing.assert_allclose(m.std, np.sqrt(m.variance))
    with pytest.raises(ValueError, match="name"):
        sig.variance_map("logistic")
