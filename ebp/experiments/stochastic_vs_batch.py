"""Experiments of the chapter "Stochastic versus batch learning" (paper §4.1, eqs 10–12).

Every run trains the linear unit of §5.2 (two weights and a bias, squared error) on the
two-Gaussian data of Figs 9/10, or on §4.1's redundant version of it, 10 copies of the same
100 patterns.  The unit is convex, so the best loss it can reach, ``E*``, is known exactly
(least squares), and a target loss can be fixed relative to it before anything is trained.

- :func:`redundancy`: target R5.  Batch and online (eq 11) learning, each at its own best
  learning rate from a sweep over η × seeds, on the 100 patterns and on their 10 copies:
  how many presentations (pattern-gradient evaluations) each needs to reach the target.
- :func:`batch_sizes`: the same measurement for mini-batches in between, with the gradient
  noise of each batch size (:func:`gradient_noise`) and the loss left at the end.
- :func:`update_rate`: updates and presentations per second for each batch size (wall clock;
  the only non-deterministic numbers of the chapter).
- :func:`annealing`: the noise floor of constant-rate online learning, and two ways to remove
  it: the ``c/t`` schedule of eq 12 and a growing mini-batch.

Nothing here draws (see :mod:`ebp.plots.stochastic_vs_batch`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import Tensor
from torch.func import functional_call, grad, vmap

from ebp import data, train
from ebp import nn as ebp_nn
from ebp._validate import (
    as_float_array,
    check_choice,
    check_in_range,
    check_instance,
    check_int,
    check_positive,
)
from ebp.history import History
from ebp.many import fit_many
from ebp.repro import single_threaded
from ebp.schedules import InverseTime, Schedule

__all__ = [
    "ETAS",
    "GROWING_SIZES",
    "RULES",
    "TARGET_FACTORS",
    "Annealing",
    "BatchLimit",
    "BatchSizes",
    "Ladder",
    "Redundancy",
    "Sweep",
    "UpdateRate",
    "annealing",
    "batch_limit",
    "batch_sizes",
    "best_loss",
    "budget_epochs",
    "gradient_noise",
    "hessian_eigenvalues",
    "linear_unit",
    "minimizer",
    "online_limit",
    "redundancy",
    "sweep",
    "update_rate",
]

ETAS: tuple[float, ...] = tuple(0.025 * 2 ** (k / 2) for k in range(15))
"""The learning-rate grid every method is swept over, 0.025 to 3.2 in steps of √2."""

MIN_UPDATES = 100
"""Every run is given at least this many updates …"""

MIN_PRESENTATIONS = 2000
"""… and at least this many presentations (see :func:`budget_epochs`)."""


# ---------------------------------------------------------------------------------------------
# The model, its best loss, the budget
# ---------------------------------------------------------------------------------------------


def linear_unit(seed: int | None = None, n_in: int = 2) -> torch.nn.Module:
    """The linear unit of §5.2: ``n_in`` weights and a bias, float64.

    Parameters
    ----------
    seed
        ``None``: all weights zero (the start of every run of this chapter, so that the seeds
        vary only the order of presentation); otherwise the seed of eq 16's initialization
        (the bias starts at 0).
    n_in
        Number of inputs.
    """
    if seed is None:
        return ebp_nn.mlp([n_in, 1], init="zeros", dtype=torch.float64)
    return ebp_nn.mlp([n_in, 1], dtype=torch.float64, seed=check_int(seed, "seed", min_value=0))


def best_loss(X: np.ndarray, y: np.ndarray) -> float:
    """``E* = min_w (1/P) Σ_p ½ (d^p − wᵀx^p − b)²``, the least-squares minimum of the unit.

    Parameters
    ----------
    X, y
        Inputs ``(P, n)`` and targets ``(P,)`` or ``(P, 1)``.
    """
    X = as_float_array(X, "X", ndim=2)
    y = as_float_array(y, "y").reshape(X.shape[0], -1)
    A = np.column_stack([X, np.ones(X.shape[0])])
    w, *_ = np.linalg.lstsq(A, y, rcond=None)
    return float(0.5 * np.mean(np.sum((A @ w - y) ** 2, axis=1)))


def hessian_eigenvalues(X: np.ndarray, *, bias: bool = True) -> np.ndarray:
    """Eigenvalues, ascending, of the linear unit's Hessian ``(1/P) Σ_p x_p x_pᵀ`` (eq 29).

    Parameters
    ----------
    X
        Inputs ``(P, n)``.
    bias
        Append the bias input, a constant 1, to every ``x_p`` (the unit of this chapter has a
        bias); ``False`` for the weights alone.
    """
    X = as_float_array(X, "X", ndim=2)
    A = np.column_stack([X, np.ones(X.shape[0])]) if bias else X
    return np.linalg.eigvalsh(A.T @ A / A.shape[0])


def budget_epochs(n_patterns: int, batch_size: int) -> int:
    """Epochs that give a run at least ``MIN_UPDATES`` updates and
    ``MIN_PRESENTATIONS`` presentations.

    Parameters
    ----------
    n_patterns
        ``P``, the size of the training set.
    batch_size
        Patterns per update.
    """
    P = check_int(n_patterns, "n_patterns", min_value=1)
    B = check_int(batch_size, "batch_size", min_value=1)
    updates_per_epoch = math.ceil(P / B)
    return max(math.ceil(MIN_UPDATES / updates_per_epoch), math.ceil(MIN_PRESENTATIONS / P))


# ---------------------------------------------------------------------------------------------
# Training many models at once
# ---------------------------------------------------------------------------------------------


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    seeds = [check_int(s, "seeds", min_value=0) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    return seeds


def _train(
    models: Sequence[torch.nn.Module],
    X: np.ndarray,
    y: np.ndarray,
    *,
    eta: Sequence[float | Schedule],
    epochs: int,
    batch_size: int,
    seeds: Sequence[int],
    record_every: int | None,
) -> tuple[list[History], list[torch.nn.Module]]:
    """Train ``models[k]`` with rate (or schedule) ``eta[k]`` and shuffling seed ``seeds[k]``,
    as :func:`ebp.train.fit` would, with :func:`ebp.many.fit_many`; diverged runs stop."""
    run = fit_many(
        models,
        X,
        y,
        eta=eta,
        epochs=epochs,
        batch_size=batch_size,
        seed=list(seeds),
        record_every=record_every,
    )
    return run.histories, run.models


def _aligned(histories: Sequence[History], grid: np.ndarray) -> np.ndarray:
    """The training losses of ``histories`` on the presentation ``grid`` (NaN where missing)."""
    out = np.full((len(histories), grid.size), np.nan)
    for k, h in enumerate(histories):
        where = np.searchsorted(grid, h.presentations)
        ok = (where < grid.size) & (grid[np.minimum(where, grid.size - 1)] == h.presentations)
        out[k, where[ok]] = np.asarray(h.train_loss)[ok]
    return out


# ---------------------------------------------------------------------------------------------
# Sweeps over η × seeds
# ---------------------------------------------------------------------------------------------


RULES: tuple[str, ...] = ("held", "first")
"""When a run counts as having reached the target.  ``"held"``: at the first record ``t`` from
which the loss stays at or below the target for as long again, up to ``2t`` (a run must last
``2t`` presentations to certify ``t``); ``"first"``: at the first record at or below the target,
however briefly (a lucky dip of a noisy run counts).  For batch learning of the linear unit,
whose loss decreases monotonically, the two agree."""


@dataclass(frozen=True)
class Sweep:
    """One training mode (a batch size) swept over η × seeds on one training set.

    Attributes
    ----------
    n_patterns
        ``P``, the size of the training set.
    batch_size
        Patterns per update (``P`` for batch, 1 for online learning).
    etas
        The learning rates tried, shape ``(n_eta,)``.
    seeds
        The seeds (initial weights and order of presentation), shape ``(n_seed,)``.
    target
        The target loss.
    presentations
        Where the loss was recorded, shape ``(T,)``.
    loss
        Full training loss, shape ``(n_eta, n_seed, T)``; NaN after a divergence.
    diverged
        Which runs diverged, shape ``(n_eta, n_seed)``.
    rule
        One of :data:`RULES`: when a run counts as having reached the target.
    """

    n_patterns: int
    batch_size: int
    etas: np.ndarray
    seeds: np.ndarray
    target: float
    presentations: np.ndarray
    loss: np.ndarray
    diverged: np.ndarray
    rule: str = "held"

    def __post_init__(self) -> None:
        check_choice(self.rule, "rule", RULES)

    def with_rule(self, rule: str) -> Sweep:
        """The same runs, read with another :data:`RULES` entry."""
        return replace(self, rule=check_choice(rule, "rule", RULES))

    def with_target(self, target: float) -> Sweep:
        """The same runs, read against another target loss."""
        return replace(self, target=check_positive(target, "target"))

    @property
    def updates_per_epoch(self) -> int:
        """``⌈P / B⌉``."""
        return math.ceil(self.n_patterns / self.batch_size)

    @property
    def budget(self) -> int:
        """The presentations each run was given."""
        return int(self.presentations[-1])

    @property
    def reached(self) -> np.ndarray:
        """Presentations until the target was reached (by :attr:`rule`), shape
        ``(n_eta, n_seed)``; ``inf`` for runs that never reached it or diverged."""
        below = np.nan_to_num(self.loss, nan=np.inf) <= self.target
        x = self.presentations
        if self.rule == "held":
            # held[t]: below at every record in [x_t, 2 x_t], and the run lasted until 2 x_t
            T = x.size
            end = np.searchsorted(x, 2 * x, side="right")  # records up to 2 x_t
            above = np.cumsum(~below, axis=2)
            before = np.concatenate([np.zeros_like(above[..., :1]), above[..., :-1]], axis=2)
            stretch = above[..., np.maximum(end - 1, 0)] - before
            lasted = (2 * x <= x[-1]) & (end > np.arange(T))
            below = (stretch == 0) & lasted
        first = np.argmax(below, axis=2)
        ok = below.any(axis=2) & ~self.diverged
        return np.where(ok, x[first], np.inf)

    @property
    def eligible(self) -> np.ndarray:
        """The rates at which every seed reached the target, shape ``(n_eta,)``, bool."""
        return np.all(np.isfinite(self.reached), axis=1)

    @property
    def mean_reached(self) -> np.ndarray:
        """Mean presentations to target per rate (``inf`` unless every seed got there)."""
        reached = self.reached
        return np.where(
            self.eligible, np.mean(np.where(np.isfinite(reached), reached, 0), 1), np.inf
        )

    @property
    def best(self) -> int:
        """Index of the best rate, the one where every seed reaches the target, in the fewest
        presentations on average (ties: the smaller rate)."""
        if not self.eligible.any():
            raise ValueError(
                f"no learning rate reached the target {self.target:.4g} with every seed within "
                f"{self.budget} presentations (batch size {self.batch_size}); widen the grid or "
                "the budget"
            )
        return int(np.argmin(self.mean_reached))

    @property
    def best_eta(self) -> float:
        """The best learning rate."""
        return float(self.etas[self.best])

    @property
    def best_reached(self) -> np.ndarray:
        """Presentations to target at the best rate, one per seed."""
        return self.reached[self.best]

    @property
    def best_loss_curves(self) -> np.ndarray:
        """Training loss at the best rate, shape ``(n_seed, T)``."""
        return self.loss[self.best]

    def final_excess(
        self, e_star: float, fraction: float = 0.25, index: int | None = None
    ) -> np.ndarray:
        """Mean of ``E/E* − 1`` over the last ``fraction`` of the records, one per seed: the
        level where the runs settled (the noise floor of stochastic runs).

        Parameters
        ----------
        e_star
            The best loss, > 0.
        fraction
            Fraction of the records to average, in (0, 1].
        index
            Which rate of :attr:`etas`; default :attr:`best`.
        """
        e_star = check_positive(e_star, "e_star")
        fraction = check_in_range(fraction, "fraction", 0.0, 1.0, low_inclusive=False)
        i = self.best if index is None else check_int(index, "index", min_value=0)
        if i >= self.etas.size:
            raise ValueError(f"index must be below the number of rates ({self.etas.size}); got {i}")
        T = self.presentations.size
        tail = self.loss[i][:, T - max(1, round(fraction * T)) :]
        return np.mean(tail / e_star - 1.0, axis=1)


def online_limit(X: np.ndarray) -> float:
    """``2 / max_p (‖x_p‖² + 1)``: above this rate an online update of the linear unit
    overshoots the pattern with the largest input (the ``+ 1`` is the bias input)."""
    X = as_float_array(X, "X", ndim=2)
    return float(2.0 / np.max(np.sum(X**2, axis=1) + 1.0))


def sweep(
    X: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int | None,
    target: float,
    etas: Sequence[float] = ETAS,
    seeds: Sequence[int] = range(5),
    epochs: int | None = None,
    record_every: int | None = None,
    rule: str = "held",
) -> Sweep:
    """Train the linear unit on ``(X, y)`` for every ``η`` in ``etas`` and seed, all at once.

    Parameters
    ----------
    X, y
        Training set.
    batch_size
        Patterns per update; ``None`` for full batch.
    target
        The target loss; the presentations to reach it are counted from the records.
    etas
        Learning rates.  For online learning (``batch_size=1``) the rates above
        :func:`online_limit` are left out: they cannot settle.
    seeds
        Seeds of the initial weights and of the order of presentation (≥ 1).
    epochs
        Passes through the data; default :func:`budget_epochs`.
    record_every
        Record the loss every this many presentations; default ``max(B, 10)`` (every update
        of a large batch, every 10 patterns of online learning).
    rule
        One of :data:`RULES`.
    """
    X = as_float_array(X, "X", ndim=2)
    P = X.shape[0]
    B = P if batch_size is None else check_int(batch_size, "batch_size", min_value=1)
    if B > P:
        raise ValueError(f"batch_size must be at most the number of patterns ({P}); got {B}")
    target = check_positive(target, "target")
    etas = np.asarray([check_positive(e, "etas") for e in etas], dtype=float)
    if B == 1:
        etas = etas[etas <= online_limit(X)]
    seeds = np.asarray([check_int(s, "seeds", min_value=0) for s in seeds], dtype=np.int64)
    if etas.size == 0 or seeds.size == 0:
        raise ValueError("etas and seeds must each hold at least one (usable) value")
    check_choice(rule, "rule", RULES)
    epochs = budget_epochs(P, B) if epochs is None else check_int(epochs, "epochs", min_value=1)
    every = (
        max(B, 10) if record_every is None else check_int(record_every, "record_every", min_value=1)
    )
    models = [linear_unit(int(s), X.shape[1]) for _ in etas for s in seeds]
    histories, _ = _train(
        models,
        X,
        y,
        eta=np.repeat(etas, seeds.size).tolist(),
        epochs=epochs,
        batch_size=B,
        seeds=np.tile(seeds, etas.size).tolist(),
        record_every=None if every >= P else every,
    )
    grid = np.unique(np.concatenate([h.presentations for h in histories])).astype(float)
    return Sweep(
        n_patterns=P,
        batch_size=B,
        etas=etas,
        seeds=seeds,
        target=target,
        presentations=grid,
        loss=_aligned(histories, grid).reshape(etas.size, seeds.size, grid.size),
        diverged=np.array([h.diverged for h in histories]).reshape(etas.size, seeds.size),
        rule=rule,
    )


@dataclass(frozen=True)
class BatchLimit:
    """Full-batch learning of the linear unit at one rate, one run per seed.

    Attributes
    ----------
    eta
        The learning rate.
    eigenvalues
        Eigenvalues of the Hessian with the bias input, ascending (:func:`hessian_eigenvalues`).
    diverged
        Per seed, whether the run diverged (:func:`ebp.many.fit_many` stops it).
    step
        Per seed, the update after which the divergence was seen (``-1``: none).
    final_loss
        Per seed, the last recorded training loss.
    final_bias
        Per seed, the bias at the end of the run (or when it was stopped).
    updates
        The number of updates each run was given.
    """

    eta: float
    eigenvalues: np.ndarray
    diverged: np.ndarray
    step: np.ndarray
    final_loss: np.ndarray
    final_bias: np.ndarray
    updates: int

    @property
    def lambda_max(self) -> float:
        """The largest eigenvalue of the Hessian (with the bias input)."""
        return float(self.eigenvalues[-1])

    @property
    def eta_max(self) -> float:
        """``2/λ_max``, the largest rate at which batch learning converges (eq 38)."""
        return 2.0 / self.lambda_max


def batch_limit(
    eta: float,
    *,
    n: int = 100,
    data_seed: int = 0,
    seeds: Sequence[int] = range(5),
    updates: int = 1000,
) -> BatchLimit:
    """Full-batch learning of the linear unit at rate ``eta`` on the two-Gaussian patterns.

    Every run starts as those of :func:`redundancy` do (eq 16 for the weights, bias 0).  On
    this data set the inputs are exactly centred, so the bias is decoupled from the weights: its
    eigenvalue of the Hessian is exactly 1, and its gradient is zero at the start up to
    rounding.  Above ``2/λ_max`` the rounding errors in the bias grow by ``|1 − η|`` per
    update until the run diverges.

    Parameters
    ----------
    eta
        The learning rate, > 0.
    n, data_seed
        The data, :func:`ebp.data.two_gaussians` ``(n, seed=data_seed)``.
    seeds
        Seeds of the initial weights.
    updates
        Updates (epochs) per run.
    """
    eta = check_positive(eta, "eta")
    updates = check_int(updates, "updates", min_value=1)
    seeds = _check_seeds(seeds)
    ds = data.two_gaussians(n, seed=data_seed)
    with single_threaded():
        histories, models = _train(
            [linear_unit(s) for s in seeds],
            ds.X,
            ds.y,
            eta=[eta] * len(seeds),
            epochs=updates,
            batch_size=ds.n_patterns,
            seeds=seeds,
            record_every=None,
        )
    return BatchLimit(
        eta=eta,
        eigenvalues=hessian_eigenvalues(ds.X),
        diverged=np.array([h.diverged for h in histories]),
        step=np.array([-1 if h.step is None else h.step for h in histories]),
        final_loss=np.array([h.train_loss[-1] for h in histories]),
        final_bias=np.array([_bias(m) for m in models]),
        updates=updates,
    )


def _bias(model: torch.nn.Module) -> float:
    """The bias of the linear unit (its only one-element parameter)."""
    (b,) = [p for p in model.parameters() if p.numel() == 1]
    return float(b.detach())


# ---------------------------------------------------------------------------------------------
# Target R5: redundancy
# ---------------------------------------------------------------------------------------------


TARGET_FACTORS: tuple[float, ...] = (1.1, 1.25, 1.5, 2.0)
"""The ladder of targets ``f · E*`` at which :func:`redundancy` reads its runs."""


@dataclass(frozen=True)
class Ladder:
    """The R5 ratios at every target of the ladder (NaN where some method never held it).

    Attributes
    ----------
    target_factors
        The targets, as multiples of ``E*``.
    ratio_original, ratio_redundant
        Mean presentations of batch / of online learning, each at its best rate.
    gain
        ``ratio_redundant / ratio_original``.
    """

    target_factors: np.ndarray
    ratio_original: np.ndarray
    ratio_redundant: np.ndarray
    gain: np.ndarray

    @property
    def geometric_mean_gain(self) -> float:
        """The geometric mean of :attr:`gain` over the targets where it is defined."""
        g = self.gain[np.isfinite(self.gain)]
        return float(np.exp(np.mean(np.log(g)))) if g.size else math.nan


@dataclass(frozen=True)
class Redundancy:
    """Batch versus online learning on ``n`` patterns and on ``copies`` copies of them (R5).

    Attributes
    ----------
    n, copies
        ``n`` original patterns; the redundant set holds ``copies`` copies of them.
    e_star
        The best loss the unit can reach, on either set (copies do not change a mean).
    target_factor
        The target the sweeps are read at: ``target_factor · E*``.
    target_factors
        The ladder of targets (:data:`TARGET_FACTORS`).
    sweeps
        Keyed ``(set, method)`` with set ``"original"`` or ``"redundant"`` and method
        ``"batch"`` or ``"online"``.
    """

    n: int
    copies: int
    e_star: float
    target_factor: float
    target_factors: tuple[float, ...]
    sweeps: dict[tuple[str, str], Sweep]

    @property
    def target(self) -> float:
        """The target loss ``target_factor · E*``."""
        return self.target_factor * self.e_star

    @property
    def rule(self) -> str:
        """When a run counts as having reached the target (:data:`RULES`)."""
        return self.sweeps[("redundant", "online")].rule

    def with_rule(self, rule: str) -> Redundancy:
        """The same runs, read with another :data:`RULES` entry (best rates chosen anew)."""
        return replace(self, sweeps={k: s.with_rule(rule) for k, s in self.sweeps.items()})

    def with_target_factor(self, target_factor: float) -> Redundancy:
        """The same runs, read against the target ``target_factor · E*`` (best rates chosen
        anew)."""
        f = check_positive(target_factor, "target_factor")
        sweeps = {k: s.with_target(f * self.e_star) for k, s in self.sweeps.items()}
        return replace(self, target_factor=f, sweeps=sweeps)

    @property
    def held_by_all(self) -> bool:
        """Whether every method, on both sets, has a rate at which every seed reaches the
        target."""
        return all(s.eligible.any() for s in self.sweeps.values())

    def reached(self, data_set: str, method: str) -> np.ndarray:
        """Presentations to target at the method's best rate, one per seed."""
        return self.sweeps[(data_set, method)].best_reached

    def ratio(self, data_set: str = "redundant") -> float:
        """Mean presentations of batch / mean presentations of online, each at its best rate."""
        return float(
            self.reached(data_set, "batch").mean() / self.reached(data_set, "online").mean()
        )

    def seed_ratios(self, data_set: str = "redundant") -> np.ndarray:
        """The same ratio seed by seed (same initial weights for both methods)."""
        return self.reached(data_set, "batch") / self.reached(data_set, "online")

    @property
    def redundancy_gain(self) -> float:
        """How much the copies multiply the ratio, ``ratio(redundant) / ratio(original)``.

        Batch learning pays ``copies`` times more per epoch on the copies; if online learning
        pays nothing extra, this is ``copies``, the paper's argument.
        """
        return self.ratio("redundant") / self.ratio("original")

    @property
    def online_cost_ratio(self) -> float:
        """Mean presentations of online learning on the copies / on the originals."""
        return float(
            self.reached("redundant", "online").mean() / self.reached("original", "online").mean()
        )

    @property
    def batch_epoch_difference(self) -> float:
        """Largest difference, over every rate, seed and target of the ladder, between the
        epochs batch learning needs on the copies and on the originals (0: the same
        trajectories; ``inf`` if one reaches a target the other does not)."""
        worst = 0.0
        for f in self.target_factors:
            at = self.with_target_factor(f)
            a, b = at.sweeps[("original", "batch")], at.sweeps[("redundant", "batch")]
            ea, eb = a.reached / a.n_patterns, b.reached / b.n_patterns
            if np.any(np.isfinite(ea) != np.isfinite(eb)):
                return math.inf
            both = np.isfinite(ea)
            worst = max(worst, float(np.max(np.abs(ea[both] - eb[both]), initial=0.0)))
        return worst

    def ladder(self) -> Ladder:
        """The ratios at every target of the ladder, read with the current rule."""
        rows = []
        for f in self.target_factors:
            at = self.with_target_factor(f)
            if at.held_by_all:
                rows.append((at.ratio("original"), at.ratio("redundant")))
            else:
                rows.append((math.nan, math.nan))
        orig, red = (np.array(c) for c in zip(*rows, strict=True))
        return Ladder(
            target_factors=np.asarray(self.target_factors, dtype=float),
            ratio_original=orig,
            ratio_redundant=red,
            gain=red / orig,
        )


