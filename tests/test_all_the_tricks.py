"""ebp.experiments.all_the_tricks (chapter "All the tricks together") and its plots."""

from __future__ import annotations

import dataclasses
import json
import math

import matplotlib

matplotlib.use("Agg")

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pytest

from ebp.experiments import all_the_tricks as att
from ebp.plots import all_the_tricks as att_plots
from ebp.plots.style import MAX_FIGURE_WIDTH


@pytest.fixture(scope="module")
def quick():
    calls = []
    res = att.run(quick=True, progress=lambda done, total: calls.append((done, total)))
    return res, calls


# --- configurations ---------------------------------------------------------------------------


def test_ladder_is_cumulative():
    rungs = att.ladder()
    assert rungs[0].tricks == ()
    assert rungs[-1] == att.FULL
    assert len(rungs) == len(att.TRICKS) + 1
    for k, (before, after) in enumerate(itertools.pairwise(rungs)):
        assert before.differs_from(after) == (att.TRICKS[k],)
        assert set(before.tricks) < set(after.tricks)  # nothing is ever removed
        assert after.tricks == att.TRICKS[: k + 1]


def test_leave_one_out_differs_from_the_full_recipe_in_exactly_one_trick():
    loo = att.leave_one_out()
    assert [r.differs_from(att.FULL) for r in loo] == [(t,) for t in att.TRICKS]
    assert all(not getattr(r, t) for r, t in zip(loo, att.TRICKS, strict=True))
    # without momentum is the ladder's "+ sgd" rung: one configuration, trained once
    assert loo[-1] == att.ladder()[-2]
    assert len({*att.ladder(), *loo}) == 10


def test_recipe_labels_and_keys_are_distinct():
    recipes = {*att.ladder(), *att.leave_one_out()}
    assert len({r.label for r in recipes}) == len(recipes)
    assert len({r.key for r in recipes}) == len(recipes)
    assert att.Recipe().label == "baseline" and att.FULL.key == "full"


def test_problem_inputs_and_targets():
    p = att.make_problem("toy", quick=True)
    base, full = att.Recipe(), att.FULL
    np.testing.assert_allclose(p.inputs(full)[0].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(p.inputs(full)[0].std(axis=0), 1.0, rtol=1e-12)
    assert abs(p.inputs(base)[0].mean()) > 0.5  # the raw inputs carry an offset
    assert set(np.unique(p.targets(base))) == {0.0, 1.0}
    assert set(np.unique(p.targets(full))) == {-1.0, 1.0}
    # the unit of the relative loss scales with the targets: ±1 is 4 times 0/1
    assert p.constant_loss(full) == pytest.approx(4 * p.constant_loss(base), rel=1e-12)
    d = att.make_problem("digits", quick=True)
    assert d.targets(full).shape == (d.labels.size, 10)


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_seeds": 0}, ValueError, "n_seeds"),
        ({"n_seeds": 2.5}, TypeError, "n_seeds"),
        ({"quick": "yes"}, TypeError, "quick"),
        ({"progress": 3}, TypeError, "progress"),
    ],
)
def test_run_validates(kwargs, error, match):
    with pytest.raises(error, match=match):
        att.run(**kwargs)


def test_other_validation():
    with pytest.raises(TypeError, match="normalize"):
        att.Recipe(normalize=1)
    with pytest.raises(ValueError, match="trick"):
        att.Recipe().with_trick("dropout")
    with pytest.raises(ValueError, match="name"):
        att.make_problem("mnist")
    with pytest.raises(ValueError, match="losses"):
        att.epochs_to_target([0, 1, 2], np.ones((2, 4)), 0.1)
    with pytest.raises(ValueError, match="final_losses"):
        att.choose_eta(np.ones((2, 3)), np.zeros((3, 2), bool))
    with pytest.raises(ValueError, match="judgements"):
        att.verdict([])
    with pytest.raises(ValueError, match="judgements"):
        att.verdict(["great"])
    with pytest.raises(ValueError, match="effects"):
        att.rank_tricks([])


# --- the measurements -------------------------------------------------------------------------


