"""ebp.many.fit_many: K models at once give what K calls of ebp.train.fit give."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from ebp import data, train
from ebp import nn as ebp_nn
from ebp.history import DivergenceError
from ebp.many import ManyHistory, batched_loss, fit_many
from ebp.optim import per_layer_rates
from ebp.presentation import Emphasis
from ebp.repro import single_threaded
from ebp.schedules import Constant, InverseTime, StepDecay

RTOL = 1e-10


@pytest.fixture(autouse=True)
def _one_thread():
    with single_threaded():
        yield


def bowl(n: int = 48):
    X, z = data.quadratic_bowl(n, seed=0)
    return X, z


def nets(seeds=(0, 1, 2), sizes=(2, 6, 1), dtype=torch.float64):
    return [ebp_nn.mlp(sizes, "lecun_tanh", seed=s, dtype=dtype) for s in seeds]


def flat(model: nn.Module) -> np.ndarray:
    with torch.no_grad():
        return torch.cat([p.flatten() for p in model.parameters()]).numpy().copy()


def single_runs(models, X, y, etas, momenta=None, seeds=None, **kwargs):
    """The reference: ebp.train.fit on a copy of each model, one after the other."""
    K = len(models)
    momenta = momenta if momenta is not None else [0.0] * K
    seeds = seeds if seeds is not None else [0] * K
    out = []
    for model, eta, mu, seed in zip(models, etas, momenta, seeds, strict=True):
        model = copy.deepcopy(model)
        history = train.fit(model, X, y, eta=eta, momentum=mu, seed=seed, **kwargs)
        out.append((history, model))
    return out


def close(a, b, what):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape, what
    scale = max(np.max(np.abs(b), initial=0.0), 1e-300)
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=RTOL * scale * 1e-3, err_msg=what)


def assert_matches(result: ManyHistory, reference) -> None:
    assert len(result) == len(reference)
    for k, (history, model) in enumerate(reference):
        mine = result.histories[k]
        assert mine.epoch == history.epoch, k
        assert mine.presentations == history.presentations, k
        close(mine.train_loss, history.train_loss, f"train_loss of model {k}")
        close(mine.val_loss, history.val_loss, f"val_loss of model {k}")
        close(mine.grad_norm, history.grad_norm, f"grad_norm of model {k}")
        assert mine.diverged == history.diverged, k
        assert mine.step == history.step, k
        assert mine.message == history.message, k
        close(mine.eta, history.eta, f"eta of model {k}")
        assert len(mine.weights) == len(history.weights), k
        for i, (w, v) in enumerate(zip(mine.weights, history.weights, strict=True)):
            close(w, v, f"weights of model {k} at record {i}")
        for (name, p), q in zip(
            model.named_parameters(), result.models[k].parameters(), strict=True
        ):
            close(q.detach(), p.detach(), f"final {name} of model {k}")


# ---------------------------------------------------------------------------------------------
# Equivalence with a loop of ebp.train.fit (float64, 1e-10 relative)
# ---------------------------------------------------------------------------------------------


def test_models_differing_in_seed_full_batch_with_validation():
    X, z = bowl()
    X_val, z_val = data.quadratic_bowl(20, seed=1)
    models = nets(seeds=(0, 1, 2, 3))
    kwargs = dict(epochs=12, X_val=X_val, y_val=z_val)
    result = fit_many(models, X, z, eta=0.05, **kwargs)
    assert_matches(result, single_runs(models, X, z, [0.05] * 4, **kwargs))
    assert result.train_loss.shape == (4, 13)
    assert result.val_loss.shape == (4, 13)
    assert np.array_equal(result.epoch, np.arange(13.0))
    assert not result.diverged.any()


def test_models_differing_in_eta_mini_batch():
    X, z = bowl()
    models = nets(seeds=(0, 0, 0))
    etas = [0.005, 0.02, 0.08]
    kwargs = dict(epochs=4, batch_size=10)  # 48 patterns: the last batch has 8
    result = fit_many(models, X, z, eta=etas, **kwargs)
    assert_matches(result, single_runs(models, X, z, etas, **kwargs))
    np.testing.assert_array_equal(result.eta, etas)
    assert result.val_loss is None  # no validation set
    assert result[2] is result.histories[2]


def test_models_differing_in_momentum_with_clipping_and_online_steps():
    X, z = bowl(24)
    models = nets(seeds=(3, 4, 5))
    momenta = [0.0, 0.5, 0.9]
    kwargs = dict(epochs=3, batch_size=1, clip_norm=0.5)
    result = fit_many(models, X, z, eta=0.02, momentum=momenta, **kwargs)
    assert_matches(result, single_runs(models, X, z, [0.02] * 3, momenta=momenta, **kwargs))


@pytest.mark.parametrize("batch_size", [None, 12])
def test_momentum_and_clipping_full_and_mini_batch(batch_size):
    X, z = bowl()
    models = nets(seeds=(0, 1))
    kwargs = dict(epochs=6, batch_size=batch_size, clip_norm=1.0, shuffle=False)
    result = fit_many(models, X, z, eta=[0.03, 0.01], momentum=0.8, **kwargs)
    reference = single_runs(models, X, z, [0.03, 0.01], momenta=[0.8, 0.8], **kwargs)
    assert_matches(result, reference)


def test_one_shuffling_seed_per_model():
    X, z = bowl()
    models = nets(seeds=(0, 0, 0))
    kwargs = dict(epochs=3, batch_size=16)
    result = fit_many(models, X, z, eta=0.05, seed=[0, 1, 7], **kwargs)
    reference = single_runs(models, X, z, [0.05] * 3, seeds=[0, 1, 7], **kwargs)
    assert_matches(result, reference)
    # the same start and the same eta: only the order differs, and it shows
    assert result.train_loss[0, -1] != result.train_loss[1, -1]


def test_cross_entropy_on_digits():
    split = data.digits(n_train=60, n_val=30)
    models = [ebp_nn.mlp((64, 8, 10), seed=s, dtype=torch.float64) for s in range(3)]
    kwargs = dict(loss="cross_entropy", epochs=3, batch_size=20, X_val=split.X_val)
    kwargs["y_val"] = split.y_val
    result = fit_many(models, split.X_train, split.y_train, eta=[0.1, 0.3, 1.0], **kwargs)
    reference = single_runs(models, split.X_train, split.y_train, [0.1, 0.3, 1.0], **kwargs)
    assert_matches(result, reference)


class Residual(nn.Module):
    """Not an MLP: a skip connection, a fixed (non-trainable) scale and a buffer."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.inner = nn.Linear(2, 2, dtype=torch.float64)
        self.out = nn.Linear(2, 1, dtype=torch.float64)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * 0.5)
        self.scale = nn.Parameter(torch.tensor(0.7, dtype=torch.float64), requires_grad=False)
        self.register_buffer("shift", torch.tensor([0.1, -0.2], dtype=torch.float64))

    def forward(self, x):
        return self.out(x + self.scale * torch.tanh(self.inner(x + self.shift)))


