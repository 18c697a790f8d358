"""The classical second-order methods of §6 (``ebp.second_order``), checked against SciPy.

Every comparison of floating results allows for rounding: the iterates pass through BLAS
(matrix products, ``lstsq``, ``solve``) whose summation order depends on the build and the
number of threads, so minimizers are compared to a tolerance set by the stopping rule
(``‖x − x*‖ ≤ ‖H⁻¹‖ ‖∇E(x)‖`` near a minimum), never bit for bit.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
import scipy.optimize as so
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import ebp.hessian as hs
from ebp.second_order import (
    METHODS,
    LineSearchResult,
    Result,
    minimize,
    model_objective,
    wolfe_line_search,
)

GRADIENT_METHODS = ("cg-fr", "cg-pr", "bfgs")

# ---------------------------------------------------------------------------------------------
# Test problems
# ---------------------------------------------------------------------------------------------


class Quadratic:
    """``E(w) = ½ wᵀHw − bᵀw`` with eigenvalues spread geometrically over ``[1, κ]``; also as
    residuals ``r = A w − c`` with ``AᵀA = H`` and ``Aᵀc = b`` (the same loss plus a constant)."""

    def __init__(self, n: int, kappa: float, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        self.eigs = np.geomspace(1.0, kappa, n)
        self.H = (Q * self.eigs) @ Q.T
        self.b = rng.standard_normal(n)
        self.A = np.sqrt(self.eigs)[:, None] * Q.T
        self.c = np.linalg.solve(self.A.T, self.b)
        self.x_star = np.linalg.solve(self.H, self.b)
        self.n = n

    def fun(self, w):
        Hw = self.H @ w
        return 0.5 * w @ Hw - self.b @ w, Hw - self.b

    def hess(self, w):
        return self.H

    def hessp(self, w, v):
        return self.H @ v

    def residuals(self, w):
        return self.A @ w - self.c, self.A


def rosen(w):
    return so.rosen(w), so.rosen_der(w)


def rosen_residuals(w):
    """Rosenbrock as ``½‖r‖²`` with ``r = (√2·10 (w₂ − w₁²), √2 (1 − w₁), …)``, so that
    ``½‖r‖²`` equals ``scipy.optimize.rosen``."""
    n = w.size
    s = math.sqrt(2.0)
    r = np.concatenate([s * 10 * (w[1:] - w[:-1] ** 2), s * (1 - w[:-1])])
    J = np.zeros((2 * (n - 1), n))
    i = np.arange(n - 1)
    J[i, i] = -s * 20 * w[:-1]
    J[i, i + 1] = s * 10
    J[n - 1 + i, i] = -s
    return r, J


class DecayFit:
    """Fit ``a e^{−k t} + c`` to noisy samples: residuals ``model − data`` and their Jacobian."""

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.t = np.linspace(0, 4, 40)
        self.data = 2.5 * np.exp(-1.3 * self.t) + 0.5 + 0.05 * rng.standard_normal(self.t.size)
        self.w0 = np.array([1.0, 0.5, 0.0])

    def residuals(self, w):
        a, k, c = w
        e = np.exp(-k * self.t)
        r = a * e + c - self.data
        J = np.column_stack([e, -a * self.t * e, np.ones_like(self.t)])
        return r, J

    def fun(self, w):
        r, J = self.residuals(w)
        return 0.5 * r @ r, J.T @ r

    def scipy_fit(self):
        return so.least_squares(
            lambda w: self.residuals(w)[0],
            self.w0,
            jac=lambda w: self.residuals(w)[1],
            method="lm",
            xtol=1e-15,
            ftol=1e-15,
            gtol=1e-15,
        ).x


def close(x, y, rtol):
    """``‖x − y‖ ≤ rtol · max(‖y‖, 1)`` (rounding-tolerant vector comparison)."""
    return float(np.linalg.norm(np.asarray(x) - np.asarray(y))) <= rtol * max(
        float(np.linalg.norm(y)), 1.0
    )


def run_method(method, problem, w0, **kw):
    """``minimize`` with the functions ``method`` takes from ``problem``."""
    if method in ("gauss-newton", "levenberg-marquardt"):
        return minimize(None, w0, method=method, residuals=problem.residuals, **kw)
    if method == "newton":
        kw.setdefault("hess", problem.hess)
    return minimize(problem.fun, w0, method=method, **kw)


# ---------------------------------------------------------------------------------------------
# The same minimizer as SciPy
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kappa", [1.0, 10.0, 1e3])
@pytest.mark.parametrize("method", METHODS)
def test_quadratic_of_known_condition_number(method, kappa):
    q = Quadratic(8, kappa, seed=1)
    w0 = np.ones(8)
    res = run_method(method, q, w0, tol=1e-10)
    assert isinstance(res, Result) and res.success, res.message
    # λ_min = 1, so ‖x − x*‖ ≤ ‖∇E(x)‖ ≤ tol
    assert close(res.x, q.x_star, 1e-9)
    assert res.history[0] == pytest.approx(res.history.max()) and res.history.size == res.nit + 1


@pytest.mark.parametrize(
    ("method", "scipy_method"),
    [("cg-fr", "CG"), ("cg-pr", "CG"), ("bfgs", "BFGS"), ("newton", "Newton-CG")],
)
def test_quadratic_agrees_with_scipy(method, scipy_method):
    q = Quadratic(6, 100.0, seed=2)
    w0 = np.linspace(-1, 1, 6)
    ours = run_method(method, q, w0, tol=1e-10)
    if scipy_method == "Newton-CG":
        theirs = so.minimize(
            q.fun, w0, jac=True, method=scipy_method, hess=q.hess, options={"xtol": 1e-12}
        )
    else:
        theirs = so.minimize(q.fun, w0, jac=True, method=scipy_method, options={"gtol": 1e-9})
    # SciPy's CG may stop short ("precision loss") with a small gradient: with λ_min = 1 each
    # point lies within its gradient norm of the minimizer, so within their sum of each other
    bound = np.linalg.norm(q.fun(ours.x)[1]) + np.linalg.norm(q.fun(theirs.x)[1])
    assert np.linalg.norm(ours.x - theirs.x) <= bound + 1e-12
    assert np.linalg.norm(theirs.x - q.x_star) < 1e-6


@pytest.mark.parametrize("n", [2, 5])
@pytest.mark.parametrize(
    ("method", "scipy_method"),
    [("cg-fr", "CG"), ("cg-pr", "CG"), ("bfgs", "BFGS"), ("newton", "Newton-CG")],
)
def test_rosenbrock_agrees_with_scipy(method, scipy_method, n):
    w0 = np.array([-1.2, 1.0, -0.5, 0.8, 1.1][:n])
    kw = {"hess": so.rosen_hess} if method == "newton" else {}
    ours = minimize(rosen, w0, method=method, tol=1e-9, max_iter=5000, **kw)
    opts = {"xtol": 1e-12} if scipy_method == "Newton-CG" else {"gtol": 1e-10}
    theirs = so.minimize(rosen, w0, jac=True, method=scipy_method, options=opts, **kw)
    assert ours.success, ours.message
    assert close(ours.x, theirs.x, 1e-6)
    assert close(ours.x, np.ones(n), 1e-6)


@pytest.mark.parametrize("method", ["gauss-newton", "levenberg-marquardt"])
@pytest.mark.parametrize("n", [2, 5])
def test_rosenbrock_residuals_agree_with_scipy_lm(method, n):
    w0 = np.array([-1.2, 1.0]) if n == 2 else np.array([1.3, 0.7, 0.8, 1.9, 1.2])
    r0, _ = rosen_residuals(w0)
    assert 0.5 * r0 @ r0 == pytest.approx(so.rosen(w0))
    ours = minimize(None, w0, method=method, residuals=rosen_residuals, tol=1e-10)
    theirs = so.least_squares(
        lambda w: rosen_residuals(w)[0],
        w0,
        jac=lambda w: rosen_residuals(w)[1],
        method="lm",
        xtol=1e-15,
        ftol=1e-15,
        gtol=1e-15,
    )
    assert ours.success, ours.message
    assert close(ours.x, theirs.x, 1e-7)


@pytest.mark.parametrize("method", METHODS)
def test_curve_fit_agrees_with_scipy_least_squares(method):
    fit = DecayFit()
    expected = fit.scipy_fit()
    if method == "newton":  # the Hessian of ½‖r‖², by central differences of the gradient
        res = minimize(fit.fun, expected + 0.05, method="newton", hessp=fd_hessp(fit.fun))
        assert close(res.x, expected, 1e-6), res.message
        return
    res = run_method(method, fit, fit.w0, tol=1e-9, max_iter=20000)
    assert res.success, res.message
    # the minimizer's sensitivity: ‖x − x*‖ ≲ ‖(JᵀJ)⁻¹‖ tol, with ‖(JᵀJ)⁻¹‖ ≈ 10² here
    assert close(res.x, expected, 1e-6)
    assert res.fun == pytest.approx(0.5 * np.sum(fit.residuals(expected)[0] ** 2), rel=1e-10)


def fd_hessp(fun, h=1e-6):
    def hessp(w, v):
        scale = h / max(np.linalg.norm(v), 1e-300)
        return (fun(w + scale * v)[1] - fun(w - scale * v)[1]) / (2 * scale)

    return hessp


# ---------------------------------------------------------------------------------------------
# What the theory promises
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["cg-fr", "cg-pr"])
@pytest.mark.parametrize("n", [3, 7, 12])
def test_cg_with_exact_line_search_ends_within_n_iterations(method, n):
    """With exact line searches (c2 → 0) nonlinear CG on a quadratic is linear CG."""
    q = Quadratic(n, 50.0, seed=n)
    w0 = np.zeros(n)
    g0 = np.linalg.norm(q.fun(w0)[1])
    res = minimize(q.fun, w0, method=method, c1=1e-12, c2=1e-10, tol=1e-6 * g0)
    assert res.success, res.message
    # linear CG's bound 2((√κ − 1)/(√κ + 1))^k alone would need k ≈ 55 for 10⁻⁶ at κ = 50
    assert res.nit <= n
    # and not by accident: a plain inexact search takes longer
    loose = minimize(q.fun, w0, method=method, c2=0.4, tol=1e-6 * g0)
    assert loose.nit > res.nit


@pytest.mark.parametrize("product", [False, True])
def test_newton_solves_a_quadratic_in_one_step(product):
    q = Quadratic(10, 1e4, seed=3)
    w0 = np.full(10, 3.0)
    kw = {"hessp": q.hessp} if product else {"hess": q.hess}
    res = minimize(q.fun, w0, method="newton", tol=1e-6, **kw)
    assert res.nit == 1 and res.success
    assert close(res.x, q.x_star, 1e-8)
    assert res.hess_kind == ("product" if product else "matrix")
    assert res.nhev == 1 if not product else 1 <= res.nhev <= 20  # CG: at most 2n products


def test_newton_takes_hessian_vector_products_from_ebp_hessian():
    """Products of ``ebp.hessian`` (autograd on a torch function) plug into ``hessp``."""

    def E(w):
        return (100 * (w[1:] - w[:-1] ** 2) ** 2 + (1 - w[:-1]) ** 2).sum()

    def hessp(w, v):
        return hs.hessian_vector_product(E, v, w=w).numpy()

    w0 = np.array([-1.2, 1.0, 0.5])
    assert np.allclose(hessp(w0, np.ones(3)), so.rosen_hess_prod(w0, np.ones(3)), rtol=1e-12)
    res = minimize(rosen, w0, method="newton", hessp=hessp)
    assert res.success and close(res.x, np.ones(3), 1e-8)
    assert res.hess_kind == "product" and res.nhev > res.nit


def test_gauss_newton_solves_linear_least_squares_in_one_step():
    rng = np.random.default_rng(4)
    A, y = rng.standard_normal((30, 5)), rng.standard_normal(30)
    res = minimize(
        None, np.zeros(5), method="gauss-newton", residuals=lambda w: (A @ w - y, A), tol=1e-9
    )
    assert res.nit == 1 and res.success
    assert close(res.x, np.linalg.lstsq(A, y, rcond=None)[0], 1e-10)


def test_bfgs_inverse_hessian_approaches_the_inverse_hessian():
    """With exact line searches on a quadratic, BFGS's ``M`` equals ``H⁻¹`` after n steps."""
    q = Quadratic(6, 20.0, seed=5)
    res = minimize(q.fun, np.ones(6), method="bfgs", c1=1e-12, c2=1e-10, tol=1e-300, max_iter=6)
    H_inv = np.linalg.inv(q.H)
    assert res.inv_hessian is not None
    assert np.linalg.norm(res.inv_hessian - H_inv) <= 1e-6 * np.linalg.norm(H_inv)
    # with the usual inexact search it approaches H⁻¹ as the run goes on
    runs = [minimize(q.fun, np.ones(6), method="bfgs", tol=1e-12, max_iter=k) for k in (2, 30)]
    errors = [np.linalg.norm(r.inv_hessian - H_inv) for r in runs]
    assert errors[1] < 0.5 * errors[0]


