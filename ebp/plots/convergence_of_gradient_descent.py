"""Figures and tables of the chapter "Convergence of gradient descent" (paper §5.1–5.2).

Each function draws what an experiment of
:mod:`ebp.experiments.convergence_of_gradient_descent` returned; none computes anything beyond
what a figure needs to show (contour levels, ranges, the closed-form factors ``|1 − ηλ|``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from ebp._validate import check_instance
from ebp.experiments.convergence_of_gradient_descent import (
    Boundary,
    Fig13Network,
    LinearUnitProblem,
    LMSRun,
    MomentumRegion,
    OneDRegimes,
    QuadraticPicture,
    StepsVsCondition,
    ValleyRuns,
    weight_plane,
)
from ebp.plots.style import (
    BLACK,
    BLUE,
    COLUMN_WIDTH,
    GREEN,
    ORANGE,
    PURPLE,
    VERMILLION,
    new_figure,
    panel_label,
    use_book_style,
)
from ebp.plots.tables import pipe_table

__all__ = [
    "boundary_table_markdown",
    "momentum_table_markdown",
    "plot_eigen_picture",
    "plot_fig13",
    "plot_linear_unit",
    "plot_momentum",
    "plot_regimes",
    "plot_steps_vs_condition",
    "plot_stochastic",
]

_GREY = "#888888"
_REGIME_COLORS = (BLUE, GREEN, ORANGE, VERMILLION)


def _regime_label(ratio: float) -> str:
    if np.isclose(ratio, 1.0):
        return r"$\eta = \eta_{\rm opt}$"
    if ratio < 1:
        return r"$\eta < \eta_{\rm opt}$"
    if ratio < 2:
        return r"$\eta_{\rm opt} < \eta < 2\eta_{\rm opt}$"
    return r"$\eta > 2\eta_{\rm opt}$"


def plot_regimes(r: OneDRegimes) -> Figure:
    """Fig 6: the iterates on the parabola ``E(w)`` for each rate (a–d), and ``w_t`` (e)."""
    check_instance(r, OneDRegimes, "r")
    use_book_style()
    fig, axd = plt.subplot_mosaic(
        [["a", "b"], ["c", "d"], ["e", "e"]], figsize=(COLUMN_WIDTH, 8.2), layout="constrained"
    )
    ratios = r.etas / r.eta_opt
    top = float(np.abs(r.paths[:, :4]).max()) * 1.1
    w = np.linspace(-top, top, 201)
    for k, key in enumerate("abcd"):
        ax, path, c = axd[key], r.paths[k], _REGIME_COLORS[k]
        ax.plot(w, 0.5 * r.lam * w**2, color=_GREY, lw=1.2)
        shown = path[np.abs(path) <= top]
        ax.plot(shown, 0.5 * r.lam * shown**2, color=c, marker="o", ms=5, lw=1.0)
        ax.annotate("$w_0$", (path[0], 0.5 * r.lam * path[0] ** 2), xytext=(-4, 6),
                    textcoords="offset points", ha="right", fontsize=10)  # fmt: skip
        ax.set_xlabel("$w$")
        ax.set_ylabel("$E(w)$")
        panel_label(ax, f"({key}) {_regime_label(ratios[k])}")
        ax.text(0.5, 0.97, f"$\\eta\\lambda = {r.etas[k] * r.lam:.2g}$", transform=ax.transAxes,
                ha="center", va="top", fontsize=10)  # fmt: skip
    ax = axd["e"]
    t = np.arange(r.paths.shape[1])
    for k in range(len(r.etas)):
        ax.plot(t, r.paths[k], color=_REGIME_COLORS[k % 4], marker="o", ms=4,
                label=f"{_regime_label(ratios[k])} "
                f"($1 - \\eta\\lambda = {r.factors[k]:.2g}$)")  # fmt: skip
    ax.axhline(0.0, color=BLACK, lw=0.8, ls=":", label="minimum $w^* = 0$")
    ax.set_ylim(-2.2 * abs(r.paths[0, 0]), 2.2 * abs(r.paths[0, 0]))
    ax.set_xlabel("step $t$")
    ax.set_ylabel("$w_t$")
    panel_label(ax, "(e) the iterates against time")
    ax.legend(fontsize=9, loc="upper left", ncols=2, bbox_to_anchor=(0.0, -0.22))
    return fig


def _contours(ax, w1, w2, E, E_min: float, n: int = 9) -> None:
    excess = E - E_min
    levels = float(excess.max()) * 4.0 ** -np.arange(n, 0, -1)
    ax.contour(w1, w2, excess, levels=levels, colors=_GREY, linewidths=0.8)


def plot_eigen_picture(p: QuadraticPicture) -> Figure:
    """Figs 7–8: contours, eigen-axes and a descent path in the weights (a) and in the
    eigen-coordinates (b)."""
    check_instance(p, QuadraticPicture, "p")
    fig, (ax_w, ax_v) = new_figure(1, 2, figsize=(COLUMN_WIDTH, 3.6))
    _contours(ax_w, p.w1, p.w2, p.E, 0.0)
    r = 0.5 * (p.w1[-1] - p.w1[0])
    for i, c in ((0, GREEN), (1, PURPLE)):
        q = p.Q[:, i] * 0.9 * r
        ends = np.stack([p.w_star - q, p.w_star + q])
        ax_w.plot(ends[:, 0], ends[:, 1],
                  color=c, lw=1.5, label=f"eigenvector, $\\lambda = {p.lam[i]:.3g}$")  # fmt: skip
    for ax, path in ((ax_w, p.path), (ax_v, p.path_eigen)):
        ax.plot(path[:, 0], path[:, 1], color=VERMILLION, marker="o", ms=3, lw=1.1,
                label=f"descent, $\\eta = 1/\\lambda_{{\\max}} = {p.eta:.3g}$")  # fmt: skip
        ax.set_aspect("equal")
        ax.grid(False)
    ax_w.set_xlim(p.w1[0], p.w1[-1])
    ax_w.set_ylim(p.w2[0], p.w2[-1])
    ax_w.set_xlabel("$w_1$")
    ax_w.set_ylabel("$w_2$")
    v1, v2 = np.meshgrid(np.linspace(-r, r, 161), np.linspace(-r, r, 161))
    _contours(ax_v, v1[0], v2[:, 0], 0.5 * (p.lam[0] * v1**2 + p.lam[1] * v2**2), 0.0)
    ax_v.axhline(0, color=GREEN, lw=1.5)
    ax_v.axvline(0, color=PURPLE, lw=1.5)
    ax_v.set_xlim(-r, r)
    ax_v.set_ylim(-r, r)
    ax_v.set_xlabel(f"$v_1$ (along $\\lambda = {p.lam[0]:.3g}$)")
    ax_v.set_ylabel(f"$v_2$ (along $\\lambda = {p.lam[1]:.3g}$)")
    panel_label(ax_w, "(a) weights")
    panel_label(ax_v, "(b) eigen-coordinates")
    fig.legend(*ax_w.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=9)
    return fig


_METHOD = {
    "eta_opt": (BLUE, "o", r"$\eta = 1/\lambda_{\max}$ (eq 39)"),
    "best_eta": (GREEN, "s", r"$\eta = 2/(\lambda_{\min} + \lambda_{\max})$"),
    "momentum": (VERMILLION, "D", r"heavy ball, Polyak's $\eta$, $\mu$"),
}


def plot_steps_vs_condition(s: StepsVsCondition) -> Figure:
    """Steps to the tolerance against ``κ`` on log-log axes: measured (markers) and predicted
    from the rate (lines)."""
    check_instance(s, StepsVsCondition, "s")
    fig, ax = new_figure(figsize=(COLUMN_WIDTH, 4.2))
    for m in s.methods:
        c, marker, label = _METHOD[m]
        ax.plot(s.kappas, s.predicted[m], color=c, lw=1.2, label=f"{label}: predicted")
        ax.plot(s.kappas, s.measured[m], color=c, marker=marker, ls="none", ms=6, mfc="none",
                mew=1.4, label=f"{label}: measured")  # fmt: skip
    ref = s.kappas * np.log(1.0 / s.tol)
    ax.plot(s.kappas, ref, color=BLACK, ls=":", lw=1.0, label=r"$\kappa \ln(1/\mathrm{tol})$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"condition number $\kappa = \lambda_{\max}/\lambda_{\min}$")
    ax.set_ylabel(f"steps to $\\|w_t - w^*\\| \\leq {s.tol:g}\\,\\|w_0 - w^*\\|$")
    ax.legend(fontsize=9, ncols=2, loc="upper left")
    return fig


def _plane(problem: LinearUnitProblem, lim: tuple[float, float, float, float]):
    w1 = np.linspace(lim[0], lim[1], 161)
    w2 = np.linspace(lim[2], lim[3], 161)
    return w1, w2, weight_plane(problem, w1, w2)


def _path_panel(ax, problem, run: LMSRun, lim, color: str, n: int) -> None:
    w1, w2, E = _plane(problem, lim)
    _contours(ax, w1, w2, E, float(problem.loss(problem.w_star[True])), n=10)
    path = run.weights[: n + 1]
    ax.plot(path[:, 0], path[:, 1], color=color, marker="o", ms=3.5, lw=1.1)
    ax.plot(*path[0, :2], marker="s", color=BLACK, ms=6, ls="none", label="start")
    ax.plot(*problem.w_star[True][:2], marker="*", color=BLUE, ms=12, ls="none",
            label="minimum")  # fmt: skip
    ax.set_xlim(lim[0], lim[1])
    ax.set_ylim(lim[2], lim[3])
    ax.set_aspect("equal")
    ax.grid(False)
    ax.set_xlabel("$w_1$")
    ax.set_ylabel("$w_2$")


def plot_linear_unit(
    problem: LinearUnitProblem, runs: Mapping[float, LMSRun], boundaries: Sequence[Boundary],
    *, steps_shown: tuple[int, int] = (30, 8),
    lim: tuple[float, float, float, float] = (-1.5, 2.5, -1.5, 2.5),
) -> Figure:  # fmt: skip
    """Fig 11: batch paths at the smallest and largest rate of ``runs`` on the contours (a, b),
    the loss of every run (c), and the factors ``|1 − ηλ_i|`` against η with the measured
    boundaries (d)."""
    check_instance(problem, LinearUnitProblem, "problem")
    etas = sorted(runs)
    colors = dict(zip(etas, (BLUE, ORANGE, VERMILLION, PURPLE), strict=False))
    use_book_style()
    fig, axd = plt.subplot_mosaic([["a", "b"], ["c", "d"]], figsize=(COLUMN_WIDTH, 7.0),
                                  layout="constrained")  # fmt: skip
    for key, eta, n in (("a", etas[0], steps_shown[0]), ("b", etas[-1], steps_shown[1])):
        _path_panel(axd[key], problem, runs[eta], lim, colors[eta], n)
        panel_label(axd[key], f"({key}) batch, $\\eta = {eta:g}$, {n} epochs")
    axd["a"].legend(fontsize=9, loc="lower left", framealpha=0.9, frameon=True, edgecolor="none")
    ax = axd["c"]
    e_min = float(problem.loss(problem.w_star[True]))
    for eta in etas:
        r = runs[eta]
        ax.plot(np.arange(r.loss.size), r.loss - e_min, color=colors[eta], marker="o", ms=3,
                label=f"$\\eta = {eta:g}$")  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(r"$E - E_{\min}$")
    ax.legend(fontsize=9)
    panel_label(ax, "(c) excess loss")
    ax = axd["d"]
    eta = np.linspace(0.0, 3.0, 301)
    lam = problem.lam[True]
    for i, c in zip(range(lam.size), (GREEN, PURPLE, BLACK), strict=True):
        ax.plot(eta, np.abs(1 - eta * lam[i]), color=c, lw=1.3,
                label=f"$|1 - \\eta\\lambda|$, $\\lambda = {lam[i]:.3g}$")  # fmt: skip
    ax.axhline(1.0, color=_GREY, lw=0.8)
    for b, ls in zip(boundaries, ("--", ":"), strict=False):
        ax.axvline(b.eta, color=VERMILLION, ls=ls, lw=1.2,
                   label=f"measured, {'with' if b.bias else 'no'} bias: {b.eta:.3f}")  # fmt: skip
    ax.set_ylim(0, 2.7)
    ax.set_xlabel(r"$\eta$")
    ax.set_ylabel("factor per step")
    ax.legend(fontsize=9, loc="upper left")
    panel_label(ax, "(d) per-direction factors")
    return fig


def plot_stochastic(
    problem: LinearUnitProblem, run: LMSRun, *,
    lim: tuple[float, float, float, float] = (-0.3, 1.9, -0.7, 1.5),
) -> Figure:  # fmt: skip
    """Fig 12: an online path on the contours (a) and its loss after every update (b)."""
    check_instance(problem, LinearUnitProblem, "problem")
    check_instance(run, LMSRun, "run")
    fig, (ax_p, ax_l) = new_figure(1, 2, figsize=(COLUMN_WIDTH, 3.5))
    w1, w2, E = _plane(problem, lim)
    e_min = float(problem.loss(problem.w_star[True]))
    _contours(ax_p, w1, w2, E, e_min, n=10)
    ax_p.plot(run.weights[:, 0], run.weights[:, 1], color=ORANGE, lw=0.6)
    ends = run.weights[:: run.updates_per_epoch]
    ax_p.plot(ends[:, 0], ends[:, 1], color=VERMILLION, marker="o", ms=3, ls="none",
              label="end of each epoch")  # fmt: skip
    ax_p.plot(*run.weights[0, :2], marker="s", color=BLACK, ms=6, ls="none", label="start")
    ax_p.plot(*problem.w_star[True][:2], marker="*", color=BLUE, ms=12, ls="none",
              label="minimum")  # fmt: skip
    ax_p.set_xlim(lim[0], lim[1])
    ax_p.set_ylim(lim[2], lim[3])
    ax_p.set_aspect("equal")
    ax_p.grid(False)
    ax_p.set_xlabel("$w_1$")
    ax_p.set_ylabel("$w_2$")
    ax_p.legend(fontsize=9, loc="lower left", frameon=True, framealpha=0.9, edgecolor="none")
    t = np.arange(run.loss.size) / run.updates_per_epoch
    ax_l.plot(t, run.loss - e_min, color=ORANGE, lw=0.8)
    ax_l.set_yscale("log")
    ax_l.set_xlabel("epoch")
    ax_l.set_ylabel(r"$E - E_{\min}$")
    panel_label(ax_p, f"(a) online, $\\eta = {run.eta:g}$")
    panel_label(ax_l, "(b) excess loss, every update")
    return fig


def plot_fig13(net: Fig13Network) -> Figure:
    """Figs 13–14: the surface over ``(w1, w2)`` (biases fixed) with the batch and stochastic
    trajectories (a), and their loss per epoch (b)."""
    check_instance(net, Fig13Network, "net")
    fig, (ax_s, ax_l) = new_figure(1, 2, figsize=(COLUMN_WIDTH, 3.7),
                                   gridspec_kw={"width_ratios": [1.15, 1]})  # fmt: skip
    cs = ax_s.contourf(net.w1, net.w2, net.E, levels=14, cmap="viridis")
    fig.colorbar(cs, ax=ax_s, label="$E$", shrink=0.85)
    ax_s.plot(net.inner[:, 0], net.inner[:, 1], color="white", lw=0.6)
    for name, c, marker in (("batch", ORANGE, "o"), ("stochastic", "white", "s")):
        p = net.paths[name]
        ax_s.plot(p[:, 0], p[:, 1], color=c, marker=marker, ms=3.5, mec=BLACK, mew=0.5,
                  lw=1.0 if name == "batch" else 0,
                  label=f"{name}, $\\eta = {net.etas[name]:g}$")  # fmt: skip
    ax_s.plot(*net.start, marker="s", color=BLACK, ms=6, ls="none")
    ax_s.plot(*net.trained[:2], marker="*", color=VERMILLION, ms=12, ls="none",
              label="trained $(w_1, w_2)$")  # fmt: skip
    ax_s.set_xlabel("first-layer weight $w_1$")
    ax_s.set_ylabel("second-layer weight $w_2$")
    ax_s.grid(False)
    ax_s.legend(fontsize=9, loc="lower right", frameon=True, framealpha=0.8, edgecolor="none")
    for name, c in (("batch", ORANGE), ("stochastic", BLACK)):
        ax_l.plot(np.arange(net.loss[name].size), net.loss[name], color=c, label=name)
    ax_l.set_yscale("log")
    ax_l.set_xlabel("epoch")
    ax_l.set_ylabel("$E$ (biases fixed)")
    ax_l.legend(fontsize=9)
    panel_label(ax_s, "(a) surface and trajectories")
    panel_label(ax_l, "(b) loss per epoch")
    return fig


def plot_momentum(region: MomentumRegion, valley: ValleyRuns) -> Figure:
    """Heavy ball: the radius over ``(ηλ, μ)`` with the converging region (a), and paths with
    and without momentum in a valley (b)."""
    check_instance(region, MomentumRegion, "region")
    check_instance(valley, ValleyRuns, "valley")
    fig, (ax_r, ax_v) = new_figure(1, 2, figsize=(COLUMN_WIDTH, 3.6),
                                   gridspec_kw={"width_ratios": [1.25, 1]})  # fmt: skip
    mesh = ax_r.pcolormesh(region.eta_lam, region.mu, np.clip(region.radius, 0.05, 3.0),
                           norm=LogNorm(0.05, 3.0), cmap="viridis", shading="auto")  # fmt: skip
    fig.colorbar(mesh, ax=ax_r, label="spectral radius", shrink=0.9)
    ax_r.contour(region.eta_lam, region.mu, region.converges.astype(float), levels=[0.5],
                 colors="white", linewidths=1.5)  # fmt: skip
    for edge in ((1 - np.sqrt(region.mu)) ** 2, (1 + np.sqrt(region.mu)) ** 2):
        ax_r.plot(edge, region.mu, color=ORANGE, ls="--", lw=1.3)
    ax_r.text(1.0, 0.93, "radius $\\sqrt{\\mu}$\nbetween the\ndashed curves", color=ORANGE,
              fontsize=9, ha="center", va="top")  # fmt: skip
    ax_r.text(3.5, 0.3, "diverges", color=BLACK, fontsize=10, ha="center")
    ax_r.text(2.3, 0.03, r"limit $\eta\lambda = 2(1+\mu)$", color=BLACK, fontsize=9)
    ax_r.set_xlabel(r"$\eta\lambda$")
    ax_r.set_ylabel(r"momentum $\mu$")
    ax_r.grid(False)
    panel_label(ax_r, "(a) one eigendirection")
    p = valley.picture
    _contours(ax_v, p.w1, p.w2, p.E, 0.0)
    ax_v.plot(p.path[:, 0], p.path[:, 1], color=BLUE, marker="o", ms=3, lw=1.0,
              label=f"plain, $\\eta = {p.eta:.2f}$")  # fmt: skip
    m = valley.momentum_path
    hb = valley.heavy_ball
    ax_v.plot(m[:, 0], m[:, 1], color=VERMILLION, marker="D", ms=3, lw=1.0,
              label=f"$\\eta = {hb.eta:.2f}$, $\\mu = {hb.momentum:.2f}$")  # fmt: skip
    ax_v.plot(*p.path[0], marker="s", color=BLACK, ms=6, ls="none")
    ax_v.set_aspect("equal")
    ax_v.set_xlim(p.w1[0], p.w1[-1])
    ax_v.set_ylim(p.w2[0], p.w2[-1])
    ax_v.grid(False)
    ax_v.set_xlabel("$w_1$")
    ax_v.set_ylabel("$w_2$")
    ax_v.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    panel_label(ax_v, f"(b) {p.path.shape[0] - 1} steps, $\\kappa = {p.lam[1] / p.lam[0]:.0f}$")
    return fig


def boundary_table_markdown(problem: LinearUnitProblem, boundaries: Sequence[Boundary]) -> str:
    """A Markdown table: per unit, the eigenvalues of ``H``, ``2/λ_max`` and the measured
    boundary."""
    check_instance(problem, LinearUnitProblem, "problem")
    header = ["unit", "eigenvalues of $H$", r"$2/\lambda_{\max}$", "measured boundary",
              "runs"]  # fmt: skip
    rows = []
    for b in boundaries:
        check_instance(b, Boundary, "boundaries[i]")
        rows.append([
            "2 weights + bias (the paper's)" if b.bias else "2 weights, no bias",
            ", ".join(f"{v:.3f}" for v in problem.lam[b.bias]),
            f"{b.predicted:.4f}", f"{b.eta:.4f}", str(b.runs),
        ])  # fmt: skip
    return pipe_table(header, rows)


def momentum_table_markdown(rows: Sequence[Mapping[str, float]]) -> str:
    """A Markdown table of the rows of
    :func:`ebp.experiments.convergence_of_gradient_descent.momentum_table`."""
    header = [r"$\kappa$", r"plain $\eta$", "plain factor", "plain steps", r"$\mu^*$",
              r"$\eta^*$", "heavy-ball factor", "heavy-ball steps"]  # fmt: skip
    body = [
        [f"{r['kappa']:g}", f"{r['best_eta']:.3f}", f"{r['rate_plain']:.4f}",
         f"{r['steps_plain']:d}", f"{r['mu']:.3f}", f"{r['eta']:.3f}",
         f"{r['rate_momentum']:.4f}", f"{r['steps_momentum']:d}"]
        for r in rows
    ]  # fmt: skip
    return pipe_table(header, body)
