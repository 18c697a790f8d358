"""Figures and tables of the chapter "Stochastic diagonal Levenberg–Marquardt" (paper §9.1).

Each function draws what an experiment of :mod:`ebp.experiments.sdlm` returned; none computes
anything beyond medians and ranges for display.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ebp._validate import check_instance
from ebp.experiments.sdlm import (
    PAPER_RATES,
    WEIGHT_NAMES,
    DigitsRace,
    LinearUnitSDLM,
)
from ebp.plots.style import (
    BLACK,
    BLUE,
    COLUMN_WIDTH,
    MAX_FIGURE_WIDTH,
    ORANGE,
    PALETTE,
    SKY_BLUE,
    VERMILLION,
    new_figure,
    panel_label,
    use_book_style,
)
from ebp.plots.tables import pipe_table

__all__ = ["plot_digits_race", "plot_linear_unit", "race_table_markdown"]

METHOD_COLORS = {"sgd": BLUE, "sdlm": VERMILLION}
METHOD_LABELS = {"sgd": "SGD", "sdlm": "SDLM"}


def plot_linear_unit(result: LinearUnitSDLM) -> Figure:
    """(a, top) The per-weight rates beside the paper's; (b, bottom) the loss in dB against
    epochs.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.sdlm.linear_unit_sdlm` (the first two ε values are set
        beside the paper's Figs 22 and 23).
    """
    check_instance(result, LinearUnitSDLM, "result")
    fig, (ax_r, ax_l) = new_figure(2, 1, figsize=(COLUMN_WIDTH, 7.0))
    colors = [BLUE, VERMILLION, ORANGE, PALETTE[3]]
    _rates_panel(ax_r, result, colors)
    epochs = result.epochs
    for i, e in enumerate(result.eps):
        curves = result.loss_db[i]
        ax_l.fill_between(epochs, curves.min(0), curves.max(0), color=colors[i % 4], alpha=0.2,
                          lw=0)  # fmt: skip
        ax_l.plot(epochs, np.median(curves, 0), color=colors[i % 4], label=f"ε = {e:g}")
    ax_l.axhline(result.min_loss_db, color=BLACK, ls=":", lw=1.2,
                 label="least-squares minimum")  # fmt: skip
    ax_l.axhline(-17.0, color=SKY_BLUE, ls="--", lw=1.2, label="paper: about −17 dB")
    ax_l.set_xlabel("epochs (100 presentations each)")
    ax_l.set_ylabel("10 log₁₀ E  [dB]")
    ax_l.legend(loc="upper right")
    panel_label(ax_l, f"(b) loss, median and range over {result.seeds.size} seeds")
    return fig


def _rates_panel(ax: Axes, result: LinearUnitSDLM, colors: list[str]) -> None:
    """Ours (filled circles) beside the paper's (open squares), per weight and ε, log axis."""
    x = np.arange(3)
    paper = list(PAPER_RATES.values())
    n = min(len(result.eps), len(paper))
    width = 0.8 / (2 * n)
    for i in range(n):
        off = (2 * i - n + 0.5) * width
        ax.plot(x + off, result.rates[i], "o", ms=8, color=colors[i],
                label=f"ours, ε = {result.eps[i]:g}")  # fmt: skip
        ax.plot(x + off + width, paper[i], "s", ms=8, mfc="white", mew=2, color=colors[i],
                label=f"paper, Fig {22 + i}")  # fmt: skip
    ax.set_yscale("log")
    ax.set_ylim(0.012, 4.0)
    ax.set_yticks([0.02, 0.05, 0.1, 0.2, 0.5, 1.0], ["0.02", "0.05", "0.1", "0.2", "0.5", "1"])
    ax.minorticks_off()
    ax.set_xlim(-0.6, 2.6)
    ax.set_xticks(x, [f"η{i}: {name}" for i, name in enumerate(WEIGHT_NAMES)])
    ax.set_ylabel("rate ε / (h + μ)")
    ax.legend(ncol=2, loc="upper right")
    panel_label(ax, "(a) per-weight rates")


def plot_digits_race(race: DigitsRace) -> Figure:
    """(a, top left) Loss curves of the tuned rates; (b, top right) presentations to the main
    target against the rate; (c, bottom) SDLM's curvature estimates per layer with μ.

    Parameters
    ----------
    race
        From :func:`ebp.experiments.sdlm.digits_race`.
    """
    check_instance(race, DigitsRace, "race")
    use_book_style()
    fig = plt.figure(figsize=(MAX_FIGURE_WIDTH, 7.4), layout="constrained")
    axd = fig.subplot_mosaic([["a", "b"], ["c", "c"]], height_ratios=[1.0, 0.85])
    ax_c, ax_t, ax_h = axd["a"], axd["b"], axd["c"]
    target = race.targets[0]
    for method, losses, rates, sym in (
        ("sgd", race.sgd_loss, race.sgd_etas, "η"),
        ("sdlm", race.sdlm_loss, race.sdlm_eps, "ε"),
    ):
        color = METHOD_COLORS[method]
        b = race.best(method)
        curves = losses[b]
        ax_c.fill_between(race.epochs, np.nanmin(curves, 0), np.nanmax(curves, 0), color=color,
                          alpha=0.2, lw=0)  # fmt: skip
        ax_c.plot(race.epochs, np.median(curves, 0), color=color,
                  label=f"{METHOD_LABELS[method]}, {sym} = {rates[b]:g}")  # fmt: skip
        steps = race.to_target(method) / race.n_train
        top = race.epochs[-1] * 1.08  # where "never reached" is drawn
        med = np.median(steps, axis=1)
        lo, hi = steps.min(axis=1), np.minimum(steps.max(axis=1), top)
        finite = np.isfinite(med)
        ax_t.plot(rates[finite], med[finite], color=color, marker="o",
                  label=f"{METHOD_LABELS[method]} (rate {sym})")  # fmt: skip
        ax_t.vlines(rates[finite], lo[finite], hi[finite], color=color, lw=1.5)
        ax_t.plot(rates[~finite], np.full(int((~finite).sum()), top), marker="x", ms=8,
                  mew=2, color=color, ls="none")  # fmt: skip
    ax_c.axhline(target, color=BLACK, ls=":", lw=1.2, label=f"target E = {target:g}")
    ax_c.set_yscale("log")
    ax_c.set_xlabel("epochs")
    ax_c.set_ylabel("training loss E")
    ax_c.legend(loc="upper right")
    panel_label(ax_c, "(a) tuned rates: median, range")
    _time_panel(ax_t, race, target)
    _curvature_panel(ax_h, race)
    return fig


def _time_panel(ax: Axes, race: DigitsRace, target: float) -> None:
    """Labels of panel (b): epochs to the target against the rate, the end of training."""
    end = race.epochs[-1]
    ax.set_xscale("log")
    ax.set_xlabel("rate (η for SGD, ε for SDLM)")
    ax.set_ylabel(f"epochs to E ≤ {target:g}")
    ax.axhline(end, color=BLACK, lw=0.8, ls=":", label=f"end of training ({end:g} epochs)")
    ax.set_ylim(0, end * 1.15)
    ax.legend(title="×: median run never\nreached the target", title_fontsize=9, fontsize=9,
              loc="lower left")  # fmt: skip
    panel_label(ax, "(b) time to target vs rate")


def _curvature_panel(ax: Axes, race: DigitsRace) -> None:
    """Panel (c): histograms of SDLM's final curvature estimates per layer, and μ."""
    b = race.best("sdlm")
    colors = [ORANGE, BLUE, PALETTE[2]]
    bins = np.logspace(-6, 1, 36)
    for i, (name, h) in enumerate(race.curvature.items()):
        ax.hist(np.clip(h[b], bins[0], None), bins=bins, color=colors[i % 3], alpha=0.6,
                label=f"{name} weights")  # fmt: skip
    ax.axvline(race.mu, color=VERMILLION, ls="--", lw=1.5, label=f"μ = {race.mu:g}")
    ax.set_xscale("log")
    ax.set_xlabel(f"curvature estimate ⟨h⟩ per weight (≤ {bins[0]:g} at the left)")
    ax.set_ylabel("weights")
    ax.legend(loc="upper left")
    panel_label(ax, f"(c) SDLM's ⟨h⟩ at the end (ε = {race.sdlm_eps[b]:g})")


def _fmt_epochs(x: float) -> str:
    return "not reached" if not np.isfinite(x) else f"{x:.1f}"


def race_table_markdown(race: DigitsRace) -> str:
    """Epochs to each target (median over seeds) for SGD and SDLM, each at its best rate for
    that target, and the ratios SGD / SDLM (without and with SDLM's curvature patterns)."""
    check_instance(race, DigitsRace, "race")
    header = ["target $E$", "SGD", "SDLM", "SDLM + curvature", "ratio", "ratio with curvature"]
    rows = []
    for t in sorted(race.targets, reverse=True):
        sgd = float(np.median(race.best_to_target("sgd", t))) / race.n_train
        runs = race.best_to_target("sdlm", t)
        sdlm = float(np.median(runs)) / race.n_train
        extra = float(np.median(runs + race.curvature_presentations(runs))) / race.n_train
        rows.append([
            f"{t:g}", _fmt_epochs(sgd), _fmt_epochs(sdlm), _fmt_epochs(extra),
            f"{race.speedup(t):.2f}", f"{race.speedup(t, count_curvature=True):.2f}",
        ])  # fmt: skip
    return pipe_table(header, rows, align="lrrrrr")
