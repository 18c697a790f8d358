"""Experiments of the chapter "All the tricks together" (paper §10, Part V).

The paper's §10 closes with a checklist.  This module measures its items together, on two
problems: the two Gaussian classes of Figs 9/10 with a 2-8-1 network, and 300 of
scikit-learn's 8×8 digits with a 64-30-10 network, both trained with the squared error (eq 28).
Nothing here draws (see :mod:`ebp.plots.all_the_tricks`).

- :class:`Recipe`: which of the five tricks a configuration uses (normalized inputs, the
  recommended sigmoid with ±1 targets, fan-in initialization, mini-batch SGD instead of batch
  descent, momentum); :func:`ladder` adds them one by one, :func:`leave_one_out` removes each
  from the full recipe.
- :func:`run`: every configuration of both problems, each over seeds and a fixed grid of
  learning rates (:func:`ebp.many.fit_many`), its rate chosen by one rule
  (:func:`choose_eta`), with loss curves, test errors, a PCA trajectory and a Hessian summary
  (``λ_max`` over training and ``κ̂ = λ_1/λ_11`` at the end, one seed).
- :func:`trick_effects`, :func:`rank_tricks`, :func:`judge`, :func:`checklist`: the effect of
  each trick, the ranking, and a verdict per checklist item by a stated rule.
- :func:`summary`: the numbers as plain JSON-able values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from ebp import data, hessian, landscape, preprocess
from ebp import nn as ebp_nn
from ebp._validate import check_choice, check_instance, check_int, check_positive
from ebp.many import fit_many
from ebp.repro import single_threaded

__all__ = [
    "CHECKLIST",
    "ETAS",
    "FULL",
    "MOMENTUM",
    "PROBLEMS",
    "TARGETS",
    "TRICKS",
    "AllTheTricks",
    "ChecklistItem",
    "ConfigResult",
    "Problem",
    "Recipe",
    "TrickEffect",
    "checklist",
    "choose_eta",
    "epochs_to_target",
    "judge",
    "ladder",
    "leave_one_out",
    "make_problem",
    "median_epochs_to",
    "rank_tricks",
    "run",
    "summary",
    "trick_effects",
    "verdict",
    "verdict_changes",
]

TRICKS: tuple[str, ...] = ("normalize", "sigmoid", "init", "sgd", "momentum")
"""The five tricks, in the order the ladder adds them."""

TRICK_LABELS: dict[str, str] = {
    "normalize": "normalized inputs",
    "sigmoid": "1.7159 tanh(2x/3), ±1 targets",
    "init": "fan-in initialization",
    "sgd": "mini-batch SGD",
    "momentum": "momentum",
}
"""How the tables name each trick."""

ETAS: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
"""The learning-rate grid every configuration is trained on (steps of √10)."""

MOMENTUM: float = 0.9
"""μ of the momentum trick (PyTorch's form, as :func:`ebp.train.fit`)."""

TARGETS: dict[str, float] = {"toy": 0.1, "digits": 0.25}
"""Per problem, the target of "epochs to target" (training loss over the best constant's)."""

PROBLEMS: tuple[str, ...] = ("toy", "digits")
"""The two problems, the Fig 9/10 Gaussians (2-8-1) and the digits (64-30-10)."""

ERROR_MARGIN: float = 0.01
"""A test-error difference that counts (1 percentage point)."""

SPEED_RATIO: float = 1.25
"""A ratio of epochs to target that counts."""

MIN_GAP: float = 2.0
"""A difference of epochs to target that counts (records are one epoch apart)."""


# ---------------------------------------------------------------------------------------------
# Configurations
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """Which tricks a configuration uses (all ``False``: the baseline)."""

    normalize: bool = False
    """Inputs centred and scaled to unit variance (§4.3, eq 13) instead of raw."""
    sigmoid: bool = False
    """``1.7159 tanh(2x/3)`` units with ±1 targets (§4.4–4.5) instead of the logistic and 0/1."""
    init: bool = False
    """``σ_w = m^{-1/2}`` (eq 16) instead of ``N(0, 1)`` weights."""
    sgd: bool = False
    """Mini-batches of a tenth of the training set instead of full-batch descent (§4.1)."""
    momentum: bool = False
    """Momentum ``μ =`` :data:`MOMENTUM` (§4.7)."""

    def __post_init__(self) -> None:
        for trick in TRICKS:
            if not isinstance(getattr(self, trick), bool):
                raise TypeError(f"{trick} must be a bool; got {getattr(self, trick)!r}")

    @property
    def tricks(self) -> tuple[str, ...]:
        """The tricks used, in :data:`TRICKS` order."""
        return tuple(t for t in TRICKS if getattr(self, t))

    def with_trick(self, trick: str, used: bool = True) -> Recipe:
        """This recipe with ``trick`` switched on (or off with ``used=False``)."""
        check_choice(trick, "trick", TRICKS)
        return replace(self, **{trick: bool(used)})

    def differs_from(self, other: Recipe) -> tuple[str, ...]:
        """The tricks in which ``other`` differs from this recipe."""
        check_instance(other, Recipe, "other")
        return tuple(t for t in TRICKS if getattr(self, t) != getattr(other, t))

    @property
    def key(self) -> str:
        """An identifier such as ``"baseline"``, ``"full"``, ``"minus_init"`` or ``"plus_sgd"``."""
        return (
            self.label.replace("all tricks", "full")
            .replace("all − ", "minus_")
            .replace("+ ", "plus_")
        )

    @property
    def label(self) -> str:
        """A short name, such as ``"baseline"``, ``"all tricks"``, ``"all − init"``, ``"+ sgd"``."""
        used = self.tricks
        if not used:
            return "baseline"
        if len(used) == len(TRICKS):
            return "all tricks"
        missing = [t for t in TRICKS if t not in used]
        if used == TRICKS[: len(used)]:
            return f"+ {used[-1]}"
        return "all − " + ", ".join(missing)


FULL = Recipe(True, True, True, True, True)
"""The recipe with every trick."""


def ladder() -> tuple[Recipe, ...]:
    """The cumulative ladder: the baseline, then each trick of :data:`TRICKS` added in turn."""
    rungs = [Recipe()]
    for trick in TRICKS:
        rungs.append(rungs[-1].with_trick(trick))
    return tuple(rungs)


def leave_one_out() -> tuple[Recipe, ...]:
    """The full recipe without each trick in turn (the last one equals the ladder's "+ sgd")."""
    return tuple(FULL.with_trick(t, False) for t in TRICKS)


def _recipes() -> tuple[Recipe, ...]:
    out: list[Recipe] = []
    for r in ladder() + leave_one_out():
        if r not in out:
            out.append(r)
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# The two problems
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Problem:
    """A data set in its raw and normalized forms, its network and its training budget."""

    name: str
    sizes: tuple[int, ...]
    X_raw: np.ndarray
    X_raw_test: np.ndarray
    X_norm: np.ndarray
    X_norm_test: np.ndarray
    labels: np.ndarray
    labels_test: np.ndarray
    n_classes: int
    epochs: int
    batch_size: int

    def inputs(self, recipe: Recipe) -> tuple[np.ndarray, np.ndarray]:
        """Training and test inputs as ``recipe`` prepares them."""
        if recipe.normalize:
            return self.X_norm, self.X_norm_test
        return self.X_raw, self.X_raw_test

    def targets(self, recipe: Recipe) -> np.ndarray:
        """Training targets: ±1 with the recommended sigmoid, 0/1 with the logistic."""
        if self.n_classes == 2:  # one output unit
            t = self.labels.astype(np.float64)[:, None]
            return 2.0 * t - 1.0 if recipe.sigmoid else t
        return data.encode_targets(
            self.labels, self.n_classes, "pm1" if recipe.sigmoid else "one_hot"
        )

    def constant_loss(self, recipe: Recipe) -> float:
        """The loss ``½ Σ_k Var(d_k)`` of the best constant output (the unit of the curves)."""
        return float(0.5 * self.targets(recipe).var(axis=0).sum())


def make_problem(name: str, *, quick: bool = False) -> Problem:
    """One of :data:`PROBLEMS`, with its raw ("bad preprocessing") and normalized inputs.

    ``"toy"``: 100 training and 1000 test points of :func:`ebp.data.two_gaussians` (labels from
    the sign of the target); raw inputs spoiled as in the chapter on normalizing the inputs,
    ``x → (x_1, 0.3 x_2) + 1`` (an offset and unequal scales); a 2-8-1 network, 30 epochs.
    ``"digits"``: 300 training patterns of :func:`ebp.data.digits` and its test part (449),
    raw pixels in ``[0, 1]`` against standardized ones; a 64-30-10 network, 30 epochs.  The
    normalization (:class:`ebp.preprocess.Standardize`) is fitted on the training part.
    Mini-batches hold a tenth of the training set.  ``quick`` shrinks everything for a smoke
    test.
    """
    name = check_choice(name, "name", PROBLEMS)
    if name == "toy":
        n = 40 if quick else 100
        tr, te = data.two_gaussians(n, seed=0), data.two_gaussians(1000, seed=1)

        def spoil(X: np.ndarray) -> np.ndarray:
            return data.add_offset(data.scale_columns(X, (1.0, 0.3)), 1.0)

        X_raw, X_raw_test = spoil(tr.X), spoil(te.X)
        std = preprocess.Standardize().fit(X_raw)
        return Problem(
            name=name, sizes=(2, 8, 1), X_raw=X_raw, X_raw_test=X_raw_test,
            X_norm=std.transform(X_raw), X_norm_test=std.transform(X_raw_test),
            labels=(tr.y[:, 0] > 0).astype(np.int64), labels_test=(te.y[:, 0] > 0).astype(np.int64),
            n_classes=2, epochs=4 if quick else 30, batch_size=n // 10,
        )  # fmt: skip
    n = 100 if quick else 300
    raw = data.digits(n_train=n, seed=0)
    norm = data.digits(n_train=n, seed=0, standardize=True)
    return Problem(
        name=name, sizes=(64, 30, 10), X_raw=raw.X_train, X_raw_test=raw.X_test,
        X_norm=norm.X_train, X_norm_test=norm.X_test, labels=raw.y_train, labels_test=raw.y_test,
        n_classes=10, epochs=3 if quick else 30, batch_size=n // 10,
    )  # fmt: skip


def _model(
    problem: Problem, recipe: Recipe, seed: int, dtype: torch.dtype = torch.float32
) -> torch.nn.Module:
    act = "lecun_tanh" if recipe.sigmoid else "logistic"
    init = "lecun_normal" if recipe.init else "normal"
    return ebp_nn.mlp(problem.sizes, act, output_activation=act, init=init, seed=seed, dtype=dtype)


def _test_error(problem: Problem, recipe: Recipe, model: torch.nn.Module) -> float:
    _, X_test = problem.inputs(recipe)
    with torch.no_grad():
        out = model(torch.as_tensor(X_test, dtype=torch.float32)).numpy()
    if problem.n_classes == 2:
        pred = (out[:, 0] > (0.0 if recipe.sigmoid else 0.5)).astype(np.int64)
    else:
        pred = out.argmax(axis=1)
    return float(np.mean(pred != problem.labels_test))


# ---------------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------------


def epochs_to_target(epochs: Any, losses: Any, target: float) -> np.ndarray:
    """The first recorded epoch at which each row of ``losses`` is ≤ ``target`` (``inf``: never).

    Parameters
    ----------
    epochs
        ``(T,)`` the epochs of the records.
    losses
        ``(S, T)`` or ``(T,)`` relative losses (NaN after a divergence: never reached there).
    target
        The target, > 0.
    """
    e = np.asarray(epochs, dtype=np.float64)
    L = np.atleast_2d(np.asarray(losses, dtype=np.float64))
    if e.ndim != 1 or L.shape[1] != e.size:
        raise ValueError(f"losses must have one column per epoch ({e.size}); got {L.shape}")
    target = check_positive(target, "target")
    with np.errstate(invalid="ignore"):
        hit = L <= target
    return np.array([e[np.argmax(h)] if h.any() else np.inf for h in hit])


def choose_eta(final_losses: Any, diverged: Any) -> int:
    """The rule for a configuration's rate: the grid index with the lowest median final loss.

    A diverged run counts as an infinite loss; ties go to the smaller rate (the lower index).

    Parameters
    ----------
    final_losses
        ``(E, S)``: the final (relative) training loss of every rate and seed.
    diverged
        ``(E, S)`` bool.
    """
    L = np.asarray(final_losses, dtype=np.float64)
    D = np.asarray(diverged, dtype=bool)
    if L.ndim != 2 or D.shape != L.shape:
        raise ValueError(
            "final_losses and diverged must be (E, S) arrays of one shape; got "
            f"{L.shape} and {D.shape}"
        )
    L = np.where(D | ~np.isfinite(L), np.inf, L)
    return int(np.argmin(np.median(L, axis=1)))


@dataclass(frozen=True, eq=False)
class ConfigResult:
    """One configuration on one problem, at its chosen learning rate."""

    problem: str
    recipe: Recipe
    eta: float
    grid_median_loss: np.ndarray
    """``(E,)`` median final relative loss of every rate of :data:`ETAS` (inf: mostly diverged)."""
    grid_diverged: int
    """Runs of the whole grid that diverged (stopped cleanly)."""
    epoch: np.ndarray
    """``(T,)`` epochs of the records."""
    relative_loss: np.ndarray
    """``(S, T)`` training loss over the best constant output's, NaN after a divergence."""
    diverged: np.ndarray
    """``(S,)`` at the chosen rate."""
    test_error: np.ndarray
    """``(S,)`` final test error (NaN for a diverged run)."""
    epochs_to_target: np.ndarray
    """``(S,)`` (inf: not reached)."""
    pca_coords: np.ndarray
    """``(T, 2)`` the trajectory of one seed in the plane of its first two principal components."""
    pca_variance: np.ndarray
    """``(2,)`` their shares of the trajectory's variance."""
    checkpoints: np.ndarray
    """``(C,)`` epochs where ``λ_max`` was measured."""
    lambda_max: np.ndarray
    """``(C,)`` ``λ_max`` of the Hessian there (Lanczos, one seed)."""
    kappa: float
    """``κ̂ = λ_1 / (tr G / n)`` of the Gauss–Newton matrix ``G`` at the end (one seed)."""
    hessian_seed: int

    @property
    def median_epochs(self) -> float:
        """Median epochs to the problem's target (:data:`TARGETS`) over the seeds (inf when
        most never reach it)."""
        return float(np.median(self.epochs_to_target))

    @property
    def median_error(self) -> float:
        """Median final test error over the seeds that did not diverge."""
        ok = self.test_error[np.isfinite(self.test_error)]
        return float(np.median(ok)) if ok.size else math.nan

    @property
    def median_loss(self) -> float:
        """Median final relative training loss over the seeds (inf for a diverged one)."""
        last = np.array([row[np.isfinite(row)][-1] for row in self.relative_loss])
        return float(np.median(np.where(self.diverged, np.inf, last)))


def _checkpoints(epochs: int, n: int) -> np.ndarray:
    """``0`` and ``n − 1`` epochs spaced geometrically up to ``epochs`` (the last one)."""
    if n <= 2:
        return np.array([0, epochs])
    cps = np.unique(np.round(np.geomspace(1, epochs, n - 1)).astype(int))
    return np.concatenate([[0], cps])


def _gauss_newton_trace(model: torch.nn.Module, X: np.ndarray) -> float:
    """``tr G = (1/P) Σ_p ‖∂o^p/∂θ‖²_F``, the exact trace of the Gauss–Newton matrix of eq 28."""
    params = {n: p.detach() for n, p in model.named_parameters()}

    def out(p: dict, x: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(model, p, (x[None],))[0]

    J = torch.func.vmap(torch.func.jacrev(out), in_dims=(None, 0))(params, torch.as_tensor(X))
    return float(sum((j**2).sum() for j in J.values()) / X.shape[0])


def _hessian_summary(
    problem: Problem, recipe: Recipe, weights: np.ndarray, n_check: int, kappa: bool = True
) -> tuple[np.ndarray, np.ndarray, float]:
    """``λ_max`` at checkpoints of one trajectory ``(T, n)`` and ``κ̂`` at its end (float64).

    ``λ_max`` is the Hessian's largest eigenvalue (Lanczos, relative tolerance 1e-3).  ``κ̂`` is
    the largest eigenvalue of the Gauss–Newton matrix ``G`` over its mean eigenvalue
    ``tr G / n``: ``G`` is positive semi-definite (the Hessian of a network away from a minimum
    has negative eigenvalues, and no condition number), and a ratio to the mean, a lower bound
    on ``λ_max/λ_min``, does not hang on the near-zero eigenvalues a small network has many of.
    ``kappa=False`` skips it (NaN).
    """
    X, _ = problem.inputs(recipe)
    T = problem.targets(recipe)
    model = _model(problem, recipe, 0, torch.float64)
    params = list(model.parameters())
    cps = _checkpoints(weights.shape[0] - 1, n_check)
    lam = np.empty(cps.size)
    for c, epoch in enumerate(cps):
        torch.nn.utils.vector_to_parameters(torch.as_tensor(weights[epoch]), params)
        op = hessian.HessianOperator(model, "mse", (X, T))
        lam[c] = hessian.top_eigenvalues(op, k=1, tol=1e-3, seed=0, residuals=False).values[0]
    if not kappa:
        return cps, lam, math.nan
    gn = hessian.GaussNewtonOperator(model, "mse", (X, T))
    top = hessian.top_eigenvalues(gn, k=1, tol=1e-3, seed=0, residuals=False).values[0]
    mean = _gauss_newton_trace(model, X) / weights.shape[1]
    return cps, lam, float(top / mean)


def _config_result(
    problem: Problem,
    recipe: Recipe,
    seeds: list[int],
    etas: tuple[float, ...],
    block: dict,
    n_check: int,
) -> ConfigResult:
    """Pick the rate of one configuration and summarize it (``block``: its rows of a run)."""
    E, S = len(etas), len(seeds)
    rel = block["loss"].reshape(E, S, -1) / problem.constant_loss(recipe)
    div = block["diverged"].reshape(E, S)
    last = np.array([[row[np.isfinite(row)][-1] for row in rows] for rows in rel])
    final = np.where(div, np.inf, last)
    i = choose_eta(final, div)
    errors = np.array(
        [
            math.nan if div[i, s] else _test_error(problem, recipe, block["models"][i * S + s])
            for s in range(S)
        ]
    )
    ok = np.flatnonzero(~div[i])
    j = int(ok[0]) if ok.size else 0
    W = block["weights"][i * S + j]
    W = W[np.all(np.isfinite(W), axis=1)]
    pca = landscape.pca_directions(W, n=2)
    if ok.size:
        cps, lam, kappa = _hessian_summary(problem, recipe, W, n_check, kappa=n_check > 2)
    else:
        cps, lam, kappa = np.zeros(1, dtype=int), np.full(1, math.nan), math.nan
    return ConfigResult(
        problem=problem.name, recipe=recipe, eta=float(etas[i]),
        grid_median_loss=np.median(final, axis=1), grid_diverged=int(div.sum()),
        epoch=block["epoch"], relative_loss=rel[i], diverged=div[i].copy(), test_error=errors,
        epochs_to_target=epochs_to_target(block["epoch"], rel[i], TARGETS[problem.name]),
        pca_coords=landscape.project(W, pca).coords, pca_variance=pca.explained_variance_ratio,
        checkpoints=cps.astype(np.float64), lambda_max=lam, kappa=kappa, hessian_seed=seeds[j],
    )  # fmt: skip


def _train_group(
    problem: Problem, recipes: list[Recipe], seeds: list[int], etas: tuple[float, ...]
) -> dict[Recipe, dict]:
    """Train every recipe × rate × seed of recipes that share inputs, units and batch size.

    They differ only in the initial weights and the momentum, which :func:`ebp.many.fit_many`
    takes per model, so one call trains them all.
    """
    first = recipes[0]
    X, _ = problem.inputs(first)
    models, eta, mu, shuffle_seed = [], [], [], []
    for r in recipes:
        for e in etas:
            for s in seeds:
                models.append(_model(problem, r, s))
                eta.append(e)
                mu.append(MOMENTUM if r.momentum else 0.0)
                shuffle_seed.append(s)
    hist = fit_many(
        models, X, problem.targets(first), loss="mse", eta=eta, epochs=problem.epochs,
        batch_size=problem.batch_size if first.sgd else None, momentum=mu, seed=shuffle_seed,
        snapshots=True, on_divergence="stop",
    )  # fmt: skip
    n = len(etas) * len(seeds)
    loss, weights = hist.train_loss, hist.weights
    return {
        r: {
            "loss": loss[b * n : (b + 1) * n],
            "weights": weights[b * n : (b + 1) * n],
            "diverged": hist.diverged[b * n : (b + 1) * n],
            "models": hist.models[b * n : (b + 1) * n],
            "epoch": hist.epoch,
        }
        for b, r in enumerate(recipes)
    }


@dataclass(frozen=True, eq=False)
class AllTheTricks:
    """Every configuration of :func:`ladder` and :func:`leave_one_out` on both problems."""

    configs: tuple[ConfigResult, ...]
    seeds: tuple[int, ...]
    etas: tuple[float, ...]
    targets: dict[str, float] = field(default_factory=dict)
    """The target of "epochs to target" of each problem (:data:`TARGETS`)."""
    epochs: dict[str, int] = field(default_factory=dict)
    """Training budget of each problem, in epochs."""
    n_train: dict[str, int] = field(default_factory=dict)
    n_test: dict[str, int] = field(default_factory=dict)
    batch_size: dict[str, int] = field(default_factory=dict)

    def get(self, problem: str, recipe: Recipe) -> ConfigResult:
        """The result of ``recipe`` on ``problem``."""
        for c in self.configs:
            if c.problem == problem and c.recipe == recipe:
                return c
        raise ValueError(f"no result for problem={problem!r} and recipe {recipe!r}")

    @property
    def problems(self) -> tuple[str, ...]:
        """The problems, in the order they were run."""
        return tuple(dict.fromkeys(c.problem for c in self.configs))


def _check_progress(progress: Any) -> Callable[[int, int], None] | None:
    if progress is not None and not callable(progress):
        raise TypeError(
            "progress must be a callable progress(done, total) or None; got "
            f"{type(progress).__name__}"
        )
    return progress


def run(
    *,
    n_seeds: int = 5,
    quick: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> AllTheTricks:
    """Train every configuration of the ladder and of the leave-one-out ablation on both problems.

    Each configuration is trained for seeds ``0 … n_seeds − 1`` (initial weights and
    mini-batch order) at every rate of :data:`ETAS`, by :func:`ebp.many.fit_many` (a diverged
    run stops cleanly and is counted), and its rate is chosen by :func:`choose_eta`.  At that
    rate: the relative loss curves, the test errors, epochs to :data:`TARGETS`, the PCA
    trajectory of one seed (:func:`ebp.landscape.pca_directions`), and for that seed ``λ_max``
    at checkpoints and ``λ_1/λ_11`` at the end (:func:`ebp.hessian.top_eigenvalues`).

    Parameters
    ----------
    n_seeds
        Seeds per configuration and rate, ≥ 1.
    quick
        A much smaller budget (smaller data, a few epochs, two rates): a smoke test.
    progress
        Called as ``progress(done, total)`` after each configuration.
    """
    n_seeds = check_int(n_seeds, "n_seeds", min_value=1)
    if not isinstance(quick, bool):
        raise TypeError(f"quick must be a bool; got {type(quick).__name__}")
    progress = _check_progress(progress)
    seeds = list(range(n_seeds))
    etas = (0.1, 1.0) if quick else ETAS
    n_check = 2 if quick else 4
    recipes = _recipes()
    total, done, configs = len(PROBLEMS) * len(recipes), 0, []
    meta: dict[str, dict[str, int]] = {"epochs": {}, "n_train": {}, "n_test": {}, "batch_size": {}}
    with single_threaded():
        for name in PROBLEMS:
            problem = make_problem(name, quick=quick)
            meta["epochs"][name], meta["batch_size"][name] = problem.epochs, problem.batch_size
            meta["n_train"][name], meta["n_test"][name] = (
                problem.labels.size,
                problem.labels_test.size,
            )
            groups: dict[tuple[bool, bool, bool], list[Recipe]] = {}
            for r in recipes:
                groups.setdefault((r.normalize, r.sigmoid, r.sgd), []).append(r)
            for members in groups.values():
                blocks = _train_group(problem, members, seeds, etas)
                for r in members:
                    configs.append(_config_result(problem, r, seeds, etas, blocks[r], n_check))
                    done += 1
                    if progress is not None:
                        progress(done, total)
    order = {r: i for i, r in enumerate(recipes)}
    configs.sort(key=lambda c: (PROBLEMS.index(c.problem), order[c.recipe]))
    return AllTheTricks(
        configs=tuple(configs), seeds=tuple(seeds), etas=etas, targets=dict(TARGETS), **meta
    )


# ---------------------------------------------------------------------------------------------
# Effects, ranking and verdicts
# ---------------------------------------------------------------------------------------------


def judge(
    epochs_with: float,
    epochs_without: float,
    error_with: float,
    error_without: float,
    *,
    error_margin: float = ERROR_MARGIN,
    speed_ratio: float = SPEED_RATIO,
    min_gap: float = MIN_GAP,
) -> str:
    """Whether a trick ``"helps"``, ``"hurts"`` or is ``"neutral"`` on one problem.

    The trick is better on a measure when, without it, the test error is higher by at least
    ``error_margin``, or the epochs to the target are at least ``speed_ratio`` times and
    ``min_gap`` more (a target never reached counts as infinitely many epochs; neither run
    reaching it, as a tie); worse when the reverse holds.  It helps when it is better on one
    measure and worse on none, hurts when it is worse on one and better on none, and is
    neutral otherwise.
    """
    error_margin = check_positive(error_margin, "error_margin")
    speed_ratio = check_positive(speed_ratio, "speed_ratio")
    min_gap = check_positive(min_gap, "min_gap", allow_zero=True)
    e_w, e_wo = float(epochs_with), float(epochs_without)

    def slower(a: float, b: float) -> bool:  # is a clearly more epochs than b?
        if math.isinf(a):
            return not math.isinf(b)
        return a >= speed_ratio * b and a - b >= max(min_gap, 1e-12)

    better = (error_without - error_with >= error_margin) + slower(e_wo, e_w)
    worse = (error_with - error_without >= error_margin) + slower(e_w, e_wo)
    if better and not worse:
        return "helps"
    if worse and not better:
        return "hurts"
    return "neutral"


def verdict(judgements: Sequence[str], *, bundled: bool = False) -> str:
    """The verdict on a checklist item from its per-problem judgements (:func:`judge`).

    ``"confirmed"``: it helps on every problem; ``"confirmed with a caveat"``: on some but not
    all, or on all but measured only bundled with another item; ``"not reproduced"``: on none.
    """
    if isinstance(judgements, str) or not judgements:
        raise ValueError("judgements must be a non-empty sequence of 'helps'/'hurts'/'neutral'")
    for k, j in enumerate(judgements):
        check_choice(j, f"judgements[{k}]", ("helps", "hurts", "neutral"))
    helps = sum(j == "helps" for j in judgements)
    if helps == 0:
        return "not reproduced"
    if helps == len(judgements) and not bundled:
        return "confirmed"
    return "confirmed with a caveat"


@dataclass(frozen=True)
class TrickEffect:
    """The measured effect of one trick on one problem."""

    trick: str
    problem: str
    ladder_before: tuple[float, float]
    """``(median epochs to target, median test error)`` on the rung before the trick."""
    ladder_after: tuple[float, float]
    """The same on the rung that adds it."""
    full: tuple[float, float]
    """The same with all tricks."""
    without: tuple[float, float]
    """The same with all tricks but this one."""
    judgement: str
    """:func:`judge` of the leave-one-out comparison."""

    @property
    def error_increase(self) -> float:
        """Test error without the trick minus with all tricks (leave-one-out)."""
        return self.without[1] - self.full[1]

    @property
    def epochs_ratio(self) -> float:
        """Epochs to target without the trick over with all tricks (1 when neither reaches)."""
        a, b = self.without[0], self.full[0]
        if a == b:  # both never, or the same epoch
            return 1.0
        return a / b if b > 0 else math.inf


def _point(c: ConfigResult) -> tuple[float, float]:
    return (c.median_epochs, c.median_error)


def trick_effects(
    result: AllTheTricks,
    *,
    error_margin: float = ERROR_MARGIN,
    speed_ratio: float = SPEED_RATIO,
) -> list[TrickEffect]:
    """One :class:`TrickEffect` per trick and problem (ladder step and leave-one-out).

    ``error_margin`` and ``speed_ratio`` are passed to :func:`judge`.
    """
    check_instance(result, AllTheTricks, "result")
    rungs, out = ladder(), []
    for problem in result.problems:
        full = _point(result.get(problem, FULL))
        for i, trick in enumerate(TRICKS):
            without = _point(result.get(problem, FULL.with_trick(trick, False)))
            out.append(
                TrickEffect(
                    trick=trick, problem=problem,
                    ladder_before=_point(result.get(problem, rungs[i])),
                    ladder_after=_point(result.get(problem, rungs[i + 1])),
                    full=full, without=without,
                    judgement=judge(full[0], without[0], full[1], without[1],
                                    error_margin=error_margin, speed_ratio=speed_ratio),
                )
            )  # fmt: skip
    return out


def rank_tricks(effects: Sequence[TrickEffect]) -> list[tuple[str, float, float]]:
    """The tricks ranked by measured effect, largest first.

    Key: the mean over the problems of the leave-one-out increase in test error, then (for
    ties within 0.1 percentage point) the mean ``log2`` of the leave-one-out epochs ratio,
    an unreached target counting as twice the budget.

    Returns
    -------
    list of tuple
        ``(trick, mean error increase, mean log2 epochs ratio)``.
    """
    if isinstance(effects, TrickEffect) or not effects:
        raise ValueError("effects must be a non-empty sequence of TrickEffect")
    rows = []
    for trick in dict.fromkeys(e.trick for e in effects):
        mine = [e for e in effects if e.trick == trick]
        err = float(np.mean([e.error_increase for e in mine]))
        speed = float(np.mean([math.log2(min(max(e.epochs_ratio, 1e-6), 1e6)) for e in mine]))
        rows.append((trick, err, speed))
    rows.sort(key=lambda r: (-round(r[1], 3), -r[2]))
    return rows


@dataclass(frozen=True)
class ChecklistItem:
    """One item of the paper's §10 checklist, the evidence and the verdict."""

    item: str
    trick: str | None
    """The trick that measures it (``None``: not measured here)."""
    chapter: str
    """The chapter that studies it (a document name)."""
    judgements: tuple[str, ...]
    """:func:`judge` on each problem (empty when not measured)."""
    verdict: str


CHECKLIST: tuple[tuple[str, str | None, str, bool], ...] = (
    ("shuffle the examples", None, "shuffling-and-emphasizing", False),
    ("center the inputs", "normalize", "normalizing-inputs", True),
    ("normalize the input variances", "normalize", "normalizing-inputs", True),
    ("decorrelate the inputs", None, "input-transformations", False),
    ("use the sigmoid 1.7159 tanh(2x/3)", "sigmoid", "the-sigmoid", True),
    ("set the targets at ±1", "sigmoid", "target-values", True),
    ("initialize the weights with σ = m^(-1/2)", "init", "initializing-the-weights", False),
    ("use stochastic (mini-batch) learning", "sgd", "stochastic-vs-batch", False),
    ("choose the learning rates well (momentum)", "momentum", "learning-rates", False),
    ("second order: SDLM or conjugate gradient", None, "sdlm", False),
)
"""``(item, trick, chapter, bundled)`` of the paper's §10 checklist; ``bundled``: measured only
together with another item (centering with variances, the sigmoid with its targets)."""


def checklist(effects: Sequence[TrickEffect]) -> list[ChecklistItem]:
    """A verdict (:func:`verdict`) for every item of :data:`CHECKLIST` from ``effects``."""
    if isinstance(effects, TrickEffect) or not effects:
        raise ValueError("effects must be a non-empty sequence of TrickEffect")
    out = []
    for item, trick, chapter, bundled in CHECKLIST:
        if trick is None:
            out.append(ChecklistItem(item, None, chapter, (), "not measured here"))
            continue
        js = tuple(e.judgement for e in effects if e.trick == trick)
        out.append(ChecklistItem(item, trick, chapter, js, verdict(js, bundled=bundled)))
    return out


def verdict_changes(
    before: Sequence[ChecklistItem], after: Sequence[ChecklistItem]
) -> list[tuple[str, str, str]]:
    """The items whose verdict differs between two checklists: ``(item, before, after)``.

    Both come from :func:`checklist` (for example with different margins of :func:`judge`),
    so they list the same items in the same order.
    """
    for name, items in (("before", before), ("after", after)):
        if isinstance(items, ChecklistItem) or not all(isinstance(c, ChecklistItem) for c in items):
            raise TypeError(f"{name} must be a sequence of ChecklistItem (from checklist)")
    if [c.item for c in before] != [c.item for c in after]:
        raise ValueError("before and after must list the same checklist items in order")
    pairs = zip(before, after, strict=True)
    return [(a.item, a.verdict, b.verdict) for a, b in pairs if a.verdict != b.verdict]


def median_epochs_to(configs: Sequence[ConfigResult], target: float) -> dict[str, float]:
    """Median over the seeds of the epochs each configuration takes to a relative loss of
    ``target`` (:func:`epochs_to_target`; ``inf`` when most seeds never reach it), by label.

    Parameters
    ----------
    configs
        Configurations of one problem (from the ``configs`` of :class:`AllTheTricks`).
    target
        The relative training loss to reach, > 0.
    """
    if isinstance(configs, ConfigResult) or not configs:
        raise ValueError("configs must be a non-empty sequence of ConfigResult")
    for i, c in enumerate(configs):
        check_instance(c, ConfigResult, f"configs[{i}]")
    return {
        c.recipe.label: float(np.median(epochs_to_target(c.epoch, c.relative_loss, target)))
        for c in configs
    }


def _jsonable(x: float) -> float | str:
    """``x`` as a float, or ``"inf"``, ``"-inf"``, ``"nan"`` (JSON has no such numbers)."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def summary(result: AllTheTricks) -> dict[str, Any]:
    """The chapter's numbers as plain JSON-able values (``"inf"``: target never reached)."""
    check_instance(result, AllTheTricks, "result")
    configs = [
        {
            "problem": c.problem, "recipe": c.recipe.label, "tricks": list(c.recipe.tricks),
            "eta": c.eta, "median_epochs_to_target": _jsonable(c.median_epochs),
            "median_test_error": _jsonable(c.median_error),
            "median_final_loss": _jsonable(c.median_loss), "diverged_in_grid": c.grid_diverged,
            "lambda_max_final": _jsonable(float(c.lambda_max[-1])), "kappa": _jsonable(c.kappa),
            "pca_variance": [float(v) for v in c.pca_variance],
        }
        for c in result.configs
    ]  # fmt: skip
    effects = trick_effects(result)
    return {
        "n_seeds": len(result.seeds),
        "etas": [float(e) for e in result.etas],
        "targets": {k: float(v) for k, v in result.targets.items()},
        "configs": configs,
        "ranking": [[t, _jsonable(e), _jsonable(s)] for t, e, s in rank_tricks(effects)],
        "checklist": [[c.item, c.verdict] for c in checklist(effects)],
    }
