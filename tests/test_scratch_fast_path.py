"""The unchecked inner path of ebp.scratch.fit gives what the checked public functions give."""

from __future__ import annotations

import numpy as np
import pytest

from ebp import scratch
from ebp.history import DivergenceError, History, check_divergence

HIDDEN = ["logistic", "tanh", "lecun_tanh", "relu", "identity"]
CASES = [
    ("mse", "lecun_tanh", "identity"),
    ("mse", "tanh", "tanh"),
    ("mse", "logistic", "lecun_tanh"),
    ("mse", "relu", "logistic"),
    ("bce", "lecun_tanh", "logistic"),
    ("softmax_ce", "tanh", "identity"),
]


def _targets(loss: str, rng: np.random.Generator, P: int, n_out: int) -> np.ndarray:
    if loss == "mse":
        return 3.0 * rng.normal(size=(P, n_out))
    if loss == "bce":
        return rng.uniform(size=(P, n_out))
    return rng.integers(0, n_out, size=P)


def _close(a: np.ndarray, b: np.ndarray) -> None:
    np.testing.assert_allclose(a, b, rtol=1e-14, atol=0.0)


@pytest.mark.parametrize("name", HIDDEN)
def test_act_and_prime_equals_f_and_df(name):
    z = np.linspace(-30.0, 30.0, 301).reshape(7, 43)
    f, df = scratch._act_and_prime(name, z)
    act = scratch.get_activation(name)
    _close(f, act.f(z))
    _close(df, act.df(z))


@pytest.mark.parametrize(("loss", "hidden", "out"), CASES)
def test_unchecked_forward_backward_equal_the_public_ones(loss, hidden, out):
    rng = np.random.default_rng(0)
    net = scratch.Network.create((3, 6, 4, 2), hidden, out, seed=1)
    net.biases = [0.3 * rng.normal(size=b.shape) for b in net.biases]
    X = 2.0 * rng.normal(size=(9, 3))
    T = scratch.prepare_targets(loss, _targets(loss, rng, 9, 2), 9, 2)
    fw = net.forward(X)
    fast, primes = scratch._forward_unchecked(net, X, primes=True)
    plain, none = scratch._forward_unchecked(net, X, primes=False)
    assert none == [] and len(primes) == net.n_layers
    for got in (fast, plain):
        for a, b in zip(got.z + got.a, fw.z + fw.a, strict=True):
            _close(a, b)
    value = scratch._loss_value_unchecked(loss, fast.z[-1], fast.a[-1], T, 9)
    assert value == pytest.approx(scratch.loss_value(loss, fw.z[-1], fw.a[-1], T), rel=1e-14)
    g, g_fast = net.backward(fw, T, loss), scratch._backward_unchecked(net, fast, primes, T, loss)
    for a, b in zip(g_fast.dW + g_fast.db + g_fast.delta, g.dW + g.db + g.delta, strict=True):
        _close(a, b)


def _reference_fit(net, X, T, loss, eta, epochs, batch_size, clip_norm, seed, X_val, T_val):
    """ebp.scratch.fit written with the checked public functions (its code before the fast
    path), stopping at divergence."""
    rng, hist = np.random.default_rng(seed), History()
    T = scratch.prepare_targets(loss, T, X.shape[0], net.sizes[-1])
    P = X.shape[0]

    def record(n: int) -> float:
        fw = net.forward(X)
        value = scratch.loss_value(loss, fw.z[-1], fw.a[-1], T)
        norm = net.backward(fw, T, loss).norm()
        val = net.loss(X_val, T_val, loss)
        hist.record(presentations=n, n_train=P, train_loss=value, val_loss=val, grad_norm=norm)
        return value

    initial, step = record(0), 0
    with np.errstate(all="ignore"):
        for epoch in range(epochs):
            order = rng.permutation(P)
            for start in range(0, P, batch_size):
                idx = order[start : start + batch_size]
                fw = net.forward(X[idx])
                value = scratch.loss_value(loss, fw.z[-1], fw.a[-1], T[idx])
                if step > 0 and check_divergence(
                    value, step=step, initial_loss=initial, eta=eta, loss_name=loss
                ):
                    return hist, step
                scratch._sgd_step(net, net.backward(fw, T[idx], loss), eta, clip_norm)
                step += 1
            record((epoch + 1) * P)
    return hist, None


@pytest.mark.parametrize(("loss", "hidden", "out"), CASES)
@pytest.mark.parametrize(("eta", "clip_norm"), [(0.02, None), (0.05, 0.5)])
def test_fit_equals_the_checked_loop(loss, hidden, out, eta, clip_norm):
    rng = np.random.default_rng(2)
    X, X_val = 2.0 * rng.normal(size=(40, 3)), rng.normal(size=(15, 3))
    T, T_val = _targets(loss, rng, 40, 2), _targets(loss, rng, 15, 2)
    args = dict(loss=loss, eta=eta, epochs=6, batch_size=7, clip_norm=clip_norm, seed=3)
    nets = [scratch.Network.create((3, 6, 4, 2), hidden, out, seed=4) for _ in range(2)]
    hist = scratch.fit(nets[0], X, T, X_val=X_val, T_val=T_val, **args)
    ref, _ = _reference_fit(nets[1], X, T, X_val=X_val, T_val=T_val, **args)
    assert len(hist.train_loss) == len(ref.train_loss) == 7
    for col in ("train_loss", "val_loss", "grad_norm", "epoch"):
        _close(np.asarray(getattr(hist, col)), np.asarray(getattr(ref, col)))
    for a, b in zip(
        nets[0].weights + nets[0].biases, nets[1].weights + nets[1].biases, strict=True
    ):
        _close(a, b)


def test_fit_diverges_at_the_step_of_the_checked_loop():
    rng = np.random.default_rng(5)
    X, T = 5.0 * rng.normal(size=(40, 2)), 100.0 * rng.normal(size=(40, 1))
    args = dict(loss="mse", eta=0.3, epochs=20, batch_size=5, clip_norm=None, seed=0)
    nets = [scratch.Network.create((2, 8, 1), "lecun_tanh", seed=0) for _ in range(2)]
    with pytest.raises(DivergenceError) as info:
        scratch.fit(nets[0], X, T, X_val=X, T_val=T, **args)
    _, step = _reference_fit(nets[1], X, T, X_val=X, T_val=T, **args)
    assert step is not None and info.value.step == step
