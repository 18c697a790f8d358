"""Experiments of the chapter "Learning rates, momentum and adaptive rates" (paper §4.7).

Each function returns a dataclass of NumPy data; nothing here draws (see
:mod:`ebp.plots.learning_rates`).

- :class:`Ravine`, :func:`ravine`, :func:`ravine_comparison`: a 2-D quadratic with condition
  number κ, descended in closed form (the gradient is ``H w``) by the updates of
  ``torch.optim``'s SGD, SGD with momentum, RMSProp and Adam (:func:`closed_form_paths`,
  checked against :func:`optimizer_path`, which runs ``torch.optim`` itself); trajectories and
  the steps each needs to reach a tolerance.
- :func:`rate_sweep`: one optimizer variant (plain SGD, per-layer rates ∝ √fan-in, momentum,
  RMSProp, Adam, the paper's adaptive rate of eqs 17–19) on a small digit classifier, over a
  grid of learning rates and several seeds; :class:`RateSweep` picks the best rate.
- :func:`schedule_comparison`: a constant rate against step decay and ``c/t`` (eq 12).
- :func:`clipping_demo`: a deeper network at a rate that makes it diverge, with and without
  gradient clipping, and the gradient norm along the way.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn as tnn

from ebp import data, nn, train
from ebp._validate import check_choice, check_int, check_positive, check_sizes
from ebp.experiments._shared import linears
from ebp.many import fit_many
from ebp.optim import PaperAdaptiveRate, per_layer_rates
from ebp.repro import single_threaded
from ebp.schedules import Constant, InverseTime, Schedule, StepDecay

__all__ = [
    "MOMENTUM",
    "RAVINE_OPTIMIZERS",
    "VARIANTS",
    "BetaSweep",
    "ClippingDemo",
    "DigitsSetup",
    "RateSweep",
    "Ravine",
    "RavineComparison",
    "ScheduleComparison",
    "adaptive_constants",
    "beta_sweep",
    "clipping_demo",
    "closed_form_paths",
    "optimizer_path",
    "rate_sweep",
    "ravine",
    "ravine_comparison",
    "schedule_comparison",
    "steps_to_tolerance",
    "sweep_losses",
]


# ---------------------------------------------------------------------------------------------
# The ravine: a 2-D quadratic in closed form
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ravine:
    """``E(w) = ½ (λ₁ z₁² + λ₂ z₂²)`` with ``z = R w``: a long valley along ``z₁`` when
    ``λ₁ ≪ λ₂``.

    ``R`` rotates by ``−angle``, so that the valley's floor points along ``(cos angle,
    sin angle)``; with ``angle = 0`` (the default) ``z = w`` and the valley lies along ``w₁``.

    Attributes
    ----------
    lam
        The Hessian's eigenvalues ``(λ₁, λ₂)``, shape ``(2,)``.
    w0
        The starting point, shape ``(2,)``.
    angle
        The angle of the valley's floor to the ``w₁`` axis, in radians.
    """

    lam: np.ndarray
    w0: np.ndarray
    angle: float = 0.0

    @property
    def rotation(self) -> np.ndarray:
        """``R``, ``(2, 2)``: ``z = R w`` are the coordinates along the eigenvectors."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        return np.array([[c, s], [-s, c]])

    @property
    def hessian(self) -> np.ndarray:
        """``H = Rᵀ diag(λ) R``, ``(2, 2)``."""
        R = self.rotation
        return R.T @ np.diag(self.lam) @ R

    @property
    def kappa(self) -> float:
        """The condition number ``λ_max / λ_min``."""
        return float(self.lam.max() / self.lam.min())

    def loss(self, w: np.ndarray) -> np.ndarray:
        """``E`` at points ``w`` of shape ``(..., 2)``."""
        w = np.asarray(w, dtype=float)
        with np.errstate(over="ignore", invalid="ignore"):  # a diverged path gives inf, not noise
            z = w if self.angle == 0 else w @ self.rotation.T
            return 0.5 * (z**2 * self.lam).sum(axis=-1)

    def grad(self, w: np.ndarray) -> np.ndarray:
        """``∂E/∂w = H w`` at points ``w`` of shape ``(..., 2)``."""
        w = np.asarray(w, dtype=float)
        if self.angle == 0:
            return w * self.lam
        return w @ self.hessian.T

    def gd_rate(self) -> float:
        """The best single rate of plain gradient descent, ``2 / (λ_min + λ_max)``.

        It makes the two eigendirections contract equally fast, by ``(κ − 1)/(κ + 1)`` per step
        (the paper's ``1/λ_max`` of eq 39 is best only for the steepest direction).
        """
        return 2.0 / float(self.lam.min() + self.lam.max())

    def heavy_ball(self) -> tuple[float, float]:
        """Polyak's optimal rate and momentum for a quadratic, ``(η*, μ*)``.

        ``η* = 4 / (√λ_max + √λ_min)²`` and ``μ* = ((√κ − 1)/(√κ + 1))²``; every
        eigendirection then contracts by ``√μ* = (√κ − 1)/(√κ + 1)`` per step.
        """
        a, b = math.sqrt(float(self.lam.max())), math.sqrt(float(self.lam.min()))
        return 4.0 / (a + b) ** 2, ((a - b) / (a + b)) ** 2

    def contraction(self, method: str) -> float:
        """Worst per-step contraction factor of the distance to the minimum, from theory.

        ``"gd"``: ``(κ − 1)/(κ + 1)`` at :meth:`gd_rate`; ``"momentum"``:
        ``(√κ − 1)/(√κ + 1)`` at :meth:`heavy_ball`.
        """
        method = check_choice(method, "method", ("gd", "momentum"))
        k = self.kappa
        if method == "gd":
            return (k - 1.0) / (k + 1.0)
        return (math.sqrt(k) - 1.0) / (math.sqrt(k) + 1.0)


