"""ebp.experiments.shuffling_and_emphasizing (paper §4.2) and its plots."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from matplotlib.figure import Figure

from ebp.experiments import shuffling_and_emphasizing as sh
from ebp.plots import shuffling_and_emphasizing as sp
from ebp.presentation import emphasis_probabilities


@pytest.fixture(scope="module")
def orders():
    # the chapter's network, half its data, fewer epochs
    return sh.order_comparison(
        orders=("class_sorted", "shuffle"), n_train=100, epochs=2, record_every=10
    )


@pytest.fixture(scope="module")
def forgetting():
    return sh.class_forgetting(n_train=100, epochs=2, record_every=10, seeds=(0, 1, 2))


@pytest.fixture(scope="module")
def emphasis():
    # the chapter's setting, fewer epochs
    return sh.emphasis_comparison(epochs=4)


# ---------------------------------------------------------------------------------------------
# Labels and orders
# ---------------------------------------------------------------------------------------------


def test_flip_labels():
    y = np.repeat(np.arange(10), 20)
    noisy, idx = sh.flip_labels(y, 0.03, 10, seed=3)
    assert idx.size == 6 and np.all(np.diff(idx) > 0)
    assert np.all(noisy[idx] != y[idx])
    rest = np.setdiff1d(np.arange(y.size), idx)
    np.testing.assert_array_equal(noisy[rest], y[rest])
    again, idx2 = sh.flip_labels(y, 0.03, 10, seed=3)
    np.testing.assert_array_equal(again, noisy)
    np.testing.assert_array_equal(idx2, idx)
    assert sh.flip_labels(y, 0.0, 10)[1].size == 0


def test_same_class_fraction():
    y = np.array([0, 0, 1, 1, 2, 2])
    assert sh.same_class_fraction(np.arange(6), y) == pytest.approx(3 / 5)
    assert sh.same_class_fraction(np.array([0, 2, 4, 1, 3, 5]), y) == 0.0


def test_order_comparison_records(orders):
    n = orders.n_train
    assert orders.class_counts.sum() == n
    np.testing.assert_array_equal(orders.presentations, np.arange(0, 2 * n + 1, 10))
    for order in orders.orders:
        assert orders.train_loss[order].shape == (5, orders.presentations.size)
        # every run starts from the same five networks
        np.testing.assert_allclose(
            orders.train_loss[order][:, 0], orders.train_loss["shuffle"][:, 0], rtol=1e-6
        )


def test_same_class_of_the_orders():
    res = sh.order_comparison(n_train=60, epochs=1, seeds=(0, 1), record_every=30)
    assert res.orders == ("class_sorted", "fixed", "shuffle", "interleaved")
    n, K = res.n_train, res.class_counts.size
    # class-sorted: only the K − 1 class changes break the runs; interleaved: none
    assert res.same_class["class_sorted"] == pytest.approx((n - K) / (n - 1))
    assert res.same_class["interleaved"] == 0.0
    assert 0.0 < res.same_class["shuffle"] < 0.25
    assert res.test_error["fixed"].shape == (2,)


def test_class_sorted_order_learns_slower(orders):
    """§4.2: presenting the classes one after the other is much worse than shuffling."""
    assert orders.ratio("class_sorted") > 2.0
    assert orders.climb("class_sorted").mean() > orders.climb("shuffle").mean()
    assert orders.first_below("shuffle", orders.final_loss("class_sorted").mean()) < 2 * (
        orders.n_train
    )
    assert np.isnan(orders.first_below("class_sorted", 0.0))


def test_class_forgetting_matches_fit_many_and_the_class_means(orders, forgetting):
    for order in forgetting.orders:
        # fit and fit_many train the same networks
        np.testing.assert_allclose(
            forgetting.train_loss[order], orders.train_loss[order][:3], rtol=1e-4, atol=1e-6
        )
        # the training loss is the count-weighted mean of the class losses
        weighted = np.einsum("skt,k->st", forgetting.class_loss[order], forgetting.class_counts)
        np.testing.assert_allclose(
            weighted / forgetting.n_train, forgetting.train_loss[order], rtol=1e-4
        )
    edges = forgetting.block_edges()
    assert edges.shape == (2, 11)
    assert edges[1, 0] == forgetting.n_train and edges[1, -1] == 2 * forgetting.n_train
    # each digit is forgotten during the other digits' blocks
    assert np.all(forgetting.class_swing("class_sorted") > forgetting.class_swing("shuffle"))


# ---------------------------------------------------------------------------------------------
# Emphasizing
# ---------------------------------------------------------------------------------------------


def test_emphasis_shapes_and_invariants(emphasis):
    e = emphasis
    assert e.settings == ("shuffle", "cap 4", "no cap")
    assert e.runs("clean") == ("shuffle", "cap 4")
    assert e.runs("noisy") == e.settings
    assert e.flipped.size == 6 and e.noise_share == pytest.approx(0.03)
    T = e.epoch.size
    for condition in ("clean", "noisy"):
        for setting in e.runs(condition):
            assert e.test_error[condition][setting].shape == (5, T)
            assert e.flipped_share[condition][setting].shape == (5, T - 1)
            assert e.pattern_loss[condition][setting].shape == (5, T, e.n_train)
            np.testing.assert_allclose(
                e.pattern_loss[condition][setting].mean(axis=2), e.train_loss[condition][setting]
            )
            # same initial networks in every run
            np.testing.assert_allclose(
                e.test_error[condition][setting][:, 0], e.test_error["clean"]["shuffle"][:, 0]
            )
    np.testing.assert_allclose(e.clean_loss["clean"]["cap 4"], e.train_loss["clean"]["cap 4"])
    assert np.isnan(e.flipped_loss["clean"]["shuffle"]).all()
    # shuffling spends exactly the flipped share of the presentations on them
    np.testing.assert_allclose(e.flipped_share["noisy"]["shuffle"], e.noise_share)
    # the cap bounds the share: each pattern at most cap/n
    assert e.flipped_share["noisy"]["cap 4"].max() <= 4 * e.noise_share + 1e-12


def test_emphasis_shares_recomputed_from_the_losses(emphasis):
    e = emphasis
    losses = e.pattern_loss["noisy"]["no cap"][2, 3]
    p = emphasis_probabilities(losses, cap=float(e.n_train))
    np.testing.assert_allclose(p, losses / losses.sum())  # no cap: proportional to the loss
    assert e.flipped_share["noisy"]["no cap"][2, 3] == pytest.approx(p[e.flipped].sum())


def test_emphasis_draws_presentations_to_the_mislabelled_patterns(emphasis):
    """§4.2's warning: emphasizing feeds on the outliers."""
    share = emphasis.flipped_share["noisy"]
    assert share["cap 4"][:, -1].mean() > 2 * emphasis.noise_share
    assert share["no cap"][:, -1].mean() > 2 * emphasis.noise_share
    # and so the mislabelled patterns are learned faster than with plain shuffling
    flipped_loss = emphasis.flipped_loss["noisy"]
    assert flipped_loss["cap 4"][:, -1].mean() < flipped_loss["shuffle"][:, -1].mean()


