"""ebp.experiments.stochastic_vs_batch (paper §4.1, target R5) and its plots."""

from __future__ import annotations

import dataclasses
import itertools

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

from matplotlib.figure import Figure

from ebp import data
from ebp.experiments import stochastic_vs_batch as st
from ebp.plots import stochastic_vs_batch as sb_plots


def test_r5_at_the_chapter_size():
    """Target R5 with the chapter's call, then the batch-size table and the figures built on it
    (one test, so that parallel workers do not each repeat the runs)."""
    r5 = st.redundancy(n=100, copies=10, seeds=range(5))
    _check_batch_pays_for_every_copy(r5)
    _check_online_is_at_least_10x_cheaper(r5)
    _check_copies_multiply_the_advantage_by_about_10(r5)
    _check_headline_is_the_tightest_target_held(r5)
    _check_best_rates_lie_inside_the_grid(r5)
    _check_held_is_never_earlier_than_first(r5)
    sizes = st.batch_sizes(r5, sizes=(100, 10))
    _check_batch_sizes(sizes, r5)
    _check_plots_and_table(r5, sizes)


def _check_batch_pays_for_every_copy(r5):
    """Batch learning follows the same weights on the copies: same epochs, 10x the gradients."""
    assert r5.batch_epoch_difference == 0.0
    a = r5.sweeps[("original", "batch")]
    b = r5.sweeps[("redundant", "batch")]
    np.testing.assert_allclose(b.best_reached, r5.copies * a.best_reached)
    assert a.best_eta == b.best_eta


def _check_online_is_at_least_10x_cheaper(r5):
    """The paper: 'about 10x' fewer gradient evaluations.  We measure more than 10x at the
    headline target (the originals are redundant too), so the check is the paper's lower end."""
    assert r5.held_by_all
    assert r5.ratio("redundant") >= r5.copies
    assert np.all(r5.seed_ratios("redundant") > 1.0)  # every seed, from the same start


def _check_copies_multiply_the_advantage_by_about_10(r5):
    """The part of the ratio due to the copies, summarized over the targets of the ladder, lies
    within a factor 2 of the paper's 10 ('about 10x'), whichever rule reads the runs."""
    for rule in st.RULES:
        ladder = r5.with_rule(rule).ladder()
        gain = ladder.gain[np.isfinite(ladder.gain)]
        assert gain.size >= 2
        assert np.all(gain > 1.0)
        assert 5.0 <= ladder.geometric_mean_gain <= 20.0
    # online learning pays far less than batch learning for the copies
    assert r5.online_cost_ratio < r5.copies / 2


def _check_headline_is_the_tightest_target_held(r5):
    assert r5.target_factor in r5.target_factors
    for f in r5.target_factors:
        if f < r5.target_factor:
            assert not r5.with_target_factor(f).held_by_all
    assert r5.target == pytest.approx(r5.target_factor * r5.e_star)


def _check_best_rates_lie_inside_the_grid(r5):
    """A fair sweep brackets each method's best rate (online rates stop at the stability
    limit of one update, which no online run can exceed)."""
    for s in r5.sweeps.values():
        assert s.best > 0
        assert s.best < s.etas.size - 1 or s.batch_size == 1
    X = data.two_gaussians(100).X
    assert r5.sweeps[("original", "online")].etas.max() <= st.online_limit(X)


def _check_held_is_never_earlier_than_first(r5):
    held = r5.sweeps[("redundant", "online")]
    first = held.with_rule("first")
    both = np.isfinite(held.reached)
    assert np.all(held.reached[both] >= first.reached[both])
    assert np.all(np.isfinite(first.reached[both]))


def _check_batch_sizes(sizes, r5):
    B = sizes.batch_sizes
    assert list(B) == [1000, 100, 10, 1]
    assert sizes.sweeps[0] is r5.sweeps[("redundant", "batch")]
    # the noise falls with the batch size, and is zero for the full batch
    assert sizes.noise_at_minimum[0] == 0.0
    assert np.all(np.diff(sizes.noise_at_minimum[::-1]) < 0)
    assert np.all(sizes.noise_at_start[1:] > sizes.noise_at_minimum[1:])
    rows = sizes.rows()
    assert [r["batch_size"] for r in rows] == list(B)
    # stochastic runs settle above E*, the full batch converges
    assert rows[-1]["final_excess"] > 100 * rows[0]["final_excess"]
    with pytest.raises(ValueError, match="sizes"):
        st.batch_sizes(r5, sizes=(1000,))