def redundancy(
    *,
    n: int = 100,
    copies: int = 10,
    data_seed: int = 0,
    seeds: Sequence[int] = range(5),
    etas: Sequence[float] = ETAS,
    target_factors: Sequence[float] = TARGET_FACTORS,
    rule: str = "held",
) -> Redundancy:
    """Target R5: presentations to reach a target loss, batch versus online (eq 11).

    The data are :func:`ebp.data.two_gaussians` ``(n)`` and ``copies`` copies of them
    (:func:`ebp.data.redundant_two_gaussians`).  For each set and each method (full batch,
    online) the linear unit is trained for every η of ``etas`` and every seed (initial weights,
    eq 16, and order of presentation), once; the runs are then read at every target
    ``f · E*`` of ``target_factors``, each method at its own best rate for that target
    (:attr:`Sweep.best`).

    The result is read at the *headline* target: the tightest of ``target_factors`` that every
    method holds on both sets (for some rate, with every seed, within the budget).

    Parameters
    ----------
    n
        Number of original patterns (even).
    copies
        Number of copies in the redundant set (≥ 2).
    data_seed
        Seed of the two-Gaussian draw.
    seeds
        Seeds of the runs (≥ 5 recommended).
    etas
        Learning-rate grid shared by both methods.
    target_factors
        Targets as multiples of ``E*``, each > 1.
    rule
        When a run counts as having reached the target (:data:`RULES`).
    """
    copies = check_int(copies, "copies", min_value=2)
    factors = tuple(sorted(check_positive(f, "target_factors") for f in target_factors))
    if not factors or factors[0] <= 1:
        raise ValueError(
            f"target_factors must be values > 1 (E* itself is never reached); got {factors}"
        )
    check_choice(rule, "rule", RULES)
    original = data.two_gaussians(n, seed=data_seed)
    copied = data.redundant_two_gaussians(n, copies, seed=data_seed)
    e_star = best_loss(original.X, original.y)
    sweeps = {}
    with single_threaded():
        for name, ds in (("original", original), ("redundant", copied)):
            for method, B in (("batch", None), ("online", 1)):
                sweeps[(name, method)] = sweep(
                    ds.X,
                    ds.y,
                    batch_size=B,
                    target=factors[0] * e_star,
                    etas=etas,
                    seeds=seeds,
                    rule=rule,
                )
    result = Redundancy(
        n=original.n_patterns,
        copies=copies,
        e_star=e_star,
        target_factor=factors[0],
        target_factors=factors,
        sweeps=sweeps,
    )
    for f in factors:
        at = result.with_target_factor(f)
        if at.held_by_all:
            return at
    raise ValueError(
        f"no target of {factors} (× E*) was held by every method within the budget; add "
        "looser targets or widen the learning-rate grid"
    )


