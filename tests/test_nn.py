"""The torch side (ebp.nn): activations, initializers, mlp, conversion to/from ebp.scratch."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from ebp import nn, scratch


def flat(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().ravel() for p in model.parameters()])


# -- activations ------------------------------------------------------------------------------


def test_lecun_tanh_constants_and_gradient():
    x = torch.tensor([-1.0, 0.0, 1.0], dtype=torch.float64, requires_grad=True)
    y = nn.lecun_tanh(x)
    assert y[2].item() == pytest.approx(1.0, abs=1e-4)
    assert y[0].item() == pytest.approx(-1.0, abs=1e-4)
    (g,) = torch.autograd.grad(y[1], x)
    assert g[1].item() == pytest.approx(1.7159 * 2 / 3, rel=1e-15)
    torch.testing.assert_close(nn.LeCunTanh()(x), y)


@pytest.mark.parametrize("name", sorted(nn.ACTIVATIONS))
def test_get_activation_builds_fresh_modules(name):
    a, b = nn.get_activation(name), nn.get_activation(name)
    assert isinstance(a, torch.nn.Module) and a is not b


def test_activation_names_agree_with_scratch():
    assert set(nn.ACTIVATIONS) == set(scratch.ACTIVATIONS)


# -- mlp and init -----------------------------------------------------------------------------


def test_mlp_structure():
    model = nn.mlp((3, 5, 4, 2), activation="tanh", output_activation="logistic")
    kinds = [type(m) for m in model]
    L, T, S = torch.nn.Linear, torch.nn.Tanh, torch.nn.Sigmoid
    assert kinds == [L, T, L, T, L, S]
    assert [m.weight.shape for m in model if isinstance(m, L)] == [(5, 3), (4, 5), (2, 4)]
    assert type(nn.mlp((2, 3, 1))[-1]) is L
    assert type(nn.mlp((2, 3, 1), output_activation="identity")[-1]) is L
    assert model[0].weight.dtype == torch.float32
    assert nn.mlp((2, 1), dtype=torch.float64)[0].weight.dtype == torch.float64


def test_mlp_same_seed_same_weights_different_seed_different():
    a = flat(nn.mlp((4, 8, 3), seed=7))
    b = flat(nn.mlp((4, 8, 3), seed=7))
    c = flat(nn.mlp((4, 8, 3), seed=8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_mlp_leaves_global_rng_alone():
    torch.manual_seed(123)
    state = torch.get_rng_state()
    for init in nn.INITS:
        nn.mlp((10, 20, 5), init=init, seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    # and is not influenced by it
    torch.manual_seed(0)
    a = flat(nn.mlp((3, 4), seed=1))
    torch.manual_seed(99)
    assert torch.equal(a, flat(nn.mlp((3, 4), seed=1)))


@pytest.mark.parametrize("scheme", ["lecun_normal", "lecun_uniform"])
@pytest.mark.parametrize("fan_in", [4, 100, 400])
def test_lecun_init_std(scheme, fan_in):
    model = nn.mlp((fan_in, 600), init=scheme, seed=0)
    w = model[0].weight
    assert w.std().item() == pytest.approx(fan_in**-0.5, rel=0.05)
    assert torch.count_nonzero(model[0].bias) == 0
    if scheme == "lecun_uniform":
        assert w.abs().max().item() <= math.sqrt(3 / fan_in)


def test_other_schemes():
    normal = nn.mlp((100, 600), init="normal", scale=0.5, seed=0)[0]
    assert normal.weight.std().item() == pytest.approx(0.5, rel=0.05)
    zeros = nn.mlp((10, 6), init="zeros")[0]
    assert torch.count_nonzero(zeros.weight) == 0
    pt = nn.mlp((50, 600), init="pytorch", seed=0)[0]
    bound = 50**-0.5
    assert pt.weight.abs().max().item() <= bound
    assert pt.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    assert torch.count_nonzero(pt.bias) > 0 and pt.bias.abs().max().item() <= bound


def test_init_weights_in_place_with_generator():
    layer = torch.nn.Linear(5, 3)
    out = nn.init_weights_(layer, "lecun_normal", generator=torch.Generator().manual_seed(4))
    assert out is layer
    again = torch.nn.Linear(5, 3)
    nn.init_weights_(again, "lecun_normal", generator=torch.Generator().manual_seed(4))
    assert torch.equal(layer.weight, again.weight)
    assert layer.weight.requires_grad  # still a trainable parameter


# -- conversion -------------------------------------------------------------------------------


def test_from_scratch_to_scratch_round_trip():
    net = scratch.Network.create((3, 4, 2), "relu", "logistic", seed=2)
    net.biases = [np.arange(4.0), np.array([0.5, -0.5])]
    model = nn.from_scratch(net)
    assert model[0].weight.dtype == torch.float64
    back = nn.to_scratch(model)
    assert back.activations == net.activations
    np.testing.assert_array_equal(back.get_flat(), net.get_flat())
    X = np.random.default_rng(0).normal(size=(6, 3))
    np.testing.assert_allclose(
        model(torch.as_tensor(X)).detach().numpy(), net.predict(X), rtol=1e-14
    )


def test_to_scratch_of_mlp_computes_the_same_function():
    model = nn.mlp((3, 6, 6, 2), activation="lecun_tanh", output_activation="tanh", seed=5)
    net = nn.to_scratch(model)
    assert net.activations == ["lecun_tanh", "lecun_tanh", "tanh"]
    X = np.random.default_rng(1).normal(size=(4, 3))
    want = model(torch.as_tensor(X, dtype=torch.float32)).detach().numpy()
    np.testing.assert_allclose(net.predict(X), want, rtol=1e-5, atol=1e-6)
    # and back again
    np.testing.assert_array_equal(flat(nn.from_scratch(net, dtype=torch.float32)), flat(model))


def test_to_scratch_rejects_other_modules():
    with pytest.raises(ValueError, match=r"module\[1\]"):
        nn.to_scratch(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Softplus()))
    with pytest.raises(ValueError, match=r"module\[0\]"):
        nn.to_scratch(torch.nn.Sequential(torch.nn.Tanh(), torch.nn.Linear(2, 2)))
    with pytest.raises(TypeError, match="module"):
        nn.to_scratch(torch.nn.Tanh())
    with pytest.raises(ValueError, match="Linear"):
        nn.to_scratch(torch.nn.Sequential())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_mlp_weights_do_not_depend_on_device():
    cpu = flat(nn.mlp((4, 8, 2), seed=3))
    gpu = flat(nn.mlp((4, 8, 2), seed=3, device="cuda"))
    assert gpu.device.type == "cuda"
    assert torch.equal(cpu, gpu.cpu())


# -- the twisting term (§4.4) -----------------------------------------------------------------


@pytest.mark.parametrize("base", ["tanh", "lecun_tanh", "logistic"])
@pytest.mark.parametrize("a", [0.0, 0.05, 0.5])
def test_twisted_derivative_is_base_derivative_plus_a(base, a):
    x = torch.linspace(-20, 20, 81, dtype=torch.float64, requires_grad=True)
    f, g = nn.twisted(base, a), nn.get_activation(base)
    (df,) = torch.autograd.grad(f(x).sum(), x)
    (dg,) = torch.autograd.grad(g(x).sum(), x)
    torch.testing.assert_close(df, dg + a, rtol=0, atol=1e-12)
    torch.testing.assert_close(nn.Twisted(base, a)(x), f(x))
    if a > 0:  # no flat spot: the slope never drops below a, even deep in saturation
        assert df.min().item() >= a - 1e-12
        assert df[0].item() == pytest.approx(a, abs=1e-6)


def test_twisted_accepts_functions_and_modules():
    x = torch.linspace(-3, 3, 7)
    torch.testing.assert_close(nn.twisted(torch.sin, 0.2)(x), torch.sin(x) + 0.2 * x)
    m = nn.Twisted(torch.nn.ReLU(), 0.1)
    torch.testing.assert_close(m(x), torch.relu(x) + 0.1 * x)
    assert m.base_name == "relu" and "a=0.1" in repr(m)


def test_twisted_names_in_get_activation_and_mlp():
    act = nn.get_activation("lecun_tanh+0.1x")
    assert isinstance(act, nn.Twisted) and act.a == 0.1 and act.base_name == "lecun_tanh"
    assert nn.get_activation("tanh+1e-2x").a == 0.01
    model = nn.mlp((2, 4, 4, 1), activation="tanh+0.25x", output_activation="lecun_tanh+0.1x")
    acts = [m for m in model if isinstance(m, nn.Twisted)]
    assert len(acts) == 3 and acts[0] is not acts[1]
    assert [m.a for m in acts] == [0.25, 0.25, 0.1]


def test_mlp_accepts_activation_factories():
    import functools

    model = nn.mlp((3, 5, 2), activation=torch.nn.SiLU, seed=1)
    assert type(model[1]) is torch.nn.SiLU
    model = nn.mlp((3, 5, 5, 2), activation=functools.partial(nn.Twisted, "tanh", 0.05))
    assert model[1] is not model[3] and model[1].a == 0.05
    # the weights do not depend on the activation
    assert torch.equal(flat(model), flat(nn.mlp((3, 5, 5, 2))))


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"activation": "tanh+x"}, ValueError, "activation must be one of"),
        ({"activation": "softsign+0.1x"}, ValueError, "activation must be one of"),
        ({"activation": torch.nn.Tanh()}, TypeError, "activation .*not a module instance"),
        ({"activation": 3}, TypeError, "activation must be an activation name"),
        ({"activation": lambda: "tanh"}, TypeError, "activation factory must return"),
        ({"output_activation": "sigmoid"}, ValueError, "output_activation"),
    ],
)
def test_mlp_bad_activation(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        nn.mlp((2, 3, 1), **kwargs)


def test_twisted_bad_input():
    with pytest.raises(ValueError, match="a must be >= 0"):
        nn.twisted("tanh", -0.1)
    with pytest.raises(ValueError, match="a must be >= 0"):
        nn.Twisted("tanh", -0.1)
    with pytest.raises(TypeError, match="a must be a real number"):
        nn.Twisted("tanh", "0.1")
    with pytest.raises(ValueError, match="base must be one of"):
        nn.twisted("sigmoid", 0.1)
    with pytest.raises(TypeError, match="base must be"):
        nn.Twisted(3, 0.1)
    with pytest.raises(TypeError, match="activation"):
        nn.get_activation(None)


# -- more initializations ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scheme", "fan_in", "fan_out", "sigma"),
    [
        ("xavier_normal", 100, 300, math.sqrt(2 / 400)),
        ("xavier_uniform", 100, 300, math.sqrt(2 / 400)),
        ("xavier_normal", 20, 1000, math.sqrt(2 / 1020)),
        ("he_normal", 100, 300, math.sqrt(2 / 100)),
        ("he_normal", 10, 2000, math.sqrt(2 / 10)),
    ],
)
def test_new_init_std_matches_the_formula(scheme, fan_in, fan_out, sigma):
    layer = nn.mlp((fan_in, fan_out), init=scheme, seed=0)[0]
    assert layer.weight.std().item() == pytest.approx(sigma, rel=0.10)
    assert torch.count_nonzero(layer.bias) == 0
    if scheme == "xavier_uniform":
        assert layer.weight.abs().max().item() <= math.sqrt(3) * sigma * (1 + 1e-6)


def test_constant_init_and_scale():
    layer = nn.mlp((4, 3), init="constant", scale=0.3)[0]
    assert torch.all(layer.weight == 0.3) and torch.count_nonzero(layer.bias) == 0
    he = nn.mlp((100, 500), init="he_normal", scale=0.5)[0]
    assert he.weight.std().item() == pytest.approx(0.5 * math.sqrt(2 / 100), rel=0.1)


def test_init_names_are_validated():
    with pytest.raises(ValueError, match="init must be one of"):
        nn.mlp((2, 1), init="glorot")
    with pytest.raises(ValueError, match="scheme must be one of"):
        nn.init_weights_(torch.nn.Linear(2, 2), "kaiming")


# -- layer_stats (R2) -------------------------------------------------------------------------


def all_hooks(model: torch.nn.Module) -> int:
    return sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
        for m in model.modules()
    )


def standardized(n: int, d: int, seed: int = 0) -> torch.Tensor:
    X = np.random.default_rng(seed).normal(size=(n, d))
    return torch.as_tensor((X - X.mean(0)) / X.std(0), dtype=torch.float32)


@pytest.mark.parametrize("fan_in", [2, 10, 100, 1000])
def test_r2_first_layer_weighted_sums_have_unit_std(fan_in):
    """R2: standardized inputs and σ_w = m^{-1/2} give weighted sums of std in [0.9, 1.1]."""
    model = nn.mlp((fan_in, 500, 1), init="lecun_normal", seed=0)
    first = nn.layer_stats(model, standardized(1000, fan_in))[0]
    assert 0.9 <= first.pre_std <= 1.1
    assert abs(first.pre_mean) < 0.1


def test_r2_std_shrinks_with_depth_and_pytorch_default_is_smaller():
    X = standardized(1000, 500)
    stats = nn.layer_stats(nn.mlp((500, 500, 500, 500, 500), seed=0), X)
    pre = [s.pre_std for s in stats]
    np.testing.assert_allclose(pre, [1.00, 0.87, 0.79, 0.74], atol=0.03)
    assert all(a > b for a, b in itertools.pairwise(pre))
    # Var f(y) ≈ 0.75 for y ~ N(0, 1): the first activation's std ≈ 0.87
    assert stats[0].act_std == pytest.approx(math.sqrt(0.75), abs=0.03)
    assert stats[-1].activation == "Identity" and stats[-1].act_std == stats[-1].pre_std
    torch_default = nn.layer_stats(nn.mlp((500, 500, 1), init="pytorch", seed=0), X)
    assert torch_default[0].pre_std == pytest.approx(0.58, abs=0.03)


def test_layer_stats_leaves_no_hooks_and_no_state_behind():
    model = nn.mlp((3, 6, 6, 2), activation="tanh", output_activation="logistic", seed=2)
    model.train()
    before = flat(model).clone()
    torch.manual_seed(5)
    rng = torch.get_rng_state()
    stats = nn.layer_stats(model, np.random.default_rng(0).normal(size=(10, 3)), keep_values=True)
    assert all_hooks(model) == 0
    assert model.training and torch.equal(flat(model), before)
    assert torch.equal(torch.get_rng_state(), rng)
    assert [s.activation for s in stats] == ["Tanh", "Tanh", "Sigmoid"]
    assert [(s.fan_in, s.fan_out) for s in stats] == [(3, 6), (6, 6), (6, 2)]
    assert stats[2].act_values.shape == (10, 2) and np.all(stats[2].act_values > 0)
    np.testing.assert_allclose(stats[0].act_values, np.tanh(stats[0].pre_values), rtol=1e-6)
    assert stats[1].pre_std == pytest.approx(stats[1].pre_values.std(), rel=1e-6)
    assert nn.layer_stats(model, torch.zeros(4, 3))[0].pre_values is None
    # hooks are removed even when the forward pass fails
    broken = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(5, 1))
    with pytest.raises(RuntimeError):
        nn.layer_stats(broken, torch.zeros(2, 3))
    assert all_hooks(broken) == 0


def test_layer_stats_bad_input():
    model = nn.mlp((3, 4, 1))
    with pytest.raises(ValueError, match=r"X must have shape \(P, 3\)"):
        nn.layer_stats(model, torch.zeros(5, 2))
    with pytest.raises(ValueError, match="X must be 2-dimensional"):
        nn.layer_stats(model, torch.zeros(3))
    with pytest.raises(TypeError, match=r"model must be a torch\.nn\.Module"):
        nn.layer_stats("net", torch.zeros(5, 3))
    with pytest.raises(ValueError, match="model must contain"):
        nn.layer_stats(torch.nn.Sequential(torch.nn.Tanh()), torch.zeros(5, 3))
    with pytest.raises(TypeError, match="keep_values"):
        nn.layer_stats(model, torch.zeros(5, 3), keep_values="yes")


def test_layer_stats_takes_an_rbf_network():
    from ebp.rbf import rbf_network

    X = torch.randn(40, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    model = rbf_network(X, 5, 1, dtype=torch.float64)
    stats = nn.layer_stats(model, X)  # X has the network's 2 inputs, not its Linear's 5
    assert [(s.fan_in, s.fan_out) for s in stats] == [(5, 1)]
    with pytest.raises(ValueError, match=r"^X must have shape \(P, 2\)"):
        nn.layer_stats(model, torch.zeros(4, 5, dtype=torch.float64))


def test_layer_stats_refuses_nan_weights_and_empty_batches_and_keeps_buffers():
    model = nn.mlp((3, 4, 1), seed=0)
    with torch.no_grad():
        model[0].weight[1, 2] = float("inf")
    with pytest.raises(ValueError, match=r"^model must have finite parameters; 1 of its"):
        nn.layer_stats(model, torch.zeros(5, 3))
    with pytest.raises(ValueError, match=r"^X must contain at least one pattern"):
        nn.layer_stats(nn.mlp((3, 4, 1)), torch.zeros(0, 3))
    bn = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Tanh())
    before = {n: b.clone() for n, b in bn.named_buffers()}
    nn.layer_stats(bn, torch.randn(6, 3, generator=torch.Generator().manual_seed(0)))
    for n, b in bn.named_buffers():
        assert torch.equal(b, before[n]), n  # restored copies, bit for bit