def test_any_module_architecture():
    X, z = bowl()
    models = [Residual(s) for s in range(3)]
    kwargs = dict(epochs=5, batch_size=16, momentum=0.5)
    result = fit_many(models, X, z, eta=0.02, **kwargs)
    reference = single_runs(models, X, z, [0.02] * 3, momenta=[0.5] * 3, epochs=5, batch_size=16)
    assert_matches(result, reference)
    for m in result.models:  # the frozen parameter stayed frozen
        assert float(m.scale) == 0.7


def test_inputs_are_not_modified_and_copies_are_returned():
    X, z = bowl()
    models = nets()
    before = [flat(m) for m in models]
    result = fit_many(models, X, z, eta=0.05, epochs=2)
    for m, b, trained in zip(models, before, result.models, strict=True):
        np.testing.assert_array_equal(flat(m), b)
        assert trained is not m
        assert not np.array_equal(flat(trained), b)


# ---------------------------------------------------------------------------------------------
# Schedules and records every k presentations (as fit)
# ---------------------------------------------------------------------------------------------


def test_record_every_and_a_schedule_per_model_mini_batch():
    X, z = bowl(24)
    models = nets(seeds=(0, 1, 2, 3))
    etas = [InverseTime(0.05, 10), StepDecay(0.08, 0.5, 7), 0.03, lambda t: 0.04 / (1 + t) ** 0.5]
    kwargs = dict(epochs=3, batch_size=5, record_every=7)
    result = fit_many(models, X, z, eta=etas, momentum=0.5, **kwargs)
    reference = single_runs(models, X, z, etas, momenta=[0.5] * 4, **kwargs)
    assert_matches(result, reference)
    # 24 patterns in batches of 5: records at 10, 15, 25, 35, ... as well as at epoch ends
    assert result.histories[0].presentations[:4] == [0, 10, 15, 24]
    assert len(result.histories[0].eta) == len(result.histories[0].presentations)
    assert result.histories[2].eta == []  # a constant rate is not recorded, as in fit
    np.testing.assert_array_equal(result.eta, [0.05, 0.08, 0.03, 0.04])
    np.testing.assert_array_equal(result.presentations, result.histories[0].presentations)


