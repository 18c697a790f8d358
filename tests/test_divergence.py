"""One divergence rule for every loss and every training loop (ebp.history.check_divergence).

Cross-entropy and BCE on logits grow linearly with the output scale, the squared error with its
square, so a rule tuned to the squared error (1e6 times the start) let a cross-entropy run that
went from 1 to 4e3 through as "trained".  These tests hold fit, fit_many, scratch.fit and
SDLM to the same rule: non-finite losses or weights, or growth past what a 1e3-fold growth of
the outputs gives for that loss; and the history keeps only finite rows.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from ebp import nn as ebp_nn
from ebp import scratch, train
from ebp.history import DivergenceError, blowup_factor, check_divergence
from ebp.many import fit_many
from ebp.optim import SDLM
from ebp.repro import single_threaded


@pytest.fixture(autouse=True)
def _one_thread():
    with single_threaded():
        yield


def classes(P: int = 40, n_in: int = 4, K: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((P, n_in)), rng.integers(0, K, P)


def net(sizes=(4, 8, 3), seed: int = 0) -> nn.Module:
    return ebp_nn.mlp(sizes, "lecun_tanh", seed=seed, dtype=torch.float64)


def assert_finite_history(h) -> None:
    for column in (h.train_loss, h.grad_norm, h.val_loss):
        assert all(math.isfinite(v) for v in column), column
    assert len(h.train_loss) == len(h.epoch) == len(h.presentations) == len(h.grad_norm)


# ---------------------------------------------------------------------------------------------
# The rule
# ---------------------------------------------------------------------------------------------


def test_blowup_follows_how_each_loss_grows_with_the_outputs():
    assert blowup_factor("mse") == 1e6  # squared error: (1e3)^2
    assert blowup_factor(None) == 1e6  # a callable: never stricter than the squared error
    for name in ("cross_entropy", "softmax_ce", "bce"):
        assert blowup_factor(name) == 1e3  # linear in the logits
    with pytest.raises(ValueError, match=r"^loss must be one of"):
        blowup_factor("hinge")
    for bad in (["mse"], {"mse": 1}, 3):  # a list would be unhashable: a TypeError naming loss
        with pytest.raises(TypeError, match=r"^loss must be a loss name"):
            blowup_factor(bad)


def test_check_divergence_thresholds():
    # the squared error's rule is unchanged: 1e6 x (start + 1)
    assert check_divergence(1.9e6, step=3, initial_loss=1.0) is None
    assert "step 3" in check_divergence(2.1e6, step=3, initial_loss=1.0)
    # cross-entropy: 1e3 x (start + 1); a 1.37 -> 39120 run is diverged
    msg = check_divergence(39120.0, step=2, initial_loss=1.37, eta=1e4, loss_name="cross_entropy")
    assert msg is not None and "step 2" in msg and "3.912e+04" in msg and "eta = 10000" in msg
    assert check_divergence(2000.0, step=2, initial_loss=1.37, loss_name="bce") is None
    # non-finite, whatever the loss
    for name in ("mse", "cross_entropy", "bce", None):
        assert "nan" in check_divergence(math.nan, step=1, initial_loss=1.0, loss_name=name)
        assert "inf" in check_divergence(math.inf, step=1, initial_loss=1.0, loss_name=name)
    # an explicit blowup still wins
    assert check_divergence(11.0, step=1, initial_loss=0.0, blowup=10.0) is not None


# ---------------------------------------------------------------------------------------------
# Cross-entropy and BCE blow-ups are caught by every loop
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["cross_entropy", "bce"])
def test_fit_detects_a_cross_entropy_blowup(loss):
    X, labels = classes()
    y, sizes = (labels, (4, 8, 3)) if loss == "cross_entropy" else ((labels > 0) * 1.0, (4, 8, 1))
    with pytest.raises(DivergenceError, match=r"step \d+.*eta = 10000") as info:
        train.fit(net(sizes), X, y, loss=loss, eta=1e4, epochs=20)
    assert info.value.step >= 1 and info.value.loss > 1e3
    h = train.fit(net(sizes), X, y, loss=loss, eta=1e4, epochs=20, on_divergence="stop")
    assert h.diverged and h.step >= 1 and "Likely cause" in h.message
    assert_finite_history(h)


def test_fit_many_detects_it_as_fit_does():
    X, y = classes()
    models = [net(seed=s) for s in (0, 1)]
    result = fit_many(models, X, y, loss="cross_entropy", eta=[0.1, 1e4], epochs=5, batch_size=8)
    assert list(result.diverged) == [False, True]
    alone = train.fit(
        net(seed=1), X, y, loss="cross_entropy", eta=1e4, epochs=5, batch_size=8,
        on_divergence="stop",
    )  # fmt: skip
    assert alone.diverged and result.histories[1].step == alone.step
    assert result.histories[1].epoch == alone.epoch
    assert_finite_history(result.histories[1])


def test_scratch_fit_detects_a_softmax_blowup():
    X, y = classes()
    network = scratch.Network.create((4, 8, 3), seed=0)
    h = scratch.fit(network, X, y, loss="softmax_ce", eta=1e4, epochs=20, on_divergence="stop")
    assert h.diverged and h.step >= 1
    assert_finite_history(h)


@pytest.mark.parametrize("loss", ["cross_entropy", "bce", "mse"])
def test_a_run_that_trains_is_not_flagged(loss):
    X, labels = classes(P=60)
    y, sizes = (labels, (4, 8, 3)) if loss == "cross_entropy" else ((labels > 0) * 1.0, (4, 8, 1))
    h = train.fit(net(sizes), X, y, loss=loss, eta=0.5, epochs=30, batch_size=10)
    assert not h.diverged and h.train_loss[-1] < h.train_loss[0]


# ---------------------------------------------------------------------------------------------
# Only finite rows, in every loop
# ---------------------------------------------------------------------------------------------


def test_scratch_stop_keeps_only_the_finite_rows_like_fit():
    # full batch: every check after an update is the record after an epoch, so the diverged
    # epoch would be the last row if the loop recorded it before checking
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 2))
    T = rng.standard_normal((20, 1))
    network = scratch.Network.create((2, 4, 1), activation="relu", seed=0)
    h = scratch.fit(network, X, T, eta=50.0, epochs=50, on_divergence="stop")
    assert h.diverged and h.step is not None and h.message
    assert_finite_history(h)
    assert max(h.train_loss) <= blowup_factor("mse") * (h.train_loss[0] + 1.0)
    assert len(h.train_loss) == h.step  # rows before training and after steps 1..step-1


# ---------------------------------------------------------------------------------------------
# SDLM: a step never writes non-finite weights
# ---------------------------------------------------------------------------------------------


def _sdlm_problem():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(20, 2, generator=g)
    return X, torch.randn(20, 1, generator=g) * 10


def test_sdlm_in_a_users_loop_raises_and_keeps_the_weights():
    X, y = _sdlm_problem()
    torch.manual_seed(0)
    model = nn.Linear(2, 1)  # float32: eps = 1e4 overflows it within a few steps
    opt = SDLM(model.parameters(), eps=1e4, mu=0.01)
    opt.update_curvature(model, "mse", X, y)
    with pytest.raises(DivergenceError, match=r"step \d+: SDLM.*non-finite.*eps") as info:
        for _ in range(100):
            opt.zero_grad()
            train.mse_loss(model(X), y).backward()
            before = [p.detach().clone() for p in model.parameters()]
            opt.step()
    assert info.value.step == opt.n_steps + 1
    for p, q in zip(model.parameters(), before, strict=True):
        assert torch.isfinite(p).all()
        assert torch.equal(p, q)  # untouched: the very same values, not a recomputation


def test_fit_with_sdlm_stops_on_a_step_that_would_make_weights_non_finite():
    X, y = _sdlm_problem()
    torch.manual_seed(0)
    model = nn.Linear(2, 1)
    start = [p.detach().clone() for p in model.parameters()]
    h = train.fit(
        model, X, y, eta=3e38, epochs=3, on_divergence="stop",
        optimizer=lambda ps: SDLM(ps, mu=1e-3, model=model, data=(X, y)),
    )  # fmt: skip
    assert h.diverged and h.step == 1 and "non-finite" in h.message
    for p, q in zip(model.parameters(), start, strict=True):
        assert torch.equal(p, q)  # the refused first step left the weights as they were
