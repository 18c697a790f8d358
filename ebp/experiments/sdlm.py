"""Experiments of the chapter "Stochastic diagonal Levenberg–Marquardt" (paper §9.1).

- :func:`linear_unit_sdlm`: the paper's Figs 22/23 – :class:`ebp.optim.SDLM` on one linear unit
  with two inputs and a bias, trained online on the two Gaussian classes of Fig 10: its three
  per-weight rates ``ε/(h + μ)`` (eq 61) and the loss in dB against epochs, over seeds.
- :func:`digits_race`: time to a training-loss target on the digits, SDLM against plain SGD,
  each at the best of a small sweep of its rate (SGD's through :func:`ebp.many.fit_many`).
- :func:`time_per_presentation`: CPU seconds per presentation of both, for wall-time estimates.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ebp import data
from ebp import nn as ebp_nn
from ebp._validate import check_choice, check_int, check_positive
from ebp.many import fit_many
from ebp.optim import SDLM
from ebp.repro import single_threaded
from ebp.train import fit

__all__ = [
    "PAPER_RATES",
    "PAPER_RATE_DECIMALS",
    "DigitsRace",
    "LinearUnitSDLM",
    "PresentationCost",
    "db",
    "digits_race",
    "linear_unit_sdlm",
    "paper_ratio_window",
    "presentations_to_target",
    "time_per_presentation",
]

PAPER_RATES: dict[str, tuple[float, float, float]] = {
    "fig22": (0.12, 0.03, 0.02),
    "fig23": (0.76, 0.18, 0.12),
}
"""The per-weight rates η₀, η₁, η₂ printed with the paper's Figs 22 and 23."""

PAPER_RATE_DECIMALS = 2
"""Decimal places to which the paper prints the rates of :data:`PAPER_RATES`."""


def paper_ratio_window(figure: str) -> tuple[float, float]:
    """The range of ``η₀ : η₁`` consistent with the rates printed with a figure of the paper.

    Each printed rate stands for any value within half a unit of its last digit
    (:data:`PAPER_RATE_DECIMALS`), so the ratio lies between ``(η₀ − h)/(η₁ + h)`` and
    ``(η₀ + h)/(η₁ − h)``, ``h = 0.5 · 10^{-decimals}``: for Fig 22 (0.12/0.03) from 3.29 to 5,
    for Fig 23 (0.76/0.18) from 4.08 to 4.37.

    Parameters
    ----------
    figure
        ``"fig22"`` or ``"fig23"`` (a key of :data:`PAPER_RATES`).
    """
    check_choice(figure, "figure", tuple(PAPER_RATES))
    eta0, eta1, _ = PAPER_RATES[figure]
    h = 0.5 * 10.0**-PAPER_RATE_DECIMALS
    return (eta0 - h) / (eta1 + h), (eta0 + h) / (eta1 - h)


WEIGHT_NAMES: tuple[str, str, str] = ("w₁ (input 1)", "w₂ (input 2)", "b (bias)")
"""The linear unit's weights, in the order of :attr:`LinearUnitSDLM.rates`."""


def db(loss: np.ndarray | float) -> np.ndarray:
    """``10 log10(E)``: a loss in decibels, as the paper plots it (Figs 22/23)."""
    return 10.0 * np.log10(np.asarray(loss, dtype=np.float64))


def _check_seeds(seeds: Sequence[int]) -> np.ndarray:
    arr = np.asarray(list(seeds))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError("seeds must be a non-empty sequence of integers")
    for s in arr.tolist():
        check_int(s, "seeds", min_value=0)
    return arr.astype(int)


