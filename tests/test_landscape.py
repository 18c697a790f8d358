"""``ebp.landscape``: directions, batched surfaces, projections and interpolation, checked against
slow loops, exact constructions and :mod:`ebp.hessian`.

Batched (``vmap``-ed) and one-point-at-a-time evaluations sum in different orders inside BLAS,
so they are compared with a relative tolerance of 1e-10 in float64 (rounding is ~1e-16 per
operation, times the handful of operations of a 2-3-1 network), never bit for bit.
"""

from __future__ import annotations

import math
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from matplotlib.figure import Figure
from sklearn.decomposition import PCA
from torch import nn

import ebp.hessian as hs
import ebp.landscape as L
import ebp.nn as enn
import ebp.train as train
from ebp.losses import get_loss
from ebp.plots import landscape as pl
from ebp.plots.style import MAX_FIGURE_WIDTH

RTOL = 1e-10


# ---------------------------------------------------------------------------------------------
# Small problems
# ---------------------------------------------------------------------------------------------


def data(P: int = 12, n_in: int = 2, out: int = 1, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(P, n_in)), rng.normal(size=(P, out))


def mlp(dtype=torch.float64, sizes=(2, 3, 1), seed=0) -> nn.Module:
    return enn.mlp(sizes, seed=seed, dtype=dtype)


class TinyConv(nn.Module):
    """1 × 5 × 5 images → 2 filters of 3 × 3 → 2 logits."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(1, 2, 3)
        self.fc = nn.Linear(2 * 3 * 3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.tanh(self.conv(x)).flatten(1))


def bn_model() -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 1)).double()


def set_flat(model: nn.Module, w: np.ndarray) -> None:
    """Load a flat vector (trainable parameters in order) into the model, for the slow loops."""
    params = [p for p in model.parameters() if p.requires_grad]
    t = torch.as_tensor(w, dtype=params[0].dtype)
    with torch.no_grad():
        for p, piece in zip(params, t.split([p.numel() for p in params]), strict=True):
            p.copy_(piece.view(p.shape))


def slow_loss(model: nn.Module, loss, X, y, w: np.ndarray) -> float:
    """The loss with the model's weights set to ``w``, one point (model copy restored after)."""
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    set_flat(model, w)
    dtype = next(model.parameters()).dtype
    t = torch.as_tensor(y)
    t = t.to(dtype) if t.is_floating_point() else t.long()
    try:
        with torch.no_grad():
            return float(get_loss(loss)(model(torch.as_tensor(X, dtype=dtype)), t))
    finally:
        model.load_state_dict(saved)


def two_directions(model: nn.Module) -> list[torch.Tensor]:
    return [L.random_direction(model, seed=1), L.random_direction(model, seed=2)]


# ---------------------------------------------------------------------------------------------
# surface and interpolate against slow loops
# ---------------------------------------------------------------------------------------------


def test_surface_2d_equals_one_point_at_a_time():
    model, (X, y) = mlp(), data()
    d = two_directions(model)
    a, b = np.linspace(-1, 1, 5), np.linspace(-0.5, 0.8, 4)
    s = L.surface(model, "mse", X, y, d, a, b, chunk_size=7)
    assert s.losses.shape == (5, 4) and s.ndim == 2
    w0 = hs.flatten_params(model).numpy()
    D = torch.stack(d).numpy()
    slow = np.array(
        [[slow_loss(model, "mse", X, y, w0 + ai * D[0] + bj * D[1]) for bj in b] for ai in a]
    )
    np.testing.assert_allclose(s.losses, slow, rtol=RTOL)
    np.testing.assert_array_equal(s.origin, w0)


def test_surface_1d_with_origin_and_cross_entropy_on_a_conv_net():
    model = TinyConv().double()
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(6, 1, 5, 5)), np.array([0, 1, 1, 0, 1, 0])
    d = L.random_direction(model, seed=4)
    origin = hs.flatten_params(model).numpy() + 0.1
    a = np.linspace(-2, 2, 9)
    s = L.surface(model, "cross_entropy", X, y, d, a, origin=origin)
    slow = [slow_loss(model, "cross_entropy", X, y, origin + ai * d.numpy()) for ai in a]
    np.testing.assert_allclose(s.losses, slow, rtol=RTOL)
    assert s.betas is None and s.ndim == 1


