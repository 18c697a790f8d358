"""Experiments of the chapter "Choosing target values" (paper §4.5).

- :func:`single_unit_growth`: one unit of the recommended sigmoid trained towards a target at
  its asymptote keeps growing its weight (logarithmically, without bound); towards ±1 it stops.
- :func:`target_values`: a 64-30-10 digit classifier trained with the squared error on three
  target codings – ±1 with ``1.7159 tanh(2x/3)`` outputs (the paper's advice), ±1.7159 (the
  asymptotes) with the same outputs, and 0/1 with logistic outputs – over seeds, with a fraction
  of the training labels wrong.  It records the norm of the output weights, how many output
  units are saturated, and how confident the network is where it should not be.
- :func:`eta_sweep`: the learning rate of each coding, chosen from a small seeded sweep, so
  that the codings are compared each at its own best rate (the logistic's slope is at most 1/4,
  so one shared rate would favour the codings with steeper outputs).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ebp import data, nn, scratch
from ebp._validate import check_choice, check_int, check_positive, check_probability
from ebp.experiments._shared import outputs
from ebp.many import fit_many
from ebp.repro import single_threaded

__all__ = [
    "SETUPS",
    "EtaSweep",
    "SingleUnitGrowth",
    "TargetSetup",
    "TargetValues",
    "eta_sweep",
    "relative_slope",
    "single_unit_growth",
    "target_values",
]

A = scratch.LECUN_TANH_A
S = scratch.LECUN_TANH_S


@dataclass(frozen=True)
class TargetSetup:
    """An output activation and the coding of its targets.

    Attributes
    ----------
    output_activation
        ``"lecun_tanh"`` or ``"logistic"``.
    scheme, value
        Passed to :func:`ebp.data.encode_targets`.
    low, high
        The asymptotes of the output activation.
    label
        A short description for figures and tables.
    """

    output_activation: str
    scheme: str
    value: float
    low: float
    high: float
    label: str


SETUPS: dict[str, TargetSetup] = {
    "pm1": TargetSetup("lecun_tanh", "pm1", 1.0, -A, A, "±1 targets, 1.7159 tanh(2x/3) outputs"),
    "asymptote": TargetSetup(
        "lecun_tanh", "pm1", A, -A, A, "±1.7159 targets (asymptotes), same outputs"
    ),
    "logistic01": TargetSetup(
        "logistic", "zero_one", 1.0, 0.0, 1.0, "0/1 targets, logistic outputs"
    ),
}
"""The three target codings the chapter compares, by name."""


def relative_slope(activation: str, z: np.ndarray) -> np.ndarray:
    """``f′(z) / f′(0)``: 1 at the centre of the sigmoid, → 0 where it saturates.

    Parameters
    ----------
    activation
        ``"lecun_tanh"``, ``"tanh"`` or ``"logistic"``.
    z
        Weighted sums.
    """
    activation = check_choice(activation, "activation", ("lecun_tanh", "tanh", "logistic"))
    act = scratch.get_activation(activation)
    return act.df(np.asarray(z, dtype=np.float64)) / float(act.df(np.asarray(0.0)))


# ---------------------------------------------------------------------------------------------
# One unit
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SingleUnitGrowth:
    """Gradient descent on one unit ``o = 1.7159 tanh(2w/3)`` (input 1) towards ``target``.

    Attributes
    ----------
    targets
        The targets tried.
    steps
        Step numbers at which ``w`` is recorded (log-spaced).
    w
        Array ``(len(targets), len(steps))`` of the weight.
    eta
        Learning rate.
    """

    targets: np.ndarray
    steps: np.ndarray
    w: np.ndarray
    eta: float

    def asymptotic_w(self) -> np.ndarray:
        """The gradient-flow prediction for a target at the asymptote, at :attr:`steps`.

        Near the asymptote ``∂E/∂w ≈ −8 A² S e^{−4Sw}``, so ``e^{4Sw}`` grows linearly in time
        and ``w ≈ log(32 A² S² η t) / (4S)``: logarithmic, unbounded growth.
        """
        t = np.maximum(self.steps, 1)
        return np.log(32.0 * A**2 * S**2 * self.eta * t) / (4.0 * S)


def single_unit_growth(
    *,
    targets: Sequence[float] = (1.0, A),
    w0: float = 0.0,
    eta: float = 0.1,
    n_steps: int = 100_000,
    n_records: int = 60,
) -> SingleUnitGrowth:
    """Train ``w`` of one unit ``o = f(w)`` on ``E = ½ (f(w) − d)²`` for each target ``d``.

    Parameters
    ----------
    targets
        Targets in (0, 1.7159] (the asymptote itself is allowed; it is never reached).
    w0
        Starting weight.
    eta
        Learning rate.
    n_steps
        Number of gradient-descent steps.
    n_records
        Number of log-spaced steps at which ``w`` is recorded.
    """
    d_list = [check_positive(d, f"targets[{i}]") for i, d in enumerate(targets)]
    if not d_list:
        raise ValueError("targets must contain at least one target")
    for i, d in enumerate(d_list):
        if d > A:
            raise ValueError(f"targets[{i}] must be <= 1.7159 (the asymptote); got {d}")
    w0 = float(w0)
    eta = check_positive(eta, "eta")
    n_steps = check_int(n_steps, "n_steps", min_value=10)
    n_records = check_int(n_records, "n_records", min_value=2)
    steps = np.unique(np.round(np.geomspace(1, n_steps, n_records)).astype(int))
    steps = np.concatenate([[0], steps])
    record = set(steps.tolist())
    rows = []
    for d in d_list:
        w, row = w0, []
        for step in range(n_steps + 1):
            if step in record:
                row.append(w)
            t = math.tanh(S * w)
            w -= eta * (A * t - d) * A * S * (1.0 - t * t)
        rows.append(row)
    return SingleUnitGrowth(
        targets=np.asarray(d_list), steps=steps.astype(float), w=np.asarray(rows), eta=eta
    )


# ---------------------------------------------------------------------------------------------
# A digit classifier
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetValues:
    """What each target coding does to a 64-30-10 network trained with the squared error.

    Attributes
    ----------
    names
        The target codings that were run (keys of the ``setups`` given).
    labels
        Name → the coding's description (:attr:`TargetSetup.label`).
    seeds
        Seeds of the initial weights and the presentation order.
    epoch
        Checkpoints (epochs) at which the arrays below are recorded.
    weight_norm
        Name → ``(len(seeds), len(epoch))``: Frobenius norm of the output layer's weights.
    saturated
        Name → ``(len(seeds), len(epoch))``: fraction of output units, over the training set,
        whose relative slope ``f′(z)/f′(0)`` is below ``threshold``.
    test_error_curve
        Name → ``(len(seeds), len(epoch))``: test error at each checkpoint.
    saturated_wrong_label
        Name → ``(len(seeds),)``: that fraction on the training patterns whose label was
        corrupted, at the end.
    fit_wrong_label
        Name → ``(len(seeds),)``: fraction of the corrupted training patterns classified as
        their (wrong) label at the end: memorized noise.  Both are NaN when ``label_noise``
        corrupts no label.
    test_error
        Name → ``(len(seeds),)``: test error at the end.
    saturated_test
        Name → ``(len(seeds),)``: fraction of output units saturated over the test set, at the end.
    saturated_errors
        Name → ``(len(seeds),)``: fraction of misclassified test digits whose winning output
        unit is saturated (confidently wrong).
    saturated_true_class
        Name → ``(len(seeds),)``: fraction of misclassified test digits whose *true* class's
        output unit is saturated (confidently rejecting the right answer).
    eta
        Name → the learning rate that coding was trained with.
    threshold, label_noise, batch_size, n_train, n_test
        The settings.
    """

    names: tuple[str, ...]
    labels: dict[str, str]
    seeds: np.ndarray
    epoch: np.ndarray
    weight_norm: dict[str, np.ndarray]
    saturated: dict[str, np.ndarray]
    test_error_curve: dict[str, np.ndarray]
    saturated_wrong_label: dict[str, np.ndarray]
    fit_wrong_label: dict[str, np.ndarray]
    test_error: dict[str, np.ndarray]
    saturated_test: dict[str, np.ndarray]
    saturated_errors: dict[str, np.ndarray]
    saturated_true_class: dict[str, np.ndarray]
    threshold: float
    label_noise: float
    eta: dict[str, float]
    batch_size: int
    n_train: int
    n_test: int

    def growth(self, name: str) -> np.ndarray:
        """Per seed, the output-weight norm at the end divided by the norm at the start."""
        w = self.weight_norm[name]
        return w[:, -1] / w[:, 0]

    def best_test_error(self, name: str) -> tuple[float, float]:
        """The lowest seed-mean test error over the checkpoints, and its epoch."""
        curve = self.test_error_curve[name].mean(axis=0)
        i = int(np.argmin(curve))
        return float(curve[i]), float(self.epoch[i])

    def late_growth(self, name: str) -> np.ndarray:
        """Per seed, the norm at the last checkpoint divided by the norm at the middle one."""
        w = self.weight_norm[name]
        return w[:, -1] / w[:, len(self.epoch) // 2]


def _flip_labels(y: np.ndarray, fraction: float, n_classes: int, seed: int) -> tuple:
    """``y`` with ``round(fraction · P)`` labels moved to another class, and their indices."""
    rng = np.random.default_rng([seed, 7])
    y = y.copy()
    k = round(fraction * y.size)
    idx = np.sort(rng.choice(y.size, size=k, replace=False))
    y[idx] = (y[idx] + rng.integers(1, n_classes, size=k)) % n_classes
    return y, idx


def _check_setups(
    names: Sequence[str], setups: Mapping[str, TargetSetup] | None
) -> tuple[tuple[str, ...], dict[str, TargetSetup]]:
    setups = dict(SETUPS if setups is None else setups)
    for key, setup in setups.items():
        if not isinstance(setup, TargetSetup):
            raise TypeError(f"setups[{key!r}] must be a TargetSetup; got {type(setup).__name__}")
    if isinstance(names, (str, bytes)) or not isinstance(names, Sequence) or not names:
        raise TypeError("names must be a non-empty sequence of keys of setups")
    names = tuple(check_choice(n, f"names[{i}]", setups) for i, n in enumerate(names))
    return names, setups


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    if isinstance(seeds, (str, bytes)) or len(seeds) == 0:
        raise ValueError("seeds must be a non-empty sequence of ints")
    return [check_int(s, f"seeds[{i}]", min_value=0) for i, s in enumerate(seeds)]


def _noisy_digits(n_train: int, label_noise: float, data_seed: int) -> tuple:
    """The standardized split, its training labels with ``label_noise`` of them wrong, and
    the indices of the wrong ones."""
    label_noise = check_probability(label_noise, "label_noise")
    if label_noise >= 1:
        raise ValueError(f"label_noise must be in [0, 1); got {label_noise}")
    split = data.digits(n_train=n_train, seed=data_seed, standardize=True)
    y_noisy, flipped = _flip_labels(split.y_train, label_noise, split.n_classes, data_seed)
    return split, y_noisy, flipped, label_noise


def _weighted_sums(model: torch.nn.Sequential, X: np.ndarray) -> np.ndarray:
    """The output layer's weighted sums (before its activation)."""
    return outputs(model[:-1], X)


