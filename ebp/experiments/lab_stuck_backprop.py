"""The lab "hand-written backprop that gets stuck": a beginner's set-up, then its fixes one by one.

The task is the regression ``z = 5a² + 3b²`` (:func:`ebp.data.quadratic_bowl`) with ``a, b`` drawn
in a beginner's raw units, ``U(−10, 10)``, so that the targets are in the hundreds.  The network
is a small 2-20-20-1 multilayer perceptron with the paper's sigmoid ``1.7159 tanh(2x/3)`` in the
hidden layers and a linear output, trained by hand-written mini-batch SGD
(:func:`ebp.scratch.fit`).

The beginner feeds the raw numbers in, draws every weight from ``N(0, 1)`` and picks a
plausible learning rate.  The fixes, each its own configuration (:data:`CONFIGS`):

1. standardize the inputs with training-set statistics (paper §4.3);
2. standardize the targets, and report errors back in the original units (§4.5);
3. draw the weights with ``σ = fan_in^{-1/2}`` (§4.6, eqs 15/16);
4. clip the gradient's norm (beyond the paper; Pascanu et al. 2013).

Errors are always reported as RMSE in the original units of ``z``, so that every configuration
can be drawn on one axis.  A run that diverges is a *result*, not a crash: it stops
(``on_divergence="stop"``), its curves end at the last finite record, and it carries
``diverged``, ``step`` and ``message``.

- :func:`make_data`: the training and validation sets in raw units.
- :func:`run_config`, :func:`run_lab`: train one configuration / all of them over seeds.
- :func:`summarize`: mean ± spread of the final errors per configuration.
- :func:`diagnose`: saturated hidden units and gradient norms per layer, at init and after.
- :func:`predictions`: predicted against true ``z`` on the validation set.
- :func:`compare_numpy_torch`: the same run in :mod:`ebp.scratch` and :mod:`ebp.train`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ebp import data as ebp_data
from ebp import nn as ebp_nn
from ebp import scratch
from ebp import train as ebp_train
from ebp._validate import check_choice, check_in_range, check_int, check_positive
from ebp._validate import check_sizes as _check_sizes
from ebp.history import History
from ebp.preprocess import Standardizer
from ebp.repro import single_threaded

__all__ = [
    "BATCH_SIZE",
    "CONFIGS",
    "EPOCHS",
    "ETA",
    "FIX_PATH",
    "REFLEXES",
    "SIZES",
    "Agreement",
    "Diagnosis",
    "LabConfig",
    "LabData",
    "LabResult",
    "LabRun",
    "LabSummary",
    "Predictions",
    "Standardizer",
    "compare_numpy_torch",
    "diagnose",
    "divergence_step",
    "get_config",
    "make_data",
    "predictions",
    "run_config",
    "run_lab",
    "saturated_fraction",
    "summarize",
]

SIZES: tuple[int, ...] = (2, 20, 20, 1)
"""Layer widths of the lab's network, 2 inputs, two hidden layers of 20, one linear output."""
ETA = 0.05
"""The learning rate of every configuration but ``"larger_eta"`` and ``"clipping_only"``."""
EPOCHS = 200
"""Passes through the training set."""
BATCH_SIZE = 20
"""Patterns per update (10 updates per epoch on 200 training patterns)."""
CLIP_NORM = 1.0
"""Largest gradient norm allowed in the configurations that clip."""
SATURATION = 0.1
"""A hidden unit counts as saturated on a pattern when ``f'(z) < SATURATION · f'(0)``."""


# ---------------------------------------------------------------------------------------------
# Data and scaling
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabData:
    """Training and validation sets of ``z = 5a² + 3b²`` in raw units.

    Attributes
    ----------
    X_train, X_val
        Inputs ``(a, b)``, shapes ``(n_train, 2)`` and ``(n_val, 2)``.
    z_train, z_val
        Targets, shapes ``(n_train, 1)`` and ``(n_val, 1)``.
    low, high
        The inputs were drawn from ``U(low, high)``.
    seed
        Seed of the training set (the validation set uses ``seed + 1``).
    """

    X_train: np.ndarray
    z_train: np.ndarray
    X_val: np.ndarray
    z_val: np.ndarray
    low: float
    high: float
    seed: int


