"""ebp.optim: stochastic diagonal Levenberg–Marquardt (§9.1) and η = 1/λ_max (eq 39)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ebp import hessian as H
from ebp import nn as ebp_nn
from ebp.optim import SDLM, eta_from_lambda_max
from ebp.repro import single_threaded
from ebp.train import fit, mse_loss

# PyTorch loads its forward-mode rules with torch.jit.script, which warns that it is deprecated
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")


@pytest.fixture(autouse=True)
def _one_thread():
    with single_threaded():
        yield


def _linear(seed=0):
    torch.manual_seed(seed)
    return nn.Linear(2, 1).double()


def _regression(P=40, n_in=2, n_out=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((P, n_in)) * np.array([1.0, 0.2])[:n_in]
    return torch.as_tensor(X), torch.as_tensor(rng.standard_normal((P, n_out)))


def _net(seed=1):
    return ebp_nn.mlp([2, 3, 1], "tanh", seed=seed, dtype=torch.float64)


def test_rates_are_eps_over_diagonal_plus_mu():
    w = nn.Parameter(torch.zeros(3, dtype=torch.float64))
    b = nn.Parameter(torch.zeros(2, dtype=torch.float64))
    opt = SDLM([w, b], eps=0.3, mu=0.1)
    h = torch.tensor([1.0, 0.5, 0.0, 2.0, 4.0], dtype=torch.float64)
    opt.update_curvature(diagonal=h)
    np.testing.assert_allclose(opt.rates(flat=True).numpy(), (0.3 / (h + 0.1)).numpy())
    rates = opt.rates()
    assert [r.shape for r in rates] == [w.shape, b.shape]
    np.testing.assert_allclose(opt.curvature(flat=True).numpy(), h.numpy())


def test_step_moves_each_weight_by_its_rate_times_its_gradient():
    w = nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    opt = SDLM([w], eps=0.5, mu=0.25)
    opt.update_curvature(diagonal=[torch.tensor([0.25, 0.75])])
    w.grad = torch.tensor([2.0, 4.0], dtype=torch.float64)
    opt.step()
    np.testing.assert_allclose(w.detach().numpy(), [1.0 - 0.5 / 0.5 * 2.0, -2.0 - 0.5 / 1.0 * 4.0])


def test_running_estimate_follows_eq_62():
    w = nn.Parameter(torch.zeros(2, dtype=torch.float64))
    opt = SDLM([w], gamma=0.25)
    h1, h2 = torch.tensor([4.0, 8.0]), torch.tensor([0.0, 16.0])
    opt.update_curvature(diagonal=h1)  # the first estimate is taken as is
    np.testing.assert_allclose(opt.curvature(flat=True).numpy(), h1.numpy())
    opt.update_curvature(diagonal=h2)
    np.testing.assert_allclose(opt.curvature(flat=True).numpy(), (0.75 * h1 + 0.25 * h2).numpy())
    assert opt.n_refreshes == 2


def test_unit_eps_zero_mu_full_batch_step_is_a_diagonal_newton_step():
    X, y = _regression()
    model = _linear()
    w0 = H.flatten_params(model)
    opt = SDLM(model.parameters(), eps=1.0, mu=0.0)
    opt.update_curvature(model, "mse", X, y)
    exact = H.hessian_diagonal(H.HessianOperator(model, "mse", (X, y))).values
    np.testing.assert_allclose(opt.curvature(flat=True).numpy(), exact.numpy(), rtol=1e-12)
    g = H.HessianOperator(model, "mse", (X, y)).gradient()
    opt.zero_grad()
    mse_loss(model(X), y).backward()
    opt.step()
    np.testing.assert_allclose(
        H.flatten_params(model).numpy(), (w0 - g / exact).numpy(), rtol=1e-12, atol=1e-14
    )


def test_diagonal_newton_step_solves_a_diagonal_quadratic_in_one_step():
    # a linear unit whose inputs are uncorrelated and zero-mean, without bias: H is diagonal
    X = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 3.0], [0.0, -3.0]], dtype=torch.float64)
    y = torch.tensor([[2.0], [-2.0], [1.5], [-1.5]], dtype=torch.float64)
    model = nn.Linear(2, 1, bias=False).double()
    opt = SDLM(model.parameters(), eps=1.0, mu=0.0, model=model, data=(X, y))
    opt.zero_grad()
    mse_loss(model(X), y).backward()
    opt.step()
    np.testing.assert_allclose(model.weight.detach().numpy(), [[2.0, 0.5]], rtol=1e-12)


def test_backprop_curvature_equals_gauss_newton_on_one_hidden_layer():
    X, y = _regression(P=20)
    model = _net()
    a = SDLM(model.parameters(), curvature="gauss_newton")
    b = SDLM(model.parameters(), curvature="backprop")
    a.update_curvature(model, "mse", X, y)
    b.update_curvature(model, "mse", X, y)
    np.testing.assert_allclose(a.curvature(flat=True), b.curvature(flat=True), rtol=1e-10)


def test_automatic_mode_in_fit_refreshes_once_per_epoch_on_a_subset():
    X, y = _regression(P=30)
    model = _net()
    made = []

    def factory(params):
        opt = SDLM(
            params,
            mu=0.05,
            model=model,
            data=(X, y),
            refresh_every=1,
            refresh_unit="epoch",
            batch_size=5,
            subset=10,
        )
        made.append(opt)
        return opt

    hist = fit(model, X, y, eta=0.1, epochs=3, batch_size=5, optimizer=factory)
    opt = made[0]
    assert opt.param_groups[0]["lr"] == 0.1  # fit's eta is ε
    assert opt.n_steps == 18 and opt.steps_between_refreshes == 6
    assert opt.n_refreshes == 3 and opt.curvature_patterns == 30
    assert hist.train_loss[-1] < hist.train_loss[0]
    full = SDLM(model.parameters(), model=model, data=(X, y), refresh_unit="epoch", batch_size=None)
    assert full.steps_between_refreshes == 1


def test_subset_draws_are_seeded():
    X, y = _regression(P=30)
    diags = []
    for _ in range(2):
        model = _net()
        opt = SDLM(model.parameters(), model=model, data=(X, y), subset=7, seed=3)
        opt.update_curvature()
        opt.update_curvature()
        diags.append(opt.curvature(flat=True))
    assert torch.equal(diags[0], diags[1])
    assert opt.curvature_patterns == 14


def test_bad_arguments_are_named():
    w = [nn.Parameter(torch.zeros(2))]
    for kwargs, name in [
        ({"eps": 0.0}, "eps"),
        ({"mu": -1.0}, "mu"),
        ({"gamma": 0.0}, "gamma"),
        ({"gamma": 1.5}, "gamma"),
        ({"curvature": "exact"}, "curvature"),
        ({"refresh_every": 0}, "refresh_every"),
        ({"refresh_unit": "hour"}, "refresh_unit"),
        ({"subset": 0}, "subset"),
        ({"weight_decay": -0.1}, "weight_decay"),
        ({"data": (np.zeros((2, 2)), np.zeros((2, 1)))}, "model"),
        ({"refresh_unit": "epoch"}, "data"),
        ({"loss": "hinge"}, "loss"),
    ]:
        with pytest.raises(ValueError, match=name):
            SDLM(w, **kwargs)
    with pytest.raises(ValueError, match="loss"):
        SDLM(w, loss=mse_loss, curvature="backprop")
    with pytest.raises(ValueError, match="model"):
        SDLM(w, model=nn.Linear(2, 1))  # does not own w
    opt = SDLM(w, mu=0.0)
    w[0].grad = torch.ones(2)
    with pytest.raises(RuntimeError, match="update_curvature"):
        opt.step()
    with pytest.raises(ValueError, match="diagonal"):
        opt.update_curvature(diagonal=torch.ones(3))
    with pytest.raises(ValueError, match="diagonal"):
        opt.update_curvature(diagonal=torch.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="either"):
        opt.update_curvature(nn.Linear(2, 1), diagonal=torch.ones(2))
    with pytest.raises(ValueError, match="model"):
        opt.update_curvature()
    opt.update_curvature(diagonal=torch.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="mu"):
        opt.step()
    with pytest.raises(ValueError, match="mu"):
        opt.add_param_group({"params": [nn.Parameter(torch.zeros(1))], "mu": -1.0})


def test_eta_from_lambda_max_is_one_over_the_top_eigenvalue():
    X, y = _regression(P=25)
    model = _net(seed=2)
    top = float(torch.linalg.eigvalsh(H.dense_hessian(model, "mse", (X, y)))[-1])
    for method in ("power", "lanczos"):
        eta, result = eta_from_lambda_max(model, "mse", (X, y), method=method, tol=1e-10)
        assert eta == pytest.approx(1.0 / top, rel=1e-7)
        assert result is not None
    rate = eta_from_lambda_max(model, "mse", (X, y), matrix="gauss_newton", tol=1e-10)
    gn = H.GaussNewtonOperator(model, "mse", (X, y)).dense()
    assert rate.lambda_max == pytest.approx(float(torch.linalg.eigvalsh(gn)[-1]), rel=1e-7)
    assert rate.eta_max == pytest.approx(2.0 * rate.eta)


def test_eta_from_lambda_max_rejects_bad_input():
    X, y = _regression(P=10)
    model = _linear()
    with pytest.raises(ValueError, match="method"):
        eta_from_lambda_max(model, "mse", (X, y), method="qr")
    with pytest.raises(ValueError, match="matrix"):
        eta_from_lambda_max(model, "mse", (X, y), matrix="fisher")
    with pytest.raises(TypeError, match="model"):
        eta_from_lambda_max("net", "mse", (X, y))
    with pytest.raises(ValueError, match="λ_max"):
        eta_from_lambda_max(model, lambda o, t: -mse_loss(o, t), (X, y))


def test_data_is_checked_as_fit_checks_it():
    # SDLM's data goes through ebp.losses.as_inputs/as_targets against the model, like fit's
    X, y = _regression(P=10)
    model = _net()

    class Dataset:
        def __init__(self, X, y):
            self.X, self.y = X, y

    opt = SDLM(model.parameters(), model=model, data=(X.float(), y.numpy()[:, 0]))
    assert opt.data[0].dtype == torch.float64 and opt.data[1].shape == (10, 1)  # model's dtype
    with pytest.raises(ValueError, match=r"^data\[0\] must have shape \(P, 2\)"):
        SDLM(model.parameters(), model=model, data=(X[:, :1], y))
    with pytest.raises(ValueError, match=r"^data\.X must be finite"):
        SDLM(model.parameters(), model=model, data=Dataset(X * np.nan, y))
    with pytest.raises(ValueError, match=r"^data\[1\] must have the shape of the model's output"):
        SDLM(model.parameters(), model=model, data=(X, torch.cat([y, y], 1)))
    with pytest.raises(ValueError, match=r"^X must have shape \(P, 2\)"):
        opt.update_curvature(X=X[:, :1], y=y)
