"""Figures and tables of the chapter "The principal eigenvalue and the learning rate" (§9.2).

Each function draws what an experiment of :mod:`ebp.experiments.principal_eigenvalue` returned; none
computes anything beyond ratios, means and ranges for display.
"""

from __future__ import annotations

import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ebp._validate import check_instance
from ebp.experiments.principal_eigenvalue import (
    R8_WINDOW,
    OnlineRuns,
    PrincipalEigenvalue,
    RateSweep,
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

__all__ = ["plot_estimates", "plot_online_runs", "plot_rate_sweep", "r8_table_markdown"]


def plot_estimates(result: PrincipalEigenvalue) -> Figure:
    """(a, top) Relative error of the power method (eq 60), its Taylor form (eq 63) and Lanczos
    against the products or gradients used; (b, bottom) eq 64 as printed and corrected at
    constant γ.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.principal_eigenvalue.principal_eigenvalue`.
    """
    check_instance(result, PrincipalEigenvalue, "result")
    lam = result.lambda_max
    fig, (ax, bx) = new_figure(2, 1, figsize=(COLUMN_WIDTH, 8.0))
    floor = 1e-16
    power = np.maximum(np.abs(result.power - lam) / lam, floor)
    taylor = np.maximum(np.abs(result.taylor - lam) / lam, floor)
    ax.plot(np.arange(1, power.size + 1), power, color=BLUE, label="power method, exact $Hv$")
    ax.plot(
        np.arange(2, taylor.size + 2),
        taylor,
        color=ORANGE,
        ls="--",
        label="Taylor form (gradient differences)",
    )
    lz = max(abs(result.lanczos - lam) / lam, floor)
    ax.plot([result.lanczos_products], [lz], "D", color=GREEN, ms=7, label="Lanczos (eigsh), final")
    ax.axhline(1e-3, color=BLACK, ls=":", lw=1.2, label="required accuracy $10^{-3}$")
    ax.set_yscale("log")
    ax.set_ylim(top=1e4)  # room for the legend above the curves
    ax.set_xlabel("Hessian–vector products or gradient evaluations")
    ax.set_ylabel(r"$|\hat\lambda - \lambda_{\max}|\,/\,\lambda_{\max}$")
    ax.legend(loc="upper right")
    panel_label(ax, "(a) estimates on the full data")

    colors = [BLUE, VERMILLION, GREEN, ORANGE]
    for i, g in enumerate(sorted(result.printed, reverse=True)):
        c = colors[i % len(colors)]
        t = np.arange(1, result.printed[g].size + 1)
        bx.plot(t, result.printed[g] / lam, color=c, label=f"as printed, $\\gamma = {g:g}$")
        bx.plot(
            t,
            result.printed_corrected[g] / lam,
            color=c,
            ls="--",
            label=f"with factor $\\gamma$, $\\gamma = {g:g}$",
        )
        bx.axhline(1.0 / g, color=c, ls=":", lw=1.0)
        bx.annotate(
            f"$1/\\gamma = {1 / g:.3g}$",
            (t[-1], 1.0 / g),
            xytext=(-4, 4),
            textcoords="offset points",
            ha="right",
            va="bottom",
            fontsize=9,
            color=c,
        )
    bx.axhline(1.0, color=BLACK, ls=":", lw=1.0, label=r"$\|\Psi\| = \lambda_{\max}$")
    bx.set_yscale("log")
    bx.set_xlabel("presentations (one pattern each)")
    bx.set_ylabel(r"$\|\Psi\|\,/\,\lambda_{\max}$")
    bx.legend(loc="lower right")
    panel_label(bx, "(b) online rule (eq 64) at constant $\\gamma$")
    return fig


def plot_online_runs(result: OnlineRuns) -> Figure:
    """Fig 24: the online estimate over λ_max against presentations, one line per seed, with
    the presentations where γ changes and the band of the right order of magnitude.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.principal_eigenvalue.online_runs`.
    """
    check_instance(result, OnlineRuns, "result")
    fig, ax = new_figure(figsize=(COLUMN_WIDTH, 4.6))
    t = np.arange(1, result.estimates.shape[1] + 1)
    ax.axhspan(10**-0.5, 10**0.5, color="#eeeeee", lw=0, label=r"within a factor $\sqrt{10}$")
    for i, (s, row) in enumerate(zip(result.seeds, result.ratios, strict=True)):
        ax.plot(t, row, color=PALETTE[i % len(PALETTE)], lw=1.2, label=f"seed {s}")
    ax.axhline(1.0, color=BLACK, ls=":", lw=1.2, label=r"estimate $= \lambda_{\max}$")
    starts = np.concatenate([[0], result.gamma_changes])
    ends = np.concatenate([result.gamma_changes, [t[-1]]])
    for start, end in zip(starts, ends, strict=True):
        if start:
            label = "γ changes" if start == starts[1] else None
            ax.axvline(start, color=BLACK, ls="--", lw=0.8, label=label)
        ax.annotate(
            f"$\\gamma = {result.gammas[start]:g}$",
            (np.sqrt(max(start, 1) * end), 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, -3),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=9,
        )
    ax.set_yscale("log")
    ax.set_xscale("log")
    ax.set_xlim(1, t[-1])
    ax.set_xlabel("presentations (one pattern each, log scale)")
    ax.set_ylabel(r"online estimate $/\ \lambda_{\max}$")
    fig.legend(loc="outside lower center", ncols=3)
    return fig


_MARKERS = ["o", "s", "^", "D", "v"]
"""One marker per epoch of the rate sweep, so that curves of similar colours stay apart."""


def _minor_label(y: float, _pos: int) -> str:
    """Label the minor ticks of a log axis at 2 and 5 times a power of ten only."""
    if y <= 0:
        return ""
    mantissa = y / 10.0 ** np.floor(np.log10(y))
    return f"{y:g}" if min(abs(mantissa - 2), abs(mantissa - 5)) < 1e-6 else ""


def _sweep_panel(ax: Axes, sweep: RateSweep, title: str) -> None:
    lo, hi = R8_WINDOW
    ax.axvspan(lo, hi, color="#eeeeee", lw=0, label=f"window for the best ratio, [{lo:g}, {hi:g}]")
    ax.axvline(1.0, color=BLACK, ls=":", lw=1.2, label=r"$\eta = 1/\lambda_{\max}$")
    ax.axvline(
        sweep.pattern_ratio,
        color=BLACK,
        ls="--",
        lw=1.0,
        label=r"$\eta = 1/\langle\lambda_{\max}(\nabla^2 E^p)\rangle$",
    )
    epochs = [int(e) for e in sweep.epoch if e > 0]
    for i, e in enumerate(epochs):
        c, marker = PALETTE[i % len(PALETTE)], _MARKERS[i % len(_MARKERS)]
        values = sweep.mse[:, :, e]
        mean = sweep.mean_mse(e)
        ax.fill_between(
            sweep.ratios, values.min(axis=0), values.max(axis=0), color=c, alpha=0.15, lw=0
        )
        ax.plot(
            sweep.ratios,
            mean,
            color=c,
            marker=marker,
            ms=4,
            label=f"after {e} epoch{'s' if e > 1 else ''}",
        )
        j = int(np.argmin(mean))
        ax.plot(sweep.ratios[j], mean[j], "o", mfc="none", mec=c, ms=10, mew=1.5)
    ax.set_xscale("log", base=2)
    ticks = [r for r in 2.0 ** np.arange(-6, 4) if sweep.ratios.min() <= r <= sweep.ratios.max()]
    ax.set_xticks(ticks, [f"{r:g}" if r >= 1 else f"1/{1 / r:g}" for r in ticks])
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(ticker.FuncFormatter(_minor_label))
    ax.set_xlabel(
        r"$\eta\ /\ \eta_{\mathrm{predicted}}$,  $\eta_{\mathrm{predicted}} = 1/\lambda_{\max}$"
    )
    ax.set_ylabel("training MSE")
    panel_label(ax, title)


def plot_rate_sweep(raw: RateSweep, standardized: RateSweep) -> Figure:
    """Figs 25/26: training MSE after 1–5 epochs against ``η/η_predicted`` for raw (a, top) and
    for standardized inputs (b, bottom) (seed means, bands: min–max over seeds, open circles:
    the best ratio).

    Parameters
    ----------
    raw, standardized
        From :func:`ebp.experiments.principal_eigenvalue.rate_sweep` with ``standardize`` false and
        true.
    """
    check_instance(raw, RateSweep, "raw")
    check_instance(standardized, RateSweep, "standardized")
    fig, (ax, bx) = new_figure(2, 1, figsize=(COLUMN_WIDTH, 8.6), sharex=True)
    _sweep_panel(ax, raw, "(a) raw pixels in [0, 1]")
    _sweep_panel(bx, standardized, "(b) standardized pixels")
    ax.set_xlabel("")
    ax.tick_params(labelbottom=True)
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], ls="none", marker="o", mfc="none", mec=BLACK, ms=10, mew=1.5))
    labels.append("best ratio after that epoch")
    fig.legend(handles, labels, loc="outside lower center", ncols=2)
    return fig


def r8_table_markdown(sweeps: dict[str, RateSweep]) -> str:
    """A Markdown table: per set-up and epoch, the best ratio and the excess MSE at ratio 1.

    Parameters
    ----------
    sweeps
        Label → :class:`~ebp.experiments.principal_eigenvalue.RateSweep`.
    """
    if not isinstance(sweeps, dict) or not sweeps:
        raise TypeError("sweeps must be a non-empty dict of label → RateSweep")
    rows = []
    for label, sweep in sweeps.items():
        check_instance(sweep, RateSweep, f"sweeps[{label!r}]")
        for e in (int(e) for e in sweep.epoch if e > 0):
            rows.append(
                [
                    label,
                    str(e),
                    f"{sweep.best_ratio(e):.2f}",
                    "yes" if sweep.best_in_window(e) else "no",
                    f"{100 * sweep.excess_at_one(e):.1f} %",
                ]
            )
    lo, hi = R8_WINDOW
    return pipe_table(
        ["inputs", "epochs", "best ratio", f"in [{lo:g}, {hi:g}]?", "MSE at ratio 1 above best"],
        rows,
        align="lrrrr",
    )
