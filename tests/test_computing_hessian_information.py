"""ebp.experiments.computing_hessian_information (paper §7) and its plots."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

from matplotlib.figure import Figure

from ebp import hessian as H
from ebp.experiments import computing_hessian_information as hi
from ebp.plots import computing_hessian_information as hi_plots


@pytest.fixture(scope="module")
def problem():
    # A smaller version of the chapter's network: still two hidden layers.
    return hi.digit_problem(n_train=40, sizes=(64, 4, 3, 10), epochs=5, batch_size=10)


@pytest.fixture(scope="module")
def diag(problem):
    return hi.diagonal_comparison(problem)


@pytest.fixture(scope="module")
def matrices(problem):
    return hi.curvature_matrices(problem, trained=False)


def test_problem_shapes_and_training(problem):
    assert problem.n_params == 64 * 4 + 4 + 4 * 3 + 3 + 3 * 10 + 10
    assert problem.n_patterns == 40
    assert problem.X.dtype == torch.float64
    assert set(np.unique(problem.Y.numpy())) == {-1.0, 1.0}
    assert problem.loss_trained < problem.loss_init


def test_problem_is_deterministic(problem):
    again = hi.digit_problem(n_train=40, sizes=(64, 4, 3, 10), epochs=5, batch_size=10)
    # seeded, so the same weights; compared to rounding (BLAS reductions may differ in the last
    # bit between runs), scaled by the weights' size
    w0, w1 = H.flatten_params(problem.model), H.flatten_params(again.model)
    torch.testing.assert_close(w1, w0, rtol=1e-10, atol=1e-12 * float(w0.abs().max()))


def test_finite_difference_sweep_orders(problem):
    """Eq 59: truncation error O(α) forward, O(α²) central; rounding O(1/α) for small α."""
    sweep = hi.finite_difference_sweep(problem, n_directions=2)
    assert sweep.forward.shape == sweep.central.shape == (2, sweep.alphas.size)
    assert sweep.slope("forward", 1e-6, 1e-2) == pytest.approx(1.0, abs=0.1)
    assert sweep.slope("central", 1e-4, 1e-2) == pytest.approx(2.0, abs=0.2)
    assert sweep.slope("forward", 1e-13, 1e-10) == pytest.approx(-1.0, abs=0.2)
    a_f, e_f = sweep.best("forward")
    a_c, e_c = sweep.best("central")
    assert e_c < e_f < 1e-6
    assert a_c > a_f  # the central difference can afford a larger step
    # the default steps land near the best ones
    assert np.all(sweep.default_forward < 10 * e_f)
    assert np.all(sweep.default_central < 100 * e_c)
    assert np.all(sweep.default_central < sweep.default_forward / 10)


def test_curvature_matrices_gauss_newton_psd_hessian_indefinite(problem, matrices):
    m = matrices
    assert m.hessian_eigenvalues.shape == (problem.n_params,)
    assert m.gn_min_relative > -1e-12  # G is PSD
    assert m.n_negative > 0  # H is not
    assert m.gn_equals_square_jacobian < 1e-12
    assert 0 < m.gn_rel_frobenius < 2
    # §7.1: differences of gradients are close to H, but not exactly symmetric
    assert 1e-12 < m.fd_rel_frobenius < 1e-5
    assert 0 < m.fd_asymmetry < 1e-5
    assert m.fd_max_eig_error < 1e-5


def test_finite_difference_hessian_columns(problem):
    op = problem.operator()
    Hfd = hi.finite_difference_hessian(op, alpha=1e-7)
    assert Hfd.shape == (op.dim, op.dim)
    e0 = torch.zeros(op.dim, dtype=torch.float64)
    e0[-1] = 1.0
    exact = op.matvec(e0)
    assert float((Hfd[:, -1] - exact).norm() / exact.norm()) < 1e-5
    with pytest.raises(TypeError, match="op"):
        hi.finite_difference_hessian(problem)


def test_curvature_matrices_can_skip_finite_differences(problem, matrices):
    skipped = hi.curvature_matrices(problem, trained=False, finite_differences=False)
    assert math.isnan(skipped.fd_rel_frobenius)
    # the same dense Hessian and eigvalsh, computed twice: equal to rounding (LAPACK's threaded
    # reductions need not be bit-identical between calls)
    scale = np.abs(matrices.hessian_eigenvalues).max()
    np.testing.assert_allclose(
        skipped.hessian_eigenvalues, matrices.hessian_eigenvalues, rtol=0, atol=1e-12 * scale
    )


def test_backprop_diagonal_exact_on_top_two_layers_only(diag):
    assert diag.layers[0].startswith("layer 1 (64→4)")
    assert diag.err_gn[1:].max() < 1e-12
    assert diag.err_hessian[1:].max() < 1e-12
    assert diag.err_gn[0] > 1e-3  # the dropped cross terms show in the first layer
    assert diag.err_gn_vs_hessian[-1] < 1e-12  # outputs linear in the last layer's weights
    assert diag.n_products_exact == diag.exact_gn.size
    assert 0.0 <= diag.fraction_over(0) <= 1.0


def test_backprop_diagonal_exact_everywhere_with_one_hidden_layer():
    p = hi.digit_problem(n_train=40, sizes=(64, 5, 10), epochs=2)
    d = hi.diagonal_comparison(p)
    assert d.err_gn.max() < 1e-12
    assert d.err_hessian.max() < 1e-12


def test_hvp_accuracy_and_power_method(problem):
    acc = hi.hvp_accuracy(problem, n_directions=2)
    assert acc.forward_over_reverse.max() < 1e-12
    assert acc.dense.max() < 1e-12
    assert np.all(acc.fd_forward < 1e-5)
    assert np.all(acc.fd_central < acc.fd_forward)
    # R7: the power method with exact products and with eq 59 agrees with eigvalsh to 1e-3
    assert acc.power_exact_rel_error < 1e-5
    assert acc.power_fd_rel_error < 1e-3


def test_finite_difference_operator_matches_hvp(problem):
    op = problem.operator()
    fd = hi.FiniteDifferenceOperator(op, central=True)
    v = torch.ones(op.dim, dtype=torch.float64) / op.dim**0.5
    exact = op.matvec(v)
    assert float((fd.matvec(v) - exact).norm() / exact.norm()) < 1e-6
    assert fd.n_products == 1
    with pytest.raises(TypeError, match="op"):
        hi.FiniteDifferenceOperator("not an operator")
    with pytest.raises(ValueError, match="alpha"):
        hi.FiniteDifferenceOperator(op, alpha=-1.0)


def test_hvp_cost_memory_is_deterministic(problem):
    c1 = hi.hvp_cost(problem, repeats=1, calls=1)
    c2 = hi.hvp_cost(problem, repeats=1, calls=1)
    assert c1.memory_bytes == c2.memory_bytes
    assert c1.memory_ratio > 1.0  # the gradient's graph is kept on top of the forward's
    assert set(c1.timing_ratio) == {
        "gradient",
        "hv_cached",
        "hv_double_backward",
        "hv_forward_over_reverse",
        "hv_finite_difference",
    }
    assert c1.timing_ratio["gradient"] == 1.0


def test_saved_tensor_bytes_counts_saved_activations():
    x = torch.ones(100, dtype=torch.float64, requires_grad=True)
    assert hi.saved_tensor_bytes(lambda: (x * 2).sum()) == 0  # a constant factor saves nothing
    assert hi.saved_tensor_bytes(lambda: (x * x).sum()) == 800  # x saved once
    with pytest.raises(TypeError, match="fn"):
        hi.saved_tensor_bytes(3)


def test_linear_unit_hessian_is_xtx_over_p():
    """R3: the autograd Hessian of eq 28 is XᵀX/P (eq 29), eigenvalues 0.84 and 0.036."""
    lin = hi.linear_unit_hessian()
    assert lin.max_abs_diff < 1e-12
    np.testing.assert_allclose(lin.eigenvalues, [0.836, 0.036], rtol=1e-10)
    np.testing.assert_allclose(lin.eigenvalues, [0.84, 0.036], rtol=0.1)  # the paper's values
    assert lin.gn_max_abs_diff < 1e-12
    assert lin.independent_of_w < 1e-12
    np.testing.assert_allclose(lin.eigenvalues_with_bias, [1.0, 0.836, 0.036], atol=1e-10)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: hi.digit_problem(sizes=(10, 5, 10)), ValueError, "sizes"),
        (lambda: hi.digit_problem(eta=0.0), ValueError, "eta"),
        (lambda: hi.digit_problem(n_train=3), ValueError, "n_train"),
        (lambda: hi.finite_difference_sweep("p"), TypeError, "problem"),
        (lambda: hi.linear_unit_hessian(n=3), ValueError, "n"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_bad_input_with_problem(problem):
    with pytest.raises(ValueError, match="alphas"):
        hi.finite_difference_sweep(problem, alphas=[1e-3, -1.0])
    with pytest.raises(ValueError, match="n_directions"):
        hi.finite_difference_sweep(problem, n_directions=0)
    with pytest.raises(TypeError, match="trained"):
        hi.curvature_matrices(problem, trained="yes")
    with pytest.raises(ValueError, match="repeats"):
        hi.hvp_cost(problem, repeats=0)


def test_plots(problem, diag, matrices):
    sweep = hi.finite_difference_sweep(problem, n_directions=1)
    m = matrices
    figs = (
        hi_plots.plot_finite_difference_error(sweep),
        hi_plots.plot_spectra(m, m),
        hi_plots.plot_diagonals(diag),
    )
    assert all(isinstance(fig, Figure) for fig in figs)
    # two-panel figures are stacked, so they fit the text column
    for fig in figs[1:]:
        assert [ax.get_subplotspec().get_geometry()[:2] for ax in fig.axes] == [(2, 1)] * 2
    # the reference lines are named in the legends
    spectra_legend = [t.get_text() for t in figs[1].axes[0].get_legend().get_texts()]
    assert "eigenvalue 0" in spectra_legend
    scatter_legend = [t.get_text() for t in figs[2].axes[0].get_legend().get_texts()]
    assert "equal (y = x)" in scatter_legend
    # per-layer errors are points on the log axis, not bars
    assert not figs[2].axes[1].patches
    table = hi_plots.diagonal_table_markdown(diag)
    assert table.count("\n") == 1 + len(diag.layers)
    with pytest.raises(ValueError, match="matrices"):
        hi_plots.plot_spectra()
    with pytest.raises(TypeError, match="sweep"):
        hi_plots.plot_finite_difference_error(m)