def test_newton_at_an_indefinite_point_goes_uphill_and_says_so():
    """E = x² − y² from (0.1, 1): eq 40 jumps to the saddle, the loss rises from −0.99 to 0."""

    def saddle(w):
        return w[0] ** 2 - w[1] ** 2, np.array([2 * w[0], -2 * w[1]])

    H = np.diag([2.0, -2.0])
    w0 = np.array([0.1, 1.0])
    for kw in ({"hess": lambda w: H}, {"hessp": lambda w, v: H @ v}):
        res = minimize(saddle, w0, method="newton", **kw)
        assert res.uphill_steps == 1
        assert res.history[1] > res.history[0]
        assert np.allclose(res.x, 0.0)  # a saddle point, not a minimum: ∇E = 0 all the same
    blocked = minimize(saddle, w0, method="newton", hess=lambda w: H, line_search=True)
    assert not blocked.success and "not downhill" in blocked.message
    assert blocked.nit == 0 and blocked.uphill_steps == 0


def test_newton_divergence_stops_with_a_message():
    """On the convex E = √(1 + x²), Newton maps x to −x³: from x = 2 it diverges."""

    def fun(w):
        if abs(w[0]) > 1e3:
            return math.nan, np.array([math.nan])
        return math.sqrt(1 + w[0] ** 2), w / math.sqrt(1 + w[0] ** 2)

    def hess(w):
        return np.array([[(1 + w[0] ** 2) ** -1.5]])

    res = minimize(fun, np.array([2.0]), method="newton", hess=hess)
    assert not res.success and "not finite" in res.message and "diverged" in res.message
    assert np.all(np.isfinite(res.x)) and np.all(np.isfinite(res.history))
    assert res.uphill_steps == res.nit == 2  # 2 → −8 → 512, then overflow
    # a line search makes it converge
    safe = minimize(fun, np.array([2.0]), method="newton", hess=hess, line_search=True)
    assert safe.success and abs(safe.x[0]) < 1e-8


