"""ebp.experiments.weight_trajectories (chapter "Weight trajectories and PCA") and its plots."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.decomposition import PCA

from ebp.experiments import weight_trajectories as wt
from ebp.plots import weight_trajectories as wt_plots
from ebp.plots.style import MAX_FIGURE_WIDTH


@pytest.fixture(scope="module")
def quick():
    return wt.run(quick=True)


# --- the step angle ---------------------------------------------------------------------------


def test_step_cosines_by_hand():
    # steps (1, 0), (0, 2), (-3, 0), (-1, -1): right angle, right angle, then 45 degrees
    path = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 2.0], [-2.0, 2.0], [-3.0, 1.0]])
    cos = wt.step_cosines(path)
    expected = np.array([0.0, 0.0, 3.0 / (3.0 * np.sqrt(2.0))])
    np.testing.assert_allclose(cos, expected, atol=1e-15)
    np.testing.assert_allclose(wt.step_angles(path), [90.0, 90.0, 45.0], atol=1e-12)


def test_step_cosines_straight_zigzag_and_zero_step():
    straight = np.outer(np.arange(5.0), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(wt.step_cosines(straight), 1.0)
    zigzag = np.array([[0.0, 0.0], [1.0, 2.0], [2.0, 0.0], [3.0, 2.0]])  # (1, ±2) steps
    np.testing.assert_allclose(wt.step_cosines(zigzag), [-0.6, -0.6], atol=1e-15)
    stop = np.array([[0.0], [1.0], [1.0], [2.0]])
    assert np.isnan(wt.step_cosines(stop)).all()  # a zero step has no direction


def test_step_components_by_hand():
    path = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, -1.0]])
    a = wt.step_components(path, [0.0, 2.0])
    np.testing.assert_allclose(a, [1.0, -2.0], atol=1e-15)


# --- the common plane -------------------------------------------------------------------------


def test_common_plane_is_pca_of_the_stacked_paths():
    rng = np.random.default_rng(0)
    a = np.cumsum(rng.normal(size=(30, 6)) * [3, 2, 1, 0.5, 0.2, 0.1], axis=0)
    b = np.cumsum(rng.normal(size=(20, 6)) * [0.1, 1, 2, 3, 0.5, 0.2], axis=0)
    plane = wt.common_plane({"a": a, "b": b}, n=3, origin=a[0])
    ref = PCA(n_components=3).fit(np.concatenate([a, b]))
    # both go through LAPACK's SVD: compare with a tolerance, not bit for bit
    np.testing.assert_allclose(
        plane.pca.explained_variance_ratio, ref.explained_variance_ratio_, rtol=1e-10
    )
    np.testing.assert_allclose(
        np.abs(plane.pca.directions @ ref.components_.T), np.eye(3), atol=1e-8
    )
    # each path projected through the common origin: coordinates are dot products
    proj = plane.projections["b"]
    np.testing.assert_allclose(proj.coords, (b - a[0]) @ plane.pca.directions.T, atol=1e-10)
    assert np.allclose(plane.origin, a[0])


def test_common_plane_of_the_run_is_fit_on_equal_rows(quick):
    ends = {k: p.weights[p.at_epochs()] for k, p in quick.paths.items()}
    assert {len(v) for v in ends.values()} == {quick.budget.epochs + 1}
    ref = PCA(n_components=3).fit(np.concatenate(list(ends.values())))
    np.testing.assert_allclose(
        quick.common.pca.explained_variance_ratio, ref.explained_variance_ratio_, rtol=1e-8
    )


# --- argument validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_seeds": 0}, ValueError, "n_seeds"),
        ({"n_seeds": 1.5}, TypeError, "n_seeds"),
        ({"quick": 1}, TypeError, "quick"),
        ({"progress": 3}, TypeError, "progress"),
    ],
)
def test_run_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        wt.run(**kwargs)


def test_functions_reject_bad_arguments():
    with pytest.raises(ValueError, match="trajectory"):
        wt.step_cosines(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="direction"):
        wt.step_components(np.zeros((3, 2)), [0.0, 0.0])
    with pytest.raises(TypeError, match="paths"):
        wt.common_plane({})
    with pytest.raises(ValueError, match="same number of weights"):
        wt.common_plane({"a": np.eye(3), "b": np.eye(4)})
    with pytest.raises(ValueError, match="eta"):
        wt.default_setups(-1.0)
    with pytest.raises(ValueError, match="momentum"):
        wt.OptimizerSetup("x", 0.1, momentum=1.0)
    with pytest.raises(ValueError, match="optimizer"):
        wt.OptimizerSetup("x", 0.1, optimizer="lbfgs")
    prob = wt.problem(0)
    with pytest.raises(ValueError, match="weights"):
        wt.lambda_max_along(prob.model, prob.X, prob.y, np.zeros((2, 5)))
    with pytest.raises(ValueError, match="weights"):
        wt.top_eigenvector(prob.model, prob.X, prob.y, np.zeros(5))
    with pytest.raises(TypeError, match="model"):
        wt.lambda_max_along(None, prob.X, prob.y, np.zeros((2, 33)))
    with pytest.raises(TypeError, match="result"):
        wt.summary(None)
    with pytest.raises(TypeError, match="result"):
        wt_plots.figures(None)


# --- run, summary, figures --------------------------------------------------------------------


def test_run_quick_smoke_and_progress():
    calls = []
    res = wt.run(quick=True, n_seeds=2, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1][0] == calls[-1][1] == len(calls)
    assert res.seed_mean_cosine.shape == (2, 4)
    assert set(res.paths) == set(wt.NAMES)
    assert res.paths["SGD"].weights.shape[0] == 10 * res.budget.epochs + 1  # 10 batches/epoch
    assert res.paths["batch GD"].weights.shape[0] == res.budget.epochs + 1
    assert res.long_loss.size == res.budget.long_epochs + 1
    assert np.isclose(res.eta, 0.9 * 2 / res.lambda_0)


def test_run_is_deterministic(quick):
    again = wt.run(quick=True)
    for k in wt.NAMES:
        np.testing.assert_array_equal(quick.paths[k].weights, again.paths[k].weights)
    assert wt.summary(quick) == wt.summary(again)


def test_summary_is_json(quick):
    s = wt.summary(quick)
    assert json.loads(json.dumps(s)) == s
    assert 0 < s["evr"][0] <= 1 and abs(sum(s["evr"])) <= 1 + 1e-12
    assert set(s["mean_cosine"]) == set(wt.NAMES)
    assert s == quick.summary()


def test_lambda_max_matches_the_dense_hessian(quick):
    import torch

    from ebp import hessian

    prob = wt.problem(0)
    H = hessian.HessianOperator(prob.model, "mse", (prob.X, prob.y)).dense()
    top = float(torch.linalg.eigvalsh(H)[-1])
    assert prob.lambda_0 == pytest.approx(top, rel=1e-8)
    assert quick.lambda_0 == pytest.approx(top, rel=1e-8)


def test_figures_fit_the_page(quick):
    figs = wt_plots.figures(quick)
    assert set(figs) >= {"pca-2d", "pca-3d", "contour", "common-plane", "step-cosines"}
    for name, fig in figs.items():
        assert fig.get_size_inches()[0] <= MAX_FIGURE_WIDTH, name
        plt.close(fig)