def make_data(
    n_train: int = 200, n_val: int = 200, *, low: float = -10.0, high: float = 10.0, seed: int = 0
) -> LabData:
    """Draw the lab's training and validation sets (independent draws, seeds ``seed, seed + 1``).

    Parameters
    ----------
    n_train, n_val
        Numbers of patterns (≥ 2 each).
    low, high
        Range of each input; the default ``[−10, 10]`` gives targets in the hundreds.
    seed
        Seed of the training set.
    """
    n_train = check_int(n_train, "n_train", min_value=2)
    n_val = check_int(n_val, "n_val", min_value=2)
    seed = check_int(seed, "seed", min_value=0, max_value=2**32 - 2)
    low = check_in_range(low, "low")
    high = check_in_range(high, "high")
    X_train, z_train = ebp_data.quadratic_bowl(n_train, seed=seed, low=low, high=high)
    X_val, z_val = ebp_data.quadratic_bowl(n_val, seed=seed + 1, low=low, high=high)
    return LabData(X_train, z_train, X_val, z_val, low, high, seed)


# ---------------------------------------------------------------------------------------------
# Configurations
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabConfig:
    """One training set-up of the lab.

    Attributes
    ----------
    name
        Short key (``"beginner"``, ``"inputs"``, …).
    label
        What a legend shows.
    normalize_inputs
        Standardize ``a, b`` with training-set statistics (§4.3).
    normalize_targets
        Standardize ``z`` (§4.5); errors are still reported in the units of ``z``.
    init
        ``"normal"`` (``N(0, 1)`` whatever the fan-in) or ``"lecun"`` (``σ = fan_in^{-1/2}``,
        §4.6), as in :meth:`ebp.scratch.Network.create`.
    clip_norm
        Largest gradient norm per update, or ``None`` for no clipping.
    eta_factor
        Multiplies the experiment's learning rate (2 for the beginner's "larger η" reflexes).
    """

    name: str
    label: str
    normalize_inputs: bool = False
    normalize_targets: bool = False
    init: str = "normal"
    clip_norm: float | None = None
    eta_factor: float = 1.0


CONFIGS: tuple[LabConfig, ...] = (
    LabConfig("beginner", "beginner: raw data, N(0, 1) weights"),
    LabConfig("larger_eta", "beginner, η × 2", eta_factor=2.0),
    LabConfig("clipping_only", "beginner, η × 2, clipped", clip_norm=CLIP_NORM, eta_factor=2.0),
    LabConfig("inputs", "+ input normalization", normalize_inputs=True),
    LabConfig("targets", "+ target normalization", True, True),
    LabConfig("init", "+ fan-in initialization", True, True, "lecun"),
    LabConfig("all", "+ gradient clipping (all four)", True, True, "lecun", CLIP_NORM),
)
"""Every configuration of the lab, in the order the chapter shows them."""

FIX_PATH: tuple[str, ...] = ("beginner", "inputs", "targets", "init", "all")
"""The fixes added one at a time, each on top of the previous one."""

REFLEXES: tuple[str, ...] = ("beginner", "larger_eta", "clipping_only")
"""What a beginner tries first, a larger learning rate, then clipping."""


def get_config(config: str | LabConfig) -> LabConfig:
    """The :class:`LabConfig` called ``config`` (or ``config`` itself)."""
    if isinstance(config, LabConfig):
        return config
    names = {c.name: c for c in CONFIGS}
    return names[check_choice(config, "config", names)]


@dataclass(frozen=True)
class _Prepared:
    X_train: np.ndarray
    T_train: np.ndarray
    X_val: np.ndarray
    T_val: np.ndarray
    target_scaler: Standardizer