def test_emphasis_profile():
    rng = np.random.default_rng(0)
    loss = rng.exponential(0.05, size=100)
    flipped = np.array([3, 50, 97])
    loss[flipped] = 3.0
    prof = sh.emphasis_profile(loss, flipped, caps=(4.0, None))
    assert set(prof.relative) == {"cap 4", "no cap"}
    for rel in prof.relative.values():
        assert rel.sum() == pytest.approx(100.0)
    assert prof.relative["cap 4"].max() <= 4.0 + 1e-12
    np.testing.assert_allclose(prof.relative["cap 4"][flipped], 4.0)
    np.testing.assert_allclose(prof.relative["no cap"], 100 * loss / loss.sum())
    assert prof.share("cap 4") == pytest.approx(0.12)
    assert prof.share("no cap") > prof.share("cap 4")
    mask = np.zeros(100, dtype=bool)
    mask[flipped] = True
    assert sh.emphasis_profile(loss, mask).share("cap 4") == pytest.approx(0.12)


# ---------------------------------------------------------------------------------------------
# Determinism, bad input, plots
# ---------------------------------------------------------------------------------------------


def test_deterministic():
    a = sh.emphasis_comparison(epochs=1, seeds=(0, 1), caps=(4.0,), n_train=50)
    b = sh.emphasis_comparison(epochs=1, seeds=(0, 1), caps=(4.0,), n_train=50)
    # same seeds, same run, to rounding (not bit for bit: BLAS reductions)
    np.testing.assert_allclose(
        a.pattern_loss["noisy"]["cap 4"], b.pattern_loss["noisy"]["cap 4"], rtol=1e-10
    )