def test_ftol_and_callback_stop_the_run():
    fit = DecayFit()
    loose = minimize(fit.fun, fit.w0, method="bfgs", tol=1e-14, ftol=1e-6)
    assert loose.success and "ftol" in loose.message
    full = minimize(fit.fun, fit.w0, method="bfgs", tol=1e-9)
    assert loose.nit < full.nit
    seen = []
    stopped = minimize(
        fit.fun, fit.w0, method="bfgs", callback=lambda w: len(seen) >= 2 or seen.append(w)
    )
    assert not stopped.success and "callback" in stopped.message and stopped.nit == 3
    assert close(stopped.x, minimize(fit.fun, fit.w0, method="bfgs", max_iter=3).x, 1e-12)


def test_levenberg_marquardt_rejects_and_never_goes_uphill():
    res = minimize(
        None,
        np.array([-1.2, 1.0]),
        method="levenberg-marquardt",
        residuals=rosen_residuals,
        damping=1e-9,
    )
    assert res.success and res.uphill_steps == 0
    assert np.all(np.diff(res.history) <= 0)
    assert res.nit == res.njev - 1 == res.nfev - 1


# ---------------------------------------------------------------------------------------------
# Counters and the line search
# ---------------------------------------------------------------------------------------------


class Counted:
    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, *args):
        self.calls += 1
        return self.fn(*args)


