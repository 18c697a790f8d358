"""ebp.optim: the adaptive rate of §4.7 (eqs 17–19) and per-layer rates."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ebp import nn as ebp_nn
from ebp.optim import PaperAdaptiveRate, per_layer_rates


def quadratic_steps(opt, w, lam, n):
    """``n`` steps on ``E = ½ Σ λ_i w_i²``."""
    for _ in range(n):
        opt.zero_grad()
        (0.5 * (lam * w**2).sum()).backward()
        opt.step()


def test_adaptive_rate_matches_a_hand_computation_of_eqs_17_to_19():
    lam = torch.tensor([1.0, 4.0], dtype=torch.float64)
    w = torch.nn.Parameter(torch.tensor([3.0, -1.0], dtype=torch.float64))
    eta0, delta, alpha, beta = 0.05, 0.2, 2.0, 0.3
    opt = PaperAdaptiveRate([w], eta0=eta0, delta=delta, alpha=alpha, beta=beta)
    quadratic_steps(opt, w, lam, 4)
    # by hand, in plain Python floats
    ww, r, eta, etas = [3.0, -1.0], [0.0, 0.0], eta0, [eta0]
    for _ in range(4):
        g = [1.0 * ww[0], 4.0 * ww[1]]
        ww = [ww[i] - eta * g[i] for i in range(2)]  # eq 17
        r = [(1 - delta) * r[i] + delta * g[i] for i in range(2)]  # eq 18
        eta = eta + alpha * eta * (beta * math.hypot(*r) - eta)  # eq 19
        etas.append(eta)
    np.testing.assert_allclose(w.detach().numpy(), ww, rtol=1e-14)
    np.testing.assert_allclose(opt.eta_history, etas, rtol=1e-14)
    assert opt.eta == pytest.approx(etas[-1], rel=1e-14)
    assert opt.param_groups[0]["lr"] == opt.eta


def feed(opt, p, grads):
    for g in grads:
        p.grad = torch.full_like(p, g)
        opt.step()


def test_eta_rises_with_consistent_gradients_and_falls_with_oscillating_ones():
    p = torch.nn.Parameter(torch.zeros(4, dtype=torch.float64))
    consistent = PaperAdaptiveRate([p], eta0=0.05, delta=0.1, alpha=1.0, beta=0.1)
    feed(consistent, p, [0.5] * 60)  # ‖g‖ = 1 every time: η → β‖g‖ = 0.1
    q = torch.nn.Parameter(torch.zeros(4, dtype=torch.float64))
    oscillating = PaperAdaptiveRate([q], eta0=0.05, delta=0.1, alpha=1.0, beta=0.1)
    feed(oscillating, q, [0.5, -0.5] * 30)  # same ‖g‖, alternating sign: r ≈ 0
    up, down = consistent.eta_history, oscillating.eta_history
    assert up[-1] > 1.5 * up[0] and np.all(np.diff(up[5:]) > 0)
    assert down[-1] < 0.5 * down[0]


def test_eta_falls_when_gradient_descent_oscillates_on_a_quadratic():
    # η λ = 1.8: w flips sign every step; the averaged gradient cancels and η drops
    lam = torch.tensor([10.0], dtype=torch.float64)
    w = torch.nn.Parameter(torch.tensor([0.1], dtype=torch.float64))
    opt = PaperAdaptiveRate([w], eta0=0.18, delta=0.1, alpha=1.0, beta=0.1)
    quadratic_steps(opt, w, lam, 30)
    assert opt.eta < 0.5 * 0.18


def test_global_rate_uses_the_norm_over_all_groups_and_per_group_rates_do_not():
    def run(per_group):
        a = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
        b = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
        opt = PaperAdaptiveRate(
            [{"params": [a]}, {"params": [b]}], eta0=0.1, delta=0.5, beta=1.0, per_group=per_group
        )
        a.grad = torch.tensor([3.0], dtype=torch.float64)
        b.grad = torch.tensor([4.0], dtype=torch.float64)
        opt.step()
        return opt

    glob = run(False)
    r_norm = math.hypot(1.5, 2.0)
    assert glob.eta == pytest.approx(0.1 + 0.1 * (r_norm - 0.1))
    assert glob.eta_history.shape == (2,)
    per = run(True)
    assert per.eta == pytest.approx([0.1 + 0.1 * (1.5 - 0.1), 0.1 + 0.1 * (2.0 - 0.1)])
    assert per.eta_history.shape == (2, 2)


def test_weight_decay_enters_the_gradient():
    w = torch.nn.Parameter(torch.tensor([2.0], dtype=torch.float64))
    opt = PaperAdaptiveRate([w], eta0=0.1, weight_decay=0.5)
    w.grad = torch.tensor([1.0], dtype=torch.float64)
    opt.step()
    assert float(w.detach()) == pytest.approx(2.0 - 0.1 * (1.0 + 0.5 * 2.0))


def test_adaptive_rate_refuses_to_go_non_positive_and_clamps_with_eta_min():
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = PaperAdaptiveRate([p], eta0=2.0, alpha=1.0)
    with pytest.raises(ValueError, match="alpha"):
        feed(opt, p, [0.0])
    q = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    clamped = PaperAdaptiveRate([q], eta0=2.0, alpha=1.0, eta_min=1e-3)
    feed(clamped, q, [0.0])
    assert clamped.eta == 1e-3


def test_adaptive_rate_closure_and_state_dict_round_trip():
    w = torch.nn.Parameter(torch.tensor([1.0, 2.0], dtype=torch.float64))
    opt = PaperAdaptiveRate([w], eta0=0.1)

    def closure():
        opt.zero_grad()
        loss = (w**2).sum()
        loss.backward()
        return loss

    assert float(opt.step(closure).detach()) == pytest.approx(5.0)
    clone = PaperAdaptiveRate([torch.nn.Parameter(w.detach().clone())], eta0=0.1)
    clone.load_state_dict(opt.state_dict())
    assert clone.eta == opt.eta


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"eta0": 0.0}, ValueError, "eta0"),
        ({"delta": 0.0}, ValueError, "delta"),
        ({"delta": 1.0}, ValueError, "delta"),
        ({"alpha": -1.0}, ValueError, "alpha"),
        ({"beta": 0.0}, ValueError, "beta"),
        ({"weight_decay": -1.0}, ValueError, "weight_decay"),
        ({"per_group": 1}, TypeError, "per_group"),
        ({"eta_min": -1.0}, ValueError, "eta_min"),
        ({"eta_min": 0.5, "eta_max": 0.1}, ValueError, "eta_max"),
    ],
)
def test_adaptive_rate_bad_input(kwargs, exc, name):
    w = torch.nn.Parameter(torch.zeros(2))
    with pytest.raises(exc, match=name):
        PaperAdaptiveRate([w], **kwargs)


def test_adaptive_rate_global_mode_rejects_groups_with_different_rates():
    model = ebp_nn.mlp((16, 4, 2), seed=0)
    with pytest.raises(ValueError, match="per_group"):
        PaperAdaptiveRate(per_layer_rates(model, 0.1))
    opt = PaperAdaptiveRate(per_layer_rates(model, 0.1), per_group=True)
    assert opt.eta == pytest.approx([0.2, 0.1])
    with pytest.raises(ValueError, match=r"param_groups\[0\]\['delta'\]"):
        PaperAdaptiveRate([{"params": list(model.parameters()), "delta": 2.0}], per_group=True)


# ---------------------------------------------------------------------------------------------
# Per-layer rates
# ---------------------------------------------------------------------------------------------


def test_per_layer_rates_are_proportional_to_sqrt_fan_in_and_last_layer_gets_eta():
    model = ebp_nn.mlp((64, 16, 9, 4), seed=0)
    groups = per_layer_rates(model, 0.05)
    assert [g["fan_in"] for g in groups] == [64, 16, 9]
    rates = np.array([g["lr"] for g in groups])
    assert rates[-1] == 0.05
    np.testing.assert_allclose(rates / np.sqrt([64, 16, 9]), 0.05 / 3.0)
    assert rates[0] > rates[1] > rates[2]  # lower layers larger (§4.7)
    # every parameter appears exactly once, weights and biases together
    ids = [id(p) for g in groups for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())
    inv = [g["lr"] for g in per_layer_rates(model, 0.05, rule="inverse_sqrt_fan_in")]
    np.testing.assert_allclose(np.array(inv) * np.sqrt([64, 16, 9]), 0.05 * 3.0)
    assert [g["lr"] for g in per_layer_rates(model, 0.05, rule="uniform")] == [0.05] * 3


def test_per_layer_rates_work_with_torch_optimizers():
    model = ebp_nn.mlp((12, 3, 1), seed=0, dtype=torch.float64)
    opt = torch.optim.SGD(per_layer_rates(model, 0.1), lr=1.0)
    assert [g["lr"] for g in opt.param_groups] == [pytest.approx(0.2), 0.1]


def test_per_layer_rates_frozen_and_extra_parameters():
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.PReLU(), torch.nn.Linear(3, 1))
    model[0].bias.requires_grad_(False)
    groups = per_layer_rates(model, 0.1)
    assert [g["name"] for g in groups] == ["layer0", "layer1", "other"]
    assert len(groups[0]["params"]) == 1
    assert groups[2]["lr"] == 0.1


def test_per_layer_rates_bad_input():
    with pytest.raises(TypeError, match="model"):
        per_layer_rates("net", 0.1)
    with pytest.raises(ValueError, match="model"):
        per_layer_rates(torch.nn.ReLU(), 0.1)
    model = ebp_nn.mlp((2, 2), seed=0)
    with pytest.raises(ValueError, match="eta"):
        per_layer_rates(model, 0.0)
    with pytest.raises(ValueError, match="rule"):
        per_layer_rates(model, 0.1, rule="fan_in")
