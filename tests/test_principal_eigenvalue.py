"""ebp.experiments.principal_eigenvalue (paper §9.2, targets R7 and R8) and its plots.

The R7 and R8 tests call the experiments with the chapter's arguments, so they check the
numbers the chapter shows.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from matplotlib.figure import Figure

from ebp.experiments import principal_eigenvalue as er
from ebp.plots import principal_eigenvalue as er_plots

# ---------------------------------------------------------------------------------------------
# The chapter's runs
# ---------------------------------------------------------------------------------------------


# Each chapter-size run is used by one test only, so that pytest-xdist never computes it twice.


def test_r7_estimates_against_eigvalsh():
    """R7 with the chapter's calls: eqs 59/60/63 and Lanczos agree with eigvalsh to 1e-3; the
    online estimate (eq 64 with γ, Fig 24 schedule) has the right order of magnitude within
    100 presentations; eq 64 as printed settles at λ/γ."""
    pe = er.principal_eigenvalue(hidden=30, n_train=300, seed=0)
    runs = er.online_runs(seeds=range(5), n_presentations=400)
    errors = pe.relative_errors()
    for method in ("lanczos", "power", "taylor"):
        assert errors[method] < 1e-3, method
    assert pe.fd_error < 1e-3  # one gradient difference (eq 59) against the exact product
    # the power method and eq 63 find the largest magnitude: here that is λ_max
    assert pe.lambda_max > abs(pe.eigenvalues[0])

    assert runs.same_order_of_magnitude(100).all()
    assert abs(np.log10(pe.online_ratio(100))) < 0.5
    # the chapter's seed-0 run and Fig 24's seed-0 run are the same computation
    np.testing.assert_allclose(runs.estimates[0], pe.online)
    np.testing.assert_array_equal(runs.gamma_changes, [20, 80, 200])

    for g in pe.printed:
        printed = pe.printed[g][-100:].mean() / pe.lambda_max
        corrected = pe.printed_corrected[g][-100:].mean() / pe.lambda_max
        assert printed == pytest.approx(1 / g, rel=0.15)
        assert corrected == pytest.approx(1.0, rel=0.15)


def test_r8_as_measured():
    """R8 with the chapter's calls, asserting what the chapter reports.

    Raw pixels: R8 holds after one epoch; later the best ratio drifts below R8's window while
    the MSE at ratio 1 stays within 10 % of the best in every epoch, and λ_max shrinks during
    training.  Standardized pixels: the best online rate is far below 1/λ_max.  Both: the best
    ratio is near λ_max / mean λ_max(∇²E^p)."""
    raw = er.rate_sweep(standardize=False, epochs=5, seeds=range(5), batch_size=1)
    std = er.rate_sweep(standardize=True, epochs=5, seeds=range(5), batch_size=1)
    assert raw.best_in_window(1)
    for e in range(1, 6):
        assert raw.excess_at_one(e) <= 0.10, e
        assert raw.best_ratio(e) <= 1.0, e
    assert not raw.best_in_window(5)
    assert raw.best_ratio(5) < raw.best_ratio(1)
    assert np.all(raw.lambda_max_trained < raw.lambda_max)

    for e in range(1, 6):
        assert std.best_ratio(e) < 0.25, e
        assert std.excess_at_one(e) > 1.0, e
    # centring removes the large eigenvalue, while single patterns curve more
    assert np.all(std.lambda_max < raw.lambda_max)
    assert std.pattern_lambda.mean() > raw.pattern_lambda.mean()
    assert std.pattern_ratio < raw.pattern_ratio

    for sweep in (raw, std):
        for e in range(1, 6):
            assert 0.5 <= sweep.best_ratio(e) / sweep.pattern_ratio <= 2.0


# ---------------------------------------------------------------------------------------------
# Small runs: shapes, determinism, validation, plots
# ---------------------------------------------------------------------------------------------


def _small_sweep(**kw):
    args = dict(
        ratios=(0.5, 1.0, 2.0), epochs=2, seeds=(0, 1), hidden=5, n_train=50, n_pattern_samples=3
    )
    args.update(kw)
    return er.rate_sweep(**args)


def test_rate_sweep_shapes_and_determinism():
    a, b = _small_sweep(), _small_sweep()
    assert a.mse.shape == (2, 3, 3)
    assert a.lambda_max.shape == (2,) and a.pattern_lambda.shape == (3,)
    np.testing.assert_array_equal(a.mse, b.mse)
    np.testing.assert_array_equal(a.lambda_max, b.lambda_max)
    np.testing.assert_allclose(a.eta_predicted, 1 / a.lambda_max)
    # same start for every ratio of a seed: the models are stacked copies of one network, so
    # their initial losses agree to rounding (a batched matmul need not be bit-identical across
    # batch entries on every BLAS)
    start = a.mse[:, :, 0]
    np.testing.assert_allclose(start, np.broadcast_to(start[:, :1], start.shape), rtol=1e-12)
    assert a.best_ratio(2) in a.ratios
    assert a.excess_at_one(2) >= 0.0
    summary = a.summary()
    assert summary["best_last"] == a.best_ratio(2)
    assert summary["exc_lo"] <= summary["exc_first"] <= summary["exc_hi"]
    assert 0 <= summary["in_window"] <= 2


def test_rate_sweep_needs_ratio_one_for_the_excess():
    sweep = _small_sweep(ratios=(0.5, 2.0), seeds=(0,), epochs=1)
    with pytest.raises(ValueError, match="ratios must include 1"):
        sweep.excess_at_one(1)


@pytest.mark.parametrize(
    ("kw", "exc", "match"),
    [
        ({"ratios": (1.0, -1.0)}, ValueError, "ratios"),
        ({"ratios": ()}, ValueError, "ratios"),
        ({"epochs": 0}, ValueError, "epochs"),
        ({"seeds": ()}, ValueError, "seeds"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"hidden": 0}, ValueError, "hidden"),
    ],
)
def test_rate_sweep_rejects_bad_input(kw, exc, match):
    with pytest.raises(exc, match=match):
        _small_sweep(**kw)


def test_principal_eigenvalue_small_and_validation():
    small = er.principal_eigenvalue(hidden=4, n_train=40, n_presentations=30, n_constant=30)
    assert small.n_params == 64 * 4 + 4 + 4 * 10 + 10
    assert small.online.shape == (30,) and small.gammas.shape == (30,)
    assert set(small.printed) == {0.1, 0.03}
    assert small.relative_errors()["power"] < 1e-3
    with pytest.raises(ValueError, match="presentations"):
        small.online_ratio(31)
    runs = er.online_runs(seeds=(0,), hidden=4, n_train=40, n_presentations=30)
    assert runs.estimates.shape == (1, 30) and runs.ratio_at(30).shape == (1,)
    with pytest.raises(ValueError, match="constant_gammas"):
        er.principal_eigenvalue(hidden=4, n_train=40, constant_gammas=(1.5,))
    with pytest.raises(ValueError, match="n_presentations"):
        er.principal_eigenvalue(hidden=4, n_train=40, n_presentations=0)
    with pytest.raises(ValueError, match="seeds"):
        er.online_runs(seeds=())


def test_plots_draw():
    small = _small_sweep()
    pe = er.principal_eigenvalue(hidden=4, n_train=40, n_presentations=30, n_constant=30)
    runs = er.online_runs(seeds=(0, 1), hidden=4, n_train=40, n_presentations=30)
    figs = (  # left open: conftest checks that each fits the column
        er_plots.plot_estimates(pe),
        er_plots.plot_online_runs(runs),
        er_plots.plot_rate_sweep(small, small),
    )
    for fig in figs:
        assert isinstance(fig, Figure)
    for fig in (figs[0], figs[2]):  # two panels, one above the other
        fig.draw_without_rendering()
        top, bottom = (ax.get_position() for ax in fig.axes)
        assert bottom.y1 < top.y0
    # every reference line is labelled: the dotted line at 1 and the γ changes are in the legend
    labels = [t.get_text() for t in figs[1].legends[0].get_texts()]
    assert "γ changes" in labels and any("lambda_{\\max}" in t for t in labels)
    table = er_plots.r8_table_markdown({"a": small})
    assert table.count("\n") == 1 + 2  # header, rule, one row per epoch
    with pytest.raises(TypeError, match="result"):
        er_plots.plot_estimates(small)
    with pytest.raises(TypeError, match="sweeps"):
        er_plots.r8_table_markdown({})