def ravine(kappa: float = 50.0, *, w0: Sequence[float] = (-2.0, 0.6), angle: float = 0.0) -> Ravine:
    """The ravine ``E = ½ (w₁²/κ + w₂²)``: curvature 1 across the valley, ``1/κ`` along it.

    Parameters
    ----------
    kappa
        Condition number, > 1.
    w0
        Starting point ``(w₁, w₂)`` of the unrotated ravine, not the minimum.
    angle
        Rotate the whole picture, valley and starting point, by this angle (radians): the
        start becomes ``Rᵀ w0``, at the same place relative to the valley, so that a method
        invariant under rotations takes exactly the same steps.
    """
    kappa = check_positive(kappa, "kappa")
    if kappa <= 1:
        raise ValueError(f"kappa must be > 1; got {kappa}")
    start = np.asarray(w0, dtype=float)
    if start.shape != (2,) or not np.all(np.isfinite(start)) or not np.any(start):
        raise ValueError(f"w0 must be two finite numbers, not both 0; got {w0!r}")
    if not isinstance(angle, (int, float)) or not math.isfinite(angle):
        raise TypeError(f"angle must be a finite number (radians); got {angle!r}")
    surface = Ravine(lam=np.array([1.0 / kappa, 1.0]), w0=start, angle=float(angle))
    return replace(surface, w0=surface.rotation.T @ start) if angle else surface


RAVINE_OPTIMIZERS: tuple[str, ...] = ("sgd", "rmsprop", "adam")
"""The ``torch.optim`` optimizers :func:`optimizer_path` runs (SGD takes a momentum)."""


def _torch_optimizer(
    name: str, params: list[torch.Tensor], eta: float, momentum: float
) -> torch.optim.Optimizer:
    """The optimizer :func:`ebp.train.fit` builds for ``optimizer=name`` (same defaults)."""
    if name == "sgd":
        return torch.optim.SGD(params, lr=eta, momentum=momentum)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=eta, momentum=momentum)
    if momentum != 0:
        raise ValueError(f"momentum must be 0 for optimizer='adam'; got {momentum}")
    return torch.optim.Adam(params, lr=eta)


def optimizer_path(
    surface: Ravine, optimizer: str, eta: float, *, momentum: float = 0.0, n_steps: int = 200
) -> np.ndarray:
    """The points ``w(0), …, w(n_steps)`` a ``torch.optim`` optimizer visits on ``surface``.

    The gradient is the exact ``H w`` (float64), written into ``.grad`` before every step, so the
    updates are those of ``torch.optim.SGD`` (``v ← μ v + ∂E/∂w``, ``w ← w − η v``: for a
    constant η the paper's ``Δw(t+1) = −η ∂E/∂w + μ Δw(t)``), ``RMSprop`` or ``Adam`` with
    PyTorch's default constants.

    Parameters
    ----------
    surface
        A :class:`Ravine`.
    optimizer
        One of :data:`RAVINE_OPTIMIZERS`.
    eta
        Learning rate, > 0.
    momentum
        μ in [0, 1) (not for Adam, whose β₁ plays that part).
    n_steps
        Number of updates, ≥ 1.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_steps + 1, 2)``; rows after the first non-finite point are NaN.
    """
    if not isinstance(surface, Ravine):
        raise TypeError(f"surface must be a Ravine; got {type(surface).__name__}")
    optimizer = check_choice(optimizer, "optimizer", RAVINE_OPTIMIZERS)
    eta = check_positive(eta, "eta")
    momentum = check_positive(momentum, "momentum", allow_zero=True)
    if momentum >= 1:
        raise ValueError(f"momentum must be in [0, 1); got {momentum}")
    n_steps = check_int(n_steps, "n_steps", min_value=1)
    w = torch.tensor(surface.w0, dtype=torch.float64, requires_grad=True)
    H = torch.tensor(surface.hessian, dtype=torch.float64)
    opt = _torch_optimizer(optimizer, [w], eta, momentum)
    path = np.full((n_steps + 1, 2), np.nan)
    path[0] = surface.w0
    for t in range(1, n_steps + 1):
        w.grad = (H @ w).detach()
        opt.step()
        point = w.detach().numpy()
        if not np.all(np.isfinite(point)):
            break
        path[t] = point
    return path


def steps_to_tolerance(losses: np.ndarray, tol: float) -> float:
    """The first step ``t`` from which ``E ≤ tol · E(0)`` holds to the end of the run.

    A method that oscillates may cross below the tolerance and come back; only the step from
    which it stays below counts.  ``inf`` if the last loss is above (NaN counts as above).

    Parameters
    ----------
    losses
        ``E(0), E(1), …``, shape ``(T,)``.
    tol
        Relative tolerance in (0, 1).
    """
    losses = np.asarray(losses, dtype=float)
    if losses.ndim != 1 or losses.size == 0:
        raise ValueError(f"losses must be a non-empty 1-D array; got shape {losses.shape}")
    tol = check_positive(tol, "tol")
    if tol >= 1:
        raise ValueError(f"tol must be in (0, 1); got {tol}")
    above = np.flatnonzero(~(losses <= tol * losses[0]))
    if above.size and above[-1] == losses.size - 1:
        return math.inf
    return float(above[-1] + 1) if above.size else 0.0


