"""ebp.rbf (RBF units, paper §4.8), ebp.experiments.rbf_vs_sigmoid and its plots."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

from matplotlib.figure import Figure
from torch.func import functional_call, stack_module_state, vmap

from ebp import data, rbf
from ebp.experiments import rbf_vs_sigmoid as ex
from ebp.many import fit_many
from ebp.plots import rbf_vs_sigmoid as rbf_plots
from ebp.train import fit


def _layer(n_units=4, n_in=3, seed=0, **kw):
    g = np.random.default_rng(seed)
    centres = g.standard_normal((n_units, n_in))
    widths = g.uniform(0.5, 2.0, n_units)
    return rbf.RBFLayer(centres, widths, dtype=torch.float64, **kw), centres, widths


def _direct(x, centres, widths):
    diff = x[:, None, :] - centres[None, :, :]
    return np.exp(-(diff**2).sum(-1) / (2 * widths**2))


# ---------------------------------------------------------------------------------------------
# RBFLayer
# ---------------------------------------------------------------------------------------------


def test_response_equals_the_formula():
    layer, centres, widths = _layer(5, 3)
    x = np.random.default_rng(1).standard_normal((7, 3))
    got = layer(torch.as_tensor(x)).detach().numpy()
    np.testing.assert_allclose(got, _direct(x, centres, widths), rtol=1e-12, atol=1e-14)
    # at its own centre a unit answers exactly 1; one width away, exp(-1/2)
    at_centre = layer(torch.as_tensor(centres)).detach().numpy()
    np.testing.assert_allclose(np.diag(at_centre), 1.0, rtol=1e-12)
    step = centres[0] + np.array([widths[0], 0.0, 0.0])
    assert float(layer(torch.as_tensor(step[None]))[0, 0].detach()) == pytest.approx(np.exp(-0.5))
    np.testing.assert_allclose(layer.widths.detach().numpy(), widths, rtol=1e-12)


def test_batch_dimensions_and_single_width():
    layer = rbf.RBFLayer(np.zeros((3, 2)), 1.5)
    assert layer.centres.dtype == torch.float32
    assert layer(torch.zeros(4, 5, 2)).shape == (4, 5, 3)
    np.testing.assert_allclose(layer.widths.detach().numpy(), 1.5, rtol=1e-6)


def test_gradcheck_float64():
    layer, centres, widths = _layer(3, 2)
    x = torch.randn(5, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))

    def f(x, c, log_sigma):
        return functional_call(layer, {"centres": c, "log_sigma": log_sigma}, (x,))

    inputs = (
        x.requires_grad_(True),
        torch.as_tensor(centres).requires_grad_(True),
        torch.as_tensor(np.log(widths)).requires_grad_(True),
    )
    assert torch.autograd.gradcheck(f, inputs)


def test_trainable_and_frozen():
    layer, *_ = _layer(train_centres=False, train_widths=True)
    assert not layer.centres.requires_grad
    assert layer.log_sigma.requires_grad
    names = [n for n, p in layer.named_parameters()]
    assert names == ["centres", "log_sigma"]


def test_widths_stay_positive_under_descent():
    layer, _, widths = _layer(2, 2)
    x = torch.full((3, 2), 5.0, dtype=torch.float64)
    for _ in range(20):  # push every response towards 0: the widths shrink, never below 0
        (grad,) = torch.autograd.grad(layer(x).sum(), [layer.log_sigma])
        with torch.no_grad():
            layer.log_sigma -= 10.0 * grad.sign()
    assert bool((layer.widths > 0).all())
    assert np.all(layer.widths.detach().numpy() < widths)


def test_vmap_over_stacked_layers():
    layers = [_layer(4, 3, seed=s)[0] for s in range(3)]
    params, buffers = stack_module_state(layers)
    x = torch.randn(6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))

    def call(p, b, x):
        return functional_call(layers[0], (p, b), (x,))

    stacked = vmap(call, in_dims=(0, 0, None))(params, buffers, x)
    for k, layer in enumerate(layers):
        torch.testing.assert_close(stacked[k], layer(x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("train_centres", [False, True])
def test_fit_many_trains_rbf_networks_like_fit(train_centres):
    X, y = data.two_gaussians(40, seed=0)
    kw = {"train_centres": train_centres, "train_widths": train_centres, "dtype": torch.float64}
    models = [rbf.rbf_network(X, 5, 1, seed=s, **kw) for s in range(3)]
    run = fit_many(models, X, y, eta=0.2, epochs=4, batch_size=8, seed=[0, 1, 2])
    for s in range(3):
        alone = rbf.rbf_network(X, 5, 1, seed=s, **kw)
        h = fit(alone, X, y, eta=0.2, epochs=4, batch_size=8, seed=s)
        np.testing.assert_allclose(run.histories[s].train_loss, h.train_loss, rtol=1e-10)
        for a, b in zip(run.models[s].parameters(), alone.parameters(), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    # frozen centres do not move; trainable ones do
    moved = not torch.equal(run.models[0][0].centres, models[0][0].centres)
    assert moved == train_centres


def test_layer_errors_name_the_argument():
    with pytest.raises(ValueError, match="centres"):
        rbf.RBFLayer(np.zeros(3), 1.0)
    with pytest.raises(ValueError, match="widths"):
        rbf.RBFLayer(np.zeros((3, 2)), [1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match="widths"):
        rbf.RBFLayer(np.zeros((3, 2)), [1.0, 1.0])
    with pytest.raises(ValueError, match="widths"):
        rbf.RBFLayer(np.zeros((3, 2)), 0.0)
    with pytest.raises(TypeError, match="train_centres"):
        rbf.RBFLayer(np.zeros((3, 2)), 1.0, train_centres=1)
    with pytest.raises(TypeError, match="dtype"):
        rbf.RBFLayer(np.zeros((3, 2)), 1.0, dtype=torch.int64)


# ---------------------------------------------------------------------------------------------
# Centres and widths
# ---------------------------------------------------------------------------------------------


def test_width_rules_on_known_centres():
    c = np.array([[0.0], [1.0], [3.0]])
    np.testing.assert_allclose(rbf.width_heuristic(c, p=1), [1.0, 1.0, 2.0])
    expected = np.sqrt([(1 + 9) / 2, (1 + 4) / 2, (9 + 4) / 2])
    np.testing.assert_allclose(rbf.width_heuristic(c, p=2), expected)
    glob = rbf.width_heuristic(c, "global", p=2)
    np.testing.assert_allclose(glob, np.sqrt(np.mean(expected**2)))
    # a unit sitting on another one gets the median of the others' widths, never 0
    dup = rbf.width_heuristic(np.array([[0.0], [0.0], [2.0], [5.0]]), p=1)
    assert np.all(dup > 0)
    np.testing.assert_allclose(dup, [2.5, 2.5, 2.0, 3.0])  # median of 2 and 3


def test_kmeans_is_deterministic():
    split = data.digits(n_train=200, seed=0, standardize=True)
    c1, w1 = rbf.kmeans_centres(split.X_train, 12, seed=3)
    c2, w2 = rbf.kmeans_centres(split.X_train, 12, seed=3)
    assert c1.shape == (12, 64) and w1.shape == (12,)
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_array_equal(w1, w2)
    assert np.all(w1 > 0)
    c3, _ = rbf.kmeans_centres(split.X_train, 12, seed=4)
    assert not np.array_equal(c1, c3)
    _, w_scaled = rbf.kmeans_centres(split.X_train, 12, seed=3, width_scale=2.0)
    np.testing.assert_allclose(w_scaled, 2 * w1)


def test_centres_errors_name_the_argument():
    X = np.random.default_rng(0).standard_normal((10, 2))
    with pytest.raises(ValueError, match="n_centres"):
        rbf.kmeans_centres(X, 11)
    with pytest.raises(ValueError, match="n_centres"):
        rbf.kmeans_centres(X, 1)
    with pytest.raises(ValueError, match="p must be"):
        rbf.kmeans_centres(X, 3, p=3)
    with pytest.raises(ValueError, match="width_rule"):
        rbf.kmeans_centres(X, 3, width_rule="nearest")
    with pytest.raises(ValueError, match="width_scale"):
        rbf.kmeans_centres(X, 3, width_scale=0.0)
    with pytest.raises(TypeError, match="seed"):
        rbf.kmeans_centres(X, 3, seed=1.5)
    with pytest.raises(ValueError, match="X"):
        rbf.kmeans_centres(X[:, 0], 3)
    with pytest.raises(ValueError, match="centres"):
        rbf.width_heuristic(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="output_activation"):
        rbf.rbf_network(X, 3, 1, output_activation="relu")
    with pytest.raises(ValueError, match="n_out"):
        rbf.rbf_network(X, 3, 0)


def test_rbf_network_structure_and_seed():
    X, _ = data.two_gaussians(40, seed=0)
    net = rbf.rbf_network(X, 6, 2, seed=1, output_activation="lecun_tanh")
    assert len(net) == 3 and net[0].n_units == 6 and net[1].out_features == 2
    assert not net[0].centres.requires_grad and not net[0].log_sigma.requires_grad
    again = rbf.rbf_network(X, 6, 2, seed=1, output_activation="lecun_tanh")
    for a, b in zip(net.parameters(), again.parameters(), strict=True):
        assert torch.equal(a, b)
    assert torch.all(net[1].bias == 0)


# ---------------------------------------------------------------------------------------------
# The output layer as a least-squares problem
# ---------------------------------------------------------------------------------------------


def test_solved_output_layer_is_the_minimum():
    X, y = data.two_gaussians(60, seed=1)
    net = rbf.rbf_network(X, 8, 1, seed=0, dtype=torch.float64)
    solved = rbf.solve_output_layer(net, X, y)
    x = torch.as_tensor(X)
    loss = 0.5 * ((solved(x) - torch.as_tensor(y)) ** 2).mean()
    grads = torch.autograd.grad(loss, [solved[1].weight, solved[1].bias])
    assert max(float(g.abs().max()) for g in grads) < 1e-8
    # the model given is not modified, and descent from it never gets below the minimum
    assert torch.all(net[1].bias == 0)
    h = fit(net, X, y, eta=rbf.output_rate(net, X), epochs=50, batch_size=None)
    assert h.final_train_loss >= float(loss.detach()) - 1e-12


def test_output_rate_is_the_stability_limit():
    """Eq 38/39: full-batch descent converges below 2/λ_max and diverges above it."""
    X, y = data.two_gaussians(60, seed=1)
    net = rbf.rbf_network(X, 8, 1, seed=0, dtype=torch.float64)
    H = rbf.output_hessian(net, X)
    assert H.shape == (9, 9)
    np.testing.assert_allclose(H, H.T)
    eta_opt = rbf.output_rate(net, X)
    assert eta_opt == pytest.approx(1 / np.linalg.eigvalsh(H)[-1])
    run = fit_many([net, net], X, y, eta=[1.9 * eta_opt, 2.1 * eta_opt], epochs=400)
    assert list(run.diverged) == [False, True]


def test_output_layer_errors():
    X, _ = data.two_gaussians(20, seed=0)
    net = rbf.rbf_network(X, 4, 1)
    with pytest.raises(TypeError, match="model"):
        rbf.output_rate(net[0], X)
    with pytest.raises(ValueError, match="model"):
        rbf.output_rate(torch.nn.Sequential(net[1], torch.nn.Tanh()), X)
    with pytest.raises(ValueError, match="y"):
        rbf.solve_output_layer(net, X, np.zeros((20, 2)))


# ---------------------------------------------------------------------------------------------
# Experiments and plots
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moons():
    return ex.moons_comparison(
        n_units=6, seeds=range(3), epochs=10, n_grid=21, n_centres=(4, 8, 16)
    )


@pytest.fixture(scope="module")
def digits():
    return ex.digits_comparison(
        units=(10, 20), seeds=range(2), n_train=150, epochs=3, hybrid_hidden=10, hybrid_centres=20
    )


def test_moons_far_from_the_data(moons):
    """§4.8: far away an RBF net answers its bias (no unit responds); a sigmoid net saturates."""
    assert moons.output["rbf"].shape == (21, 21)
    assert np.all(moons.far_response["rbf"] < 1e-6)
    np.testing.assert_allclose(moons.far_output["rbf"], np.abs(moons.rbf_bias), atol=1e-5)
    assert np.all(moons.far_response["sigmoid"] > 0.99 * 1.7159)
    assert moons.test_error["sigmoid"].shape == (3,)
    # the RBF rate is 1/λ_max of each network's output layer
    assert moons.eta["rbf"].shape == (3,) and np.all(moons.eta["rbf"] > 0)
    # centres fill the plane: the nearest-centre distance shrinks like k^(-1/2)
    assert 1.0 < ex.fitted_exponent(moons.n_centres, moons.nearest_distance) < 4.0


def test_moons_is_deterministic(moons):
    again = ex.moons_comparison(
        n_units=6, seeds=range(3), epochs=10, n_grid=21, n_centres=(4, 8, 16)
    )
    np.testing.assert_array_equal(again.output["rbf"], moons.output["rbf"])
    np.testing.assert_array_equal(again.test_error["sigmoid"], moons.test_error["sigmoid"])


def test_digits_shapes_and_least_squares(digits):
    assert digits.test_error["rbf"].shape == (2, 2)
    assert set(digits.hybrid_error) == {"hybrid", "hybrid_solved", "rbf", "rbf_solved"}
    # the solved output layer is the minimum of the training loss that SGD descends
    assert np.all(digits.train_loss["rbf_solved"] <= digits.train_loss["rbf"] + 1e-6)
    assert np.all(digits.condition > 1)
    np.testing.assert_array_equal(digits.error_at("sigmoid", 20), digits.test_error["sigmoid"][1])
    with pytest.raises(ValueError, match="n_units"):
        digits.error_at("sigmoid", 30)


def test_fitted_exponent_recovers_a_power_law():
    k = np.array([4, 8, 16, 32])
    assert ex.fitted_exponent(k, 3.0 * k ** (-1 / 5)) == pytest.approx(5.0)


def test_experiment_errors():
    with pytest.raises(ValueError, match="seeds"):
        ex.moons_comparison(seeds=[])
    with pytest.raises(ValueError, match="n_centres"):
        ex.moons_comparison(n_centres=(8, 4))
    with pytest.raises(ValueError, match="hybrid_hidden"):
        ex.digits_comparison(units=(10, 20), hybrid_hidden=15)
    with pytest.raises(ValueError, match="n_units"):
        ex.moons_comparison(n_units=2)
    with pytest.raises(ValueError, match="noise"):
        ex.two_moons(noise=-0.1)


def test_plots(moons, digits):
    # left open: the conftest checks that each fits the text column, then closes them
    maps = rbf_plots.plot_moons_maps(moons)
    assert isinstance(maps, Figure)
    # the two circles around the RBF centre in (c) are named
    assert [t.get_text() for t in maps.axes[2].texts] == ["$\\sigma$", "$2\\sigma$"]
    sweep = rbf_plots.plot_units_sweep(digits)
    assert isinstance(sweep, Figure)
    assert sweep.legends and sweep.axes[0].get_legend() is None  # below the axes, not on them
    assert isinstance(rbf_plots.plot_nearest_centre(digits, moons), Figure)
    with pytest.raises(TypeError, match="result"):
        rbf_plots.plot_units_sweep(moons)


def test_rbf_layer_checks_its_input():
    layer = rbf.RBFLayer(np.zeros((3, 2)), 1.0)
    assert layer(torch.zeros(4, 2)).shape == (4, 3)
    assert layer(torch.zeros(2)).shape == (3,)  # one pattern
    assert layer(torch.zeros(5, 4, 2)).shape == (5, 4, 3)  # any leading dimensions
    with pytest.raises(ValueError, match=r"^x must have shape \(\.\.\., 2\)"):
        layer(torch.zeros(4, 3))
    with pytest.raises(TypeError, match=r"^x must have the layer's dtype torch.float32"):
        layer(torch.zeros(4, 2, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"^x must be a torch.Tensor"):
        layer(np.zeros((4, 2)))


@pytest.mark.parametrize(
    "fn", [rbf.output_features, rbf.output_hessian, rbf.output_rate, rbf.solve_output_layer]
)
def test_output_layer_helpers_check_x_against_the_model(fn):
    X = np.random.default_rng(0).normal(size=(10, 2))
    model = rbf.rbf_network(X, 3, 1)
    args = (np.zeros((10, 1)),) if fn is rbf.solve_output_layer else ()
    with pytest.raises(ValueError, match=r"^X must have shape \(any, 2\); got shape \(10, 3\)"):
        fn(model, np.hstack([X, X[:, :1]]), *args)
    with pytest.raises(ValueError, match=r"^X must have at least one row"):
        fn(model, X[:0], *args[:1] and (np.zeros((0, 1)),))
