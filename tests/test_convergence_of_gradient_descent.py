"""ebp.experiments.convergence_of_gradient_descent (paper §5.1–5.2) and its plots."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from ebp import nn as enn
from ebp import train
from ebp.experiments import convergence_of_gradient_descent as cgd
from ebp.plots import convergence_of_gradient_descent as cgd_plots

W0 = (1.5, -0.5, 0.5)


@pytest.fixture(scope="module")
def problem():
    return cgd.fig10_problem()


@pytest.fixture(scope="module")
def boundaries(problem):
    return cgd.divergence_boundary(problem, bias=True), cgd.divergence_boundary(problem, bias=False)


# --- §5.1, one dimension (Fig 6) -------------------------------------------------------------


def test_one_d_regimes_are_exact():
    """η_opt reaches the minimum in one step; between η_opt and 2η_opt the iterates alternate in
    sign and shrink; beyond 2η_opt they alternate and grow (eqs 24, 26)."""
    r = cgd.one_d_regimes(lam=2.0, ratios=(0.5, 1.0, 1.6, 2.2), w0=1.0, steps=8)
    assert r.eta_opt == 0.5 and r.eta_max == 1.0
    slow, opt, osc, div = r.paths
    assert opt[1] == 0.0 and np.all(opt[1:] == 0.0)  # exact: 1 - 0.5 * 2 = 0
    assert np.all(np.diff(slow) < 0) and np.all(slow > 0)  # monotone
    assert np.all(np.sign(osc[1:]) == -np.sign(osc[:-1]))  # alternates
    assert np.all(np.abs(osc[1:]) < np.abs(osc[:-1]))  # and converges
    assert np.all(np.sign(div[1:]) == -np.sign(div[:-1]))
    assert np.all(np.abs(div[1:]) > np.abs(div[:-1]))  # diverges
    np.testing.assert_allclose(osc, (-0.6) ** np.arange(9), rtol=1e-12)
    np.testing.assert_allclose(r.factors, [0.5, 0.0, -0.6, -1.2], atol=1e-15)


def test_one_d_boundary_is_two_over_lambda():
    """Just below η_max = 2/λ the iterates shrink, just above they grow."""
    lam = 3.0
    below = cgd.one_d_regimes(lam=lam, ratios=(1.999,), steps=50).paths[0]
    above = cgd.one_d_regimes(lam=lam, ratios=(2.001,), steps=50).paths[0]
    assert abs(below[-1]) < 1.0 < abs(above[-1])


# --- §5.1, many dimensions -------------------------------------------------------------------


def test_quadratic_picture_decouples():
    H = np.array([[2.0, 0.9], [0.9, 1.0]])
    p = cgd.quadratic_picture(H, (1.0, -0.5), steps=10)
    assert p.eta == pytest.approx(1 / p.lam[-1])
    # in eigen-coordinates each component is multiplied by 1 - ηλ_i
    for i in range(2):
        np.testing.assert_allclose(
            p.path_eigen[:, i],
            p.path_eigen[0, i] * (1 - p.eta * p.lam[i]) ** np.arange(11),
            atol=1e-12,
        )
    assert p.E.shape == (p.w2.size, p.w1.size)


def test_steps_grow_like_kappa():
    s = cgd.steps_vs_condition((4.0, 64.0, 1024.0), tol=1e-3)
    for m in ("eta_opt", "best_eta"):
        # plain descent: never more than predicted, and close to it
        assert np.all(s.measured[m] <= s.predicted[m] + 1)
        assert np.all(s.measured[m] >= 0.9 * s.predicted[m])
        slope = np.polyfit(np.log(s.kappas), np.log(s.measured[m]), 1)[0]
        assert 0.9 < slope < 1.1
    slope = np.polyfit(np.log(s.kappas), np.log(s.measured["momentum"]), 1)[0]
    assert 0.4 < slope < 0.65  # heavy ball: like sqrt(kappa)


# --- §5.2, the linear unit (R4) --------------------------------------------------------------


def test_fig10_data_match_the_paper(problem):
    """100 points, mean 0, covariance eigenvalues 0.836 ≈ 0.84 and 0.036 (the paper's)."""
    assert problem.X.shape == (100, 2)
    np.testing.assert_allclose(problem.mean, 0.0, atol=1e-12)
    np.testing.assert_allclose(problem.covariance_eigenvalues, [0.036, 0.836], rtol=1e-9)
    # the Hessian with the bias gains the bias input's second moment, 1
    np.testing.assert_allclose(problem.lam[True], [0.036, 0.836, 1.0], rtol=1e-9)
    assert problem.eta_max[True] == pytest.approx(2.0, rel=1e-9)
    assert problem.eta_max[False] == pytest.approx(2 / 0.836, rel=1e-9)


def test_batch_15_converges_and_25_diverges(problem):
    """The paper's Fig 11: batch η = 1.5 converges, η = 2.5 diverges."""
    e_min = float(problem.loss(problem.w_star[True]))
    good = cgd.batch_lms(problem, 1.5, 200, w0=W0)
    bad = cgd.batch_lms(problem, 2.5, 30, w0=W0)
    assert not good.diverged and bad.diverged
    assert good.loss[-1] - e_min < 1e-6 * (good.loss[0] - e_min)
    np.testing.assert_allclose(good.weights[-1], problem.w_star[True], atol=1e-3)
    assert bad.loss[-1] - e_min > 1e6 * (bad.loss[0] - e_min)
    # between the two predictions, η = 2.2 diverges: through the bias only
    mid = cgd.batch_lms(problem, 2.2, 150, w0=W0)
    assert mid.diverged
    err = mid.weights[-1] - problem.w_star[True]
    assert abs(err[2]) > 1e3 and np.all(np.abs(err[:2]) < 1e-3)


def test_measured_boundary_is_two_over_lambda_max_with_bias(boundaries):
    """R4: bisection on actual runs gives 2/λ_max of the full Hessian (with bias), 2.0, to
    1e-5 relative (the bracket is 1e-6 wide); without a bias, 2/0.836."""
    with_bias, no_bias = boundaries
    assert with_bias.eta == pytest.approx(with_bias.predicted, rel=1e-5)
    assert with_bias.predicted == pytest.approx(2.0, rel=1e-9)
    assert no_bias.eta == pytest.approx(2 / 0.836, rel=1e-5)
    assert with_bias.bracket[0] < with_bias.predicted < with_bias.bracket[1]
    # the paper's 2.38 is far outside the with-bias bracket
    assert with_bias.bracket[1] < 2.3


def test_bias_start_matters(problem):
    """Starting with the optimal bias (0), the bias does not move (up to rounding, which even
    grown by 1.2 per epoch for 50 epochs stays far below 1e-10); from b = 0.5 it explodes."""
    run = cgd.batch_lms(problem, 2.2, 50, w0=(1.5, -0.5, 0.0))
    assert np.all(np.abs(run.weights[:, 2]) < 1e-10)
    run = cgd.batch_lms(problem, 2.2, 50, w0=W0)
    assert abs(run.weights[-1, 2]) > 1e3


def test_batch_lms_matches_the_training_engine(problem):
    """cgd.batch_lms is batch descent on eq 28 as ebp.train.fit does it (float32)."""
    model = enn.mlp((2, 1), seed=0)
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([W0[:2]]))
        model[0].bias.fill_(W0[2])
    h = train.fit(model, problem.X, problem.d[:, None], eta=1.5, epochs=10, snapshots=True,
                  record_every=1)  # fmt: skip
    ours = cgd.batch_lms(problem, 1.5, 10, w0=W0).weights
    theirs = np.array(h.weights)  # (w1, w2, b) after every epoch
    assert theirs.shape == ours.shape
    np.testing.assert_allclose(theirs, ours, atol=1e-5)  # float32 against float64


