"""Experiments of the chapter "The principal eigenvalue and the learning rate" (paper §9.2).

All three use a 64-``hidden``-10 network of ``1.7159 tanh(2x/3)`` units (hidden and output)
trained with the squared error ``E = (1/P) Σ_p ½ ‖d^p − o^p‖²`` on 300 digits with ±1 targets.

- :func:`principal_eigenvalue`: λ_max of the Hessian at initialization from the dense matrix
  (``eigvalsh``), Lanczos, the power method with exact products (eq 60), its Taylor form with
  gradient differences (eq 63) and the online estimate (eq 64) with and without the factor γ.
- :func:`online_runs`: the online estimate against presentations with Fig 24's γ schedule, for
  several networks and presentation orders.
- :func:`rate_sweep`: Figs 25/26, target R8: the training MSE after 1–5 epochs of online
  learning against ``η / η_predicted`` with ``η_predicted = 1/λ_max``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ebp import data, nn
from ebp._validate import check_in_range, check_int, check_positive
from ebp.hessian import (
    HessianOperator,
    finite_difference_hvp,
    gamma_schedule,
    lanczos_eigs,
    online_eigenvalue_estimate,
    power_method,
    taylor_estimate,
)
from ebp.many import ManyHistory, fit_many
from ebp.optim import eta_from_lambda_max
from ebp.repro import single_threaded

__all__ = [
    "R8_WINDOW",
    "RATIOS",
    "OnlineRuns",
    "PrincipalEigenvalue",
    "RateSweep",
    "digit_problem",
    "online_runs",
    "principal_eigenvalue",
    "rate_sweep",
]

RATIOS: np.ndarray = 2.0 ** (np.arange(-12, 7) / 3.0)
"""The default ratios ``η / η_predicted``: 1/16 to 4 in steps of 2^{1/3} (19 values; the 13
from 0.25 to 4 are target R8's range)."""

R8_WINDOW: tuple[float, float] = (0.75, 1.5)
"""Target R8, the interval the best ratio should lie in."""


def digit_problem(
    *,
    hidden: int = 30,
    n_train: int = 300,
    standardize: bool = False,
    seed: int = 0,
    data_seed: int = 0,
) -> tuple[torch.nn.Module, np.ndarray, np.ndarray]:
    """The network and data of this chapter, in float64.

    Parameters
    ----------
    hidden
        Hidden units of the 64-``hidden``-10 network (LeCun-normal initialization, seeded).
    n_train
        Training digits (stratified, from :func:`ebp.data.digits`).
    standardize
        Whether the pixels are centred and scaled one by one (§4.3); if not they are the raw
        pixel values in [0, 1].
    seed, data_seed
        Seeds of the initial weights and of the choice of digits.

    Returns
    -------
    tuple
        ``(model, X, Y)``: the float64 model, inputs ``(P, 64)`` and ±1 targets ``(P, 10)``.
    """
    hidden = check_int(hidden, "hidden", min_value=1)
    split = data.digits(n_train=n_train, seed=data_seed, standardize=standardize)
    Y = data.encode_targets(split.y_train, split.n_classes, "pm1")
    model = nn.mlp((64, hidden, 10), output_activation="lecun_tanh", seed=seed, dtype=torch.float64)
    return model, split.X_train, Y


def _operator(model: torch.nn.Module, X: np.ndarray, Y: np.ndarray) -> HessianOperator:
    return HessianOperator(model, "mse", (torch.as_tensor(X), torch.as_tensor(Y)))


# ---------------------------------------------------------------------------------------------
# R7: the estimates against the dense eigenvalue
# ---------------------------------------------------------------------------------------------


def _top_eigenvalue(op: HessianOperator, seed: int) -> float:
    """The largest eigenvalue of ``op`` by Lanczos (seeded with ``seed``)."""
    return float(lanczos_eigs(op, 1, seed=seed, residuals=False).values[0])


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    seeds = [check_int(s, f"seeds[{i}]", min_value=0) for i, s in enumerate(seeds)]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    return seeds


@dataclass(frozen=True)
class PrincipalEigenvalue:
    """λ_max of one network's Hessian, computed six ways.

    Attributes
    ----------
    eigenvalues
        All eigenvalues of the dense Hessian (``eigvalsh``), ascending.
    lanczos, lanczos_products
        λ_max by Lanczos (SciPy ``eigsh``) and the products it used.
    power
        The power method's Rayleigh quotient after each exact product (eq 60).
    taylor
        ``‖Ψ‖`` of eq 63 after each gradient difference (the first gradient, at ``w``, is
        not an iteration).
    fd_error
        ``‖Hv_eq59 − Hv‖ / ‖Hv‖`` of the forward difference (eq 59) against the exact product,
        for a random unit ``v``.
    online
        The corrected online estimate (eq 64 with the factor γ) after each presentation,
        Fig 24's γ schedule.
    gammas
        The γ of each presentation of :attr:`online`.
    printed
        γ → ``‖Ψ‖`` after each presentation of eq 64 *as printed* (no factor γ) at constant γ.
    printed_corrected
        γ → the corrected estimate at the same constant γ, same seed.
    n_params, n_train, hidden, standardize
        The set-up.
    """

    eigenvalues: np.ndarray
    lanczos: float
    lanczos_products: int
    power: np.ndarray
    taylor: np.ndarray
    fd_error: float
    online: np.ndarray
    gammas: np.ndarray
    printed: dict[float, np.ndarray]
    printed_corrected: dict[float, np.ndarray]
    n_params: int
    n_train: int
    hidden: int
    standardize: bool

    @property
    def lambda_max(self) -> float:
        """The largest eigenvalue of the dense Hessian."""
        return float(self.eigenvalues[-1])

    def relative_errors(self) -> dict[str, float]:
        """``|estimate − λ_max| / λ_max`` of the final Lanczos, power, Taylor and online values."""
        lam = self.lambda_max
        finals = {
            "lanczos": self.lanczos,
            "power": float(self.power[-1]),
            "taylor": float(self.taylor[-1]),
            "online": float(self.online[-1]),
        }
        return {k: abs(v - lam) / lam for k, v in finals.items()}

    def online_ratio(self, presentations: int) -> float:
        """The corrected online estimate after ``presentations`` presentations, over λ_max."""
        t = check_int(presentations, "presentations", min_value=1, max_value=self.online.size)
        return float(self.online[t - 1] / self.lambda_max)


def principal_eigenvalue(
    *,
    hidden: int = 30,
    n_train: int = 300,
    standardize: bool = False,
    seed: int = 0,
    n_presentations: int = 400,
    constant_gammas: Sequence[float] = (0.1, 0.03),
    n_constant: int = 250,
    tol: float = 1e-6,
) -> PrincipalEigenvalue:
    """λ_max of the Hessian of the network of :func:`digit_problem` at initialization.

    Parameters
    ----------
    hidden, n_train, standardize, seed
        The network and data (see :func:`digit_problem`).
    n_presentations
        Presentations of the online estimate with Fig 24's γ schedule.
    constant_gammas, n_constant
        The constant γ at which eq 64 is run as printed and corrected, for ``n_constant``
        presentations.
    tol
        Stopping tolerance of the power method and of the Taylor form (residual test).
    """
    n_presentations = check_int(n_presentations, "n_presentations", min_value=1)
    n_constant = check_int(n_constant, "n_constant", min_value=1)
    gammas_c = [
        check_in_range(g, f"constant_gammas[{i}]", 0.0, 1.0, low_inclusive=False)
        for i, g in enumerate(constant_gammas)
    ]
    tol = check_positive(tol, "tol")
    model, X, Y = digit_problem(hidden=hidden, n_train=n_train, standardize=standardize, seed=seed)
    with single_threaded():
        op = _operator(model, X, Y)
        eigenvalues = torch.linalg.eigvalsh(op.dense()).numpy()
        lz = lanczos_eigs(op, 1, seed=seed, residuals=False)
        pm = power_method(op, tol=tol, max_products=1000, seed=seed)
        ty = taylor_estimate(op, tol=tol, max_gradients=1000, seed=seed)
        rng = np.random.default_rng(seed)
        v = torch.as_tensor(rng.standard_normal(op.dim))
        v = v / v.norm()
        exact = op.matvec(v)
        fd_error = float((finite_difference_hvp(op, v) - exact).norm() / exact.norm())
        on = online_eigenvalue_estimate(op, n_presentations=n_presentations, seed=seed)
        printed, printed_corrected = {}, {}
        for g in gammas_c:
            for corrected, out in ((False, printed), (True, printed_corrected)):
                run = online_eigenvalue_estimate(
                    op, n_presentations=n_constant, gamma=g, corrected=corrected, seed=seed
                )
                out[g] = run.norms
    return PrincipalEigenvalue(
        eigenvalues=eigenvalues,
        lanczos=float(lz.values[0]),
        lanczos_products=lz.n_products,
        power=np.asarray(pm.history),
        taylor=np.asarray(ty.history),
        fd_error=fd_error,
        online=on.estimates,
        gammas=on.gammas,
        printed=printed,
        printed_corrected=printed_corrected,
        n_params=op.dim,
        n_train=int(X.shape[0]),
        hidden=hidden,
        standardize=standardize,
    )


# ---------------------------------------------------------------------------------------------
# Fig 24: the online estimate over seeds
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnlineRuns:
    """The corrected online estimate (eq 64) with Fig 24's γ schedule, one run per seed.

    Attributes
    ----------
    seeds
        Seeds of the network's initial weights, the start vector Ψ and the presentation order.
    lambda_max
        ``(n_seeds,)``: λ_max of each network's Hessian (Lanczos).
    estimates
        ``(n_seeds, n_presentations)``: the estimate after each presentation.
    gammas
        The γ of each presentation (the same for every run).
    """

    seeds: np.ndarray
    lambda_max: np.ndarray
    estimates: np.ndarray
    gammas: np.ndarray

    @property
    def ratios(self) -> np.ndarray:
        """``estimates / λ_max`` per run."""
        return self.estimates / self.lambda_max[:, None]

    def ratio_at(self, presentations: int) -> np.ndarray:
        """Each run's estimate over its λ_max after ``presentations`` presentations."""
        t = check_int(
            presentations, "presentations", min_value=1, max_value=self.estimates.shape[1]
        )
        return self.ratios[:, t - 1]

    def same_order_of_magnitude(self, presentations: int) -> np.ndarray:
        """Per run: whether the estimate is within a factor √10 of λ_max (rounds to the same
        power of ten relative to it)."""
        return np.abs(np.log10(self.ratio_at(presentations))) < 0.5

    @property
    def gamma_changes(self) -> np.ndarray:
        """The presentations (1-based counts) after which γ changes."""
        return np.flatnonzero(np.diff(self.gammas) != 0) + 1


def online_runs(
    *,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    hidden: int = 30,
    n_train: int = 300,
    standardize: bool = False,
    n_presentations: int = 400,
) -> OnlineRuns:
    """Fig 24: the online estimate of λ_max against presentations, one run per seed.

    Each seed gives its own network (:func:`digit_problem`), start vector and order of
    presentation; γ follows Fig 24's schedule (:func:`ebp.hessian.gamma_schedule`).
    """
    seeds = _check_seeds(seeds)
    n_presentations = check_int(n_presentations, "n_presentations", min_value=1)
    lams, rows = [], []
    with single_threaded():
        for s in seeds:
            model, X, Y = digit_problem(
                hidden=hidden, n_train=n_train, standardize=standardize, seed=s
            )
            op = _operator(model, X, Y)
            lams.append(_top_eigenvalue(op, s))
            rows.append(
                online_eigenvalue_estimate(op, n_presentations=n_presentations, seed=s).estimates
            )
    gammas = np.array([gamma_schedule(t) for t in range(n_presentations)])
    return OnlineRuns(np.asarray(seeds), np.asarray(lams), np.stack(rows), gammas)


# ---------------------------------------------------------------------------------------------
# R8: the learning rate predicted by λ_max
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateSweep:
    """Training MSE after each epoch against ``η / η_predicted``, ``η_predicted = 1/λ_max``.

    Attributes
    ----------
    ratios
        The ratios ``η / η_predicted`` tried.
    seeds
        Seeds of the initial weights and of the presentation order.
    epoch
        The epochs of the records (0 = before training).
    mse
        ``(n_seeds, n_ratios, n_epochs + 1)``: full training-set MSE (NaN after a divergence).
    lambda_max
        ``(n_seeds,)``: λ_max of the Hessian of the full-data MSE at initialization (Lanczos).
    pattern_lambda
        λ_max of single-pattern Hessians ``∇²E^p`` of the first seed's network, for
        ``n_pattern_samples`` patterns drawn at random.
    lambda_max_trained
        ``(n_seeds,)``: λ_max of the full-data Hessian after training, for the model trained at
        the ratio closest to 1 (NaN if it diverged).
    batch_size, standardize, n_train, hidden
        The set-up (``batch_size = 1``: online learning).
    """

    ratios: np.ndarray
    seeds: np.ndarray
    epoch: np.ndarray
    mse: np.ndarray
    lambda_max: np.ndarray
    pattern_lambda: np.ndarray
    lambda_max_trained: np.ndarray
    batch_size: int
    standardize: bool
    n_train: int
    hidden: int

    @property
    def eta_predicted(self) -> np.ndarray:
        """``1/λ_max`` per seed."""
        return 1.0 / self.lambda_max

    def mean_mse(self, epoch: int) -> np.ndarray:
        """Seed-mean MSE after ``epoch`` epochs, per ratio (``inf`` where a run diverged)."""
        e = check_int(epoch, "epoch", min_value=0, max_value=int(self.epoch[-1]))
        values = self.mse[:, :, e]
        out = values.mean(axis=0)
        return np.where(np.isnan(out), np.inf, out)

    def best_ratio(self, epoch: int) -> float:
        """The ratio with the lowest seed-mean MSE after ``epoch`` epochs."""
        return float(self.ratios[int(np.argmin(self.mean_mse(epoch)))])

    def excess_at_one(self, epoch: int) -> float:
        """``MSE(ratio 1) / MSE(best ratio) − 1`` after ``epoch`` epochs (seed means)."""
        i = int(np.argmin(np.abs(np.log(self.ratios))))
        if not np.isclose(self.ratios[i], 1.0):
            raise ValueError("ratios must include 1 to measure the excess at ratio 1")
        m = self.mean_mse(epoch)
        return float(m[i] / m.min() - 1.0)

    def best_in_window(self, epoch: int) -> bool:
        """Target R8's first check: the best ratio lies in :data:`R8_WINDOW`."""
        lo, hi = R8_WINDOW
        return lo <= self.best_ratio(epoch) <= hi

    def summary(self) -> dict[str, float]:
        """The numbers the chapter quotes, by short name: range of λ_max over the seeds
        (``lam_lo``, ``lam_hi``); best ratio after the first and last epoch (``best_first``,
        ``best_last``) and its range over the epochs (``best_lo``, ``best_hi``); excess MSE at
        ratio 1 in per cent after the first epoch (``exc_first``) and its range (``exc_lo``,
        ``exc_hi``); epochs with the best ratio in :data:`R8_WINDOW` (``in_window``); mean
        single-pattern λ_max (``plam``), :attr:`pattern_ratio` (``pratio``); mean λ_max after
        training over λ_max at the start (``trained``)."""
        epochs = [int(e) for e in self.epoch if e > 0]
        best = [self.best_ratio(e) for e in epochs]
        excess = [100.0 * self.excess_at_one(e) for e in epochs]
        return {
            "lam_lo": float(self.lambda_max.min()),
            "lam_hi": float(self.lambda_max.max()),
            "best_first": best[0],
            "best_last": best[-1],
            "best_lo": min(best),
            "best_hi": max(best),
            "exc_first": excess[0],
            "exc_lo": min(excess),
            "exc_hi": max(excess),
            "in_window": sum(self.best_in_window(e) for e in epochs),
            "plam": float(self.pattern_lambda.mean()),
            "pratio": self.pattern_ratio,
            "trained": float(np.mean(self.lambda_max_trained / self.lambda_max)),
        }

    @property
    def pattern_ratio(self) -> float:
        """``λ_max / mean_p λ_max(∇²E^p)`` (first seed): the ratio at which the typical single
        pattern's own curvature times η is 1."""
        return float(self.lambda_max[0] / self.pattern_lambda.mean())


def _pattern_lambdas(
    model: torch.nn.Module, X: np.ndarray, Y: np.ndarray, n_samples: int, seed: int
) -> np.ndarray:
    """``λ_max`` of the single-pattern Hessians of ``n_samples`` random patterns."""
    pick = np.random.default_rng(seed).choice(
        X.shape[0], size=min(n_samples, X.shape[0]), replace=False
    )
    return np.array(
        [_top_eigenvalue(_operator(model, X[p : p + 1], Y[p : p + 1]), seed) for p in pick]
    )


def _trained_lambda_max(
    res: ManyHistory, X: np.ndarray, Y: np.ndarray, seeds: list[int], n_ratios: int, i1: int
) -> np.ndarray:
    """Per seed, ``λ_max`` after training at ratio ``ratios[i1]`` (NaN where it diverged)."""
    trained = np.full(len(seeds), np.nan)
    with single_threaded():
        for k in range(len(seeds)):
            j = k * n_ratios + i1
            if not res.diverged[j]:
                m = copy.deepcopy(res.models[j]).double()
                trained[k] = _top_eigenvalue(_operator(m, X, Y), seeds[k])
    return trained


def rate_sweep(
    *,
    standardize: bool = False,
    ratios: Sequence[float] = tuple(RATIOS),
    epochs: int = 5,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    batch_size: int = 1,
    hidden: int = 30,
    n_train: int = 300,
    n_pattern_samples: int = 30,
) -> RateSweep:
    """Figs 25/26 (target R8): MSE after each epoch against ``η / η_predicted``.

    For each seed the network of :func:`digit_problem` gets ``η_predicted = 1/λ_max`` of the
    Hessian of the full-data MSE at its initial weights (:func:`ebp.optim.eta_from_lambda_max`
    by Lanczos, float64); then one copy per
    ratio is trained (float32) at ``η = ratio · η_predicted`` for ``epochs`` epochs with
    mini-batches of ``batch_size`` (1: online learning, as in the paper's Fig 25), every
    model at once by :func:`ebp.many.fit_many` with its own η; each seed's copies share the
    presentation order.

    Parameters
    ----------
    standardize
        Raw pixels in [0, 1] (default) or pixels standardized one by one.
    ratios
        The ratios ``η / η_predicted``, positive.
    epochs, batch_size
        Training length and patterns per update.
    seeds
        Seeds of initial weights and presentation order (at least one).
    hidden, n_train
        The network and training-set size.
    n_pattern_samples
        Patterns whose single-pattern Hessian's λ_max is measured (first seed).
    """
    ratios_a = np.array([check_positive(r, f"ratios[{i}]") for i, r in enumerate(ratios)])
    if ratios_a.size == 0:
        raise ValueError("ratios must hold at least one ratio")
    epochs = check_int(epochs, "epochs", min_value=1)
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    seeds = _check_seeds(seeds)
    n_pattern_samples = check_int(n_pattern_samples, "n_pattern_samples", min_value=1)
    models, etas, model_seeds, lams = [], [], [], []
    pattern_lambda = np.empty(0)
    with single_threaded():
        for s in seeds:
            model, X, Y = digit_problem(
                hidden=hidden, n_train=n_train, standardize=standardize, seed=s
            )
            rate = eta_from_lambda_max(
                model, "mse", (torch.as_tensor(X), torch.as_tensor(Y)), method="lanczos", seed=s
            )
            lam = rate.lambda_max
            lams.append(lam)
            if s == seeds[0]:
                pattern_lambda = _pattern_lambdas(model, X, Y, n_pattern_samples, s)
            for r in ratios_a:
                models.append(copy.deepcopy(model).float())
                etas.append(float(r * rate.eta))
                model_seeds.append(s)
    res = fit_many(
        models,
        X.astype(np.float32),
        Y.astype(np.float32),
        loss="mse",
        eta=etas,
        epochs=epochs,
        batch_size=batch_size,
        seed=model_seeds,
    )
    mse = res.train_loss.reshape(len(seeds), ratios_a.size, -1)
    i1 = int(np.argmin(np.abs(np.log(ratios_a))))
    trained = _trained_lambda_max(res, X, Y, seeds, ratios_a.size, i1)
    return RateSweep(
        ratios=ratios_a,
        seeds=np.asarray(seeds),
        epoch=res.epoch,
        mse=mse,
        lambda_max=np.asarray(lams),
        pattern_lambda=pattern_lambda,
        lambda_max_trained=trained,
        batch_size=batch_size,
        standardize=standardize,
        n_train=int(X.shape[0]),
        hidden=hidden,
    )