def closed_form_paths(
    surface: Ravine,
    optimizer: str,
    etas: Sequence[float],
    *,
    momentum: float = 0.0,
    n_steps: int = 200,
) -> np.ndarray:
    """The paths of :func:`optimizer_path` for many rates at once, in NumPy.

    The same updates as ``torch.optim``'s SGD, RMSprop and Adam with their default constants
    (RMSprop: ``α = 0.99``, ``ε = 1e-8``; Adam: ``β = (0.9, 0.999)``, ``ε = 1e-8``), vectorised
    over the rates (and without ``torch.optim``'s start-up cost); the tests hold them to
    :func:`optimizer_path`.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(etas), n_steps + 1, 2)``; NaN from the first non-finite point on.
    """
    if not isinstance(surface, Ravine):
        raise TypeError(f"surface must be a Ravine; got {type(surface).__name__}")
    optimizer = check_choice(optimizer, "optimizer", RAVINE_OPTIMIZERS)
    lr = _check_rates(etas, "etas")[:, None]
    momentum = check_positive(momentum, "momentum", allow_zero=True)
    if momentum >= 1 or (optimizer == "adam" and momentum != 0):
        raise ValueError(f"momentum must be in [0, 1), and 0 for Adam; got {momentum}")
    n_steps = check_int(n_steps, "n_steps", min_value=1)
    w = np.tile(surface.w0, (lr.shape[0], 1))
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    out = np.full((lr.shape[0], n_steps + 1, 2), np.nan)
    out[:, 0] = w
    with np.errstate(all="ignore"):
        for t in range(1, n_steps + 1):
            g = surface.grad(w)
            if optimizer == "sgd":
                m = momentum * m + g if t > 1 else g
                w = w - lr * m
            elif optimizer == "rmsprop":
                v = 0.99 * v + 0.01 * g * g
                step = g / (np.sqrt(v) + 1e-8)
                m = momentum * m + step if t > 1 else step
                w = w - lr * m
            else:
                m = 0.9 * m + 0.1 * g
                v = 0.999 * v + 0.001 * g * g
                denom = np.sqrt(v) / math.sqrt(1 - 0.999**t) + 1e-8
                w = w - (lr / (1 - 0.9**t)) * m / denom
            out[:, t] = w
    bad = ~np.isfinite(out).all(axis=2)
    out[np.maximum.accumulate(bad, axis=1)] = np.nan
    return out


def sweep_losses(
    surface: Ravine,
    optimizer: str,
    etas: Sequence[float],
    *,
    momentum: float = 0.0,
    n_steps: int = 200,
) -> np.ndarray:
    """``E`` along :func:`closed_form_paths`, shape ``(len(etas), n_steps + 1)``."""
    paths = closed_form_paths(surface, optimizer, etas, momentum=momentum, n_steps=n_steps)
    return surface.loss(paths)


@dataclass(frozen=True)
class RavineComparison:
    """Four descents of a :class:`Ravine`, each at its rate, and the sweeps that chose them.

    Attributes
    ----------
    surface
        The ravine.
    names
        ``("gd", "momentum", "rmsprop", "adam")``.
    labels
        Name → legend label.
    eta, momentum
        Name → the rate and momentum used.
    path
        Name → the points visited, ``(n_steps + 1, 2)``.
    loss
        Name → ``E`` along the path, ``(n_steps + 1,)``.
    steps
        Name → steps to reach ``E ≤ tol · E(0)`` (``inf`` if not within ``n_steps``).
    sweep_eta
        Name → the rates tried for it, ``(R,)``.
    sweep_steps
        Name → steps to tolerance at each of those rates, ``(R,)``.
    tol, n_steps
        The settings.
    """

    surface: Ravine
    names: tuple[str, ...]
    labels: dict[str, str]
    eta: dict[str, float]
    momentum: dict[str, float]
    path: dict[str, np.ndarray]
    loss: dict[str, np.ndarray]
    steps: dict[str, float]
    sweep_eta: dict[str, np.ndarray]
    sweep_steps: dict[str, np.ndarray]
    tol: float
    n_steps: int

    def predicted_steps(self, method: str) -> float:
        """Steps to tolerance from the contraction factor ``ρ``: ``ln(1/tol) / (2 ln(1/ρ))``.

        ``E`` is quadratic in the distance, hence the 2.  (For momentum at its optimum the
        iteration matrix is defective and the error decays like ``t ρ^t``, so this slightly
        underestimates.)
        """
        rho = self.surface.contraction(method)
        return math.log(1.0 / self.tol) / (2.0 * math.log(1.0 / rho))


