"""Figures and tables of the chapter "Choosing target values" (paper §4.5).

Each function draws what an experiment of :mod:`ebp.experiments.target_values` returned; none
computes anything beyond means and ranges for display.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ebp._validate import check_instance
from ebp.experiments.target_values import SingleUnitGrowth, TargetValues
from ebp.plots.style import (
    BLACK,
    COLUMN_WIDTH,
    GREEN,
    ORANGE,
    PALETTE,
    VERMILLION,
    new_figure,
    panel_label,
)
from ebp.plots.tables import pipe_table

__all__ = ["STYLE", "plot_single_unit_growth", "plot_target_values", "target_table_markdown"]

STYLE: dict[str, dict[str, Any]] = {
    "pm1": {"color": GREEN, "ls": "-"},
    "asymptote": {"color": VERMILLION, "ls": "--"},
    "logistic01": {"color": ORANGE, "ls": "-."},
}
"""Colour and line style of each target coding in the figures (a palette colour for others)."""


def _style(name: str, i: int) -> dict[str, Any]:
    """The line style of a coding: :data:`STYLE`, or a palette colour for other codings."""
    return STYLE.get(name, {"color": PALETTE[i % len(PALETTE)], "ls": "-"})


def plot_single_unit_growth(result: SingleUnitGrowth) -> Figure:
    """The weight of one unit against the number of steps, per target (log step axis).

    Parameters
    ----------
    result
        From :func:`ebp.experiments.target_values.single_unit_growth`.
    """
    check_instance(result, SingleUnitGrowth, "result")
    fig, ax = new_figure(figsize=(COLUMN_WIDTH, 3.8))
    steps = result.steps[1:]
    colors = [GREEN, VERMILLION, ORANGE, BLACK]
    for i, d in enumerate(result.targets):
        ax.plot(
            steps,
            result.w[i, 1:],
            color=colors[i % len(colors)],
            marker="o",
            ms=3,
            label=f"target $d = {d:g}$",
        )
    ax.plot(
        steps,
        result.asymptotic_w()[1:],
        color=BLACK,
        ls=":",
        lw=1.2,
        label=r"asymptote $\log(32A^2S^2\eta t)/(4S)$",
    )
    ax.set_xscale("log")
    ax.set_ylim(bottom=0.0)
    ax.set_xlabel(f"gradient-descent step $t$ ($\\eta = {result.eta:g}$)")
    ax.set_ylabel("weight $w$ of the unit")
    ax.legend(fontsize=9, loc="upper left")
    return fig


def _band(ax: Axes, x: np.ndarray, rows: np.ndarray, style: dict, label: str) -> None:
    ax.fill_between(x, rows.min(axis=0), rows.max(axis=0), color=style["color"], alpha=0.2, lw=0)
    ax.plot(x, rows.mean(axis=0), marker="o", ms=3, label=label, **style)


def plot_target_values(result: TargetValues) -> Figure:
    """Output-weight norm (a, top) and fraction of saturated output units (b, bottom) against
    the epoch.

    Lines are means over the seeds, bands their min–max range.

    Parameters
    ----------
    result
        From :func:`ebp.experiments.target_values.target_values`.
    """
    check_instance(result, TargetValues, "result")
    fig, (ax_w, ax_s) = new_figure(2, 1, figsize=(COLUMN_WIDTH, 7.4), sharex=True)
    x = result.epoch
    for i, name in enumerate(result.names):
        style, label = _style(name, i), result.labels[name]
        _band(ax_w, x, result.weight_norm[name], style, label)
        _band(ax_s, x, 100.0 * result.saturated[name], style, label)
    ax_w.set_ylabel(r"output-layer weight norm $\|W_2\|$")
    ax_s.set_ylabel(f"saturated output units\n(% with $f'/f'(0) < {result.threshold:g}$)")
    panel_label(ax_w, "(a) the output weights grow")
    panel_label(ax_s, f"(b) and the outputs saturate ({result.n_train} training digits)")
    for ax in (ax_w, ax_s):
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_xlim(0, x[-1])
        ax.set_xticks([t for t in x if t == 0 or np.log2(t) % 1 == 0])
        ax.set_xticklabels([f"{t:g}" for t in ax.get_xticks()])
    ax_s.set_xlabel("epoch")
    ax_w.tick_params(labelbottom=False)
    ax_s.set_ylim(-3.0, 103.0)  # room for a line at 0 % or 100 %, not hidden by the axis
    handles, labels = ax_w.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=1, handlelength=3.0)
    return fig


def target_table_markdown(result: TargetValues) -> str:
    """A Markdown table of the end-of-training measurements, one column per target coding.

    Entries are means over the seeds, ± one standard deviation.  The first row label carries
    math in ``$…$``: show the table with MyST (``markdown_format: myst``).

    Parameters
    ----------
    result
        From :func:`ebp.experiments.target_values.target_values`.
    """
    check_instance(result, TargetValues, "result")

    def cell(v: np.ndarray, scale: float = 100.0) -> str:
        v = scale * np.asarray(v, dtype=float)
        sd = float(np.nanstd(v, ddof=1)) if v.size > 1 else 0.0
        return f"{np.nanmean(v):.1f} ± {sd:.1f}"

    rows = [
        (r"learning rate $\eta$", lambda n: f"{result.eta[n]:g}"),
        ("output weight norm at the end", lambda n: cell(result.weight_norm[n][:, -1], 1.0)),
        ("saturated outputs, training set (%)", lambda n: cell(result.saturated[n][:, -1])),
        ("saturated outputs, test set (%)", lambda n: cell(result.saturated_test[n])),
        (
            "saturated outputs, wrongly labelled digits (%)",
            lambda n: cell(result.saturated_wrong_label[n]),
        ),
        ("wrong labels learned (%)", lambda n: cell(result.fit_wrong_label[n])),
        ("test error (%)", lambda n: cell(result.test_error[n])),
        (
            "test errors, winning unit saturated (%)",
            lambda n: cell(result.saturated_errors[n]),
        ),
        (
            "test errors, true-class unit saturated (%)",
            lambda n: cell(result.saturated_true_class[n]),
        ),
    ]
    header = ["", *(result.labels[n] for n in result.names)]
    return pipe_table(header, [[label, *(fmt(n) for n in result.names)] for label, fmt in rows])
