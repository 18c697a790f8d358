"""Figures and tables of the chapter "Classical second-order methods" (paper §6).

Each function draws what an experiment of :mod:`ebp.experiments.classical_second_order`
returned; none computes anything beyond what a figure needs.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ebp._validate import check_instance
from ebp.experiments.classical_second_order import (
    BfgsMemory,
    BowlRace,
    DigitsRace,
    KappaSweep,
    MinibatchRun,
    NewtonSaddles,
    QuadraticRace,
    Trace,
)
from ebp.plots.style import (
    BLACK,
    BLUE,
    COLUMN_WIDTH,
    GREEN,
    ORANGE,
    PURPLE,
    SKY_BLUE,
    VERMILLION,
    panel_label,
    use_book_style,
)
from ebp.plots.tables import pipe_table

__all__ = [
    "LABELS",
    "bowl_table_markdown",
    "plot_bowl",
    "plot_digits",
    "plot_minibatch",
    "plot_quadratic",
]

_GREY = "#777777"

LABELS: dict[str, str] = {
    "newton": "Newton (eq 40)",
    "cg-fr": "CG, Fletcher–Reeves (eq 42)",
    "cg-pr": "CG, Polak–Ribière (eq 43)",
    "bfgs": "BFGS (eqs 44–45)",
    "gauss-newton": "Gauss–Newton (eq 46)",
    "levenberg-marquardt": "Levenberg–Marquardt (eq 47)",
    "gd": "gradient descent",
    "momentum": "heavy-ball momentum",
    "torch-lbfgs": "torch.optim.LBFGS",
}
"""Legend and table names of the methods."""

_STYLE: dict[str, tuple[str, str]] = {
    "newton": (BLACK, "-"),
    "cg-fr": (SKY_BLUE, "--"),
    "cg-pr": (BLUE, "-"),
    "bfgs": (VERMILLION, "-"),
    "gauss-newton": (PURPLE, ":"),
    "levenberg-marquardt": (PURPLE, "-"),
    "gd": (_GREY, "-"),
    "momentum": (ORANGE, "-"),
    "torch-lbfgs": (GREEN, "--"),
}


def _draw_traces(
    ax, traces: dict[str, Trace], order: list[str], floor: float, ceiling: float = np.inf
) -> None:
    """Loss against cost, values outside ``[floor, ceiling]`` drawn at the nearer bound."""
    for m in order:
        t = traces[m]
        color, ls = _STYLE[m]
        y = np.clip(t.loss, floor, ceiling)
        marker = "o" if t.loss.size <= 25 else None
        ax.plot(t.cost, y, color=color, ls=ls, lw=1.6, marker=marker, ms=4, label=LABELS[m],
                drawstyle="steps-post")  # fmt: skip


def _power(x: float) -> str:
    """``x`` as ``10^{k}`` when it is a power of ten, else ``:g``."""
    k = math.log10(x)
    return f"10^{{{k:.0f}}}" if abs(k - round(k)) < 1e-9 else f"{x:g}"


def _legend_below(ax, ncols: int = 2) -> None:
    ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=ncols)


def plot_quadratic(race: QuadraticRace, sweep: KappaSweep) -> Figure:
    """(a) ``E/E_0`` against cost on one quadratic; (b) iterations to the target against
    ``κ``."""
    check_instance(race, QuadraticRace, "race")
    check_instance(sweep, KappaSweep, "sweep")
    use_book_style()
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(COLUMN_WIDTH, 9.4), layout="constrained")
    floor = race.target * 1e-2
    order = ["newton", "cg-fr", "cg-pr", "bfgs", "gd", "momentum"]
    _draw_traces(ax, race.traces, order, floor)
    ax.axhline(race.target, color=BLACK, lw=0.8, ls=":",
               label=f"target $E/E_0 = {_power(race.target)}$")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(floor * 0.5, 30.0)
    ax.set_xlabel("cost (gradient-equivalent evaluations)")
    ax.set_ylabel("$E / E_0$")
    panel_label(ax, f"(a) $n = {race.n}$, $\\kappa = {race.kappa:.0f}$")
    _legend_below(ax)
    styles = {
        "cg-pr": (BLUE, "o", "-", "CG-PR, log-spaced spectrum"),
        "cg-pr-clustered": (BLUE, "s", "--", f"CG-PR, {sweep.clusters} distinct eigenvalues"),
        "bfgs": (VERMILLION, "^", "-", "BFGS"),
        "gd": (_GREY, "v", "-", r"gradient descent, $\eta = 2/(\lambda_{\min}+\lambda_{\max})$"),
        "momentum": (ORANGE, "D", "-", "heavy ball, Polyak's $\\eta$, $\\mu$"),
    }
    for key, (c, mk, ls, label) in styles.items():
        bx.plot(sweep.kappas, sweep.iterations[key], color=c, marker=mk, ls=ls, label=label)
    bx.axhline(sweep.n, color=BLACK, lw=0.8, ls=":", label=f"$n = {sweep.n}$ (CG's bound)")
    bx.set_xscale("log")
    bx.set_yscale("log")
    bx.set_xlabel("condition number $\\kappa$")
    bx.set_ylabel(f"iterations to $E/E_0 \\leq {_power(sweep.target)}$")
    panel_label(bx, "(b) iterations against $\\kappa$")
    _legend_below(bx)
    return fig


def plot_bowl(race: BowlRace, saddles: NewtonSaddles) -> Figure:
    """(a) Loss against cost of every method on the bowl network; (b) the pure Newton steps:
    the change of the loss against the smallest Hessian eigenvalue where each step started."""
    check_instance(race, BowlRace, "race")
    check_instance(saddles, NewtonSaddles, "saddles")
    use_book_style()
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(COLUMN_WIDTH, 10.0), layout="constrained")
    order = [m for m in LABELS if m in race.traces]
    _draw_traces(ax, race.traces, order, 1e-9, ceiling=1e2)
    ax.axhline(race.target, color=BLACK, lw=0.8, ls=":", label=f"target $E = {race.target:g}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(None, 2e2)
    ax.set_xlabel("cost (gradient-equivalent evaluations)")
    ax.set_ylabel("loss $E$ (training set)")
    panel_label(ax, f"(a) 2-{race.hidden}-1 network, $N = {race.n}$ weights")
    _legend_below(ax)
    up = saddles.uphill
    neg = saddles.slope > 0
    bx.axvline(0.0, color=BLACK, lw=0.8)
    bx.axhline(0.0, color=BLACK, lw=0.8)
    kinds = (
        (~up, BLUE, "o", "loss went down"),
        (up & ~neg, ORANGE, "s", "loss went up, step pointed downhill"),
        (up & neg, VERMILLION, "^", "loss went up, step pointed uphill ($\\nabla E^\\top p > 0$)"),
    )
    for mask, c, mk, label in kinds:
        bx.scatter(saddles.lam_min[mask], saddles.delta[mask], color=c, marker=mk, s=22,
                   label=f"{label} ({int(mask.sum())})", zorder=3)  # fmt: skip
    bx.set_xscale("symlog", linthresh=1e-3)
    bx.set_yscale("symlog", linthresh=1e-4)
    bx.set_xlabel("smallest eigenvalue of $H$ where the step started")
    bx.set_ylabel("change of the loss")
    panel_label(bx, f"(b) pure Newton steps from {saddles.seeds.size} starts")
    _legend_below(bx, ncols=1)
    return fig


def plot_digits(memory: BfgsMemory, race: DigitsRace, extrapolate: float = 1e5) -> Figure:
    """(a) BFGS's memory against the number of weights, with ``8N²`` extrapolated; (b) loss
    against cost on the digits network."""
    check_instance(memory, BfgsMemory, "memory")
    check_instance(race, DigitsRace, "race")
    use_book_style()
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(COLUMN_WIDTH, 8.0), layout="constrained")
    N = np.logspace(math.log10(memory.N.min()) - 0.2, math.log10(extrapolate), 50)
    ax.plot(N, 8.0 * N**2, color=_GREY, lw=1.2, ls="--", label="$8N^2$ bytes (one float64 matrix)")
    ax.plot(memory.N, memory.nbytes, "o", color=VERMILLION, ms=7,
            label="the matrix $M$ (inv_hessian.nbytes)")  # fmt: skip
    ax.plot(memory.N, memory.peak, "s", color=BLUE, ms=6, label="peak NumPy memory of the run")
    ax.plot([extrapolate], [8.0 * extrapolate**2], "*", color=BLACK, ms=12,
            label=f"$N = {extrapolate:,.0f}$: {8.0 * extrapolate**2 / 1e9:.0f} GB")  # fmt: skip
    ax.axhline(128 * 2**30, color=BLACK, lw=0.8, ls=":", label="128 GiB (a large workstation)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("weights $N$")
    ax.set_ylabel("bytes")
    panel_label(ax, "(a) BFGS's inverse-Hessian estimate")
    ax.legend(fontsize=9, loc="lower right")
    order = [m for m in LABELS if m in race.traces]
    _draw_traces(bx, race.traces, order, 1e-9)
    bx.axhline(race.target, color=BLACK, lw=0.8, ls=":", label=f"target $E = {race.target:g}$")
    bx.set_xscale("log")
    bx.set_yscale("log")
    bx.set_xlabel("cost (gradient-equivalent evaluations)")
    bx.set_ylabel("loss $E$ (training set)")
    panel_label(bx, f"(b) 64-{race.hidden}-10 on {race.n_train} digits, $N = {race.n}$")
    bx.legend(fontsize=9, loc="upper right")
    return fig


def plot_minibatch(run: MinibatchRun) -> Figure:
    """The full-set loss against epochs of pattern gradients: SGD, CG and BFGS on mini-batch
    objectives, and on the whole set."""
    check_instance(run, MinibatchRun, "run")
    use_book_style()
    fig, ax = plt.subplots(figsize=(COLUMN_WIDTH, 5.4), layout="constrained")
    styles = {
        "sgd": (ORANGE, "-", None, f"SGD, batch {run.batch}, $\\eta = {run.eta:g}$"),
        "cg-pr-minibatch": (BLUE, "-", "o", f"CG-PR on batches of {run.batch}"),
        "bfgs-minibatch": (VERMILLION, "-", "^", f"BFGS on batches of {run.batch}"),
        "cg-pr-batch": (BLUE, ":", "s", "CG-PR on the whole set"),
        "bfgs-batch": (VERMILLION, ":", "D", "BFGS on the whole set"),
    }
    left = 0.01
    for key, (c, ls, mk, label) in styles.items():
        x = np.maximum(run.epochs[key], left)  # the start drawn at the left edge
        ax.plot(x, run.loss[key], color=c, ls=ls, marker=mk, ms=4, label=label,
                drawstyle="steps-post", markevery=slice(1, None))  # fmt: skip
    ax.set_xlim(left, None)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"pattern gradients / $P$ (epochs, $P = {run.P}$)")
    ax.set_ylabel("loss on the whole set")
    _legend_below(ax)
    return fig


def _fmt(x: float, spec: str) -> str:
    return "—" if not math.isfinite(x) else format(x, spec)


def bowl_table_markdown(race: BowlRace) -> str:
    """A pipe table of the bowl race: per method, iterations, calls, cost to the target, final
    loss and uphill steps."""
    check_instance(race, BowlRace, "race")
    header = ["method", "iterations", "f + ∇f", "H / J", "cost to target", "final loss", "uphill"]
    rows = []
    for m in LABELS:
        if m not in race.traces:
            continue
        t = race.traces[m]
        c = t.counts
        fg = c["ngev"] if "ngev" in c else int(t.cost[-1])
        hj = c.get("nhev", 0) + c.get("njev", 0)
        rows.append([
            LABELS[m], str(t.iterations), str(fg), str(hj),
            _fmt(race.cost_to_target[m], ".0f"), f"{t.final:.2e}", str(t.uphill_steps),
        ])  # fmt: skip
    return pipe_table(header, rows)