# ---------------------------------------------------------------------------------------------
# Batch, mini-batch, online: gradient noise and the table
# ---------------------------------------------------------------------------------------------


def _per_pattern_gradients(model: torch.nn.Module, X: Tensor, y: Tensor) -> Tensor:
    """``∂E^p/∂θ`` for every pattern ``p``, flattened, shape ``(P, n_params)``."""
    params = {n: p.detach() for n, p in model.named_parameters()}

    def loss_p(p: dict[str, Tensor], x: Tensor, t: Tensor) -> Tensor:
        out = functional_call(model, p, (x.unsqueeze(0),))
        return 0.5 * (out - t.unsqueeze(0)).pow(2).sum()

    grads = vmap(grad(loss_p), in_dims=(None, 0, 0))(params, X, y)
    return torch.cat([g.reshape(X.shape[0], -1) for g in grads.values()], dim=1)


def gradient_noise(
    model: torch.nn.Module, X: np.ndarray, y: np.ndarray, batch_sizes: Sequence[int]
) -> np.ndarray:
    """``E‖g_B − ∇E‖²``: the variance of a mini-batch gradient around the full gradient.

    For a mini-batch of ``B`` of the ``P`` patterns drawn without replacement (as a shuffled
    epoch draws them), the mean gradient ``g_B`` is unbiased and

    ``E‖g_B − ∇E‖² = (P − B) / (B (P − 1)) · (1/P) Σ_p ‖∇E^p − ∇E‖²``,

    which this function evaluates exactly from the per-pattern gradients at ``model``'s
    weights: ``1/B`` for small batches, exactly 0 for the full batch.

    Parameters
    ----------
    model
        Where to measure (any module whose loss is the squared error with the ½).
    X, y
        The training set.
    batch_sizes
        The ``B`` to evaluate, each in ``1 … P``.

    Returns
    -------
    numpy.ndarray
        One variance per batch size.
    """
    check_instance(model, torch.nn.Module, "model")
    X = as_float_array(X, "X", ndim=2)
    P = X.shape[0]
    y = as_float_array(y, "y").reshape(P, -1)
    sizes = [check_int(b, "batch_sizes", min_value=1) for b in batch_sizes]
    if any(b > P for b in sizes):
        raise ValueError(f"batch_sizes must be at most the number of patterns ({P}); got {sizes}")
    dtype = next(model.parameters()).dtype
    g = _per_pattern_gradients(
        model, torch.as_tensor(X, dtype=dtype), torch.as_tensor(y, dtype=dtype)
    )
    spread = float((g - g.mean(0)).pow(2).sum(1).mean())
    return np.array([(P - b) / (b * (P - 1)) * spread if P > 1 else 0.0 for b in sizes])