def test_bad_input():
    with pytest.raises(ValueError, match="orders"):
        sh.order_comparison(orders=("sorted",))
    with pytest.raises(TypeError, match="orders"):
        sh.order_comparison(orders="shuffle")
    with pytest.raises(ValueError, match="seeds"):
        sh.order_comparison(seeds=())
    with pytest.raises(ValueError, match="record_every"):
        sh.class_forgetting(record_every=0)
    with pytest.raises(ValueError, match="caps"):
        sh.emphasis_comparison(caps=(0.5,))
    with pytest.raises(ValueError, match="clean_caps"):
        sh.emphasis_comparison(caps=(4.0,), clean_caps=(2.0,))
    with pytest.raises(ValueError, match="label_noise"):
        sh.emphasis_comparison(label_noise=0.0)
    with pytest.raises(ValueError, match="flips no label"):
        sh.emphasis_comparison(label_noise=0.001, n_train=100)
    with pytest.raises(ValueError, match="fraction"):
        sh.flip_labels(np.arange(5), 1.0, 5)
    with pytest.raises(TypeError, match="y"):
        sh.flip_labels(np.linspace(0, 1, 5), 0.1, 5)
    with pytest.raises(ValueError, match="order"):
        sh.same_class_fraction(np.array([0]), np.array([0]))
    with pytest.raises(ValueError, match="flipped"):
        sh.emphasis_profile(np.ones(4), np.zeros(3, dtype=bool))
    with pytest.raises(ValueError, match="loss"):
        sh.emphasis_profile(-np.ones(4), np.array([0]))


def test_plots():
    tiny = {"n_train": 40, "epochs": 1, "seeds": (0, 1)}
    orders = sh.order_comparison(record_every=20, **tiny)
    forgetting = sh.class_forgetting(record_every=20, **tiny)
    emphasis = sh.emphasis_comparison(label_noise=0.05, **tiny)
    prof = sh.emphasis_profile(emphasis.pattern_loss["noisy"]["shuffle"][0, -1], emphasis.flipped)
    figures = [
        sp.plot_order_comparison(orders),
        sp.plot_class_forgetting(forgetting),
        sp.plot_emphasis_comparison(emphasis),
        sp.plot_emphasis_profile(prof),
    ]
    for fig in figures:  # left open: conftest checks that they fit the column
        assert isinstance(fig, Figure)
    assert len(figures[2].axes) == 3  # (a), (b), (c) stacked
    assert figures[2].axes[0].get_position().y0 > figures[2].axes[2].get_position().y0
    table = sp.emphasis_table_markdown(emphasis)
    assert table.count("\n") == 1 + 5  # header, rule, five runs
    with pytest.raises(TypeError, match="result"):
        sp.plot_order_comparison(emphasis)
    with pytest.raises(TypeError, match="profile"):
        sp.plot_emphasis_profile(orders)
    with pytest.raises(ValueError, match="classes"):
        sp.plot_class_forgetting(forgetting, classes=(10,))
