"""Figures and tables of the chapter "Analysis of the Hessian" (paper §8, Figs 19–21).

Each function draws what an experiment of :mod:`ebp.experiments.analysis_of_the_hessian` returned;
none computes anything beyond means, ranges and histogram counts for display.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from ebp._validate import check_instance, check_int
from ebp.experiments.analysis_of_the_hessian import (
    CurvatureComparison,
    HessianSetup,
    HessianSpectrum,
    TopEigenvalueTrajectory,
)
from ebp.plots.style import (
    BLACK,
    BLUE,
    COLUMN_WIDTH,
    GREEN,
    ORANGE,
    PALETTE,
    VERMILLION,
    new_figure,
    panel_label,
)
from ebp.plots.tables import pipe_table

__all__ = [
    "comparison_table_markdown",
    "plot_eigenvalue_histograms",
    "plot_lambda_max_during_training",
    "plot_layer_diagonals",
    "plot_offset_sweep",
    "plot_sorted_spectra",
]


def _check_spectra(spectra: Sequence[HessianSpectrum]) -> list[HessianSpectrum]:
    if isinstance(spectra, HessianSpectrum):
        spectra = [spectra]
    spectra = list(spectra)
    if not spectra:
        raise ValueError("spectra must hold at least one HessianSpectrum")
    for i, s in enumerate(spectra):
        check_instance(s, HessianSpectrum, f"spectra[{i}]")
    return spectra


def _letter(i: int) -> str:
    return "abcdefgh"[i]


def plot_sorted_spectra(
    spectra: Sequence[HessianSpectrum], *, floor: float = 1e-7, mark: int = 11
) -> Figure:
    """Fig 19: every eigenvalue's magnitude, sorted from the largest down, on a log scale.

    One panel per spectrum (its first seed), stacked; positive eigenvalues in blue, negative
    ones in vermillion.  Magnitudes below ``floor · λ_1`` (numerical zeros, among them the exact
    zeros of dead weights) are left out of the log axis.  ``λ_1`` (dotted) and ``λ_mark``
    (dashed) are marked and named in the legend.
    """
    spectra = _check_spectra(spectra)
    mark = check_int(mark, "mark", min_value=2)
    n = len(spectra)
    fig, axes = new_figure(n, 1, figsize=(COLUMN_WIDTH, 0.4 + 3.0 * n), sharex=True)
    axes = np.atleast_1d(axes)
    for i, (ax, sp) in enumerate(zip(axes, spectra, strict=True)):
        lam = sp.eigenvalues[0]
        order = np.argsort(-np.abs(lam), kind="stable")
        mag, sign = np.abs(lam[order]), np.sign(lam[order])
        rank = np.arange(1, lam.size + 1)
        keep = mag >= floor * lam[0]
        for s, color, label in ((1, BLUE, "λ > 0"), (-1, VERMILLION, "λ < 0")):
            m = keep & (sign == s)
            ax.scatter(rank[m], mag[m], s=4, color=color, label=f"{label} ({int(m.sum())})")
        ax.axhline(lam[0], color=BLACK, lw=0.8, ls=":", label="$\\lambda_1$")
        ax.axhline(lam[mark - 1], color=BLACK, lw=0.8, ls="--", label=f"$\\lambda_{{{mark}}}$")
        ax.annotate(
            f"$\\lambda_1/\\lambda_{{{mark}}} = {lam[0] / lam[mark - 1]:.1f}$",
            xy=(0.97, 0.72),
            xycoords="axes fraction",
            ha="right",
            va="top",
            fontsize=10,
            bbox={"boxstyle": "round", "fc": "white", "ec": "0.8"},
        )
        ax.set_yscale("log")
        ax.set_ylim(floor * lam[0], 3 * lam[0])
        ax.set_ylabel("$|\\lambda|$")
        ax.legend(fontsize=9, loc="lower left", markerscale=3, ncols=2)
        panel_label(ax, f"({_letter(i)}) {sp.setup.inputs} inputs, {sp.n_params} weights")
    axes[-1].set_xlabel("rank by $|\\lambda|$")
    return fig


def plot_eigenvalue_histograms(spectra: Sequence[HessianSpectrum], *, bins: int = 60) -> Figure:
    """Fig 20: histograms of the eigenvalues (first seed), one panel per spectrum, stacked.

    The count of each bin is a point at the bin's centre (counts are on a log scale, where bars
    would depend on an arbitrary baseline; empty bins are left out), with the stochastic Lanczos
    quadrature density and the exact smoothed density scaled to counts.
    """
    spectra = _check_spectra(spectra)
    bins = check_int(bins, "bins", min_value=5)
    n = len(spectra)
    fig, axes = new_figure(n, 1, figsize=(COLUMN_WIDTH, 0.4 + 3.0 * n))
    axes = np.atleast_1d(axes)
    for i, (ax, sp) in enumerate(zip(axes, spectra, strict=True)):
        lam = sp.eigenvalues[0]
        counts, edges = np.histogram(lam, bins=bins)
        width = edges[1] - edges[0]
        centre = (edges[:-1] + edges[1:]) / 2
        full = counts > 0
        ax.plot(
            centre[full], counts[full], "o", ms=4, color=BLUE, label="exact (eigvalsh), per bin"
        )
        scale = lam.size * width
        ax.plot(
            sp.slq_grid, sp.exact_density * scale, color=BLACK, lw=1.0, ls="--",
            label=f"exact, smoothed (σ = {sp.slq_sigma:.2g})",
        )  # fmt: skip
        ax.plot(
            sp.slq_grid, sp.slq_density * scale, color=ORANGE, lw=1.6,
            label=f"SLQ ({sp.slq_products} products)",
        )  # fmt: skip
        ax.set_yscale("log")
        ax.set_ylim(0.5, 3 * lam.size)
        ax.set_xlabel("eigenvalue $\\lambda$")
        ax.set_ylabel("eigenvalues per bin")
        ax.legend(fontsize=9, loc="upper right")
        panel_label(ax, f"({_letter(i)}) {sp.setup.inputs} inputs")
    return fig


def plot_layer_diagonals(spectrum: HessianSpectrum) -> Figure:
    """Fig 21: mean ``|∂²E/∂w_ki²|`` over each layer's weights, exact, Gauss–Newton and
    backpropagated (§7.4); bars are seed means, whiskers the min–max range over seeds."""
    check_instance(spectrum, HessianSpectrum, "spectrum")
    kinds = (
        ("exact", "exact Hessian diagonal", BLUE),
        ("gauss_newton", "Gauss–Newton diagonal", GREEN),
        ("backprop", "backpropagated (§7.4)", ORANGE),
    )
    L = spectrum.n_layers
    fig, ax = new_figure(figsize=(COLUMN_WIDTH, 3.8))
    x = np.arange(L)
    width = 0.26
    for j, (kind, label, color) in enumerate(kinds):
        m = spectrum.layer_means(kind)
        mean = m.mean(axis=0)
        err = np.stack([mean - m.min(axis=0), m.max(axis=0) - mean])
        ax.bar(x + (j - 1) * width, mean, width, yerr=err, color=color, label=label, capsize=3)
    sizes = spectrum.sizes
    ax.set_xticks(x, [f"layer {ell + 1}\n({sizes[ell]}→{sizes[ell + 1]})" for ell in range(L)])
    ax.set_ylim(bottom=0.0)
    ax.set_ylabel("mean $|\\partial^2 E/\\partial w_{ki}^2|$")
    ax.set_xlabel("layer (1 = nearest the input)")
    ax.legend(fontsize=9, loc="upper left")
    return fig


def _band(ax: Axes, x: np.ndarray, rows: np.ndarray, color: str, ls: str, label: str) -> None:
    ax.fill_between(x, rows.min(axis=0), rows.max(axis=0), color=color, alpha=0.2, lw=0)
    ax.plot(x, rows.mean(axis=0), color=color, ls=ls, marker="o", ms=4, label=label)


def plot_offset_sweep(result: CurvatureComparison) -> Figure:
    """``λ_max`` (a, top) and ``λ_1/λ_k`` (b, below) against the input offset ``c``, at
    initialization and after training (seed means, bands the min–max range), with ``2/η`` in
    (a)."""
    check_instance(result, CurvatureComparison, "result")
    c, idx = result.offsets()
    if c.size < 2:
        raise ValueError("result must hold at least two offsets of the recommended sigmoid")
    fig, (ax1, ax2) = new_figure(2, 1, figsize=(COLUMN_WIDTH, 6.4), sharex=True)
    for stage, (color, ls) in enumerate(((VERMILLION, "--"), (BLUE, "-"))):
        label = result.stages[stage]
        _band(ax1, c, result.lambda_1[idx, stage].T, color, ls, label)
        _band(ax2, c, result.ratio()[idx, stage].T, color, ls, label)
    ax1.axhline(2 / result.settings.eta, color=BLACK, lw=0.8, ls=":", label="$2/\\eta$")
    ax1.set_yscale("log")
    ax1.set_ylabel("$\\lambda_{\\max}$")
    ax2.set_ylabel(f"$\\lambda_1/\\lambda_{{{result.k}}}$")
    for ax, title in (
        (ax1, "(a) largest eigenvalue"),
        (ax2, f"(b) $\\lambda_1/\\lambda_{{{result.k}}}$"),
    ):
        ax.legend(fontsize=9, loc="upper left")
        panel_label(ax, title)
    ax2.set_xlabel("offset $c$ added to every standardized input")
    return fig


def _fmt(rows: np.ndarray, digits: int) -> str:
    return f"{rows.mean():.{digits}f} [{rows.min():.{digits}f}, {rows.max():.{digits}f}]"


def _short_label(setup: HessianSetup) -> str:
    """What ``setup`` changes from the recommended one, in a few words, for a table row."""
    parts = []
    if setup.inputs != "standardized":
        parts.append(f"{setup.inputs} inputs")
    if setup.offset:
        parts.append(f"offset $c = {setup.offset:g}$")
    if setup.activation != "lecun_tanh":
        parts.append(f"{setup.activation} units")
    return ", ".join(parts) or "recommended"


def comparison_table_markdown(
    result: CurvatureComparison,
    setups: Sequence[HessianSetup] | None = None,
    *,
    part: str = "curvature",
) -> str:
    """One of two tables of a comparison, one row per set-up (default: all).

    ``part="curvature"``: ``λ_max`` and ``λ_1/λ_k``, at initialization and trained, each cell
    the seed mean [min, max].  ``part="layers"``: the trained top eigenvector's share on each
    layer (seed mean) and the final training loss (mean [min, max]).  A set-up is named by
    what it changes from the recommended one (standardized inputs, the sigmoid
    ``1.7159 tanh(2x/3)``, no offset).  Headers and cells hold ``$...$`` math: display the
    table with MyST (``markdown_format: myst``).
    """
    check_instance(result, CurvatureComparison, "result")
    if part not in ("curvature", "layers"):
        raise ValueError(f"part must be 'curvature' or 'layers'; got {part!r}")
    setups = list(result.setups if setups is None else setups)
    L = result.layer_share.shape[-1]
    ratio = f"$\\lambda_1/\\lambda_{{{result.k}}}$"
    if part == "curvature":
        header = [
            "set-up",
            r"$\lambda_{\max}$ initial",
            r"$\lambda_{\max}$ trained",
            f"{ratio} initial",
            f"{ratio} trained",
        ]
    else:
        header = ["set-up", *[f"layer {ell + 1}" for ell in range(L)], "loss $E$ trained"]
    rows = []
    for s in setups:
        i = result.index(s)
        if part == "curvature":
            cells = [
                _fmt(result.lambda_1[i, 0], 1),
                _fmt(result.lambda_1[i, 1], 1),
                _fmt(result.ratio()[i, 0], 1),
                _fmt(result.ratio()[i, 1], 1),
            ]
        else:
            share = result.layer_share[i, 1].mean(axis=0)
            cells = [*[f"{v:.2f}" for v in share], _fmt(result.train_loss[i], 2)]
        rows.append([_short_label(s), *cells])
    return pipe_table(header, rows)


def plot_lambda_max_during_training(result: TopEigenvalueTrajectory) -> Figure:
    """``λ_max`` (a, top) and the training loss (b, below) against the epoch, one line per
    set-up (seed means, bands the min–max range), with ``2/η`` labelled in (a)."""
    check_instance(result, TopEigenvalueTrajectory, "result")
    fig, (ax1, ax2) = new_figure(2, 1, figsize=(COLUMN_WIDTH, 6.4), sharex=True)
    styles = [(BLUE, "-"), (VERMILLION, "--"), (GREEN, "-."), (PALETTE[4], ":")]
    x = result.epoch
    for s, setup in enumerate(result.setups):
        color, ls = styles[s % len(styles)]
        label = setup.label
        _band(ax1, x, result.lambda_max[s], color, ls, label)
        _band(ax2, x, result.train_loss[s], color, ls, label)
    ax1.axhline(2 / result.eta, color=BLACK, lw=0.8, ls=":")
    ax1.annotate(  # named at the line's right end: a legend there would sit on the line
        "$2/\\eta$", (1.0, 2 / result.eta), xycoords=("axes fraction", "data"),
        xytext=(-4, 3), textcoords="offset points", ha="right", va="bottom", fontsize=10,
    )  # fmt: skip
    ax1.set_yscale("log")
    ax1.set_ylabel("$\\lambda_{\\max}$ (Lanczos)")
    ax2.set_yscale("log")
    ax2.set_ylabel("training loss $E$")
    for ax, title in ((ax1, "(a) largest eigenvalue"), (ax2, "(b) training loss")):
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_xlim(0, x.max() * 1.05)
        ax.set_xticks(x, [f"{e:g}" for e in x])
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        panel_label(ax, title)
    ax2.legend(fontsize=9, loc="upper right")
    ax2.set_xlabel("epoch")
    return fig