def test_epochs_to_target_and_choose_eta():
    L = np.array([[1.0, 0.5, 0.05, 0.01], [1.0, 0.5, np.nan, np.nan], [1, 1, 1, 1]])
    np.testing.assert_array_equal(att.epochs_to_target([0, 1, 2, 3], L, 0.1), [2, np.inf, np.inf])
    final = np.array([[0.5, 0.5, 0.5], [0.1, 0.2, 9.0], [0.1, 0.2, 0.3], [0.01, 0.01, 0.01]])
    div = np.zeros_like(final, dtype=bool)
    assert att.choose_eta(final, div) == 3
    div[3, :2] = True  # a rate whose runs mostly diverge loses, however low its other losses
    assert att.choose_eta(final, div) == 1  # medians 0.2, 0.2: the smaller rate wins the tie


def test_judge_on_constructed_inputs():
    # by test error
    assert att.judge(5, 5, 0.05, 0.08) == "helps"
    assert att.judge(5, 5, 0.08, 0.05) == "hurts"
    assert att.judge(5, 5, 0.05, 0.055) == "neutral"
    # by speed: ratio and gap both needed, an unreached target is infinitely slow
    assert att.judge(4, 10, 0.0, 0.0) == "helps"
    assert att.judge(1, 2, 0.0, 0.0) == "neutral"  # within the resolution of the records
    assert att.judge(10, 11, 0.0, 0.0) == "neutral"  # ratio too small
    assert att.judge(10, math.inf, 0.0, 0.0) == "helps"
    assert att.judge(math.inf, math.inf, 0.0, 0.0) == "neutral"
    assert att.judge(math.inf, 10, 0.0, 0.0) == "hurts"
    # better on one measure, worse on the other: neutral
    assert att.judge(4, 10, 0.08, 0.05) == "neutral"


def test_verdict_rule():
    assert att.verdict(["helps", "helps"]) == "confirmed"
    assert att.verdict(["helps", "helps"], bundled=True) == "confirmed with a caveat"
    assert att.verdict(["helps", "hurts"]) == "confirmed with a caveat"
    assert att.verdict(["neutral", "helps"]) == "confirmed with a caveat"
    assert att.verdict(["neutral", "hurts"]) == "not reproduced"


def _effect(trick, problem, err_increase, epochs_without, epochs_full=5.0):
    full = (epochs_full, 0.10)
    return att.TrickEffect(
        trick, problem, full, full, full, (epochs_without, 0.10 + err_increase), "neutral"
    )


def test_ranking_follows_the_measured_effects():
    effects = [
        _effect("a", "p", 0.01, 5.0),
        _effect("a", "q", 0.01, 5.0),
        _effect("b", "p", 0.10, 5.0),
        _effect("b", "q", 0.00, 5.0),
        _effect("c", "p", 0.01, 20.0),  # same error as "a", but slower without it
        _effect("c", "q", 0.01, math.inf),
        _effect("d", "p", -0.02, 5.0),
        _effect("d", "q", 0.00, 5.0),
    ]
    order = [t for t, _, _ in att.rank_tricks(effects)]
    assert order == ["b", "c", "a", "d"]
    errs = [e for _, e, _ in att.rank_tricks(effects)]
    assert errs == sorted(errs, reverse=True)


def test_checklist_covers_the_paper_items():
    effects = [_effect(t, p, 0.05, 5.0) for t in att.TRICKS for p in att.PROBLEMS]
    effects = [
        att.TrickEffect(e.trick, e.problem, e.ladder_before, e.ladder_after, e.full, e.without,
                        "helps") for e in effects
    ]  # fmt: skip
    items = {c.item: c for c in att.checklist(effects)}
    assert items["initialize the weights with σ = m^(-1/2)"].verdict == "confirmed"
    assert items["center the inputs"].verdict == "confirmed with a caveat"  # bundled
    assert items["shuffle the examples"].verdict == "not measured here"
    assert all(c.chapter for c in items.values())


def test_verdict_changes_lists_the_items_whose_verdict_moved():
    helps = [_effect(t, p, 0.05, 5.0) for t in att.TRICKS for p in att.PROBLEMS]
    helps = [dataclasses.replace(e, judgement="helps") for e in helps]
    # momentum stops helping on one problem: its item is the only one to move
    mixed = [
        dataclasses.replace(e, judgement="neutral")
        if (e.trick, e.problem) == ("momentum", att.PROBLEMS[0])
        else e
        for e in helps
    ]
    before, after = att.checklist(helps), att.checklist(mixed)
    assert att.verdict_changes(before, before) == []
    assert att.verdict_changes(before, after) == [
        ("choose the learning rates well (momentum)", "confirmed", "confirmed with a caveat")
    ]
    with pytest.raises(ValueError, match="same checklist items"):
        att.verdict_changes(before, after[1:])
    with pytest.raises(TypeError, match="after"):
        att.verdict_changes(before, ["confirmed"] * len(before))


