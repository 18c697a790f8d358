"""Figures and tables of the chapter "Standard backpropagation" (paper §3).

Each function draws (or formats) what an experiment of :mod:`ebp.experiments.backpropagation`
returned; none of them computes anything.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from ebp._validate import check_instance
from ebp.experiments.backpropagation import (
    BackpropCost,
    ComputationalGraph,
    EpsSweep,
    GraphEdge,
    WorkedExample,
)
from ebp.plots.style import (
    BLACK,
    BLUE,
    COLUMN_WIDTH,
    GREEN,
    MAX_FIGURE_WIDTH,
    ORANGE,
    VERMILLION,
    new_figure,
)
from ebp.plots.tables import markdown_table
from ebp.scratch import Network

__all__ = [
    "FORWARD_COLOR",
    "GRADIENT_COLOR",
    "forward_table_markdown",
    "gradient_table_markdown",
    "markdown_table",
    "plot_backprop_counts",
    "plot_backprop_timing",
    "plot_computational_graph",
    "plot_eps_sweep",
    "plot_network_221",
]

FORWARD_COLOR = BLUE
"""Colour of forward values in the diagrams."""
GRADIENT_COLOR = VERMILLION
"""Colour of backward gradients in the diagrams."""


def _fmt(x: float) -> str:
    """A compact number for a diagram: up to 3 significant digits, no trailing zeros."""
    return f"{x:.3g}".replace("-", "−")


# ---------------------------------------------------------------------------------------------
# Diagrams
# ---------------------------------------------------------------------------------------------

_GRAPH_POS = {
    "w": (0.0, 2.7),
    "x": (0.0, 1.0),
    "b": (0.0, -0.3),
    "mul": (2.8, 1.85),
    "add": (5.3, 0.8),
    "loss": (8.0, 0.8),
}


def _draw_node(ax: Axes, xy: tuple[float, float], kind: str, label: str, radius: float) -> None:
    if kind == "op":
        ax.add_patch(Circle(xy, radius, facecolor="#f2f2f2", edgecolor=BLACK, lw=1.4, zorder=3))
        ax.text(*xy, label, ha="center", va="center", fontsize=17, zorder=4)
    else:
        w = 1.15 if kind == "input" else 1.7
        ax.add_patch(
            FancyBboxPatch(
                (xy[0] - w / 2, xy[1] - 0.27),
                w,
                0.54,
                boxstyle="round,pad=0.02,rounding_size=0.12",
                facecolor="#fff7e0" if kind == "input" else "#e8f4ea",
                edgecolor=BLACK,
                lw=1.4,
                zorder=3,
            )
        )
        ax.text(*xy, label, ha="center", va="center", fontsize=12, zorder=4)


def _diagram_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """``ax`` and its figure, or a new figure of ``figsize`` when ``ax`` is ``None``."""
    if ax is None:
        return new_figure(figsize=figsize)
    return ax.figure, ax


def _finish_diagram(ax: Axes, xlim: tuple[float, float], ylim: tuple[float, float]) -> None:
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")


def _graph_border(
    graph: ComputationalGraph, name: str, toward: tuple[float, float], radius: float
) -> tuple[float, float]:
    """Where the edge from node ``name`` toward ``toward`` leaves the node's circle or box."""
    x0, y0 = _GRAPH_POS[name]
    dx, dy = toward[0] - x0, toward[1] - y0
    n = math.hypot(dx, dy)
    node = graph.node(name)
    if node.kind == "op":
        r = radius
    else:  # leave a box through its left/right side
        half_w = 0.575 if node.kind == "input" else 0.85
        r = min(half_w / max(abs(dx) / n, 1e-9), 0.27 / max(abs(dy) / n, 1e-9))
    return x0 + dx / n * r, y0 + dy / n * r


