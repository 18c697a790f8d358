"""The chapter "Stochastic diagonal Levenberg–Marquardt" (paper §9.1, target R9)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from ebp.experiments import sdlm as sd
from ebp.plots import sdlm as sd_plots

matplotlib.use("Agg")

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")


@pytest.fixture(scope="module")
def linear_unit():
    return sd.linear_unit_sdlm(eps=(0.02, 0.12), mu=0.01, gamma=0.5, epochs=2, seeds=range(5))


def test_r9_rates_are_eps_over_curvature_plus_mu(linear_unit):
    lu = linear_unit
    # for a linear unit the Gauss–Newton diagonal is (<x1²>, <x2²>, 1), whatever the weights
    np.testing.assert_allclose(lu.curvature, lu.input_moments, rtol=1e-12)
    np.testing.assert_allclose(lu.curvature[2], 1.0)
    expected = lu.eps[:, None] / (lu.input_moments[None, :] + lu.mu)
    np.testing.assert_allclose(lu.rates, expected, rtol=1e-12)


def test_paper_ratio_windows():
    """The ratios the printed rates allow: 0.115/0.035 .. 0.125/0.025 (Fig 22) and
    0.755/0.185 .. 0.765/0.175 (Fig 23)."""
    np.testing.assert_allclose(sd.paper_ratio_window("fig22"), (0.115 / 0.035, 0.125 / 0.025))
    np.testing.assert_allclose(sd.paper_ratio_window("fig23"), (0.755 / 0.185, 0.765 / 0.175))
    with pytest.raises(ValueError, match="figure"):
        sd.paper_ratio_window("fig24")


def test_r9_rate_ratio_inside_fig22_rounding_but_below_fig23(linear_unit):
    """The chapter's statement, honestly: our η0 : η1 (3.33) lies in Fig 22's wide rounding
    window (0.12/0.03, one significant digit of η1) but below Fig 23's narrow one (0.76/0.18);
    the paper's ratio, shared by both figures, lies in Fig 23's window, so ours is lower."""
    lo22, hi22 = sd.paper_ratio_window("fig22")
    lo23, _ = sd.paper_ratio_window("fig23")
    assert lo22 <= linear_unit.rate_ratio <= hi22
    assert linear_unit.rate_ratio < lo23
    # the w2 and bias rates agree with the paper's printed digits (ε was read off the bias)
    for i, paper in enumerate(sd.PAPER_RATES.values()):
        assert linear_unit.rates[i, 1] == pytest.approx(paper[1], rel=0.1)
        assert linear_unit.rates[i, 2] == pytest.approx(paper[2], rel=0.02)


def test_r9_near_the_minus_17_db_floor_within_two_epochs(linear_unit):
    lu = linear_unit
    assert lu.min_loss_db == pytest.approx(-17.0, abs=0.5)
    start = np.median(lu.loss_db[:, :, 0], axis=1)
    after = np.median(lu.db_at(2), axis=1)
    assert np.all(after <= lu.min_loss_db + 2.0)  # "about -17 dB within 2 epochs"
    assert np.all(start - after > 10.0)


def test_r9_tuned_sdlm_beats_tuned_sgd_on_digits():
    race = sd.digits_race()  # the chapter's settings (one test: computed once per run)
    # the rates of both sweeps were tuned: the best lies inside each sweep, not at an edge
    assert 0 < race.best("sgd") < race.sgd_etas.size - 1
    assert 0 < race.best("sdlm") < race.sdlm_eps.size - 1
    # soft target (paper ≈ 3×): SDLM reaches the main target in fewer presentations
    assert race.speedup() > 1.0
    assert np.all(np.isfinite(race.best_to_target("sdlm")))
    # the curvature estimates the chapter discusses: output weights far above hidden ones
    assert np.median(race.curvature["layer 2"]) > 10 * np.median(race.curvature["layer 1"])
    fig = sd_plots.plot_digits_race(race)  # left open: conftest checks its width
    assert len(fig.axes) == 3
    # two panels above one: (a) and (b) share a row, (c) spans it
    fig.draw_without_rendering()
    a, b, c = (ax.get_position() for ax in fig.axes)
    assert a.y0 == pytest.approx(b.y0) and c.y1 < a.y0 and c.width > 1.5 * a.width
    table = sd_plots.race_table_markdown(race)
    assert table.count("\n") == 1 + len(race.targets)


def test_time_to_target_and_curvature_accounting():
    pres = np.array([0, 100, 200, 300])
    loss = np.array([[5.0, 2.0, 0.5, 0.1], [5.0, np.nan, np.nan, np.nan]])
    np.testing.assert_array_equal(sd.presentations_to_target(pres, loss, 0.5), [200, np.inf])
    np.testing.assert_allclose(sd.db(0.1), -10.0)
    race = sd.DigitsRace(
        sizes=(2, 2, 10), batch_size=10, sgd_etas=np.array([0.1]), sdlm_eps=np.array([0.1]),
        mu=0.1, gamma=0.5, subset=20, refresh_every=2, presentations=pres, n_train=100,
        sgd_loss=loss[None, :1], sdlm_loss=np.array([[[5.0, 0.5, 0.2, 0.1]]]),
        initial_loss=np.array([5.0]), targets=(0.5,), seeds=np.array([0]), data_seed=0,
        curvature={},
    )  # fmt: skip
    # updates before epochs 1 and 3: 20 patterns for up to 2 epochs, 40 for 3
    np.testing.assert_array_equal(race.curvature_presentations(np.array([100, 200, 300])),
                                  [20, 20, 40])  # fmt: skip
    assert race.speedup() == pytest.approx(2.0)  # 200 presentations against 100
    assert race.speedup(count_curvature=True) == pytest.approx(200 / 120)


def test_linear_unit_figure_draws(linear_unit):
    fig = sd_plots.plot_linear_unit(linear_unit)  # left open: conftest checks its width
    assert len(fig.axes) == 2
    fig.draw_without_rendering()
    top, bottom = (ax.get_position() for ax in fig.axes)
    assert bottom.y1 < top.y0  # stacked
    # the rates are points on the log axis, not bars (whose length would mean nothing)
    assert not fig.axes[0].patches


def test_bad_arguments():
    with pytest.raises(ValueError, match="eps"):
        sd.linear_unit_sdlm(eps=(0.0,))
    with pytest.raises(ValueError, match="seeds"):
        sd.linear_unit_sdlm(seeds=())
    with pytest.raises(ValueError, match="sgd_etas"):
        sd.digits_race(sgd_etas=(-1.0,))
    with pytest.raises(ValueError, match="refresh_every"):
        sd.digits_race(refresh_every=0)
