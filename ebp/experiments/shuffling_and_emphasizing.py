"""Experiments of the chapter "Shuffling and emphasizing" (paper §4.2).

- :func:`order_comparison`: online learning of a small digit classifier with the patterns of
  every epoch presented class by class (``"class_sorted"``), in a fixed order, shuffled afresh
  every epoch, or interleaved so that successive patterns never share a class; the training
  loss is recorded every few presentations, so that what happens *within* an epoch is seen.
- :func:`class_forgetting`: the same runs, with the loss of every class at every record: in
  class-sorted order each digit is learned during its block and forgotten during the others.
- :func:`emphasis_comparison`: the emphasizing scheme (:class:`ebp.presentation.Emphasis`)
  against plain shuffling, on clean labels and with a few percent of the training labels
  flipped to a wrong class; it measures the share of presentations the sampler spends on the
  mislabelled patterns, and what that does to the correctly labelled ones and to the test error.
- :func:`emphasis_profile`: the presentation probabilities of the scheme against each pattern's
  loss, with and without the cap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.utils import vector_to_parameters

from ebp import data, nn
from ebp._validate import (
    as_float_array,
    check_choice,
    check_in_range,
    check_int,
    check_positive,
    check_probability,
)
from ebp.many import fit_many
from ebp.presentation import ORDERS, Emphasis, emphasis_probabilities, epoch_order
from ebp.repro import single_threaded
from ebp.train import fit

__all__ = [
    "ClassForgetting",
    "EmphasisComparison",
    "EmphasisProfile",
    "OrderComparison",
    "class_forgetting",
    "emphasis_comparison",
    "emphasis_profile",
    "flip_labels",
    "order_comparison",
    "same_class_fraction",
]

CONDITIONS: tuple[str, ...] = ("clean", "noisy")
"""The two training sets of :func:`emphasis_comparison`: true labels, and some flipped."""


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, (Sequence, range)):
        raise TypeError("seeds must be a sequence of non-negative ints")
    if len(seeds) == 0:
        raise ValueError("seeds must contain at least one seed")
    return [check_int(s, f"seeds[{i}]", min_value=0) for i, s in enumerate(seeds)]


def _models(sizes: tuple[int, ...], seeds: list[int]) -> list[torch.nn.Module]:
    return [nn.mlp(sizes, activation="lecun_tanh", seed=s) for s in seeds]


def _errors(model: torch.nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    with torch.no_grad():
        out = model(torch.as_tensor(X, dtype=torch.float32))
    return float(np.mean(out.argmax(1).numpy() != y))


def _pattern_losses(model: torch.nn.Module, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each pattern's cross-entropy ``E^p`` (float64)."""
    with torch.no_grad():
        out = model(torch.as_tensor(X, dtype=torch.float32))
        loss = F.cross_entropy(out, torch.as_tensor(y), reduction="none")
    return loss.numpy().astype(np.float64)


# ---------------------------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------------------------