def _check_plots_and_table(r5, sizes):
    figs = [
        sb_plots.plot_redundancy(r5),
        sb_plots.plot_ladder({"held": r5.ladder()}, r5.copies, n=r5.n),
        sb_plots.plot_batch_sizes(sizes),
    ]
    assert all(isinstance(f, Figure) for f in figs)  # left open: conftest checks their width
    # the legends name the data sets of the run drawn, whatever its n and number of copies
    other = dataclasses.replace(r5, n=50, copies=4)
    for fig in (
        sb_plots.plot_redundancy(other),
        sb_plots.plot_ladder({"held": r5.ladder()}, other.copies, n=other.n),
    ):
        names = " | ".join(t.get_text() for legend in fig.legends for t in legend.get_texts())
        assert "50 patterns" in names and "4 copies" in names, names
        assert "100 patterns" not in names and "10 copies" not in names, names
    table = sb_plots.batch_size_table_markdown(sizes)
    assert len(table.splitlines()) == 2 + 4
    rate = st.UpdateRate(
        batch_sizes=sizes.batch_sizes,
        timing_updates_per_s=np.ones(4),
        timing_presentations_per_s=sizes.batch_sizes.astype(float),
    )
    assert "updates / s" in sb_plots.batch_size_table_markdown(sizes, rate)
    wrong = st.UpdateRate(np.array([1]), np.ones(1), np.ones(1))
    with pytest.raises(ValueError, match="rate"):
        sb_plots.batch_size_table_markdown(sizes, wrong)
    with pytest.raises(TypeError, match="result"):
        sb_plots.plot_redundancy(sizes)
    with pytest.raises(TypeError, match="ladders"):
        sb_plots.plot_ladder({}, 10)
    with pytest.raises(ValueError, match="copies"):
        sb_plots.plot_ladder({"held": r5.ladder()}, 1)


# ---------------------------------------------------------------------------------------------
# Reading a sweep
# ---------------------------------------------------------------------------------------------


def _sweep(loss: np.ndarray, rule: str = "held", target: float = 1.0) -> st.Sweep:
    loss = np.asarray(loss, dtype=float)[None, None, :]
    T = loss.shape[-1]
    return st.Sweep(
        n_patterns=10,
        batch_size=1,
        etas=np.array([0.1]),
        seeds=np.array([0]),
        target=target,
        presentations=10.0 * np.arange(T),
        loss=loss,
        diverged=np.zeros((1, 1), dtype=bool),
        rule=rule,
    )


def test_rules_on_a_hand_made_curve():
    # records at 0, 10, …, 80; below the target at 20, then above at 30, then below from 40 on
    curve = [5.0, 2.0, 0.5, 1.5, 0.9, 0.8, 0.7, 0.6, 0.5]
    assert _sweep(curve, "first").reached[0, 0] == 20.0
    assert _sweep(curve, "held").reached[0, 0] == 40.0  # held from 40 to 80 = 2 x 40
    # held until the end of the run but not for as long again: not certified
    late = [5.0, 2.0, 2.0, 2.0, 2.0, 2.0, 0.9, 0.9, 0.9]
    assert _sweep(late, "first").reached[0, 0] == 60.0
    assert np.isinf(_sweep(late, "held").reached[0, 0])
    never = [5.0] * 9
    with pytest.raises(ValueError, match="no learning rate reached the target"):
        _ = _sweep(never).best


def test_diverged_runs_never_count():
    s = _sweep([5.0, 0.5, 0.5, 0.5, 0.5])
    s = st.Sweep(**{**s.__dict__, "diverged": np.ones((1, 1), dtype=bool)})
    assert np.isinf(s.reached[0, 0])


def test_bad_rule_and_target():
    with pytest.raises(ValueError, match="rule"):
        _sweep([1.0, 0.5], rule="sometimes")
    with pytest.raises(ValueError, match="target"):
        _sweep([1.0, 0.5]).with_target(-1.0)


def test_budget_epochs():
    assert st.budget_epochs(1000, 1000) == st.MIN_UPDATES
    assert st.budget_epochs(1000, 1) == st.MIN_PRESENTATIONS // 1000
    assert st.budget_epochs(100, 100) == st.MIN_UPDATES
    with pytest.raises(ValueError, match="batch_size"):
        st.budget_epochs(100, 0)


def test_sweep_validates_its_input():
    X, y = data.two_gaussians(20)
    with pytest.raises(ValueError, match="batch_size"):
        st.sweep(X, y, batch_size=21, target=0.1)
    with pytest.raises(ValueError, match="etas"):
        st.sweep(X, y, batch_size=1, target=0.1, etas=[-0.1])
    with pytest.raises(ValueError, match="target"):
        st.sweep(X, y, batch_size=1, target=0.0)
    with pytest.raises(ValueError, match="target_factors"):
        st.redundancy(target_factors=(0.9, 1.5))


# ---------------------------------------------------------------------------------------------
# The best loss and the gradient noise
# ---------------------------------------------------------------------------------------------


def test_best_loss_is_the_least_squares_minimum():
    X, y = data.two_gaussians(100)
    e_star = st.best_loss(X, y)
    model = st.minimizer(X, y)
    with torch.no_grad():
        out = model(torch.as_tensor(X))
    loss = 0.5 * float(((out.numpy() - y) ** 2).mean())
    assert loss == pytest.approx(e_star, rel=1e-12)
    noise = st.gradient_noise(model, X, y, [100])  # full batch: the gradient itself
    assert noise[0] == 0.0
    # the copies have the same minimum
    Xr, yr = data.redundant(X, y, 10)
    assert st.best_loss(Xr, yr) == pytest.approx(e_star, rel=1e-12)