def _check_rates(values: Sequence[float], name: str) -> np.ndarray:
    arr = np.asarray(list(values), dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty sequence of positive numbers")
    for v in arr.tolist():
        check_positive(v, name)
    return arr


# ---------------------------------------------------------------------------------------------
# Figs 22/23: one linear unit on the Fig 10 data
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinearUnitSDLM:
    """SDLM on a linear unit ``o = w₁x₁ + w₂x₂ + b`` (Figs 22/23).

    Attributes
    ----------
    eps
        ``(n_eps,)`` the values of ε tried.
    mu, gamma
        μ and γ of eqs 61–62.
    curvature
        ``(3,)`` the Gauss–Newton diagonal ``h`` the optimizer used (for a linear unit and the
        ½-mean squared error it is ``(⟨x₁²⟩, ⟨x₂²⟩, 1)``, whatever the weights).
    input_moments
        ``(3,)`` ``(⟨x₁²⟩, ⟨x₂²⟩, 1)`` computed from the data directly, to check ``curvature``.
    rates
        ``(n_eps, 3)`` the per-weight rates ``ε/(h + μ)`` (eq 61) of each run (the same for
        every seed).
    presentations
        ``(T,)`` presentations at the records.
    n_train
        Patterns per epoch.
    loss
        ``(n_eps, n_seeds, T)`` training loss ``E = (1/P) Σ ½(d − o)²``.
    min_loss
        The least ``E`` a linear unit can reach on the data (least squares).
    seeds
        The seeds (initial weights and order of presentation).
    """

    eps: np.ndarray
    mu: float
    gamma: float
    curvature: np.ndarray
    input_moments: np.ndarray
    rates: np.ndarray
    presentations: np.ndarray
    n_train: int
    loss: np.ndarray
    min_loss: float
    seeds: np.ndarray

    @property
    def epochs(self) -> np.ndarray:
        """``(T,)`` the records in epochs."""
        return self.presentations / self.n_train

    @property
    def loss_db(self) -> np.ndarray:
        """``(n_eps, n_seeds, T)`` the loss in dB, ``10 log10 E``."""
        return db(self.loss)

    @property
    def min_loss_db(self) -> float:
        """The least reachable loss in dB."""
        return float(db(self.min_loss))

    @property
    def rate_ratio(self) -> float:
        """``η₀ : η₁``, the rate of ``w₁`` over that of ``w₂`` (the same for every ε)."""
        return float(self.rates[0, 0] / self.rates[0, 1])

    def db_at(self, epochs: float) -> np.ndarray:
        """``(n_eps, n_seeds)`` the loss in dB at the first record at or after ``epochs``."""
        i = int(np.searchsorted(self.epochs, epochs - 1e-12))
        if i >= self.epochs.size:
            raise ValueError(f"epochs must be at most {self.epochs[-1]:g}; got {epochs}")
        return self.loss_db[:, :, i]


def _recording_factory(
    model: nn.Module, X: torch.Tensor, T: torch.Tensor, made: list, **options: Any
) -> Callable[[list], SDLM]:
    """An optimizer factory for :func:`ebp.train.fit`: SDLM on ``model`` with its curvature
    from ``(X, T)``, refreshed per epoch; each optimizer made is appended to ``made``."""

    def factory(params: list) -> SDLM:
        opt = SDLM(params, model=model, data=(X, T), refresh_unit="epoch", **options)
        made.append(opt)
        return opt

    return factory


def _pattern_pairs(ds: data.Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    X = torch.as_tensor(ds.X, dtype=torch.float64)
    y = torch.as_tensor(ds.y, dtype=torch.float64).reshape(-1, 1)
    return X, y


def linear_unit_sdlm(
    *,
    eps: Sequence[float] = (0.02, 0.12),
    mu: float = 0.01,
    gamma: float = 0.5,
    epochs: int = 2,
    n: int = 100,
    data_seed: int = 0,
    seeds: Sequence[int] = range(5),
    record_every: int = 5,
) -> LinearUnitSDLM:
    """Train a linear unit online (one pattern per update) with SDLM, for each ε and seed.

    The curvature is the exact Gauss–Newton diagonal on all ``n`` patterns, refreshed before
    every epoch (for a linear unit it does not change, so γ plays no part).

    Parameters
    ----------
    eps, mu, gamma
        ε values, μ and γ of eqs 61–62.
    epochs
        Passes through the data.
    n, data_seed
        :func:`ebp.data.two_gaussians` (the Fig 10 data, targets ∓1).
    seeds
        Seeds of the initial weights (PyTorch's default init of ``nn.Linear``) and of the order.
    record_every
        Presentations between records of the training loss.
    """
    eps_arr = _check_rates(eps, "eps")
    mu = check_positive(mu, "mu", allow_zero=True)
    epochs = check_int(epochs, "epochs", min_value=1)
    seeds_arr = _check_seeds(seeds)
    record_every = check_int(record_every, "record_every", min_value=1)
    ds = data.two_gaussians(n, seed=data_seed)
    X, y = _pattern_pairs(ds)
    Xb = torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype)], dim=1)
    moments = (Xb**2).mean(0).numpy()
    w_ls = torch.linalg.lstsq(Xb, y).solution
    min_loss = float(0.5 * ((Xb @ w_ls - y) ** 2).mean())
    losses, rates, curvature, presentations = [], [], None, None
    with single_threaded():
        for e in eps_arr.tolist():
            row, made = [], []
            for s in seeds_arr.tolist():
                torch.manual_seed(s)
                model = nn.Linear(2, 1).double()
                factory = _recording_factory(
                    model, X, y, made, mu=mu, gamma=gamma, refresh_every=1, batch_size=1
                )
                hist = fit(
                    model, X, y, eta=e, epochs=epochs, batch_size=1, seed=s,
                    optimizer=factory, record_every=record_every,
                )  # fmt: skip
                row.append(hist.train_loss)
                presentations = np.asarray(hist.presentations)
            opt = made[-1]
            rates.append(opt.rates(flat=True).numpy())
            curvature = opt.curvature(flat=True).numpy()
            losses.append(row)
    assert curvature is not None and presentations is not None
    return LinearUnitSDLM(
        eps=eps_arr,
        mu=float(mu),
        gamma=float(gamma),
        curvature=curvature,
        input_moments=moments,
        rates=np.asarray(rates),
        presentations=presentations,
        n_train=n,
        loss=np.asarray(losses, dtype=np.float64),
        min_loss=min_loss,
        seeds=seeds_arr,
    )