@pytest.mark.parametrize("chunk_size", [1, 2, 5, 1000])
def test_chunking_gives_the_same_numbers(chunk_size):
    model, (X, y) = mlp(), data()
    d = two_directions(model)
    a, b = np.linspace(-1, 1, 4), np.linspace(-1, 1, 3)
    whole = L.surface(model, "mse", X, y, d, a, b, chunk_size=10_000)
    part = L.surface(model, "mse", X, y, d, a, b, chunk_size=chunk_size)
    np.testing.assert_allclose(part.losses, whole.losses, rtol=RTOL)


def test_a_loss_vmap_cannot_map_is_evaluated_point_by_point():
    model, (X, y) = mlp(), data()

    def branchy(out, t):  # data-dependent Python control flow: vmap refuses it
        e = ((out - t) ** 2).mean()
        return e if float(e) >= 0 else -e

    d = L.random_direction(model)
    a = np.linspace(-1, 1, 5)
    s = L.surface(model, branchy, X, y, d, a)
    w0 = hs.flatten_params(model).numpy()
    slow = [slow_loss(model, branchy, X, y, w0 + ai * d.numpy()) for ai in a]
    np.testing.assert_allclose(s.losses, slow, rtol=RTOL)


def test_interpolate_ends_and_middle():
    model, (X, y) = mlp(), data()
    theta_a = hs.flatten_params(model).numpy()
    theta_b = hs.flatten_params(mlp(seed=5)).numpy()
    ts = np.array([0.0, 0.3, 1.0, 1.5])
    r = L.interpolate(model, "mse", X, y, theta_a, theta_b, ts, chunk_size=3)
    slow = [slow_loss(model, "mse", X, y, (1 - t) * theta_a + t * theta_b) for t in ts]
    np.testing.assert_allclose(r.losses, slow, rtol=RTOL)
    assert math.isclose(r.losses[0], train.evaluate(model, X, y), rel_tol=RTOL)
    assert math.isclose(r.losses[2], train.evaluate(mlp(seed=5), X, y), rel_tol=RTOL)


def test_float32_model_gives_float32_accurate_numbers():
    model, (X, y) = mlp(torch.float32), data()
    d = L.random_direction(model)
    s = L.surface(model, "mse", X, y, d, np.linspace(-1, 1, 3))
    assert math.isclose(s.losses[1], train.evaluate(model, X, y), rel_tol=1e-6)


def test_non_finite_loss_is_reported_not_returned():
    model, (X, y) = mlp(torch.float32), data()
    d = L.random_direction(model, normalize="none")
    with pytest.raises(FloatingPointError, match="not finite"):
        L.surface(model, "mse", X * 1e30, y, d, np.array([0.0, 1e36]))


# ---------------------------------------------------------------------------------------------
# random_direction
# ---------------------------------------------------------------------------------------------