@pytest.mark.parametrize("method", METHODS)
def test_counters_count_the_calls(method):
    q = Quadratic(5, 30.0, seed=6)
    fun, hessp, residuals = (Counted(f) for f in (q.fun, q.hessp, q.residuals))
    if method in ("gauss-newton", "levenberg-marquardt"):
        res = minimize(None, np.zeros(5), method=method, residuals=residuals)
        assert res.nfev == res.njev == residuals.calls and res.ngev == res.nhev == 0
        return
    kw = {"hessp": hessp} if method == "newton" else {}
    res = minimize(fun, np.zeros(5), method=method, **kw)
    assert res.nfev == res.ngev == fun.calls > res.nit
    assert res.nhev == hessp.calls and res.njev == 0
    assert res.hess_kind == ("product" if method == "newton" else None)


def test_fun_given_with_residuals_is_checked_once_and_counted():
    fit = DecayFit()
    fun = Counted(fit.fun)
    res = minimize(fun, fit.w0, method="levenberg-marquardt", residuals=fit.residuals)
    assert fun.calls == 1 == res.ngev and res.nfev == res.njev + 1
    with pytest.raises(ValueError, match="fun must agree"):
        minimize(
            lambda w: (fit.fun(w)[0] * 2, fit.fun(w)[1]),
            fit.w0,
            method="gauss-newton",
            residuals=fit.residuals,
        )