@pytest.mark.parametrize("batch_size", [None, 8])
def test_one_schedule_shared_by_all_models(batch_size):
    X, z = bowl()
    models = nets(seeds=(0, 1, 2))
    schedule = StepDecay(0.1, 0.5, 3)
    kwargs = dict(epochs=5, batch_size=batch_size, record_every=20)
    result = fit_many(models, X, z, eta=schedule, seed=[0, 1, 2], **kwargs)
    reference = single_runs(models, X, z, [schedule] * 3, seeds=[0, 1, 2], **kwargs)
    assert_matches(result, reference)
    steps_per_epoch = 48 // (batch_size or 48)
    updates = result.presentations * steps_per_epoch // 48  # the updates done at each record
    assert result.histories[1].eta == [schedule(int(t)) for t in updates]


def test_constant_schedule_is_the_number():
    X, z = bowl()
    models = nets(seeds=(0, 1))
    a = fit_many(models, X, z, eta=Constant(0.05), epochs=3, batch_size=12)
    b = fit_many(models, X, z, eta=[0.05, 0.05], epochs=3, batch_size=12)
    # bit for bit: a Constant takes the fixed-rate path, the very computation of the numbers
    np.testing.assert_array_equal(a.train_loss, b.train_loss)
    assert a.histories[0].eta == []


@pytest.mark.parametrize("record_every", [None, 10])
def test_a_schedule_that_blows_up_freezes_only_its_model(record_every):
    X, z = bowl(24)
    models = nets(seeds=(0, 1, 2))
    etas = [0.02, lambda t: 0.02 if t < 5 else 80.0, InverseTime(0.05, 4)]
    kwargs = dict(epochs=4, batch_size=4, record_every=record_every, on_divergence="stop")
    result = fit_many(models, X, z, eta=etas, **kwargs)
    reference = single_runs(models, X, z, etas, **kwargs)
    assert reference[1][0].diverged
    assert_matches(result, reference)
    assert result.diverged.tolist() == [False, True, False]
    assert "eta = 80" in result.histories[1].message


# ---------------------------------------------------------------------------------------------
# Presentation orders and emphasizing (as fit, with the same generators)
# ---------------------------------------------------------------------------------------------


def two_classes(n: int = 30):
    """The bowl's inputs with ±1 targets: classes for the class-aware orders (unbalanced)."""
    X, z = bowl(n)
    return X, np.where(z > np.median(z) * 0.7, 1.0, -1.0)


@pytest.mark.parametrize(
    ("order", "seeds"),
    [("class_sorted", (0, 0, 0)), ("class_sorted", (0, 3, 9)), ("interleaved", (0, 3, 9))],
)
def test_presentation_orders(order, seeds):
    X, d = two_classes()
    models = nets(seeds=(0, 1, 2))
    kwargs = dict(epochs=2, batch_size=4, order=order, record_every=13)
    result = fit_many(models, X, d, eta=0.05, seed=list(seeds), **kwargs)
    assert_matches(result, single_runs(models, X, d, [0.05] * 3, seeds=list(seeds), **kwargs))