def _label_graph_edge(
    ax: Axes, a: tuple[float, float], b: tuple[float, float], t: float, symbol: str, edge: GraphEdge
) -> None:
    """The forward value above the edge ``a → b`` and its gradient below, at fraction ``t``."""
    mx, my = a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])
    angle = math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))
    nx, ny = -math.sin(math.radians(angle)), math.cos(math.radians(angle))
    ax.text(
        mx + 0.2 * nx,
        my + 0.2 * ny,
        f"{symbol} = {_fmt(edge.value)}",
        color=FORWARD_COLOR,
        ha="center",
        va="center",
        rotation=angle,
        fontsize=11,
        fontweight="bold",
    )
    ax.text(
        mx - 0.22 * nx,
        my - 0.22 * ny,
        f"∂E/∂{symbol} = {_fmt(edge.grad)}",
        color=GRADIENT_COLOR,
        ha="center",
        va="center",
        rotation=angle,
        fontsize=11,
    )


def plot_computational_graph(graph: ComputationalGraph, ax: Axes | None = None) -> Figure:
    """The graph of ``z = w·x + b`` and ``E = ½(z − d)²`` with values and gradients on its edges.

    Forward values (blue, above each edge) flow left to right; the gradients ``∂E/∂·`` of the
    backward pass (vermillion, below each edge) flow right to left.

    Parameters
    ----------
    graph
        The result of :func:`ebp.experiments.backpropagation.computational_graph`.
    ax
        Axes to draw into; a new figure if ``None``.
    """
    check_instance(graph, ComputationalGraph, "graph")
    fig, ax = _diagram_axes(ax, (MAX_FIGURE_WIDTH, 3.3))
    radius = 0.36
    labels = {
        "w": f"w = {_fmt(graph.w)}",
        "x": f"x = {_fmt(graph.x)}",
        "b": f"b = {_fmt(graph.b)}",
        "loss": f"E = ½(z − d)²\nd = {_fmt(graph.d)}",
    }
    for node in graph.nodes:
        _draw_node(ax, _GRAPH_POS[node.name], node.kind, labels.get(node.name, node.label), radius)

    symbols = {"w": "w", "x": "x", "b": "b", "mul": "p", "add": "z"}
    for edge in graph.edges:
        p0, p1 = _GRAPH_POS[edge.src], _GRAPH_POS[edge.dst]
        a, b = (
            _graph_border(graph, edge.src, p1, radius),
            _graph_border(graph, edge.dst, p0, radius),
        )
        ax.add_patch(
            FancyArrowPatch(
                a, b, arrowstyle="-|>", mutation_scale=14, lw=1.4, color=BLACK, zorder=2
            )
        )
        t = 0.42 if edge.dst == "mul" else 0.5  # edges into × converge: label nearer the start
        _label_graph_edge(ax, a, b, t, symbols[edge.src], edge)
    ax.text(
        _GRAPH_POS["loss"][0],
        _GRAPH_POS["loss"][1] - 0.62,
        f"E = {_fmt(graph.E)}",
        color=FORWARD_COLOR,
        ha="center",
        fontsize=11,
        fontweight="bold",
    )
    ax.text(4.3, 2.75, "forward: values →", color=FORWARD_COLOR, fontsize=11, fontweight="bold")
    ax.text(4.3, 2.35, "← backward: gradients ∂E/∂·", color=GRADIENT_COLOR, fontsize=11)
    _finish_diagram(ax, (-0.7, 9.0), (-0.75, 3.1))
    return fig


_NET_POS = {"x1": (0, 1.8), "x2": (0, 0.2), "h1": (3.2, 1.8), "h2": (3.2, 0.2), "o": (6.4, 1.0)}
_NET_RADIUS = 0.42