def _pieces(model: nn.Module, d: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    params = [p for p in model.parameters() if p.requires_grad]
    return [
        (p.detach(), piece.view(p.shape))
        for p, piece in zip(params, d.split([p.numel() for p in params]), strict=True)
    ]


@pytest.mark.parametrize("make", [lambda: mlp(sizes=(2, 4, 3, 1)), lambda: TinyConv().double()])
def test_filter_normalization_is_exact(make):
    model = make()
    with torch.no_grad():  # non-zero biases, so that zeroing them is visible
        for p in model.parameters():
            if p.ndim == 1:
                p.add_(0.3)
    d = L.random_direction(model, seed=7)
    assert d.shape == (L.flatten_params(model).numel(),)
    for w, piece in _pieces(model, d):
        if w.ndim <= 1:
            assert torch.all(piece == 0)
        else:
            rows_d = piece.reshape(piece.shape[0], -1).norm(dim=1)
            rows_w = w.reshape(w.shape[0], -1).norm(dim=1)
            torch.testing.assert_close(rows_d, rows_w, rtol=1e-12, atol=0)
    d_all = L.random_direction(model, seed=7, ignore_bias=False)
    for (w, piece), (_, first) in zip(_pieces(model, d_all), _pieces(model, d), strict=True):
        if w.ndim <= 1:
            torch.testing.assert_close(piece.norm(), w.norm(), rtol=1e-12, atol=0)
        else:  # the weights' slices do not depend on ignore_bias
            torch.testing.assert_close(piece, first, rtol=0, atol=0)


def test_layer_and_none_normalizations():
    model = mlp(sizes=(2, 4, 1))
    d = L.random_direction(model, normalize="layer", ignore_bias=False, seed=3)
    for w, piece in _pieces(model, d):
        if w.norm() > 0:
            torch.testing.assert_close(piece.norm(), w.norm(), rtol=1e-12, atol=0)
    raw = L.random_direction(model, normalize="none", ignore_bias=False, seed=3)
    gen = torch.Generator().manual_seed(3)
    expected = torch.cat(
        [
            torch.randn(p.shape, generator=gen, dtype=torch.float64).reshape(-1)
            for p in model.parameters()
        ]
    )
    torch.testing.assert_close(raw, expected, rtol=0, atol=0)


def test_random_direction_is_seeded_and_leaves_the_global_generator_alone():
    model = mlp(torch.float32)
    state = torch.get_rng_state()
    a = L.random_direction(model, seed=11)
    b = L.random_direction(model, seed=11)
    c = L.random_direction(model, seed=12)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.dtype == torch.float32


def test_frozen_parameters_are_left_out_of_directions():
    model = mlp(sizes=(2, 3, 1))
    model[0].weight.requires_grad_(False)
    d = L.random_direction(model)
    assert d.numel() == sum(p.numel() for p in model.parameters() if p.requires_grad)
    X, y = data()
    s = L.surface(model, "mse", X, y, d, np.array([0.0, 0.5]))
    assert math.isclose(s.losses[0], train.evaluate(model, X, y), rel_tol=RTOL)


# ---------------------------------------------------------------------------------------------
# pca_directions and project
# ---------------------------------------------------------------------------------------------


def plane_trajectory(T: int = 30, P: int = 12, seed: int = 0):
    """``θ_t = c + a_t u + b_t v``: a trajectory that lies in a known plane."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=P)
    U, _ = np.linalg.qr(rng.normal(size=(P, 2)))
    ab = np.cumsum(rng.normal(size=(T, 2)) * [3.0, 1.0], axis=0)
    return c + ab @ U.T, U, c


def test_pca_of_a_planar_trajectory():
    W, U, _ = plane_trajectory()
    pca = L.pca_directions(W, n=2)
    D = pca.directions
    np.testing.assert_allclose(D @ D.T, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(D.T @ D, U @ U.T, atol=1e-10)  # the same plane
    assert math.isclose(pca.explained_variance_ratio.sum(), 1.0, rel_tol=1e-10)
    ref = PCA(n_components=2, svd_solver="full").fit(W - W[-1])
    np.testing.assert_allclose(D, ref.components_, atol=1e-12)
    M = W - W.mean(axis=0)
    _, sv, Vt = np.linalg.svd(M, full_matrices=False)
    signs = np.sign(np.sum(Vt[:2] * D, axis=1))
    np.testing.assert_allclose(D, signs[:, None] * Vt[:2], atol=1e-10)
    np.testing.assert_allclose(pca.explained_variance, sv[:2] ** 2 / (len(W) - 1), rtol=1e-10)
    np.testing.assert_array_equal(pca.origin, W[-1])


def test_pca_takes_a_training_history():
    model, (X, y) = mlp(torch.float32), data()
    h = train.fit(model, X, y, eta=0.1, epochs=6, snapshots=True)
    pca = L.pca_directions(h, n=2)
    assert pca.directions.shape == (2, L.flatten_params(model).numel())
    np.testing.assert_allclose(pca.origin, L.flatten_params(model).double().numpy())
    with pytest.raises(ValueError, match=r"trajectory.*snapshots=True"):
        L.pca_directions(train.fit(mlp(), X, y, eta=0.1, epochs=2), n=1)


def test_project_recovers_coordinates_and_distance():
    rng = np.random.default_rng(2)
    P = 9
    D = rng.normal(size=(2, P))  # not orthogonal
    origin = rng.normal(size=P)
    coords = rng.normal(size=(5, 2))
    W = origin + coords @ D
    normal = np.linalg.svd(D, full_matrices=True)[2][-1]  # orthogonal to both directions
    W_off = np.vstack([W, W[2] + 0.7 * normal])
    r = L.project(W_off, D, origin)
    np.testing.assert_allclose(r.coords[:5], coords, atol=1e-10)
    np.testing.assert_allclose(r.distance[:5], 0, atol=1e-10)
    np.testing.assert_allclose(r.coords[5], coords[2], atol=1e-10)
    assert math.isclose(r.distance[5], 0.7, rel_tol=1e-10)


def test_project_defaults_to_the_origin_of_a_result():
    W, _, _ = plane_trajectory()
    pca = L.pca_directions(W, n=2)
    r = L.project(W, pca)
    np.testing.assert_allclose(r.coords[-1], 0, atol=1e-12)
    np.testing.assert_allclose(r.distance, 0, atol=1e-10)
    np.testing.assert_allclose(r.coords, (W - W[-1]) @ pca.directions.T, atol=1e-10)


@settings(max_examples=30, deadline=None)
@given(
    coords=hnp.arrays(np.float64, (4, 2), elements=st.floats(-10, 10)),
    seed=st.integers(0, 2**16),
)
def test_project_round_trip(coords, seed):
    rng = np.random.default_rng(seed)
    D = rng.normal(size=(2, 6))
    origin = rng.normal(size=6)
    r = L.project(origin + coords @ D, D, origin)
    scale = 1 + np.abs(coords).max()
    np.testing.assert_allclose(r.coords, coords, atol=1e-9 * scale)
    np.testing.assert_allclose(r.distance, 0, atol=1e-9 * scale * np.linalg.norm(D))


# ---------------------------------------------------------------------------------------------
# eigen_directions: the surface's curvature along an eigenvector is its eigenvalue
# ---------------------------------------------------------------------------------------------


def test_second_difference_along_an_eigenvector_is_dT_H_d():
    model, (X, y) = mlp(sizes=(2, 4, 1)), data()
    eig = L.eigen_directions(model, "mse", X, y, n=2)
    assert eig.values[0] >= eig.values[1]
    h = 1e-3
    for d, lam in zip(eig.directions, eig.values, strict=True):
        assert math.isclose(np.linalg.norm(d), 1.0, rel_tol=1e-10)
        s = L.surface(model, "mse", X, y, d, np.array([-h, 0.0, h]))
        second = (s.losses[0] - 2 * s.losses[1] + s.losses[2]) / h**2
        Hd = hs.hessian_vector_product(model, torch.as_tensor(d), "mse", (X, y))
        dHd = float(torch.dot(torch.as_tensor(d), Hd))
        # O(h²) truncation and ε·E/h² ≈ 1e-10 rounding
        assert math.isclose(second, dHd, rel_tol=1e-5)
        assert math.isclose(dHd, lam, rel_tol=1e-8)


# ---------------------------------------------------------------------------------------------
# The model is left exactly as found
# ---------------------------------------------------------------------------------------------


def _snapshot(model: nn.Module):
    return (
        {k: v.clone() for k, v in model.state_dict().items()},
        [p.requires_grad for p in model.parameters()],
        [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        [id(p.grad) for p in model.parameters()],
        [m.training for m in model.modules()],
    )


def _same(before, after) -> None:
    sd0, rg0, g0, gid0, tr0 = before
    sd1, rg1, g1, gid1, tr1 = after
    assert sd0.keys() == sd1.keys()
    for k in sd0:
        assert torch.equal(sd0[k], sd1[k]), k
    assert rg0 == rg1 and tr0 == tr1 and gid0 == gid1
    for a, b in zip(g0, g1, strict=True):
        assert (a is None and b is None) or torch.equal(a, b)


@pytest.mark.parametrize("training", [True, False])
def test_every_function_leaves_the_model_as_found(training):
    model, (X, y) = bn_model(), data()
    model.train(training)
    model[3].bias.requires_grad_(False)
    model[0].weight.grad = torch.ones_like(model[0].weight)
    before = _snapshot(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hs.NondeterministicOperatorWarning)
        d = two_directions(model)
        s = L.surface(model, "mse", X, y, d, np.linspace(-1, 1, 3), np.linspace(-1, 1, 3))
        L.surface(model, "mse", X, y, d[0], np.linspace(-1, 1, 3), chunk_size=1)
        L.interpolate(model, "mse", X, y, s.origin, s.origin + 1, np.linspace(0, 1, 3))
        L.eigen_directions(model, "mse", X, y, n=1)
    _same(before, _snapshot(model))


def test_a_model_in_training_mode_gets_a_warning():
    model, (X, y) = bn_model(), data()
    with pytest.warns(hs.NondeterministicOperatorWarning, match="training mode"):
        L.surface(model, "mse", X, y, L.random_direction(model), np.array([0.0]))
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = L.surface(model, "mse", X, y, L.random_direction(model), np.array([0.0]))
    assert math.isclose(s.losses[0], train.evaluate(model, X, y), rel_tol=RTOL)


# ---------------------------------------------------------------------------------------------
# Bad input: the argument is named
# ---------------------------------------------------------------------------------------------


def _bad_calls():
    model, (X, y) = mlp(), data()
    n = L.flatten_params(model).numel()
    d = L.random_direction(model)
    d2 = torch.stack(two_directions(model))
    a = np.linspace(-1, 1, 3)
    W, _, _ = plane_trajectory(P=n)
    return [
        ("model", TypeError, lambda: L.random_direction("mlp")),
        ("normalize", ValueError, lambda: L.random_direction(model, normalize="unit")),
        ("ignore_bias", TypeError, lambda: L.random_direction(model, ignore_bias=1)),
        ("seed", ValueError, lambda: L.random_direction(model, seed=-1)),
        ("directions", ValueError, lambda: L.surface(model, "mse", X, y, d[:-1], a)),
        ("directions", ValueError, lambda: L.surface(model, "mse", X, y, d2, a)),
        ("directions", ValueError, lambda: L.surface(model, "mse", X, y, d, a, a)),
        ("alphas", ValueError, lambda: L.surface(model, "mse", X, y, d, np.ones((2, 2)))),
        ("alphas", ValueError, lambda: L.surface(model, "mse", X, y, d, [0.0, np.nan])),
        ("alphas", ValueError, lambda: L.surface(model, "mse", X, y, d, [1.0, 0.0])),
        ("betas", ValueError, lambda: L.surface(model, "mse", X, y, d2, a, [])),
        ("origin", ValueError, lambda: L.surface(model, "mse", X, y, d, a, origin=np.ones(3))),
        ("chunk_size", ValueError, lambda: L.surface(model, "mse", X, y, d, a, chunk_size=0)),
        ("loss", ValueError, lambda: L.surface(model, "nll", X, y, d, a)),
        ("X", ValueError, lambda: L.surface(model, "mse", X[:, :1], y, d, a)),
        ("y", ValueError, lambda: L.surface(model, "mse", X, y[:-1], d, a)),
        ("trajectory", ValueError, lambda: L.pca_directions(W[0])),
        ("trajectory", ValueError, lambda: L.pca_directions(W[:1])),
        ("n", ValueError, lambda: L.pca_directions(W, n=0)),
        ("n", ValueError, lambda: L.pca_directions(W, n=n + 1)),
        ("n", TypeError, lambda: L.pca_directions(W, n=1.5)),
        ("n", ValueError, lambda: L.eigen_directions(model, "mse", X, y, n=n + 1)),
        ("which", ValueError, lambda: L.eigen_directions(model, "mse", X, y, which="top")),
        ("directions", ValueError, lambda: L.project(W, np.ones((2, n)))),
        ("directions", ValueError, lambda: L.project(W, np.ones(n + 1))),
        ("origin", ValueError, lambda: L.project(W, d, np.ones(2))),
        ("theta_b", ValueError, lambda: L.interpolate(model, "mse", X, y, d, d[:-1], a)),
        ("ts", ValueError, lambda: L.interpolate(model, "mse", X, y, d, d, [[0.0]])),
    ]


@pytest.mark.parametrize("i", range(len(_bad_calls())))
def test_bad_input_is_refused_naming_the_argument(i):
    name, exc, call = _bad_calls()[i]
    with pytest.raises(exc) as err:
        call()
    assert name in str(err.value), str(err.value)


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def landscape_results():
    model, (X, y) = mlp(torch.float64, sizes=(2, 4, 1)), data()
    h = train.fit(model, X, y, eta=0.2, epochs=15, snapshots=True)
    pca = L.pca_directions(h, n=3)
    a = np.linspace(-1, 1, 9)
    s2 = L.surface(model, "mse", X, y, pca.directions[:2], a, a, origin=pca.origin)
    s1 = L.surface(model, "mse", X, y, pca.directions[0], a, origin=pca.origin)
    return h, pca, s1, s2, L.project(h, s2), L.project(h, pca)


def _legend_texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]


def test_figures(landscape_results):
    h, pca, s1, s2, path, path3 = landscape_results
    figs = [
        pl.plot_contour(s2, path),
        pl.plot_surface_3d(s2, path),
        pl.plot_surface_3d(s2, path, path_losses=h.train_loss),
        pl.plot_pca_trajectory(path3, pca),
        pl.plot_pca_trajectory_3d(path3, pca),
    ]
    for fig in figs:
        assert isinstance(fig, Figure)
        assert fig.get_size_inches()[0] <= MAX_FIGURE_WIDTH
        assert {"start", "end"} <= set(_legend_texts(fig))
    assert "%" in figs[3].axes[0].get_xlabel() and "%" in figs[3].axes[0].get_ylabel()
    interp = L.interpolate(
        mlp(sizes=(2, 4, 1)), "mse", *data(), h.weights[0], h.weights[-1], np.linspace(0, 1, 5)
    )
    fig = pl.plot_loss_curves({"training": h, "line": interp, "slice": s1})
    assert fig.axes[0].get_yscale() == "log"
    plt.close("all")


def test_figures_refuse_mismatched_results(landscape_results):
    h, pca, s1, s2, _, _ = landscape_results
    with pytest.raises(ValueError, match="surface"):
        pl.plot_contour(s1)
    with pytest.raises(ValueError, match="path"):
        pl.plot_contour(s2, L.project(h, pca.directions[:2], pca.origin + 1))
    with pytest.raises(TypeError, match="projection"):
        pl.plot_pca_trajectory(pca, pca)
    with pytest.raises(TypeError, match="curves"):
        pl.plot_loss_curves([1.0, 2.0])


# ---------------------------------------------------------------------------------------------
# Random architectures (hypothesis): small MLPs of random widths, depths and activations
# ---------------------------------------------------------------------------------------------

ARCHITECTURES = st.tuples(
    st.integers(1, 4),  # inputs
    st.lists(st.integers(1, 5), min_size=0, max_size=3),  # hidden widths (depth 1 to 4)
    st.integers(1, 3),  # outputs
    st.sampled_from(sorted(enn.ACTIVATIONS)),
    st.integers(0, 2**16),  # seed of weights, biases, data and directions
)
GRID = hnp.arrays(np.float64, st.integers(1, 3), elements=st.floats(-2, 2), unique=True)


def random_mlp(arch) -> tuple[nn.Module, np.ndarray, np.ndarray]:
    """A float64 MLP of the drawn architecture, with non-zero biases, and data for it."""
    n_in, hidden, n_out, act, seed = arch
    model = enn.mlp((n_in, *hidden, n_out), activation=act, seed=seed, dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.ndim == 1:
                p.copy_(0.5 * torch.randn(p.shape, generator=gen, dtype=torch.float64))
    X, y = data(P=7, n_in=n_in, out=n_out, seed=seed)
    return model, X, y


@settings(max_examples=25, deadline=None)
@given(arch=ARCHITECTURES, a=GRID, b=GRID, chunk=st.integers(1, 5))
def test_surface_equals_setting_the_weights_by_hand_on_random_architectures(arch, a, b, chunk):
    model, X, y = random_mlp(arch)
    alphas, betas = np.sort(a), np.sort(b)
    d = [L.random_direction(model, seed=arch[-1]), L.random_direction(model, seed=arch[-1] + 1)]
    before = _snapshot(model)
    s = L.surface(model, "mse", X, y, d, alphas, betas, chunk_size=chunk)
    _same(before, _snapshot(model))
    theta = L.flatten_params(model).numpy()
    D = torch.stack(d).numpy()
    expected = np.array(
        [[slow_loss(model, "mse", X, y, theta + ai * D[0] + bj * D[1]) for bj in betas]
         for ai in alphas]
    )  # fmt: skip
    np.testing.assert_allclose(s.losses, expected, rtol=RTOL, atol=1e-12)
    np.testing.assert_array_equal(s.origin, theta)
    _same(before, _snapshot(model))


@settings(max_examples=25, deadline=None)
@given(arch=ARCHITECTURES)
def test_filter_normalized_rows_have_the_weights_row_norms_on_random_architectures(arch):
    model, _, _ = random_mlp(arch)
    before = _snapshot(model)
    d = L.random_direction(model, seed=arch[-1])
    _same(before, _snapshot(model))
    for w, piece in _pieces(model, d):
        if w.ndim <= 1:
            assert torch.all(piece == 0)  # biases get no direction
        else:
            torch.testing.assert_close(piece.norm(dim=1), w.norm(dim=1), rtol=1e-12, atol=0)
