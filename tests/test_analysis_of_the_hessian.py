"""Tests of the chapter "Analysis of the Hessian" (paper §8):
ebp.experiments.analysis_of_the_hessian and ebp.plots.analysis_of_the_hessian."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure

from ebp.experiments import analysis_of_the_hessian as ha
from ebp.plots import analysis_of_the_hessian as ha_plots

SMALL = (64, 5, 4, 10)
FAST = ha.TrainingSettings(n_train=60, epochs=2, eta=0.05, batch_size=10)


@pytest.fixture(scope="module")
def small_spectrum() -> ha.HessianSpectrum:
    return ha.hessian_spectrum(
        seeds=[0, 1], sizes=SMALL, settings=FAST, lanczos_k=4, slq_probes=3, slq_steps=40
    )


@pytest.fixture(scope="module")
def small_comparison() -> ha.CurvatureComparison:
    setups = [*ha.offset_setups([0.0, 2.0]), ha.HessianSetup(activation="logistic")]
    return ha.curvature_comparison(setups, seeds=[0, 1], k=3, sizes=SMALL, settings=FAST)


# -- set-ups and data ---------------------------------------------------------------------------


def test_setup_validates_its_fields() -> None:
    with pytest.raises(ValueError, match="activation"):
        ha.HessianSetup(activation="softsign")
    with pytest.raises(ValueError, match="inputs"):
        ha.HessianSetup(inputs="whitened")
    with pytest.raises(ValueError, match="offset"):
        ha.HessianSetup(offset=float("nan"))
    assert "offset 0.5" in ha.HessianSetup(offset=0.5).label
    assert "offset" not in ha.HessianSetup().label


def test_training_settings_validate() -> None:
    with pytest.raises(ValueError, match="eta"):
        ha.TrainingSettings(eta=0.0)
    with pytest.raises(ValueError, match="epochs"):
        ha.TrainingSettings(epochs=-1)
    with pytest.raises(TypeError, match="settings"):
        ha.hessian_spectrum(settings={"eta": 0.1})


def test_offset_setups() -> None:
    setups = ha.offset_setups([0.0, 1.0], activation="tanh")
    assert [s.offset for s in setups] == [0.0, 1.0]
    assert all(s.activation == "tanh" for s in setups)
    with pytest.raises(TypeError, match="offsets"):
        ha.offset_setups(1.0)  # type: ignore[arg-type]


def test_digit_problem_codings() -> None:
    X, T = ha.digit_problem(ha.HessianSetup(), n_train=100)
    assert X.shape == (100, 64) and T.shape == (100, 10)
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-12)
    assert set(np.unique(T)) == {-1.0, 1.0}
    Xc, _ = ha.digit_problem(ha.HessianSetup(offset=1.5), n_train=100)
    np.testing.assert_allclose(Xc - X, 1.5)
    Xr, _ = ha.digit_problem(ha.HessianSetup(inputs="raw"), n_train=100)
    assert Xr.min() >= 0.0 and Xr.max() <= 1.0 and Xr.mean() > 0.2
    with pytest.raises(TypeError, match="setup"):
        ha.digit_problem("standardized")  # type: ignore[arg-type]


def test_layer_of_parameters() -> None:
    models, *_ = ha.train_networks(
        ha.HessianSetup(), [0], sizes=SMALL, settings=ha.TrainingSettings(epochs=0)
    )
    layer, is_weight = ha.layer_of_parameters(models[0])
    assert layer.size == 64 * 5 + 5 + 5 * 4 + 4 + 4 * 10 + 10
    assert (layer == 0).sum() == 64 * 5 + 5 and is_weight[: 64 * 5].all()
    assert not is_weight[64 * 5 : 64 * 5 + 5].any()


# -- the full spectrum --------------------------------------------------------------------------


def test_spectrum_is_sorted_and_consistent(small_spectrum: ha.HessianSpectrum) -> None:
    sp = small_spectrum
    assert sp.eigenvalues.shape == (2, sp.n_params)
    assert np.all(np.diff(sp.eigenvalues, axis=1) <= 0)
    # the trace is the sum of the eigenvalues and of the diagonal
    np.testing.assert_allclose(sp.eigenvalues.sum(1), sp.diag_exact.sum(1), rtol=1e-9)
    np.testing.assert_allclose(sp.ratio(3), sp.eigenvalues[:, 0] / sp.eigenvalues[:, 2])
    assert np.all(sp.n_negative(1e-3) <= sp.n_negative())
    assert sp.lanczos_error() < 1e-6
    assert sp.lanczos_products < sp.n_params


def test_spectrum_densities(small_spectrum: ha.HessianSpectrum) -> None:
    sp = small_spectrum
    mass = np.trapezoid(sp.exact_density, sp.slq_grid)
    assert mass == pytest.approx(1.0, abs=0.02)
    assert np.trapezoid(sp.slq_density, sp.slq_grid) == pytest.approx(1.0, abs=0.02)
    assert 0.0 <= sp.density_l1() < 0.5


def test_dead_weights_are_those_of_constant_pixels(small_spectrum: ha.HessianSpectrum) -> None:
    X, _ = ha.digit_problem(ha.HessianSetup(), n_train=FAST.n_train)
    n_const = int((X.std(axis=0) == 0).sum())
    assert n_const > 0
    assert int(small_spectrum.dead.sum()) == n_const * SMALL[1]
    # exactly 0, not to rounding: every term of these entries has the factor x_i = 0
    assert np.all(small_spectrum.diag_exact[:, small_spectrum.dead] == 0)


def test_diagonals_per_layer(small_spectrum: ha.HessianSpectrum) -> None:
    sp = small_spectrum
    for kind in ("exact", "gauss_newton", "backprop"):
        m = sp.layer_means(kind)
        assert m.shape == (2, 3) and np.all(m > 0)
    # §7.4: the backpropagated diagonal is the exact Gauss–Newton one on the top two layers
    top = sp.layer >= sp.n_layers - 2
    np.testing.assert_allclose(
        sp.diag_backprop[:, top], sp.diag_gauss_newton[:, top], rtol=1e-9, atol=1e-14
    )
    with pytest.raises(ValueError, match="kind"):
        sp.layer_means("hutchinson")


def test_spectrum_is_deterministic(small_spectrum: ha.HessianSpectrum) -> None:
    again = ha.hessian_spectrum(
        seeds=[0, 1], sizes=SMALL, settings=FAST, lanczos_k=4, slq_probes=3, slq_steps=40
    )
    # seeded, so the same numbers; compared to rounding, not bit for bit, since BLAS reductions
    # may differ in the last bit between runs (threads, kernels)
    scale = np.abs(small_spectrum.eigenvalues).max()
    np.testing.assert_allclose(
        again.eigenvalues, small_spectrum.eigenvalues, rtol=1e-10, atol=1e-12 * scale
    )
    np.testing.assert_allclose(again.slq_density, small_spectrum.slq_density, rtol=1e-8, atol=1e-10)


def test_spectrum_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError, match="setup"):
        ha.hessian_spectrum("raw")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seeds"):
        ha.hessian_spectrum(seeds=[])
    with pytest.raises(ValueError, match="lanczos_k"):
        ha.hessian_spectrum(lanczos_k=0)


# -- comparisons by Lanczos ---------------------------------------------------------------------


def test_comparison_agrees_with_the_dense_spectrum(
    small_comparison: ha.CurvatureComparison, small_spectrum: ha.HessianSpectrum
) -> None:
    i = small_comparison.index(ha.HessianSetup())
    np.testing.assert_allclose(
        small_comparison.lambda_1[i, 1], small_spectrum.eigenvalues[:, 0], rtol=1e-8
    )
    np.testing.assert_allclose(
        small_comparison.lambda_k[i, 1], small_spectrum.eigenvalues[:, 2], rtol=1e-8
    )
    np.testing.assert_allclose(small_comparison.layer_share.sum(axis=-1), 1.0)


def test_offsets_are_listed_in_order(small_comparison: ha.CurvatureComparison) -> None:
    c, idx = small_comparison.offsets()
    assert list(c) == [0.0, 2.0]
    assert [small_comparison.setups[i].offset for i in idx] == [0.0, 2.0]
    c_log, _ = small_comparison.offsets(activation="logistic")
    assert list(c_log) == [0.0]


def test_comparison_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="repeat"):
        ha.curvature_comparison([ha.HessianSetup(), ha.HessianSetup()])
    with pytest.raises(TypeError, match="setups"):
        ha.curvature_comparison(ha.HessianSetup())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="k"):
        ha.curvature_comparison([ha.HessianSetup()], k=1)


def test_trajectory_matches_comparison(small_comparison: ha.CurvatureComparison) -> None:
    tr = ha.lambda_max_during_training(
        [ha.HessianSetup()], seeds=[0, 1], checkpoints=[0, 1, 2], sizes=SMALL, settings=FAST
    )
    i = small_comparison.index(ha.HessianSetup())
    assert tr.lambda_max.shape == (1, 2, 3)
    np.testing.assert_allclose(tr.lambda_max[0, :, 0], small_comparison.lambda_1[i, 0], rtol=1e-8)
    np.testing.assert_allclose(tr.lambda_max[0, :, -1], small_comparison.lambda_1[i, 1], rtol=1e-6)
    with pytest.raises(ValueError, match="checkpoints"):
        ha.lambda_max_during_training(checkpoints=[2, 1])


# -- the paper's claims at the chapter's size (R10) ---------------------------------------------


def test_paper_claims_at_chapter_size() -> None:
    """An input offset enlarges λ_max; uncentred inputs and logistic hidden units give a larger
    λ_1/λ_11 than the recommended set-up, and the logistic's top eigenvector sits on the output
    layer."""
    setups = [
        ha.HessianSetup(),
        ha.HessianSetup(inputs="raw"),
        ha.HessianSetup("logistic"),
        ha.HessianSetup(offset=1.0),
    ]
    res = ha.curvature_comparison(setups, seeds=range(5))
    assert np.all(res.lambda_1[3, 0] > res.lambda_1[0, 0])  # at initialization, every seed
    ratio = res.ratio()[:, 1].mean(axis=1)  # trained
    assert ratio[1] > 2 * ratio[0]
    assert ratio[2] > 2 * ratio[0]
    share = res.layer_share[:, 1, :, -1].mean(axis=1)
    assert share[2] > 0.5 > share[0]


def test_second_derivatives_smaller_in_lower_layers() -> None:
    sp = ha.hessian_spectrum(seeds=[0, 1], lanczos_k=2, slq_probes=1, slq_steps=5)
    m = sp.layer_means("exact").mean(axis=0)
    assert m[0] < m[1] < m[2]


# -- plots ---------------------------------------------------------------------------------------


def test_plots_draw(
    small_spectrum: ha.HessianSpectrum, small_comparison: ha.CurvatureComparison
) -> None:
    tr = ha.lambda_max_during_training(
        [ha.HessianSetup()], seeds=[0], checkpoints=[0, 1], sizes=SMALL, settings=FAST
    )
    figs = [
        ha_plots.plot_sorted_spectra([small_spectrum, small_spectrum], mark=3),
        ha_plots.plot_eigenvalue_histograms(small_spectrum),
        ha_plots.plot_layer_diagonals(small_spectrum),
        ha_plots.plot_offset_sweep(small_comparison),
        ha_plots.plot_lambda_max_during_training(tr),
    ]
    assert all(isinstance(f, Figure) for f in figs)
    # two panels stacked in one column, not side by side (the figures fit the text column)
    assert [ax.get_subplotspec().get_geometry()[:2] for ax in figs[0].axes] == [(2, 1)] * 2
    assert [ax.get_subplotspec().get_geometry()[:2] for ax in figs[3].axes] == [(2, 1)] * 2
    # every reference line is named: in a legend or by a text beside it
    sorted_legend = [t.get_text() for t in figs[0].axes[0].get_legend().get_texts()]
    assert sorted_legend[-2:] == [r"$\lambda_1$", r"$\lambda_{3}$"]
    assert any(t.get_text() == r"$2/\eta$" for t in figs[4].axes[0].texts)
    # histogram counts are points on the log axis, not bars
    assert not figs[1].axes[0].patches
    curvature = ha_plots.comparison_table_markdown(small_comparison)
    assert len(curvature.splitlines()) == 2 + len(small_comparison.setups)
    assert r"$\lambda_1/\lambda_{3}$ trained" in curvature
    layers = ha_plots.comparison_table_markdown(small_comparison, part="layers")
    assert layers.splitlines()[0].count("|") == 1 + 1 + 3 + 1  # set-up, 3 layers, loss
    labels = [row.split("|")[1].strip() for row in layers.splitlines()[2:]]
    assert labels == ["recommended", "offset $c = 2$", "logistic units"]
    with pytest.raises(ValueError, match="part"):
        ha_plots.comparison_table_markdown(small_comparison, part="all")


def test_plots_reject_bad_input(small_comparison: ha.CurvatureComparison) -> None:
    with pytest.raises(TypeError, match="spectrum"):
        ha_plots.plot_layer_diagonals(small_comparison)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="spectra"):
        ha_plots.plot_sorted_spectra([small_comparison])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="spectra"):
        ha_plots.plot_eigenvalue_histograms([])
    one = ha.curvature_comparison(
        [ha.HessianSetup(activation="tanh")], seeds=[0], k=2, sizes=SMALL, settings=FAST
    )
    with pytest.raises(ValueError, match="offsets"):
        ha_plots.plot_offset_sweep(one)


# -- exercises ------------------------------------------------------------------------------------


def test_slq_convergence_top_first(small_spectrum: ha.HessianSpectrum) -> None:
    conv = ha.slq_convergence(steps=(3, 10, 40), sizes=SMALL, settings=FAST)
    assert conv.lambda_1 == pytest.approx(small_spectrum.lambda_max[0], rel=1e-9)
    assert np.all(conv.top_node <= conv.lambda_1 * (1 + 1e-9))  # Ritz values lie inside
    assert conv.top_error[-1] < 1e-6
    assert conv.density_l1[-1] < conv.density_l1[0]
    assert conv.steps_to(1e-6) in (10, 40)
    with pytest.raises(ValueError, match="steps"):
        ha.slq_convergence(steps=(), sizes=SMALL, settings=FAST)


def test_per_layer_training(small_spectrum: ha.HessianSpectrum) -> None:
    pl = ha.per_layer_training(small_spectrum, sizes=SMALL)
    h = small_spectrum.layer_means("exact").mean(axis=0)
    np.testing.assert_allclose(pl.rates * h, FAST.eta * h[-1], rtol=1e-12)
    assert pl.rates[-1] == pytest.approx(FAST.eta)
    assert pl.single_loss.shape == pl.layer_loss.shape == (2,)
    assert pl.fastest_limit == pytest.approx(2 / pl.rates.max())
    with pytest.raises(TypeError, match="spectrum"):
        ha.per_layer_training("spectrum")


def test_per_layer_rates_beat_the_single_rate_at_chapter_size() -> None:
    """Exercise ha-ex-layers: rates ∝ 1/(mean second derivative of the layer) train further in
    10 epochs than the single rate, without diverging."""
    sp = ha.hessian_spectrum(seeds=range(5), lanczos_k=2, slq_probes=1, slq_steps=5)
    pl = ha.per_layer_training(sp)
    assert not pl.diverged.any()
    assert pl.rates[0] > pl.rates[1] > pl.rates[2]
    assert np.all(pl.layer_loss < pl.single_loss)
    assert np.all(pl.lambda_max < pl.fastest_limit)