# --- the run ----------------------------------------------------------------------------------


def test_quick_run_smoke(quick):
    res, calls = quick
    assert len(res.configs) == 2 * 10
    assert calls == [(k, 20) for k in range(1, 21)]
    for c in res.configs:
        assert c.eta in res.etas
        assert c.relative_loss.shape == (len(res.seeds), c.epoch.size)
        assert c.pca_coords.shape == (c.epoch.size, 2)
        assert np.all(np.isfinite(c.lambda_max))
        ok = ~c.diverged
        assert np.all(np.isfinite(c.relative_loss[ok]))  # nothing to draw as NaN
        np.testing.assert_allclose(c.pca_coords[-1], 0.0, atol=1e-9)  # ends at the origin
    # every (problem, recipe) is there
    for p in att.PROBLEMS:
        for r in {*att.ladder(), *att.leave_one_out()}:
            assert res.get(p, r).recipe == r


def test_run_is_deterministic(quick):
    res, _ = quick
    again = att.run(quick=True)
    for a, b in zip(res.configs, again.configs, strict=True):
        assert a.recipe == b.recipe and a.eta == b.eta
        # float32 training, same thread count: equal up to rounding of the sums
        np.testing.assert_allclose(a.relative_loss, b.relative_loss, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(a.test_error, b.test_error, atol=1e-12)
        np.testing.assert_allclose(a.lambda_max, b.lambda_max, rtol=1e-3)


def test_effects_match_the_configurations(quick):
    res, _ = quick
    for e in att.trick_effects(res):
        without = res.get(e.problem, att.FULL.with_trick(e.trick, False))
        assert e.without == (without.median_epochs, without.median_error)
        assert e.judgement == att.judge(e.full[0], e.without[0], e.full[1], e.without[1])


def test_median_epochs_to(quick):
    res, _ = quick
    digits = [c for c in res.configs if c.problem == "digits"]
    loose = att.median_epochs_to(digits, 0.5)
    assert list(loose) == [c.recipe.label for c in digits]
    for c in digits:
        epochs = att.epochs_to_target(c.epoch, c.relative_loss, 0.5)
        assert loose[c.recipe.label] == float(np.median(epochs))
    # a looser target is reached no later
    strict = att.median_epochs_to(digits, 0.1)
    assert all(loose[k] <= strict[k] for k in loose)
    with pytest.raises(ValueError, match="configs"):
        att.median_epochs_to([], 0.5)
    with pytest.raises(TypeError, match=r"configs\[0\]"):
        att.median_epochs_to(["x"], 0.5)
    with pytest.raises(ValueError, match="target"):
        att.median_epochs_to(digits, 0.0)


def test_summary_is_json(quick):
    res, _ = quick
    s = att.summary(res)
    text = json.dumps(s, allow_nan=False)
    assert json.loads(text)["n_seeds"] == len(res.seeds)
    assert len(s["configs"]) == 20
    assert [r[0] for r in s["ranking"]] == [
        t for t, _, _ in att.rank_tricks(att.trick_effects(res))
    ]


def test_figures_and_tables(quick):
    res, _ = quick
    figs = att_plots.figures(res)
    assert set(figs) == {"att-ladder", "att-ablation", "att-sharpness", "att-pca-toy",
                         "att-pca-digits"}  # fmt: skip
    for fig in figs.values():
        assert fig.get_size_inches()[0] <= MAX_FIGURE_WIDTH
        plt.close(fig)
    table = att_plots.config_table(res, "digits", "ablation")
    assert table.count("\n") == 1 + 6 and "all − momentum" in table
    assert att_plots.ranking_table(res).count("\n") == 1 + len(att.TRICKS)
    assert "not measured here" in att_plots.checklist_table(res)
    with pytest.raises(ValueError, match="kind"):
        att_plots.plot_curves(res, "staircase")
