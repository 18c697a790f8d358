"""The lab "hand-written backprop that gets stuck" (ebp.experiments.lab_stuck_backprop,
ebp.plots.lab_stuck_backprop).

The claims the chapter makes are asserted here on two seeds: the beginner's set-up gets stuck
(no better than predicting the mean), doubling its learning rate diverges (and the divergence is
reported with its step), the fully fixed set-up reaches a low error, and the NumPy and PyTorch
loops give the same curves in float64.
"""

from __future__ import annotations

import math

import matplotlib as mpl
import numpy as np
import pytest

mpl.use("Agg")

from ebp import scratch
from ebp.experiments import lab_stuck_backprop as lab
from ebp.history import History
from ebp.plots import lab_stuck_backprop as lab_plots


@pytest.fixture(scope="module")
def data() -> lab.LabData:
    return lab.make_data()


@pytest.fixture(scope="module")
def result(data: lab.LabData) -> lab.LabResult:
    return lab.run_lab(["beginner", "larger_eta", "all"], seeds=2, data=data)


def test_data_are_in_raw_units(data: lab.LabData) -> None:
    assert data.X_train.shape == (200, 2) and data.z_val.shape == (200, 1)
    assert np.abs(data.X_train).max() > 9  # inputs spread over [-10, 10]
    assert data.z_train.mean() > 100  # targets in the hundreds
    assert not np.array_equal(data.X_train, data.X_val)


def test_beginner_is_stuck_at_the_mean(result: lab.LabResult) -> None:
    s = lab.summarize(result)
    i = s.index("beginner")
    assert s.n_diverged[i] == 0
    # No better than always predicting the mean target (whose RMSE is the targets' std).
    assert s.val_mean[i] > 0.9 * s.target_std
    diag = lab.diagnose(result, ["beginner", "all"])
    assert diag.saturated.shape == (2, 2, 2) and diag.grad_norm.shape == (2, 2, 3)
    assert np.all(diag.saturated[0, 1] > 0.9)  # beginner, trained: nearly all units saturated
    assert np.all(diag.saturated[1, 1] < 0.1)  # fixed, trained: almost none
    # The beginner's first layer gets a vanishing share of the gradient.
    assert diag.grad_norm[0, 1, 0] < 1e-2 * diag.grad_norm[0, 1, 2]


def test_larger_eta_diverges_and_reports_the_step(result: lab.LabResult) -> None:
    for run in result.runs["larger_eta"]:
        assert run.diverged
        assert isinstance(run.step, int) and run.step >= 1
        assert run.divergence_epoch == pytest.approx(run.step / 10)  # 10 updates per epoch
        assert f"at step {run.step}" in run.message
        assert math.isnan(run.final_val_rmse)
        assert np.all(np.isfinite(run.train_rmse)) and np.all(np.isfinite(run.val_rmse))
        assert run.epoch[-1] <= run.divergence_epoch


def test_fixed_setup_reaches_a_low_error(result: lab.LabResult) -> None:
    s = lab.summarize(result)
    fixed, beginner = s.index("all"), s.index("beginner")
    assert s.n_diverged[fixed] == 0
    assert s.val_mean[fixed] < 0.2 * s.target_std
    assert s.val_mean[beginner] > 5 * s.val_mean[fixed]
    for run in result.runs["all"]:
        assert run.val_rmse[-1] < run.val_rmse[0] / 5


def test_runs_are_deterministic(data: lab.LabData) -> None:
    a = lab.run_config("init", seed=3, data=data, epochs=5)
    b = lab.run_config("init", seed=3, data=data, epochs=5)
    c = lab.run_config("init", seed=4, data=data, epochs=5)
    # same seed, same run, to rounding (not bit for bit: BLAS reductions); another seed differs
    np.testing.assert_allclose(a.val_rmse, b.val_rmse, rtol=1e-10)
    assert not np.allclose(a.val_rmse, c.val_rmse, rtol=1e-3)


def test_rmse_curve_is_in_original_units(data: lab.LabData) -> None:
    run = lab.run_config("all", data=data, epochs=2)
    pred = run.network.predict(lab.Standardizer.fit(data.X_train).transform(data.X_val))
    zs = lab.Standardizer.fit(data.z_train)
    rmse = np.sqrt(np.mean((zs.inverse_transform(pred) - data.z_val) ** 2))
    assert run.val_rmse[-1] == pytest.approx(rmse, rel=1e-10)


def test_numpy_and_pytorch_agree_in_float64(data: lab.LabData) -> None:
    agreement = lab.compare_numpy_torch("init", data=data, epochs=30)
    assert agreement.numpy_records == agreement.torch_records == 31
    assert agreement.max_rel_diff < 1e-10
    np.testing.assert_allclose(agreement.numpy_train, agreement.torch_train, rtol=1e-10)
    fig = lab_plots.plot_agreement(agreement)  # two panels stacked, each with its legend
    top, bottom = fig.get_axes()
    fig.draw_without_rendering()
    assert top.get_window_extent().y0 > bottom.get_window_extent().y1
    assert "float64 ε" in [t.get_text() for t in fig.subfigs[1].legends[0].get_texts()]