def ravine_comparison(
    kappa: float = 50.0,
    *,
    w0: Sequence[float] = (-2.0, 0.6),
    angle: float = 0.0,
    tol: float = 1e-6,
    n_steps: int = 250,
    gd_etas: Sequence[float] | None = None,
    adaptive_etas: Sequence[float] = tuple(np.geomspace(0.003, 1.0, 16)),
) -> RavineComparison:
    """Plain GD, heavy-ball momentum, RMSProp and Adam on :func:`ravine`, in closed form.

    GD runs at the best rate of theory (:meth:`Ravine.gd_rate`), momentum at Polyak's optimal
    ``(η*, μ*)`` (:meth:`Ravine.heavy_ball`); RMSProp and Adam, which have no such formula, at
    the rate of ``adaptive_etas`` that reaches the tolerance in the fewest steps.  GD is swept
    too, as a check that the theory's rate is the best.

    Parameters
    ----------
    kappa, w0, angle
        The ravine (see :func:`ravine`).
    tol
        Relative loss tolerance in (0, 1): the goal is ``E ≤ tol · E(0)``.
    n_steps
        Steps of every run.
    gd_etas
        Rates of the GD sweep; default 16 rates from ``0.1/λ_max`` to ``2/λ_max``.
    adaptive_etas
        Rates of the RMSProp and Adam sweeps.
    """
    surface = ravine(kappa, w0=w0, angle=angle)
    tol = check_positive(tol, "tol")
    if tol >= 1:
        raise ValueError(f"tol must be in (0, 1); got {tol}")
    n_steps = check_int(n_steps, "n_steps", min_value=1)
    lam_max = float(surface.lam.max())
    grid = np.geomspace(0.1, 1.99, 16) / lam_max if gd_etas is None else gd_etas
    grids = {
        "gd": np.asarray([check_positive(e, "gd_etas") for e in grid], dtype=float),
        "rmsprop": np.asarray([check_positive(e, "adaptive_etas") for e in adaptive_etas]),
    }
    grids["adam"] = grids["rmsprop"]
    if grids["rmsprop"].size == 0 or grids["gd"].size == 0:
        raise ValueError("gd_etas and adaptive_etas must not be empty")
    kind = {"gd": "sgd", "momentum": "sgd", "rmsprop": "rmsprop", "adam": "adam"}

    def run(name: str, eta: float, mu: float = 0.0) -> tuple[np.ndarray, np.ndarray, float]:
        path = closed_form_paths(surface, kind[name], [eta], momentum=mu, n_steps=n_steps)[0]
        loss = surface.loss(path)
        return path, loss, steps_to_tolerance(loss, tol)

    sweep_steps = {
        n: np.array(
            [
                steps_to_tolerance(row, tol)
                for row in sweep_losses(surface, kind[n], g, n_steps=n_steps)
            ]
        )
        for n, g in grids.items()
    }
    eta_hb, mu_hb = surface.heavy_ball()
    eta = {"gd": surface.gd_rate(), "momentum": eta_hb}
    for name in ("rmsprop", "adam"):
        eta[name] = float(grids[name][int(np.argmin(sweep_steps[name]))])
    momentum = {"gd": 0.0, "momentum": mu_hb, "rmsprop": 0.0, "adam": 0.0}
    names = ("gd", "momentum", "rmsprop", "adam")
    runs = {n: run(n, eta[n], momentum[n]) for n in names}
    labels = {
        "gd": "gradient descent",
        "momentum": "momentum (Polyak's optimum)",
        "rmsprop": "RMSProp",
        "adam": "Adam",
    }
    return RavineComparison(
        surface=surface,
        names=names,
        labels=labels,
        eta=eta,
        momentum=momentum,
        path={n: r[0] for n, r in runs.items()},
        loss={n: r[1] for n, r in runs.items()},
        steps={n: r[2] for n, r in runs.items()},
        sweep_eta=grids,
        sweep_steps=sweep_steps,
        tol=tol,
        n_steps=n_steps,
    )


# ---------------------------------------------------------------------------------------------
# Digits: the shared set-up and one trainer for every variant
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigitsSetup:
    """The digit classifier every learning-rate experiment trains.

    A ``sizes`` network of ``1.7159 tanh(2x/3)`` hidden units with linear outputs, trained with
    the squared error on ±1 targets (paper §4.4–4.5) by mini-batches of ``batch_size`` from
    ``n_train`` standardized digits, for ``epochs`` epochs, initialized by eq 16.

    Attributes
    ----------
    sizes, n_train, epochs, batch_size, data_seed
        The settings (``data_seed`` draws the training subset).
    """

    sizes: tuple[int, ...] = (64, 32, 16, 10)
    n_train: int = 300
    epochs: int = 10
    batch_size: int = 30
    data_seed: int = 0

    def __post_init__(self) -> None:
        sizes = check_sizes(self.sizes, "sizes", min_len=3)
        if sizes[0] != 64 or sizes[-1] != 10:
            raise ValueError(
                f"sizes must start with 64 inputs and end with 10 outputs; got {sizes}"
            )
        object.__setattr__(self, "sizes", sizes)
        check_int(self.n_train, "n_train", min_value=10)
        check_int(self.epochs, "epochs", min_value=1)
        check_int(self.batch_size, "batch_size", min_value=1)
        if self.batch_size > self.n_train:
            raise ValueError(
                f"batch_size must be <= n_train ({self.n_train}); got {self.batch_size}"
            )
        check_int(self.data_seed, "data_seed", min_value=0)

    def task(self) -> tuple[data.Split, np.ndarray]:
        """The digits split and the ±1 training targets."""
        split = data.digits(n_train=self.n_train, seed=self.data_seed, standardize=True)
        return split, data.encode_targets(split.y_train, split.n_classes, "pm1", 1.0)

    def model(self, seed: int, sizes: tuple[int, ...] | None = None) -> tnn.Sequential:
        """A freshly initialized network (``sizes`` overrides the set-up's)."""
        return nn.mlp(sizes or self.sizes, activation="lecun_tanh", seed=seed)


VARIANTS: dict[str, str] = {
    "sgd": "SGD, one global rate",
    "sgd_layers": "SGD, per-layer rates ∝ √fan-in",
    "momentum": "SGD + momentum μ = 0.9",
    "rmsprop": "RMSProp",
    "adam": "Adam",
    "adaptive": "adaptive rate (paper's eqs 17–19)",
}
"""The optimizer variants :func:`rate_sweep` knows, and their labels."""