@pytest.mark.parametrize(("method", "c2"), [("cg-fr", 0.1), ("cg-pr", 0.1), ("bfgs", 0.9)])
def test_every_accepted_step_satisfies_the_strong_wolfe_conditions(method, c2):
    """The conditions are invariant to scaling ``p``, so each step ``s`` is checked as is."""
    w0 = np.array([-1.2, 1.0, 0.3, -0.4])
    iterates = [w0]
    res = minimize(rosen, w0, method=method, callback=lambda w: iterates.append(w), c2=c2)
    assert res.success and len(iterates) == res.nit + 1
    c1 = 1e-4
    for w, w_next in itertools.pairwise(iterates):
        (f, g), (f1, g1) = rosen(w), rosen(w_next)
        s = w_next - w
        assert g @ s < 0
        slack = 1e-12 * max(abs(f), 1.0)  # rounding in the loss values
        assert f1 <= f + c1 * (g @ s) + slack
        assert abs(g1 @ s) <= c2 * abs(g @ s) * (1 + 1e-9)


def test_wolfe_line_search_on_its_own():
    q = Quadratic(4, 10.0, seed=7)
    w = np.ones(4)
    g = q.fun(w)[1]
    out = wolfe_line_search(q.fun, w, -g, alpha0=10.0, c1=1e-10, c2=1e-8)
    assert isinstance(out, LineSearchResult) and out.success
    exact = (g @ g) / (g @ q.H @ g)  # the exact step along −g
    assert out.alpha == pytest.approx(exact, rel=1e-6)
    assert out.nfev <= 4  # one start, one overshoot, one cubic step on a quadratic
    # growing phase: a step that is far too short is doubled until it brackets
    short = wolfe_line_search(q.fun, w, -g, alpha0=exact / 100)
    assert short.success and short.alpha > exact / 100


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(2, 6),
    log_kappa=st.floats(0, 3),
    seed=st.integers(0, 10_000),
    method=st.sampled_from(["cg-pr", "bfgs", "newton", "levenberg-marquardt"]),
)
def test_random_spd_quadratics(n, log_kappa, seed, method):
    q = Quadratic(n, 10**log_kappa, seed=seed)
    w0 = np.random.default_rng(seed + 1).uniform(-10, 10, n)
    res = run_method(method, q, w0, tol=1e-10)
    assert res.success, res.message
    assert close(res.x, q.x_star, 1e-9)
    assert res.uphill_steps == 0


@settings(max_examples=15, deadline=None)
@given(alpha0=st.floats(1e-4, 1e4), seed=st.integers(0, 10_000))
def test_line_search_satisfies_wolfe_from_any_first_step(alpha0, seed):
    w = np.random.default_rng(seed).uniform(-2, 2, 3)
    f, g = rosen(w)
    out = wolfe_line_search(rosen, w, -g, alpha0=alpha0 / max(np.linalg.norm(g), 1.0))
    assert out.success, out.message
    s = out.alpha * -g
    assert out.fun <= f + 1e-4 * (g @ s) + 1e-12 * abs(f)
    assert abs(out.grad @ s) <= 0.9 * abs(g @ s) * (1 + 1e-9)