def test_gradient_noise_matches_every_mini_batch():
    """Eq sb-noise against the exact mean over all C(P, B) mini-batches of a small set."""
    X, y = data.two_gaussians(6, exact=False)
    model = st.linear_unit(3)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    full = st._per_pattern_gradients(model, Xt, yt).mean(0)
    for B in (1, 2, 3, 6):
        sq = []
        for idx in itertools.combinations(range(6), B):
            g = st._per_pattern_gradients(model, Xt[list(idx)], yt[list(idx)]).mean(0)
            sq.append(float((g - full).pow(2).sum()))
        expected = np.mean(sq)
        measured = st.gradient_noise(model, X, y, [B])[0]
        assert measured == pytest.approx(expected, rel=1e-10, abs=1e-15)


def test_gradient_noise_validates():
    X, y = data.two_gaussians(10)
    with pytest.raises(ValueError, match="batch_sizes"):
        st.gradient_noise(st.linear_unit(0), X, y, [11])
    with pytest.raises(TypeError, match="model"):
        st.gradient_noise("model", X, y, [1])


def test_linear_unit_starts():
    assert all(not p.detach().any() for p in st.linear_unit(None).parameters())
    a, b = st.linear_unit(1), st.linear_unit(1)
    assert torch.equal(a[0].weight, b[0].weight)
    assert a[0].weight.dtype == torch.float64


# ---------------------------------------------------------------------------------------------
# Batch sizes, timing, annealing
# ---------------------------------------------------------------------------------------------


def test_update_rate_shapes():
    X, y = data.two_gaussians(20)
    rate = st.update_rate(X, y, [20, 1], n_updates=5, repeats=1)
    assert rate.timing_updates_per_s.shape == (2,)
    assert np.all(rate.timing_updates_per_s > 0)
    np.testing.assert_allclose(
        rate.timing_presentations_per_s, rate.timing_updates_per_s * np.array([20, 1])
    )


def test_annealing_removes_the_noise_floor():
    ann = st.annealing(seeds=range(5))
    assert ann.methods == ("constant", "inverse_time", "growing_batch")
    assert ann.c == pytest.approx(1.0 / ann.lambda_min)
    assert ann.eta0 == pytest.approx(st.online_limit(data.two_gaussians(100).X) / 2)
    floor = ann.final("constant").mean()
    assert floor > 10 * ann.final("inverse_time").mean()
    assert floor > 10 * ann.final("growing_batch").mean()
    for method in ann.methods:
        assert ann.excess[method].shape == (5, ann.presentations[method].size)
    assert ann.presentations["growing_batch"][-1] == ann.presentations["constant"][-1]


def test_annealing_validates():
    with pytest.raises(ValueError, match="blocks"):
        st.annealing(blocks=8)
    with pytest.raises(ValueError, match="record_every"):
        st.annealing(record_every=30)
    with pytest.raises(ValueError, match="eta0"):
        st.annealing(eta0=0.0)


# ---------------------------------------------------------------------------------------------
# The limit of batch learning: the bias input (exercise on the best rate)
# ---------------------------------------------------------------------------------------------


def test_bias_input_sets_the_batch_limit():
    """With the bias input the largest eigenvalue is the bias's, 1 (centred inputs), so the
    limit 2/λ_max is 2, below 2/(λ_w,max + λ_min) of the weights alone; the exercise's 2.3
    diverges (rounding errors in the bias grow by |1 − η| per update), 1.6 converges."""
    X = data.two_gaussians(100).X
    lam, lam_w = st.hessian_eigenvalues(X), st.hessian_eigenvalues(X, bias=False)
    np.testing.assert_allclose(lam, [0.036, 0.836, 1.0], atol=1e-12)  # exact sample moments
    np.testing.assert_allclose(lam_w, lam[:2], atol=1e-12)
    eta = 2.3
    assert 2 / lam[-1] < 2 / (lam_w[-1] + lam_w[0]) and 2 / lam[-1] < eta
    over = st.batch_limit(eta, seeds=range(5))
    assert over.lambda_max == pytest.approx(1.0) and over.eta_max == pytest.approx(2.0)
    assert over.diverged.all() and np.all(over.step > 0)
    assert np.all(np.abs(over.final_bias) > 1.0)  # the bias, not the weights, blew up
    e_star = st.best_loss(X, data.two_gaussians(100).y)
    assert np.all(over.final_loss > 1e3 * e_star)
    under = st.batch_limit(1.6, seeds=range(5))
    assert not under.diverged.any()
    np.testing.assert_allclose(under.final_loss, e_star, rtol=1e-9)
    assert np.all(np.abs(under.final_bias) < 1e-12)


def test_batch_limit_validates():
    with pytest.raises(ValueError, match="eta"):
        st.batch_limit(0.0)
    with pytest.raises(ValueError, match="seeds"):
        st.batch_limit(1.0, seeds=[])
    with pytest.raises(ValueError, match="updates"):
        st.batch_limit(1.0, updates=0)
