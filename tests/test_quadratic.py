"""Tests of ``ebp.quadratic``: gradient descent on a quadratic, iterated and in closed form (§5).

Random problems are ``H = Q diag(λ) Qᵀ`` with ``Q`` a random orthogonal matrix and ``λ > 0``
drawn by hypothesis; results that pass through matrix products are compared with tolerances
scaled to the magnitudes involved (float64 rounding, a few hundred steps), never bit for bit,
except for dyadic 1-D cases where every product is exact.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import ebp.quadratic as q

EIGENVALUES = st.lists(st.floats(0.2, 10.0), min_size=1, max_size=5)
SEEDS = st.integers(0, 2**32 - 1)
FAST = settings(max_examples=40, deadline=None)


def spd(lams, seed):
    """``(H, Q, lam)``: a random symmetric positive-definite matrix and its eigenpairs."""
    lam = np.asarray(lams, dtype=float)
    rng = np.random.default_rng(seed)
    Q, R = np.linalg.qr(rng.standard_normal((lam.size, lam.size)))
    Q = Q * np.sign(np.diag(R))
    H = (Q * lam) @ Q.T
    return 0.5 * (H + H.T), Q, lam


def start(seed, n):
    """``(w0, w_star)``: two random points of ``R^n``."""
    rng = np.random.default_rng(seed + 1)
    return rng.standard_normal(n), rng.standard_normal(n)


# ---------------------------------------------------------------------------------------------
# The iteration against the closed form
# ---------------------------------------------------------------------------------------------


@FAST
@given(EIGENVALUES, SEEDS, st.floats(0.05, 1.3))
def test_descend_is_the_closed_form_in_the_eigenbasis(lams, seed, frac):
    H, Q, lam = spd(lams, seed)
    w0, w_star = start(seed, lam.size)
    eta = frac * 2.0 / lam.max()
    steps = 25
    path = q.descend(H, w0, eta, steps, w_star=w_star)
    assert path.shape == (steps + 1, lam.size)
    np.testing.assert_array_equal(path[0], w0)
    c = Q.T @ (w0 - w_star)
    t = np.arange(steps + 1)[:, None]
    expected = c * (1.0 - eta * lam) ** t  # each coordinate: (1 − ηλ_i)^t times its start
    scale = np.linalg.norm(c) * np.maximum(1.0, np.abs(1.0 - eta * lam).max()) ** t
    np.testing.assert_allclose((path - w_star) @ Q, expected, rtol=0, atol=1e-10 * scale.max())


@FAST
@given(EIGENVALUES, SEEDS, st.floats(0.0, 0.95), st.floats(0.05, 1.2))
def test_descend_with_momentum_is_the_2x2_matrix_power(lams, seed, mu, frac):
    H, Q, lam = spd(lams, seed)
    w0, w_star = start(seed, lam.size)
    eta = frac * 2.0 * (1.0 + mu) / lam.max()
    steps = 30
    path = q.descend(H, w0, eta, steps, w_star=w_star, momentum=mu)
    c = Q.T @ (w0 - w_star)
    got = (path - w_star) @ Q
    expected = np.empty_like(got)
    growth = 1.0
    for i, li in enumerate(lam):
        M = np.array([[1.0 + mu - eta * li, -mu], [1.0, 0.0]])
        for k in range(steps + 1):
            P = np.linalg.matrix_power(M, k)
            expected[k, i] = (P @ [c[i], c[i]])[0]  # state (e_t, e_{t−1}), e_{−1} = e_0
            growth = max(growth, np.linalg.norm(P, 2))
    # rounding in a growing direction leaks into the others through Q: scale by the largest
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9 * np.linalg.norm(c) * growth)


def test_descend_momentum_is_torch_sgd():
    H = np.array([[3.0, 1.0], [1.0, 2.0]])
    w_star = np.array([0.5, -1.0])
    path = q.descend(H, [1.0, 1.0], 0.1, 20, w_star=w_star, momentum=0.8)
    w = torch.tensor([1.0, 1.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1, momentum=0.8)
    Ht, st_ = torch.tensor(H), torch.tensor(w_star)
    for t in range(20):
        opt.zero_grad()
        (0.5 * (w - st_) @ Ht @ (w - st_)).backward()
        opt.step()
        np.testing.assert_allclose(w.detach().numpy(), path[t + 1], rtol=1e-12, atol=1e-12)


def test_descend_accepts_scalars_and_zero_steps():
    path = q.descend(2.0, 1.0, 0.25, 3)
    np.testing.assert_array_equal(path, [[1.0], [0.5], [0.25], [0.125]])  # dyadic: exact
    assert q.descend(np.eye(3), np.ones(3), 0.1, 0).shape == (1, 3)


# ---------------------------------------------------------------------------------------------
# The four regimes of Fig 6 (1-D)
# ---------------------------------------------------------------------------------------------


def test_fig6_regimes_exactly_on_dyadic_numbers():
    """λ = 4, w0 = 3, w* = 1: every product below is exact in float64."""
    lam, w0, ws = 4.0, 3.0, 1.0
    assert q.eta_opt(lam) == 0.25 and q.eta_max(lam) == 0.5
    err = lambda eta: q.descend(lam, w0, eta, 4, w_star=ws)[:, 0] - ws  # noqa: E731
    np.testing.assert_array_equal(err(0.125), [2.0, 1.0, 0.5, 0.25, 0.125])  # monotone
    np.testing.assert_array_equal(err(0.25), [2.0, 0.0, 0.0, 0.0, 0.0])  # one step
    np.testing.assert_array_equal(err(0.375), [2.0, -1.0, 0.5, -0.25, 0.125])  # oscillates
    np.testing.assert_array_equal(err(0.5), [2.0, -2.0, 2.0, -2.0, 2.0])  # neither
    np.testing.assert_array_equal(err(0.625), [2.0, -3.0, 4.5, -6.75, 10.125])  # diverges


@FAST
@given(st.floats(0.1, 10.0), st.floats(-5, 5), st.floats(-5, 5))
def test_fig6_regimes_for_any_curvature(lam, w0, ws):
    assume(abs(w0 - ws) > 1e-3)
    opt = q.eta_opt(lam)
    np.testing.assert_allclose(q.eta_max(lam), 2 * opt, rtol=1e-15)
    e0 = w0 - ws

    def err(eta, steps=40):
        return q.descend(lam, w0, eta, steps, w_star=ws)[:, 0] - ws

    mono = err(0.5 * opt)
    assert np.all(np.sign(mono[:20]) == np.sign(e0)) and np.all(np.diff(np.abs(mono)) < 0)
    np.testing.assert_allclose(err(opt)[1:], 0.0, atol=1e-14 * (abs(w0) + abs(ws)))
    osc = err(1.5 * opt)
    assert np.all(osc[:20:2] * e0 > 0) and np.all(osc[1:20:2] * e0 < 0)
    assert np.all(np.diff(np.abs(osc[:20])) < 0) and abs(osc[-1]) < 1e-10 * abs(e0)
    edge = err(2 * opt)
    np.testing.assert_allclose(np.abs(edge), abs(e0), rtol=1e-12 * 40)
    div = err(2.5 * opt)
    assert np.all(np.diff(np.abs(div)) > 0)
    np.testing.assert_allclose(np.abs(div), abs(e0) * 1.5 ** np.arange(41), rtol=1e-12 * 40)
    np.testing.assert_allclose(
        [q.rate(lam, f * opt) for f in (0.5, 1.0, 1.5, 2.0, 2.5)],
        [0.5, 0.0, 0.5, 1.0, 1.5],
        atol=1e-15,
    )


# ---------------------------------------------------------------------------------------------
# Convergence iff η < 2/λ_max (eq 38), on random SPD matrices
# ---------------------------------------------------------------------------------------------


@FAST
@given(EIGENVALUES, SEEDS, st.one_of(st.floats(0.05, 0.98), st.floats(1.02, 1.5)))
def test_eta_below_eta_max_converges_and_above_diverges(lams, seed, frac):
    H, Q, lam = spd(lams, seed)
    w0, w_star = start(seed, lam.size)
    c = Q.T @ (w0 - w_star)
    top = c[np.argmax(lam)]
    assume(abs(top) > 0.1 * np.linalg.norm(c))
    np.testing.assert_allclose(q.eta_max(H), 2 / lam.max(), rtol=1e-12)
    np.testing.assert_allclose(q.eta_opt(H), 1 / lam.max(), rtol=1e-12)
    eta = frac * q.eta_max(H)
    r = q.rate(H, eta)
    assert (r < 1) == (frac < 1)
    steps = 200
    err = np.linalg.norm(q.descend(H, w0, eta, steps, w_star=w_star) - w_star, axis=1)
    if frac < 1:
        assert err[-1] <= r**steps * err[0] * (1 + 1e-9) + 1e-12 * (err[0] + 1)
    else:
        assert err[-1] >= abs(top) * r**steps * (1 - 1e-9)
        assert err[-1] > err[0]


def test_a_run_that_overflows_says_so():
    with pytest.raises(ValueError, match=r"eta.*steps") as info:
        q.descend(4.0, 1.0, 1.0, 2000)  # grows by 3 per step: inf after ~650 steps
    assert "diverged to inf after" in str(info.value)
    assert np.isfinite(q.descend(4.0, 1.0, 1.0, 600)).all()  # huge but finite: returned


# ---------------------------------------------------------------------------------------------
# Contraction factors and rates
# ---------------------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(st.floats(-2.0, 10.0), st.floats(0.01, 1.0), st.floats(0.0, 0.999))
def test_spectral_radius_is_that_of_the_2x2_iteration_matrix(lam, eta, mu):
    M = np.array([[1.0 + mu - eta * lam, -mu], [1.0, 0.0]])
    expected = np.abs(np.linalg.eigvals(M)).max()
    # at a double root both sides are only √ε accurate (the root moves like √δ)
    np.testing.assert_allclose(q.spectral_radius(lam, eta, mu), expected, rtol=0, atol=2e-7)


@FAST
@given(EIGENVALUES, SEEDS, st.floats(0.01, 1.0), st.floats(0.0, 0.99))
def test_contraction_per_eigendirection(lams, seed, eta, mu):
    H, _, lam = spd(lams, seed)
    lam = np.sort(lam)
    np.testing.assert_allclose(q.contraction(H, eta), np.abs(1 - eta * lam), rtol=1e-12, atol=1e-14)
    got = q.contraction(H, eta, mu)
    expected = [
        np.abs(np.linalg.eigvals([[1 + mu - eta * li, -mu], [1.0, 0.0]])).max() for li in lam
    ]
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-7)
    assert q.rate(H, eta, mu) == got.max()


def test_spectral_radius_broadcasts_over_a_grid():
    eta, mu = np.meshgrid(np.linspace(0.01, 3, 7), np.linspace(0, 0.9, 5))
    r = q.spectral_radius(2.0, eta, mu)
    assert r.shape == (5, 7)
    assert isinstance(q.spectral_radius(2.0, 0.1), float)


def test_momentum_region_is_where_the_spectral_radius_is_below_one():
    eta, mu = np.meshgrid(np.linspace(0.005, 2.5, 301), np.linspace(0.0, 0.995, 200))
    lam = 1.7
    inside = q.momentum_converges(lam, eta, mu)
    radius = q.spectral_radius(lam, eta, mu)
    boundary = np.abs(eta * lam - 2 * (1 + mu)) < 1e-9
    np.testing.assert_array_equal(inside[~boundary], (radius < 1)[~boundary])
    assert inside.any() and not inside.all()
    # outside the momenta, and along non-positive curvature: no convergence
    assert not q.momentum_converges(1.0, 0.5, 1.0) and not q.momentum_converges(1.0, 0.5, -0.1)
    assert not q.momentum_converges(-1.0, 0.5, 0.5) and not q.momentum_converges(0.0, 0.5, 0.5)
    assert q.momentum_converges(1.0, 3.9, 0.99)  # ηλ up to 2(1 + μ)


@FAST
@given(EIGENVALUES, SEEDS)
def test_best_momentum_is_polyaks_optimum(lams, seed):
    H, _, lam = spd(lams, seed)
    kappa = lam.max() / lam.min()
    np.testing.assert_allclose(q.condition_number(H), kappa, rtol=1e-10)
    best = q.best_momentum(H)
    sk = math.sqrt(kappa)
    np.testing.assert_allclose(best.rate, (sk - 1) / (sk + 1), rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(best.momentum, best.rate**2, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(best.eta, 4 / (lam.max() ** 0.5 + lam.min() ** 0.5) ** 2)
    np.testing.assert_allclose(q.rate(H, best.eta, best.momentum), best.rate, atol=2e-7)
    for de in (0.98, 1.02):
        for dm in (-0.02, 0.0, 0.02):
            mu = min(max(best.momentum + dm * (1 - best.momentum), 0.0), 0.999)
            assert q.rate(H, best.eta * de, mu) >= best.rate - 2e-7
    # plain descent: best_eta equalises the extremes at (κ − 1)/(κ + 1), and beats eta_opt
    plain = q.rate(H, q.best_eta(H))
    np.testing.assert_allclose(plain, (kappa - 1) / (kappa + 1), rtol=1e-10, atol=1e-14)
    assert plain <= q.rate(H, q.eta_opt(H)) + 1e-12
    assert plain <= min(q.rate(H, q.best_eta(H) * f) for f in (0.99, 1.01)) + 1e-12
    assert best.rate <= plain + 1e-12


# ---------------------------------------------------------------------------------------------
# Steps to a tolerance: predicted and measured
# ---------------------------------------------------------------------------------------------


@FAST
@given(EIGENVALUES, SEEDS, st.floats(0.3, 0.95), st.floats(1e-6, 0.5))
def test_measured_steps_never_exceed_the_prediction_without_momentum(lams, seed, frac, tol):
    H, Q, lam = spd(lams, seed)
    w0, w_star = start(seed, lam.size)
    eta = frac * 2 / lam.max()
    r = q.rate(H, eta)
    x = math.log(tol) / math.log(r) if r > 0 else 0.0  # r = 0: all λ equal and η = 1/λ
    predicted = q.steps_to_tolerance(H, eta, tol)
    assert predicted == max(1, math.ceil(x))
    measured = q.measured_steps(q.descend(H, w0, eta, predicted + 2, w_star=w_star), w_star, tol)
    slack = 1 if abs(x - round(x)) < 1e-6 else 0  # r^t = tol to rounding
    assert measured is not None and measured <= predicted + slack
    # and no sooner than the slowest direction's share of the start allows
    c = Q.T @ (w0 - w_star)
    slow = abs(c[np.argmax(np.abs(1 - eta * lam))])
    ok = slow > 0 and r > 0
    lower = math.log(tol * np.linalg.norm(c) / slow) / math.log(r) if ok else 0.0
    assert measured >= lower - 1e-6 - slack


def test_a_start_along_the_slowest_direction_takes_exactly_the_predicted_steps():
    H = np.diag([0.5, 2.0, 4.0])
    eta, tol = 0.3, 1e-4
    predicted = q.steps_to_tolerance(H, eta, tol)
    assert predicted == math.ceil(math.log(tol) / math.log(1 - 0.3 * 0.5))
    path = q.descend(H, [1.0, 0.0, 0.0], eta, predicted + 5)
    assert q.measured_steps(path, None, tol) == predicted
    # w0 on the fast axis: only its direction counts (exact zeros in a diagonal H's eigenbasis)
    fast = q.steps_to_tolerance(H, eta, tol, w0=[0.0, 0.0, 1.0])
    assert fast == math.ceil(math.log(tol) / math.log(abs(1 - 0.3 * 4.0))) < predicted
    path = q.descend(H, [0.0, 0.0, 1.0], eta, fast + 5)
    assert q.measured_steps(path, np.zeros(3), tol) <= fast
    assert q.steps_to_tolerance(H, eta, tol, w0=[1.0, 2.0, 3.0], w_star=[1.0, 2.0, 3.0]) == 0


def test_steps_to_tolerance_edge_cases():
    assert q.steps_to_tolerance(2.0, 1.0, 0.01) == math.inf  # |1 − 2| = 1: never
    assert q.steps_to_tolerance(2.0, 1.5, 0.01) == math.inf  # diverges
    assert q.steps_to_tolerance(2.0, 0.5, 1e-9) == 1  # η = 1/λ: one step
    assert q.steps_to_tolerance(np.diag([1.0, -1.0]), 0.1, 0.1) == math.inf  # a saddle
    path = q.descend(2.0, 1.0, 0.25, 10)
    assert q.measured_steps(path, 0.0, 0.2) == 3 and q.measured_steps(path, 0.0, 1e-9) is None


def test_with_momentum_a_double_root_adds_a_linear_factor():
    """At Polyak's optimum both extreme directions have a double root ``r``, where the error is
    ``c (1 + (1 − r) t) r^t``: the measured count exceeds the rate's prediction, as documented."""
    H = np.diag([0.1, 10.0])
    best = q.best_momentum(H)
    r, tol = best.rate, 1e-6
    predicted = q.steps_to_tolerance(H, best.eta, tol, momentum=best.momentum)
    assert predicted == math.ceil(math.log(tol) / math.log(r))
    path = q.descend(H, [1.0, 0.0], best.eta, 3 * predicted, momentum=best.momentum)
    t = np.arange(3 * predicted + 1)
    np.testing.assert_allclose(path[:, 0], (1 + (1 - r) * t) * r**t, rtol=1e-6, atol=1e-12)
    exact = int(np.flatnonzero((1 + (1 - r) * t) * r**t <= tol)[0])
    assert q.measured_steps(path, None, tol) == exact > predicted
    extra = math.log(1 + math.log(1 / tol)) / -math.log(r)  # the docstring's estimate
    assert exact - predicted == pytest.approx(extra, rel=0.3)


