"""ebp.hessian: exact products, dense Hessians, Gauss–Newton and diagonals (float64)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from ebp import data
from ebp import hessian as H
from ebp import nn as ebp_nn
from ebp.repro import single_threaded

# PyTorch loads its forward-mode rules with torch.jit.script, which warns that it is deprecated
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")


@pytest.fixture(autouse=True)
def _one_thread():
    with single_threaded():
        yield


def _data(P, n_in, n_out, seed=0, loss="mse"):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((P, n_in))
    if loss == "cross_entropy":
        return X, rng.integers(0, n_out, size=P)
    if loss == "bce":
        return X, rng.uniform(0, 1, size=(P, n_out))
    return X, rng.standard_normal((P, n_out))


def _net(sizes, act="tanh", seed=1, **kw):
    return ebp_nn.mlp(sizes, act, seed=seed, dtype=torch.float64, **kw)


def _rel(a, b):
    return float((a - b).norm() / b.norm())


@pytest.fixture(scope="module")
def small():
    with single_threaded():
        return _small()


def _small():
    model = _net((4, 6, 3))
    X, y = _data(30, 4, 3)
    op = H.HessianOperator(model, "mse", (X, y))
    return model, X, y, op, op.dense()


# ---------------------------------------------------------------------------------------------
# Hessian–vector products and dense Hessians
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", H.operator.HVP_METHODS)
def test_exact_products_match_the_dense_hessian_on_2410_parameters(method):
    """The issue's check: both exact products equal dense H times v to 1e-10 (64-32-10 net)."""
    model = _net((64, 32, 10), "lecun_tanh")
    X, y = _data(64, 64, 10, seed=3)
    op = H.HessianOperator(model, "mse", (X, y), method=method)
    assert op.dim == 64 * 32 + 32 + 32 * 10 + 10
    dense = H.dense_hessian(model, "mse", (X, y))
    rng = np.random.default_rng(0)
    for _ in range(2):
        v = torch.as_tensor(rng.standard_normal(op.dim))
        assert _rel(op.matvec(v), dense @ v) < 1e-10


def test_dense_hessian_equals_autograds_hessian(small):
    _, X, y, op, dense = small
    f = op._obj.term(0)
    reference = torch.autograd.functional.hessian(f, op.params)
    torch.testing.assert_close(dense, reference, rtol=1e-12, atol=1e-13)
    vectorised = H.dense_hessian(op.model, "mse", (X, y), method="forward_over_reverse")
    torch.testing.assert_close(vectorised, reference, rtol=1e-12, atol=1e-13)
    uncached = H.HessianOperator(op.model, "mse", (X, y), cache_graph=False).dense()
    torch.testing.assert_close(uncached, reference, rtol=1e-12, atol=1e-13)


def test_products_work_under_no_grad_and_with_a_dataset(small):
    model, X, y, op, dense = small
    v = torch.ones(op.dim, dtype=torch.float64)
    with torch.no_grad():
        for method in H.operator.HVP_METHODS:
            fresh = H.HessianOperator(model, "mse", (X, y), method=method)
            assert _rel(fresh.matvec(v), dense @ v) < 1e-12
        assert H.GaussNewtonOperator(model, "mse", (X, y)).matvec(v).shape == v.shape
    lms = data.two_gaussians(20, seed=0)
    op_ds = H.HessianOperator(nn.Linear(2, 1).double(), "mse", lms)
    assert op_ds.n_patterns == 20


@pytest.mark.parametrize("loss", ["mse", "cross_entropy", "bce"])
@pytest.mark.parametrize("method", H.operator.HVP_METHODS)
def test_batches_are_weighted_by_size_to_give_the_full_data_product(loss, method):
    model = _net((3, 5, 4))
    X, y = _data(23, 3, 4, loss=loss)
    full = H.HessianOperator(model, loss, (X, y), method=method)
    parts = [(X[:5], y[:5]), (X[5:17], y[5:17]), (X[17:], y[17:])]
    batched = H.HessianOperator(model, loss, parts, method=method)
    v = torch.as_tensor(np.random.default_rng(1).standard_normal(full.dim))
    assert _rel(batched.matvec(v), full.matvec(v)) < 1e-12
    assert batched.loss_value() == pytest.approx(full.loss_value(), rel=1e-12)
    assert _rel(batched.gradient(), full.gradient()) < 1e-12