def _draw_connections(ax: Axes, net: Network) -> None:
    """The arrows of the 2-2-1 network, each labelled with its weight."""
    pos, r = _NET_POS, _NET_RADIUS
    conns = [(f"x{i + 1}", f"h{j + 1}", net.weights[0][j, i]) for j in range(2) for i in range(2)]
    conns += [(f"h{i + 1}", "o", net.weights[1][0, i]) for i in range(2)]
    label_at = {("x1", "h1"): 0.5, ("x2", "h2"): 0.5, ("x1", "h2"): 0.28, ("x2", "h1"): 0.28}
    for src, dst, weight in conns:
        (x0, y0), (x1, y1) = pos[src], pos[dst]
        n = math.hypot(x1 - x0, y1 - y0)
        ux, uy = (x1 - x0) / n, (y1 - y0) / n
        ax.add_patch(
            FancyArrowPatch(
                (x0 + ux * r, y0 + uy * r),
                (x1 - ux * r, y1 - uy * r),
                arrowstyle="-|>",
                mutation_scale=12,
                lw=1.2,
                color="#555555",
                zorder=1,
            )
        )
        t = label_at.get((src, dst), 0.5)
        ax.text(
            x0 + t * (x1 - x0),
            y0 + t * (y1 - y0) + 0.12,
            f"{_fmt(weight)}",
            ha="center",
            va="bottom",
            fontsize=10,
            color=BLACK,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5},
            zorder=2,
        )


def _draw_units(ax: Axes, rows: dict[str, dict[str, Any]]) -> None:
    """Each unit's circle with its state ``a`` above and (hidden and output units) ``δ`` below."""
    r = _NET_RADIUS
    for unit, (x, y) in _NET_POS.items():
        kind = "input" if unit.startswith("x") else "unit"
        face = "#fff7e0" if kind == "input" else "#f2f2f2"
        ax.add_patch(Circle((x, y), r, facecolor=face, edgecolor=BLACK, lw=1.4, zorder=3))
        ax.text(x, y, unit, ha="center", va="center", fontsize=12, zorder=4)
        row = rows[unit]
        ax.text(
            x,
            y + r + 0.08,
            f"a = {_fmt(row['a'])}",
            color=FORWARD_COLOR,
            ha="center",
            va="bottom",
            fontsize=10,
            fontweight="bold",
        )
        if kind == "unit":
            ax.text(
                x,
                y - r - 0.08,
                f"δ = {_fmt(row['delta'])}",
                color=GRADIENT_COLOR,
                ha="center",
                va="top",
                fontsize=10,
            )


def plot_network_221(example: WorkedExample, pattern: int = 1, ax: Axes | None = None) -> Figure:
    """The 2-2-1 network of the worked example, its weights, and one pattern's values.

    Each unit shows its state ``a`` (blue) and its ``δ = ∂E/∂z`` (vermillion); each connection
    is labelled with its weight.

    Parameters
    ----------
    example
        The result of :func:`ebp.experiments.backpropagation.worked_example_221`.
    pattern
        Which pattern's values to show (1-based).
    ax
        Axes to draw into; a new figure if ``None``.
    """
    check_instance(example, WorkedExample, "example")
    n_patterns = example.X.shape[0]
    if isinstance(pattern, bool) or not isinstance(pattern, int) or not 1 <= pattern <= n_patterns:
        raise ValueError(f"pattern must be an int in [1, {n_patterns}]; got {pattern!r}")
    fig, ax = _diagram_axes(ax, (MAX_FIGURE_WIDTH, 3.9))
    pos, r = _NET_POS, _NET_RADIUS
    net = example.network
    _draw_connections(ax, net)
    _draw_units(ax, {row["unit"]: row for row in example.forward_rows if row["pattern"] == pattern})
    for l, unit in ((0, "h1"), (0, "h2"), (1, "o")):
        j = 0 if unit != "h2" else 1
        x, y = pos[unit]
        ax.text(
            x + r + 0.08,
            y,
            f"b = {_fmt(net.biases[l][j])}",
            fontsize=9,
            color="#555555",
            ha="left",
            va="center",
        )
    target = float(example.T[pattern - 1, 0])
    ax.text(6.4, 1.0 - r - 0.5, f"target d = {_fmt(target)}", ha="center", va="top", fontsize=10)
    _finish_diagram(ax, (-0.8, 7.6), (-0.75, 2.75))
    ax.set_title(
        f"Pattern {pattern}: x = ({_fmt(example.X[pattern - 1, 0])}, "
        f"{_fmt(example.X[pattern - 1, 1])})",
        fontsize=11,
    )
    return fig