@dataclass(frozen=True)
class EtaSweep:
    """A small learning-rate sweep per target coding, and the rate each coding is given.

    Attributes
    ----------
    names
        The target codings swept.
    etas
        The learning rates tried, shape ``(E,)``.
    seeds
        Seeds of the initial weights and presentation order (not those of the comparison).
    epochs
        Training epochs of every run of the sweep.
    train_loss
        Name → ``(E, len(seeds))``: the training loss (squared error on the coding's own
        targets, wrong labels included) after ``epochs`` epochs; ``inf`` for a run that
        diverged.
    best
        Name → the rate with the lowest seed-mean training loss.
    """

    names: tuple[str, ...]
    etas: np.ndarray
    seeds: np.ndarray
    epochs: int
    train_loss: dict[str, np.ndarray]
    best: dict[str, float]

    def mean_loss(self, name: str) -> np.ndarray:
        """Seed-mean training loss per rate, shape ``(E,)`` (``inf`` where a run diverged)."""
        return self.train_loss[name].mean(axis=1)


def eta_sweep(
    *,
    names: Sequence[str] = tuple(SETUPS),
    setups: Mapping[str, TargetSetup] | None = None,
    etas: Sequence[float] = (0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6),
    hidden: int = 30,
    n_train: int = 300,
    label_noise: float = 0.1,
    batch_size: int = 30,
    epochs: int = 16,
    seeds: Sequence[int] = (10, 11, 12),
    data_seed: int = 0,
) -> EtaSweep:
    """Pick each coding's learning rate: the fastest to lower its own training loss.

    Every coding is trained for ``epochs`` epochs at every rate of ``etas``, from every seed
    (all ``len(etas) · len(seeds)`` networks of a coding at once, by
    :func:`ebp.many.fit_many`), on the same data as :func:`target_values`.  The chosen rate
    is the one with the lowest seed-mean training loss at the end; a rate at which any run
    diverges is never chosen.  The test set is not looked at.  Use seeds other than those of
    the comparison, so that the rates are not tuned on the very runs they are used for.

    Parameters
    ----------
    names, setups, hidden, n_train, label_noise, batch_size, data_seed
        As in :func:`target_values`.
    etas
        Learning rates to try (> 0).
    epochs
        Epochs per run (≥ 1).
    seeds
        Seeds of the initial weights and the presentation order.
    """
    names, setups = _check_setups(names, setups)
    if isinstance(etas, (str, bytes)) or not isinstance(etas, Sequence) or not etas:
        raise TypeError("etas must be a non-empty sequence of positive numbers")
    etas = [check_positive(e, f"etas[{i}]") for i, e in enumerate(etas)]
    hidden = check_int(hidden, "hidden", min_value=1)
    epochs = check_int(epochs, "epochs", min_value=1)
    seeds = _check_seeds(seeds)
    split, y_noisy, _, _ = _noisy_digits(n_train, label_noise, data_seed)
    K, n_s = split.n_classes, len(seeds)
    loss: dict[str, np.ndarray] = {}
    best: dict[str, float] = {}
    with single_threaded():
        for name in names:
            setup = setups[name]
            T = data.encode_targets(y_noisy, K, setup.scheme, setup.value)
            sizes = (split.n_features, hidden, K)
            models = [net for _ in etas for net in _coding_nets(sizes, setup, seeds)]
            run = fit_many(
                models, split.X_train, T, loss="mse", epochs=epochs, batch_size=batch_size,
                eta=[e for e in etas for _ in seeds], seed=[s for _ in etas for s in seeds],
                on_divergence="stop",
            )  # fmt: skip
            final = np.array(
                [h.train_loss[-1] if not h.diverged else math.inf for h in run.histories]
            )
            loss[name] = final.reshape(len(etas), n_s)
            best[name] = float(etas[int(np.argmin(loss[name].mean(axis=1)))])
    return EtaSweep(
        names=names,
        etas=np.asarray(etas, dtype=float),
        seeds=np.asarray(seeds),
        epochs=epochs,
        train_loss=loss,
        best=best,
    )