def test_a_function_of_a_flat_vector_gets_the_same_products():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((7, 7))
    A = torch.as_tensor(A @ A.T)

    def f(w):
        return 0.5 * w @ A @ w + torch.sin(w).sum()

    w = torch.as_tensor(rng.standard_normal(7))
    exact = A - torch.diag(torch.sin(w))
    for method in H.operator.HVP_METHODS:
        op = H.HessianOperator.from_function(f, w, method=method)
        v = torch.as_tensor(rng.standard_normal(7))
        assert _rel(op.matvec(v), exact @ v) < 1e-12
        assert _rel(H.hessian_vector_product(f, v, w=w, method=method), exact @ v) < 1e-12
    torch.testing.assert_close(H.dense_hessian(f, w=w), exact)


def test_a_linear_function_has_a_zero_hessian_by_both_methods():
    w = torch.ones(3, dtype=torch.float64)
    for method in H.operator.HVP_METHODS:
        op = H.HessianOperator.from_function(lambda w: w.sum(), w, method=method)
        # exactly 0: a linear function's gradient has no graph, so no arithmetic is done
        assert torch.equal(op.matvec(torch.ones(3)), torch.zeros(3, dtype=torch.float64))


def test_lms_hessian_is_xtx_over_p():
    """R3: the autograd Hessian of eq 28 equals (1/P) Σ x xᵀ (eq 29), bias input included."""
    X, y = data.two_gaussians(100, seed=0)
    model = nn.Linear(2, 1).double()
    dense = H.dense_hessian(model, "mse", (X, y))
    Xa = np.hstack([X, np.ones((X.shape[0], 1))])  # parameters: w1, w2, then the bias
    expected = torch.as_tensor(Xa.T @ Xa / X.shape[0])
    torch.testing.assert_close(dense, expected, rtol=1e-12, atol=1e-14)
    # without the bias the eigenvalues are the input covariance's: 0.84 and 0.036 (Fig 10)
    eig = np.linalg.eigvalsh(expected[:2, :2].numpy())
    np.testing.assert_allclose(eig, [0.036, 0.836], rtol=1e-9)


def test_finite_difference_eq59_approaches_the_exact_product(small):
    _, _, _, op, dense = small
    v = torch.as_tensor(np.random.default_rng(4).standard_normal(op.dim))
    exact = dense @ v
    forward = _rel(H.finite_difference_hvp(op, v), exact)
    central = _rel(H.finite_difference_hvp(op, v, central=True), exact)
    assert forward < 1e-6
    assert central < forward
    # a large step shows the O(α) error of the one-sided difference
    assert _rel(H.finite_difference_hvp(op, v, alpha=1e-2), exact) > 1e-4


def test_flatten_and_unflatten_round_trip(small):
    model = small[0]
    flat = H.flatten_params(model)
    pieces = H.unflatten_params(flat, model)
    assert list(pieces) == [n for n, _ in model.named_parameters()]
    for name, p in model.named_parameters():
        assert torch.equal(pieces[name], p.detach())
    as_list = H.unflatten_params(flat, list(model.parameters()))
    assert torch.equal(torch.cat([t.reshape(-1) for t in as_list]), flat)
    with pytest.raises(ValueError, match="flat must have one entry per parameter"):
        H.unflatten_params(flat[:-1], model)


def test_the_operator_is_a_snapshot_and_at_moves_it(small):
    *_, op, dense = small
    w = op.params
    moved = op.at(w + 0.1)
    assert not torch.equal(moved.dense(), dense)
    assert torch.equal(op.params, w)
    assert op.n_products >= op.dim  # dense() counted its columns


