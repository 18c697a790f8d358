"""Tests of ebp.experiments.backpropagation (the "Standard backpropagation" chapter) and its
plots."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ebp import scratch
from ebp.experiments import backpropagation as B
from ebp.plots import backpropagation as PB


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


@pytest.mark.parametrize("x", [-3.0, 0.0, 1.0, 2.5])
def test_chain_rule_square_matches_analytic(x: float) -> None:
    r = B.chain_rule_square(x)
    assert r.u == x + 2.0
    assert r.f == pytest.approx((x + 2.0) ** 2)
    assert r.df_dx == pytest.approx(2.0 * (x + 2.0), abs=1e-15)
    assert r.df_dx == r.df_du * r.du_dx
    assert r.autograd_df_dx == pytest.approx(r.df_dx, abs=1e-15)


def test_chain_rule_logistic_matches_analytic() -> None:
    w, x, b = 2.0, -1.0, 0.5
    r = B.chain_rule_logistic(w, x, b)
    y = _sigmoid(w * x + b)
    s = y * (1 - y)
    assert r.z == w * x + b
    assert r.y == pytest.approx(y, abs=1e-15)
    assert (r.dy_dw, r.dy_db, r.dy_dx) == pytest.approx((s * x, s, s * w), abs=1e-15)
    assert r.max_abs_difference < 1e-15
    assert r.autograd == pytest.approx({"w": s * x, "b": s, "x": s * w}, abs=1e-15)


def test_chain_rule_rejects_bad_input() -> None:
    with pytest.raises(TypeError, match="x"):
        B.chain_rule_square("one")
    with pytest.raises(ValueError, match="w"):
        B.chain_rule_logistic(w=float("nan"))


def test_computational_graph_values_and_gradients() -> None:
    g = B.computational_graph(w=2.0, x=-1.5, b=0.5, d=1.0)
    z = 2.0 * -1.5 + 0.5
    assert g.z == z and g.E == pytest.approx(0.5 * (z - 1.0) ** 2)
    assert (g.dE_dw, g.dE_dx, g.dE_db) == pytest.approx(((z - 1) * -1.5, (z - 1) * 2.0, z - 1))
    assert g.max_abs_difference < 1e-14
    assert {n.name for n in g.nodes} == {"w", "x", "b", "mul", "add", "loss"}
    names = {n.name for n in g.nodes}
    for e in g.edges:
        assert e.src in names and e.dst in names
        # what flows forward along an edge is its source's value, and backward its gradient
        assert e.value == g.node(e.src).value and e.grad == g.node(e.src).grad
    with pytest.raises(KeyError, match="name"):
        g.node("nope")


def test_worked_example_equals_autograd() -> None:
    ex = B.worked_example_221()
    assert ex.max_abs_difference < 1e-12
    assert len(ex.gradient_rows) == ex.network.n_params == 9
    for row in ex.gradient_rows:
        assert abs(row["backprop"] - row["autograd"]) < 1e-12
    np.testing.assert_allclose(ex.backprop_flat, ex.autograd_flat, rtol=0, atol=1e-12)
    # and both equal central differences
    numeric = scratch.numerical_gradient(ex.network, ex.X, ex.T, "mse").flat()
    np.testing.assert_allclose(ex.backprop_flat, numeric, rtol=0, atol=1e-8)


def test_worked_example_forward_rows_are_consistent() -> None:
    ex = B.worked_example_221()
    P = ex.X.shape[0]
    assert len(ex.forward_rows) == 5 * P
    by = {(r["pattern"], r["unit"]): r for r in ex.forward_rows}
    W1, b1 = ex.network.weights[0], ex.network.biases[0]
    for p in range(P):
        x = ex.X[p]
        for j, unit in enumerate(("h1", "h2")):
            row = by[(p + 1, unit)]
            assert row["z"] == pytest.approx(W1[j] @ x + b1[j], abs=1e-15)
            assert row["a"] == pytest.approx(scratch.lecun_tanh(row["z"]), abs=1e-15)
            assert row["delta"] == pytest.approx(row["delta_autograd"], abs=1e-15)
        out = by[(p + 1, "o")]
        # linear output, E = (1/P) Σ ½(o − d)²: δ_out = (o − d)/P
        assert out["delta"] == pytest.approx((out["a"] - ex.T[p, 0]) / P, abs=1e-15)
        assert math.isnan(by[(p + 1, "x1")]["z"])


def test_mac_counts_are_exact() -> None:
    c = B.mac_counts((4, 8, 8, 1), n_patterns=10)
    assert c["n_params"] == 4 * 8 + 8 + 8 * 8 + 8 + 8 + 1
    assert c["forward"] == 10 * (32 + 64 + 8)
    assert c["backward"] == 10 * (32 + 64 + 8) + 10 * (64 + 8)
    assert c["backprop"] == c["forward"] + c["backward"]
    assert c["finite_differences"] == 2 * c["n_params"] * c["forward"]
    with pytest.raises(ValueError, match="n_patterns"):
        B.mac_counts((2, 1), 0)


def test_backprop_cost_counts_deterministic() -> None:
    cost = B.backprop_cost(widths=(1, 4, 16), n_patterns=8, repeats=1, fd_repeats=1)
    assert list(cost.n_params) == [B.mac_counts((4, h, h, 1), 8)["n_params"] for h in (1, 4, 16)]
    np.testing.assert_array_equal(cost.fd_forward_equivalents, 2 * cost.n_params)
    np.testing.assert_array_equal(cost.fd_macs, 2 * cost.n_params * cost.forward_macs)
    assert np.all(cost.backprop_forward_equivalents < 3) and np.all(
        cost.backprop_forward_equivalents >= 2
    )
    assert np.all(np.diff(cost.cost_ratio) > 0)
    # 16-wide network has 369 > 200 parameters: timed on a subset and flagged
    assert list(cost.timing_fd_extrapolated) == [False, False, True]
    assert np.all(cost.timing_backprop_s > 0) and np.all(np.isfinite(cost.timing_ratio))
    again = B.backprop_cost(widths=(1, 4, 16), n_patterns=8, repeats=1, fd_repeats=1)
    for name, value in vars(cost).items():
        if not name.startswith("timing_"):
            np.testing.assert_array_equal(value, getattr(again, name))


def test_backprop_cost_rejects_bad_input() -> None:
    with pytest.raises(TypeError, match="widths"):
        B.backprop_cost(widths=5)
    with pytest.raises(ValueError, match="widths\\[1\\]"):
        B.backprop_cost(widths=(2, 0))


def test_lean_central_differences_equal_scratch() -> None:
    net = scratch.Network.create((3, 5, 2), seed=3)
    rng = np.random.default_rng(0)
    X, T = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    before = net.get_flat()
    fd = B.central_differences(net, X, T)
    np.testing.assert_array_equal(net.get_flat(), before)  # restored
    np.testing.assert_allclose(fd, scratch.numerical_gradient(net, X, T).flat(), atol=1e-12)
    np.testing.assert_allclose(fd, net.gradients(X, T).flat(), atol=1e-8)
    idx = np.array([0, 7, net.n_params - 1])
    # the same differences for a subset; to a few rounding units of E over 2ε (≈ 1e-10 each),
    # not bit for bit (BLAS), far below the gap between two different gradient entries
    np.testing.assert_allclose(B.central_differences(net, X, T, idx), fd[idx], rtol=0, atol=1e-9)


def test_eps_sweep_is_v_shaped_with_interior_minimum() -> None:
    eps = np.logspace(-12, -1, 12)
    sweep = B.eps_sweep(eps=eps)
    for err in (sweep.rel_error_float64, sweep.rel_error_float32):
        i = int(np.argmin(err))
        assert 0 < i < eps.size - 1
        assert err[0] > 10 * err[i] and err[-1] > 10 * err[i]
    assert sweep.min_error_float64 < 1e-8
    assert sweep.min_error_float32 > 100 * sweep.min_error_float64
    assert sweep.best_eps_float32 > sweep.best_eps_float64
    # best steps within a factor 30 of u^(1/3)
    assert abs(math.log10(sweep.best_eps_float64 / sweep.unit_roundoff_float64 ** (1 / 3))) < 1.5
    assert abs(math.log10(sweep.best_eps_float32 / sweep.unit_roundoff_float32 ** (1 / 3))) < 1.5
    with pytest.raises(ValueError, match="eps"):
        B.eps_sweep(eps=[1e-3, -1.0])


@pytest.mark.parametrize(("dtype", "tol"), [(torch.float32, 1e-6), (torch.float64, 1e-14)])
def test_autograd_accumulation(dtype: torch.dtype, tol: float) -> None:
    r = B.autograd_accumulation(dtype=dtype)
    assert r.double_ratio_min == 2.0 and r.double_ratio_max == 2.0
    assert r.double_max_abs_error == 0.0
    assert r.micro_max_abs_diff < tol
    assert r.naive_max_abs_diff > 1e3 * max(r.micro_max_abs_diff, tol)
    with pytest.raises(TypeError, match="dtype"):
        B.autograd_accumulation(dtype=torch.int64)


def test_equal_micro_batches_make_naive_averaging_right() -> None:
    r = B.autograd_accumulation(micro_batch_sizes=(16, 16, 16, 16), dtype=torch.float64)
    assert r.naive_max_abs_diff < 1e-14


def test_plots_and_tables_draw() -> None:
    ex = B.worked_example_221()
    cost = B.backprop_cost(widths=(2, 4), n_patterns=8, repeats=1, fd_repeats=1)
    for fig in (
        PB.plot_computational_graph(B.computational_graph()),
        PB.plot_network_221(ex, pattern=2),
        PB.plot_eps_sweep(B.eps_sweep(eps=np.logspace(-10, -2, 5), sizes=(2, 2, 1))),
        PB.plot_backprop_counts(cost),
        PB.plot_backprop_timing(cost),
    ):
        assert fig.axes  # left open: the conftest checks each fits the text column
    table = PB.gradient_table_markdown(ex)
    assert table.count("\n") == 2 + 9 - 1 and "$w^{(1)}_{11}$" in table
    assert PB.forward_table_markdown(ex).count("—") == 2 * 2 * 3
    with pytest.raises(TypeError, match="graph"):
        PB.plot_computational_graph(ex)
    with pytest.raises(ValueError, match="pattern"):
        PB.plot_network_221(ex, pattern=3)