def minimizer(X: np.ndarray, y: np.ndarray) -> torch.nn.Module:
    """The linear unit at its least-squares weights (where ``E = E*`` and ``∇E = 0``)."""
    X = as_float_array(X, "X", ndim=2)
    y = as_float_array(y, "y").reshape(X.shape[0], -1)
    A = np.column_stack([X, np.ones(X.shape[0])])
    w, *_ = np.linalg.lstsq(A, y, rcond=None)
    model = linear_unit(0, X.shape[1])
    with torch.no_grad():
        model[0].weight.copy_(torch.as_tensor(w[:-1].T))
        model[0].bias.copy_(torch.as_tensor(w[-1]))
    return model


@dataclass(frozen=True)
class BatchSizes:
    """Batch, mini-batch and online learning on the redundant set, each at its best rate.

    Attributes
    ----------
    e_star
        The best loss.
    sweeps
        One :class:`Sweep` per batch size, largest first.
    noise_at_minimum
        ``E‖g_B − ∇E‖²`` at the minimum (where ``∇E = 0``), one per batch size.
    noise_at_start
        The same at the initial weights (mean over the seeds).
    """

    e_star: float
    sweeps: list[Sweep]
    noise_at_minimum: np.ndarray
    noise_at_start: np.ndarray

    @property
    def batch_sizes(self) -> np.ndarray:
        """The batch sizes, largest first."""
        return np.array([s.batch_size for s in self.sweeps])

    def rows(self) -> list[dict[str, float]]:
        """One dict per batch size: ``B``, updates per epoch, best η, presentations and updates
        to target (mean, min, max over the seeds), the noise, and the excess loss at the end."""
        out = []
        for s, n_min, n_start in zip(
            self.sweeps, self.noise_at_minimum, self.noise_at_start, strict=True
        ):
            r = s.best_reached
            out.append(
                {
                    "batch_size": s.batch_size,
                    "updates_per_epoch": s.updates_per_epoch,
                    "eta": s.best_eta,
                    "presentations_mean": float(r.mean()),
                    "presentations_min": float(r.min()),
                    "presentations_max": float(r.max()),
                    "updates_mean": float(np.mean(np.ceil(r / s.batch_size))),
                    "noise_at_minimum": float(n_min),
                    "noise_at_start": float(n_start),
                    "final_excess": float(s.final_excess(self.e_star).mean()),
                }
            )
        return out


