"""ebp.hessian: power method, Lanczos, Hutchinson, SLQ and the paper's estimates (eqs 60–64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ebp import hessian as H
from ebp import nn as ebp_nn
from ebp.repro import single_threaded

# PyTorch loads its forward-mode rules with torch.jit.script, which warns that it is deprecated
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")


@pytest.fixture(autouse=True)
def _one_thread():
    with single_threaded():
        yield


def _problem(sizes=(4, 6, 3), P=30, seed=0, act="tanh"):
    rng = np.random.default_rng(seed)
    model = ebp_nn.mlp(sizes, act, seed=seed + 1, dtype=torch.float64)
    X = rng.standard_normal((P, sizes[0]))
    y = rng.standard_normal((P, sizes[-1]))
    return model, X, y


@pytest.fixture(scope="module")
def small():
    with single_threaded():
        return _small()


def _small():
    model, X, y = _problem()
    op = H.HessianOperator(model, "mse", (X, y))
    dense = op.dense()
    return op, dense, torch.linalg.eigvalsh(dense).numpy()


@pytest.fixture(scope="module")
def medium():
    """A 64-32-10 LeCun-tanh net (2,410 parameters) on 64 patterns."""
    with single_threaded():
        return _medium()


def _medium():
    model, X, y = _problem((64, 32, 10), P=64, seed=3, act="lecun_tanh")
    op = H.HessianOperator(model, "mse", (X, y))
    return op, torch.linalg.eigvalsh(op.dense()).numpy()


def _diag_op(values):
    return H.MatrixOperator(np.diag(np.asarray(values, dtype=float)))


# ---------------------------------------------------------------------------------------------
# Power method (eq 60)
# ---------------------------------------------------------------------------------------------


def test_power_method_matches_eigvalsh_on_2410_parameters(medium):
    op, eig = medium
    r = H.power_method(op, tol=1e-5, max_products=2000)
    assert r.converged
    assert r.value == pytest.approx(eig[-1], rel=1e-3)
    assert r.residual <= 1e-5 * abs(r.value)
    assert len(r.history) == r.n_products


def test_power_method_reports_its_residual_and_products(small):
    op, dense, eig = small
    op.reset_count()
    r = H.power_method(op, tol=1e-8)
    assert r.converged and r.value == pytest.approx(eig[-1], rel=1e-10)
    assert op.n_products == r.n_products
    direct = float((dense @ r.vector - r.value * r.vector).norm())
    assert r.residual == pytest.approx(direct, rel=1e-6, abs=1e-14)
    assert r.residual <= 1e-8 * abs(r.value)
    again = H.power_method(op, tol=1e-8)
    assert again.value == r.value and again.n_products == r.n_products  # seeded


def test_power_method_runs_out_of_budget_with_converged_false(small):
    op, _, _ = small
    r = H.power_method(op, tol=1e-12, max_products=3)
    assert not r.converged and r.n_products == 3
    assert r.residual > 1e-12 * abs(r.value)


def test_which_end_of_the_spectrum_is_explicit():
    A = _diag_op([-5.0, -1.0, 0.5, 2.0, 3.0])
    assert H.power_method(A, which="LM", tol=1e-9).value == pytest.approx(-5.0, rel=1e-6)
    la = H.power_method(A, which="LA", tol=1e-9, max_products=5000)
    assert la.converged and la.value == pytest.approx(3.0, rel=1e-6)
    assert H.power_method(A, which="SA", tol=1e-9).value == pytest.approx(-5.0, rel=1e-6)
    B = _diag_op([-0.5, 1.0, 4.0])
    sa = H.power_method(B, which="SA", tol=1e-9, max_products=5000)
    assert sa.converged and sa.value == pytest.approx(-0.5, rel=1e-6)


def test_tied_magnitudes_do_not_converge_for_lm():
    r = H.power_method(_diag_op([-2.0, 2.0, 1.0]), which="LM", tol=1e-8, max_products=200)
    assert not r.converged


def test_stopping_on_change_can_stop_before_the_residual_is_small():
    A = _diag_op(np.r_[10.0, 9.9, np.linspace(0, 1, 20)])
    change = H.power_method(A, stop="change", tol=1e-4, seed=1)
    residual = H.power_method(A, stop="residual", tol=1e-4, seed=1, max_products=5000)
    assert change.converged and residual.converged
    assert change.n_products < residual.n_products
    assert change.residual > 1e-4 * abs(change.value)


def test_deflated_power_method(small, medium):
    op, _, eig = small
    top = H.deflated_power_method(op, 3, tol=1e-8, max_products=3000)
    np.testing.assert_allclose(top.values, eig[::-1][:3], rtol=1e-6)
    assert top.converged.all() and top.vectors.shape == (op.dim, 3)
    torch.testing.assert_close(top.vectors.T @ top.vectors, torch.eye(3, dtype=op.dtype))
    assert np.all(top.residuals < 1e-5)
    bottom = H.deflated_power_method(op, 2, which="SA", tol=1e-8, max_products=5000)
    np.testing.assert_allclose(bottom.values, eig[:2], rtol=1e-5)
    op2, eig2 = medium
    top5 = H.deflated_power_method(op2, 5, tol=1e-4, max_products=3000)
    np.testing.assert_allclose(top5.values, eig2[::-1][:5], rtol=1e-3)


# ---------------------------------------------------------------------------------------------
# Lanczos
# ---------------------------------------------------------------------------------------------


def test_lanczos_top_k_and_smallest_match_eigvalsh(medium):
    op, eig = medium
    top = H.lanczos_eigs(op, 5, which="LA")
    np.testing.assert_allclose(top.values, eig[::-1][:5], rtol=1e-3)
    assert top.converged.all() and np.all(top.residuals <= 1e-6 * abs(top.values[0]))
    low = H.lanczos_eigs(op, 2, which="SA", maxiter=200)
    np.testing.assert_allclose(low.values, eig[:2], rtol=1e-3)
    assert H.lanczos_eigs(op, 1, which="LM").values[0] == pytest.approx(
        eig[np.argmax(np.abs(eig))], rel=1e-3
    )


def test_lanczos_is_seeded_and_counts_products(small):
    op, _, _ = small
    a = H.lanczos_eigs(op, 2, residuals=False)
    b = H.lanczos_eigs(op, 2, residuals=False)
    # seeded start vector, so the same Ritz values; to rounding, not bit for bit (BLAS)
    np.testing.assert_allclose(a.values, b.values, rtol=1e-12, atol=0.0)
    assert a.n_products > 0 and np.isnan(a.residuals).all()


def test_k_too_large_is_an_error(small):
    op, _, _ = small
    n = op.dim
    with pytest.raises(ValueError, match=rf"k must be <= the number of parameters \({n}\)"):
        H.lanczos_eigs(op, n + 1)
    with pytest.raises(ValueError, match=rf"k must be <= the number of parameters \({n}\)"):
        H.top_eigenvalues(op, n + 1)
    with pytest.raises(ValueError, match=rf"k must be <= the number of parameters \({n}\)"):
        H.deflated_power_method(op, n + 1)
    with pytest.raises(ValueError, match="which must be one of"):
        H.power_method(op, which="largest")
    with pytest.raises(ValueError, match="tol must be > 0"):
        H.power_method(op, tol=0)


# ---------------------------------------------------------------------------------------------
# Hutchinson trace and SLQ
# ---------------------------------------------------------------------------------------------


def test_hutchinson_trace_is_within_three_standard_errors_in_95_percent_of_seeds(small):
    op, dense, _ = small
    true = float(torch.trace(dense))
    hits = []
    for seed in range(40):
        est = H.hutchinson_trace(op, 30, seed=seed)
        hits.append(abs(est.value - true) <= 3 * est.stderr)
        assert est.n_products == 30 and est.stderr > 0
    assert np.mean(hits) >= 0.95
    g = H.hutchinson_trace(op, 30, seed=0, probe="gaussian")
    assert abs(g.value - true) <= 5 * g.stderr


def test_slq_weights_sum_to_one_and_density_integrates_to_one(small):
    op, _, eig = small
    s = H.slq_density(op, n_probes=3, n_steps=15, seed=0)
    assert s.weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.trapezoid(s.density, s.grid) == pytest.approx(1.0, abs=1e-3)
    assert s.nodes.min() >= eig[0] - 1e-8 and s.nodes.max() <= eig[-1] + 1e-8
    assert s.n_products == 45


def test_slq_with_a_full_krylov_space_finds_the_exact_eigenvalues():
    values = np.arange(1.0, 11.0)
    s = H.slq_density(_diag_op(values), n_probes=5, n_steps=10, seed=2, sigma=0.05)
    for lam in values:
        assert np.min(np.abs(s.nodes - lam)) < 1e-8
    # the quadrature's mean is the mean eigenvalue, in expectation over probes
    assert float(s.weights @ s.nodes) == pytest.approx(values.mean(), rel=0.2)


def test_lanczos_tridiagonal_stops_on_an_invariant_subspace():
    a, b = H.lanczos_tridiagonal(_diag_op([1.0, 1.0, 2.0, 2.0]), 4, np.ones(4))
    assert len(a) == 2 and len(b) == 1


# ---------------------------------------------------------------------------------------------
# The paper's estimates: eq 63 and eq 64
# ---------------------------------------------------------------------------------------------


def test_taylor_estimate_eq63_matches_eigvalsh(small, medium):
    op, _, eig = small
    r = H.taylor_estimate(op, tol=1e-6)
    assert r.converged and r.value == pytest.approx(np.max(np.abs(eig)), rel=1e-3)
    op2, eig2 = medium
    r2 = H.taylor_estimate(op2, tol=1e-4)
    assert r2.value == pytest.approx(np.max(np.abs(eig2)), rel=1e-3)


def test_fig24_gamma_schedule():
    got = [H.gamma_schedule(t) for t in (0, 19, 20, 79, 80, 199, 200, 10_000)]
    assert got == [0.1, 0.1, 0.03, 0.03, 0.01, 0.01, 0.003, 0.003]
    assert H.gamma_schedule(5, steps=((0, 0.5), (3, 0.2))) == 0.2


def test_online_estimate_eq64_reaches_the_right_order_within_100_presentations():
    """R7: with the γ correction and Fig 24's schedule, the right order of magnitude."""
    model, X, y = _problem((4, 6, 1), P=50, seed=4)
    op = H.HessianOperator(model, "mse", (X, y))
    lam = float(torch.linalg.eigvalsh(op.dense())[-1])
    est = H.online_eigenvalue_estimate(op, n_presentations=300, seed=0)
    assert est.corrected and len(est.norms) == 300
    assert 1 / 3 < est.estimates[99] / lam < 3
    assert 0.5 < est.final / lam < 2
    assert est.gammas[0] == 0.1 and est.gammas[-1] == 0.003
    assert sorted(set(est.patterns[:50].tolist())) == list(range(50))  # a permutation a pass


def test_online_estimate_as_printed_settles_near_lambda_over_gamma():
    model, X, y = _problem((4, 6, 1), P=50, seed=4)
    op = H.HessianOperator(model, "mse", (X, y))
    lam = float(torch.linalg.eigvalsh(op.dense())[-1])
    printed = H.online_eigenvalue_estimate(op, n_presentations=400, gamma=0.05, corrected=False)
    fixed = H.online_eigenvalue_estimate(op, n_presentations=400, gamma=0.05)
    assert printed.norms[-1] > 5 * lam  # ≈ λ/γ = 20 λ, not λ
    assert 0.5 < printed.final / lam < 2  # γ‖Ψ‖
    assert 0.5 < fixed.final / lam < 2
    with pytest.raises(ValueError, match="gamma must be in"):
        H.online_eigenvalue_estimate(op, gamma=1.5)
    with pytest.raises(ValueError, match="needs an operator built from a model"):
        H.online_eigenvalue_estimate(H.HessianOperator.from_function(lambda w: w @ w, X[0]))