def test_numpy_and_pytorch_diverge_together(data: lab.LabData) -> None:
    agreement = lab.compare_numpy_torch("larger_eta", data=data, epochs=5)
    assert agreement.numpy_diverged and agreement.torch_diverged
    assert agreement.numpy_step is not None and agreement.torch_step is not None
    # The two loops may number the update that revealed the blow-up one apart.
    assert agreement.numpy_step == agreement.torch_step, "both loops count updates alike"
    assert agreement.max_rel_diff < 1e-6


def test_standardizer_round_trip() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(5.0, 3.0, size=(50, 3))
    s = lab.Standardizer.fit(X)
    Z = s.transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1.0)
    np.testing.assert_allclose(s.inverse_transform(Z), X)
    with pytest.raises(ValueError, match="constant column"):
        lab.Standardizer.fit(np.ones((5, 2)))
    with pytest.raises(ValueError, match="X must have shape"):
        s.transform(np.zeros((4, 2)))


def test_saturated_fraction_extremes() -> None:
    X = np.random.default_rng(0).uniform(-1, 1, size=(30, 2))
    big = scratch.Network.create((2, 5, 1), init="normal", scale=1000.0)
    zero = scratch.Network.create((2, 5, 1), init="zeros")
    assert lab.saturated_fraction(big, X)[0] > 0.95
    assert lab.saturated_fraction(zero, X)[0] == 0.0
    with pytest.raises(ValueError, match="threshold"):
        lab.saturated_fraction(zero, X, threshold=0.0)


def test_divergence_step_from_history() -> None:
    h = History(diverged=True, message="training diverged at step 42: the loss is nan.", step=42)
    assert lab.divergence_step(h) == 42
    assert lab.divergence_step(History()) is None
    with pytest.raises(TypeError, match="history"):
        lab.divergence_step("step 3")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"configs": ["nope"]}, ValueError, "config must be one of"),
        ({"configs": []}, ValueError, "configs must not be empty"),
        ({"configs": "beginner"}, TypeError, "configs must be a sequence"),
        ({"seeds": 0}, ValueError, "seeds must be >= 1"),
        ({"seeds": [1, 1]}, ValueError, "seeds must be distinct"),
        ({"seeds": [-1]}, ValueError, r"seeds\[0\] must be >= 0"),
        ({"eta": -0.1}, ValueError, "eta must be > 0"),
        ({"epochs": 2.5}, TypeError, "epochs must be an int"),
        ({"batch_size": 500}, ValueError, "batch_size must be <="),
        ({"sizes": (3, 4, 1)}, ValueError, "sizes must start with 2 inputs"),
        ({"data": "raw"}, TypeError, "data must be a LabData"),
    ],
)
def test_bad_inputs_raise(kwargs: dict, error: type, match: str) -> None:
    kwargs = {"configs": ["beginner"], "seeds": 1, "epochs": 1, **kwargs}
    with pytest.raises(error, match=match):
        lab.run_lab(**kwargs)


def test_bad_inputs_raise_elsewhere(result: lab.LabResult) -> None:
    with pytest.raises(ValueError, match="n_train must be >= 2"):
        lab.make_data(n_train=1)
    with pytest.raises(ValueError, match="name must be one of"):
        lab.diagnose(result, ["targets"])  # not part of this result
    with pytest.raises(ValueError, match="seed_index must be <= 1"):
        lab.predictions(result, seed_index=2)
    with pytest.raises(TypeError, match="result must be a LabResult"):
        lab.summarize({})
    with pytest.raises(TypeError, match="summary must be"):
        lab_plots.summary_table(result)


def test_plots_draw(result: lab.LabResult) -> None:
    figs = [
        lab_plots.plot_curves(result, highlight=["larger_eta"]),
        lab_plots.plot_diagnosis(lab.diagnose(result)),
        lab_plots.plot_predictions(lab.predictions(result)),
    ]
    # The diverged seeds are marked with an ×, and no drawn line holds a NaN or Inf.
    ax = figs[0].axes[0]
    assert sum(line.get_marker() == "x" for line in ax.get_lines()) == 2
    for line in ax.get_lines():
        assert np.all(np.isfinite(np.asarray(line.get_ydata(), dtype=float)))
    table = lab_plots.summary_table(lab.summarize(result))
    assert table.count("\n") == 2 + len(result.configs) - 1
    assert "2/2" in table  # larger_eta diverged for both seeds
    # The diagnosis draws points, not bars (its gradient axis is logarithmic).
    assert all(not ax.patches for ax in figs[1].axes)
    assert figs[1].axes[1].get_yscale() == "log"
    # The predictions' diagonal is labelled; the figures left open are checked against the
    # column width by tests/conftest.py.
    assert "perfect prediction" in figs[2].legends[0].get_texts()[0].get_text()