def test_class_sorted_is_not_shuffled():
    X, d = two_classes()
    models = nets(seeds=(0, 0))
    kwargs = dict(epochs=2, batch_size=1)
    a = fit_many(models, X, d, eta=0.05, order="class_sorted", **kwargs)
    b = fit_many(models, X, d, eta=0.05, order="shuffle", **kwargs)
    assert a.train_loss[0, -1] != b.train_loss[0, -1]
    # the fixed order draws nothing: the seeds do not matter
    c = fit_many(models, X, d, eta=0.05, order="fixed", seed=[0, 5], **kwargs)
    e = fit_many(models, X, d, eta=0.05, shuffle=False, **kwargs)
    # bit for bit: the fixed order makes both calls the same computation
    np.testing.assert_array_equal(c.train_loss, e.train_loss)


@pytest.mark.parametrize("batch_size", [None, 5, 1])
def test_emphasis_mse(batch_size):
    X, z = bowl(20)
    models = nets(seeds=(0, 1, 2))
    seeds = [0, 0, 4]  # models 0 and 1 share a seed, but their samplers see other losses
    kwargs = dict(epochs=3, batch_size=batch_size, emphasis=Emphasis(cap=3.0, power=2.0))
    result = fit_many(models, X, z, eta=[0.05, 0.1, 0.02], seed=seeds, momentum=0.3, **kwargs)
    reference = single_runs(
        models, X, z, [0.05, 0.1, 0.02], momenta=[0.3] * 3, seeds=seeds, **kwargs
    )
    assert_matches(result, reference)


@pytest.mark.parametrize("loss", ["cross_entropy", "bce", lambda o, d: (o - d).abs().mean()])
def test_emphasis_other_losses(loss):
    X, z = bowl(16)
    if loss == "cross_entropy":
        sizes, d = (2, 4, 3), np.digitize(z[:, 0], np.quantile(z, [0.33, 0.66]))
    elif loss == "bce":
        sizes, d = (2, 4, 2), np.stack([z[:, 0] > np.median(z), z[:, 0] < 0.3], 1).astype(float)
    else:
        sizes, d = (2, 4, 1), z
    models = nets(seeds=(0, 1), sizes=sizes)
    kwargs = dict(loss=loss, epochs=2, batch_size=4, emphasis=True, record_every=6)
    result = fit_many(models, X, d, eta=0.2, seed=[1, 2], **kwargs)
    assert_matches(result, single_runs(models, X, d, [0.2, 0.2], seeds=[1, 2], **kwargs))


def test_emphasis_with_a_diverging_model():
    X, z = bowl(20)
    models = nets(seeds=(0, 1, 2))
    etas = [0.05, 60.0, 0.02]
    kwargs = dict(epochs=4, batch_size=5, emphasis=True, on_divergence="stop", snapshots=True)
    result = fit_many(models, X, z, eta=etas, **kwargs)
    reference = single_runs(models, X, z, etas, **kwargs)
    assert reference[1][0].diverged
    assert_matches(result, reference)


def test_bad_orders_and_emphasis():
    X, d = two_classes()
    models = nets()
    with pytest.raises(ValueError, match="order must be one of"):
        fit_many(models, X, d, eta=0.1, epochs=1, order="random")
    with pytest.raises(ValueError, match="contradicts shuffle=False"):
        fit_many(models, X, d, eta=0.1, epochs=1, order="interleaved", shuffle=False)
    with pytest.raises(ValueError, match="emphasis draws its own random order"):
        fit_many(models, X, d, eta=0.1, epochs=1, order="fixed", emphasis=True)
    with pytest.raises(TypeError, match=r"emphasis must be an ebp\.presentation\.Emphasis"):
        fit_many(models, X, d, eta=0.1, epochs=1, emphasis="yes")
    X, z = bowl()
    with pytest.raises(ValueError, match="needs class targets"):
        fit_many(models, X, z, eta=0.1, epochs=1, order="interleaved")


# ---------------------------------------------------------------------------------------------
# Weight decay, clipping, optimizers and parameter groups (as fit)
# ---------------------------------------------------------------------------------------------