def test_linear_operator_for_scipy_counts_products(small):
    from scipy.sparse.linalg import eigsh

    _, _, _, op, dense = small
    op.reset_count()
    lin = op.as_linear_operator()
    vals = eigsh(lin, k=1, which="LA", v0=np.ones(op.dim), return_eigenvectors=False)
    assert vals[0] == pytest.approx(float(torch.linalg.eigvalsh(dense)[-1]), rel=1e-8)
    assert op.n_products > 0


# ---------------------------------------------------------------------------------------------
# Gauss–Newton
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["mse", "cross_entropy", "bce"])
def test_gauss_newton_product_is_symmetric_positive_semidefinite(loss):
    model = _net((4, 7, 3))
    X, y = _data(25, 4, 3, seed=5, loss=loss)
    G = H.GaussNewtonOperator(model, loss, (X, y))
    rng = np.random.default_rng(6)
    for _ in range(3):
        u, v = (torch.as_tensor(rng.standard_normal(G.dim)) for _ in range(2))
        Gu, Gv = G.matvec(u), G.matvec(v)
        assert float(v @ Gu) == pytest.approx(float(u @ Gv), rel=1e-11)
        assert float(v @ Gv) >= 0
    columns = torch.stack([G.matvec(e) for e in torch.eye(G.dim, dtype=torch.float64)], 1)
    torch.testing.assert_close(columns, columns.T, rtol=0, atol=1e-13)
    eig = torch.linalg.eigvalsh(columns)
    assert float(eig[0]) >= -1e-12 * float(eig[-1])
    # while the Hessian itself is indefinite here
    assert float(torch.linalg.eigvalsh(H.dense_hessian(model, loss, (X, y)))[0]) < 0


def test_square_jacobian_equals_ggn_for_mse_but_not_for_cross_entropy():
    model = _net((3, 5, 4))
    X, y = _data(20, 3, 4)
    ggn = H.GaussNewtonOperator(model, "mse", (X, y)).dense()
    sq = H.GaussNewtonOperator(model, "mse", (X, y), kind="square_jacobian").dense()
    torch.testing.assert_close(sq, ggn, rtol=1e-12, atol=1e-14)
    Xc, yc = _data(20, 3, 4, loss="cross_entropy")
    ggn_ce = H.GaussNewtonOperator(model, "cross_entropy", (Xc, yc)).dense()
    sq_ce = H.GaussNewtonOperator(model, "cross_entropy", (Xc, yc), kind="square_jacobian")
    assert _rel(sq_ce.dense(), ggn_ce) > 0.1
    v = torch.ones(ggn.shape[0], dtype=torch.float64)
    assert _rel(H.gauss_newton_vector_product(model, v, "mse", (X, y)), ggn @ v) < 1e-12
    assert _rel(H.square_jacobian_vector_product(model, v, "mse", (X, y)), ggn @ v) < 1e-12


def test_gauss_newton_equals_the_hessian_for_a_linear_model():
    X, y = _data(15, 3, 2)
    model = nn.Linear(3, 2).double()
    G = H.GaussNewtonOperator(model, "mse", (X, y)).dense()
    torch.testing.assert_close(G, H.dense_hessian(model, "mse", (X, y)))


# ---------------------------------------------------------------------------------------------
# Diagonals
# ---------------------------------------------------------------------------------------------


def test_exact_hessian_diagonal(small):
    _, _, _, op, dense = small
    d = H.hessian_diagonal(op)
    torch.testing.assert_close(d.values, torch.diagonal(dense))
    assert d.n_products == op.dim
    assert d.error(torch.diagonal(dense)).rel_l2 < 1e-14


@pytest.mark.parametrize("loss", ["mse", "cross_entropy", "bce"])
def test_exact_gauss_newton_diagonal_matches_the_dense_one(loss):
    model = _net((4, 6, 5, 3))
    X, y = _data(37, 4, 3, seed=7, loss=loss)
    dense = H.GaussNewtonOperator(model, loss, [(X[:20], y[:20]), (X[20:], y[20:])]).dense()
    d = H.gauss_newton_diagonal(model, loss, (X, y), chunk_size=8)
    assert d.error(torch.diagonal(dense)).max_rel < 1e-12