MOMENTUM: float = 0.9
"""The momentum of the ``"momentum"`` variant."""


@dataclass
class _Runs:
    """What a group of runs left: losses and gradient norms ``(K, T)``, NaN-padded."""

    train_loss: np.ndarray
    grad_norm: np.ndarray
    diverged: np.ndarray
    step: np.ndarray
    eta: np.ndarray | None
    models: list[tnn.Module] = field(repr=False)


def _pad(rows: list[list[float]], T: int) -> np.ndarray:
    out = np.full((len(rows), T), np.nan)
    for k, row in enumerate(rows):
        out[k, : len(row)] = row[:T]
    return out


def _fit_group(
    models: list[tnn.Module],
    X: np.ndarray,
    T: np.ndarray,
    *,
    eta: list[Any],
    seeds: list[int],
    epochs: int,
    batch_size: int,
    groups: Callable[[tnn.Module, float], list[dict]] | None = None,
    n_records: int | None = None,
    **options: Any,
) -> _Runs:
    """Train ``models`` at once with the loss "mse": model ``k`` at ``eta[k]``, shuffled by
    ``seeds[k]``, by :func:`ebp.many.fit_many` (``on_divergence="stop"``), as
    :func:`ebp.train.fit` would train each.

    ``groups(model, eta)``, if given, builds the parameter groups of ``models[0]`` at
    ``eta[0]``; ``fit_many`` scales them by ``eta[k] / eta[0]`` for model ``k``.  The records
    are padded with NaN to ``n_records`` (default: one before training and one per epoch).
    """
    if groups is not None:
        options["param_groups"] = groups(models[0], eta[0])
    result = fit_many(
        models,
        X,
        T,
        loss="mse",
        eta=eta,
        seed=seeds,
        epochs=epochs,
        batch_size=batch_size,
        on_divergence="stop",
        **options,
    )
    hs = result.histories
    n_records = epochs + 1 if n_records is None else n_records
    return _Runs(
        train_loss=_pad([h.train_loss for h in hs], n_records),
        grad_norm=_pad([h.grad_norm for h in hs], n_records),
        diverged=np.array([h.diverged for h in hs]),
        step=np.array([h.step if h.diverged else -1 for h in hs]),
        eta=_pad([h.eta for h in hs], n_records) if hs[0].eta else None,
        models=list(result.models),
    )


def _layer_change(before: tnn.Module, after: tnn.Module) -> np.ndarray:
    """``‖W_l(end) − W_l(0)‖ / ‖W_l(0)‖`` for every layer: how far each layer has moved."""
    with torch.no_grad():
        return np.array(
            [
                float((b.weight - a.weight).norm() / a.weight.norm())
                for a, b in zip(linears(before), linears(after), strict=True)
            ]
        )


def _test_error(model: tnn.Module, split: data.Split) -> float:
    return float(np.mean(train.predict_classes(model, split.X_test) != split.y_test))


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    if isinstance(seeds, (str, bytes)) or len(seeds) == 0:
        raise ValueError("seeds must be a non-empty sequence of ints")
    return [check_int(s, f"seeds[{i}]", min_value=0) for i, s in enumerate(seeds)]


def _check_rates(etas: Sequence[float], name: str) -> np.ndarray:
    if isinstance(etas, (str, bytes)) or len(etas) == 0:
        raise ValueError(f"{name} must be a non-empty sequence of rates")
    return np.asarray([check_positive(e, f"{name}[{i}]") for i, e in enumerate(etas)])


# ---------------------------------------------------------------------------------------------
# Sweeps of the learning rate
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateSweep:
    """One optimizer variant on the digits, over a grid of rates and several seeds.

    Attributes
    ----------
    variant, label
        The key of :data:`VARIANTS` and its label.
    etas
        The rates tried, shape ``(R,)`` (for ``"sgd_layers"`` the last layer's rate; for
        ``"adaptive"`` the initial rate η(0)).
    seeds
        Seeds of the initial weights and the presentation order, ``(S,)``.
    epoch
        ``0 … epochs``, ``(T,)``.
    train_loss
        Training loss (whole training set), ``(R, S, T)``, NaN after a divergence.
    diverged
        ``(R, S)``.
    layer_change
        ``‖W_l(end) − W_l(0)‖ / ‖W_l(0)‖`` per layer, ``(R, S, L)`` (NaN if diverged).
    layer_rates
        The rate of each layer relative to the last one's, ``(L,)``.
    test_error
        Test error at the end, ``(R, S)`` (NaN if diverged).
    eta_history
        For ``"adaptive"``: η at every record, ``(R, S, T)``; else ``None``.
    setup
        The :class:`DigitsSetup`.
    """

    variant: str
    label: str
    etas: np.ndarray
    seeds: np.ndarray
    epoch: np.ndarray
    train_loss: np.ndarray
    diverged: np.ndarray
    layer_change: np.ndarray
    layer_rates: np.ndarray
    test_error: np.ndarray
    eta_history: np.ndarray | None
    setup: DigitsSetup

    @property
    def final_loss(self) -> np.ndarray:
        """Training loss at the end, ``(R, S)``; ``inf`` for a run that diverged."""
        return np.where(self.diverged, np.inf, self.train_loss[:, :, -1])

    @property
    def mean_final_loss(self) -> np.ndarray:
        """Seed mean of :attr:`final_loss`, ``(R,)`` (``inf`` if any seed diverged)."""
        return self.final_loss.mean(axis=1)

    @property
    def best(self) -> int:
        """Index of the rate with the lowest mean final loss."""
        return int(np.argmin(self.mean_final_loss))

    @property
    def best_eta(self) -> float:
        """The rate with the lowest mean final loss."""
        return float(self.etas[self.best])

    @property
    def best_curves(self) -> np.ndarray:
        """Training-loss curves at the best rate, ``(S, T)``."""
        return self.train_loss[self.best]

    @property
    def best_at_edge(self) -> bool:
        """Whether the best rate is the smallest or largest tried (the grid may be too short)."""
        return self.best in (0, len(self.etas) - 1)