def test_weight_decay_per_model_with_both_clippings_and_momentum():
    X, z = bowl(24)
    models = nets(seeds=(0, 1, 2))
    decays = [0.0, 0.01, 0.1]
    kwargs = dict(epochs=3, batch_size=6, clip_value=0.05, clip_norm=0.08, momentum=0.5)
    result = fit_many(models, X, z, eta=0.05, weight_decay=decays, **kwargs)
    reference = []
    for model, wd in zip(models, decays, strict=True):
        model = copy.deepcopy(model)
        reference.append((train.fit(model, X, z, eta=0.05, weight_decay=wd, **kwargs), model))
    assert_matches(result, reference)


@pytest.mark.parametrize(
    ("optimizer", "momenta", "batch_size"),
    [
        ("rmsprop", (0.0, 0.0), None),
        ("rmsprop", (0.0, 0.6), 8),
        ("adam", (0.0, 0.0), None),
        ("adam", (0.0, 0.0), 8),
    ],
)
def test_rmsprop_and_adam(optimizer, momenta, batch_size):
    X, z = bowl()
    models = nets(seeds=(0, 1))
    etas = [0.01, InverseTime(0.02, 5)]
    kwargs = dict(epochs=4, batch_size=batch_size, optimizer=optimizer, weight_decay=1e-3)
    result = fit_many(models, X, z, eta=etas, momentum=list(momenta), **kwargs)
    assert_matches(result, single_runs(models, X, z, etas, momenta=list(momenta), **kwargs))


@pytest.mark.parametrize("batch_size", [None, 6])
def test_paper_adaptive_rate(batch_size):
    X, z = bowl(24)
    models = nets(seeds=(0, 1, 2))
    etas = [0.01, 0.05, 0.2]
    kwargs = dict(
        epochs=3, batch_size=batch_size, optimizer="adaptive", record_every=10, snapshots=True
    )
    result = fit_many(models, X, z, eta=etas, **kwargs)
    reference = single_runs(models, X, z, etas, **kwargs)
    assert_matches(result, reference)
    assert result.histories[1].eta[0] == 0.05
    assert len(set(result.histories[1].eta)) > 2  # the rate moves (eq 19)


def groups_for(model, groups, model0, scale=1.0):
    """``groups`` of ``model0``'s parameters as groups of ``model``'s, their rates scaled."""
    name_of = {id(p): n for n, p in model0.named_parameters()}
    params = dict(model.named_parameters())
    out = []
    for g in groups:
        group = {"params": [params[name_of[id(p)]] for p in g["params"]]}
        if "lr" in g:
            group["lr"] = g["lr"] * scale
        out.append(group)
    return out


@pytest.mark.parametrize(
    ("optimizer", "etas"),
    [
        (None, [0.02, 0.05]),
        ("sgd", [StepDecay(0.02, 0.5, 4), InverseTime(0.04, 3)]),
        ("adam", [0.01, 0.003]),
        ("adaptive", [0.02, 0.05]),
    ],
)
def test_param_groups_scale_with_each_models_eta(optimizer, etas):
    X, z = bowl(24)
    models = nets(seeds=(0, 1), sizes=(2, 5, 3, 1))
    eta0 = [e if isinstance(e, float) else e(0) for e in etas]
    groups = per_layer_rates(models[0], eta0[0])
    del groups[1]["lr"]  # a group without "lr" runs at eta, as in fit
    kwargs = dict(epochs=3, batch_size=8, optimizer=optimizer)
    result = fit_many(models, X, z, eta=etas, param_groups=groups, **kwargs)
    reference = []
    for model, eta, e0 in zip(models, etas, eta0, strict=True):
        copied = copy.deepcopy(model)
        own = groups_for(copied, groups, models[0], scale=e0 / eta0[0])
        history = train.fit(copied, X, z, eta=eta, param_groups=own, **kwargs)
        reference.append((history, copied))
    assert_matches(result, reference)


def test_a_diverging_model_with_rmsprop_and_weight_decay():
    X, z = bowl()
    models = nets(seeds=(0, 1, 2))
    etas = [0.01, 3000.0, 0.003]
    kwargs = dict(epochs=5, batch_size=8, optimizer="rmsprop", on_divergence="stop")
    result = fit_many(models, X, z, eta=etas, weight_decay=1e-3, **kwargs)
    reference = single_runs(models, X, z, etas, weight_decay=1e-3, **kwargs)
    assert reference[1][0].diverged
    assert_matches(result, reference)
    assert result.diverged.tolist() == [False, True, False]