def batch_sizes(
    result: Redundancy,
    *,
    sizes: Sequence[int] = (100, 10),
    etas: Sequence[float] = ETAS,
    data_seed: int = 0,
) -> BatchSizes:
    """Add mini-batch sizes between batch and online to R5's runs on the redundant set.

    The full-batch and online sweeps of ``result`` are reused; every other size in ``sizes`` is
    swept over the same ``etas`` and seeds, towards the same target.

    Parameters
    ----------
    result
        From :func:`redundancy` (its redundant set, seeds and target are used).
    sizes
        Mini-batch sizes strictly between 1 and the number of patterns.
    etas
        Learning-rate grid.
    data_seed
        Seed of the data, as given to :func:`redundancy`.
    """
    check_instance(result, Redundancy, "result")
    ds = data.redundant_two_gaussians(result.n, result.copies, seed=data_seed)
    P = ds.n_patterns
    sizes = [check_int(b, "sizes", min_value=2) for b in sizes]
    if any(b >= P for b in sizes):
        raise ValueError(f"sizes must lie strictly between 1 and {P}; got {sizes}")
    batch = result.sweeps[("redundant", "batch")]
    online = result.sweeps[("redundant", "online")]
    with single_threaded():
        middle = [
            sweep(
                ds.X,
                ds.y,
                batch_size=b,
                target=result.target,
                etas=etas,
                seeds=online.seeds,
                rule=result.rule,
            )
            for b in sorted(sizes, reverse=True)
        ]
        all_sweeps = [batch, *middle, online]
        B = [s.batch_size for s in all_sweeps]
        at_min = gradient_noise(minimizer(ds.X, ds.y), ds.X, ds.y, B)
        at_start = np.mean(
            [gradient_noise(linear_unit(int(s)), ds.X, ds.y, B) for s in online.seeds], axis=0
        )
    return BatchSizes(
        e_star=result.e_star, sweeps=all_sweeps, noise_at_minimum=at_min, noise_at_start=at_start
    )


