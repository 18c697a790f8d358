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
from ebp.repro import single_threaded

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