def test_adaptive_rate_that_turns_negative_names_the_model():
    X, z = bowl()
    with pytest.raises(ValueError, match="eq 19 made the learning rate non-positive"):
        train.fit(nets()[1], X, z, eta=5.0, epochs=1, optimizer="adaptive")
    with pytest.raises(ValueError, match=r"models\[1\]: eq 19 made the learning rate non-pos"):
        fit_many(nets(), X, z, eta=[0.01, 5.0, 0.01], epochs=1, optimizer="adaptive")


def test_bad_optimizers_decays_and_groups():
    X, z = bowl()
    models = nets()
    with pytest.raises(ValueError, match="optimizer must be one of"):
        fit_many(models, X, z, eta=0.1, epochs=1, optimizer="lbfgs")
    with pytest.raises(TypeError, match="no optimizer factory"):
        fit_many(models, X, z, eta=0.1, epochs=1, optimizer=torch.optim.SGD)
    with pytest.raises(ValueError, match=r"momentum\[1\] must be 0 with optimizer='adam'"):
        fit_many(models, X, z, eta=0.1, epochs=1, optimizer="adam", momentum=[0, 0.5, 0])
    with pytest.raises(ValueError, match="eta must be a constant with an adaptive optimizer"):
        fit_many(models, X, z, eta=InverseTime(0.1, 5), epochs=1, optimizer="adaptive")
    with pytest.raises(ValueError, match=r"weight_decay\[2\] must be >= 0"):
        fit_many(models, X, z, eta=0.1, epochs=1, weight_decay=[0, 0, -1.0])
    with pytest.raises(ValueError, match=r"weight_decay must be .* one value per model"):
        fit_many(models, X, z, eta=0.1, epochs=1, weight_decay=[0, 0])
    with pytest.raises(ValueError, match="clip_value must be > 0"):
        fit_many(models, X, z, eta=0.1, epochs=1, clip_value=0.0)
    with pytest.raises(ValueError, match=r"not a trainable parameter.*models\[0\]"):
        fit_many(models, X, z, eta=0.1, epochs=1, param_groups=per_layer_rates(models[1], 0.1))
    groups = per_layer_rates(models[0], 0.1)
    with pytest.raises(ValueError, match="every trainable parameter"):
        fit_many(models, X, z, eta=0.1, epochs=1, param_groups=groups[:1])
    groups[0]["momentum"] = 0.9
    with pytest.raises(ValueError, match=r"param_groups\[0\] sets 'momentum'"):
        fit_many(models, X, z, eta=0.1, epochs=1, param_groups=groups)
    with pytest.raises(TypeError, match="param_groups must be a list"):
        fit_many(models, X, z, eta=0.1, epochs=1, param_groups={"params": []})


@pytest.mark.parametrize("batch_size", [None, 7])
def test_snapshots(batch_size):
    X, z = bowl(21)
    models = nets(seeds=(0, 1, 2))
    etas = [0.05, 40.0, InverseTime(0.05, 3)]
    kwargs = dict(epochs=3, batch_size=batch_size, snapshots=True, on_divergence="stop")
    result = fit_many(models, X, z, eta=etas, record_every=10, **kwargs)
    reference = single_runs(models, X, z, etas, record_every=10, **kwargs)
    assert_matches(result, reference)  # compares history.weights too
    weights = result.weights
    n = sum(p.numel() for p in models[0].parameters())
    assert weights.shape == (3, len(result.presentations), n)
    np.testing.assert_array_equal(weights[0, 0], flat(models[0]))
    np.testing.assert_array_equal(weights[2, -1], flat(result.models[2]))
    assert np.isnan(weights[1, -1]).all() == result.diverged[1]
    eta = result.recorded_eta
    assert np.isnan(eta[1, -1]) == result.diverged[1]
    np.testing.assert_array_equal(eta[0], 0.05)  # the constant rate, repeated
    np.testing.assert_array_equal(eta[2], result.histories[2].eta)
    assert fit_many(models, X, z, eta=0.05, epochs=1).weights is None
    with pytest.raises(TypeError, match="snapshots must be a bool"):
        fit_many(models, X, z, eta=0.05, epochs=1, snapshots="yes")