@dataclass(frozen=True)
class UpdateRate:
    """Wall-clock speed of SGD updates per batch size (non-deterministic: ``timing_``).

    Attributes
    ----------
    batch_sizes
        The batch sizes timed.
    timing_updates_per_s
        Updates per second (best of the repeats).
    timing_presentations_per_s
        Patterns processed per second, ``B ×`` the updates per second.
    """

    batch_sizes: np.ndarray
    timing_updates_per_s: np.ndarray
    timing_presentations_per_s: np.ndarray


def update_rate(
    X: np.ndarray,
    y: np.ndarray,
    batch_sizes: Sequence[int],
    *,
    n_updates: int = 150,
    repeats: int = 2,
) -> UpdateRate:
    """Time ``n_updates`` plain SGD updates of the linear unit for each batch size.

    Each update is what :func:`ebp.train.fit` does per mini-batch (forward pass, loss,
    backward pass, ``torch.optim.SGD`` step) on pre-drawn batches, without the recording, on
    one thread.  Wall-clock times depend on the machine and its load.

    Parameters
    ----------
    X, y
        The training set.
    batch_sizes
        Patterns per update.
    n_updates
        Updates per timing.
    repeats
        Timings per batch size; the fastest is kept.
    """
    X = as_float_array(X, "X", ndim=2)
    P = X.shape[0]
    sizes = [check_int(b, "batch_sizes", min_value=1) for b in batch_sizes]
    n_updates = check_int(n_updates, "n_updates", min_value=1)
    repeats = check_int(repeats, "repeats", min_value=1)
    Xt = torch.as_tensor(X)
    yt = torch.as_tensor(as_float_array(y, "y").reshape(P, -1))
    generator = torch.Generator().manual_seed(0)
    rates = []
    with single_threaded():
        for b in sizes:
            model = linear_unit(0, X.shape[1])
            opt = torch.optim.SGD(model.parameters(), lr=1e-3)
            starts = torch.randint(0, P - min(b, P) + 1, (n_updates,), generator=generator)
            best = math.inf
            for _ in range(repeats):
                t0 = time.perf_counter()
                for s in starts.tolist():
                    loss = train.mse_loss(model(Xt[s : s + b]), yt[s : s + b])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                best = min(best, time.perf_counter() - t0)
            rates.append(n_updates / best)
    r = np.asarray(rates)
    return UpdateRate(
        batch_sizes=np.asarray(sizes),
        timing_updates_per_s=r,
        timing_presentations_per_s=r * np.asarray(sizes),
    )