# ---------------------------------------------------------------------------------------------
# A torch model
# ---------------------------------------------------------------------------------------------


def tanh_net(dtype=torch.float64):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2)).to(dtype)
    X = torch.randn(7, 2, dtype=dtype)
    y = torch.randn(7, 2, dtype=dtype)
    return net, X, y


def test_model_objective_matches_autograd_and_ebp_hessian():
    net, X, y = tanh_net()
    obj = model_objective(net, "mse", X, y)
    w0 = obj.w0
    assert w0.dtype == np.float64 and w0.shape == (sum(p.numel() for p in net.parameters()),)
    loss = 0.5 * ((net(X) - y) ** 2).sum() / X.shape[0]
    grads = torch.autograd.grad(loss, list(net.parameters()))
    f, g = obj.fun(w0)
    assert f == pytest.approx(float(loss.detach()), rel=1e-12)
    assert np.allclose(g, torch.cat([t.reshape(-1) for t in grads]).numpy(), rtol=1e-10, atol=1e-12)
    r, J = obj.residuals(w0)
    assert 0.5 * r @ r == pytest.approx(f, rel=1e-12) and J.shape == (14, obj.n)
    assert np.allclose(J.T @ r, g, rtol=1e-10, atol=1e-12)
    H_ref = hs.dense_hessian(net, "mse", (X, y)).numpy()
    H = obj.hess(w0)
    assert np.allclose(H, H_ref, rtol=1e-9, atol=1e-11)
    v = np.random.default_rng(0).standard_normal(obj.n)
    op = hs.HessianOperator(net, "mse", (X, y))
    assert np.allclose(obj.hessp(w0, v), op.matvec(torch.as_tensor(v)).numpy(), atol=1e-10)


def test_model_objective_leaves_the_model_alone():
    net, X, y = tanh_net(torch.float32)
    net[0].bias.requires_grad_(False)  # a frozen parameter stays constant
    net.eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    flags = [p.requires_grad for p in net.parameters()]
    obj = model_objective(net, "mse", X.numpy(), y.numpy())
    assert obj.n == sum(p.numel() for p in net.parameters() if p.requires_grad)
    assert obj.w0.dtype == np.float64
    w = obj.w0 + 0.1
    f, g = obj.fun(w)
    r, _ = obj.residuals(w)
    H = obj.hess(w)
    assert 0.5 * r @ r == pytest.approx(f, rel=1e-12)
    assert np.allclose(obj.hessp(w, g), H @ g, rtol=1e-9, atol=1e-12)
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k])
    assert [p.requires_grad for p in net.parameters()] == flags
    assert all(p.grad is None for p in net.parameters()) and not net.training
    assert net[0].weight.dtype == torch.float32