# ---------------------------------------------------------------------------------------------
# Divergence
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [None, 8])
def test_a_diverging_model_is_frozen_and_the_others_go_on(batch_size):
    X, z = bowl()
    models = nets(seeds=(0, 1, 2))
    etas = [0.05, 50.0, 0.02]
    kwargs = dict(epochs=8, batch_size=batch_size, on_divergence="stop")
    result = fit_many(models, X, z, eta=etas, **kwargs)
    reference = single_runs(models, X, z, etas, **kwargs)
    assert reference[1][0].diverged  # the setting does make model 1 diverge on its own
    assert_matches(result, reference)
    assert result.diverged.tolist() == [False, True, False]
    n = len(result.histories[1].train_loss)
    assert n < 9
    assert np.isnan(result.train_loss[1, n:]).all()
    assert np.isfinite(result.train_loss[[0, 2]]).all()
    assert "eta = 50" in result.histories[1].message


def test_all_models_diverging_stops_early():
    X, z = bowl()
    result = fit_many(nets(seeds=(0, 1)), X, z, eta=[80.0, 60.0], epochs=50, batch_size=8)
    assert result.diverged.all()
    assert result.train_loss.shape[1] < 51


def test_on_divergence_raise_names_the_model():
    X, z = bowl()
    with pytest.raises(DivergenceError, match=r"models\[1\]") as info:
        fit_many(nets(), X, z, eta=[0.05, 50.0, 0.02], epochs=8, on_divergence="raise")
    assert info.value.model_index == 1
    assert info.value.step >= 1


# ---------------------------------------------------------------------------------------------
# Bad inputs
# ---------------------------------------------------------------------------------------------


def test_bad_models():
    X, z = bowl()
    with pytest.raises(ValueError, match="models must contain at least one"):
        fit_many([], X, z, eta=0.1, epochs=1)
    with pytest.raises(TypeError, match="models must be a sequence"):
        fit_many(nets()[0], X, z, eta=0.1, epochs=1)
    with pytest.raises(TypeError, match=r"models\[1\] must be a torch.nn.Module"):
        fit_many([nets()[0], "net"], X, z, eta=0.1, epochs=1)
    different = [*nets(seeds=(0,)), *nets(seeds=(1,), sizes=(2, 4, 1))]
    with pytest.raises(ValueError, match=r"models\[1\] must have the same structure"):
        fit_many(different, X, z, eta=0.1, epochs=1)
    other_act = [nets()[0], ebp_nn.mlp((2, 6, 1), "relu", dtype=torch.float64)]
    with pytest.raises(ValueError, match=r"models\[1\].*modules differ"):
        fit_many(other_act, X, z, eta=0.1, epochs=1)
    other_dtype = [nets()[0], ebp_nn.mlp((2, 6, 1), dtype=torch.float32)]
    with pytest.raises(ValueError, match=r"models\[1\].*parameters differ"):
        fit_many(other_dtype, X, z, eta=0.1, epochs=1)


def test_bad_rates_and_options():
    X, z = bowl()
    models = nets()
    with pytest.raises(ValueError, match=r"eta must be .* one value per model \(3\); got 2"):
        fit_many(models, X, z, eta=[0.1, 0.2], epochs=1)
    with pytest.raises(ValueError, match=r"eta\[1\] must be > 0"):
        fit_many(models, X, z, eta=[0.1, 0.0, 0.2], epochs=1)
    with pytest.raises(ValueError, match="eta must be > 0"):
        fit_many(models, X, z, eta=-0.1, epochs=1)
    with pytest.raises(ValueError, match=r"momentum\[2\] must be in \[0, 1\)"):
        fit_many(models, X, z, eta=0.1, momentum=[0.0, 0.5, 1.0], epochs=1)
    with pytest.raises(ValueError, match=r"seed must be .* one value per model"):
        fit_many(models, X, z, eta=0.1, seed=[0, 1], epochs=1)
    with pytest.raises(ValueError, match="on_divergence"):
        fit_many(models, X, z, eta=0.1, epochs=1, on_divergence="ignore")
    with pytest.raises(ValueError, match="batch_size"):
        fit_many(models, X, z, eta=0.1, epochs=1, batch_size=1000)
    with pytest.raises(ValueError, match="y must have one row per pattern"):
        fit_many(models, X, z[:-1], eta=0.1, epochs=1)