# ---------------------------------------------------------------------------------------------
# Annealing: removing the noise floor
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Annealing:
    """Online learning with a constant rate, with ``η(t) ≈ c/t`` (eq 12), and with a growing
    mini-batch.

    Attributes
    ----------
    e_star
        The best loss.
    eta0
        The constant rate, also the first rate of the schedule and the rate of the growing
        mini-batch.
    t0
        The schedule is :class:`~ebp.schedules.InverseTime` ``(eta0, t0)``, ``c = eta0 · t0``.
    lambda_min
        Smallest eigenvalue of the Hessian (inputs with the bias), which sets ``c = 1/λ_min``.
    presentations
        Record positions per method, shape ``(T_m,)`` each.
    excess
        ``E/E* − 1`` per method, shape ``(n_seed, T_m)`` each.  Methods: ``"constant"``,
        ``"inverse_time"``, ``"growing_batch"``.
    growing_sizes
        The mini-batch sizes of the growing mini-batch, one per block of ``block`` epochs.
    block
        Epochs per mini-batch size.
    n_patterns
        Size of the training set.
    seeds
        The seeds.
    """

    e_star: float
    eta0: float
    t0: float
    lambda_min: float
    presentations: dict[str, np.ndarray]
    excess: dict[str, np.ndarray]
    growing_sizes: tuple[int, ...]
    block: int
    n_patterns: int
    seeds: np.ndarray

    @property
    def c(self) -> float:
        """The constant of ``η(t) ≈ c/t``."""
        return self.eta0 * self.t0

    @property
    def methods(self) -> tuple[str, ...]:
        """The methods, in drawing order."""
        return tuple(self.excess)

    def final(self, method: str, last: int | None = None) -> np.ndarray:
        """Mean excess ``E/E* − 1`` over the records of the last ``last`` presentations
        (default: the last block), one per seed."""
        last = self.block * self.n_patterns if last is None else last
        x = self.presentations[method]
        return self.excess[method][:, x >= x[-1] - last].mean(axis=1)