@FAST
@given(EIGENVALUES, SEEDS, st.floats(0.1, 0.9), st.floats(0.2, 0.8))
def test_with_momentum_the_error_decays_at_the_rate(lams, seed, mu, frac):
    H, _, lam = spd(lams, seed)
    w0, w_star = start(seed, lam.size)
    eta = frac * 2 * (1 + mu) / lam.max()
    r = q.rate(H, eta, mu)
    assume(r < 0.98)
    steps = 600
    err = np.linalg.norm(q.descend(H, w0, eta, steps, w_star=w_star, momentum=mu) - w_star, axis=1)
    assert (err[-1] / err[0]) ** (1 / steps) <= r + 0.02 or err[-1] < 1e-13 * (err[0] + 1)


# ---------------------------------------------------------------------------------------------
# The LMS Hessian (eqs 28–29)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bias", [True, False])
def test_lms_hessian_against_a_loop_and_autograd(bias):
    rng = np.random.default_rng(0)
    X, d = rng.normal(0.3, 1.0, (30, 3)), rng.standard_normal(30)
    H = q.lms_hessian(X, bias=bias)
    m = 4 if bias else 3
    loop = np.zeros((m, m))
    for x in X:
        xa = np.append(x, 1.0) if bias else x
        loop += np.outer(xa, xa) / len(X)
    np.testing.assert_allclose(H, loop, rtol=1e-12, atol=1e-14)
    Xt, dt = torch.tensor(X), torch.tensor(d)

    def lms(w):  # eq 28 with one output, the bias weight last
        out = Xt @ w[:3] + (w[3] if bias else 0.0)
        return 0.5 * ((dt - out) ** 2).mean()

    auto = torch.func.hessian(lms)(torch.zeros(m, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(H, auto, rtol=1e-10, atol=1e-12)
    # the minimum, and batch descent on eq 28 is descend on (H, w*)
    w_star = q.lms_minimum(X, d, bias=bias)
    grad = torch.func.grad(lms)(torch.tensor(w_star)).numpy()
    np.testing.assert_allclose(grad, 0.0, atol=1e-12)
    w = torch.zeros(m, dtype=torch.float64)
    path = q.descend(H, np.zeros(m), 0.3, 10, w_star=w_star)
    for t in range(10):
        w = w - 0.3 * torch.func.grad(lms)(w)
        np.testing.assert_allclose(w.numpy(), path[t + 1], rtol=1e-10, atol=1e-12)


def test_lms_hessian_is_the_covariance_only_for_centred_inputs():
    rng = np.random.default_rng(1)
    X = rng.normal([2.0, -1.0], [1.0, 0.5], (200, 2))
    Xc = X - X.mean(axis=0)
    cov = np.cov(X.T, bias=True)
    np.testing.assert_allclose(q.lms_hessian(Xc, bias=False), cov, rtol=1e-10, atol=1e-14)
    assert not np.allclose(q.lms_hessian(X, bias=False), cov, rtol=0.1)
    # a mean input makes one large eigenvalue; the bias input adds a direction (§5.3)
    assert q.condition_number(q.lms_hessian(X)) > 3 * q.condition_number(cov)
    assert q.lms_hessian(X).shape == (3, 3)
    np.testing.assert_allclose(q.lms_hessian(X[:, 0]), q.lms_hessian(X[:, :1]), rtol=1e-15)


# ---------------------------------------------------------------------------------------------
# Spectrum and loss helpers
# ---------------------------------------------------------------------------------------------


@FAST
@given(EIGENVALUES, SEEDS)
def test_eigen_is_ascending_orthonormal_and_sign_fixed(lams, seed):
    H, _, lam = spd(lams, seed)
    vals, Q = q.eigen(H)
    np.testing.assert_allclose(vals, np.sort(lam), rtol=1e-10)
    np.testing.assert_allclose(Q.T @ Q, np.eye(lam.size), atol=1e-12)
    np.testing.assert_allclose((Q * vals) @ Q.T, H, atol=1e-10 * lam.max())
    big = np.argmax(np.abs(Q), axis=0)
    assert np.all(Q[big, np.arange(lam.size)] > 0)


def test_loss_on_a_grid_and_on_points():
    H, ws = np.array([[2.0, 0.5], [0.5, 1.0]]), np.array([1.0, -1.0])
    grid = np.stack(np.meshgrid(np.linspace(-2, 2, 5), np.linspace(-1, 3, 4)), axis=-1)
    E = q.loss(H, grid, ws)
    assert E.shape == (4, 5)
    e = grid[2, 3] - ws
    np.testing.assert_allclose(E[2, 3], 0.5 * e @ H @ e, rtol=1e-14)
    assert q.loss(H, ws, ws) == 0.0 and isinstance(q.loss(H, [0.0, 0.0]), float)
    np.testing.assert_allclose(q.loss(3.0, [1.0, 2.0]), [1.5, 6.0])  # 1-D: one point an entry
    np.testing.assert_allclose(q.loss(3.0, [[1.0], [2.0]]), [1.5, 6.0])
    # the loss along a converging path falls
    path = q.descend(H, [3.0, 3.0], 0.5, 20, w_star=ws)
    assert np.all(np.diff(q.loss(H, path, ws)) < 0)


def test_every_public_name_is_documented():
    for name in q.__all__:
        assert getattr(q, name).__doc__, name


# ---------------------------------------------------------------------------------------------
# Bad input: a clear error naming the argument
# ---------------------------------------------------------------------------------------------

H2 = np.array([[2.0, 0.5], [0.5, 1.0]])
NOT_PD = np.array([[1.0, 2.0], [2.0, 1.0]])
SINGULAR = np.array([[1.0, 1.0], [1.0, 1.0]])

BAD = [
    # descend
    (lambda: q.descend(np.ones((2, 3)), [0, 0], 0.1, 5), ValueError, "H"),
    (lambda: q.descend([[1.0, 2.0], [0.0, 1.0]], [0, 0], 0.1, 5), ValueError, "H"),
    (lambda: q.descend([[1.0, np.nan], [np.nan, 1.0]], [0, 0], 0.1, 5), ValueError, "H"),
    (lambda: q.descend("H", [0, 0], 0.1, 5), TypeError, "H"),
    (lambda: q.descend(np.ones(3), [0, 0, 0], 0.1, 5), ValueError, "H"),
    (lambda: q.descend(np.zeros((0, 0)), [], 0.1, 5), ValueError, "H"),
    (lambda: q.descend(H2, [0, 0, 0], 0.1, 5), ValueError, "w0"),
    (lambda: q.descend(H2, [0, np.inf], 0.1, 5), ValueError, "w0"),
    (lambda: q.descend(H2, [0, 0], 0.0, 5), ValueError, "eta"),
    (lambda: q.descend(H2, [0, 0], -0.1, 5), ValueError, "eta"),
    (lambda: q.descend(H2, [0, 0], "0.1", 5), TypeError, "eta"),
    (lambda: q.descend(H2, [0, 0], 0.1, -1), ValueError, "steps"),
    (lambda: q.descend(H2, [0, 0], 0.1, 2.0), TypeError, "steps"),
    (lambda: q.descend(H2, [0, 0], 0.1, True), TypeError, "steps"),
    (lambda: q.descend(H2, [0, 0], 0.1, 10**9), ValueError, "steps"),
    (lambda: q.descend(H2, [0, 0], 0.1, 5, w_star=[1.0]), ValueError, "w_star"),
    (lambda: q.descend(H2, [0, 0], 0.1, 5, momentum=1.0), ValueError, "momentum"),
    (lambda: q.descend(H2, [0, 0], 0.1, 5, momentum=-0.1), ValueError, "momentum"),
    (lambda: q.descend(H2, [1, 1], 5.0, 5000), ValueError, "eta"),
    # loss, eigen
    (lambda: q.loss(H2, np.zeros((4, 3))), ValueError, "w"),
    (lambda: q.loss(H2, [0, 0], [0, 0, 0]), ValueError, "w_star"),
    (lambda: q.loss(H2, [1e200, 1e200]), ValueError, "w"),
    (lambda: q.eigen([[1.0, 2.0], [3.0, 1.0]]), ValueError, "H"),
    # positive definite required
    (lambda: q.condition_number(NOT_PD), ValueError, "H"),
    (lambda: q.condition_number(SINGULAR), ValueError, "H"),
    (lambda: q.eta_opt(-1.0), ValueError, "H"),
    (lambda: q.eta_max(NOT_PD), ValueError, "H"),
    (lambda: q.best_eta(SINGULAR), ValueError, "H"),
    (lambda: q.best_momentum(NOT_PD), ValueError, "H"),
    (lambda: q.best_momentum(True), TypeError, "H"),
    # rates
    (lambda: q.spectral_radius([1.0, np.nan], 0.1), ValueError, "lam"),
    (lambda: q.spectral_radius(1.0, 0.0), ValueError, "eta"),
    (lambda: q.spectral_radius(1.0, 0.1, 1.0), ValueError, "momentum"),
    (lambda: q.spectral_radius(np.ones(3), np.ones(2)), ValueError, "lam"),
    (lambda: q.spectral_radius(1e300, 1e300), ValueError, "eta"),
    (lambda: q.contraction(H2, 0.0), ValueError, "eta"),
    (lambda: q.contraction(H2, 0.1, 1.2), ValueError, "momentum"),
    (lambda: q.contraction(H2, [0.1]), TypeError, "eta"),
    (lambda: q.rate(H2, -1.0), ValueError, "eta"),
    (lambda: q.rate(np.ones((2, 3)), 0.1), ValueError, "H"),
    (lambda: q.momentum_converges(np.nan, 0.1, 0.5), ValueError, "lam"),
    (lambda: q.momentum_converges(1.0, "a", 0.5), TypeError, "eta"),
    (lambda: q.momentum_converges(1.0, 0.1, [np.inf]), ValueError, "momentum"),
    # steps
    (lambda: q.steps_to_tolerance(H2, 0.1, 0.0), ValueError, "tol"),
    (lambda: q.steps_to_tolerance(H2, 0.1, 1.0), ValueError, "tol"),
    (lambda: q.steps_to_tolerance(H2, 0.1, None), TypeError, "tol"),
    (lambda: q.steps_to_tolerance(H2, 0.0, 0.1), ValueError, "eta"),
    (lambda: q.steps_to_tolerance(H2, 0.1, 0.1, momentum=1), ValueError, "momentum"),
    (lambda: q.steps_to_tolerance(H2, 0.1, 0.1, w0=[1.0]), ValueError, "w0"),
    (lambda: q.steps_to_tolerance(H2, 0.1, 0.1, w0=[1, 1], w_star=[1]), ValueError, "w_star"),
    (lambda: q.measured_steps(np.ones(5), None, 0.1), ValueError, "iterates"),
    (lambda: q.measured_steps(np.ones((0, 2)), None, 0.1), ValueError, "iterates"),
    (lambda: q.measured_steps(np.ones((5, 2)), [0.0], 0.1), ValueError, "w_star"),
    (lambda: q.measured_steps(np.ones((5, 2)), None, 1.5), ValueError, "tol"),
    # LMS
    (lambda: q.lms_hessian(np.ones((2, 2, 2))), ValueError, "X"),
    (lambda: q.lms_hessian(np.ones((0, 2))), ValueError, "X"),
    (lambda: q.lms_hessian([[1.0, np.nan]]), ValueError, "X"),
    (lambda: q.lms_hessian(np.ones((3, 2)), bias=1), TypeError, "bias"),
    (lambda: q.lms_minimum(np.ones((3, 2)), np.ones(4)), ValueError, "d"),
    (lambda: q.lms_minimum(np.ones((3, 2)), np.ones((3, 1))), ValueError, "d"),
]


@pytest.mark.parametrize(("call", "error", "name"), BAD)
def test_bad_input_is_named(call, error, name):
    with pytest.raises(error, match=rf"\b{name}\b"):
        call()
