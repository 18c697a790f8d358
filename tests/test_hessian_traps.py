"""ebp.hessian: the traps an independent review found (losses, modes, steps, sizes, names)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ebp import hessian as H
from ebp.optim import eta_from_lambda_max
from ebp.repro import single_threaded

# PyTorch loads its forward-mode rules with torch.jit.script, which warns that it is deprecated
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")


@pytest.fixture(autouse=True)
def _one_thread():
    with single_threaded():
        yield


def _net(sizes=(3, 5, 2), act=nn.Tanh, seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers).to(dtype)


def _data(P=20, n_in=3, n_out=2, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(P, n_in, generator=g, dtype=dtype)
    y = torch.randn(P, n_out, generator=g, dtype=dtype)
    return X, y


def _autograd_hessian(model, loss_fn, X, y):
    """The dense Hessian by torch.autograd.functional.hessian of the loss of the flat weights."""
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    w0 = H.flatten_params(model)

    def E(w):
        split = w.split([s.numel() for s in shapes])
        pieces = {n: t.view(s) for n, t, s in zip(names, split, shapes, strict=True)}
        return loss_fn(torch.func.functional_call(model, pieces, (X,)), y)

    return torch.autograd.functional.hessian(E, w0)


# ---------------------------------------------------------------------------------------------
# D1: forward-over-reverse with torch's own losses
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", [nn.MSELoss(), F.mse_loss, nn.HuberLoss(), nn.SmoothL1Loss()])
def test_forward_over_reverse_works_with_torch_losses(loss):
    model = _net()
    X, y = _data()
    fr = H.HessianOperator(model, loss, (X, y), method="forward_over_reverse")
    db = H.HessianOperator(model, loss, (X, y), method="double_backward")
    ref = _autograd_hessian(model, loss, X, y)
    v = torch.randn(fr.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    # the same derivatives by different autograd routes: equal to rounding, scaled by ‖H‖
    scale = float(ref.abs().max())
    torch.testing.assert_close(fr.matvec(v), db.matvec(v), rtol=1e-10, atol=1e-12 * scale)
    torch.testing.assert_close(fr.dense(), 0.5 * (ref + ref.T), rtol=1e-10, atol=1e-12 * scale)
    torch.testing.assert_close(db.dense(), 0.5 * (ref + ref.T), rtol=1e-10, atol=1e-12 * scale)


# ---------------------------------------------------------------------------------------------
# D2: the train/eval mode is part of the snapshot
# ---------------------------------------------------------------------------------------------


def test_operator_keeps_the_mode_it_was_built_in():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Dropout(0.5), nn.Linear(16, 2)).double()
    X, y = _data()
    model.eval()
    op = H.HessianOperator(model, "mse", (X, y))
    v = torch.randn(op.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    before = op.matvec(v)
    model.train()  # a later switch must not put dropout into the operator's products
    after = op.matvec(v)
    # the same computation twice at the same weights; rounding only
    torch.testing.assert_close(after, before, rtol=1e-12, atol=0.0)
    no_cache = H.HessianOperator(model.eval(), "mse", (X, y), cache_graph=False)
    model.train()
    torch.testing.assert_close(no_cache.matvec(v), before, rtol=1e-10, atol=0.0)
    assert model.training and all(m.training for m in model.modules())  # mode restored


def test_a_random_operator_warns_at_construction():
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 2)).double()
    X, y = _data()
    with pytest.warns(H.NondeterministicOperatorWarning, match="model.eval"):
        H.HessianOperator(model, "mse", (X, y))
    with warnings.catch_warnings():
        warnings.simplefilter("error", H.NondeterministicOperatorWarning)
        H.HessianOperator(model.eval(), "mse", (X, y))


# ---------------------------------------------------------------------------------------------
# D3: the finite-difference step
# ---------------------------------------------------------------------------------------------


def test_finite_difference_default_step_is_accurate_on_a_relu_net():
    model = _net((10, 32, 32, 3), act=nn.ReLU, seed=1)
    X, y = _data(2000, 10, 3, seed=1)
    op = H.HessianOperator(model, "mse", (X, y))
    rng = np.random.default_rng(0)
    for _ in range(3):
        v = torch.as_tensor(rng.standard_normal(op.dim))
        exact = op.matvec(v)
        with warnings.catch_warnings():
            warnings.simplefilter("error", H.FiniteDifferenceWarning)
            fwd = H.finite_difference_hvp(op, v)
            cen = H.finite_difference_hvp(op, v, central=True)
        # float64: the forward difference keeps about half the digits, the central two thirds;
        # a step across a ReLU kink is off by 100 % or more (the old central default: 2000 %)
        assert float((fwd - exact).norm() / exact.norm()) < 1e-6
        assert float((cen - exact).norm() / exact.norm()) < 1e-7


def test_finite_difference_warns_across_a_kink():
    # f = ½‖w‖² + 10|w_0| at w = 0: every step along e_0 crosses the kink
    op = H.HessianOperator.from_function(
        lambda w: 0.5 * (w * w).sum() + 10 * w[0].abs(), torch.zeros(3, dtype=torch.float64)
    )
    with pytest.warns(H.FiniteDifferenceWarning, match="disagree"):
        H.finite_difference_hvp(op, torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64))
    smooth = H.HessianOperator.from_function(
        lambda w: (w.sin() ** 2).sum(), torch.linspace(0.1, 1.0, 4, dtype=torch.float64)
    )
    v = torch.ones(4, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error", H.FiniteDifferenceWarning)
        fd = H.finite_difference_hvp(smooth, v, central=True)
    torch.testing.assert_close(fd, smooth.matvec(v), rtol=1e-8, atol=1e-10)
    with pytest.raises(TypeError, match="check must be a bool"):
        H.finite_difference_hvp(smooth, v, check=1)


# ---------------------------------------------------------------------------------------------
# D4: batch-norm in training mode
# ---------------------------------------------------------------------------------------------


def test_gauss_newton_diagonal_refuses_batch_norm_in_training_mode():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 2)).double()
    X, y = _data()
    with pytest.raises(ValueError, match=r"training mode \(1\).*model\.eval\(\)"):
        H.gauss_newton_diagonal(model, "mse", (X, y))
    model.eval()
    d = H.gauss_newton_diagonal(model, "mse", (X, y))
    G = H.GaussNewtonOperator(model, "mse", (X, y)).dense()
    # per-pattern Jacobians against products through the whole batch: rounding only
    torch.testing.assert_close(d.values, torch.diagonal(G), rtol=1e-10, atol=1e-14)


# ---------------------------------------------------------------------------------------------
# D5: top_eigenvalues is Lanczos; the deflated power method keeps its own name
# ---------------------------------------------------------------------------------------------


def _clustered(n=40, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    ev = np.concatenate([[10.0, 9.99, 9.98, 9.97, 9.96], np.linspace(0.0, 1.0, n - 5)])
    return (Q * ev) @ Q.T, ev


def test_top_eigenvalues_is_lanczos_and_converges_on_a_clustered_spectrum():
    A, ev = _clustered()
    A = 0.5 * (A + A.T)
    op = H.MatrixOperator(torch.as_tensor(A))
    top = H.top_eigenvalues(op, 5)
    assert top.method == "lanczos" and top.converged.all()
    # eigsh against the eigenvalues the matrix was built from; 10 × tol of rounding
    np.testing.assert_allclose(top.values, ev[:5], rtol=1e-8)
    op.reset_count()
    slow = H.deflated_power_method(op, 5, tol=1e-6, max_products=1000)
    assert slow.method == "power_deflation"
    assert slow.n_products > 10 * top.n_products
    assert not slow.converged.all()  # the trap that renamed it


# ---------------------------------------------------------------------------------------------
# Limits
# ---------------------------------------------------------------------------------------------


def test_small_negative_eigenvalue_power_method_says_unconverged():
    # the documented limit of power_method(which="SA"), and the method that closes it
    rng = np.random.default_rng(1)
    Q, _ = np.linalg.qr(rng.standard_normal((30, 30)))
    ev = np.concatenate([[10.0, 5.0], np.linspace(0.0, 1.0, 27), [-0.01]])
    A = (Q * ev) @ Q.T
    A = 0.5 * (A + A.T)
    pm = H.power_method(A, which="SA", max_products=500)
    lz = H.lanczos_eigs(A, 1, which="SA")
    assert lz.values[0] == pytest.approx(-0.01, rel=1e-6)
    assert not pm.converged and pm.n_products == 500


def test_sum_reduced_loss_with_batches_warns():
    model = _net()
    X, y = _data(30)
    batches = [(X[:10], y[:10]), (X[10:], y[10:])]
    with pytest.warns(UserWarning, match="sum over patterns"):
        H.HessianOperator(model, nn.MSELoss(reduction="sum"), batches)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        H.HessianOperator(model, nn.MSELoss(), batches)
        H.HessianOperator(model, nn.MSELoss(reduction="sum"), (X, y))  # one batch: consistent


def test_images_and_token_ids_are_accepted():
    torch.manual_seed(0)
    cnn = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Tanh(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    cnn = cnn.double()
    g = torch.Generator().manual_seed(0)
    imgs = torch.randn(8, 1, 6, 6, generator=g, dtype=torch.float64)
    y = torch.randn(8, 3, generator=g, dtype=torch.float64)
    op = H.HessianOperator(cnn, nn.MSELoss(), (imgs, y))
    ref = _autograd_hessian(cnn, nn.MSELoss(), imgs, y)
    torch.testing.assert_close(op.dense(), 0.5 * (ref + ref.T), rtol=1e-10, atol=1e-13)

    emb = nn.Sequential(nn.Embedding(7, 3), nn.Flatten(), nn.Linear(3 * 4, 2)).double()
    ids = torch.randint(0, 7, (10, 4), generator=g)
    t = torch.randn(10, 2, generator=g, dtype=torch.float64)
    op = H.HessianOperator(emb, "mse", (ids.numpy(), t))
    assert op._obj.batches[0][0].dtype == torch.long
    ref = _autograd_hessian(emb, H.operator.get_loss("mse"), ids, t)
    torch.testing.assert_close(op.dense(), 0.5 * (ref + ref.T), rtol=1e-10, atol=1e-13)
    # integer data for a model without an embedding (pixel counts) become floats, as before
    lin = _net()
    _, y2 = _data()
    counts = torch.randint(0, 16, (20, 3), generator=g)
    a = H.HessianOperator(lin, "mse", (counts, y2))
    b = H.HessianOperator(lin, "mse", (counts.double(), y2))
    assert a._obj.batches[0][0].dtype == torch.float64
    torch.testing.assert_close(a.dense(), b.dense(), rtol=1e-12, atol=0.0)
    with pytest.raises(ValueError, match="X must be inputs the model accepts"):
        H.HessianOperator(cnn, "mse", (torch.randn(8, 6, 6, dtype=torch.float64), y))


def test_gauss_newton_operator_can_drop_its_graph():
    model = _net()
    X, y = _data()
    cached = H.GaussNewtonOperator(model, "mse", (X, y))
    lean = H.GaussNewtonOperator(model, "mse", (X, y), cache_graph=False)
    v = torch.randn(cached.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    # the same graph built once or afresh: rounding only
    torch.testing.assert_close(lean.matvec(v), cached.matvec(v), rtol=1e-12, atol=1e-15)
    assert cached._graphs and not lean._graphs
    assert lean.at(lean.params).cache_graph is False
    with pytest.raises(TypeError, match="cache_graph must be a bool"):
        H.GaussNewtonOperator(model, "mse", (X, y), cache_graph="no")


def test_a_loss_class_is_refused_everywhere():
    model = _net()
    X, y = _data()
    for call in (
        lambda: H.HessianOperator(model, nn.MSELoss, (X, y)),
        lambda: H.GaussNewtonOperator(model, nn.MSELoss, (X, y)),
        lambda: H.gauss_newton_diagonal(model, nn.MSELoss, (X, y)),
        lambda: H.dense_hessian(model, nn.MSELoss, (X, y)),
    ):
        with pytest.raises(TypeError, match=r"loss must be .*instantiate it: MSELoss\(\)"):
            call()


def test_dense_matrices_are_guarded():
    model = _net()
    X, y = _data()
    op = H.HessianOperator(model, "mse", (X, y))
    with pytest.raises(ValueError, match=r"max_bytes: a dense 32 × 32 matrix"):
        op.dense(max_bytes=1000)
    with pytest.raises(ValueError, match="max_bytes"):
        H.dense_hessian(model, "mse", (X, y), max_bytes=1000)
    assert op.n_products == 0  # refused before any product
    with pytest.raises(ValueError, match="max_products: the exact diagonal of 32"):
        H.hessian_diagonal(op, max_products=10)
    d = H.hessian_diagonal(op, chunk_size=5)
    assert d.n_products == op.dim
    # chunked columns against the dense matrix's: the same products, rounding only
    torch.testing.assert_close(d.values, torch.diagonal(op.dense()), rtol=1e-12, atol=1e-15)


def test_lanczos_on_tiny_operators_and_eta_for_two_weights():
    A = torch.tensor([[2.0, 1.0], [1.0, 3.0]], dtype=torch.float64)
    r = H.lanczos_eigs(A, 1)
    assert r.method == "dense" and r.converged.all()
    # eigh of a 2 × 2 matrix against the closed form (5 + √5)/2: rounding only
    assert r.values[0] == pytest.approx((5 + 5**0.5) / 2, rel=1e-12)
    both = H.top_eigenvalues(A, 2, which="SA")
    np.testing.assert_allclose(both.values, [(5 - 5**0.5) / 2, (5 + 5**0.5) / 2], rtol=1e-12)

    model = nn.Linear(1, 1).double()
    g = torch.Generator().manual_seed(3)
    X = torch.randn(25, 1, generator=g, dtype=torch.float64)
    y = torch.randn(25, 1, generator=g, dtype=torch.float64)
    rate = eta_from_lambda_max(model, "mse", (X, y), method="lanczos")
    # the Hessian of (1/P) Σ ½(w x + b − y)² is (1/P) Σ [x², x; x, 1]
    one = X.new_tensor(1.0)
    Hx = torch.stack([torch.stack([(X**2).mean(), X.mean()]), torch.stack([X.mean(), one])])
    lam = float(torch.linalg.eigvalsh(Hx)[-1])
    assert rate.lambda_max == pytest.approx(lam, rel=1e-10)
    power = eta_from_lambda_max(model, "mse", (X, y), method="power", tol=1e-10)
    assert power.eta == pytest.approx(rate.eta, rel=1e-6)


def test_loss_is_required():
    model = _net()
    X, y = _data()
    v = torch.zeros(32, dtype=torch.float64)
    with pytest.raises(TypeError, match="loss"):
        H.HessianOperator(model, data=(X, y))  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="loss is required with a model"):
        H.hessian_vector_product(model, v, data=(X, y))
    with pytest.raises(TypeError, match="loss is required with a model"):
        H.dense_hessian(model, data=(X, y))
    for fn in (H.GaussNewtonOperator, H.gauss_newton_diagonal, H.backprop_diagonal):
        with pytest.raises(TypeError, match="loss"):
            fn(model, data=(X, y))  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="loss"):
        H.gauss_newton_vector_product(model, v, data=(X, y))  # type: ignore[call-arg]


# ---------------------------------------------------------------------------------------------
# Smaller
# ---------------------------------------------------------------------------------------------


def test_pattern_gradient_refuses_out_of_range_patterns():
    model = _net()
    X, y = _data(20)
    op = H.HessianOperator(model, "mse", [(X[:8], y[:8]), (X[8:], y[8:])])
    with pytest.raises(ValueError, match="p must be >= 0"):
        op.pattern_gradient(-1)
    with pytest.raises(ValueError, match="p must be <= 19"):
        op.pattern_gradient(20)
    # pattern 9 is the second batch's second pattern; its own loss's gradient, rounding only
    alone = H.HessianOperator(model, "mse", (X[9:10], y[9:10])).gradient()
    torch.testing.assert_close(op.pattern_gradient(9), alone, rtol=1e-12, atol=1e-15)


def test_non_finite_functions_and_products_are_named():
    with pytest.raises(ValueError, match="fn must return a finite value at w; it returned nan"):
        H.HessianOperator.from_function(lambda w: (w * float("nan")).sum(), torch.ones(2))
    # finite at w = 0, but its Hessian there is not: ‖w‖
    op = H.HessianOperator.from_function(
        lambda w: (w * w).sum().sqrt(), torch.zeros(3, dtype=torch.float64)
    )
    with pytest.raises(FloatingPointError, match="the product H v is not finite"):
        H.power_method(op)
    with pytest.raises(FloatingPointError, match="not finite"):
        H.lanczos_eigs(op, 1)
    log = H.HessianOperator.from_function(lambda w: w.log().sum(), torch.ones(2))
    with pytest.raises(FloatingPointError, match="the loss E"):
        log.loss_value(torch.tensor([-1.0, 1.0]))
    with pytest.raises(FloatingPointError, match="the gradient"):
        log.gradient(torch.tensor([0.0, 1.0]))
    model = _net()
    X, y = _data()
    with pytest.raises(ValueError, match="loss must be finite"):
        H.HessianOperator(model, lambda o, t: (o - t).sum() / 0.0, (X, y))


def test_empty_batches_are_refused():
    model = _net()
    X, y = _data()
    with pytest.raises(ValueError, match=r"data\[1\] X must contain at least one pattern"):
        H.HessianOperator(model, "mse", [(X, y), (X[:0], y[:0])])
    with pytest.raises(ValueError, match="data must hold at least one batch"):
        H.HessianOperator(model, "mse", [])