# ---------------------------------------------------------------------------------------------
# Digits: SDLM against tuned SGD
# ---------------------------------------------------------------------------------------------


def presentations_to_target(
    presentations: np.ndarray, loss: np.ndarray, target: float
) -> np.ndarray:
    """The presentations at the first record with ``loss ≤ target`` (``inf`` if never).

    ``loss`` has the records on its last axis; NaN (a diverged run) never reaches the target.
    """
    loss = np.asarray(loss, dtype=np.float64)
    hit = np.nan_to_num(loss, nan=np.inf) <= target
    first = np.argmax(hit, axis=-1)
    out = np.asarray(presentations, dtype=np.float64)[first]
    return np.where(hit.any(axis=-1), out, np.inf)


@dataclass(frozen=True)
class DigitsRace:
    """Training loss on the digits over presentations: SGD and SDLM, each over a rate sweep.

    Attributes
    ----------
    sizes
        Layer widths of the network.
    batch_size
        Patterns per update (both methods).
    sgd_etas
        ``(n_eta,)`` SGD's rates.
    sdlm_eps
        ``(n_eps,)`` SDLM's ε values.
    mu, gamma, subset
        SDLM's μ, γ and the patterns of each curvature update.
    refresh_every
        Epochs between SDLM's curvature updates.
    presentations
        ``(T,)`` presentations at the records (training steps only).
    n_train
        Training patterns.
    sgd_loss
        ``(n_eta, n_seeds, T)`` training loss (NaN after a divergence).
    sdlm_loss
        ``(n_eps, n_seeds, T)`` training loss.
    initial_loss
        ``(n_seeds,)`` the loss before training.
    targets
        Training-loss targets for the time-to-target comparison; the first is the main one.
    seeds
        Seeds (initial weights and order).
    data_seed
        Seed of the digits split.
    curvature
        ``{layer name: (n_eps, n) array}``: SDLM's running estimate ``⟨h⟩`` at the end of the
        first seed's run, per ε, for the weights (not biases) of each layer.
    """

    sizes: tuple[int, ...]
    batch_size: int
    sgd_etas: np.ndarray
    sdlm_eps: np.ndarray
    mu: float
    gamma: float
    subset: int
    refresh_every: int
    presentations: np.ndarray
    n_train: int
    sgd_loss: np.ndarray
    sdlm_loss: np.ndarray
    initial_loss: np.ndarray
    targets: tuple[float, ...]
    seeds: np.ndarray
    data_seed: int
    curvature: dict[str, np.ndarray]

    @property
    def epochs(self) -> np.ndarray:
        """``(T,)`` the records in epochs."""
        return self.presentations / self.n_train

    def to_target(self, method: str, target: float | None = None) -> np.ndarray:
        """``(n_rates, n_seeds)`` presentations to reach ``target`` (default: the main one)."""
        target = self.targets[0] if target is None else target
        loss = {"sgd": self.sgd_loss, "sdlm": self.sdlm_loss}[method]
        return presentations_to_target(self.presentations, loss, target)

    def best(self, method: str, target: float | None = None) -> int:
        """Index of the rate with the least median presentations to ``target``.

        Ties (or no rate reaching the target) go to the lower median final loss.
        """
        med = np.median(self.to_target(method, target), axis=1)
        loss = {"sgd": self.sgd_loss, "sdlm": self.sdlm_loss}[method]
        final = np.median(np.nan_to_num(loss[:, :, -1], nan=np.inf), axis=1)
        return int(np.lexsort((final, med))[0])

    def best_to_target(self, method: str, target: float | None = None) -> np.ndarray:
        """``(n_seeds,)`` presentations to ``target`` at the best rate."""
        return self.to_target(method, target)[self.best(method, target)]

    def curvature_presentations(self, presentations: np.ndarray) -> np.ndarray:
        """Patterns the curvature updates used before ``presentations`` training presentations.

        One update of ``subset`` patterns before epochs 1, 1 + ``refresh_every``, … that start
        before that point.
        """
        started = np.ceil(np.asarray(presentations, dtype=np.float64) / self.n_train)
        updates = np.ceil(np.where(np.isfinite(started), started, 0) / self.refresh_every)
        return np.where(np.isfinite(started), updates * self.subset, np.inf)

    def speedup(self, target: float | None = None, *, count_curvature: bool = False) -> float:
        """Median presentations of tuned SGD over those of tuned SDLM, to ``target``.

        With ``count_curvature``, SDLM is charged the patterns of its curvature updates too
        (each costs about one presentation: a forward and a backward pass).
        """
        sgd = float(np.median(self.best_to_target("sgd", target)))
        sdlm_runs = self.best_to_target("sdlm", target)
        if count_curvature:
            sdlm_runs = sdlm_runs + self.curvature_presentations(sdlm_runs)
        return sgd / float(np.median(sdlm_runs))