def _check_rates_per_name(eta: float | Mapping[str, float], names: tuple[str, ...]) -> dict:
    """Name → learning rate, from one rate for all or a mapping with one per name."""
    if isinstance(eta, Mapping):
        missing = [n for n in names if n not in eta]
        if missing:
            raise ValueError(f"eta has no rate for {missing}")
        return {n: check_positive(eta[n], f"eta[{n!r}]") for n in names}
    return dict.fromkeys(names, check_positive(eta, "eta"))


def _check_checkpoints(checkpoints: Sequence[int]) -> list[int]:
    cps = [check_int(c, f"checkpoints[{i}]", min_value=0) for i, c in enumerate(checkpoints)]
    if not cps or cps[0] != 0 or any(b <= a for a, b in itertools.pairwise(cps)):
        raise ValueError(f"checkpoints must increase strictly from 0; got {list(checkpoints)}")
    return cps


def _coding_nets(
    sizes: tuple[int, ...], setup: TargetSetup, seeds: Sequence[int]
) -> list[torch.nn.Sequential]:
    """One ``sizes`` network of LeCun tanh hidden units and ``setup``'s outputs per seed."""
    return [
        nn.mlp(sizes, activation="lecun_tanh", output_activation=setup.output_activation, seed=s)
        for s in seeds
    ]