# ---------------------------------------------------------------------------------------------
# Cost and gradient checking
# ---------------------------------------------------------------------------------------------


def _reference_line(ax: Axes, n: np.ndarray, anchor: float, slope: float, label: str) -> None:
    # A dotted line of the given log-log slope through (n[-1], anchor), labelled at its end.
    ref = anchor * (n / n[-1]) ** slope
    ax.plot(n, ref, ls=":", lw=1.3, color="#777777", zorder=1)
    ax.annotate(
        label,
        (n[-1], ref[-1]),
        xytext=(6, -4 if slope > 1 else 4),
        textcoords="offset points",
        fontsize=10,
        color="#555555",
        va="center",
    )


def _cost_axes(cost: BackpropCost) -> tuple[Figure, Axes, np.ndarray]:
    """A new figure for ``cost``, checked, and its parameter counts ``N`` as floats."""
    check_instance(cost, BackpropCost, "cost")
    fig, ax = new_figure(figsize=(COLUMN_WIDTH, 4.1))
    return fig, ax, cost.n_params.astype(float)


def _finish_cost_axes(
    ax: Axes, n: np.ndarray, fd: np.ndarray, backprop: np.ndarray, ylabel: str, title: str
) -> None:
    """Reference lines ∝ N² through the last ``fd`` and ∝ N through the last ``backprop``,
    log–log axes, labels and legend."""
    _reference_line(ax, n, float(fd[-1]), 2.0, "∝ N²")
    _reference_line(ax, n, float(backprop[-1]), 1.0, "∝ N")
    ax.set(xscale="log", yscale="log", xlabel="number of parameters N", ylabel=ylabel, title=title)
    ax.legend(loc="upper left", fontsize=9)
    ax.set_xlim(n[0] / 1.5, n[-1] * 4)


def plot_backprop_counts(cost: BackpropCost) -> Figure:
    """Backprop vs central differences: counted multiply-adds per gradient (exact).

    Log–log against the number of parameters ``N``, with dotted reference lines of slope 1
    (``∝ N``) and 2 (``∝ N²``).  The counts are the same on every machine.

    Parameters
    ----------
    cost
        The result of :func:`ebp.experiments.backpropagation.backprop_cost`.
    """
    fig, ax, n = _cost_axes(cost)
    ax.plot(n, cost.fd_macs, "s-", color=ORANGE, label="central differences: 2N forward passes")
    ax.plot(n, cost.backprop_macs, "o-", color=BLUE, label="backprop: ≈ 3 forward passes")
    ax.plot(n, cost.forward_macs, "^--", color=GREEN, label="one forward pass")
    ylabel = "multiply-adds per gradient"
    _finish_cost_axes(ax, n, cost.fd_macs, cost.backprop_macs, ylabel, "Counted (exact)")
    return fig


def plot_backprop_timing(cost: BackpropCost) -> Figure:
    """Backprop vs central differences: measured seconds per gradient (varies by machine).

    Log–log against the number of parameters ``N``, with dotted reference lines of slope 1
    and 2.  Central-difference times extrapolated from a subset of the parameters are drawn
    as open markers.  Wall-clock times differ between builds, so this figure is the one
    exception to the book's byte-identical figures.

    Parameters
    ----------
    cost
        The result of :func:`ebp.experiments.backpropagation.backprop_cost`.
    """
    fig, ax, n = _cost_axes(cost)
    ext = cost.timing_fd_extrapolated
    ax.plot(n, cost.timing_backprop_s, "o-", color=BLUE, label="backprop")
    ax.plot(n, cost.timing_fd_s, "-", color=ORANGE)
    ax.plot(n[~ext], cost.timing_fd_s[~ext], "s", color=ORANGE, label="central differences")
    if ext.any():
        ax.plot(
            n[ext],
            cost.timing_fd_s[ext],
            "s",
            mfc="white",
            color=ORANGE,
            label=f"central differences\n(timed on {cost.max_fd_params} weights, scaled)",
        )
    _finish_cost_axes(
        ax,
        n,
        cost.timing_fd_s,
        cost.timing_backprop_s,
        "seconds per gradient (best of repeats)",
        "Measured on the machine that built this page",
    )
    return fig