def test_minimize_trains_a_model_through_model_objective():
    """A 2-2-1 tanh net fitted to a teacher's outputs: LM, BFGS and Newton on Hessian–vector
    products reach the same minimum (BFGS its mirror image, hidden units swapped)."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1))
    teacher = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1))
    X = torch.randn(30, 2)
    with torch.no_grad():
        for p, q in zip(teacher.parameters(), net.parameters(), strict=True):
            p.copy_(q + 0.5 * torch.randn_like(q))
        y = teacher(X) + 0.01 * torch.randn(30, 1)
    obj = model_objective(net, "mse", X, y)
    lm = minimize(None, obj.w0, method="levenberg-marquardt", residuals=obj.residuals)
    bf = minimize(obj.fun, obj.w0, method="bfgs")
    assert lm.success and bf.success, (lm.message, bf.message)
    assert lm.nit < bf.nit and lm.fun < 1e-3 * lm.history[0]
    # the same minimum, up to relabelling the two hidden units (a symmetry of the net)
    assert lm.fun == pytest.approx(bf.fun, rel=1e-8)
    nt = minimize(obj.fun, lm.x + 0.01, method="newton", hessp=obj.hessp)
    assert nt.success and nt.hess_kind == "product" and nt.nit <= 6
    assert close(nt.x, lm.x, 1e-6)


def test_model_objective_warns_about_dropout_in_training_mode():
    net = nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5), nn.Linear(3, 1)).double()
    X, y = torch.zeros(4, 2), torch.zeros(4, 1)
    with pytest.warns(hs.NondeterministicOperatorWarning, match="training mode"):
        model_objective(net, "mse", X, y)
    net.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model_objective(net, "mse", X, y)


def test_model_objective_with_another_loss_has_no_residuals():
    net, X, _ = tanh_net()
    obj = model_objective(net, "cross_entropy", X, torch.tensor([0, 1, 1, 0, 1, 0, 0]))
    f, g = obj.fun(obj.w0)
    assert math.isfinite(f) and g.shape == (obj.n,)
    with pytest.raises(ValueError, match="loss='mse'"):
        obj.residuals(obj.w0)
    custom = model_objective(net, lambda o, t: ((o - t) ** 2).mean(), X, torch.zeros(7, 2))
    assert custom.fun(custom.w0)[0] == pytest.approx(
        float((net(X) ** 2).mean().detach()), rel=1e-12
    )


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------

Q2 = Quadratic(2, 4.0)
W0 = np.zeros(2)


def _min(**kw):
    args = {"fun": Q2.fun, "w0": W0, "method": "bfgs"} | kw
    return minimize(args.pop("fun"), args.pop("w0"), **args)


BAD_MINIMIZE = [
    ({"method": "newtn"}, ValueError, "method"),
    ({"method": 3}, TypeError, "method"),
    ({"w0": np.zeros((2, 2))}, ValueError, "w0"),
    ({"w0": [0.0, math.nan]}, ValueError, "w0"),
    ({"w0": "ab"}, TypeError, "w0"),
    ({"w0": np.zeros(0)}, ValueError, "w0"),
    ({"fun": None}, TypeError, "fun"),
    ({"fun": 3}, TypeError, "fun"),
    ({"tol": 0.0}, ValueError, "tol"),
    ({"tol": "1e-8"}, TypeError, "tol"),
    ({"ftol": -1.0}, ValueError, "ftol"),
    ({"max_iter": 0}, ValueError, "max_iter"),
    ({"max_iter": 2.5}, TypeError, "max_iter"),
    ({"max_iter": True}, TypeError, "max_iter"),
    ({"callback": 1}, TypeError, "callback"),
    ({"line_search": False}, ValueError, "line_search"),
    ({"line_search": 1}, TypeError, "line_search"),
    ({"c1": 0.0}, ValueError, "c1"),
    ({"c2": 1.0}, ValueError, "c2"),
    ({"c1": 0.5, "c2": 0.4}, ValueError, "c2"),
    ({"hess": Q2.hess}, ValueError, "hess"),
    ({"hessp": Q2.hessp}, ValueError, "hessp"),
    ({"residuals": Q2.residuals}, ValueError, "residuals"),
    ({"damping": 1.0}, ValueError, "damping"),
    ({"method": "newton"}, ValueError, "hess"),
    ({"method": "newton", "hess": Q2.hess, "hessp": Q2.hessp}, ValueError, "hess"),
    ({"method": "newton", "hess": Q2.hess, "newton_rtol": 0.0}, ValueError, "newton_rtol"),
    ({"method": "gauss-newton"}, TypeError, "residuals"),
    (
        {"method": "levenberg-marquardt", "residuals": Q2.residuals, "damping": -1.0},
        ValueError,
        "damping",
    ),
    (
        {"method": "levenberg-marquardt", "residuals": Q2.residuals, "line_search": True},
        ValueError,
        "line_search",
    ),
    # what the user's functions return
    ({"fun": lambda w: (0.0, np.zeros(3))}, ValueError, "fun"),
    ({"fun": lambda w: 0.0}, ValueError, "fun"),
    ({"fun": lambda w: (np.zeros(2), w)}, ValueError, "fun"),
    ({"fun": lambda w: ("a", w)}, ValueError, "fun"),
    ({"fun": lambda w: (math.inf, w)}, ValueError, "fun"),
    ({"fun": lambda w: (1.0, w * math.nan)}, ValueError, "fun"),
    ({"method": "newton", "hess": lambda w: np.eye(3)}, ValueError, "hess"),
    ({"method": "newton", "hessp": lambda w, v: v[:1]}, ValueError, "hessp"),
    (
        {"method": "gauss-newton", "fun": None, "residuals": lambda w: (w, np.eye(3))},
        ValueError,
        "residuals",
    ),
    (
        {"method": "gauss-newton", "fun": None, "residuals": lambda w: (np.zeros((2, 1)), None)},
        ValueError,
        "residuals",
    ),
    (
        {"method": "gauss-newton", "fun": None, "residuals": lambda w: w},
        ValueError,
        "residuals",
    ),
    (
        {"method": "gauss-newton", "fun": None, "residuals": lambda w: (w * math.nan, np.eye(2))},
        ValueError,
        "residuals",
    ),
]


@pytest.mark.parametrize(("kw", "error", "name"), BAD_MINIMIZE, ids=range(len(BAD_MINIMIZE)))
def test_minimize_refuses_bad_input_naming_it(kw, error, name):
    with pytest.raises(error, match=name):
        _min(**kw)


def test_a_wrong_shape_later_in_the_run_is_named_too():
    calls = [0]

    def fun(w):
        calls[0] += 1
        return Q2.fun(w) if calls[0] < 3 else (0.0, np.zeros(5))

    with pytest.raises(ValueError, match="gradient returned by fun must have shape"):
        minimize(fun, np.ones(2), method="cg-pr")


BAD_LINE_SEARCH = [
    ({"fun": None}, TypeError, "fun"),
    ({"w": [[1.0]]}, ValueError, "w"),
    ({"p": np.ones(3)}, ValueError, "p"),
    ({"p": np.ones(2)}, ValueError, "p"),  # uphill at w = 1 (∇E = H1 − b points up along +1)
    ({"alpha0": -1.0}, ValueError, "alpha0"),
    ({"c1": 2.0}, ValueError, "c1"),
    ({"max_evals": 0}, ValueError, "max_evals"),
]


@pytest.mark.parametrize(("kw", "error", "name"), BAD_LINE_SEARCH, ids=range(len(BAD_LINE_SEARCH)))
def test_wolfe_line_search_refuses_bad_input_naming_it(kw, error, name):
    w = np.ones(2)
    g = Q2.fun(w)[1]
    if "p" in kw and kw["p"].shape == (2,):
        kw = {"p": np.sign(g)}
    args = {"fun": Q2.fun, "w": w, "p": -g} | kw
    with pytest.raises(error, match=name):
        wolfe_line_search(args.pop("fun"), args.pop("w"), args.pop("p"), **args)


def _objective(**kw):
    net, X, y = tanh_net()
    args = {"model": net, "loss": "mse", "X": X, "y": y} | kw
    return model_objective(**args)


BAD_MODEL = [
    ({"model": "net"}, TypeError, "model"),
    ({"loss": "msee"}, ValueError, "loss"),
    ({"loss": 3}, TypeError, "loss"),
    ({"X": torch.zeros(7, 3, dtype=torch.float64)}, ValueError, "X"),
    ({"X": torch.full((7, 2), math.nan)}, ValueError, "X"),
    ({"y": torch.zeros(6, 2)}, ValueError, "y"),
    ({"y": torch.zeros(7, 3)}, ValueError, "y"),
    ({"model": nn.Linear(2, 2).requires_grad_(False)}, ValueError, "model"),
]


@pytest.mark.parametrize(("kw", "error", "name"), BAD_MODEL, ids=range(len(BAD_MODEL)))
def test_model_objective_refuses_bad_input_naming_it(kw, error, name):
    with pytest.raises(error, match=name):
        _objective(**kw)


@pytest.mark.parametrize("call", ["fun", "residuals", "hess", "hessp_w", "hessp_v"])
def test_model_objective_methods_check_their_vectors(call):
    obj = _objective()
    bad = np.zeros(obj.n + 1)
    good = obj.w0
    name = "v" if call == "hessp_v" else "w"
    with pytest.raises(ValueError, match=name):
        if call == "hessp_w":
            obj.hessp(bad, good)
        elif call == "hessp_v":
            obj.hessp(good, bad)
        else:
            getattr(obj, call)(bad)