GROWING_SIZES: tuple[int, ...] = (1, 2, 5, 10, 20, 50, 100)
"""Mini-batch sizes of the growing mini-batch, one per block of epochs (the 1-2-5 series, so
that every size divides the 100 patterns and the record interval)."""


def _check_annealing(
    blocks: int, block: int, record_every: int, n: int
) -> tuple[int, int, int, int]:
    blocks = check_int(blocks, "blocks", min_value=1)
    if blocks > len(GROWING_SIZES):
        raise ValueError(f"blocks must be at most {len(GROWING_SIZES)}; got {blocks}")
    block = check_int(block, "block", min_value=1)
    record_every = check_int(record_every, "record_every", min_value=1)
    if 100 % record_every:
        raise ValueError(f"record_every must divide 100; got {record_every}")
    n = check_int(n, "n", min_value=100)
    if n % 100:
        raise ValueError(f"n must be a multiple of 100; got {n}")
    return blocks, block, record_every, n


def _growing_batch(
    models: list[torch.nn.Module],
    X: np.ndarray,
    y: np.ndarray,
    *,
    eta0: float,
    sizes: Sequence[int],
    block: int,
    seeds: list[int],
    record_every: int,
) -> list[History]:
    """Train ``models`` at ``eta0`` for ``block`` epochs per mini-batch size of ``sizes``;
    returns each model's records stitched into one history over all the blocks."""
    P = X.shape[0]
    stitched = [History() for _ in seeds]
    current = models
    for e, b in enumerate(sizes):
        part, current = _train(
            current,
            X,
            y,
            eta=[eta0] * len(seeds),
            epochs=block,
            batch_size=b,
            seeds=[1000 * e + s for s in seeds],
            record_every=record_every,
        )
        for h, p in zip(stitched, part, strict=True):
            for i in range(0 if e == 0 else 1, len(p.presentations)):
                h.record(
                    presentations=e * block * P + p.presentations[i],
                    n_train=P,
                    train_loss=p.train_loss[i],
                )
    return stitched


def annealing(
    *,
    eta0: float | None = None,
    n: int = 100,
    data_seed: int = 0,
    seeds: Sequence[int] = range(5),
    blocks: int = 5,
    block: int = 3,
    record_every: int = 20,
) -> Annealing:
    """The noise floor of constant-rate online learning, and two ways to remove it.

    Three runs per seed on the ``n`` two-Gaussian patterns, all from the same initial weights,
    for ``blocks × block`` epochs:

    - ``"constant"``: online learning (eq 11) with ``η = eta0``;
    - ``"inverse_time"``: online learning with :class:`~ebp.schedules.InverseTime`
      ``(eta0, t0)``, i.e. ``η(t) ≈ c/t`` (eq 12), with ``c = 1/λ_min``: late in training each
      update then moves the slowest direction by ``1/t`` of its Newton step, which averages the
      noise out like a running mean;
    - ``"growing_batch"``: the constant ``η = eta0`` with a mini-batch that grows through
      :data:`GROWING_SIZES` (1, 2, 5, …), one size per block of ``block`` epochs, so that the
      gradient noise shrinks instead of the rate.

    Parameters
    ----------
    eta0
        The constant rate; default: half of :func:`online_limit`, a large rate that makes
        fast progress at first and leaves a clear noise floor.
    n, data_seed
        The data, :func:`ebp.data.two_gaussians` ``(n, seed=data_seed)``, ``n`` a multiple of
        100.
    seeds
        Seeds of the initial weights and of the orders of presentation.
    blocks
        Number of mini-batch sizes of the growing mini-batch (at most 7).
    block
        Epochs per mini-batch size.
    record_every
        Presentations between records (a divisor of 100).
    """
    blocks, block, record_every, n = _check_annealing(blocks, block, record_every, n)
    seeds = _check_seeds(seeds)
    ds = data.two_gaussians(n, seed=data_seed)
    P = ds.n_patterns
    eta0 = online_limit(ds.X) / 2 if eta0 is None else check_positive(eta0, "eta0")
    e_star = best_loss(ds.X, ds.y)
    A = np.column_stack([ds.X, np.ones(P)])
    lambda_min = float(np.linalg.eigvalsh(A.T @ A / P)[0])
    t0 = 1.0 / (lambda_min * eta0)
    K = len(seeds)
    models = [linear_unit(s) for s in seeds]
    with single_threaded():
        # the constant rate and c/t side by side: one run of 2K models
        both, _ = _train(
            models + models,
            ds.X,
            ds.y,
            eta=[eta0] * K + [InverseTime(eta0, t0)] * K,
            epochs=blocks * block,
            batch_size=1,
            seeds=seeds + seeds,
            record_every=record_every,
        )
        curves = {"constant": both[:K], "inverse_time": both[K:]}
        sizes = GROWING_SIZES[:blocks]
        curves["growing_batch"] = _growing_batch(
            models, ds.X, ds.y, eta0=eta0, sizes=sizes, block=block,
            seeds=seeds, record_every=record_every,
        )  # fmt: skip
    presentations, excess = {}, {}
    for method, hs in curves.items():
        grid = np.unique(np.concatenate([h.presentations for h in hs])).astype(float)
        presentations[method] = grid
        excess[method] = _aligned(hs, grid) / e_star - 1.0
    return Annealing(
        e_star=e_star,
        eta0=eta0,
        t0=t0,
        lambda_min=lambda_min,
        presentations=presentations,
        excess=excess,
        growing_sizes=sizes,
        block=block,
        n_patterns=P,
        seeds=np.asarray(seeds),
    )