def test_online_lms_is_noisy_but_near(problem):
    run = cgd.online_lms(problem, 0.2, 10, w0=W0, seed=0)
    assert run.weights.shape == (1001, 3)
    e_min = float(problem.loss(problem.w_star[True]))
    excess = run.loss[100:] - e_min
    assert np.median(excess) < 0.05 * (run.loss[0] - e_min)  # gets near
    assert np.min(excess) > 1e-7  # but never settles
    again = cgd.online_lms(problem, 0.2, 10, w0=W0, seed=0)
    np.testing.assert_array_equal(run.weights, again.weights)


def test_offset_moves_the_boundary():
    shifted = cgd.fig10_problem(offset=1.0)
    b = cgd.divergence_boundary(shifted, bias=True, low=0.1)
    assert b.eta == pytest.approx(shifted.eta_max[True], rel=1e-5)
    assert b.eta < 1.0


# --- Figs 13–14 ------------------------------------------------------------------------------


def test_fig13_network_matches_torch():
    net = cgd.fig13_network(epochs=3, train_epochs=20, n_grid=5)
    w1, w2, b1, b2 = net.trained
    model = enn.mlp((1, 1, 1), output_activation="lecun_tanh", dtype=torch.float64)
    with torch.no_grad():
        model[0].weight.fill_(w1)
        model[0].bias.fill_(b1)
        model[2].weight.fill_(w2)
        model[2].bias.fill_(b2)
        out = model(torch.as_tensor(net.x[:, None])).numpy()[:, 0]
    E = 0.5 * np.mean((out - net.d) ** 2)
    assert net.surface_loss(net.trained[:2]) == pytest.approx(E, rel=1e-12)


def test_fig13_trajectories_descend():
    net = cgd.fig13_network()
    for name in ("batch", "stochastic"):
        assert net.loss[name][-1] < 0.2 * net.loss[name][0]
        assert np.all(net.paths[name][-1] > 0)  # the valley with w1, w2 > 0
    assert np.all(np.diff(net.loss["batch"]) < 0)
    assert net.inner.shape == (40 * 20 + 1, 2)


# --- momentum --------------------------------------------------------------------------------