def _prepare(config: LabConfig, lab_data: LabData) -> _Prepared:
    """Inputs and targets as the configuration feeds them to the network."""
    n_in = lab_data.X_train.shape[1]
    xs = (
        Standardizer.fit(lab_data.X_train, "X_train")
        if config.normalize_inputs
        else Standardizer.identity(n_in)
    )
    zs = (
        Standardizer.fit(lab_data.z_train, "z_train")
        if config.normalize_targets
        else Standardizer.identity(1)
    )
    return _Prepared(
        X_train=xs.transform(lab_data.X_train),
        T_train=zs.transform(lab_data.z_train),
        X_val=xs.transform(lab_data.X_val),
        T_val=zs.transform(lab_data.z_val),
        target_scaler=zs,
    )


def _check_data(lab_data: Any) -> LabData:
    if lab_data is None:
        return make_data()
    if not isinstance(lab_data, LabData):
        raise TypeError(f"data must be a LabData (see make_data); got {type(lab_data).__name__}")
    return lab_data


def _check_training(
    sizes: Any, eta: Any, epochs: Any, batch_size: Any, n_train: int
) -> tuple[tuple[int, ...], float, int, int]:
    sizes = _check_sizes(sizes)
    if sizes[0] != 2 or sizes[-1] != 1:
        raise ValueError(f"sizes must start with 2 inputs and end with 1 output; got {sizes}")
    eta = check_positive(eta, "eta")
    epochs = check_positive(epochs, "epochs", integer=True)
    batch_size = check_positive(batch_size, "batch_size", integer=True)
    if batch_size > n_train:
        raise ValueError(
            f"batch_size must be <= the number of training patterns ({n_train}); got {batch_size}"
        )
    return sizes, eta, epochs, batch_size


# ---------------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------------


def divergence_step(history: History) -> int | None:
    """The update count at which a diverged run stopped (``None`` if it did not diverge)."""
    if not isinstance(history, History):
        raise TypeError(f"history must be an ebp.history.History; got {type(history).__name__}")
    if not history.diverged:
        return None
    return history.step


def _rmse_from_loss(loss: np.ndarray, scale: float) -> np.ndarray:
    # The loss is E = (1/P) Σ ½ (d − o)² in scaled units, so RMSE = scale · √(2E).
    with np.errstate(over="ignore", invalid="ignore"):
        return scale * np.sqrt(2.0 * np.asarray(loss, dtype=float))


@dataclass
class LabRun:
    """One configuration trained from one seed.

    Attributes
    ----------
    config
        The configuration's name.
    seed
        Seed of the weights and of the shuffling.
    epoch
        Epochs at which the curves were recorded (0 = before training), finite records only.
    train_rmse, val_rmse
        RMSE in the original units of ``z`` at each record; they end at the last finite record.
    diverged
        Whether training stopped because the loss blew up.
    step
        The update at which divergence was detected (``None`` if it did not diverge).
    divergence_epoch
        ``step`` in epochs (``None`` if it did not diverge).
    message
        The divergence message (``None`` if it did not diverge).
    final_train_rmse, final_val_rmse
        Errors of the trained network in the units of ``z``; NaN if the run diverged.
    network
        The network after training (or where it stopped).
    initial_network
        The network before training.
    """

    config: str
    seed: int
    epoch: np.ndarray
    train_rmse: np.ndarray
    val_rmse: np.ndarray
    diverged: bool
    step: int | None
    divergence_epoch: float | None
    message: str | None
    final_train_rmse: float
    final_val_rmse: float
    network: scratch.Network = field(repr=False)
    initial_network: scratch.Network = field(repr=False)