def _sqrt_fan_in_groups(model: tnn.Module, eta: float) -> list[dict]:
    return per_layer_rates(model, eta, rule="sqrt_fan_in")


def _variant_options(variant: str) -> dict[str, Any]:
    return {
        "sgd": {},
        "sgd_layers": {},
        "momentum": {"momentum": MOMENTUM},
        "rmsprop": {"optimizer": "rmsprop"},
        "adam": {"optimizer": "adam"},
        "adaptive": {"optimizer": "adaptive"},
    }[variant]


def rate_sweep(
    variant: str,
    etas: Sequence[float],
    *,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    setup: DigitsSetup | None = None,
) -> RateSweep:
    """Train the :class:`DigitsSetup` network with ``variant`` at every rate and seed.

    All ``len(etas) · len(seeds)`` networks are trained together by :func:`ebp.many.fit_many`
    (each as :func:`ebp.train.fit` would train it).
    Seed ``s`` draws the same initial weights and the same order of presentation for every rate
    and variant, so the variants are compared on equal terms.

    Parameters
    ----------
    variant
        A key of :data:`VARIANTS`: ``"sgd"``; ``"sgd_layers"`` (SGD with the rates of
        :func:`ebp.optim.per_layer_rates`, ∝ √fan-in, the last layer's being ``eta``);
        ``"momentum"`` (μ = :data:`MOMENTUM`); ``"rmsprop"``, ``"adam"`` (``torch.optim``,
        default constants); ``"adaptive"`` (:class:`ebp.optim.PaperAdaptiveRate` with its
        default δ, α, β, started at ``eta``).
    etas
        The rates to try.
    seeds
        At least one seed.
    setup
        The network and data; default :class:`DigitsSetup`.
    """
    variant = check_choice(variant, "variant", VARIANTS)
    rates = _check_rates(etas, "etas")
    seeds = _check_seeds(seeds)
    setup = DigitsSetup() if setup is None else setup
    if not isinstance(setup, DigitsSetup):
        raise TypeError(f"setup must be a DigitsSetup; got {type(setup).__name__}")
    split, T = setup.task()
    models = [setup.model(s) for _ in rates for s in seeds]
    groups = _sqrt_fan_in_groups if variant == "sgd_layers" else None
    runs = _fit_group(
        models,
        split.X_train,
        T,
        eta=[float(e) for e in rates for _ in seeds],
        seeds=[s for _ in rates for s in seeds],
        epochs=setup.epochs,
        batch_size=setup.batch_size,
        groups=groups,
        **_variant_options(variant),
    )
    R, S = len(rates), len(seeds)
    change = np.array([_layer_change(a, b) for a, b in zip(models, runs.models, strict=True)])
    change[runs.diverged] = np.nan
    err = np.array([_test_error(m, split) for m in runs.models])
    err[runs.diverged] = np.nan
    fan_in = np.array([lin.in_features for lin in linears(models[0])], dtype=float)
    rel = np.sqrt(fan_in / fan_in[-1]) if variant == "sgd_layers" else np.ones_like(fan_in)
    return RateSweep(
        variant=variant,
        label=VARIANTS[variant],
        etas=rates,
        seeds=np.asarray(seeds),
        epoch=np.arange(setup.epochs + 1, dtype=float),
        train_loss=runs.train_loss.reshape(R, S, -1),
        diverged=runs.diverged.reshape(R, S),
        layer_change=change.reshape(R, S, -1),
        layer_rates=rel,
        test_error=err.reshape(R, S),
        eta_history=None if runs.eta is None else runs.eta.reshape(R, S, -1),
        setup=setup,
    )


def adaptive_constants() -> dict[str, float]:
    """The δ, α, β :class:`ebp.optim.PaperAdaptiveRate` uses by default (the paper gives none)."""
    params = inspect.signature(PaperAdaptiveRate.__init__).parameters
    return {k: float(params[k].default) for k in ("delta", "alpha", "beta")}


@dataclass(frozen=True)
class BetaSweep:
    """The paper's adaptive rate (eqs 17–19) with several values of its constant β.

    Attributes
    ----------
    betas
        ``(B,)`` the values of β.
    eta0
        The initial rate η(0) of every run.
    seeds
        ``(S,)`` seeds (initial weights and order of presentation).
    peak_eta
        ``(B, S)`` the largest η of each run (up to its divergence, if any).
    final_loss
        ``(B, S)`` the last recorded training loss (NaN for a run that diverged).
    diverged
        ``(B, S)`` whether the run diverged (and was stopped).
    """

    betas: np.ndarray
    eta0: float
    seeds: np.ndarray
    peak_eta: np.ndarray
    final_loss: np.ndarray
    diverged: np.ndarray


