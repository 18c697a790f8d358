"""ebp.experiments.learning_rates (paper §4.7) and its plots."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from hypothesis import given
from hypothesis import strategies as st
from matplotlib.figure import Figure

from ebp import train
from ebp.experiments import learning_rates as lr
from ebp.optim import per_layer_rates
from ebp.plots import learning_rates as lr_plots

TINY = lr.DigitsSetup(sizes=(64, 12, 8, 10), n_train=100, epochs=2, batch_size=25)


# ---------------------------------------------------------------------------------------------
# The ravine
# ---------------------------------------------------------------------------------------------


def test_ravine_theory():
    r = lr.ravine(50.0)
    assert r.kappa == pytest.approx(50.0)
    np.testing.assert_allclose(r.lam, [0.02, 1.0])
    assert r.gd_rate() == pytest.approx(2 / 1.02)
    eta, mu = r.heavy_ball()
    assert mu == pytest.approx(((math.sqrt(50) - 1) / (math.sqrt(50) + 1)) ** 2)
    assert eta == pytest.approx(4 / (1 + math.sqrt(0.02)) ** 2)
    assert r.contraction("gd") == pytest.approx(49 / 51)
    assert r.contraction("momentum") == pytest.approx(math.sqrt(mu))
    np.testing.assert_allclose(r.grad(np.array([1.0, 1.0])), [0.02, 1.0])
    assert r.loss(r.w0) == pytest.approx(0.5 * (0.02 * 4 + 0.36))


@pytest.mark.parametrize(
    ("optimizer", "eta", "mu"),
    [
        ("sgd", 1.5, 0.0),
        ("sgd", 2.5, 0.6),
        ("rmsprop", 0.05, 0.0),
        ("rmsprop", 0.05, 0.5),
        ("adam", 0.1, 0.0),
    ],
)
def test_numpy_sweep_matches_torch_optim(optimizer, eta, mu):
    r = lr.ravine(30.0, w0=(-1.5, 0.8))
    path = lr.optimizer_path(r, optimizer, eta, momentum=mu, n_steps=60)
    paths = lr.closed_form_paths(r, optimizer, [0.5 * eta, eta], momentum=mu, n_steps=60)
    np.testing.assert_allclose(paths[1], path, rtol=1e-10, atol=1e-12)
    losses = lr.sweep_losses(r, optimizer, [0.5 * eta, eta], momentum=mu, n_steps=60)
    np.testing.assert_allclose(losses[1], r.loss(path), rtol=1e-10, atol=1e-300)
    assert not np.allclose(losses[0], losses[1])


def test_heavy_ball_beats_gd_as_theory_says():
    rv = lr.ravine_comparison(kappa=50.0, adaptive_etas=(0.03, 0.1))
    # gradient descent at 2/(λ_min+λ_max) matches its contraction factor to within a step
    assert abs(rv.steps["gd"] - rv.predicted_steps("gd")) <= 1.5
    # no rate of the GD sweep beats the theory's rate
    assert rv.sweep_steps["gd"].min() >= rv.steps["gd"]
    # momentum: far fewer steps, but more than the t-free estimate (t ρ^t decay)
    assert rv.steps["momentum"] < 0.35 * rv.steps["gd"]
    assert rv.steps["momentum"] >= rv.predicted_steps("momentum")
    # on the axis-aligned ravine RMSProp's per-coordinate scaling beats gradient descent
    assert rv.steps["rmsprop"] < rv.steps["gd"]
    for name in rv.names:
        assert rv.path[name].shape == (rv.n_steps + 1, 2)
        np.testing.assert_allclose(rv.loss[name], rv.surface.loss(rv.path[name]))


def test_diverging_path_is_cut_at_nan():
    r = lr.ravine(10.0)
    path = lr.optimizer_path(r, "sgd", 50.0, n_steps=400)  # far beyond 2/λ_max
    assert np.isnan(path[-1]).all()
    numpy_path = lr.closed_form_paths(r, "sgd", [50.0], n_steps=400)[0]
    np.testing.assert_array_equal(np.isnan(numpy_path), np.isnan(path))
    assert np.isfinite(path[0]).all()
    assert lr.steps_to_tolerance(r.loss(path), 1e-3) == math.inf


def test_steps_to_tolerance_counts_from_where_it_stays_below():
    e = np.array([1.0, 0.5, 1e-4, 0.2, 1e-4, 1e-5])
    assert lr.steps_to_tolerance(e, 1e-3) == 4
    assert lr.steps_to_tolerance(e, 0.9) == 1
    assert lr.steps_to_tolerance(np.array([1.0, 0.5]), 1e-3) == math.inf
    assert lr.steps_to_tolerance(np.array([1.0, np.nan]), 0.5) == math.inf


@given(st.lists(st.floats(0.0, 10.0), min_size=1, max_size=30), st.floats(1e-6, 0.99))
def test_steps_to_tolerance_property(tail, tol):
    e = np.array([1.0, *tail])
    t = lr.steps_to_tolerance(e, tol)
    if math.isinf(t):
        assert e[-1] > tol
    else:
        assert np.all(e[int(t) :] <= tol)
        assert t == 0 or e[int(t) - 1] > tol


def test_ravine_validation():
    with pytest.raises(ValueError, match="kappa"):
        lr.ravine(1.0)
    with pytest.raises(ValueError, match="w0"):
        lr.ravine(10.0, w0=(0.0, 0.0))
    with pytest.raises(ValueError, match="optimizer"):
        lr.optimizer_path(lr.ravine(), "lbfgs", 0.1)
    with pytest.raises(ValueError, match="momentum"):
        lr.optimizer_path(lr.ravine(), "adam", 0.1, momentum=0.5)
    with pytest.raises(TypeError, match="surface"):
        lr.sweep_losses("ravine", "sgd", [0.1])
    with pytest.raises(ValueError, match="tol"):
        lr.steps_to_tolerance(np.ones(3), 1.5)


# ---------------------------------------------------------------------------------------------
# Digits
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sgd_tiny():
    return lr.rate_sweep("sgd", (0.03, 0.1, 50.0), seeds=range(5), setup=TINY)


def test_rate_sweep_shapes_best_and_divergence(sgd_tiny):
    s = sgd_tiny
    assert s.train_loss.shape == (3, 5, TINY.epochs + 1)
    assert s.layer_change.shape == (3, 5, 3)
    # η = 50 diverges for every seed: frozen, reported, never chosen
    assert s.diverged[2].all() and not s.diverged[:2].any()
    assert np.isinf(s.final_loss[2]).all()
    assert np.isnan(s.layer_change[2]).all() and np.isnan(s.test_error[2]).all()
    assert s.best == int(np.argmin(s.mean_final_loss[:2]))
    assert s.best_at_edge == (s.best == 0)
    np.testing.assert_array_equal(s.best_curves, s.train_loss[s.best])
    np.testing.assert_array_equal(s.layer_rates, np.ones(3))
    assert np.all(s.layer_change[:2] > 0)
    # training lowers the loss
    assert np.all(s.train_loss[:2, :, -1] < s.train_loss[:2, :, 0])


def test_rate_sweep_is_deterministic(sgd_tiny):
    again = lr.rate_sweep("sgd", (0.03, 0.1, 50.0), seeds=range(5), setup=TINY)
    np.testing.assert_array_equal(again.train_loss, sgd_tiny.train_loss)


def test_per_layer_sweep_matches_train_fit():
    """The per-layer groups of models[0], scaled per model by fit_many, are what ebp.train.fit
    does with per_layer_rates for each rate on its own."""
    s = lr.rate_sweep("sgd_layers", (0.05, 0.2), seeds=(0, 1), setup=TINY)
    split, T = TINY.task()
    for r, eta in enumerate(s.etas):
        model = TINY.model(1)
        h = train.fit(
            model,
            split.X_train,
            T,
            loss="mse",
            eta=float(eta),
            epochs=TINY.epochs,
            batch_size=TINY.batch_size,
            seed=1,
            param_groups=per_layer_rates(model, float(eta), rule="sqrt_fan_in"),
        )
        np.testing.assert_allclose(s.train_loss[r, 1], h.train_loss, rtol=1e-4)


def test_per_layer_rates_follow_sqrt_fan_in():
    s = lr.rate_sweep("sgd_layers", (0.05,), seeds=(0,), setup=TINY)
    np.testing.assert_allclose(s.layer_rates, np.sqrt([64 / 8, 12 / 8, 1.0]))


def test_adaptive_records_its_rate():
    s = lr.rate_sweep("adaptive", (0.01, 0.3), seeds=(0, 1), setup=TINY)
    assert s.eta_history.shape == (2, 2, TINY.epochs + 1)
    np.testing.assert_allclose(s.eta_history[:, :, 0], [[0.01, 0.01], [0.3, 0.3]])
    # the rule moves the rate: up from a small start, down from a large one
    assert np.all(s.eta_history[0, :, -1] > 0.01)
    assert np.all(s.eta_history[1, :, -1] < 0.3)
    assert lr.adaptive_constants() == {"delta": 0.1, "alpha": 1.0, "beta": 0.1}


def test_other_variants_have_no_eta_history():
    s = lr.rate_sweep("adam", (0.01,), seeds=(0,), setup=TINY)
    assert s.eta_history is None
    assert s.label == lr.VARIANTS["adam"]


def test_schedule_comparison(sgd_tiny):
    sc = lr.schedule_comparison(0.1, step_epochs=1, halving_epochs=1.0, seeds=range(5), setup=TINY)
    per_epoch = sc.updates_per_epoch
    assert per_epoch == 4
    np.testing.assert_allclose(sc.eta["constant"], 0.1)
    np.testing.assert_allclose(sc.eta["step"], 0.1 * 0.5 ** np.arange(TINY.epochs + 1))
    np.testing.assert_allclose(sc.eta["inverse_time"], 0.1 / (1 + np.arange(TINY.epochs + 1)))
    # the constant schedule is the η = 0.1 run of the sweep
    np.testing.assert_allclose(sc.train_loss["constant"], sgd_tiny.train_loss[1], rtol=1e-6)
    assert not np.allclose(sc.train_loss["step"], sc.train_loss["constant"])


def test_clipping_rescues_a_diverging_rate():
    cd = lr.clipping_demo(
        sizes=(64, 16, 16, 10),
        eta_good=0.05,
        eta_large=5.0,
        clip_norm=1.0,
        epochs=2,
        early_updates=6,
        seeds=(0, 1, 2),
        setup=TINY,
    )
    assert cd.diverged["large"].all()
    assert np.all(cd.step["large"] > 0)
    assert not cd.diverged["large_clipped"].any() and not cd.diverged["good"].any()
    assert cd.early_grad_norm["good"].shape == (3, 7)
    assert np.isnan(cd.train_loss["large"][:, -1]).all()
    # the unclipped gradient grows before the divergence
    g = cd.early_grad_norm["large"]
    last = np.array([row[np.isfinite(row)][-1] for row in g])
    assert np.all(last > 10 * g[:, 0])


def test_digits_validation():
    with pytest.raises(ValueError, match="variant"):
        lr.rate_sweep("lbfgs", (0.1,), setup=TINY)
    with pytest.raises(ValueError, match="etas"):
        lr.rate_sweep("sgd", (), setup=TINY)
    with pytest.raises(ValueError, match="etas"):
        lr.rate_sweep("sgd", (-0.1,), setup=TINY)
    with pytest.raises(ValueError, match="seeds"):
        lr.rate_sweep("sgd", (0.1,), seeds=(), setup=TINY)
    with pytest.raises(TypeError, match="setup"):
        lr.rate_sweep("sgd", (0.1,), setup="tiny")
    with pytest.raises(ValueError, match="sizes"):
        lr.DigitsSetup(sizes=(64, 10))
    with pytest.raises(ValueError, match="sizes"):
        lr.DigitsSetup(sizes=(32, 8, 10))
    with pytest.raises(ValueError, match="batch_size"):
        lr.DigitsSetup(n_train=20, batch_size=30)
    with pytest.raises(ValueError, match="eta0"):
        lr.schedule_comparison(0.0, setup=TINY)
    with pytest.raises(ValueError, match="clip_norm"):
        lr.clipping_demo(clip_norm=-1.0, setup=TINY)


# ---------------------------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------------------------


def test_plots_draw(sgd_tiny):
    rv = lr.ravine_comparison(kappa=20.0, n_steps=80, adaptive_etas=(0.03, 0.1))
    adaptive = lr.rate_sweep("adaptive", (0.01,), seeds=(0, 1), setup=TINY)
    sc = lr.schedule_comparison(0.1, seeds=(0, 1), setup=TINY)
    cd = lr.clipping_demo(
        sizes=(64, 16, 10), eta_large=5.0, epochs=2, early_updates=4, seeds=(0, 1), setup=TINY
    )
    figs = [  # left open: conftest checks that each fits the column
        lr_plots.plot_ravine(rv),
        lr_plots.plot_sweeps([sgd_tiny], layer_change=True),
        lr_plots.plot_sweeps([sgd_tiny]),
        lr_plots.plot_adaptive(adaptive, sgd_tiny),
        lr_plots.plot_schedules(sc),
        lr_plots.plot_clipping(cd),
    ]
    for fig in figs:
        assert isinstance(fig, Figure)
    # the three-panel figures are two above one, the legend in the fourth cell
    for fig in (figs[1], figs[5]):
        assert len(fig.axes) == 4 and not fig.axes[3].axison
        assert fig.axes[3].get_legend() is not None
    # a rate at which seeds diverged is labelled with the rate and the count
    texts = [t.get_text() for t in figs[1].axes[0].texts]
    assert any(t.endswith("5/5 diverged") for t in texts), texts
    table = lr_plots.sweep_table_markdown([sgd_tiny])
    lines = table.splitlines()
    assert len(lines) == 3 and "best rate" in lines[0]
    assert "(5/5 diverged)" in lines[2]


def test_plots_reject_wrong_input(sgd_tiny):
    with pytest.raises(TypeError, match="sweeps"):
        lr_plots.plot_sweeps(sgd_tiny)
    with pytest.raises(TypeError, match="result"):
        lr_plots.plot_ravine(sgd_tiny)
    with pytest.raises(ValueError, match="adaptive"):
        lr_plots.plot_adaptive(sgd_tiny, sgd_tiny)
    with pytest.raises(TypeError, match="result"):
        lr_plots.plot_clipping(None)


# ---------------------------------------------------------------------------------------------
# Exercises: the rotated ravine and the adaptive rule's β
# ---------------------------------------------------------------------------------------------


def test_rotated_ravine_is_the_same_quadratic():
    flat, turned = lr.ravine(50.0), lr.ravine(50.0, angle=math.pi / 4)
    np.testing.assert_allclose(np.linalg.eigvalsh(turned.hessian), flat.lam, rtol=1e-12)
    np.testing.assert_allclose(turned.loss(turned.w0), flat.loss(flat.w0), rtol=1e-12)
    np.testing.assert_allclose(turned.grad(turned.w0), turned.hessian @ turned.w0, rtol=1e-12)
    # torch.optim on the rotated surface agrees with the NumPy paths
    for opt, eta in (("sgd", 0.5), ("rmsprop", 0.05), ("adam", 0.1)):
        a = lr.optimizer_path(turned, opt, eta, n_steps=30)
        b = lr.closed_form_paths(turned, opt, [eta], n_steps=30)[0]
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    with pytest.raises(TypeError, match="angle"):
        lr.ravine(50.0, angle=float("nan"))


def test_rotation_hurts_rmsprop_only():
    """Exercise lr-ex-rotate: GD and momentum are invariant under the rotation (start rotated
    too); RMSProp, fastest on the axis-aligned ravine, becomes slower than plain GD."""
    flat = lr.ravine_comparison(kappa=50)
    turned = lr.ravine_comparison(kappa=50, angle=math.pi / 4)
    for name in ("gd", "momentum"):
        assert abs(turned.steps[name] - flat.steps[name]) <= 1
    assert flat.steps["rmsprop"] == min(flat.steps.values())
    assert turned.steps["rmsprop"] > max(5 * flat.steps["rmsprop"], turned.steps["gd"])
    assert abs(turned.steps["adam"] - flat.steps["adam"]) <= 0.1 * flat.steps["adam"]


def test_beta_sweep_scales_the_rate():
    """Exercise lr-ex-beta on a tiny network: a larger β drives η higher."""
    bs = lr.beta_sweep((0.03, 0.3), eta0=0.01, seeds=(0, 1), setup=TINY)
    assert bs.peak_eta.shape == bs.final_loss.shape == bs.diverged.shape == (2, 2)
    assert np.all(bs.peak_eta >= 0.01)
    assert np.all(bs.peak_eta[1] > 2 * bs.peak_eta[0])
    assert np.all(np.isnan(bs.final_loss[bs.diverged]))
    with pytest.raises(ValueError, match="betas"):
        lr.beta_sweep((), setup=TINY)
    with pytest.raises(TypeError, match="setup"):
        lr.beta_sweep(setup="digits")