def run_config(
    config: str | LabConfig,
    *,
    seed: int = 0,
    data: LabData | None = None,
    sizes: Sequence[int] = SIZES,
    eta: float = ETA,
    epochs: int = EPOCHS,
    batch_size: int = BATCH_SIZE,
) -> LabRun:
    """Train one configuration with the hand-written NumPy loop (:func:`ebp.scratch.fit`).

    Parameters
    ----------
    config
        A name from :data:`CONFIGS` or a :class:`LabConfig`.
    seed
        Seed of the initial weights and of the shuffling.
    data
        The data (default: :func:`make_data` with its defaults).
    sizes
        Layer widths, ``(2, …, 1)``.
    eta
        Learning rate (multiplied by the configuration's ``eta_factor``).
    epochs, batch_size
        Training length and patterns per update.
    """
    config = get_config(config)
    seed = check_int(seed, "seed", min_value=0)
    lab_data = _check_data(data)
    sizes, eta, epochs, batch_size = _check_training(
        sizes, eta, epochs, batch_size, lab_data.X_train.shape[0]
    )
    prep = _prepare(config, lab_data)
    network = scratch.Network.create(sizes, init=config.init, seed=seed)
    initial = network.copy()
    history = scratch.fit(
        network,
        prep.X_train,
        prep.T_train,
        eta=eta * config.eta_factor,
        epochs=epochs,
        batch_size=batch_size,
        clip_norm=config.clip_norm,
        shuffle=True,
        seed=seed,
        X_val=prep.X_val,
        T_val=prep.T_val,
        on_divergence="stop",
    )
    scale = float(prep.target_scaler.scale[0])
    cols = history.as_arrays()
    train = _rmse_from_loss(cols["train_loss"], scale)
    val = _rmse_from_loss(cols["val_loss"], scale)
    keep = np.isfinite(train) & np.isfinite(val)
    # Truncate at the first non-finite record: a curve never carries NaN or Inf.
    n = int(np.argmin(keep)) if not keep.all() else keep.size
    step = divergence_step(history)
    steps_per_epoch = math.ceil(lab_data.X_train.shape[0] / batch_size)
    return LabRun(
        config=config.name,
        seed=seed,
        epoch=cols["epoch"][:n],
        train_rmse=train[:n],
        val_rmse=val[:n],
        diverged=history.diverged,
        step=step,
        divergence_epoch=None if step is None else step / steps_per_epoch,
        message=history.message,
        final_train_rmse=math.nan if history.diverged else float(train[-1]),
        final_val_rmse=math.nan if history.diverged else float(val[-1]),
        network=network,
        initial_network=initial,
    )


@dataclass
class LabResult:
    """Every configuration of the lab over several seeds.

    Attributes
    ----------
    configs
        The configurations, in order.
    seeds
        The seeds, shape ``(n_seeds,)``.
    runs
        ``runs[name][i]`` is configuration ``name`` from ``seeds[i]``.
    data
        The data every run used.
    sizes, eta, epochs, batch_size
        The training set-up shared by all runs.
    """

    configs: tuple[LabConfig, ...]
    seeds: np.ndarray
    runs: dict[str, list[LabRun]]
    data: LabData
    sizes: tuple[int, ...]
    eta: float
    epochs: int
    batch_size: int

    def config(self, name: str) -> LabConfig:
        """The configuration called ``name``."""
        names = {c.name: c for c in self.configs}
        return names[check_choice(name, "name", names)]


def _check_seeds(seeds: Any) -> np.ndarray:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        n = check_int(seeds, "seeds", min_value=1)
        return np.arange(n)
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, (Sequence, np.ndarray)):
        raise TypeError(f"seeds must be a number of seeds or a sequence of ints; got {seeds!r}")
    if len(seeds) == 0:
        raise ValueError("seeds must not be empty")
    checked = [check_int(s, f"seeds[{i}]", min_value=0) for i, s in enumerate(seeds)]
    if len(set(checked)) != len(checked):
        raise ValueError(f"seeds must be distinct; got {checked}")
    return np.asarray(checked, dtype=np.int64)