def test_momentum_region_and_valley():
    reg = cgd.momentum_region(n_eta=50, n_mu=20)
    np.testing.assert_array_equal(reg.converges, reg.radius < 1)
    v = cgd.valley_runs(kappa=25.0)
    assert v.steps_needed["momentum"] < 0.5 * v.steps_needed["plain"]
    assert v.heavy_ball.momentum == pytest.approx(((5 - 1) / (5 + 1)) ** 2)
    rows = cgd.momentum_table((100.0,))
    assert rows[0]["steps_momentum"] < rows[0]["steps_plain"] / 5


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda p: cgd.one_d_regimes(lam=-1.0), "lam"),
        (lambda p: cgd.one_d_regimes(ratios=()), "ratios"),
        (lambda p: cgd.one_d_regimes(w0=0.0), "w0"),
        (lambda p: cgd.one_d_regimes(steps=0), "steps"),
        (lambda p: cgd.quadratic_picture([[1.0, 2.0], [0.0, 1.0]], (1.0, 1.0)), "H"),
        (lambda p: cgd.quadratic_picture(np.eye(2), (1.0, 1.0, 1.0)), "w0"),
        (lambda p: cgd.steps_vs_condition((0.5, 2.0)), "kappas"),
        (lambda p: cgd.steps_vs_condition(tol=1.5), "tol"),
        (lambda p: cgd.fig10_problem(n=7), "n"),
        (lambda p: cgd.fig10_problem(offset=float("nan")), "offset"),
        (lambda p: cgd.batch_lms("data", 1.0, 5), "problem"),
        (lambda p: cgd.batch_lms(p, -1.0, 5), "eta"),
        (lambda p: cgd.batch_lms(p, 1.0, 0), "epochs"),
        (lambda p: cgd.batch_lms(p, 1.0, 5, w0=(1.0, 2.0)), "w0"),
        (lambda p: cgd.batch_lms(p, 1.0, 5, bias="yes"), "bias"),
        (lambda p: cgd.online_lms(p, float("inf"), 5), "eta"),
        (lambda p: cgd.online_lms(p, 0.1, 2, seed=-1), "seed"),
        (lambda p: cgd.divergence_boundary(p, low=3.0, high=2.0), "high"),
        (lambda p: cgd.divergence_boundary(p, low=2.1, high=3.0), "low"),
        (lambda p: cgd.divergence_boundary(p, low=0.5, high=1.0), "high"),
        (lambda p: cgd.divergence_boundary(p, steps=3), "steps"),
        (lambda p: cgd.fig13_network(grid=(1.0, -1.0)), "grid"),
        (lambda p: cgd.fig13_network(eta_batch=0.0), "eta_batch"),
        (lambda p: cgd.momentum_region(n_eta=1), "n_eta"),
        (lambda p: cgd.valley_runs(kappa=1.0), "kappa"),
        (lambda p: cgd.momentum_table((0.5,)), "kappas"),
        (lambda p: cgd.weight_plane(p, [[0.0, 1.0]], [0.0, 1.0]), "w1"),
        (lambda p: cgd.weight_plane(p, [0.0, 1.0], [0.0, float("nan")]), "w2"),
        (lambda p: cgd.lecun_f("x"), "a"),
        (lambda p: cgd.quadratic_picture(np.eye(2), (1.0, 1.0), span=0.0), "span"),
        (lambda p: p.loss(np.zeros(5)), "w"),
    ],
)
def test_bad_input_names_the_argument(problem, call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call(problem)


def test_lecun_f():
    """f(±1) = ±1 to 4 digits: the recommended sigmoid of §4.4."""
    np.testing.assert_allclose(cgd.lecun_f([-1.0, 0.0, 1.0]), [-1.0, 0.0, 1.0], atol=1e-4)


def test_online_divergence_is_reported(problem):
    with pytest.raises(ValueError, match="diverged"):
        cgd.online_lms(problem, 50.0, 5, w0=W0)


# --- plots -----------------------------------------------------------------------------------


def test_plots_draw(problem, boundaries):
    runs = {eta: cgd.batch_lms(problem, eta, 10, w0=W0) for eta in (1.5, 2.5)}
    figs = [
        cgd_plots.plot_regimes(cgd.one_d_regimes()),
        cgd_plots.plot_eigen_picture(cgd.quadratic_picture(problem.H[False], (-0.6, 0.9))),
        cgd_plots.plot_steps_vs_condition(cgd.steps_vs_condition((2.0, 8.0))),
        cgd_plots.plot_linear_unit(problem, runs, list(boundaries)),
        cgd_plots.plot_stochastic(problem, cgd.online_lms(problem, 0.2, 2, w0=W0)),
        cgd_plots.plot_fig13(cgd.fig13_network(epochs=3, train_epochs=10, n_grid=11)),
        cgd_plots.plot_momentum(cgd.momentum_region(n_eta=30, n_mu=10), cgd.valley_runs()),
    ]
    assert all(isinstance(f, Figure) for f in figs)
    plt.close("all")
    table = cgd_plots.boundary_table_markdown(problem, list(boundaries))
    assert "2.0000" in table and "2.3923" in table
    assert cgd_plots.momentum_table_markdown(cgd.momentum_table()).count("\n") == 4
    with pytest.raises(TypeError, match="r"):
        cgd_plots.plot_regimes("regimes")
