"""Figures and tables of the chapter "All the tricks together" (paper §10).

Each function draws or tabulates a result of :func:`ebp.experiments.all_the_tricks.run`; nothing
here trains.  :func:`figures` returns every figure of the chapter by name.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from ebp._validate import check_choice, check_instance
from ebp.experiments.all_the_tricks import (
    FULL,
    PROBLEMS,
    TRICK_LABELS,
    AllTheTricks,
    ConfigResult,
    Recipe,
    checklist,
    ladder,
    leave_one_out,
    rank_tricks,
    trick_effects,
)
from ebp.plots.style import BLACK, COLUMN_WIDTH, PALETTE, new_figure, panel_label
from ebp.plots.tables import pipe_table

__all__ = [
    "checklist_table",
    "config_table",
    "figures",
    "plot_curves",
    "plot_pca",
    "plot_sharpness",
    "ranking_table",
]

_TITLES = {"toy": "two Gaussians, 2-8-1", "digits": "digits, 64-30-10"}
_KINDS = ("ladder", "ablation")


def _recipes(kind: str) -> tuple[Recipe, ...]:
    check_choice(kind, "kind", _KINDS)
    return ladder() if kind == "ladder" else (FULL, *leave_one_out())


def _label(r: Recipe, kind: str) -> str:
    """The recipe's name; in the ablation, the full recipe without momentum is named so."""
    if kind == "ablation" and r == FULL.with_trick("momentum", False):
        return "all − momentum"
    return r.label


def _target_label(result: AllTheTricks) -> str:
    values = ", ".join(f"{p} {result.targets[p]:g}" for p in result.problems)
    return f"target ({values})"


