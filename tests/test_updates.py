"""The update rules of ``ebp.updates`` against the library they claim to reproduce.

For one model (float coefficients) the rules run the operations of ``torch.optim`` and of
``torch.nn.utils.clip_grad_*_`` in the same order, so the weights they leave are compared
exactly: these are elementwise kernels on the same inputs (no BLAS reduction whose order could
vary).  For ``K`` stacked models (a coefficient per model) they are compared with the one-model
rule run ``K`` times, to rounding.
"""

from __future__ import annotations

import pytest
import torch

from ebp.optim import PaperAdaptiveRate
from ebp.updates import (
    SGD,
    Adam,
    LeafCoefficients,
    PaperAdaptive,
    RMSprop,
    add_weight_decay,
    clip_by_norm,
    clip_by_value,
)

SHAPES = [(4, 3), (4,), (2, 4)]
STEPS = 5


def _tensors(seed: int, dtype: torch.dtype = torch.float64) -> list[list[torch.Tensor]]:
    """Weights and ``STEPS`` gradients for every shape."""
    g = torch.Generator().manual_seed(seed)
    return [[torch.randn(s, generator=g, dtype=dtype) for s in SHAPES] for _ in range(STEPS + 1)]


def _torch_run(make, weights, grads, *, clip_value=None, clip_norm=None):
    params = [w.clone().requires_grad_(True) for w in weights]
    opt = make(params)
    for step_grads in grads:
        for p, g in zip(params, step_grads, strict=True):
            p.grad = g.clone()
        if clip_value is not None:
            torch.nn.utils.clip_grad_value_(params, clip_value)
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, clip_norm)
        opt.step()
    return [p.detach() for p in params]


def _rule_run(rule, weights, grads, eta, *, weight_decay=0.0, clip_value=None, clip_norm=None):
    params = [w.clone() for w in weights]
    table = torch.tensor([eta], dtype=torch.float64)
    for count, step_grads in enumerate(grads, start=1):
        gs = list(step_grads)
        if clip_value is not None:
            gs = clip_by_value(gs, clip_value)
        if clip_norm is not None:
            gs = clip_by_norm(gs, clip_norm, stacked=False)
        if weight_decay:
            gs = add_weight_decay(gs, params, weight_decay)
        rule.step(params, gs, table, count)
    return params


def _leaf(stacked: bool = False, dtype: torch.dtype = torch.float64) -> LeafCoefficients:
    return LeafCoefficients([0] * len(SHAPES), dtype, stacked)


CASES = {
    "sgd": (
        lambda p: torch.optim.SGD(p, lr=0.1),
        lambda: SGD(_leaf()),
        {},
    ),
    "sgd momentum and decay": (
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
        lambda: SGD(_leaf(), 0.9),
        {"weight_decay": 0.01},
    ),
    "rmsprop": (
        lambda p: torch.optim.RMSprop(p, lr=0.01),
        lambda: RMSprop(_leaf()),
        {},
    ),
    "rmsprop momentum": (
        lambda p: torch.optim.RMSprop(p, lr=0.01, momentum=0.5, weight_decay=0.1),
        lambda: RMSprop(_leaf(), 0.5),
        {"weight_decay": 0.1},
    ),
    "adam": (
        lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.001),
        lambda: Adam(_leaf()),
        {"weight_decay": 0.001},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_one_model_rules_are_torch_optim_exactly(case, dtype):
    make_torch, make_rule, extra = CASES[case]
    weights, *grads = _tensors(1, dtype)
    eta = {"sgd": 0.1, "sgd momentum and decay": 0.1, "adam": 0.01}.get(case, 0.01)
    rule = make_rule()
    rule.leaf.dtype = dtype
    ours = _rule_run(rule, weights, grads, eta, **extra)
    theirs = _torch_run(make_torch, weights, grads)
    for a, b in zip(ours, theirs, strict=True):
        assert torch.equal(a, b), case


def test_clipping_is_torchs_exactly():
    weights, *grads = _tensors(2)
    grads = [[10 * g for g in gs] for gs in grads]
    ours = _rule_run(SGD(_leaf()), weights, grads, 0.1, clip_value=3.0, clip_norm=2.0)
    theirs = _torch_run(
        lambda p: torch.optim.SGD(p, lr=0.1), weights, grads, clip_value=3.0, clip_norm=2.0
    )
    for a, b in zip(ours, theirs, strict=True):
        assert torch.equal(a, b)


def test_adaptive_rule_is_paper_adaptive_rate():
    """The engine's eqs 17–19 and the optimizer class a user builds share one arithmetic."""
    weights, *grads = _tensors(3)
    rule = PaperAdaptive(_leaf(), torch.tensor([0.05], dtype=torch.float64), 0.1, 1.0, 0.1)
    ours = _rule_run(rule, weights, grads, 0.05)
    theirs = _torch_run(lambda p: PaperAdaptiveRate(p, eta0=0.05), weights, grads)
    for a, b in zip(ours, theirs, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name", ["sgd", "rmsprop", "adam", "adaptive"])
def test_stacked_rules_equal_one_model_rules_per_model(name):
    """K models with their own η and μ at once give each model's own run, to rounding."""
    K = 3
    runs = [_tensors(10 + k) for k in range(K)]
    etas = [0.01, 0.03, 0.02]
    mus = [0.0, 0.5, 0.9] if name in ("sgd", "rmsprop") else [0.0] * K

    def make(stacked, k=None):
        leaf = _leaf(stacked)
        mu = torch.tensor(mus, dtype=torch.float64) if stacked else mus[k]
        table = torch.tensor([[e] for e in etas] if stacked else [etas[k]], dtype=torch.float64)
        return {
            "sgd": lambda: SGD(leaf, mu),
            "rmsprop": lambda: RMSprop(leaf, mu),
            "adam": lambda: Adam(leaf),
            "adaptive": lambda: PaperAdaptive(leaf, table, 0.1, 1.0, 0.1),
        }[name]()

    stacked_params = [torch.stack([r[0][i] for r in runs]) for i in range(len(SHAPES))]
    rule = make(True)
    table = torch.tensor([[e] for e in etas], dtype=torch.float64)
    for step in range(STEPS):
        grads = [torch.stack([r[step + 1][i] for r in runs]) for i in range(len(SHAPES))]
        rule.step(stacked_params, grads, table, step + 1)
    for k in range(K):
        alone = _rule_run(make(False, k), runs[k][0], runs[k][1:], etas[k])
        for a, b in zip(alone, stacked_params, strict=True):
            torch.testing.assert_close(b[k], a, rtol=1e-12, atol=1e-14)


def test_stacked_clipping_is_per_model():
    g = torch.Generator().manual_seed(4)
    grads = [torch.randn(3, 5, generator=g, dtype=torch.float64) * torch.tensor([[0.1], [10], [1]])]
    clipped = clip_by_norm(grads, 1.0, stacked=True)[0]
    norms = clipped.norm(dim=1)
    assert norms[0] == pytest.approx(grads[0][0].norm().item())  # under the limit: unchanged
    assert norms[1] == pytest.approx(1.0, rel=1e-5)
    for k in range(3):
        alone = clip_by_norm([grads[0][k]], 1.0, stacked=False)[0]
        torch.testing.assert_close(clipped[k], alone, rtol=1e-12, atol=0)