def _digits_tensors(n_train: int, data_seed: int) -> tuple[torch.Tensor, torch.Tensor, data.Split]:
    split = data.digits(n_train=n_train, standardize=True, seed=data_seed)
    X = torch.as_tensor(split.X_train, dtype=torch.float32)
    T = torch.as_tensor(data.encode_targets(split.y_train, 10, "pm1"), dtype=torch.float32)
    return X, T, split


def _sdlm_factory(
    model: nn.Module,
    X: torch.Tensor,
    T: torch.Tensor,
    *,
    mu: float,
    gamma: float,
    subset: int,
    batch_size: int,
    seed: int,
    refresh_every: int = 1,
    made: list | None = None,
) -> Callable[[list], SDLM]:
    made = [] if made is None else made
    return _recording_factory(
        model, X, T, made, mu=mu, gamma=gamma, curvature="backprop",
        refresh_every=refresh_every, batch_size=batch_size, subset=subset, seed=seed,
    )  # fmt: skip


def _padded(loss: Sequence[float], n: int) -> np.ndarray:
    """``loss`` followed by NaN up to ``n`` records (a run that stopped on divergence)."""
    out = np.full(n, np.nan)
    out[: len(loss)] = loss
    return out


def _check_targets(targets: Sequence[float]) -> tuple[float, ...]:
    targets_t = tuple(float(check_positive(t, "targets")) for t in targets)
    if not targets_t:
        raise ValueError("targets must hold at least one loss level")
    return targets_t