def flip_labels(
    y: np.ndarray, fraction: float, n_classes: int, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``y`` with ``round(fraction · P)`` labels moved to another class, and their indices.

    Each chosen label is replaced by one of the other ``n_classes − 1`` classes, uniformly.

    Parameters
    ----------
    y
        Integer labels ``(P,)`` in ``0 … n_classes − 1``.
    fraction
        Share of the labels to corrupt, in [0, 1).
    n_classes
        Number of classes, ≥ 2.
    seed
        Seed of the choice of patterns and of their wrong labels.
    """
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise TypeError(f"y must be 1-D integer labels; got dtype {y.dtype}, shape {y.shape}")
    fraction = check_probability(fraction, "fraction")
    if fraction >= 1:
        raise ValueError(f"fraction must be in [0, 1); got {fraction}")
    n_classes = check_int(n_classes, "n_classes", min_value=2)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"y must lie in [0, {n_classes - 1}]")
    seed = check_int(seed, "seed", min_value=0)
    rng = np.random.default_rng([seed, 42])
    k = round(fraction * y.size)
    idx = np.sort(rng.choice(y.size, size=k, replace=False))
    out = y.astype(np.int64)
    out[idx] = (out[idx] + rng.integers(1, n_classes, size=k)) % n_classes
    return out, idx


def same_class_fraction(order: np.ndarray, labels: np.ndarray) -> float:
    """Share of successive presentations ``(i, i+1)`` whose patterns have the same class.

    Parameters
    ----------
    order
        Pattern indices in presentation order (one epoch), at least two.
    labels
        Class label of every pattern.
    """
    order = np.asarray(order)
    labels = np.asarray(labels)
    if order.ndim != 1 or order.size < 2:
        raise ValueError(f"order must be 1-D with at least 2 entries; got shape {order.shape}")
    seq = labels[order]
    return float(np.mean(seq[1:] == seq[:-1]))


# ---------------------------------------------------------------------------------------------
# Experiment 1: presentation orders
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderComparison:
    """Online learning of a digit classifier with different presentation orders.

    Attributes
    ----------
    orders
        The orders compared (names of :data:`ebp.presentation.ORDERS`).
    seeds
        Seeds of the initial weights and of the order's randomness.
    presentations
        ``(T,)``: presentations at the records (every ``record_every``, from 0).
    train_loss
        Order → ``(len(seeds), T)``: cross-entropy on the whole training set.
    test_error
        Order → ``(len(seeds),)``: test error at the end.
    same_class
        Order → share of successive presentations with the same class in the first epoch
        (mean over the seeds).
    class_counts
        Training patterns per class (``class_sorted`` presents them in blocks of these sizes).
    n_train, n_test, hidden, eta, batch_size, epochs, record_every
        The settings.
    """

    orders: tuple[str, ...]
    seeds: np.ndarray
    presentations: np.ndarray
    train_loss: dict[str, np.ndarray]
    test_error: dict[str, np.ndarray]
    same_class: dict[str, float]
    class_counts: np.ndarray
    n_train: int
    n_test: int
    hidden: int
    eta: float
    batch_size: int
    epochs: int
    record_every: int

    def final_loss(self, order: str) -> np.ndarray:
        """Per seed, the training loss at the end of the last epoch."""
        return self.train_loss[order][:, -1]

    def last_epoch(self, order: str) -> np.ndarray:
        """``(len(seeds), m)``: the records during the last epoch (its end included)."""
        start = self.presentations > (self.epochs - 1) * self.n_train
        return self.train_loss[order][:, start]

    def last_epoch_mean(self, order: str) -> np.ndarray:
        """Per seed, the mean of the training losses recorded during the last epoch.

        Less noisy than the loss at the very end, and fair to an order whose loss oscillates
        within the epoch.
        """
        return self.last_epoch(order).mean(axis=1)

    def climb(self, order: str) -> np.ndarray:
        """Per seed, the sum of the increases of the recorded training loss over the run.

        A loss that only goes down climbs 0; one that oscillates climbs the height of every
        rise it has to come down from again.
        """
        steps = np.diff(self.train_loss[order], axis=1)
        return np.clip(steps, 0.0, None).sum(axis=1)

    def first_below(self, order: str, level: float) -> float:
        """Presentations at the first record where the seed-mean training loss of ``order`` is
        at or below ``level`` (NaN if it never is)."""
        below = np.flatnonzero(self.train_loss[order].mean(axis=0) <= level)
        return float(self.presentations[below[0]]) if below.size else float("nan")

    def ratio(self, order: str, reference: str = "shuffle") -> float:
        """Seed mean of :meth:`last_epoch_mean` for ``order`` over that for ``reference``."""
        return float(self.last_epoch_mean(order).mean() / self.last_epoch_mean(reference).mean())


@single_threaded()
def _order_setup(
    orders: Any,
    n_train: Any,
    hidden: Any,
    eta: Any,
    batch_size: Any,
    epochs: Any,
    record_every: Any,
    seeds: Any,
    data_seed: int,
) -> tuple[tuple[str, ...], int, int, float, int, int, int, list[int], data.Split]:
    """The checked arguments of :func:`order_comparison` and :func:`class_forgetting`."""
    if isinstance(orders, (str, bytes)) or not isinstance(orders, Sequence) or not orders:
        raise TypeError("orders must be a non-empty sequence of order names")
    orders = tuple(check_choice(o, f"orders[{i}]", ORDERS) for i, o in enumerate(orders))
    n_train = check_int(n_train, "n_train", min_value=20)
    hidden = check_int(hidden, "hidden", min_value=1)
    eta = check_positive(eta, "eta")
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    epochs = check_int(epochs, "epochs", min_value=1)
    record_every = check_int(record_every, "record_every", min_value=1)
    split = data.digits(n_train=n_train, seed=data_seed, standardize=True)
    seeds = _check_seeds(seeds)
    return orders, n_train, hidden, eta, batch_size, epochs, record_every, seeds, split


def order_comparison(
    *,
    orders: Sequence[str] = ("class_sorted", "fixed", "shuffle", "interleaved"),
    n_train: int = 200,
    hidden: int = 16,
    eta: float = 0.1,
    batch_size: int = 1,
    epochs: int = 3,
    record_every: int = 10,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    data_seed: int = 0,
) -> OrderComparison:
    """Train a 64-``hidden``-10 digit classifier with each presentation order, per seed.

    The hidden units are ``1.7159 tanh(2x/3)``, the loss is the softmax cross-entropy, the
    inputs are standardized digits; the update is plain SGD with rate ``eta`` on mini-batches of
    ``batch_size`` patterns (1: online learning, eq 11).  The order's mini-batches are cut from
    the epoch's sequence of :func:`ebp.presentation.epoch_order`, so with ``"class_sorted"`` every
    mini-batch but a few holds one class.

    Parameters
    ----------
    orders
        Orders to compare (each in :data:`ebp.presentation.ORDERS`).
    n_train
        Training patterns (stratified: about ``n_train/10`` per digit).
    hidden
        Hidden units.
    eta, batch_size, epochs
        SGD settings.
    record_every
        Record the training loss every this many presentations.
    seeds
        Seeds of the initial weights and of the presentation order.
    data_seed
        Seed of the data split.
    """
    orders, n_train, hidden, eta, batch_size, epochs, record_every, seeds, split = _order_setup(
        orders, n_train, hidden, eta, batch_size, epochs, record_every, seeds, data_seed
    )
    X, y = split.X_train, split.y_train
    sizes = (split.n_features, hidden, split.n_classes)

    losses, errors, same = {}, {}, {}
    presentations = np.zeros(0)
    for order in orders:
        run = fit_many(
            _models(sizes, seeds),
            X,
            y,
            loss="cross_entropy",
            eta=eta,
            epochs=epochs,
            batch_size=batch_size,
            order=order,
            seed=seeds,
            record_every=record_every,
        )
        presentations = np.asarray(run.histories[0].presentations, dtype=float)
        losses[order] = run.train_loss
        errors[order] = np.array([_errors(m, split.X_test, split.y_test) for m in run.models])
        fractions = [
            same_class_fraction(
                epoch_order(order, y.size, labels=y, generator=torch.Generator().manual_seed(s)),
                y,
            )
            for s in seeds
        ]
        same[order] = float(np.mean(fractions))
    return OrderComparison(
        orders=orders,
        seeds=np.asarray(seeds),
        presentations=presentations,
        train_loss=losses,
        test_error=errors,
        same_class=same,
        class_counts=np.bincount(y, minlength=split.n_classes),
        n_train=split.n_train,
        n_test=split.n_test,
        hidden=hidden,
        eta=eta,
        batch_size=batch_size,
        epochs=epochs,
        record_every=record_every,
    )


@dataclass(frozen=True)
class ClassForgetting:
    """The loss on each class, recorded every few presentations of online learning.

    Attributes
    ----------
    orders
        The orders run.
    seeds
        Seeds of the initial weights and of the order's randomness.
    presentations
        ``(T,)``: presentations at the records.
    class_loss
        Order → ``(len(seeds), n_classes, T)``: mean cross-entropy of each class's training
        patterns.
    train_loss
        Order → ``(len(seeds), T)``: the loss on the whole training set (as ``fit`` recorded it).
    class_counts
        Training patterns per class.
    n_train, eta, batch_size, epochs, record_every
        The settings.
    """

    orders: tuple[str, ...]
    seeds: np.ndarray
    presentations: np.ndarray
    class_loss: dict[str, np.ndarray]
    train_loss: dict[str, np.ndarray]
    class_counts: np.ndarray
    n_train: int
    eta: float
    batch_size: int
    epochs: int
    record_every: int

    def class_swing(self, order: str) -> np.ndarray:
        """Per seed, how far the loss of a class swings within the last epoch.

        For each class, the largest over the smallest of its loss among the records of the last
        epoch; then the geometric mean over the classes.
        """
        start = self.presentations > (self.epochs - 1) * self.n_train
        rows = self.class_loss[order][:, :, start]
        return np.exp(np.log(rows.max(axis=2) / rows.min(axis=2)).mean(axis=1))

    def block_edges(self) -> np.ndarray:
        """Presentations at which the class blocks of a class-sorted epoch begin and end.

        ``edges[e, c]`` and ``edges[e, c + 1]`` bound the presentations of class ``c`` in epoch
        ``e + 1``; shape ``(epochs, n_classes + 1)``.
        """
        offsets = np.concatenate([[0], np.cumsum(self.class_counts)])
        return np.arange(self.epochs)[:, None] * self.n_train + offsets[None, :]


@single_threaded()
def class_forgetting(
    *,
    orders: Sequence[str] = ("class_sorted", "shuffle"),
    n_train: int = 200,
    hidden: int = 16,
    eta: float = 0.1,
    batch_size: int = 1,
    epochs: int = 3,
    record_every: int = 10,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    data_seed: int = 0,
) -> ClassForgetting:
    """The runs of :func:`order_comparison`, with the loss of every class at every record.

    The networks are trained one by one with :func:`ebp.train.fit` (same arguments, so the
    same runs as :func:`order_comparison`'s to rounding) with ``snapshots=True``: the weights
    recorded every ``record_every`` presentations are then evaluated class by class.

    Parameters
    ----------
    orders, n_train, hidden, eta, batch_size, epochs, record_every, seeds, data_seed
        As in :func:`order_comparison`.
    """
    orders, n_train, hidden, eta, batch_size, epochs, record_every, seeds, split = _order_setup(
        orders, n_train, hidden, eta, batch_size, epochs, record_every, seeds, data_seed
    )
    X, y = split.X_train, split.y_train
    K = split.n_classes
    counts = np.bincount(y, minlength=K)
    sizes = (split.n_features, hidden, K)
    probe = _models(sizes, [0])[0]
    class_loss, train_loss = {}, {}
    presentations = np.zeros(0)
    for order in orders:
        per_seed, totals = [], []
        for model, s in zip(_models(sizes, seeds), seeds, strict=True):
            h = fit(
                model, X, y, loss="cross_entropy", eta=eta, epochs=epochs,
                batch_size=batch_size, order=order, seed=s, record_every=record_every,
                snapshots=True, on_divergence="stop",
            )  # fmt: skip
            rows = []
            for w in h.weights:
                vector_to_parameters(torch.as_tensor(w, dtype=torch.float32), probe.parameters())
                rows.append(np.bincount(y, _pattern_losses(probe, X, y), minlength=K) / counts)
            per_seed.append(np.asarray(rows).T)
            totals.append(h.train_loss)
            presentations = np.asarray(h.presentations, dtype=float)
        class_loss[order] = np.asarray(per_seed)
        train_loss[order] = np.asarray(totals)
    return ClassForgetting(
        orders=orders,
        seeds=np.asarray(seeds),
        presentations=presentations,
        class_loss=class_loss,
        train_loss=train_loss,
        class_counts=counts,
        n_train=split.n_train,
        eta=eta,
        batch_size=batch_size,
        epochs=epochs,
        record_every=record_every,
    )


# ---------------------------------------------------------------------------------------------
# Experiment 2: emphasizing, with and without mislabelled patterns
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmphasisComparison:
    """Plain shuffling against emphasizing, on clean labels and with some labels flipped.

    Every array below is indexed ``[condition][setting]``, with ``condition`` in
    ``("clean", "noisy")`` and ``setting`` in :attr:`settings`; shapes are
    ``(len(seeds), len(epoch))`` unless said otherwise.

    Attributes
    ----------
    settings
        ``"shuffle"`` (no emphasis), then one name per entry of :attr:`caps`, such as
        ``"cap 4"`` or ``"no cap"``; the ``"clean"`` condition has only some of them (see
        :meth:`runs`).
    caps
        Setting → the cap of its :class:`ebp.presentation.Emphasis` (``None``: no cap, i.e.
        a cap of ``n_train``, which never binds).
    epoch
        ``(E + 1,)``: the records, 0 … ``epochs``.
    seeds
        Seeds of the initial weights and of the presentation order.
    flipped
        Indices of the training patterns whose label is wrong in the ``"noisy"`` condition.
    train_loss
        Loss on the whole training set, with the labels the network was trained on.
    clean_loss
        Loss on the correctly labelled training patterns (all of them in ``"clean"``).
    flipped_loss
        Loss on the mislabelled patterns, with their wrong labels (NaN in ``"clean"``).
    test_error
        Test error.
    flipped_share
        ``(len(seeds), E)``: column ``e`` is the share of the presentations of epoch ``e + 1``
        that go to the mislabelled patterns (the expectation ``Σ_{p∈flipped} P_p`` under the
        probabilities the sampler draws that epoch from; exactly ``len(flipped)/n_train`` for
        ``"shuffle"``).  In ``"clean"`` it is computed for the same patterns, whose labels are
        right there: the share they would get anyway.
    pattern_loss
        ``[condition][setting]`` → ``(len(seeds), len(epoch), n_train)``: each training
        pattern's loss (with the labels trained on) at every record.
    label_noise, n_train, n_test, hidden, eta, batch_size
        The settings.
    """

    settings: tuple[str, ...]
    caps: dict[str, float | None]
    epoch: np.ndarray
    seeds: np.ndarray
    flipped: np.ndarray
    train_loss: dict[str, dict[str, np.ndarray]]
    clean_loss: dict[str, dict[str, np.ndarray]]
    flipped_loss: dict[str, dict[str, np.ndarray]]
    test_error: dict[str, dict[str, np.ndarray]]
    flipped_share: dict[str, dict[str, np.ndarray]]
    pattern_loss: dict[str, dict[str, np.ndarray]]
    label_noise: float
    n_train: int
    n_test: int
    hidden: int
    eta: float
    batch_size: int

    def runs(self, condition: str) -> tuple[str, ...]:
        """The settings that were run in ``condition``."""
        return tuple(s for s in self.settings if s in self.test_error[condition])

    @property
    def noise_share(self) -> float:
        """The share of mislabelled training patterns, ``len(flipped)/n_train``."""
        return self.flipped.size / self.n_train

    def final(self, measure: str, condition: str, setting: str) -> np.ndarray:
        """Per seed, the last value of ``measure`` (a field name) for one run."""
        return getattr(self, measure)[condition][setting][:, -1]


def _emphasis_of(cap: float | None, n: int) -> Emphasis:
    return Emphasis(cap=float(n) if cap is None else cap)


def _measure(
    models: list[torch.nn.Module],
    split: data.Split,
    labels: np.ndarray,
    is_flipped: np.ndarray,
    emphasis: Emphasis | None,
) -> dict[str, list]:
    """Per model: the measurements of :class:`EmphasisComparison` at one record."""
    X, y_true = split.X_train, split.y_train
    losses = [_pattern_losses(m, X, labels) for m in models]
    if emphasis is None:
        shares = [is_flipped.mean()] * len(models)
    else:
        shares = [emphasis_probabilities(v, cap=emphasis.cap)[is_flipped].sum() for v in losses]
    return {
        "losses": losses,
        "train": [v.mean() for v in losses],
        "clean": [v[labels == y_true].mean() for v in losses],
        "flipped": [v[is_flipped].mean() if (labels != y_true).any() else np.nan for v in losses],
        "test": [_errors(m, split.X_test, split.y_test) for m in models],
        "share": shares,
    }


@single_threaded()
def emphasis_comparison(
    *,
    caps: Sequence[float | None] = (4.0, None),
    clean_caps: Sequence[float | None] = (4.0,),
    label_noise: float = 0.03,
    n_train: int = 200,
    hidden: int = 16,
    eta: float = 0.1,
    batch_size: int = 10,
    epochs: int = 20,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    data_seed: int = 0,
) -> EmphasisComparison:
    """Train the digit classifier of :func:`order_comparison` with and without emphasizing.

    Each seed's network is trained by SGD on mini-batches of ``batch_size`` on the true labels
    (``"clean"``) and on labels of which a share ``label_noise`` is flipped to a wrong class
    (``"noisy"``, the same patterns for every run): with plain shuffling, and with
    :class:`ebp.presentation.Emphasis` (errors = each pattern's own cross-entropy, power 1, no
    floor) for each cap of ``caps`` (noisy) and ``clean_caps`` (clean).  The seeds are trained
    side by side by :func:`ebp.many.fit_many`, one epoch per call (epoch ``e`` shuffles with
    seeds ``1000 e + seed``), and the networks are measured after every epoch.  The emphasizing
    sampler sets its probabilities from the losses at the start of every epoch, so pausing
    between epochs changes nothing but the random draws.

    Parameters
    ----------
    caps
        Caps of the emphasizing runs on the noisy labels (each ≥ 1, or ``None`` for no cap), at
        least one.
    clean_caps
        Caps of the emphasizing runs on the clean labels (a subset of ``caps``).
    label_noise
        Share of training labels flipped in the noisy condition, in (0, 1).
    n_train, hidden, eta, batch_size, epochs
        Data and SGD settings.
    seeds
        Seeds of the initial weights and of the presentation order.
    data_seed
        Seed of the data split and of the flipped labels.
    """
    if isinstance(caps, (str, bytes)) or not isinstance(caps, Sequence) or not caps:
        raise TypeError("caps must be a non-empty sequence of caps (numbers >= 1 or None)")
    caps = [None if c is None else check_in_range(c, f"caps[{i}]", 1.0) for i, c in enumerate(caps)]
    if isinstance(clean_caps, (str, bytes)) or not isinstance(clean_caps, Sequence):
        raise TypeError("clean_caps must be a sequence of entries of caps")
    for i, c in enumerate(clean_caps):
        if c not in caps:
            raise ValueError(f"clean_caps[{i}] must be one of caps {list(caps)}; got {c!r}")
    label_noise = check_probability(label_noise, "label_noise", open_interval=True)
    n_train = check_int(n_train, "n_train", min_value=20)
    hidden = check_int(hidden, "hidden", min_value=1)
    eta = check_positive(eta, "eta")
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    epochs = check_int(epochs, "epochs", min_value=1)
    seeds = _check_seeds(seeds)
    split = data.digits(n_train=n_train, seed=data_seed, standardize=True)
    X, y_true = split.X_train, split.y_train
    y_noisy, flipped = flip_labels(y_true, label_noise, split.n_classes, seed=data_seed)
    if flipped.size == 0:
        raise ValueError(f"label_noise={label_noise:g} flips no label of {n_train} patterns")
    is_flipped = np.zeros(y_true.size, dtype=bool)
    is_flipped[flipped] = True
    sizes = (split.n_features, hidden, split.n_classes)
    names = {c: "no cap" if c is None else f"cap {c:g}" for c in caps}
    settings = ("shuffle", *names.values())
    fields = ("train", "clean", "flipped", "test", "share", "final")
    out: dict[str, dict[str, dict[str, np.ndarray]]] = {f: {} for f in fields}
    for condition, labels in (("clean", y_true), ("noisy", y_noisy)):
        for f in fields:
            out[f][condition] = {}
        run = [c for c in caps if condition == "noisy" or c in clean_caps]
        for cap in ["shuffle", *run]:
            setting = "shuffle" if cap == "shuffle" else names[cap]
            emphasis = None if cap == "shuffle" else _emphasis_of(cap, y_true.size)
            models = _models(sizes, seeds)
            rows = [_measure(models, split, labels, is_flipped, emphasis)]
            for e in range(1, epochs + 1):  # one epoch at a time, to measure after each
                models = fit_many(
                    models, X, labels, loss="cross_entropy", eta=eta, epochs=1,
                    batch_size=batch_size, emphasis=emphasis, seed=[1000 * e + s for s in seeds],
                ).models  # fmt: skip
                rows.append(_measure(models, split, labels, is_flipped, emphasis))
            for f in ("train", "clean", "flipped", "test"):
                out[f][condition][setting] = np.array([r[f] for r in rows]).T
            out["share"][condition][setting] = np.array([r["share"] for r in rows[:-1]]).T
            out["final"][condition][setting] = np.array([r["losses"] for r in rows]).swapaxes(0, 1)

    return EmphasisComparison(
        settings=settings,
        caps={names[c]: c for c in caps},
        epoch=np.arange(epochs + 1, dtype=float),
        seeds=np.asarray(seeds),
        flipped=flipped,
        train_loss=out["train"],
        clean_loss=out["clean"],
        flipped_loss=out["flipped"],
        test_error=out["test"],
        flipped_share=out["share"],
        pattern_loss=out["final"],
        label_noise=label_noise,
        n_train=split.n_train,
        n_test=split.n_test,
        hidden=hidden,
        eta=eta,
        batch_size=batch_size,
    )


# ---------------------------------------------------------------------------------------------
# The probabilities against the loss
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmphasisProfile:
    """Presentation probabilities of the emphasizing scheme against each pattern's loss.

    Attributes
    ----------
    loss
        ``(n,)``: each pattern's loss.
    flipped
        ``(n,)`` bool: which patterns are mislabelled.
    caps
        Label → cap (``None``: no cap).
    relative
        Label → ``(n,)``: ``n · P_p``, the presentation rate relative to uniform shuffling.
    """

    loss: np.ndarray
    flipped: np.ndarray
    caps: dict[str, float | None]
    relative: dict[str, np.ndarray]

    def share(self, label: str) -> float:
        """The share of presentations that goes to the flipped patterns under ``label``."""
        return float(self.relative[label][self.flipped].sum() / self.loss.size)


def emphasis_profile(
    loss: np.ndarray, flipped: np.ndarray, *, caps: Sequence[float | None] = (4.0, None)
) -> EmphasisProfile:
    """The emphasizing probabilities (power 1, no floor) of ``loss`` for each cap.

    Parameters
    ----------
    loss
        Per-pattern losses ``(n,)``, ≥ 0.
    flipped
        Indices (int) or a mask (bool, ``(n,)``) of the mislabelled patterns.
    caps
        Caps (≥ 1) or ``None`` for none (a cap of ``n``).
    """
    loss = as_float_array(loss, "loss", ndim=1)
    if loss.size == 0 or (loss < 0).any():
        raise ValueError("loss must hold at least one value, all >= 0")
    n = loss.size
    mask = np.asarray(flipped)
    if mask.dtype != np.bool_:
        idx = mask.astype(np.int64)
        mask = np.zeros(n, dtype=bool)
        mask[idx] = True
    if mask.shape != (n,):
        raise ValueError(f"flipped must be indices or a mask of shape ({n},)")
    labels = {}
    for i, c in enumerate(caps):
        cap = None if c is None else check_in_range(c, f"caps[{i}]", 1.0)
        labels["no cap" if cap is None else f"cap {cap:g}"] = cap
    relative = {
        k: n * emphasis_probabilities(loss, cap=float(n) if c is None else c)
        for k, c in labels.items()
    }
    return EmphasisProfile(loss=loss, flipped=mask, caps=labels, relative=relative)