def plot_eps_sweep(sweep: EpsSweep) -> Figure:
    """Relative error of central differences against the step ``ε`` (log–log), two precisions.

    A vertical dotted line marks ``u^{1/3}`` for each precision, where truncation
    (``∝ ε²``) and round-off (``∝ u/ε``) errors balance.

    Parameters
    ----------
    sweep
        The result of :func:`ebp.experiments.backpropagation.eps_sweep`.
    """
    check_instance(sweep, EpsSweep, "sweep")
    fig, ax = new_figure(figsize=(COLUMN_WIDTH, 4.0))
    curves = (
        ("float64", sweep.rel_error_float64, sweep.unit_roundoff_float64, BLUE),
        ("float32", sweep.rel_error_float32, sweep.unit_roundoff_float32, ORANGE),
    )
    for name, err, u, color in curves:
        ax.plot(sweep.eps, err, "o-", ms=3.5, color=color, label=f"{name}")
        ax.axvline(u ** (1 / 3), ls=":", color=color, lw=1.2)
        i = int(np.argmin(err))
        ax.plot(sweep.eps[i], err[i], "*", ms=13, color=color, mec=BLACK, mew=0.6, zorder=5)
    ax.plot(
        [], [], ls=":", color="#555555", label=r"$\varepsilon = u^{1/3}$ ($u$: machine epsilon)"
    )
    ax.plot([], [], "*", ms=11, color="#bbbbbb", mec=BLACK, mew=0.6, label="smallest error")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel=r"finite-difference step $\varepsilon$",
        ylabel="relative error vs backprop",
        ylim=(None, 3.0),
    )
    ax.text(2e-12, 3e-7, r"round-off $\propto u/\varepsilon$", fontsize=10, color="#555555")
    ax.text(3e-4, 3e-10, r"truncation $\propto \varepsilon^2$", fontsize=10, color="#555555")
    ax.legend(loc="lower left", fontsize=9)
    return fig


# ---------------------------------------------------------------------------------------------
# Tables as Markdown (for IPython.display.Markdown)
# ---------------------------------------------------------------------------------------------


def _num(digits: int) -> Callable[[Any], str]:
    def fmt(v: Any) -> str:
        return "—" if math.isnan(v) else f"{v:.{digits}f}"

    return fmt


def forward_table_markdown(example: WorkedExample, digits: int = 6) -> str:
    """Every unit's ``z``, ``a`` and ``δ`` of the worked example, one row per pattern and unit."""
    check_instance(example, WorkedExample, "example")
    return markdown_table(
        example.forward_rows,
        [
            ("pattern", "pattern"),
            ("unit", "unit"),
            ("z", "$z$"),
            ("a", "$a = f(z)$"),
            ("delta", r"$\delta = \partial E/\partial z$"),
            ("delta_autograd", "$\\delta$ (autograd)"),
        ],
        {k: _num(digits) for k in ("z", "a", "delta", "delta_autograd")},
    )


def gradient_table_markdown(example: WorkedExample, digits: int = 8) -> str:
    """Every ``∂E/∂w`` and ``∂E/∂b`` of the worked example: backprop, autograd, difference."""
    check_instance(example, WorkedExample, "example")
    rows = [{**r, "symbol": f"${r['symbol']}$"} for r in example.gradient_rows]
    return markdown_table(
        rows,
        [
            ("symbol", "parameter"),
            ("parameter", "array entry"),
            ("backprop", r"$\partial E/\partial w$ (ebp.scratch)"),
            ("autograd", r"$\partial E/\partial w$ (autograd)"),
            ("difference", "difference"),
        ],
        {"backprop": _num(digits), "autograd": _num(digits), "difference": lambda v: f"{v:.1e}"},
    )