def beta_sweep(
    betas: Sequence[float] = (0.03, 0.1, 0.3),
    *,
    eta0: float = 0.01,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    setup: DigitsSetup | None = None,
) -> BetaSweep:
    """Train the :class:`DigitsSetup` network with :class:`ebp.optim.PaperAdaptiveRate` for
    every β and seed, one :func:`ebp.train.fit` run each (divergence stops a run).

    Parameters
    ----------
    betas
        Values of β (> 0); δ and α keep their defaults (:func:`adaptive_constants`).
    eta0
        The initial rate.
    seeds
        At least one seed.
    setup
        The network and data; default :class:`DigitsSetup`.
    """
    betas_arr = _check_rates(betas, "betas")
    eta0 = check_positive(eta0, "eta0")
    seeds = [check_int(s, "seeds", min_value=0) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    setup = DigitsSetup() if setup is None else setup
    if not isinstance(setup, DigitsSetup):
        raise TypeError(f"setup must be a DigitsSetup; got {type(setup).__name__}")
    split, T = setup.task()
    shape = (betas_arr.size, len(seeds))
    peak, final, div = np.zeros(shape), np.full(shape, np.nan), np.zeros(shape, dtype=bool)
    runs = [(i, j, b, s) for i, b in enumerate(betas_arr.tolist()) for j, s in enumerate(seeds)]
    with single_threaded():
        for i, j, b, seed in runs:
            h = train.fit(
                setup.model(seed),
                split.X_train,
                T,
                loss="mse",
                eta=eta0,
                epochs=setup.epochs,
                batch_size=setup.batch_size,
                seed=seed,
                optimizer=lambda p, b=b: PaperAdaptiveRate(p, beta=b),
                on_divergence="stop",
            )
            peak[i, j] = float(np.nanmax(h.eta)) if h.eta else eta0
            div[i, j] = h.diverged
            if not h.diverged:
                final[i, j] = h.train_loss[-1]
    return BetaSweep(
        betas=betas_arr,
        eta0=eta0,
        seeds=np.asarray(seeds),
        peak_eta=peak,
        final_loss=final,
        diverged=div,
    )


# ---------------------------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleComparison:
    """A constant rate against two decaying schedules, all starting at ``eta0``.

    Attributes
    ----------
    names, labels
        ``("constant", "step", "inverse_time")`` and their legend labels.
    eta0
        The first rate of every schedule.
    updates_per_epoch
        Updates in one epoch.
    epoch
        ``0 … epochs``, ``(T,)``.
    eta
        Name → the rate of the first update of each epoch (and after the last), ``(T,)``.
    train_loss
        Name → ``(S, T)``, NaN after a divergence.
    diverged
        Name → ``(S,)``.
    seeds
        ``(S,)``.
    """

    names: tuple[str, ...]
    labels: dict[str, str]
    eta0: float
    updates_per_epoch: int
    epoch: np.ndarray
    eta: dict[str, np.ndarray]
    train_loss: dict[str, np.ndarray]
    diverged: dict[str, np.ndarray]
    seeds: np.ndarray

    def final_loss(self, name: str) -> np.ndarray:
        """Training loss at the end per seed (``inf`` if diverged)."""
        return np.where(self.diverged[name], np.inf, self.train_loss[name][:, -1])


def schedule_comparison(
    eta0: float,
    *,
    step_factor: float = 0.5,
    step_epochs: int = 3,
    halving_epochs: float = 2.0,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    setup: DigitsSetup | None = None,
) -> ScheduleComparison:
    """Plain SGD on the digits with a constant rate, step decay and ``c/t`` (eq 12).

    Parameters
    ----------
    eta0
        The rate every schedule starts with (e.g. the best constant rate of a sweep).
    step_factor, step_epochs
        Step decay: multiply the rate by ``step_factor`` every ``step_epochs`` epochs
        (:class:`ebp.schedules.StepDecay`).
    halving_epochs
        ``c/t``: :class:`ebp.schedules.InverseTime` with ``t₀`` = this many epochs of updates,
        so the rate has halved after ``halving_epochs`` epochs and then falls like ``c/t``.
    seeds
        At least one seed.
    setup
        The network and data; default :class:`DigitsSetup`.
    """
    eta0 = check_positive(eta0, "eta0")
    step_epochs = check_int(step_epochs, "step_epochs", min_value=1)
    halving_epochs = check_positive(halving_epochs, "halving_epochs")
    seeds = _check_seeds(seeds)
    setup = DigitsSetup() if setup is None else setup
    split, T = setup.task()
    per_epoch = math.ceil(setup.n_train / setup.batch_size)
    schedules: dict[str, Schedule] = {
        "constant": Constant(eta0),
        "step": StepDecay(eta0, step_factor, step_epochs * per_epoch),
        "inverse_time": InverseTime(eta0, halving_epochs * per_epoch),
    }
    labels = {
        "constant": "constant",
        "step": f"step decay (×{step_factor:g} every {step_epochs} epochs)",
        "inverse_time": r"$c/t$ (halved after " + f"{halving_epochs:g} epochs)",
    }
    loss, diverged, etas = {}, {}, {}
    for name, schedule in schedules.items():
        runs = _fit_group(
            [setup.model(s) for s in seeds],
            split.X_train,
            T,
            eta=[float(eta0) if name == "constant" else schedule] * len(seeds),
            seeds=seeds,
            epochs=setup.epochs,
            batch_size=setup.batch_size,
        )
        loss[name], diverged[name] = runs.train_loss, runs.diverged
        etas[name] = np.array([schedule(e * per_epoch) for e in range(setup.epochs + 1)])
    return ScheduleComparison(
        names=tuple(schedules),
        labels=labels,
        eta0=eta0,
        updates_per_epoch=per_epoch,
        epoch=np.arange(setup.epochs + 1, dtype=float),
        eta=etas,
        train_loss=loss,
        diverged=diverged,
        seeds=np.asarray(seeds),
    )


# ---------------------------------------------------------------------------------------------
# Exploding updates and clipping
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClippingDemo:
    """A deeper network at a good rate, at a too-large rate, and at that rate with clipping.

    Attributes
    ----------
    names, labels
        ``("good", "large", "large_clipped")`` and their legend labels.
    sizes
        The network.
    eta
        Name → rate.
    clip_norm
        The gradient-norm threshold of ``"large_clipped"``.
    epoch
        ``0 … epochs``, ``(T,)``.
    train_loss, grad_norm
        Name → ``(S, T)`` per epoch: training loss and norm of the full training gradient,
        NaN after a divergence.
    diverged
        Name → ``(S,)``.
    step
        Name → ``(S,)``: the update after which divergence was detected (−1 if none).
    early_update, early_grad_norm, early_loss
        The first ``early_updates`` updates recorded one by one: update counts ``(U,)`` and,
        per name, ``(S, U)`` (NaN after a divergence).
    seeds
        ``(S,)``.
    """

    names: tuple[str, ...]
    labels: dict[str, str]
    sizes: tuple[int, ...]
    eta: dict[str, float]
    clip_norm: float
    epoch: np.ndarray
    train_loss: dict[str, np.ndarray]
    grad_norm: dict[str, np.ndarray]
    diverged: dict[str, np.ndarray]
    step: dict[str, np.ndarray]
    early_update: np.ndarray
    early_grad_norm: dict[str, np.ndarray]
    early_loss: dict[str, np.ndarray]
    seeds: np.ndarray


def clipping_demo(
    *,
    sizes: Sequence[int] = (64, 32, 32, 32, 32, 10),
    eta_good: float = 0.1,
    eta_large: float = 0.3,
    clip_norm: float = 3.0,
    epochs: int = 10,
    early_updates: int = 20,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    setup: DigitsSetup | None = None,
) -> ClippingDemo:
    """Train a deeper ``sizes`` network at ``eta_good``, ``eta_large`` and ``eta_large`` clipped.

    Every run stops at its divergence (the history reports it) instead of failing.  The whole
    runs are recorded per epoch; the first ``early_updates`` updates are recorded one by one as
    well (``record_every=batch_size``), to show how fast the gradient grows before a divergence.
    Every group of runs is trained at once by :func:`ebp.many.fit_many`.

    Parameters
    ----------
    sizes
        The network (64 inputs, 10 outputs).
    eta_good, eta_large
        A rate that trains and one that diverges.
    clip_norm
        Threshold of ``clip_norm`` (the global gradient norm of every update is at most this).
    epochs
        Epochs of the whole runs.
    early_updates
        Updates recorded one by one, ≥ 1.
    seeds
        At least one seed.
    setup
        The data and mini-batch size (its ``sizes`` and ``epochs`` are replaced).
    """
    base = DigitsSetup() if setup is None else setup
    sizes = check_sizes(sizes, "sizes", min_len=3)
    setup = DigitsSetup(sizes, base.n_train, epochs, base.batch_size, base.data_seed)
    eta = {
        "good": check_positive(eta_good, "eta_good"),
        "large": check_positive(eta_large, "eta_large"),
    }
    eta["large_clipped"] = eta["large"]
    clip_norm = check_positive(clip_norm, "clip_norm")
    early_updates = check_int(early_updates, "early_updates", min_value=1)
    seeds = _check_seeds(seeds)
    split, T = setup.task()
    clip = {"good": None, "large": None, "large_clipped": clip_norm}
    out: dict[str, dict[str, np.ndarray]] = {
        k: {} for k in ("loss", "grad", "div", "step", "eloss", "egrad")
    }
    early_epochs = math.ceil(early_updates * setup.batch_size / setup.n_train)
    for name in eta:
        runs = _fit_group(
            [setup.model(s) for s in seeds],
            split.X_train,
            T,
            eta=[eta[name]] * len(seeds),
            seeds=seeds,
            epochs=epochs,
            batch_size=setup.batch_size,
            clip_norm=clip[name],
        )
        out["loss"][name], out["grad"][name] = runs.train_loss, runs.grad_norm
        out["div"][name], out["step"][name] = runs.diverged, runs.step
        early = _fit_group(
            [setup.model(s) for s in seeds],
            split.X_train,
            T,
            eta=[eta[name]] * len(seeds),
            seeds=seeds,
            epochs=early_epochs,
            batch_size=setup.batch_size,
            clip_norm=clip[name],
            record_every=setup.batch_size,
            n_records=early_updates + 1,
        )
        out["eloss"][name] = early.train_loss[:, : early_updates + 1]
        out["egrad"][name] = early.grad_norm[:, : early_updates + 1]
    labels = {
        "good": f"η = {eta['good']:g}",
        "large": f"η = {eta['large']:g}",
        "large_clipped": f"η = {eta['large']:g}, clip_norm = {clip_norm:g}",
    }
    return ClippingDemo(
        names=tuple(eta),
        labels=labels,
        sizes=sizes,
        eta=eta,
        clip_norm=clip_norm,
        epoch=np.arange(epochs + 1, dtype=float),
        train_loss=out["loss"],
        grad_norm=out["grad"],
        diverged=out["div"],
        step=out["step"],
        early_update=np.arange(early_updates + 1, dtype=float),
        early_grad_norm=out["egrad"],
        early_loss=out["eloss"],
        seeds=np.asarray(seeds),
    )