def _band(c: ConfigResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median, min and max over the seeds that did not diverge."""
    rows = c.relative_loss[~c.diverged]
    return np.median(rows, axis=0), rows.min(axis=0), rows.max(axis=0)


def plot_curves(result: AllTheTricks, kind: str = "ladder") -> Figure:
    """Relative training loss against epochs, median and range over the seeds, per problem.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.all_the_tricks.run`.
    kind
        ``"ladder"`` (the cumulative configurations) or ``"ablation"`` (all tricks, and all
        but one).  Diverged seeds are left out of the band (the tables count them).
    """
    check_instance(result, AllTheTricks, "result")
    recipes = _recipes(kind)
    fig, axes = new_figure(2, 1, figsize=(COLUMN_WIDTH, 7.0))
    for k, (ax, problem) in enumerate(zip(axes, result.problems, strict=True)):
        for i, r in enumerate(recipes):
            c = result.get(problem, r)
            if c.diverged.all():
                continue
            med, lo, hi = _band(c)
            color = PALETTE[i % len(PALETTE)]
            ls = "-" if r != FULL else "--"
            ax.plot(c.epoch, med, color=color, ls=ls, label=_label(r, kind))
            ax.fill_between(c.epoch, lo, hi, color=color, alpha=0.18, lw=0)
        target = result.targets[problem]
        ax.axhline(target, color=BLACK, lw=1.0, ls=":", label=_target_label(result))
        ax.set_yscale("log")
        ax.set_ylabel("loss / constant-output loss")
        panel_label(ax, f"({'ab'[k]}) {_TITLES.get(problem, problem)}")
    axes[-1].set_xlabel("epoch")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=4, fontsize=9)
    return fig


def plot_pca(result: AllTheTricks, problem: str) -> Figure:
    """The trajectory of one seed of every ladder configuration in its own PCA plane.

    Three rows of two panels, each with the share of the path's variance its two principal
    components hold; a circle marks the start, a star the end (the origin).
    """
    check_instance(result, AllTheTricks, "result")
    check_choice(problem, "problem", result.problems)
    fig, axes = new_figure(3, 2, figsize=(COLUMN_WIDTH, 7.8))
    for i, (ax, r) in enumerate(zip(axes.ravel(), ladder(), strict=True)):
        c = result.get(problem, r)
        x, y = c.pca_coords[:, 0], c.pca_coords[:, 1]
        ax.plot(x, y, "-", color=PALETTE[i % len(PALETTE)], lw=1.2, marker=".", ms=3)
        ax.plot(x[0], y[0], "o", color=BLACK, ms=6, label="start")
        ax.plot(x[-1], y[-1], "*", color=BLACK, ms=10, label="end (origin)")
        var = 100 * c.pca_variance
        ax.set_title(f"{r.label}: {var[0]:.0f} % + {var[1]:.0f} %", fontsize=10)
        ax.tick_params(labelsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("PC1", fontsize=10)
    for ax in axes[:, 0]:
        ax.set_ylabel("PC2", fontsize=10)
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncol=2,
               fontsize=9)  # fmt: skip
    return fig


def plot_sharpness(result: AllTheTricks) -> Figure:
    """``η λ_max`` during training for every ladder configuration, one panel per problem.

    The dotted line at 2 is the stability limit of full-batch gradient descent on a quadratic
    (eq 38 of the paper); a run with momentum or mini-batches is not bound by it exactly.
    """
    check_instance(result, AllTheTricks, "result")
    fig, axes = new_figure(2, 1, figsize=(COLUMN_WIDTH, 6.2), sharex=False)
    for k, (ax, problem) in enumerate(zip(axes, result.problems, strict=True)):
        for i, r in enumerate(ladder()):
            c = result.get(problem, r)
            if not np.all(np.isfinite(c.lambda_max)):
                continue
            ax.plot(c.checkpoints, c.eta * np.maximum(c.lambda_max, 1e-6), marker="o", ms=4,
                    color=PALETTE[i % len(PALETTE)], label=r.label)  # fmt: skip
        ax.axhline(2.0, color=BLACK, lw=1.0, ls=":", label=r"$\eta\lambda_{\max} = 2$ (eq 38)")
        ax.set_yscale("log")
        ax.set_ylabel(r"$\eta\,\lambda_{\max}$")
        panel_label(ax, f"({'ab'[k]}) {_TITLES.get(problem, problem)}")
    axes[-1].set_xlabel("epoch")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=4, fontsize=9)
    return fig


def figures(result: AllTheTricks) -> dict[str, Figure]:
    """Every figure of the chapter, by name (``att-ladder``, ``att-ablation``, …)."""
    check_instance(result, AllTheTricks, "result")
    out = {
        "att-ladder": plot_curves(result, "ladder"),
        "att-ablation": plot_curves(result, "ablation"),
        "att-sharpness": plot_sharpness(result),
    }
    for problem in result.problems:
        out[f"att-pca-{problem}"] = plot_pca(result, problem)
    return out


# ---------------------------------------------------------------------------------------------
# Tables (Markdown text for ebp.plots.tables.captioned)
# ---------------------------------------------------------------------------------------------


def _epochs(x: float) -> str:
    return "not reached" if math.isinf(x) else f"{x:.0f}"


def _pct(x: float) -> str:
    return "—" if math.isnan(x) else f"{100 * x:.1f} %"


def config_table(result: AllTheTricks, problem: str, kind: str = "ladder") -> str:
    """One row per configuration: rate, epochs to target, loss, test error, curvature.

    A rate at either end of the grid is marked with an asterisk.
    """
    check_instance(result, AllTheTricks, "result")
    check_choice(problem, "problem", result.problems)
    edges = (min(result.etas), max(result.etas))
    rows = []
    for r in _recipes(kind):
        c = result.get(problem, r)
        star = "*" if c.eta in edges else ""
        n_div = int(c.diverged.sum())
        rows.append([
            _label(r, kind), f"{c.eta:g}{star}", _epochs(c.median_epochs), f"{c.median_loss:.3g}",
            _pct(c.median_error), f"{c.lambda_max[-1]:.3g}", f"{c.kappa:.3g}",
            f"{n_div} / {c.grid_diverged}",
        ])  # fmt: skip
    header = ["configuration", "η", "epochs to target", "final loss (rel.)", "test error",
              "λ_max", "κ̂", "diverged (η / grid)"]  # fmt: skip
    return pipe_table(header, rows)


def ranking_table(result: AllTheTricks) -> str:
    """The tricks ranked by :func:`ebp.experiments.all_the_tricks.rank_tricks`, with the
    leave-one-out numbers of each problem."""
    check_instance(result, AllTheTricks, "result")
    effects = trick_effects(result)
    rows = []
    for rank, (trick, err, _) in enumerate(rank_tricks(effects), start=1):
        mine = {e.problem: e for e in effects if e.trick == trick}
        cells = [str(rank), TRICK_LABELS[trick], f"{100 * err:+.1f}"]
        for p in PROBLEMS:
            e = mine[p]
            cells.append(f"{_epochs(e.without[0])} / {_pct(e.without[1])} ({e.judgement})")
        rows.append(cells)
    header = ["rank", "trick", "mean Δ test error (pp)",
              *(f"without it: {_TITLES[p]}" for p in PROBLEMS)]  # fmt: skip
    return pipe_table(header, rows, align="rlrll")


def checklist_table(result: AllTheTricks) -> str:
    """The paper's §10 checklist with the evidence and verdict of every item."""
    check_instance(result, AllTheTricks, "result")
    rows = []
    for c in checklist(trick_effects(result)):
        evidence = (
            "—" if c.trick is None
            else ", ".join(f"{p}: {j}" for p, j in zip(PROBLEMS, c.judgements, strict=True))
        )  # fmt: skip
        rows.append([c.item, f"{{doc}}`{c.chapter}`", evidence, f"**{c.verdict}**"])
    return pipe_table(["checklist item (§10)", "chapter", "evidence", "verdict"], rows, "llll")
