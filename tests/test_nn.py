"""The torch side (ebp.nn): activations, initializers, mlp, conversion to/from ebp.scratch."""

from __future__ import annotations

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