def test_bad_schedules_and_record_every():
    X, z = bowl()
    models = nets()
    with pytest.raises(ValueError, match=r"eta\[1\].*must be > 0"):
        fit_many(models, X, z, eta=[0.1, lambda t: -1.0, 0.2], epochs=1)
    with pytest.raises(TypeError, match=r"eta\[2\] must be a real number"):
        fit_many(models, X, z, eta=[0.1, 0.1, "fast"], epochs=1)
    with pytest.raises(ValueError, match=r"eta must be .* one value per model \(3\); got 4"):
        fit_many(models, X, z, eta=[InverseTime(0.1, 5)] * 4, epochs=1)
    with pytest.raises(ValueError, match="record_every must be >= 1"):
        fit_many(models, X, z, eta=0.1, epochs=1, record_every=0)
    with pytest.raises(TypeError, match="record_every"):
        fit_many(models, X, z, eta=0.1, epochs=1, record_every=2.5)


def test_a_non_finite_initial_loss_names_the_model():
    X, z = bowl()
    models = nets()
    with torch.no_grad():
        models[2][0].weight[0, 0] = math.nan
    with pytest.raises(ValueError, match=r"initial loss of models\[2\]"):
        fit_many(models, X, z, eta=0.1, epochs=1)


# ---------------------------------------------------------------------------------------------
# The losses of K models at once equal ebp.train's
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("per_model", [False, True])
@pytest.mark.parametrize(
    ("loss", "targets"),
    [
        ("mse", "real"),
        ("cross_entropy", "labels"),
        ("softmax_ce", "probabilities"),
        ("bce", "probabilities"),
        (lambda o, d: (o - d).abs().mean(), "real"),
    ],
)
def test_batched_loss_equals_the_loss_of_each_model(loss, targets, per_model):
    g = torch.Generator().manual_seed(0)
    K, P, C = 4, 7, 5
    out = torch.randn(K, P, C, generator=g, dtype=torch.float64)
    shape = (K, P) if per_model else (P,)
    if targets == "labels":
        t = torch.randint(0, C, shape, generator=g)
    elif targets == "probabilities":
        t = torch.rand((*shape, C), generator=g, dtype=torch.float64)
    else:
        t = torch.randn((*shape, C), generator=g, dtype=torch.float64)
    fn = train.get_loss(loss)
    expected = [float(fn(out[k], t[k] if per_model else t)) for k in range(K)]
    got = batched_loss(loss)(out, t, per_model)
    assert got.shape == (K,)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-13)


def test_inputs_of_the_wrong_width_are_named():
    X, z = bowl(8)
    wide = np.hstack([X, X])
    with pytest.raises(ValueError, match=r"^X must have shape \(P, 2\).*\(8, 4\)"):
        fit_many(nets(), wide, z, eta=0.05, epochs=1)
    with pytest.raises(ValueError, match=r"^X_val must have shape \(P, 2\).*\(8, 4\)"):
        fit_many(nets(), X, z, eta=0.05, epochs=1, X_val=wide, y_val=z)


def test_frozen_models_are_refused_as_fit_refuses_them():
    X, z = bowl(8)
    frozen = [m.requires_grad_(False) for m in nets()]
    with pytest.raises(ValueError, match=r"^models\[0\] must have at least one parameter with"):
        fit_many(frozen, X, z, eta=0.05, epochs=1)


def test_a_loss_that_is_not_a_scalar_is_refused_as_fit_refuses_it():
    X, z = bowl(8)

    def per_pattern(out, target):
        return 0.5 * (out - target) ** 2

    with pytest.raises(ValueError, match=r"^loss must return a scalar tensor.*\(8, 1\)"):
        fit_many(nets(), X, z, loss=per_pattern, eta=0.05, epochs=1)
