"""Figures and tables of the chapter "Stochastic diagonal Levenberg–Marquardt" (paper §9.1).

Each function draws what an experiment of :mod:`ebp.experiments.sdlm` returned; none computes
anything beyond medians and ranges for display.
"""

from __future__ import annotations

import numpy as np
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
    ORANGE,
    PALETTE,
    SKY_BLUE,
    VERMILLION,
    new_figure,
    panel_label,
)
from ebp.plots.tables import pipe_table

__all__ = ["plot_digits_race", "plot_linear_unit", "race_table_markdown"]

METHOD_COLORS = {"sgd": BLUE, "sdlm": VERMILLION}
METHOD_LABELS = {"sgd": "SGD", "sdlm": "SDLM"}


def plot_linear_unit(result: LinearUnitSDLM) -> Figure:
    """(a) The per-weight rates beside the paper's; (b) the loss in dB against epochs.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.sdlm.linear_unit_sdlm` (the first two ε values are set
        beside the paper's Figs 22 and 23).
    """
    check_instance(result, LinearUnitSDLM, "result")
    fig, (ax_r, ax_l) = new_figure(1, 2, figsize=(10.0, 3.9))
    x = np.arange(3)
    paper = list(PAPER_RATES.values())
    n = min(len(result.eps), len(paper))
    width = 0.8 / (2 * n)
    colors = [BLUE, VERMILLION, ORANGE, PALETTE[3]]
    for i in range(n):
        off = (2 * i - n + 0.5) * width
        ax_r.bar(x + off, result.rates[i], width, color=colors[i],
                 label=f"ours, ε = {result.eps[i]:g}")  # fmt: skip
        ax_r.bar(x + off + width, paper[i], width, color=colors[i], alpha=0.35, hatch="//",
                 edgecolor=colors[i], label=f"paper, Fig {22 + i}")  # fmt: skip
    ax_r.set_yscale("log")
    ax_r.set_xticks(x, [f"η{i}: {name}" for i, name in enumerate(WEIGHT_NAMES)])
    ax_r.set_ylabel("rate ε / (h + μ)")
    ax_r.legend(fontsize=8, ncol=2)
    panel_label(ax_r, "(a) per-weight rates")

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
    ax_l.legend(fontsize=8)
    panel_label(ax_l, f"(b) loss, median and range over {result.seeds.size} seeds")
    return fig


def plot_digits_race(race: DigitsRace) -> Figure:
    """(a) Loss curves of the tuned rates; (b) presentations to the main target against the
    rate; (c) SDLM's curvature estimates per layer with μ.

    Parameters
    ----------
    race
        From :func:`ebp.experiments.sdlm.digits_race`.
    """
    check_instance(race, DigitsRace, "race")
    fig, axes = new_figure(1, 3, figsize=(12.0, 3.9))
    ax_c, ax_t, ax_h = axes
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
    ax_c.legend(fontsize=8)
    panel_label(ax_c, "(a) tuned rates: median, range")
    ax_t.set_xscale("log")
    ax_t.set_xlabel("rate (η for SGD, ε for SDLM)")
    ax_t.set_ylabel(f"epochs to E ≤ {target:g}")
    ax_t.axhline(race.epochs[-1], color=BLACK, lw=0.8, ls=":")
    ax_t.set_ylim(0, race.epochs[-1] * 1.15)
    ax_t.legend(fontsize=8, title="×: median run never reached it", title_fontsize=8,
                loc="lower left")  # fmt: skip
    panel_label(ax_t, "(b) time to target vs rate")
    b = race.best("sdlm")
    colors = [ORANGE, BLUE, PALETTE[2]]
    bins = np.logspace(-6, 1, 36)
    for i, (name, h) in enumerate(race.curvature.items()):
        ax_h.hist(np.clip(h[b], bins[0], None), bins=bins, color=colors[i % 3], alpha=0.6,
                  label=f"{name} weights")  # fmt: skip
    ax_h.axvline(race.mu, color=VERMILLION, ls="--", lw=1.5, label=f"μ = {race.mu:g}")
    ax_h.set_xscale("log")
    ax_h.set_xlabel(f"curvature estimate ⟨h⟩ per weight (≤ {bins[0]:g} at the left)")
    ax_h.set_ylabel("weights")
    ax_h.legend(fontsize=8)
    panel_label(ax_h, f"(c) SDLM's ⟨h⟩ at the end (ε = {race.sdlm_eps[b]:g})")
    return fig


def _fmt_epochs(x: float) -> str:
    return "not reached" if not np.isfinite(x) else f"{x:.1f}"


def race_table_markdown(race: DigitsRace) -> str:
    """Epochs to each target (median over seeds) for SGD and SDLM, each at its best rate for
    that target, and the ratios SGD / SDLM (without and with SDLM's curvature patterns)."""
    check_instance(race, DigitsRace, "race")
    header = ["target E", "SGD", "SDLM", "SDLM + curvature", "ratio", "ratio with curvature"]
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
