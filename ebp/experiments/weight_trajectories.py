"""Experiments of the chapter "Weight trajectories and PCA" (Part V, issue 12).

A training run is a path ``θ_0, θ_1, …, θ_T`` in weight space.  This module trains one small
network with four optimizers from the same initial weights and looks at the paths: their
principal components (:func:`ebp.landscape.pca_directions`, scikit-learn's PCA), a plane common
to all four (:func:`common_plane`), the angle between successive steps (:func:`step_cosines`,
the zig-zag of §5), and the Hessian's largest eigenvalue along each path
(:func:`lambda_max_along`, Lanczos from :mod:`ebp.hessian`), against the stability limit
``2/η`` of batch gradient descent (paper eq 38).  Nothing here draws (see
:mod:`ebp.plots.weight_trajectories`).  Everything runs in float64, seeded, on one thread.

:func:`run` computes everything the chapter shows; :func:`summary` turns its result into
JSON-able numbers.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn as tnn

from ebp import data, hessian, landscape, train
from ebp import nn as enn
from ebp._validate import as_float_array, check_choice, check_instance, check_int, check_positive
from ebp.landscape import PCADirections, Projection, Surface
from ebp.landscape._common import as_trajectory
from ebp.repro import single_threaded

__all__ = [
    "NAMES",
    "QUICK",
    "SIZES",
    "Budget",
    "CommonPlane",
    "OptimizerSetup",
    "Path",
    "Problem",
    "WeightTrajectories",
    "common_plane",
    "default_setups",
    "lambda_max_along",
    "problem",
    "run",
    "step_angles",
    "step_components",
    "step_cosines",
    "summary",
    "top_eigenvector",
    "train_path",
]

DTYPE = torch.float64
NAMES: tuple[str, ...] = ("batch GD", "SGD", "momentum", "Adam")
"""The four optimizers compared, in the order the chapter draws them."""


# ---------------------------------------------------------------------------------------------
# Zig-zag: the angle between successive steps
# ---------------------------------------------------------------------------------------------


def step_cosines(trajectory: Any) -> np.ndarray:
    """The cosine of the angle between successive steps of a path.

    With steps ``Δ_t = θ_{t+1} − θ_t``, entry ``t`` is
    ``Δ_{t+1}ᵀ Δ_t / (‖Δ_{t+1}‖ ‖Δ_t‖)``: 1 for a straight path, −1 for a step that goes
    straight back (the zig-zag across a ravine of §5, where ``η λ > 1``), 0 for a right angle.

    Parameters
    ----------
    trajectory
        ``(T, P)`` flat weight vectors (or a ``History`` with weight snapshots), ``T ≥ 3``.

    Returns
    -------
    numpy.ndarray
        ``(T − 2,)`` cosines; NaN where either step has length zero.
    """
    W = as_trajectory(trajectory)
    if W.shape[0] < 3:
        raise ValueError(
            f"trajectory must have at least 3 iterates (two steps); got shape {W.shape}"
        )
    D = np.diff(W, axis=0)
    norms = np.linalg.norm(D, axis=1)
    num = np.sum(D[1:] * D[:-1], axis=1)
    den = norms[1:] * norms[:-1]
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return np.clip(out, -1.0, 1.0)


def step_angles(trajectory: Any) -> np.ndarray:
    """The angle in degrees between successive steps, ``arccos`` of :func:`step_cosines`
    (0°: straight on, 180°: straight back; NaN where a step has length zero)."""
    return np.degrees(np.arccos(step_cosines(trajectory)))


def step_components(trajectory: Any, direction: Any) -> np.ndarray:
    """The component of each step along a direction, ``Δ_tᵀ v / ‖v‖``.

    Parameters
    ----------
    trajectory
        ``(T, P)`` flat weight vectors, ``T ≥ 2``.
    direction
        ``(P,)`` a non-zero vector ``v`` (e.g. the Hessian's top eigenvector).

    Returns
    -------
    numpy.ndarray
        ``(T − 1,)`` signed lengths; successive signs that differ are steps that go back and
        forth along ``v``.
    """
    W = as_trajectory(trajectory)
    if W.shape[0] < 2:
        raise ValueError(f"trajectory must have at least 2 iterates; got shape {W.shape}")
    v = as_float_array(direction, "direction", shape=(W.shape[1],))
    norm = float(np.linalg.norm(v))
    if norm == 0:
        raise ValueError("direction must be non-zero")
    return np.diff(W, axis=0) @ (v / norm)


# ---------------------------------------------------------------------------------------------
# Optimizers and paths
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OptimizerSetup:
    """One optimizer of the comparison, as :func:`ebp.train.fit` takes it.

    Attributes
    ----------
    name
        The label in the chapter's figures.
    eta
        Learning rate η.
    batch_size
        Patterns per update (``None``: the whole training set, batch learning).
    momentum
        μ of heavy-ball momentum (0 for none).
    optimizer
        ``"sgd"`` (with ``momentum``) or ``"adam"`` (``torch.optim.Adam``'s arithmetic).
    """

    name: str
    eta: float
    batch_size: int | None = None
    momentum: float = 0.0
    optimizer: str = "sgd"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"name must be a non-empty str; got {self.name!r}")
        check_positive(self.eta, "eta")
        if self.batch_size is not None:
            check_int(self.batch_size, "batch_size", min_value=1)
        if not isinstance(self.momentum, (int, float)) or not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be a number in [0, 1); got {self.momentum!r}")
        check_choice(self.optimizer, "optimizer", ("sgd", "adam"))


def default_setups(
    eta: float, *, batch_size: int = 10, mu: float = 0.9, eta_adam: float = 0.01
) -> tuple[OptimizerSetup, ...]:
    """The chapter's four optimizers around one batch rate ``eta``.

    Batch GD at ``eta``; SGD on mini-batches of ``batch_size`` at the same ``eta``; batch
    heavy-ball momentum with ``mu`` at ``eta (1 − mu)``, whose steady step on a constant slope,
    ``η/(1 − μ)`` times the gradient, is then batch GD's; batch Adam at ``eta_adam``.
    """
    eta = check_positive(eta, "eta")
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    if not isinstance(mu, (int, float)) or not 0 < mu < 1:
        raise ValueError(f"mu must be a number in (0, 1); got {mu!r}")
    eta_adam = check_positive(eta_adam, "eta_adam")
    return (
        OptimizerSetup(NAMES[0], eta),
        OptimizerSetup(NAMES[1], eta, batch_size=batch_size),
        OptimizerSetup(NAMES[2], eta * (1 - mu), momentum=float(mu)),
        OptimizerSetup(NAMES[3], eta_adam, optimizer="adam"),
    )


@dataclass(frozen=True, eq=False)
class Path:
    """The path of one optimizer, a snapshot after every update, from :func:`train_path`.

    Attributes
    ----------
    setup
        The optimizer.
    weights
        ``(T, P)`` flat weights, ``weights[0]`` the initial ones.
    epoch
        ``(T,)`` the epoch (fractional within an epoch) of each snapshot.
    train_loss
        ``(T,)`` the loss on the whole training set at each snapshot.
    """

    setup: OptimizerSetup
    weights: np.ndarray
    epoch: np.ndarray
    train_loss: np.ndarray

    def at_epochs(self) -> np.ndarray:
        """The indices of the snapshots taken at the end of whole epochs (and the start)."""
        e = self.epoch
        return np.flatnonzero(np.isclose(e, np.round(e)))


def train_path(
    setup: OptimizerSetup, model: tnn.Module, X: Any, y: Any, *, epochs: int, seed: int = 0
) -> Path:
    """Train a copy of ``model`` with ``setup`` (MSE loss), a weight snapshot after every update.

    ``model`` itself is not changed; ``seed`` seeds the mini-batch shuffling.  Runs on one
    thread (:func:`ebp.repro.single_threaded`), as do the functions below.
    """
    check_instance(setup, OptimizerSetup, "setup")
    epochs = check_int(epochs, "epochs", min_value=1)
    seed = check_int(seed, "seed", min_value=0)
    net = copy.deepcopy(model)
    n = len(X)
    with single_threaded():
        hist = train.fit(
            net, X, y, loss="mse", eta=setup.eta, epochs=epochs, batch_size=setup.batch_size,
            momentum=setup.momentum, optimizer=setup.optimizer, seed=seed, snapshots=True,
            record_every=setup.batch_size or n,
        )  # fmt: skip
    return Path(
        setup=setup,
        weights=np.stack(hist.weights).astype(np.float64),
        epoch=np.asarray(hist.presentations, dtype=np.float64) / n,
        train_loss=np.asarray(hist.train_loss, dtype=np.float64),
    )


def _checked_weights(model: Any, W: np.ndarray) -> np.ndarray:
    check_instance(model, tnn.Module, "model")
    P = sum(p.numel() for p in model.parameters())
    if W.shape[1] != P:
        raise ValueError(f"weights must have {P} entries per row (the model's); got {W.shape[1]}")
    return W


def lambda_max_along(
    model: tnn.Module, X: Any, y: Any, weights: Any, *, seed: int = 0
) -> np.ndarray:
    """The largest eigenvalue of the Hessian of the MSE at each row of ``weights``.

    As :func:`ebp.experiments.analysis_of_the_hessian.lambda_max_during_training` does: a copy
    of ``model`` gets each flat vector, :class:`ebp.hessian.HessianOperator` on all of
    ``(X, y)``, and Lanczos (:func:`ebp.hessian.lanczos_eigs`, ``k = 1``, start vector from
    ``seed``).
    """
    W = _checked_weights(model, as_trajectory(weights))
    seed = check_int(seed, "seed", min_value=0)
    net = copy.deepcopy(model)
    out = np.empty(W.shape[0])
    with single_threaded():
        for t, w in enumerate(W):
            flat = torch.as_tensor(w, dtype=DTYPE)
            torch.nn.utils.vector_to_parameters(flat, net.parameters())
            op = hessian.HessianOperator(net, "mse", (X, y))
            out[t] = hessian.lanczos_eigs(op, k=1, seed=seed, residuals=False).values[0]
    return out


def top_eigenvector(
    model: tnn.Module, X: Any, y: Any, weights: Any, *, seed: int = 0
) -> np.ndarray:
    """The unit eigenvector of the Hessian of the MSE with the largest eigenvalue, at the flat
    weights ``weights`` ``(P,)`` (Lanczos, :func:`ebp.hessian.lanczos_eigs`)."""
    w = _checked_weights(model, as_float_array(weights, "weights", ndim=1)[None])[0]
    seed = check_int(seed, "seed", min_value=0)
    net = copy.deepcopy(model)
    torch.nn.utils.vector_to_parameters(torch.as_tensor(w, dtype=DTYPE), net.parameters())
    with single_threaded():
        op = hessian.HessianOperator(net, "mse", (X, y))
        eig = hessian.lanczos_eigs(op, k=1, seed=seed)
    return eig.vectors[:, 0].detach().to("cpu", torch.float64).numpy().copy()


# ---------------------------------------------------------------------------------------------
# One plane for several paths
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CommonPlane:
    """Principal directions fitted on several paths at once, from :func:`common_plane`.

    Attributes
    ----------
    pca
        :func:`ebp.landscape.pca_directions` of the stacked paths.
    projections
        ``name → Projection`` of each path on ``pca``'s directions through ``origin``.
    origin
        ``(P,)`` the point the subspace passes through.
    """

    pca: PCADirections
    projections: dict[str, Projection]
    origin: np.ndarray


def common_plane(paths: Mapping[str, Any], n: int = 2, *, origin: Any = None) -> CommonPlane:
    """One PCA of several paths stacked together, and each path projected on it.

    The rows of all the paths are stacked into one ``(Σ T_i, P)`` matrix and given to
    :func:`ebp.landscape.pca_directions` (scikit-learn's PCA): the directions are those of
    largest variance of all the iterates together, so every path is drawn in the same
    coordinates and the pictures can be compared.  A path with more rows weighs more; pass
    paths of equal length for equal weight.

    Parameters
    ----------
    paths
        ``name → (T_i, P)`` trajectories (arrays, or :class:`Path`), all of the same ``P``.
    n
        Number of directions.
    origin
        ``(P,)`` where the subspace passes through; default: the PCA's origin (the last row of
        the stack).
    """
    if not isinstance(paths, Mapping) or not paths:
        raise TypeError(f"paths must be a non-empty mapping name → trajectory; got {paths!r}")
    mats = {k: as_trajectory(v.weights if isinstance(v, Path) else v) for k, v in paths.items()}
    widths = {m.shape[1] for m in mats.values()}
    if len(widths) != 1:
        raise ValueError(f"paths must all have the same number of weights; got {sorted(widths)}")
    pca = landscape.pca_directions(np.concatenate(list(mats.values())), n=n)
    o = pca.origin if origin is None else np.asarray(origin, dtype=np.float64)
    projections = {k: landscape.project(m, pca.directions, origin=o) for k, m in mats.items()}
    return CommonPlane(pca=pca, projections=projections, origin=o.copy())


# ---------------------------------------------------------------------------------------------
# Everything the chapter shows
# ---------------------------------------------------------------------------------------------

SIZES: tuple[int, ...] = (2, 8, 1)
"""The network's widths, 2 inputs, 8 hidden units of the paper's tanh and 1 linear output
(33 weights)."""


@dataclass(frozen=True)
class Budget:
    """How much :func:`run` computes: the comparison's epochs, the long batch-GD run's, every
    how many epochs ``λ_max`` is measured in each, and the surface grid's points per axis."""

    epochs: int = 100
    long_epochs: int = 1000
    lambda_every: int = 10
    long_lambda_every: int = 20
    n_grid: int = 31


QUICK = Budget(epochs=12, long_epochs=30, lambda_every=4, long_lambda_every=10, n_grid=7)
"""The budget of ``run(quick=True)``, a smoke test of a second or two."""


@dataclass(frozen=True, eq=False)
class WeightTrajectories:
    """What :func:`run` computes (the first seed's paths; the others' zig-zag and loss).

    Attributes
    ----------
    budget
        The :class:`Budget` used.
    seeds
        The initialization seeds (the first one is drawn).
    lambda_0
        ``λ_max`` of the Hessian at the first seed's initial weights.
    setups
        The four optimizers (batch GD at ``η = 0.9 · 2/λ_0``).
    paths
        ``name → Path`` over ``budget.epochs`` epochs.
    pca, projection
        The batch-GD path's own PCA (3 directions) and its projection on them.
    surface, surface_path
        The loss over the plane of that PCA's first two directions (through the final
        weights), and the path projected there.
    common, common_paths
        :func:`common_plane` fitted on the four paths' end-of-epoch snapshots (equal weight
        per path), through the shared initial weights; every snapshot of each path projected.
    cosines
        ``name → step_cosines`` of each path.
    top_components
        ``name → step_components`` of each path along the Hessian's top eigenvector at that
        path's final weights.
    lambda_epoch, lambda_max
        Epochs of the ``λ_max`` checkpoints, and ``name → λ_max`` there.
    long_epoch, long_lambda, long_loss
        Batch GD run on for ``budget.long_epochs`` epochs: the epochs of its ``λ_max``
        checkpoints, ``λ_max`` there, and the training loss after every epoch
        (``long_epochs + 1`` values, one update per epoch).
    seed_mean_cosine, seed_final_loss
        ``(n_seeds, 4)``: the mean step cosine and final training loss of each optimizer.
    """

    budget: Budget
    seeds: tuple[int, ...]
    lambda_0: float
    setups: tuple[OptimizerSetup, ...]
    paths: dict[str, Path]
    pca: PCADirections
    projection: Projection
    surface: Surface
    surface_path: Projection
    common: CommonPlane
    common_paths: dict[str, Projection]
    cosines: dict[str, np.ndarray]
    top_components: dict[str, np.ndarray]
    lambda_epoch: np.ndarray
    lambda_max: dict[str, np.ndarray]
    long_epoch: np.ndarray
    long_lambda: np.ndarray
    long_loss: np.ndarray
    seed_mean_cosine: np.ndarray
    seed_final_loss: np.ndarray

    @property
    def eta(self) -> float:
        """Batch GD's learning rate."""
        return self.setups[0].eta

    def summary(self) -> dict[str, Any]:
        """JSON-able numbers: see :func:`summary`."""
        return summary(self)


@dataclass(frozen=True, eq=False)
class Problem:
    """The chapter's problem, from :func:`problem`.

    Attributes
    ----------
    X, y
        The two-Gaussian data of Figs 9/10: ``(100, 2)`` inputs and ``(100, 1)`` targets ±1.
    model
        The 2-8-1 network (:data:`SIZES`, float64) at its initial weights.
    lambda_0
        ``λ_max`` of the Hessian of the MSE at those weights.
    """

    X: np.ndarray
    y: np.ndarray
    model: tnn.Module
    lambda_0: float


def problem(seed: int = 0) -> Problem:
    """The data (always drawn with seed 0), the network initialized with ``seed``, and its
    initial ``λ_max``."""
    seed = check_int(seed, "seed", min_value=0)
    with single_threaded():
        ds = data.two_gaussians(100, seed=0)
        net = enn.mlp(SIZES, dtype=DTYPE, seed=seed)
        w0 = hessian.flatten_params(net).detach()[None]
        lam0 = float(lambda_max_along(net, ds.X, ds.y, w0)[0])
    return Problem(ds.X, ds.y, net, lam0)


def _truncate(path: Path, epochs: int) -> Path:
    keep = path.epoch <= epochs + 1e-9
    return Path(path.setup, path.weights[keep], path.epoch[keep], path.train_loss[keep])


def _paths(
    seed: int, budget: Budget, tick: Callable[[], None], *, long_gd: bool = True
) -> tuple[Any, ...]:
    """The four paths of one seed (with ``long_gd``, batch GD run for the long budget, then
    cut)."""
    prob = problem(seed)
    X, y, net, lam0 = prob.X, prob.y, prob.model, prob.lambda_0
    setups = default_setups(0.9 * 2.0 / lam0)
    paths: dict[str, Path] = {}
    long = None
    for s in setups:
        e = budget.long_epochs if s.name == NAMES[0] and long_gd else budget.epochs
        p = train_path(s, net, X, y, epochs=e, seed=seed)
        if s.name == NAMES[0]:
            long, p = p, _truncate(p, budget.epochs)
        paths[s.name] = p
        tick()
    return X, y, net, lam0, setups, paths, long


def _margin_grid(coords: np.ndarray, n_grid: int, margin: float = 0.25) -> list[np.ndarray]:
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    pad = margin * (hi - lo)
    return [np.linspace(lo[k] - pad[k], hi[k] + pad[k], n_grid) for k in range(2)]


def _lambdas(net: tnn.Module, X: Any, y: Any, path: Path, every: int) -> tuple[np.ndarray, ...]:
    ends = path.at_epochs()
    idx = ends[np.round(path.epoch[ends]).astype(int) % every == 0]
    return path.epoch[idx], lambda_max_along(net, X, y, path.weights[idx])


def run(
    *,
    n_seeds: int = 1,
    quick: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> WeightTrajectories:
    """Everything the chapter computes (with the defaults, the chapter's numbers).

    For each initialization seed ``0 … n_seeds − 1``: the paper's two-Gaussian data (Figs 9/10,
    100 points), a 2-8-1 tanh network (float64), ``λ_0 = λ_max`` at its initial weights, and
    four optimizers from those weights (:func:`default_setups` with ``η = 0.9 · 2/λ_0``, 90 %
    of the limit of eq 38), a snapshot after every update.  For the first seed, in addition:
    the PCA of the batch-GD path and the loss surface in its plane, the common plane of the
    four paths, ``λ_max`` along each path, and batch GD run on to ``long_epochs``.

    Parameters
    ----------
    n_seeds
        Number of initialization seeds, ≥ 1; the extra ones add only the zig-zag and loss.
    quick
        A much smaller budget (:data:`QUICK`), for a smoke test.
    progress
        Called as ``progress(done, total)`` after each unit of work.
    """
    n_seeds = check_int(n_seeds, "n_seeds", min_value=1)
    if not isinstance(quick, bool):
        raise TypeError(f"quick must be a bool; got {type(quick).__name__}")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable(done, total) or None; got {progress!r}")
    budget = QUICK if quick else Budget()
    total, done = 4 * n_seeds + 6, [0]

    def tick() -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], total)

    with single_threaded():
        first = _paths(0, budget, tick)
        X, y, net, lam0, setups, paths, long = first
        others = [_paths(s, budget, tick, long_gd=False)[5] for s in range(1, n_seeds)]
        parts = _first_seed_analysis(X, y, net, paths, long, budget, tick)
    every_seed = [paths, *others]
    cos = np.array([[np.nanmean(step_cosines(p[k].weights)) for k in NAMES] for p in every_seed])
    loss = np.array([[p[k].train_loss[-1] for k in NAMES] for p in every_seed])
    return WeightTrajectories(
        budget=budget, seeds=tuple(range(n_seeds)), lambda_0=lam0, setups=setups, paths=paths,
        cosines={k: step_cosines(p.weights) for k, p in paths.items()},
        seed_mean_cosine=cos, seed_final_loss=loss, **parts,
    )  # fmt: skip


def _first_seed_analysis(
    X: Any,
    y: Any,
    net: tnn.Module,
    paths: dict[str, Path],
    long: Path,
    budget: Budget,
    tick: Callable[[], None],
) -> dict[str, Any]:
    """The PCA pictures, the common plane and ``λ_max`` of the first seed's paths."""
    gd = paths[NAMES[0]].weights
    pca = landscape.pca_directions(gd, n=3)
    plane = landscape.pca_directions(gd, n=2)
    alphas, betas = _margin_grid(landscape.project(gd, plane).coords, budget.n_grid)
    model = copy.deepcopy(net)
    torch.nn.utils.vector_to_parameters(torch.as_tensor(plane.origin), model.parameters())
    surf = landscape.surface(model, "mse", X, y, plane, alphas, betas, origin=plane.origin)
    tick()
    start = gd[0]
    ends = {k: p.weights[p.at_epochs()] for k, p in paths.items()}
    common = common_plane(ends, n=3, origin=start)
    lam_epoch, lam, top = None, {}, {}
    for k, p in paths.items():
        lam_epoch, lam[k] = _lambdas(net, X, y, p, budget.lambda_every)
        top[k] = step_components(p.weights, top_eigenvector(net, X, y, p.weights[-1]))
        tick()
    long_epoch, long_lambda = _lambdas(net, X, y, long, budget.long_lambda_every)
    tick()
    return {
        "pca": pca,
        "projection": landscape.project(gd, pca),
        "surface": surf,
        "surface_path": landscape.project(gd, surf),
        "common": common,
        "common_paths": {
            k: landscape.project(p.weights, common.pca.directions, origin=start)
            for k, p in paths.items()
        },
        "top_components": top,
        "lambda_epoch": lam_epoch,
        "lambda_max": lam,
        "long_epoch": long_epoch,
        "long_lambda": long_lambda,
        "long_loss": long.train_loss,
    }


def _norm(a: np.ndarray) -> np.ndarray:
    return np.linalg.norm(a, axis=-1)


def _top_share(r: WeightTrajectories, name: str) -> np.ndarray:
    """Each step's share of its squared length along the top eigenvector."""
    steps = np.linalg.norm(np.diff(r.paths[name].weights, axis=0), axis=1)
    a = r.top_components[name]
    return np.divide(a**2, steps**2, out=np.zeros_like(a), where=steps > 0)


def summary(result: WeightTrajectories) -> dict[str, Any]:
    """The numbers the chapter quotes, as plain floats, ints, strings, lists and dicts.

    Keys: ``lambda_0``, ``eta`` (batch GD), ``etas`` (per optimizer), ``evr`` (the batch-GD
    path's own explained-variance ratios, 3), ``evr_common`` (the common plane's, 3),
    ``plane_rel_distance`` (largest distance of the batch-GD path from its own PCA plane over
    its distance from the final weights).  Per optimizer (first seed): ``mean_cosine``,
    ``median_angle``, ``frac_reversing`` (share of step pairs at more than 90°), ``top_share``
    (mean share of a step's squared length along the Hessian's top eigenvector at the path's
    end), ``top_flips`` (share of successive steps whose components along it change sign),
    ``n_reversing``, ``last_reversal_epoch`` (−1 if none), ``distance`` (from the start to
    the end), ``path_length`` (the sum of the step lengths), ``common_rel_distance`` (the final
    weights' distance from the common PCA plane of two directions, over their distance from
    the start), ``final_loss``,
    ``lambda_end`` (``λ_max`` at the last checkpoint).  The long batch-GD run:
    ``long_max_eta_lambda`` (largest ``η λ_max``), ``long_first_cross`` and
    ``long_last_cross`` (first and last checkpoint with ``λ_max ≥ 2/η``, −1 if none),
    ``long_lambda_peak``, ``long_lambda_end``, ``long_spike_epoch`` (where the loss rises most
    above its lowest value so far), ``long_spike_loss``, ``long_spike_rise`` (that ratio),
    ``long_min_before`` (lowest loss before it), ``long_final_loss``.  And
    ``seed_mean_cosine`` (per seed, per optimizer).
    """
    check_instance(result, WeightTrajectories, "result")
    r = result
    two_d = landscape.project(r.paths[NAMES[0]].weights, r.pca.directions[:2], origin=r.pca.origin)
    cross = np.flatnonzero(r.long_lambda >= 2.0 / r.eta)
    loss = r.long_loss
    rise = loss[1:] / np.minimum.accumulate(loss)[:-1]
    spike = int(np.argmax(rise)) + 1
    return {
        "lambda_0": float(r.lambda_0),
        "eta": float(r.eta),
        "etas": {s.name: float(s.eta) for s in r.setups},
        "evr": [float(v) for v in r.pca.explained_variance_ratio],
        "evr_common": [float(v) for v in r.common.pca.explained_variance_ratio],
        "plane_rel_distance": float(np.max(two_d.relative_distance)),
        "mean_cosine": {k: float(np.nanmean(c)) for k, c in r.cosines.items()},
        "median_angle": {
            k: float(np.nanmedian(np.degrees(np.arccos(c)))) for k, c in r.cosines.items()
        },
        "frac_reversing": {k: float(np.mean(c < 0)) for k, c in r.cosines.items()},
        "top_share": {k: float(np.mean(_top_share(r, k))) for k in r.cosines},
        "top_flips": {k: float(np.mean(a[1:] * a[:-1] < 0)) for k, a in r.top_components.items()},
        "n_reversing": {k: int(np.sum(c < 0)) for k, c in r.cosines.items()},
        "last_reversal_epoch": {
            k: float(r.paths[k].epoch[1:-1][c < 0][-1]) if np.any(c < 0) else -1.0
            for k, c in r.cosines.items()
        },
        "distance": {k: float(_norm(p.weights[-1] - p.weights[0])) for k, p in r.paths.items()},
        "path_length": {
            k: float(np.sum(_norm(np.diff(p.weights, axis=0)))) for k, p in r.paths.items()
        },
        "common_rel_distance": {
            k: float(
                landscape.project(
                    p.weights, r.common.pca.directions[:2], origin=r.common.origin
                ).relative_distance[-1]
            )
            for k, p in r.paths.items()
        },
        "final_loss": {k: float(p.train_loss[-1]) for k, p in r.paths.items()},
        "lambda_end": {k: float(v[-1]) for k, v in r.lambda_max.items()},
        "long_max_eta_lambda": float(r.eta * r.long_lambda.max()),
        "long_first_cross": int(r.long_epoch[cross[0]]) if cross.size else -1,
        "long_last_cross": int(r.long_epoch[cross[-1]]) if cross.size else -1,
        "long_lambda_peak": float(r.long_lambda.max()),
        "long_lambda_end": float(r.long_lambda[-1]),
        "long_spike_epoch": spike,
        "long_spike_loss": float(loss[spike]),
        "long_spike_rise": float(rise[spike - 1]),
        "long_min_before": float(loss[:spike].min()),
        "long_final_loss": float(loss[-1]),
        "seed_mean_cosine": [[float(v) for v in row] for row in r.seed_mean_cosine],
    }
