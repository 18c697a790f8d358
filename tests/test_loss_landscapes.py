"""ebp.experiments.loss_landscapes (chapter "Loss landscapes in 2-D and 3-D") and its plots."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

import ebp.landscape as L
from ebp import train
from ebp.experiments import convergence_of_gradient_descent as cgd
from ebp.experiments import loss_landscapes as ll
from ebp.plots import loss_landscapes as ll_plots
from ebp.plots.style import MAX_FIGURE_WIDTH

F = 1.7159


def _net_111(w1, w2, b1, b2, x):
    """The 1-1-1 network by hand, broadcasting over the weights."""
    f = lambda a: F * np.tanh(2.0 * a / 3.0)  # noqa: E731
    return f(w2[..., None] * f(w1[..., None] * x + b1) + b2)


@pytest.fixture(scope="module")
def slice2():
    return ll.two_weight_slice(epochs=5, train_epochs=200, n_grid=7)


@pytest.fixture(scope="module")
def resc():
    return ll.rescaling(c=3.0, hidden=5, epochs=30, alphas=np.linspace(-1, 1, 9))


@pytest.fixture(scope="module")
def pic():
    return ll.training_picture(
        sizes=(64, 6, 10), n_train=60, epochs=3, batch_size=10, n_grid=5, ts=[0.0, 0.5, 1.0]
    )


# --- 1. two weights -----------------------------------------------------------------------------


def test_two_weight_slice_is_the_exact_loss_over_the_weights(slice2):
    from ebp import data

    ds = data.fig13_classes(seed=0)
    x, d = ds.X[:, 0], ds.y[:, 0]
    _, b1, _, b2 = slice2.trained
    A, B = np.meshgrid(slice2.surface.alphas, slice2.surface.betas, indexing="ij")
    E = 0.5 * np.mean((_net_111(A, B, b1, b2, x) - d) ** 2, axis=-1)
    np.testing.assert_allclose(slice2.surface.losses, E, rtol=1e-12, atol=0)
    # the path lies in the picture, and its losses are the surface's at its points
    assert slice2.path.distance.max() == 0.0
    w = slice2.path.coords
    E_path = 0.5 * np.mean((_net_111(w[:, 0], w[:, 1], b1, b2, x) - d) ** 2, axis=-1)
    np.testing.assert_allclose(slice2.path_losses, E_path, rtol=1e-10)
    np.testing.assert_allclose(w[0], (-1.0, 2.0))
    assert slice2.path_losses[-1] < slice2.path_losses[0]


def test_two_weight_slice_matches_the_convergence_chapter(slice2):
    net = cgd.fig13_network(n_grid=3, epochs=1)
    np.testing.assert_allclose(slice2.trained[[0, 2, 1, 3]], net.trained, rtol=1e-8)


# --- 2. rescaling -------------------------------------------------------------------------------


def test_rescaled_network_computes_the_same_function(resc):
    assert resc.output_gap < 1e-12


def test_filter_normalized_pictures_agree_and_unnormalized_do_not(resc):
    f, n = resc.curves["filter"], resc.curves["none"]
    np.testing.assert_allclose(f["rescaled"], f["original"], rtol=1e-10)
    assert resc.curvature["filter"]["rescaled"] == pytest.approx(
        resc.curvature["filter"]["original"], rel=1e-6
    )
    assert resc.rise["filter"]["rescaled"] == pytest.approx(
        resc.rise["filter"]["original"], rel=1e-10
    )
    # un-normalized: the same function looks different
    assert np.abs(n["rescaled"] - n["original"]).max() > 0.1 * np.abs(n["original"]).max()
    ratio = resc.curvature["none"]["rescaled"] / resc.curvature["none"]["original"]
    assert ratio > 1.5 or ratio < 1 / 1.5
    # both curves pass through the same loss at the centre
    i = int(np.argmin(np.abs(resc.alphas)))
    for norm in ("none", "filter"):
        for curve in resc.curves[norm].values():
            assert curve[i] == pytest.approx(resc.loss, rel=1e-10)


def test_rescale_relu_layers():
    net = torch.nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)).double()
    X = torch.randn(20, 2, dtype=torch.float64)
    out = ll.rescale_relu_layers(net, 2.5)
    torch.testing.assert_close(out(X), net(X), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(out[0].weight, 2.5 * net[0].weight)
    torch.testing.assert_close(out[2].weight, net[2].weight / 2.5)
    with pytest.raises(ValueError, match="c"):
        ll.rescale_relu_layers(net, 0.0)
    tanh = torch.nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    with pytest.raises(ValueError, match="model"):
        ll.rescale_relu_layers(tanh, 2.0)


# --- 3. curvature -------------------------------------------------------------------------------


def test_curvature_check_on_a_quadratic_is_exact():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(30, 3, generator=gen, dtype=torch.float64)
    y = torch.randn(30, 1, generator=gen, dtype=torch.float64)
    model = nn.Linear(3, 1).double()
    Xt = torch.cat([X, torch.ones(30, 1, dtype=torch.float64)], 1)
    # flat order: weight (3), bias (1); mse = (1/P) Σ ½ (d − o)², H = X̃ᵀX̃ / P
    H = (Xt.T @ Xt / 30).numpy()
    D = np.array([[1.0, 0, 0, 0], [1.0, -2.0, 0.5, 3.0]])
    chk = ll.curvature_check(model, "mse", X, y, D, h=1e-2)
    U = D / np.linalg.norm(D, axis=1, keepdims=True)
    np.testing.assert_allclose(chk.dHd, np.einsum("ki,ij,kj->k", U, H, U), rtol=1e-12)
    np.testing.assert_allclose(chk.second_difference, chk.dHd, rtol=1e-8)
    with pytest.raises(ValueError, match="directions"):
        ll.curvature_check(model, "mse", X, y, np.zeros(4))
    with pytest.raises(ValueError, match="h"):
        ll.curvature_check(model, "mse", X, y, D, h=0.0)


def test_eigen_plane_curvature_equals_dHd():
    e = ll.eigen_plane(hidden=3, epochs=50, n_grid=5)
    assert np.all(e.check.relative_difference < 1e-4)
    np.testing.assert_allclose(e.check.dHd, e.eigen.values, rtol=1e-6)
    assert e.eigen.values[0] >= e.eigen.values[1] > 0
    # the surface is centred at the trained weights: its middle is the loss there
    assert e.surface.losses[2, 2] == pytest.approx(e.loss, rel=1e-10)
    # a large step is visibly worse: the check can fail
    rough = ll.eigen_plane(hidden=3, epochs=50, n_grid=3, h=0.5)
    assert rough.check.relative_difference.max() > 1e-4


# --- 4. path against picture --------------------------------------------------------------------


def _linear():
    gen = torch.Generator().manual_seed(1)
    X = torch.randn(25, 2, generator=gen, dtype=torch.float64)
    y = torch.randn(25, 1, generator=gen, dtype=torch.float64)
    return nn.Linear(2, 1, bias=False).double(), X.numpy(), y.numpy()


def _mse(w, X, y):
    return 0.5 * np.mean((X @ w - y[:, 0]) ** 2)


def test_path_gap_is_zero_for_a_path_in_the_plane():
    model, X, y = _linear()
    rng = np.random.default_rng(0)
    D = rng.normal(size=(1, 2))
    origin = np.array([0.3, -0.2])
    W = origin + rng.normal(size=(8, 1)) @ D
    g = ll.path_gap(model, "mse", X, y, W, D, origin)
    np.testing.assert_allclose(g.projection.distance, 0.0, atol=1e-12)
    np.testing.assert_allclose(g.plane_loss, g.true_loss, rtol=1e-12)
    assert g.max_relative_gap < 1e-12


def test_path_gap_off_the_plane_has_the_known_answer():
    model, X, y = _linear()
    W = np.array([[1.0, 2.0], [-0.5, 0.7], [0.0, 0.0]])
    g = ll.path_gap(model, "mse", X, y, W, [1.0, 0.0], np.zeros(2))
    true = np.array([_mse(w, X, y) for w in W])
    shown = np.array([_mse(np.array([w[0], 0.0]), X, y) for w in W])
    np.testing.assert_allclose(g.true_loss, true, rtol=1e-12)
    np.testing.assert_allclose(g.plane_loss, shown, rtol=1e-12)
    rel = np.abs(shown - true) / true
    np.testing.assert_allclose(g.relative_gap, rel, rtol=1e-10)
    assert g.max_relative_gap == pytest.approx(rel.max())
    assert g.median_relative_gap == pytest.approx(np.median(rel))
    np.testing.assert_allclose(g.projection.distance, np.abs(W[:, 1]))


def test_losses_at_leaves_the_model_alone_and_checks_its_points():
    model, X, y = _linear()
    before = model.weight.detach().clone()
    W = np.array([[1.0, 2.0], [0.0, 1.0]])
    np.testing.assert_allclose(
        ll.losses_at(model, "mse", X, y, W), [_mse(w, X, y) for w in W], rtol=1e-12
    )
    torch.testing.assert_close(model.weight, before, rtol=0, atol=0)
    with pytest.raises(ValueError, match="points"):
        ll.losses_at(model, "mse", X, y, np.zeros((2, 3)))


def test_training_picture_is_consistent(pic):
    g = pic.gap
    assert g.true_loss.shape == pic.updates.shape == (pic.path.coords.shape[0],)
    assert pic.path.distance[-1] == pytest.approx(0.0, abs=1e-12)
    assert g.relative_gap[-1] == pytest.approx(0.0, abs=1e-12)
    # the straight line starts and ends at the path's first and last iterates
    assert pic.line.losses[0] == pytest.approx(g.true_loss[0], rel=1e-10)
    assert pic.line.losses[-1] == pytest.approx(g.true_loss[-1], rel=1e-10)
    np.testing.assert_allclose(pic.pca.explained_variance_ratio.sum(), 1.0, atol=0.5)
    assert pic.updates[0] == 0 and np.all(np.diff(pic.updates) > 0)
    assert g.true_loss[-1] < g.true_loss[0]
    # the surface is centred at the final weights
    np.testing.assert_allclose(pic.surface.origin, pic.gap.projection.origin)


# --- argument validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: ll.two_weight_slice(start=(1.0,)), "start"),
        (lambda: ll.two_weight_slice(eta=-1.0), "eta"),
        (lambda: ll.two_weight_slice(n_grid=2), "n_grid"),
        (lambda: ll.two_weight_slice(span=0.0), "span"),
        (lambda: ll.rescaling(c=-2.0), "c"),
        (lambda: ll.rescaling(hidden=0), "hidden"),
        (lambda: ll.rescaling(alphas=[[0.0]]), "alphas"),
        (lambda: ll.eigen_plane(h=0.0), "h"),
        (lambda: ll.eigen_plane(epochs=0), "epochs"),
        (lambda: ll.training_picture(sizes=(64, 5, 3)), "sizes"),
        (lambda: ll.training_picture(batch_size=0), "batch_size"),
        (lambda: ll.training_picture(margin=-0.1), "margin"),
        (lambda: ll.training_picture(ts=[[0.0]]), "ts"),
    ],
)
def test_bad_arguments_are_refused_by_name(call, name):
    with pytest.raises((TypeError, ValueError), match=name):
        call()


# --- plots --------------------------------------------------------------------------------------


def test_figures(resc, pic):
    for fig in (
        ll_plots.plot_rescaling(resc),
        ll_plots.plot_path_gap(pic),
        ll_plots.plot_interpolation(pic),
    ):
        assert isinstance(fig, Figure)
        assert fig.get_size_inches()[0] <= MAX_FIGURE_WIDTH
        plt.close(fig)
    for f in (ll_plots.plot_rescaling, ll_plots.plot_path_gap, ll_plots.plot_interpolation):
        with pytest.raises(TypeError):
            f(object())


def test_history_losses_are_the_evaluated_losses():
    """``fit``'s recorded loss is the loss at the recorded weights (the chapter relies on it)."""
    model, X, y = _linear()
    h = train.fit(model, X, y, eta=0.1, epochs=3, snapshots=True)
    W = np.stack(h.weights)
    np.testing.assert_allclose(ll.losses_at(model, "mse", X, y, W), h.train_loss, rtol=1e-10)
    assert L.project(W, np.eye(2), np.zeros(2)).distance.max() == 0.0