def run_lab(
    configs: Sequence[str | LabConfig] | None = None,
    *,
    seeds: int | Sequence[int] = 5,
    data: LabData | None = None,
    sizes: Sequence[int] = SIZES,
    eta: float = ETA,
    epochs: int = EPOCHS,
    batch_size: int = BATCH_SIZE,
) -> LabResult:
    """Train every configuration from every seed (NumPy, hand-written backprop).

    Parameters
    ----------
    configs
        Names or :class:`LabConfig` objects; default all of :data:`CONFIGS`.
    seeds
        A number ``n`` (seeds ``0 … n−1``) or a sequence of distinct seeds.  The data stay the
        same; the seed changes the initial weights and the order of the patterns.
    data, sizes, eta, epochs, batch_size
        As for :func:`run_config`.
    """
    if configs is None:
        configs = CONFIGS
    if isinstance(configs, (str, LabConfig)) or not isinstance(configs, Sequence):
        raise TypeError(f"configs must be a sequence of configuration names; got {configs!r}")
    if len(configs) == 0:
        raise ValueError("configs must not be empty")
    cfgs = tuple(get_config(c) for c in configs)
    if len({c.name for c in cfgs}) != len(cfgs):
        raise ValueError("configs must have distinct names")
    seed_arr = _check_seeds(seeds)
    lab_data = _check_data(data)
    sizes, eta, epochs, batch_size = _check_training(
        sizes, eta, epochs, batch_size, lab_data.X_train.shape[0]
    )
    with single_threaded():
        runs = _run_all(cfgs, seed_arr, lab_data, sizes, eta, epochs, batch_size)
    return LabResult(cfgs, seed_arr, runs, lab_data, sizes, eta, epochs, batch_size)


def _run_all(
    cfgs: tuple[LabConfig, ...],
    seeds: np.ndarray,
    lab_data: LabData,
    sizes: tuple[int, ...],
    eta: float,
    epochs: int,
    batch_size: int,
) -> dict[str, list[LabRun]]:
    return {
        c.name: [
            run_config(
                c,
                seed=int(s),
                data=lab_data,
                sizes=sizes,
                eta=eta,
                epochs=epochs,
                batch_size=batch_size,
            )
            for s in seeds
        ]
        for c in cfgs
    }


# ---------------------------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabSummary:
    """Final errors per configuration over the seeds (RMSE in the units of ``z``).

    Every array has one entry per configuration, in the order of ``names``.  Means and standard
    deviations are over the seeds that did not diverge (NaN if all diverged).

    Attributes
    ----------
    names, labels
        The configurations.
    n_seeds
        Seeds per configuration.
    n_diverged
        How many of them diverged.
    train_mean, train_std, val_mean, val_std
        Final training / validation RMSE, mean and standard deviation over the seeds.
    median_divergence_step
        Median update at which the diverged seeds stopped (NaN if none diverged).
    target_std
        Standard deviation of the training targets: the RMSE of always predicting their mean.
    """

    names: tuple[str, ...]
    labels: tuple[str, ...]
    n_seeds: int
    n_diverged: np.ndarray
    train_mean: np.ndarray
    train_std: np.ndarray
    val_mean: np.ndarray
    val_std: np.ndarray
    median_divergence_step: np.ndarray
    target_std: float

    def index(self, name: str) -> int:
        """Position of configuration ``name`` in the arrays."""
        return self.names.index(check_choice(name, "name", self.names))


def _mean_std(values: np.ndarray) -> tuple[float, float]:
    ok = values[np.isfinite(values)]
    if ok.size == 0:
        return math.nan, math.nan
    return float(ok.mean()), float(ok.std())