@pytest.mark.parametrize("act", ["tanh", "lecun_tanh", "logistic", "lecun_tanh+0.1x"])
def test_backprop_diagonal_is_exact_for_one_hidden_layer_and_mse(act):
    """§7.4: with one hidden layer and the squared error no off-diagonal term is dropped."""
    model = _net((4, 6, 3), act, output_activation="tanh")
    X, y = _data(30, 4, 3, seed=8)
    ggn_diag = H.gauss_newton_diagonal(model, "mse", (X, y))
    bp = H.backprop_diagonal(model, "mse", (X, y))
    assert bp.error(ggn_diag).max_rel < 1e-12
    full = H.backprop_diagonal(model, "mse", (X, y), gauss_newton=False)
    exact = torch.diagonal(H.dense_hessian(model, "mse", (X, y)))
    assert full.error(exact).max_rel < 1e-12
    assert bp.error(exact).max_rel > 1e-6  # the f″ terms matter for the full Hessian


def test_backprop_diagonal_approximates_lower_layers_of_deeper_nets():
    model = _net((4, 6, 5, 3))
    X, y = _data(30, 4, 3, seed=9)
    exact = H.gauss_newton_diagonal(model, "mse", (X, y)).by_parameter(model)
    bp = H.backprop_diagonal(model, "mse", (X, y)).by_parameter(model)
    for name in ("2.weight", "2.bias", "4.weight", "4.bias"):  # the last two layers: exact
        torch.testing.assert_close(bp[name], exact[name], rtol=1e-11, atol=1e-15)
    err = (bp["0.weight"] - exact["0.weight"]).norm() / exact["0.weight"].norm()
    assert 1e-6 < float(err) < 1.0  # dropped off-diagonal terms: an approximation, not noise


def test_backprop_diagonal_cross_entropy_is_exact_on_the_last_layer():
    model = _net((4, 6, 3))
    X, y = _data(30, 4, 3, seed=10, loss="cross_entropy")
    exact = H.gauss_newton_diagonal(model, "cross_entropy", (X, y)).by_parameter(model)
    bp = H.backprop_diagonal(model, "cross_entropy", (X, y)).by_parameter(model)
    torch.testing.assert_close(bp["2.weight"], exact["2.weight"], rtol=1e-11, atol=1e-15)
    torch.testing.assert_close(bp["2.bias"], exact["2.bias"], rtol=1e-11, atol=1e-15)
    assert float((bp["0.weight"] - exact["0.weight"]).abs().max()) > 1e-8


def test_backprop_diagonal_of_a_single_linear_layer_is_the_lms_diagonal():
    X, y = data.two_gaussians(100, seed=1)
    bp = H.backprop_diagonal(nn.Linear(2, 1).double(), "mse", (X, y))
    Xa = np.hstack([X, np.ones((100, 1))])
    np.testing.assert_allclose(bp.values.numpy(), (Xa**2).mean(0), rtol=1e-12)


def test_hutchinson_diagonal_is_unbiased_within_its_standard_errors(small):
    _, _, _, op, dense = small
    est = H.hutchinson_diagonal(op, 400, seed=3)
    exact = torch.diagonal(dense)
    z = ((est.values - exact).abs() / est.stderr.clamp_min(1e-300)).numpy()
    assert np.mean(z <= 3) >= 0.95
    assert est.n_products == 400
    fewer = H.hutchinson_diagonal(op, 25, seed=3)
    assert est.error(exact).rel_l2 < fewer.error(exact).rel_l2


# ---------------------------------------------------------------------------------------------
# Bad input and warnings
# ---------------------------------------------------------------------------------------------


