"""ebp.train: losses, the SGD loop, divergence, reproducibility, early stopping."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ebp import data, scratch, train
from ebp import nn as ebp_nn
from ebp.history import DivergenceError, History


@pytest.fixture(autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def bowl(n: int = 64):
    X, z = data.quadratic_bowl(n, seed=0)
    return X, z


def small_net(seed: int = 0, sizes=(2, 8, 1), out=None, dtype=torch.float64):
    return ebp_nn.mlp(sizes, "lecun_tanh", out, seed=seed, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------------


def test_mse_has_the_half_and_averages_over_patterns_only():
    o = torch.tensor([[1.0, 2.0], [0.0, -1.0], [3.0, 3.0]])
    d = torch.zeros(3, 2)
    expected = (0.5 * (1 + 4) + 0.5 * (0 + 1) + 0.5 * (9 + 9)) / 3
    assert float(train.mse_loss(o, d)) == pytest.approx(expected)
    # torch's mse_loss averages over all P·K entries and has no ½
    o4, d4 = torch.arange(12.0).reshape(3, 4), torch.ones(3, 4)
    K = o4.shape[1]
    assert float(train.mse_loss(o4, d4)) == pytest.approx(float(F.mse_loss(o4, d4)) * K / 2)


def test_losses_match_ebp_scratch():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(7, 4))
    T_real = rng.normal(size=(7, 4))
    T_prob = rng.uniform(size=(7, 4))
    labels = rng.integers(0, 4, size=7)
    onehot = np.eye(4)[labels]
    t = torch.as_tensor
    sig = 1 / (1 + np.exp(-Z))
    assert float(train.mse_loss(t(Z), t(T_real))) == pytest.approx(
        scratch.loss_value("mse", Z, Z, T_real)
    )
    assert float(train.bce_loss(t(Z), t(T_prob))) == pytest.approx(
        scratch.loss_value("bce", Z, sig, T_prob)
    )
    ce_ref = scratch.loss_value("softmax_ce", Z, Z, onehot)
    assert float(train.cross_entropy_loss(t(Z), t(labels))) == pytest.approx(ce_ref)
    assert float(train.cross_entropy_loss(t(Z), t(onehot))) == pytest.approx(ce_ref)


def test_get_loss_names_and_callables():
    assert train.get_loss("softmax_ce") is train.cross_entropy_loss
    fn = lambda o, d: (o - d).abs().mean()  # noqa: E731
    assert train.get_loss(fn) is fn
    with pytest.raises(ValueError, match="loss"):
        train.get_loss("l2")


# ---------------------------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------------------------


def test_fit_lowers_the_loss_and_records_every_epoch():
    X, z = bowl()
    model = small_net()
    h = train.fit(model, X, z, eta=0.05, epochs=20, batch_size=8)
    assert isinstance(h, History)
    assert len(h.train_loss) == 21 and h.epoch == [float(e) for e in range(21)]
    assert h.presentations[-1] == 20 * 64
    assert len(h.grad_norm) == 21
    assert h.train_loss[-1] < 0.5 * h.train_loss[0]
    assert not h.diverged
    # the recorded loss is the loss over the whole training set
    assert h.train_loss[-1] == pytest.approx(train.evaluate(model, X, z, "mse"))


def test_fit_matches_a_hand_written_full_batch_step():
    X, z = bowl(16)
    model = small_net()
    reference = small_net()
    train.fit(model, X, z, eta=0.1, epochs=1, shuffle=False)
    Xt, zt = torch.as_tensor(X), torch.as_tensor(z)
    loss = 0.5 * ((reference(Xt) - zt) ** 2).sum() / 16
    grads = torch.autograd.grad(loss, list(reference.parameters()))
    for p, p_ref, g in zip(model.parameters(), reference.parameters(), grads, strict=True):
        torch.testing.assert_close(p, p_ref - 0.1 * g)


def test_fit_records_gradient_norm_of_the_full_training_loss():
    X, z = bowl(32)
    model = small_net()
    h = train.fit(model, X, z, eta=0.01, epochs=1)
    fresh = small_net()
    loss = train.mse_loss(fresh(torch.as_tensor(X)), torch.as_tensor(z))
    grads = torch.autograd.grad(loss, list(fresh.parameters()))
    norm = float(torch.sqrt(sum((g**2).sum() for g in grads)))
    assert h.grad_norm[0] == pytest.approx(norm)


def test_fit_with_validation_set_and_cross_entropy():
    s = data.digits(n_train=100, n_val=100, seed=0)
    model = ebp_nn.mlp((64, 16, 10), seed=0)
    h = train.fit(
        model,
        s.X_train,
        s.y_train,
        loss="cross_entropy",
        eta=0.2,
        epochs=10,
        batch_size=10,
        X_val=s.X_val,
        y_val=s.y_val,
    )
    assert len(h.val_loss) == 11
    assert h.val_loss[-1] < h.val_loss[0]
    assert h.val_loss[-1] == pytest.approx(
        train.evaluate(model, s.X_val, s.y_val, "cross_entropy"), rel=1e-5
    )
    acc = np.mean(train.predict_classes(model, s.X_val) == s.y_val)
    assert acc > 0.6


def test_fit_accepts_bce_momentum_weight_decay_and_clipping():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(float)
    model = ebp_nn.mlp((3, 5, 1), seed=1, dtype=torch.float64)
    h = train.fit(
        model,
        X,
        y,
        loss="bce",
        eta=0.3,
        epochs=15,
        batch_size=6,
        momentum=0.5,
        weight_decay=1e-4,
        clip_norm=1.0,
        clip_value=0.5,
    )
    assert h.train_loss[-1] < h.train_loss[0]
    assert np.mean(train.predict_classes(model, X) == y) > 0.85


def test_huge_learning_rate_raises_divergence_error_naming_the_step():
    X, z = bowl()
    model = small_net(sizes=(2, 8, 1))
    with pytest.raises(DivergenceError, match=r"step \d+") as info:
        train.fit(model, X * 100, z * 100, eta=1e3, epochs=50, batch_size=4)
    err = info.value
    assert err.step >= 1
    assert f"step {err.step}" in str(err)
    assert "eta = 1000" in str(err)


def test_on_divergence_stop_reports_diverged_and_keeps_finite_history():
    X, z = bowl()
    model = small_net()
    h = train.fit(model, X * 100, z * 100, eta=1e3, epochs=50, batch_size=4, on_divergence="stop")
    assert h.diverged
    assert h.message is not None and "diverged" in h.message
    assert len(h.train_loss) < 51
    assert all(math.isfinite(v) for v in h.train_loss)


def test_fit_does_not_touch_global_rng_state():
    X, z = bowl()
    torch_state = torch.get_rng_state()
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002
    py_state = random.getstate()
    train.fit(small_net(), X, z, eta=0.05, epochs=3, batch_size=5, shuffle=True, seed=3)
    assert torch.equal(torch.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    assert random.getstate() == py_state


def test_same_seed_same_history_different_seed_different_history():
    X, z = bowl()
    runs = [
        train.fit(small_net(), X, z, eta=0.05, epochs=5, batch_size=4, seed=s).train_loss
        for s in (1, 1, 2)
    ]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_shuffle_false_is_independent_of_the_seed():
    X, z = bowl()
    a = train.fit(small_net(), X, z, eta=0.05, epochs=3, batch_size=4, shuffle=False, seed=1)
    b = train.fit(small_net(), X, z, eta=0.05, epochs=3, batch_size=4, shuffle=False, seed=2)
    assert a.train_loss == b.train_loss


def test_callback_sees_every_epoch_and_can_stop():
    X, z = bowl()
    seen = []

    def callback(epoch, model, history):
        seen.append((epoch, len(history.train_loss)))
        return epoch == 3

    h = train.fit(small_net(), X, z, eta=0.05, epochs=10, callback=callback)
    assert seen == [(1, 2), (2, 3), (3, 4)]
    assert len(h.train_loss) == 4


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"eta": 0.0}, ValueError, "eta"),
        ({"eta": -1.0}, ValueError, "eta"),
        ({"eta": True}, TypeError, "eta"),
        ({"epochs": 0}, ValueError, "epochs"),
        ({"epochs": 2.5}, TypeError, "epochs"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": 1000}, ValueError, "batch_size"),
        ({"momentum": 1.0}, ValueError, "momentum"),
        ({"weight_decay": -0.1}, ValueError, "weight_decay"),
        ({"clip_norm": 0.0}, ValueError, "clip_norm"),
        ({"clip_value": -1.0}, ValueError, "clip_value"),
        ({"shuffle": 1}, TypeError, "shuffle"),
        ({"seed": -3}, ValueError, "seed"),
        ({"loss": "l1"}, ValueError, "loss"),
        ({"on_divergence": "ignore"}, ValueError, "on_divergence"),
        ({"X_val": np.zeros((3, 2))}, ValueError, "X_val"),
        ({"X_val": np.zeros((3, 2)), "y_val": np.zeros((3, 2))}, ValueError, "y_val"),
        ({"callback": 3}, TypeError, "callback"),
    ],
)
def test_fit_bad_input_names_the_argument(kwargs, exc, name):
    X, z = bowl(16)
    kw = {"eta": 0.1, "epochs": 1, **kwargs}
    with pytest.raises(exc, match=name):
        train.fit(small_net(), X, z, **kw)


def test_fit_bad_data_names_the_argument():
    X, z = bowl(16)
    with pytest.raises(TypeError, match="model"):
        train.fit("net", X, z, eta=0.1, epochs=1)
    with pytest.raises(ValueError, match="X"):
        train.fit(small_net(), X[:, :1].ravel(), z, eta=0.1, epochs=1)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="X"):
        train.fit(small_net(), bad, z, eta=0.1, epochs=1)
    with pytest.raises(ValueError, match="y"):
        train.fit(small_net(), X, z[:10], eta=0.1, epochs=1)
    with pytest.raises(ValueError, match="y"):
        train.fit(small_net(), X, np.zeros((16, 3)), eta=0.1, epochs=1)
    net10 = ebp_nn.mlp((2, 4, 10), seed=0)
    with pytest.raises(ValueError, match="y"):
        train.fit(net10, X, np.full(16, 12), loss="cross_entropy", eta=0.1, epochs=1)
    with pytest.raises(TypeError, match="y"):
        train.fit(net10, X, np.full(16, 1.0), loss="cross_entropy", eta=0.1, epochs=1)
    with pytest.raises(ValueError, match="y"):
        train.fit(small_net(), X, np.full(16, 2.0), loss="bce", eta=0.1, epochs=1)


# ---------------------------------------------------------------------------------------------
# evaluate, predict_classes
# ---------------------------------------------------------------------------------------------


def test_predict_classes_argmax_and_single_output_threshold():
    model = torch.nn.Linear(2, 3, bias=False, dtype=torch.float64)
    with torch.no_grad():
        model.weight.copy_(torch.eye(3, 2, dtype=torch.float64))
    X = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, -1.0]])
    np.testing.assert_array_equal(train.predict_classes(model, X), [0, 1, 2])
    single = torch.nn.Linear(2, 1, bias=False, dtype=torch.float64)
    with torch.no_grad():
        single.weight.copy_(torch.tensor([[1.0, 0.0]]))
    np.testing.assert_array_equal(train.predict_classes(single, X), [1, 0, 0])


def test_evaluate_does_not_build_a_graph_or_change_the_model():
    X, z = bowl(16)
    model = small_net()
    before = [p.detach().clone() for p in model.parameters()]
    value = train.evaluate(model, X, z, "mse")
    assert isinstance(value, float)
    for p, q in zip(model.parameters(), before, strict=True):
        assert torch.equal(p, q) and p.grad is None


# ---------------------------------------------------------------------------------------------
# Early stopping
# ---------------------------------------------------------------------------------------------


def history_with_val(values):
    h = History()
    for i, v in enumerate(values):
        h.record(presentations=10 * i, n_train=10, train_loss=1.0, val_loss=v)
    return h


def test_early_stopping_patience_rule():
    h = history_with_val([5, 4, 3, 3.5, 3.2, 2.9, 3.0, 3.1, 3.3, 2.0])
    rule = train.early_stopping_epoch(h, patience=3)
    assert rule.stop_epoch == 8.0 and rule.stopped
    assert rule.restore_epoch == 5.0
    assert rule.best_epoch == 9.0 and rule.best_val_loss == 2.0
    never = train.early_stopping_epoch(h, patience=10)
    assert not never.stopped and never.stop_epoch == 9.0 and never.restore_epoch == 9.0


def test_early_stopping_min_delta():
    h = history_with_val([1.0, 0.99, 0.98, 0.97, 0.5])
    assert train.early_stopping_epoch(h, 2).stop_epoch == 4.0
    rule = train.early_stopping_epoch(h, 2, min_delta=0.05)
    assert rule.stop_epoch == 2.0 and rule.restore_epoch == 2.0


def test_early_stopping_bad_input():
    with pytest.raises(ValueError, match="history"):
        train.early_stopping_epoch(History(), 3)
    with pytest.raises(TypeError, match="history"):
        train.early_stopping_epoch([1, 2], 3)
    with pytest.raises(ValueError, match="patience"):
        train.early_stopping_epoch(history_with_val([1.0, 2.0]), 0)