def summarize(result: LabResult) -> LabSummary:
    """Mean ± standard deviation of the final errors of each configuration of ``result``."""
    if not isinstance(result, LabResult):
        raise TypeError(f"result must be a LabResult; got {type(result).__name__}")
    cols: dict[str, list[float]] = {
        k: [] for k in ("train_mean", "train_std", "val_mean", "val_std", "step")
    }
    n_div = []
    for c in result.configs:
        runs = result.runs[c.name]
        tm, ts = _mean_std(np.array([r.final_train_rmse for r in runs]))
        vm, vs = _mean_std(np.array([r.final_val_rmse for r in runs]))
        steps = [r.step for r in runs if r.diverged and r.step is not None]
        for key, value in (
            ("train_mean", tm),
            ("train_std", ts),
            ("val_mean", vm),
            ("val_std", vs),
        ):
            cols[key].append(value)
        cols["step"].append(float(np.median(steps)) if steps else math.nan)
        n_div.append(sum(r.diverged for r in runs))
    return LabSummary(
        names=tuple(c.name for c in result.configs),
        labels=tuple(c.label for c in result.configs),
        n_seeds=len(result.seeds),
        n_diverged=np.asarray(n_div, dtype=np.int64),
        train_mean=np.asarray(cols["train_mean"]),
        train_std=np.asarray(cols["train_std"]),
        val_mean=np.asarray(cols["val_mean"]),
        val_std=np.asarray(cols["val_std"]),
        median_divergence_step=np.asarray(cols["step"]),
        target_std=float(result.data.z_train.std()),
    )


# ---------------------------------------------------------------------------------------------
# Diagnostics: why the beginner is stuck
# ---------------------------------------------------------------------------------------------


def saturated_fraction(
    network: scratch.Network, X: Any, threshold: float = SATURATION
) -> np.ndarray:
    """Fraction of (pattern, unit) pairs of each hidden layer where the unit is saturated.

    A unit is saturated on a pattern when its derivative ``f'(z)`` is below ``threshold``
    times its largest value ``f'(0)``: backprop then passes back less than that fraction of the
    error signal through it (§3, ``δ = f'(z) ⊙ …``).

    Returns
    -------
    numpy.ndarray
        One fraction per hidden layer.
    """
    if not isinstance(network, scratch.Network):
        raise TypeError(f"network must be an ebp.scratch.Network; got {type(network).__name__}")
    threshold = check_in_range(threshold, "threshold", 0.0, 1.0, low_inclusive=False)
    with np.errstate(over="ignore", invalid="ignore"):
        fw = network.forward(X)
        out = []
        for z, name in zip(fw.z[:-1], network.activations[:-1], strict=True):
            act = scratch.get_activation(name)
            peak = float(act.df(np.zeros(1))[0])
            if peak <= 0:
                out.append(math.nan)
                continue
            out.append(float(np.mean(act.df(z) < threshold * peak)))
    return np.asarray(out)