def test_bad_input_gets_clear_errors(small):
    model, X, y, op, _ = small
    with pytest.raises(ValueError, match="one row per pattern"):
        H.HessianOperator(model, "mse", (X, y[:-1]))
    with pytest.raises(ValueError, match="shape of the model's output"):
        H.HessianOperator(model, "mse", (X, y[:, :2]))
    with pytest.raises(ValueError, match=r"X must have shape \(P, 4\)"):
        H.HessianOperator(model, "mse", (X[:, 0], y))
    with pytest.raises(TypeError, match="data must be a pair"):
        H.HessianOperator(model, "mse", None)
    with pytest.raises(TypeError, match=r"data\[1\] must be a pair"):
        H.HessianOperator(model, "mse", [(X, y), X])
    with pytest.raises(ValueError, match="v must have shape"):
        op.matvec(torch.zeros(op.dim + 1))
    with pytest.raises(ValueError, match="v must be finite"):
        op.matvec(torch.full((op.dim,), float("nan")))
    with pytest.raises(ValueError, match="loss must return a scalar"):
        H.HessianOperator(model, lambda o, t: ((o - t) ** 2).sum(1), (X, y))
    with pytest.raises(ValueError, match="fn must return a scalar"):
        H.HessianOperator.from_function(lambda w: w**2, torch.ones(3))
    with pytest.raises(ValueError, match="method must be one of"):
        H.HessianOperator(model, "mse", (X, y), method="finite")
    with pytest.raises(ValueError, match=r"w \(the flat vector .*\) is required"):
        H.hessian_vector_product(lambda w: w.sum(), torch.ones(3))
    with pytest.raises(TypeError, match="model must be"):
        H.HessianOperator("net", "mse", (X, y))
    with pytest.raises(ValueError, match="backprop_diagonal needs"):
        H.backprop_diagonal(nn.Sequential(nn.Linear(4, 3), nn.Softmax(1)).double(), "mse", (X, y))
    with pytest.raises(ValueError, match="loss must be one of"):
        H.backprop_diagonal(model, lambda o, t: o.sum(), (X, y))
    with pytest.raises(ValueError, match="symmetric"):
        H.power_method(np.array([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(TypeError, match="op must be a CurvatureOperator"):
        H.power_method("H")


def test_non_finite_parameters_are_rejected():
    model = _net((3, 4, 2))
    with torch.no_grad():
        model[0].weight[1, 2] = float("nan")
    X, y = _data(10, 3, 2)
    with pytest.raises(ValueError, match=r"'0.weight' contains 1 NaN"):
        H.HessianOperator(model, "mse", (X, y))
    with pytest.raises(ValueError, match="w must be finite"):
        H.HessianOperator.from_function(lambda w: w.sum(), torch.tensor([1.0, float("inf")]))


def test_dropout_or_batchnorm_in_training_mode_warns_and_is_not_switched():
    X, y = _data(12, 3, 2)
    for layer in (nn.Dropout(0.5), nn.BatchNorm1d(4)):
        model = nn.Sequential(nn.Linear(3, 4), layer, nn.Tanh(), nn.Linear(4, 2)).double()
        with pytest.warns(H.NondeterministicOperatorWarning, match="not deterministic"):
            H.HessianOperator(model, "mse", (X, y))
        assert model.training and layer.training
        model.eval()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            H.HessianOperator(model, "mse", (X, y))
        assert not layer.training


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_operator_agrees_with_cpu(small):
    _, X, y, op, dense = small
    gpu = H.HessianOperator(_net((4, 6, 3), device="cuda"), "mse", (X, y))
    assert gpu.device.type == "cuda"
    v = torch.ones(op.dim, dtype=torch.float64)
    torch.testing.assert_close(gpu.matvec(v).cpu(), dense @ v)
    G = H.GaussNewtonOperator(_net((4, 6, 3), device="cuda"), "mse", (X, y))
    assert G.matvec(v).device.type == "cuda"
    r = H.power_method(gpu)
    assert r.value == pytest.approx(float(torch.linalg.eigvalsh(dense)[-1]), rel=1e-5)