def _train_with_checkpoints(
    models: list[torch.nn.Sequential],
    targets: list[np.ndarray],
    split: data.Split,
    acts: list[str],
    *,
    etas: list[float],
    cps: list[int],
    batch_size: int,
    seeds: list[int],
    threshold: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train the networks of each coding side by side (``models`` in place), pausing at each
    checkpoint; returns the output-weight norm, the saturated share of the output units on
    the training set and the test error, each ``(n_codings, n_seeds, n_checkpoints)``."""
    n_s = len(seeds)
    shape = (len(acts), n_s, len(cps))
    norm, sat, err = np.zeros(shape), np.zeros(shape), np.zeros(shape)

    def measure(c: int) -> None:
        for m_i, model in enumerate(models):
            i, j = divmod(m_i, n_s)
            norm[i, j, c] = float(model[-2].weight.detach().norm())
            z = _weighted_sums(model, split.X_train)
            sat[i, j, c] = float(np.mean(relative_slope(acts[i], z) < threshold))
            z_test = _weighted_sums(model, split.X_test)
            err[i, j, c] = float(np.mean(z_test.argmax(1) != split.y_test))

    with single_threaded():
        measure(0)
        for c in range(1, len(cps)):
            for i in range(len(acts)):  # one fit_many call per coding: its own targets
                group = slice(i * n_s, (i + 1) * n_s)
                models[group] = fit_many(
                    models[group],
                    split.X_train,
                    targets[i],
                    loss="mse",
                    eta=etas[i],
                    epochs=cps[c] - cps[c - 1],
                    batch_size=batch_size,
                    seed=[1000 * c + s for s in seeds],  # a fresh order for every stretch
                    on_divergence="stop",
                ).models
            measure(c)
    return norm, sat, err


_FINAL = ("sat_wrong", "fit_wrong", "test", "sat_test", "sat_err", "sat_true")


def _final_measures(
    model: torch.nn.Sequential,
    act: str,
    split: data.Split,
    y_noisy: np.ndarray,
    flipped: np.ndarray,
    threshold: float,
) -> dict[str, float]:
    """The trained network's saturation and fit on the wrong labels, and its test error and
    saturation (overall, on the errors' winning class and on their true class)."""
    row = {}
    z_tr = _weighted_sums(model, split.X_train)
    if flipped.size:
        rel_tr = relative_slope(act, z_tr[flipped])
        row["sat_wrong"] = float(np.mean(rel_tr < threshold))
        fitted = z_tr[flipped].argmax(1) == y_noisy[flipped]
        row["fit_wrong"] = float(np.mean(fitted))
    else:  # no corrupted labels
        row["sat_wrong"] = math.nan
        row["fit_wrong"] = math.nan
    z_te = _weighted_sums(model, split.X_test)
    pred = z_te.argmax(1)
    wrong = pred != split.y_test
    row["test"] = float(np.mean(wrong))
    rel_te = relative_slope(act, z_te) < threshold
    row["sat_test"] = float(np.mean(rel_te))
    n_wrong = int(wrong.sum())
    win = rel_te[wrong, pred[wrong]]
    true = rel_te[wrong, split.y_test[wrong]]
    row["sat_err"] = float(win.mean()) if n_wrong else math.nan
    row["sat_true"] = float(true.mean()) if n_wrong else math.nan
    return row


def target_values(
    *,
    names: Sequence[str] = tuple(SETUPS),
    setups: Mapping[str, TargetSetup] | None = None,
    hidden: int = 30,
    n_train: int = 300,
    label_noise: float = 0.1,
    eta: float | Mapping[str, float] = 0.1,
    batch_size: int = 30,
    checkpoints: Sequence[int] = (0, 1, 2, 4, 8, 16, 32, 64, 128),
    threshold: float = 0.1,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    data_seed: int = 0,
) -> TargetValues:
    """Train one 64-``hidden``-10 network per target coding and seed, and measure saturation.

    The hidden units are ``1.7159 tanh(2x/3)``; the inputs are standardized digits; a fraction
    ``label_noise`` of the training labels is replaced by a wrong class (the same patterns for
    every run), standing in for the mislabelled and ambiguous patterns of real data.  All runs
    share ``batch_size``; each coding has its learning rate (one for all, or one per coding,
    e.g. :attr:`EtaSweep.best`).  The networks of a coding are trained side by side by
    :func:`ebp.many.fit_many`, paused at each checkpoint to measure them.

    Parameters
    ----------
    names
        Keys of ``setups``.
    setups
        Name → :class:`TargetSetup`; default :data:`SETUPS`.
    hidden
        Hidden units.
    n_train, label_noise
        Training-set size and the fraction of its labels corrupted, in [0, 1).
    eta
        Learning rate, one for every coding or a mapping with one per name of ``names``.
    batch_size
        Patterns per update.
    checkpoints
        Increasing epochs at which the networks are measured, starting at 0.
    threshold
        A unit counts as saturated when ``f′(z)/f′(0) < threshold``.
    seeds
        Seeds of the initial weights and presentation order (at least one).
    data_seed
        Seed of the data split and of the corrupted labels.
    """
    names, setups = _check_setups(names, setups)
    hidden = check_int(hidden, "hidden", min_value=1)
    etas = _check_rates_per_name(eta, names)
    threshold = check_probability(threshold, "threshold", open_interval=True)
    cps = _check_checkpoints(checkpoints)
    seeds = _check_seeds(seeds)

    split, y_noisy, flipped, label_noise = _noisy_digits(n_train, label_noise, data_seed)
    K = split.n_classes
    sizes = (split.n_features, hidden, K)
    models, targets = [], []
    for name in names:
        setup = setups[name]
        targets.append(data.encode_targets(y_noisy, K, setup.scheme, setup.value))
        models.extend(_coding_nets(sizes, setup, seeds))
    acts = [setups[n].output_activation for n in names]
    norm, sat, err = _train_with_checkpoints(
        models, targets, split, acts, etas=[etas[n] for n in names], cps=cps,
        batch_size=batch_size, seeds=seeds, threshold=threshold,
    )  # fmt: skip

    n_s = len(seeds)
    out: dict[str, dict[str, np.ndarray]] = {k: {} for k in _FINAL}
    for i, name in enumerate(names):
        rows = [
            _final_measures(model, acts[i], split, y_noisy, flipped, threshold)
            for model in models[i * n_s : (i + 1) * n_s]
        ]
        for k in out:
            out[k][name] = np.asarray([row[k] for row in rows])
    return TargetValues(
        names=names,
        labels={n: setups[n].label for n in names},
        seeds=np.asarray(seeds),
        epoch=np.asarray(cps, dtype=float),
        weight_norm={n: norm[i] for i, n in enumerate(names)},
        saturated={n: sat[i] for i, n in enumerate(names)},
        test_error_curve={n: err[i] for i, n in enumerate(names)},
        saturated_wrong_label=out["sat_wrong"],
        fit_wrong_label=out["fit_wrong"],
        test_error=out["test"],
        saturated_test=out["sat_test"],
        saturated_errors=out["sat_err"],
        saturated_true_class=out["sat_true"],
        threshold=threshold,
        label_noise=label_noise,
        eta=etas,
        batch_size=int(batch_size),
        n_train=split.n_train,
        n_test=split.n_test,
    )
