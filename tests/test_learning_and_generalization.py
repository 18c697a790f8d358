"""ebp.experiments.learning_and_generalization and its plots: the numbers are sane and
reproducible."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

from matplotlib.figure import Figure

from ebp.experiments import learning_and_generalization as gen
from ebp.plots import learning_and_generalization as gen_plots


@pytest.fixture(scope="module")
def classifier():
    return gen.digits_classifier(epochs=8)


@pytest.fixture(scope="module")
def overfit():
    return gen.overfitting(n_train=50, n_val=100, epochs=40, patience=10, seeds=(0, 1, 2, 3, 4))


def test_loss_curves_autograd_matches_closed_forms():
    curves = gen.loss_curves(-5, 5, n=101, n_classes=4)
    assert set(curves.loss) == set(gen.LOSS_CURVES)
    assert curves.max_grad_error < 1e-10
    z = curves.z
    np.testing.assert_allclose(curves.loss["mse_linear"], 0.5 * (z - 1) ** 2)
    np.testing.assert_allclose(curves.loss["bce"], np.log1p(np.exp(-z)))
    np.testing.assert_allclose(curves.loss["cross_entropy"], np.log(np.exp(z) + 3) - z)


def test_loss_curves_saturation():
    """Confidently wrong: the squared error on a sigmoid output sends back almost nothing."""
    curves = gen.loss_curves(-8, 0, n=9)
    assert abs(curves.grad["mse_lecun_tanh"][0]) < 1e-3
    assert curves.grad["bce"][0] == pytest.approx(-1.0, abs=1e-3)
    assert curves.grad["cross_entropy"][0] == pytest.approx(-1.0, abs=1e-2)


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"z_min": 1.0, "z_max": 0.0}, ValueError, "z_max"),
        ({"n": 1}, ValueError, "n"),
        ({"n_classes": 1}, ValueError, "n_classes"),
        ({"z_min": "a"}, TypeError, "z_min"),
    ],
)
def test_loss_curves_bad_input(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        gen.loss_curves(**kwargs)


def test_classifier_is_well_above_chance(classifier):
    c = classifier
    assert c.accuracy > 0.85  # chance: 0.1
    assert c.macro_f1 > 0.85
    assert c.roc_auc > 0.97
    assert c.roc_auc_per_class.shape == (10,)
    assert c.confusion.shape == (10, 10)
    assert c.confusion.sum() == c.n_test
    assert np.trace(c.confusion) / c.n_test == pytest.approx(c.accuracy)
    assert c.test_error == pytest.approx(1 - c.accuracy)
    assert c.train_loss[-1] < c.train_loss[0] and c.test_loss[-1] < c.test_loss[0]
    assert c.epoch.shape == (9,)


def test_classifier_with_squared_error_and_pm1_targets():
    c = gen.digits_classifier(loss="mse", eta=0.02, epochs=5)
    assert c.accuracy > 0.6
    assert 0.5 < c.roc_auc <= 1.0


def test_classifier_is_deterministic_and_restores_threads():
    threads = torch.get_num_threads()
    a = gen.digits_classifier(epochs=2, seed=3)
    b = gen.digits_classifier(epochs=2, seed=3)
    assert torch.get_num_threads() == threads
    # same seed, same run, to rounding (not bit for bit: BLAS reductions)
    np.testing.assert_allclose(a.train_loss, b.train_loss, rtol=1e-10)
    np.testing.assert_array_equal(a.confusion, b.confusion)


def test_classifier_bad_input():
    with pytest.raises(ValueError, match="loss"):
        gen.digits_classifier(loss="hinge")
    with pytest.raises(ValueError, match="hidden"):
        gen.digits_classifier(hidden=0)
    with pytest.raises(ValueError, match="eta"):
        gen.digits_classifier(eta=-1.0)


def test_overfitting_shapes_and_consistency(overfit):
    o = overfit
    S, E = 5, 40
    assert o.train_loss.shape == o.val_loss.shape == o.test_error.shape == (S, E + 1)
    assert o.epochs == E
    assert (o.n_train, o.n_val) == (50, 100)
    rows = np.arange(S)
    np.testing.assert_array_equal(o.best_epoch, o.val_loss.argmin(axis=1))
    assert np.all(o.restore_epoch <= o.stop_epoch)
    np.testing.assert_array_equal(o.test_error_best, o.test_error[rows, o.best_epoch])
    np.testing.assert_array_equal(o.test_error_last, o.test_error[:, -1])


def test_overfitting_validation_minimum_comes_before_the_end(overfit):
    o = overfit
    # the small training set is memorized ...
    assert np.all(o.train_loss[:, -1] < 0.05)
    assert np.all(o.val_loss[:, -1] > 5 * o.train_loss[:, -1])
    # ... and the validation loss has its minimum well before the last epoch
    assert np.all(o.best_epoch < o.epochs)
    assert np.median(o.best_epoch) < 0.75 * o.epochs
    assert np.all(o.test_error_last < 0.5)  # still far better than chance (0.9)


def test_overfitting_with_label_noise_early_stopping_helps():
    o = gen.overfitting(
        n_train=100, n_val=150, epochs=60, patience=15, label_noise=0.3, seeds=(0, 1, 2)
    )
    assert np.mean(o.test_error_stop) < np.mean(o.test_error_last)
    assert np.all(o.val_loss[:, -1] > o.val_loss.min(axis=1))


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"seeds": ()}, ValueError, "seeds"),
        ({"seeds": (0, -1)}, ValueError, r"seeds\[1\]"),
        ({"seeds": 3}, TypeError, "seeds"),
        ({"label_noise": 1.0}, ValueError, "label_noise"),
        ({"patience": 0}, ValueError, "patience"),
        ({"n_train": 5}, ValueError, "n_train"),
    ],
)
def test_overfitting_bad_input(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        gen.overfitting(epochs=1, **kwargs)


def test_plots_return_figures(classifier, overfit):
    for fig in (
        gen_plots.plot_loss_curves(gen.loss_curves(n=21)),
        gen_plots.plot_classifier(classifier),
        gen_plots.plot_overfitting(overfit, title="t"),
    ):
        assert isinstance(fig, Figure)
        for ax in fig.axes:
            assert ax.get_xlabel() and ax.get_ylabel()
    # every figure left open is checked against the column width by tests/conftest.py
    with pytest.raises(TypeError, match="result"):
        gen_plots.plot_classifier(overfit)


def test_overfitting_summary_matches_the_arrays():
    result = gen.overfitting(
        n_train=40, n_val=60, epochs=6, batch_size=10, patience=2, seeds=(0, 1)
    )
    s = result.summary()
    assert s["n_seeds"] == 2 and s["epochs"] == 6 and s["n_train"] == 40
    assert s["best_mean"] == pytest.approx(result.best_epoch.mean())
    assert s["epochs_saved"] == pytest.approx(6 - result.stop_epoch.mean())
    assert s["epochs_saved"] + s["stop_mean"] == pytest.approx(s["epochs"])
    assert s["err_last"] == pytest.approx(100 * result.test_error_last.mean())
    assert s["val_min"] <= s["val_last"] + 1e-12