def _layer_grad_norms(network: scratch.Network, X: np.ndarray, T: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        g = network.gradients(X, T)
        return np.array(
            [
                math.sqrt(float(np.sum(dW**2) + np.sum(db**2)))
                for dW, db in zip(g.dW, g.db, strict=True)
            ]
        )


@dataclass(frozen=True)
class Diagnosis:
    """Saturation and gradient norms per layer, before and after training.

    Attributes
    ----------
    names, labels
        The configurations diagnosed.
    stages
        ``("init", "trained")``: before training and where training ended.
    saturated
        ``saturated[i, s, l]``: fraction of saturated (pattern, unit) pairs of hidden layer
        ``l`` (see :func:`saturated_fraction`), configuration ``i``, stage ``s``.
    grad_norm
        ``grad_norm[i, s, l]``: norm of ``∂E/∂(W_l, b_l)`` on the whole training set, in the
        loss units the configuration trains with (what SGD multiplies by η).
    diverged
        Whether each configuration's run diverged (its "trained" stage is where it stopped).
    seed
        The seed of the runs diagnosed.
    threshold
        The saturation threshold.
    """

    names: tuple[str, ...]
    labels: tuple[str, ...]
    stages: tuple[str, ...]
    saturated: np.ndarray
    grad_norm: np.ndarray
    diverged: np.ndarray
    seed: int
    threshold: float


def diagnose(
    result: LabResult,
    names: Sequence[str] = ("beginner", "all"),
    *,
    seed_index: int = 0,
    threshold: float = SATURATION,
) -> Diagnosis:
    """Measure saturation and per-layer gradient norms of the runs of ``result``.

    Parameters
    ----------
    result
        From :func:`run_lab`.
    names
        Configurations to diagnose.
    seed_index
        Which seed's run (index into ``result.seeds``).
    threshold
        Saturation threshold, see :func:`saturated_fraction`.
    """
    if not isinstance(result, LabResult):
        raise TypeError(f"result must be a LabResult; got {type(result).__name__}")
    if isinstance(names, str) or not isinstance(names, Sequence) or len(names) == 0:
        raise TypeError(f"names must be a non-empty sequence of configuration names; got {names!r}")
    cfgs = [result.config(n) for n in names]
    seed_index = check_int(seed_index, "seed_index", min_value=0, max_value=len(result.seeds) - 1)
    sat, grads, div = [], [], []
    for c in cfgs:
        run = result.runs[c.name][seed_index]
        prep = _prepare(c, result.data)
        sat.append(
            [
                saturated_fraction(net, prep.X_train, threshold)
                for net in (run.initial_network, run.network)
            ]
        )
        grads.append(
            [
                _layer_grad_norms(net, prep.X_train, prep.T_train)
                for net in (run.initial_network, run.network)
            ]
        )
        div.append(run.diverged)
    return Diagnosis(
        names=tuple(c.name for c in cfgs),
        labels=tuple(c.label for c in cfgs),
        stages=("init", "trained"),
        saturated=np.asarray(sat),
        grad_norm=np.asarray(grads),
        diverged=np.asarray(div),
        seed=int(result.seeds[seed_index]),
        threshold=threshold,
    )


@dataclass(frozen=True)
class Predictions:
    """Predicted against true ``z`` on the validation set, in the units of ``z``.

    Attributes
    ----------
    names, labels
        The configurations.
    X
        Validation inputs ``(n_val, 2)``.
    z_true
        ``(n_val,)``.
    z_pred
        ``z_pred[i]``: configuration ``i``'s predictions ``(n_val,)``.
    diverged
        Whether each run diverged (its predictions are then where it stopped).
    seed
        Seed of the runs.
    """

    names: tuple[str, ...]
    labels: tuple[str, ...]
    X: np.ndarray
    z_true: np.ndarray
    z_pred: np.ndarray
    diverged: np.ndarray
    seed: int


def predictions(
    result: LabResult, names: Sequence[str] = ("beginner", "all"), *, seed_index: int = 0
) -> Predictions:
    """Validation-set predictions of trained runs, back in the units of ``z``."""
    if not isinstance(result, LabResult):
        raise TypeError(f"result must be a LabResult; got {type(result).__name__}")
    if isinstance(names, str) or not isinstance(names, Sequence) or len(names) == 0:
        raise TypeError(f"names must be a non-empty sequence of configuration names; got {names!r}")
    cfgs = [result.config(n) for n in names]
    seed_index = check_int(seed_index, "seed_index", min_value=0, max_value=len(result.seeds) - 1)
    preds, div = [], []
    for c in cfgs:
        run = result.runs[c.name][seed_index]
        prep = _prepare(c, result.data)
        with np.errstate(over="ignore", invalid="ignore"):
            out = run.network.predict(prep.X_val)
        preds.append(prep.target_scaler.inverse_transform(out)[:, 0])
        div.append(run.diverged)
    return Predictions(
        names=tuple(c.name for c in cfgs),
        labels=tuple(c.label for c in cfgs),
        X=result.data.X_val.copy(),
        z_true=result.data.z_val[:, 0].copy(),
        z_pred=np.asarray(preds),
        diverged=np.asarray(div),
        seed=int(result.seeds[seed_index]),
    )


# ---------------------------------------------------------------------------------------------
# NumPy against PyTorch
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Agreement:
    """One configuration trained by :func:`ebp.scratch.fit` and by :func:`ebp.train.fit`.

    Both start from the same float64 weights, see the patterns in the same order (no shuffling,
    since the two loops draw their permutations from different generators) and take the same
    mini-batches.  Curves are losses in the configuration's own units over the records both
    runs made.

    Attributes
    ----------
    config, seed
        What was run.
    epoch
        Common record epochs.
    numpy_train, torch_train, numpy_val, torch_val
        The two runs' training and validation losses at those epochs.
    max_abs_diff
        Largest absolute difference between the two runs' losses (training and validation).
    max_rel_diff
        Largest relative difference ``|a − b| / |a|``.
    numpy_diverged, torch_diverged
        Whether each run diverged.
    numpy_step, torch_step
        The update each loop reported for the divergence (``None`` if none).
    numpy_records, torch_records
        How many records each run made.
    """

    config: str
    seed: int
    epoch: np.ndarray
    numpy_train: np.ndarray
    torch_train: np.ndarray
    numpy_val: np.ndarray
    torch_val: np.ndarray
    max_abs_diff: float
    max_rel_diff: float
    numpy_diverged: bool
    torch_diverged: bool
    numpy_step: int | None
    torch_step: int | None
    numpy_records: int
    torch_records: int


def compare_numpy_torch(
    config: str | LabConfig = "init",
    *,
    seed: int = 0,
    data: LabData | None = None,
    sizes: Sequence[int] = SIZES,
    eta: float = ETA,
    epochs: int = EPOCHS,
    batch_size: int = BATCH_SIZE,
) -> Agreement:
    """Train ``config`` in NumPy and in PyTorch (float64) from the same start; compare curves.

    Parameters are as for :func:`run_config`.  PyTorch's ``clip_grad_norm_`` divides by
    ``norm + 1e-6`` where the NumPy loop divides by ``norm``, so only configurations without
    clipping are set up identically.
    """
    config = get_config(config)
    seed = check_int(seed, "seed", min_value=0)
    lab_data = _check_data(data)
    sizes, eta, epochs, batch_size = _check_training(
        sizes, eta, epochs, batch_size, lab_data.X_train.shape[0]
    )
    prep = _prepare(config, lab_data)
    network = scratch.Network.create(sizes, init=config.init, seed=seed)
    model = ebp_nn.from_scratch(network, dtype=torch.float64)
    common = dict(
        eta=eta * config.eta_factor,
        epochs=epochs,
        batch_size=batch_size,
        clip_norm=config.clip_norm,
        shuffle=False,
        on_divergence="stop",
    )
    with single_threaded():
        h_np = scratch.fit(
            network, prep.X_train, prep.T_train, X_val=prep.X_val, T_val=prep.T_val, **common
        )
        h_pt = ebp_train.fit(
            model, prep.X_train, prep.T_train, X_val=prep.X_val, y_val=prep.T_val, **common
        )
    a, b = h_np.as_arrays(), h_pt.as_arrays()
    n = min(a["epoch"].size, b["epoch"].size)
    pairs = [(a[k][:n], b[k][:n]) for k in ("train_loss", "val_loss")]
    finite = [np.isfinite(x) & np.isfinite(y) for x, y in pairs]
    n = min(n, *(int(np.argmin(f)) if not f.all() else f.size for f in finite))
    pairs = [(x[:n], y[:n]) for x, y in pairs]
    abs_diff = max(float(np.max(np.abs(x - y), initial=0.0)) for x, y in pairs)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_diff = max(
            float(np.max(np.abs(x - y) / np.maximum(np.abs(x), 1e-300), initial=0.0))
            for x, y in pairs
        )
    return Agreement(
        config=config.name,
        seed=seed,
        epoch=a["epoch"][:n],
        numpy_train=pairs[0][0],
        torch_train=pairs[0][1],
        numpy_val=pairs[1][0],
        torch_val=pairs[1][1],
        max_abs_diff=abs_diff,
        max_rel_diff=rel_diff,
        numpy_diverged=h_np.diverged,
        torch_diverged=h_pt.diverged,
        numpy_step=divergence_step(h_np),
        torch_step=divergence_step(h_pt),
        numpy_records=a["epoch"].size,
        torch_records=b["epoch"].size,
    )
