"""The chapter "Classical second-order methods": its experiments, on small arguments, check
the claims the chapter makes, and its figures draw."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from ebp.experiments import classical_second_order as cso
from ebp.plots import classical_second_order as cso_plots


@pytest.fixture(scope="module")
def race() -> cso.QuadraticRace:
    return cso.quadratic_race(n=100, kappa=1e3, target=1e-10)  # the chapter's


@pytest.fixture(scope="module")
def sweep() -> cso.KappaSweep:
    return cso.kappa_sweep((10.0, 100.0), n=30, clusters=4)


@pytest.fixture(scope="module")
def bowl() -> cso.BowlRace:
    return cso.bowl_race(hidden=5, budget=80, etas=(0.2,), momenta=(0.0, 0.9))


@pytest.fixture(scope="module")
def saddles() -> cso.NewtonSaddles:
    return cso.newton_saddles(seeds=(0, 1), hidden=5, max_iter=10)


@pytest.fixture(scope="module")
def minibatch() -> cso.MinibatchRun:
    return cso.minibatch_breakdown(batch=10, epochs=3.0, hidden=4, eta=0.2)


# -- the loss the experiments use is the library's --------------------------------------------


@pytest.mark.parametrize("make", [cso.bowl_objective, cso.digits_objective])
def test_the_numpy_network_agrees_with_model_objective(make) -> None:
    problem = make(hidden=3) if make is cso.digits_objective else make(50, 3)
    w = problem.w0 + 0.3 * np.random.default_rng(1).standard_normal(problem.n)
    f, g = problem.fun(w)
    f_ref, g_ref = problem.reference.fun(w)
    assert f == pytest.approx(f_ref, rel=1e-12)
    np.testing.assert_allclose(g, g_ref, rtol=1e-10, atol=1e-13)
    r, J = problem.residuals(w)
    r_ref, J_ref = problem.reference.residuals(w)
    np.testing.assert_allclose(r, r_ref, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(J, J_ref, rtol=1e-10, atol=1e-13)
    assert problem.n == problem.net.n == problem.w0.size


# -- the quadratic ---------------------------------------------------------------------------


def test_newton_solves_a_quadratic_in_one_step_at_cost_n_plus_2(race) -> None:
    t = race.traces["newton"]
    assert race.iterations_to_target["newton"] == 1
    assert t.final < 1e-20
    assert t.cost[-1] == race.n + 2  # gradient at w0, the Hessian (n), the gradient after


def test_cg_needs_at_most_n_iterations_and_descent_many_more(race) -> None:
    for m in ("cg-fr", "cg-pr"):
        assert race.iterations_to_target[m] <= race.n
    assert race.iterations_to_target["bfgs"] < race.iterations_to_target["gd"]
    assert race.cost_to_target["momentum"] < race.cost_to_target["gd"]
    assert race.cost_to_target["cg-pr"] < race.cost_to_target["gd"]


def test_cg_needs_few_iterations_when_eigenvalues_cluster(sweep) -> None:
    assert np.all(sweep.iterations["cg-pr-clustered"] <= sweep.clusters + 1)
    assert np.all(sweep.iterations["cg-pr"] > sweep.iterations["cg-pr-clustered"])
    assert sweep.iterations["gd"][1] > 5 * sweep.iterations["gd"][0]  # grows like κ


def test_clustered_spectrum_has_that_many_distinct_eigenvalues() -> None:
    prob = cso.quadratic_problem(12, 50.0, clusters=3)
    assert np.unique(np.round(prob.lam, 12)).size == 3
    np.testing.assert_allclose(np.linalg.eigvalsh(prob.H), prob.lam, atol=1e-12)


# -- the bowl network ------------------------------------------------------------------------


def test_newton_goes_uphill_only_where_the_hessian_is_indefinite(saddles) -> None:
    assert saddles.uphill.sum() > 0
    assert np.any(saddles.uphill & (saddles.lam_min < 0))
    # a Newton direction can point uphill (∇Eᵀp > 0) only if H is not positive definite
    assert np.all(saddles.lam_min[saddles.slope > 0] < 0)
    assert np.any(saddles.slope > 0)


def test_bowl_race_ranks_the_methods_as_the_chapter_says(bowl) -> None:
    t = bowl.traces
    assert t["newton"].uphill_steps > 0
    assert t["levenberg-marquardt"].final < t["gd"].final
    assert t["bfgs"].final < t["gd"].final
    assert t["torch-lbfgs"].final < t["gd"].final
    for m in ("cg-fr", "cg-pr", "bfgs", "levenberg-marquardt"):
        assert t[m].uphill_steps == 0
        assert t[m].cost[-1] <= 80 + 30  # the budget, plus at most one line search
    assert np.all(np.diff(t["bfgs"].cost) > 0)
    assert set(bowl.grid) == {(0.2, 0.0), (0.2, 0.9)}


def test_lbfgs_counts_its_evaluations() -> None:
    prob = cso.quadratic_problem(10, 10.0)
    t = cso.lbfgs_trace(prob.fun, prob.w0, budget=40)
    assert t.cost.size == t.counts["nfev"] <= 40
    assert np.all(np.diff(t.loss) <= 0)  # the lowest loss so far
    assert t.final < 1e-8 * t.loss[0]


# -- digits and memory -----------------------------------------------------------------------


def test_bfgs_memory_is_8_n_squared_bytes() -> None:
    mem = cso.bfgs_memory(hidden=(1, 2), n_train=50)
    np.testing.assert_array_equal(mem.nbytes, 8 * mem.N**2)
    assert np.all(mem.peak >= mem.nbytes)
    np.testing.assert_array_equal(mem.N, 75 * mem.hidden + 10)


def test_digits_race_counts_the_jacobian_size() -> None:
    d = cso.digits_race(hidden=2, n_train=50, budget=30, target=5.0)
    assert d.jacobian_bytes == 8 * 50 * 10 * d.n
    assert set(d.traces) == {"cg-pr", "bfgs", "gd", "momentum", "torch-lbfgs"}
    assert d.traces["bfgs"].final < d.traces["bfgs"].loss[0]


# -- mini-batches ----------------------------------------------------------------------------


def test_line_searches_fail_on_minibatches_and_not_on_the_batch(minibatch) -> None:
    f = minibatch.failures
    assert f["cg-pr-minibatch"] > f["cg-pr-batch"] == 0
    assert f["bfgs-minibatch"] > f["bfgs-batch"] == 0
    for m in ("cg-pr-minibatch", "bfgs-minibatch"):
        assert minibatch.iterations[m] < minibatch.iterations["sgd"] / 5
        assert minibatch.loss["sgd"][-1] < minibatch.loss[m][-1]
    assert minibatch.epochs["sgd"][-1] == pytest.approx(3.0)
    assert minibatch.loss_at("sgd", 0.0) == minibatch.loss["sgd"][0]


def test_minibatch_runs_are_deterministic(minibatch) -> None:
    again = cso.minibatch_breakdown(batch=10, epochs=3.0, hidden=4, eta=0.2)
    for k in minibatch.loss:
        np.testing.assert_array_equal(again.loss[k], minibatch.loss[k])
        np.testing.assert_array_equal(again.epochs[k], minibatch.epochs[k])


# -- cost bookkeeping and validation ---------------------------------------------------------


def test_cost_to_target_is_nan_when_never_reached() -> None:
    t = cso.Trace("gd", np.array([1.0, 2.0]), np.array([1.0, 0.5]), 1)
    assert cso.cost_to_target(t, 0.5) == 2.0
    assert np.isnan(cso.cost_to_target(t, 0.1))


def test_descent_stops_when_it_diverges() -> None:
    prob = cso.quadratic_problem(5, 10.0)
    t = cso.run_descent(prob.fun, prob.w0, eta=50.0, budget=200)
    assert t.message == "diverged"
    assert t.loss.size < 200


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: cso.run_method(cso.quadratic_problem(5), "sgd", budget=10), "method"),
        (lambda: cso.run_method(cso.quadratic_problem(5), "bfgs", budget=0), "budget"),
        (
            lambda: cso.run_descent(lambda w: (0.0, w), [1.0], eta=0.1, momentum=1.0, budget=5),
            "momentum",
        ),
        (lambda: cso.run_descent(lambda w: (0.0, w), [1.0], eta=-1.0, budget=5), "eta"),
        (lambda: cso.quadratic_problem(5, 0.5), "kappa"),
        (lambda: cso.quadratic_problem(5, 10.0, clusters=6), "clusters"),
        (lambda: cso.quadratic_problem(1), "n"),
        (lambda: cso.kappa_sweep(()), "kappas"),
        (lambda: cso.bowl_objective(hidden=0), "hidden"),
        (lambda: cso.minibatch_breakdown(batch=5000), "batch"),
        (lambda: cso.minibatch_breakdown(epochs=0.0), "epochs"),
        (lambda: cso.newton_saddles(seeds=()), "seeds"),
        (lambda: cso.bfgs_memory(hidden=(0,)), "hidden"),
        (lambda: cso.lbfgs_trace(lambda w: (0.0, w), [1.0], budget=0), "budget"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(call, name) -> None:
    with pytest.raises((ValueError, TypeError), match=name):
        call()


# -- figures and table -----------------------------------------------------------------------


def test_figures_draw_and_refuse_wrong_inputs(race, sweep, bowl, saddles, minibatch) -> None:
    mem = cso.bfgs_memory(hidden=(1, 2), n_train=50)
    digits = cso.digits_race(hidden=2, n_train=50, budget=20, target=5.0)
    figs = [
        cso_plots.plot_quadratic(race, sweep),
        cso_plots.plot_bowl(bowl, saddles),
        cso_plots.plot_digits(mem, digits),
        cso_plots.plot_minibatch(minibatch),
    ]
    for fig in figs:
        assert fig.get_size_inches()[0] <= 7.6
        assert all(ax.get_xlabel() for ax in fig.axes)
    plt.close("all")
    with pytest.raises(TypeError, match="race"):
        cso_plots.plot_quadratic(sweep, sweep)
    with pytest.raises(TypeError, match="run"):
        cso_plots.plot_minibatch(race)


def test_table_has_a_row_per_method(bowl) -> None:
    table = cso_plots.bowl_table_markdown(bowl)
    lines = table.splitlines()
    assert len(lines) == 2 + len(bowl.traces)
    assert "Levenberg–Marquardt (eq 47)" in table
