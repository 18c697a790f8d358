"""NumPy backprop (ebp.scratch): gradients vs torch autograd and finite differences, training."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ebp import nn, scratch
from ebp.history import DivergenceError, History

HIDDEN = ["logistic", "tanh", "lecun_tanh", "relu", "identity"]
# (loss, allowed output activations)
LOSS_OUTPUTS = {
    "mse": HIDDEN,
    "bce": ["logistic"],
    "softmax_ce": ["identity"],
}


def make_targets(loss: str, rng: np.random.Generator, P: int, n_out: int, labels: bool):
    if loss == "mse":
        return rng.normal(size=(P, n_out))
    if loss == "bce":
        return rng.uniform(size=(P, n_out))
    if labels:
        return rng.integers(0, n_out, size=P)
    return np.eye(n_out)[rng.integers(0, n_out, size=P)]


def torch_loss(loss: str, model: torch.nn.Sequential, X: np.ndarray, T: np.ndarray):
    """The same batch-mean losses, written independently with torch primitives."""
    Xt = torch.as_tensor(X)
    if loss == "mse":
        out = model(Xt)
        return 0.5 * ((out - torch.as_tensor(T)) ** 2).sum(dim=1).mean()
    if loss == "bce":
        z = model[:-1](Xt)  # drop the final Sigmoid: the loss works on logits
        Tt = torch.as_tensor(T)
        return F.binary_cross_entropy_with_logits(z, Tt, reduction="sum") / X.shape[0]
    z = model(Xt)  # identity output: the model's output is the logits
    Tt = torch.as_tensor(T)
    if Tt.ndim == 1:
        return F.cross_entropy(z, Tt)
    return -(Tt * torch.log_softmax(z, dim=1)).sum(dim=1).mean()


@st.composite
def problems(draw):
    n_layers = draw(st.integers(1, 4))
    loss = draw(st.sampled_from(sorted(LOSS_OUTPUTS)))
    sizes = [draw(st.integers(1, 6)) for _ in range(n_layers + 1)]
    if loss == "softmax_ce":
        sizes[-1] = max(sizes[-1], 2)
    hidden = draw(st.sampled_from(HIDDEN))
    out = draw(st.sampled_from(LOSS_OUTPUTS[loss]))
    init = draw(st.sampled_from(["lecun", "lecun_uniform"]))
    seed = draw(st.integers(0, 2**16))
    P = draw(st.integers(1, 8))
    labels = draw(st.booleans())
    net = scratch.Network.create(sizes, hidden, out, init=init, seed=seed)
    # Non-zero biases so that the db path is exercised with something other than zeros.
    rng = np.random.default_rng(seed + 1)
    net.biases = [0.3 * rng.normal(size=b.shape) for b in net.biases]
    X = rng.normal(size=(P, sizes[0]))
    T = make_targets(loss, rng, P, sizes[-1], labels)
    return net, X, T, loss


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_backprop_matches_autograd_and_finite_differences(problem):
    net, X, T, loss = problem
    grads = net.gradients(X, T, loss)

    # 1. torch autograd, float64, same weights: equal up to round-off.
    model = nn.from_scratch(net)
    value = torch_loss(loss, model, X, T)
    value.backward()
    g_torch = np.concatenate([p.grad.numpy().ravel() for p in model.parameters()])
    assert math.isclose(net.loss(X, T, loss), value.item(), rel_tol=1e-12, abs_tol=1e-14)
    assert scratch.relative_error(grads.flat(), g_torch) <= 1e-10

    # 2. central finite differences.  They only estimate a derivative where the loss is
    # smooth: relu has a kink at 0, and a difference straddling it measures half the left
    # and half the right slope.  A parameter change of eps moves a pre-activation by at most
    # ~eps * (size of its inputs, < 10 here), so we skip the comparison (honestly, not
    # silently: hypothesis counts it as a rejected example) when any pre-activation of a relu
    # layer lies within 1e-4 of 0, which covers every difference that could straddle a kink.
    fw = net.forward(X)
    for z, act in zip(fw.z, net.activations, strict=True):
        if act == "relu":
            assume(np.min(np.abs(z)) > 1e-4)
    eps = 1e-6
    check = scratch.gradient_check(net, X, T, loss, eps=eps, tol=1e-6)
    if check.passed:
        return
    # Round-off floor of central differences: each loss evaluation carries an error of a few
    # dozen ulps of E, so every difference quotient is off by up to ~ 64 u (|E| + 1) / eps
    # ≈ 1.4e-8 in absolute terms, whatever the true gradient.  A layer whose gradient is tiny
    # (vanishing gradients through a stack of saturated logistic units, ‖g‖ ~ 1e-6) then has
    # a large *relative* FD error although backprop is right.  Such a layer passes if its
    # absolute error is below that floor; the autograd comparison above still checks it to
    # 1e-10 relative.  (A real bug in such a layer shows up at the size of the gradient.)
    floor = 64 * np.finfo(float).eps * (abs(net.loss(X, T, loss)) + 1.0) / eps
    for l, rel in enumerate(check.layer_rel_errors):
        err = max(
            np.max(np.abs(check.analytic.dW[l] - check.numerical.dW[l])),
            np.max(np.abs(check.analytic.db[l] - check.numerical.db[l])),
        )
        assert rel <= 1e-6 or err <= floor, (l, check.layer_rel_errors, err, floor)


def test_delta_recursion_and_dW_formula():
    """delta[l] = ∂E/∂z[l] (eq 8) and dW[l] = delta[l]ᵀ a[l] (eq 9), checked against torch."""
    net = scratch.Network.create((3, 4, 2), "tanh", "identity", seed=3)
    X = np.random.default_rng(0).normal(size=(5, 3))
    T = np.random.default_rng(1).normal(size=(5, 2))
    fw = net.forward(X)
    g = net.backward(fw, T)
    model = nn.from_scratch(net)
    z0 = model[0](torch.as_tensor(X))
    z0.retain_grad()
    out = model[2](model[1](z0))
    (0.5 * ((out - torch.as_tensor(T)) ** 2).sum(1).mean()).backward()
    np.testing.assert_allclose(g.delta[0], z0.grad.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(g.dW[1], g.delta[1].T @ fw.a[1], rtol=1e-14)
    assert len(fw.z) == 2 and len(fw.a) == 3 and fw.a[0] is not None


def test_gradient_check_detects_a_wrong_gradient(monkeypatch):
    net = scratch.Network.create((2, 3, 1), "tanh", seed=0)
    X = np.random.default_rng(0).normal(size=(4, 2))
    T = np.random.default_rng(1).normal(size=(4, 1))
    assert scratch.gradient_check(net, X, T).passed
    # Break the derivative of tanh: the check must notice.
    broken = scratch.Activation("tanh", np.tanh, lambda x: 1.1 * (1 - np.tanh(x) ** 2))
    monkeypatch.setitem(scratch.ACTIVATIONS, "tanh", broken)
    result = scratch.gradient_check(net, X, T)
    assert not result.passed
    assert result.layer_rel_errors[0] > 1e-3


def test_relative_error_definition():
    assert scratch.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert scratch.relative_error(np.ones(2), -np.ones(2)) == pytest.approx(1.0)
    assert scratch.relative_error([1.0, 0.0], [1.0, 1e-3]) == pytest.approx(1e-3 / (1 + 1e-3**0))
    # same-shape matrices are fine (raveled); other shapes never broadcast; NaN in, NaN out
    M = np.arange(6.0).reshape(2, 3)
    assert scratch.relative_error(M, M) == 0.0
    assert math.isnan(scratch.relative_error(np.array([np.nan, 1.0]), np.ones(2)))
    with pytest.raises(ValueError, match=r"^g_hat must have the shape of g \(3,\)"):
        scratch.relative_error(np.ones(3), np.ones((3, 1)))
    with pytest.raises(TypeError, match=r"^g must be an array of real numbers"):
        scratch.relative_error(np.ones(3, dtype=complex), np.ones(3))


# -- activations ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", HIDDEN)
def test_activation_derivative_matches_finite_differences(name):
    act = scratch.get_activation(name)
    x = np.linspace(-4, 4, 81) + 0.0123  # avoids relu's kink at exactly 0
    h = 1e-6
    fd = (act.f(x + h) - act.f(x - h)) / (2 * h)
    np.testing.assert_allclose(act.df(x), fd, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", HIDDEN)
def test_numpy_activation_matches_torch(name):
    x = np.linspace(-30, 30, 121)
    got = scratch.get_activation(name).f(x)
    want = nn.get_activation(name)(torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-300)


def test_lecun_tanh_constants():
    assert scratch.lecun_tanh(np.array(1.0)) == pytest.approx(1.0, abs=1e-4)
    assert scratch.lecun_tanh(np.array(-1.0)) == pytest.approx(-1.0, abs=1e-4)
    assert scratch.lecun_tanh_prime(np.array(0.0)) == pytest.approx(1.7159 * 2 / 3, rel=1e-15)
    assert scratch.ACTIVATIONS["lecun_tanh"].f is scratch.lecun_tanh


def test_logistic_does_not_overflow():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = scratch.get_activation("logistic").f(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_array_equal(y, [0.0, 0.5, 1.0])


def test_losses_are_stable_for_large_logits():
    z = np.array([[800.0, -800.0]])
    T = np.array([[1.0, 0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        # exactly 0 by IEEE arithmetic, no BLAS: log(1 + exp(-1600)) and log1p(exp(-800))
        # underflow to 0, and 800 - 800 is exact
        assert scratch.loss_value("softmax_ce", z, z, T) == 0.0
        assert scratch.loss_value("bce", z, z, T) == 0.0
        # Confidently wrong on both outputs: −log σ(−800) − log(1 − σ(800)) = 1600.
        assert scratch.loss_value("bce", z, z, 1.0 - T) == pytest.approx(1600.0)


def test_mse_uses_the_half_convention():
    net = scratch.Network([np.array([[1.0]])], [np.array([0.0])], ["identity"])
    X = np.array([[1.0], [2.0]])
    T = np.array([[0.0], [0.0]])
    # E = (1/P) Σ ½ (d − o)² = (½·1 + ½·4) / 2
    assert net.loss(X, T) == pytest.approx(1.25)


# -- Network ----------------------------------------------------------------------------------


def test_create_shapes_and_flat_order():
    net = scratch.Network.create((4, 3, 2), seed=0)
    assert [W.shape for W in net.weights] == [(3, 4), (2, 3)]
    assert [b.shape for b in net.biases] == [(3,), (2,)]
    assert net.activations == ["lecun_tanh", "identity"]
    assert net.sizes == (4, 3, 2)
    assert net.n_params == 4 * 3 + 3 + 3 * 2 + 2
    theta = net.get_flat()
    np.testing.assert_array_equal(theta[:12], net.weights[0].ravel())
    other = net.copy()
    other.set_flat(np.arange(net.n_params, dtype=float))
    np.testing.assert_array_equal(other.biases[0], [12.0, 13.0, 14.0])
    np.testing.assert_array_equal(net.get_flat(), theta)  # copy is deep
    model = nn.from_scratch(net)
    torch_flat = torch.cat([p.detach().ravel() for p in model.parameters()]).numpy()
    np.testing.assert_array_equal(torch_flat, theta)


@pytest.mark.parametrize("init", ["lecun", "lecun_uniform"])
@pytest.mark.parametrize("fan_in", [4, 100, 400])
def test_lecun_init_std(init, fan_in):
    net = scratch.Network.create((fan_in, 500), init=init, seed=1)
    assert net.weights[0].std() == pytest.approx(fan_in**-0.5, rel=0.05)
    np.testing.assert_array_equal(net.biases[0], 0.0)


def test_normal_and_zeros_init_and_scale():
    net = scratch.Network.create((100, 500), init="normal", scale=2.0, seed=1)
    assert net.weights[0].std() == pytest.approx(2.0, rel=0.05)
    net = scratch.Network.create((100, 500), init="lecun", scale=2.0, seed=1)
    assert net.weights[0].std() == pytest.approx(0.2, rel=0.05)
    assert not np.any(scratch.Network.create((3, 2), init="zeros").weights[0])


def test_create_is_seeded():
    a = scratch.Network.create((3, 4, 2), seed=5).get_flat()
    b = scratch.Network.create((3, 4, 2), seed=5).get_flat()
    c = scratch.Network.create((3, 4, 2), seed=6).get_flat()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_integer_labels_equal_one_hot():
    net = scratch.Network.create((2, 3), output_activation="identity", seed=0)
    X = np.random.default_rng(0).normal(size=(4, 2))
    labels = np.array([0, 2, 1, 2])
    onehot = np.eye(3)[labels]
    # bit for bit: the labels become this very one-hot array, so both calls compute the same
    assert net.loss(X, labels, "softmax_ce") == net.loss(X, onehot, "softmax_ce")
    np.testing.assert_array_equal(
        net.gradients(X, labels, "softmax_ce").flat(), net.gradients(X, onehot, "softmax_ce").flat()
    )


# -- fit --------------------------------------------------------------------------------------


def tiny_regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 2))
    T = np.tanh(X @ np.array([[1.0], [-0.5]]))
    return X, T


@pytest.mark.parametrize("batch_size", [None, 1, 8])
def test_fit_decreases_the_loss(batch_size):
    X, T = tiny_regression()
    net = scratch.Network.create((2, 5, 1), seed=0)
    before = net.loss(X, T)
    hist = scratch.fit(net, X, T, eta=0.05, epochs=30, batch_size=batch_size, seed=1)
    assert isinstance(hist, History)
    assert len(hist.train_loss) == 31 and hist.epoch[-1] == 30.0
    assert hist.train_loss[0] == pytest.approx(before)
    assert hist.train_loss[-1] < 0.2 * before
    assert hist.train_loss[-1] == pytest.approx(net.loss(X, T))  # updated in place
    assert not hist.diverged


def test_fit_records_validation_and_grad_norm():
    X, T = tiny_regression()
    net = scratch.Network.create((2, 5, 1), seed=0)
    hist = scratch.fit(net, X[:24], T[:24], eta=0.1, epochs=5, X_val=X[24:], T_val=T[24:])
    assert len(hist.val_loss) == len(hist.grad_norm) == 6
    assert hist.val_loss[-1] == pytest.approx(net.loss(X[24:], T[24:]))


def test_fit_is_reproducible_and_shuffle_matters():
    X, T = tiny_regression()
    runs = []
    for shuffle, seed in [(True, 0), (True, 0), (True, 1), (False, 0)]:
        net = scratch.Network.create((2, 3, 1), seed=0)
        scratch.fit(net, X, T, eta=0.05, epochs=2, batch_size=4, shuffle=shuffle, seed=seed)
        runs.append(net.get_flat())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])
    assert not np.array_equal(runs[0], runs[3])


def test_fit_clipping_bounds_each_step():
    X, T = tiny_regression()
    net = scratch.Network.create((2, 3, 1), seed=0)
    before = net.get_flat()
    scratch.fit(net, X, 100 * T, eta=1.0, epochs=1, clip_norm=0.01, shuffle=False)
    assert np.linalg.norm(net.get_flat() - before) <= 0.01 + 1e-12


def test_fit_raises_on_divergence_with_step_and_cause():
    X, T = tiny_regression()
    net = scratch.Network.create((2, 5, 1), "identity", seed=0)
    with pytest.raises(DivergenceError, match=r"step \d+.*learning rate") as info:
        scratch.fit(net, X, T, eta=1e3, epochs=50)
    assert info.value.step >= 1


def test_fit_can_stop_instead_of_raising():
    X, T = tiny_regression()
    net = scratch.Network.create((2, 5, 1), "identity", seed=0)
    hist = scratch.fit(net, X, T, eta=1e3, epochs=50, on_divergence="stop")
    assert hist.diverged
    assert "step" in hist.message
    assert len(hist.train_loss) < 51


def test_fit_does_not_mutate_caller_arrays():
    W = np.array([[0.5, -0.5]])
    net = scratch.Network([W], [np.zeros(1)], ["identity"])
    X, T = tiny_regression()
    scratch.fit(net, X, T, eta=0.1, epochs=2)
    np.testing.assert_array_equal(W, [[0.5, -0.5]])
    assert not np.array_equal(net.weights[0], W)


def test_loss_value_and_delta_refuse_shapes_that_would_broadcast():
    z = np.zeros((4, 1))
    flat_T = np.ones(4)  # (4,) against (4, 1) would broadcast to (4, 4): 4 x the loss
    with pytest.raises(ValueError, match=r"^T must have the shape of z_out \(4, 1\)"):
        scratch.loss_value("mse", z, z, flat_T)
    with pytest.raises(ValueError, match=r"^T must have the shape of z_out \(4, 1\)"):
        scratch.loss_delta("mse", z, z, flat_T, "identity")
    with pytest.raises(ValueError, match=r"^a_out must have the shape of z_out"):
        scratch.loss_value("mse", z, np.zeros((4, 2)), np.ones((4, 1)))
    # ½ (0 - 1)^2 averaged over 4 patterns: exact binary fractions, no rounding
    assert scratch.loss_value("mse", z, z, flat_T[:, None]) == 0.5
    # T (and z_out, a_out) are converted once, naming the argument; a list still works
    assert scratch.loss_value("mse", z, z, [[1.0]] * 4) == 0.5
    with pytest.raises(TypeError, match=r"^T must be an array of real numbers"):
        scratch.loss_delta("mse", z, z, np.ones((4, 1), dtype=object), "identity")
    with pytest.raises(TypeError, match=r"^a_out must be an array of real numbers"):
        scratch.loss_value("mse", z, z.astype(complex), np.ones((4, 1)))
    with pytest.raises(ValueError, match=r"^T_val must be a rectangular array"):
        scratch.prepare_targets("mse", [[1.0], []], 2, 1, name="T_val")


def test_empty_batches_are_refused_not_0_over_0():
    net = scratch.Network.create((2, 3, 1), seed=0)
    empty = np.zeros((0, 2))
    with pytest.raises(ValueError, match=r"^X must contain at least one pattern"):
        net.loss(empty, np.zeros((0, 1)))
    with pytest.raises(ValueError, match=r"^X must contain at least one pattern"):
        net.gradients(empty, np.zeros((0, 1)))
    with pytest.raises(ValueError, match=r"^z_out must hold at least one pattern"):
        scratch.loss_value("mse", np.zeros((0, 1)), np.zeros((0, 1)), np.zeros((0, 1)))
    with pytest.raises(ValueError, match=r"^X_val must contain at least one pattern"):
        scratch.fit(net, np.ones((3, 2)), np.ones(3), eta=0.1, epochs=1,
                    X_val=empty, T_val=np.zeros(0))  # fmt: skip
