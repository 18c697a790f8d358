"""SDLM.step's kept ⟨h⟩ + μ and its one-sum finiteness check give what recomputing gives."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ebp.history import DivergenceError
from ebp.optim import SDLM


def _reference_step(params, grads, h, eps, mu):
    """``w − ε g / (⟨h⟩ + μ)`` for every parameter, as eq 61 writes it."""
    return [
        p.detach().addcdiv(g, hi + mu, value=-eps)
        for p, g, hi in zip(params, grads, h, strict=True)
    ]


def _pair():
    w = nn.Parameter(torch.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=torch.float64))
    b = nn.Parameter(torch.tensor([0.25, -1.0], dtype=torch.float64))
    return w, b


def test_steps_follow_new_curvature_and_new_mu():
    w, b = _pair()
    opt = SDLM([w, b], eps=0.5, mu=0.25, gamma=1.0)
    gen = torch.Generator().manual_seed(0)
    for k in range(6):
        if k in (0, 2):  # a new estimate (in place after the first)
            opt.update_curvature(diagonal=torch.rand(6, generator=gen, dtype=torch.float64))
        if k == 4:
            opt.param_groups[0]["mu"] = 0.75
        grads = [torch.randn(p.shape, generator=gen, dtype=torch.float64) for p in (w, b)]
        h, mu = opt.curvature(), opt.param_groups[0]["mu"]
        want = _reference_step([w, b], grads, h, 0.5, mu)
        w.grad, b.grad = grads
        opt.step()
        for p, expected in zip((w, b), want, strict=True):
            torch.testing.assert_close(p.detach(), expected, rtol=1e-15, atol=0.0)


def test_curvature_written_in_place_is_seen():
    w, b = _pair()
    opt = SDLM([w, b], eps=1.0, mu=0.5)
    opt.update_curvature(diagonal=torch.ones(6, dtype=torch.float64))
    w.grad, b.grad = torch.ones_like(w), torch.ones_like(b)
    opt.step()
    opt.state[w]["h"].fill_(3.0)  # a user's edit of the state
    before = w.detach().clone()
    opt.step()
    torch.testing.assert_close(w.detach(), before - 1.0 / 3.5, rtol=1e-15, atol=0.0)


def test_zero_curvature_with_zero_mu_is_refused_every_time():
    w, b = _pair()
    opt = SDLM([w, b], eps=1.0, mu=0.0)
    opt.update_curvature(diagonal=torch.tensor([1.0, 0.0, 1.0, 1.0, 1.0, 1.0]))
    w.grad, b.grad = torch.ones_like(w), torch.ones_like(b)
    for _ in range(2):
        with pytest.raises(ValueError, match="mu must be > 0"):
            opt.step()


@pytest.mark.parametrize("where", [0, 1])
def test_a_non_finite_new_weight_is_counted_and_nothing_is_written(where):
    w, b = _pair()
    opt = SDLM([w, b], eps=1.0, mu=0.5)
    opt.update_curvature(diagonal=torch.ones(6, dtype=torch.float64))
    w.grad, b.grad = torch.zeros_like(w), torch.zeros_like(b)
    (w, b)[where].grad.view(-1)[0] = float("inf")
    (w, b)[where].grad.view(-1)[-1] = float("nan")
    before = [w.detach().clone(), b.detach().clone()]
    with pytest.raises(
        DivergenceError, match=rf"params'\]\[{where}\] first\) would make 2 weight\(s\)"
    ):
        opt.step()
    for p, old in zip((w, b), before, strict=True):
        torch.testing.assert_close(p.detach(), old, rtol=0.0, atol=0.0)


def test_finite_weights_whose_sum_overflows_are_written():
    big = torch.finfo(torch.float64).max / 2
    w = nn.Parameter(torch.full((4,), big, dtype=torch.float64))
    opt = SDLM([w], eps=1.0, mu=1.0)
    opt.update_curvature(diagonal=torch.zeros(4, dtype=torch.float64))
    w.grad = torch.zeros(4, dtype=torch.float64)
    opt.step()
    assert opt.n_steps == 1 and bool(torch.isfinite(w).all())