def _weight_curvatures(model: nn.Module, opt: SDLM) -> list[np.ndarray]:
    """The curvature estimate of each layer's weights (biases left out), flattened."""
    h = opt.curvature()
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    weights = [hi for n, hi in zip(names, h, strict=True) if n.endswith("weight")]
    return [hi.reshape(-1).numpy() for hi in weights]


def digits_race(
    *,
    sgd_etas: Sequence[float] = (0.01, 0.02, 0.05, 0.1, 0.2),
    sdlm_eps: Sequence[float] = (0.03, 0.1, 0.2),
    mu: float = 0.1,
    gamma: float = 0.5,
    subset: int = 100,
    refresh_every: int = 1,
    hidden: int = 16,
    n_train: int = 500,
    batch_size: int = 10,
    epochs: int = 16,
    record_every: int = 100,
    targets: Sequence[float] = (0.4, 0.8, 0.6),
    seeds: Sequence[int] = range(5),
    data_seed: int = 0,
) -> DigitsRace:
    """A 64-``hidden``-10 tanh network (the paper's sigmoid, linear outputs, ±1 targets,
    squared error) on standardized digits, trained by SGD and by SDLM from the same seeds.

    SGD runs every (rate, seed) at once in :func:`ebp.many.fit_many`.  SDLM (not in
    ``fit_many``: it needs its own curvature) runs in :func:`ebp.train.fit` one (ε, seed) at a
    time, with the paper's backpropagated Gauss–Newton diagonal (exact for one hidden layer)
    on ``subset`` random training patterns before every ``refresh_every``-th epoch.
    """
    refresh_every = check_int(refresh_every, "refresh_every", min_value=1)
    subset = check_int(subset, "subset", min_value=1)
    etas = _check_rates(sgd_etas, "sgd_etas")
    eps = _check_rates(sdlm_eps, "sdlm_eps")
    seeds_arr = _check_seeds(seeds)
    targets_t = _check_targets(targets)
    hidden = check_int(hidden, "hidden", min_value=1)
    X, T, _ = _digits_tensors(n_train, data_seed)
    sizes = (X.shape[1], hidden, 10)

    def net(seed: int) -> nn.Module:
        return ebp_nn.mlp(sizes, "lecun_tanh", seed=seed)

    K = len(seeds_arr)
    with single_threaded():
        many = fit_many(
            [net(s) for _ in etas for s in seeds_arr.tolist()], X, T,
            eta=[float(e) for e in etas for _ in range(K)], epochs=epochs,
            batch_size=batch_size, seed=[s for _ in etas for s in seeds_arr.tolist()],
            record_every=record_every,
        )  # fmt: skip
        sgd_loss = many.train_loss.reshape(len(etas), K, -1)
        presentations = np.asarray(many.presentations)
        rows = []
        curvature: dict[str, list[np.ndarray]] = {}
        for e in eps.tolist():
            row = []
            for s in seeds_arr.tolist():
                model = net(s)
                made: list[SDLM] = []
                factory = _sdlm_factory(
                    model, X, T, mu=mu, gamma=gamma, subset=subset,
                    batch_size=batch_size, seed=s, refresh_every=refresh_every, made=made,
                )  # fmt: skip
                hist = fit(
                    model, X, T, eta=e, epochs=epochs, batch_size=batch_size, seed=s,
                    optimizer=factory, record_every=record_every, on_divergence="stop",
                )  # fmt: skip
                row.append(_padded(hist.train_loss, presentations.size))
                if s == seeds_arr[0]:
                    for layer, hi in enumerate(_weight_curvatures(model, made[0]), start=1):
                        curvature.setdefault(f"layer {layer}", []).append(hi)
            rows.append(row)
    return DigitsRace(
        sizes=tuple(int(s) for s in sizes),
        batch_size=batch_size,
        sgd_etas=etas,
        sdlm_eps=eps,
        mu=float(mu),
        gamma=float(gamma),
        subset=int(subset),
        refresh_every=refresh_every,
        presentations=presentations,
        n_train=int(X.shape[0]),
        sgd_loss=np.asarray(sgd_loss, dtype=np.float64),
        sdlm_loss=np.asarray(rows, dtype=np.float64),
        initial_loss=np.asarray(sgd_loss[0, :, 0], dtype=np.float64),
        targets=targets_t,
        seeds=seeds_arr,
        data_seed=int(data_seed),
        curvature={k: np.asarray(v, dtype=np.float64) for k, v in curvature.items()},
    )


@dataclass(frozen=True)
class PresentationCost:
    """Measured CPU seconds per training presentation (non-deterministic: timings).

    Attributes
    ----------
    timing_sgd_s, timing_sdlm_s
        CPU seconds per presentation of one ``fit`` run (SDLM's include its curvature updates).
    epochs
        Epochs each timed run lasted.
    """

    timing_sgd_s: float
    timing_sdlm_s: float
    epochs: int

    @property
    def timing_ratio(self) -> float:
        """SDLM's cost per presentation over SGD's."""
        return self.timing_sdlm_s / self.timing_sgd_s


def time_per_presentation(
    race: DigitsRace, *, epochs: int = 4, repeats: int = 2, seed: int = 0
) -> PresentationCost:
    """Time ``fit`` runs of tuned SGD and of tuned SDLM (the race's settings), in CPU time.

    Both use :func:`ebp.train.fit` with one model, so the per-update overheads are alike
    (the race's SGD runs were vectorised and cannot be timed per model).  The two methods
    alternate ``repeats`` times and the fastest run of each counts (the least disturbed by
    other work on the machine).
    """
    epochs = check_int(epochs, "epochs", min_value=1)
    repeats = check_int(repeats, "repeats", min_value=1)
    X, T, _ = _digits_tensors(race.n_train, race.data_seed)
    eta = float(race.sgd_etas[race.best("sgd")])
    eps = float(race.sdlm_eps[race.best("sdlm")])
    per = {"sgd": np.inf, "sdlm": np.inf}
    with single_threaded():
        for _ in range(repeats):
            for name in ("sgd", "sdlm"):
                model = ebp_nn.mlp(race.sizes, "lecun_tanh", seed=seed)
                kw = {}
                if name == "sdlm":
                    kw["optimizer"] = _sdlm_factory(
                        model, X, T, mu=race.mu, gamma=race.gamma, subset=race.subset,
                        batch_size=race.batch_size, seed=seed, refresh_every=race.refresh_every,
                    )  # fmt: skip
                start = time.process_time()
                fit(
                    model, X, T, eta=eps if name == "sdlm" else eta, epochs=epochs,
                    batch_size=race.batch_size, seed=seed, **kw,
                )  # fmt: skip
                seconds = (time.process_time() - start) / (epochs * race.n_train)
                per[name] = min(per[name], seconds)
    return PresentationCost(per["sgd"], per["sdlm"], epochs)
