"""Experiments of the chapter "Analysis of the Hessian" (paper §8, Figs 19–21).

Each function returns a dataclass of NumPy data; nothing here draws (see
:mod:`ebp.plots.analysis_of_the_hessian`).  The network is a small multilayer perceptron of the
paper's sigmoid ``1.7159 tanh(2x/3)`` (default 64-12-12-10, 1066 parameters) trained for a
short while with the squared error on ±1 targets, on a few hundred of scikit-learn's 8×8 digits.

- :func:`hessian_spectrum`: the full spectrum of the Hessian (dense matrix, ``eigvalsh``) for
  several seeds, its exact, Gauss–Newton and backpropagated (§7.4) diagonals per layer, and, for
  the first seed, Lanczos's top eigenvalues and a stochastic Lanczos quadrature density to set
  beside the exact ones (Figs 19–21).
- :func:`curvature_comparison`: ``λ_max`` and ``λ_1/λ_k`` by Lanczos, at initialization and
  after training, for several set-ups (input offsets, hidden sigmoids, raw pixels), with the
  layers that the top eigenvector lives in.
- :func:`lambda_max_during_training`: ``λ_max`` at snapshots taken during training.
- :func:`per_layer_training`: one learning rate per layer, inversely proportional to the
  layer's mean second derivative, against the single rate.
- :func:`slq_convergence`: how many Lanczos steps stochastic Lanczos quadrature needs for the
  top eigenvalue and for the bulk of the density.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn as tnn

from ebp import data, hessian
from ebp import nn as ebp_nn
from ebp import optim as ebp_optim
from ebp._validate import (
    check_choice,
    check_in_range,
    check_int,
    check_positive,
    check_sizes,
    describe,
)
from ebp.many import ManyHistory, fit_many
from ebp.repro import single_threaded

__all__ = [
    "INPUTS",
    "SIZES",
    "CurvatureComparison",
    "HessianSetup",
    "HessianSpectrum",
    "PerLayerTraining",
    "SLQConvergence",
    "TopEigenvalueTrajectory",
    "TrainingSettings",
    "curvature_comparison",
    "digit_problem",
    "hessian_spectrum",
    "lambda_max_during_training",
    "layer_of_parameters",
    "offset_setups",
    "per_layer_training",
    "slq_convergence",
    "train_networks",
]

SIZES: tuple[int, ...] = (64, 12, 12, 10)
"""The default network, 64 pixels, two hidden layers of 12 units, 10 outputs (1066 weights)."""

INPUTS: tuple[str, ...] = ("standardized", "raw")
"""Input codings, either every pixel centred and scaled to unit variance on the training set, or the
raw pixel values in [0, 1] (mean about 0.3: not centred)."""


# ---------------------------------------------------------------------------------------------
# Set-ups and training
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HessianSetup:
    """One way to build the network and its inputs.

    Attributes
    ----------
    activation
        The hidden units' sigmoid (a name of :data:`ebp.nn.ACTIVATIONS`); the outputs are always
        ``1.7159 tanh(2x/3)`` with ±1 targets.
    inputs
        ``"standardized"`` or ``"raw"`` (see :data:`INPUTS`).
    offset
        A constant added to every input after coding it (§8: non-zero-mean inputs).
    """

    activation: str = "lecun_tanh"
    inputs: str = "standardized"
    offset: float = 0.0

    def __post_init__(self) -> None:
        check_choice(self.activation, "activation", ebp_nn.ACTIVATIONS)
        check_choice(self.inputs, "inputs", INPUTS)
        check_in_range(self.offset, "offset")

    @property
    def label(self) -> str:
        """A short description for figures and tables."""
        names = {"lecun_tanh": "1.7159 tanh(2x/3)", "tanh": "tanh", "logistic": "logistic"}
        act = names.get(self.activation, self.activation)
        text = f"{self.inputs} inputs, {act}"
        return text + (f", offset {self.offset:g}" if self.offset else "")


def offset_setups(
    offsets: Sequence[float], activation: str = "lecun_tanh", inputs: str = "standardized"
) -> list[HessianSetup]:
    """One :class:`HessianSetup` per input offset ``c`` (the same network otherwise)."""
    if isinstance(offsets, (str, bytes)) or not isinstance(offsets, Sequence) or not offsets:
        raise TypeError(f"offsets must be a non-empty sequence of numbers; got {describe(offsets)}")
    return [HessianSetup(activation, inputs, float(c)) for c in offsets]


@dataclass(frozen=True)
class TrainingSettings:
    """How the networks are trained "for a little while" before their Hessian is taken.

    Mini-batch gradient descent (:func:`ebp.many.fit_many`) on the squared error with ±1
    targets, every seed with its own initial weights and its own presentation order.
    """

    n_train: int = 320
    epochs: int = 10
    eta: float = 0.05
    batch_size: int = 10
    data_seed: int = 0

    def __post_init__(self) -> None:
        check_int(self.n_train, "n_train", min_value=10)
        check_int(self.epochs, "epochs", min_value=0)
        check_positive(self.eta, "eta")
        check_int(self.batch_size, "batch_size", min_value=1)
        check_int(self.data_seed, "data_seed", min_value=0)


def digit_problem(
    setup: HessianSetup, n_train: int = 320, data_seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Training inputs ``X`` (``(n_train, 64)``) and ±1 targets ``T`` (``(n_train, 10)``)."""
    if not isinstance(setup, HessianSetup):
        raise TypeError(f"setup must be a HessianSetup; got {type(setup).__name__}")
    split = data.digits(n_train=n_train, seed=data_seed, standardize=setup.inputs == "standardized")
    X = split.X_train + setup.offset
    T = data.encode_targets(split.y_train, split.n_classes, "pm1")
    return X, T


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or len(seeds) == 0:
        raise ValueError(f"seeds must be a non-empty sequence of ints; got {describe(seeds)}")
    return [check_int(s, f"seeds[{i}]", min_value=0) for i, s in enumerate(seeds)]


def _check_setup(setup: object) -> HessianSetup:
    if not isinstance(setup, HessianSetup):
        raise TypeError(f"setup must be a HessianSetup; got {type(setup).__name__}")
    return setup


def _check_settings(settings: object) -> TrainingSettings:
    if settings is None:
        return TrainingSettings()
    if not isinstance(settings, TrainingSettings):
        raise TypeError(f"settings must be a TrainingSettings; got {type(settings).__name__}")
    return settings


def _untrained(setup: HessianSetup, sizes: tuple[int, ...], seeds: list[int]) -> list:
    return [
        ebp_nn.mlp(sizes, setup.activation, "lecun_tanh", seed=s, dtype=torch.float64)
        for s in seeds
    ]


def train_networks(
    setup: HessianSetup,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    *,
    sizes: Sequence[int] = SIZES,
    settings: TrainingSettings | None = None,
    snapshots: bool = False,
) -> tuple[list[tnn.Module], np.ndarray, np.ndarray, object]:
    """Build one float64 network per seed and train them side by side with ``fit_many``.

    Returns
    -------
    tuple
        ``(models, X, T, history)``: the trained networks (the untrained ones when
        ``settings.epochs`` is 0, with ``history`` ``None``), the training inputs and
        targets, and the :class:`ebp.many.ManyHistory`.
    """
    setup = _check_setup(setup)
    seeds = _check_seeds(seeds)
    sizes = check_sizes(sizes)
    settings = _check_settings(settings)
    X, T = digit_problem(setup, settings.n_train, settings.data_seed)
    models = _untrained(setup, sizes, seeds)
    if settings.epochs == 0:
        return models, X, T, None
    with single_threaded():
        hist = _fit_digits(
            models, X, T, settings, seeds, on_divergence="raise", snapshots=snapshots
        )
    return hist.models, X, T, hist


def _fit_digits(
    models: list[tnn.Module],
    X: torch.Tensor,
    T: torch.Tensor,
    settings: TrainingSettings,
    seeds: list[int],
    **options: object,
) -> ManyHistory:
    """``fit_many`` on the digit problem with the chapter's squared error and ``settings``
    (rate, epochs, mini-batch size); ``options`` are passed on."""
    return fit_many(
        models,
        X,
        T,
        loss="mse",
        eta=settings.eta,
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        seed=seeds,
        **options,
    )


def layer_of_parameters(model: tnn.Module) -> tuple[np.ndarray, np.ndarray]:
    """For every entry of the flat parameter vector: the index of its ``Linear`` layer
    (0 = lowest) and whether it is a weight (``True``) or a bias."""
    layer, is_weight = [], []
    linear = 0
    for module in model.modules():
        if isinstance(module, tnn.Linear):
            for name, p in module.named_parameters(recurse=False):
                layer.append(np.full(p.numel(), linear))
                is_weight.append(np.full(p.numel(), name == "weight"))
            linear += 1
    return np.concatenate(layer), np.concatenate(is_weight)


def _gaussian_density(values: np.ndarray, grid: np.ndarray, sigma: float) -> np.ndarray:
    z = (grid[:, None] - values[None, :]) / sigma
    return np.exp(-0.5 * z**2).mean(axis=1) / (sigma * np.sqrt(2 * np.pi))


# ---------------------------------------------------------------------------------------------
# The full spectrum (Figs 19–21)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HessianSpectrum:
    """The Hessian of trained networks, in full, one per seed.

    Attributes
    ----------
    setup, settings, sizes
        What was trained and how.
    seeds
        ``(K,)`` seeds of the initial weights and presentation orders.
    eigenvalues
        ``(K, n)``, each row sorted from the largest down (``numpy.linalg.eigvalsh`` of the
        dense Hessian).
    diag_exact, diag_gauss_newton, diag_backprop
        ``(K, n)``: the Hessian's diagonal ``h_ii``, the exact Gauss–Newton diagonal and the
        paper's backpropagated diagonal (§7.4, eqs 54–58; exact Gauss–Newton only on the top
        two layers).
    layer, is_weight
        ``(n,)``: each parameter's ``Linear`` layer (0 lowest) and whether it is a weight.
    dead
        ``(n,)``: parameters whose Hessian row is exactly zero for every seed (weights from
        pixels that are constant on the training set).
    train_loss
        ``(K,)`` final training loss.
    lanczos_values, lanczos_products
        Top eigenvalues of the first seed's Hessian by Lanczos (:func:`ebp.hessian.lanczos_eigs`)
        and the Hessian–vector products they took (residual checks included).
    slq_grid, slq_density, exact_density, slq_sigma, slq_products
        The first seed's spectral density by stochastic Lanczos quadrature
        (:func:`ebp.hessian.slq_density`), and its exact eigenvalues smoothed with the same
        Gaussian width, on the same grid.
    """

    setup: HessianSetup
    settings: TrainingSettings
    sizes: tuple[int, ...]
    seeds: np.ndarray
    eigenvalues: np.ndarray
    diag_exact: np.ndarray
    diag_gauss_newton: np.ndarray
    diag_backprop: np.ndarray
    layer: np.ndarray
    is_weight: np.ndarray
    dead: np.ndarray
    train_loss: np.ndarray
    lanczos_values: np.ndarray
    lanczos_products: int
    slq_grid: np.ndarray = field(repr=False)
    slq_density: np.ndarray = field(repr=False)
    exact_density: np.ndarray = field(repr=False)
    slq_sigma: float
    slq_products: int

    @property
    def n_params(self) -> int:
        """Number of parameters ``n`` (the size of the Hessian)."""
        return int(self.eigenvalues.shape[1])

    @property
    def n_layers(self) -> int:
        """Number of ``Linear`` layers."""
        return int(self.layer.max()) + 1

    @property
    def lambda_max(self) -> np.ndarray:
        """``(K,)`` largest eigenvalue ``λ_1``."""
        return self.eigenvalues[:, 0]

    def ratio(self, k: int = 11) -> np.ndarray:
        """``(K,)`` ``λ_1 / λ_k`` (the paper's ``λ_1/λ_11`` for ``k = 11``)."""
        k = check_int(k, "k", min_value=2, max_value=self.n_params)
        return self.eigenvalues[:, 0] / self.eigenvalues[:, k - 1]

    def n_negative(self, rel_tol: float = 0.0) -> np.ndarray:
        """``(K,)`` number of eigenvalues below ``−rel_tol · λ_1``."""
        rel_tol = check_positive(rel_tol, "rel_tol", allow_zero=True)
        return (self.eigenvalues < -rel_tol * self.eigenvalues[:, :1]).sum(axis=1)

    def n_small(self, rel_tol: float = 0.01) -> np.ndarray:
        """``(K,)`` number of eigenvalues with ``|λ| ≤ rel_tol · λ_1``: the bulk near 0."""
        rel_tol = check_positive(rel_tol, "rel_tol")
        return (np.abs(self.eigenvalues) <= rel_tol * self.eigenvalues[:, :1]).sum(axis=1)

    def layer_means(self, kind: str = "exact") -> np.ndarray:
        """``(K, L)``: mean ``|∂²E/∂w_ki²|`` over the weights (not biases) of each layer,
        leaving out the :attr:`dead` ones.

        Parameters
        ----------
        kind
            ``"exact"``, ``"gauss_newton"`` or ``"backprop"``.
        """
        kind = check_choice(kind, "kind", ("exact", "gauss_newton", "backprop"))
        d = {
            "exact": self.diag_exact,
            "gauss_newton": self.diag_gauss_newton,
            "backprop": self.diag_backprop,
        }[kind]
        cols = []
        for ell in range(self.n_layers):
            mask = (self.layer == ell) & self.is_weight & ~self.dead
            cols.append(np.abs(d[:, mask]).mean(axis=1))
        return np.stack(cols, axis=1)

    def lanczos_error(self) -> float:
        """Largest relative difference between Lanczos's top values and the dense ones."""
        k = self.lanczos_values.size
        exact = self.eigenvalues[0, :k]
        return float(np.max(np.abs(self.lanczos_values - exact) / np.abs(exact)))

    def density_l1(self) -> float:
        """``∫ |ρ_SLQ − ρ_exact| dλ`` on the grid (0: identical, 2: disjoint)."""
        diff = np.abs(self.slq_density - self.exact_density)
        return float(np.sum((diff[1:] + diff[:-1]) / 2 * np.diff(self.slq_grid)))


def hessian_spectrum(
    setup: HessianSetup | None = None,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    *,
    sizes: Sequence[int] = SIZES,
    settings: TrainingSettings | None = None,
    lanczos_k: int = 12,
    slq_probes: int = 4,
    slq_steps: int = 60,
) -> HessianSpectrum:
    """Train networks for a short while, then compute their Hessians in full.

    For each seed: the dense Hessian of the full training loss (:func:`ebp.hessian.dense_hessian`),
    all its eigenvalues (``numpy.linalg.eigvalsh``), its diagonal, the exact Gauss–Newton
    diagonal and the backpropagated one of §7.4.  For the first seed also the top ``lanczos_k``
    eigenvalues by Lanczos and a stochastic Lanczos quadrature density with ``slq_probes``
    probes of ``slq_steps`` steps.

    Parameters
    ----------
    setup
        The network and its inputs; default :class:`HessianSetup` ``()`` (standardized inputs,
        ``1.7159 tanh(2x/3)``).
    seeds
        Seeds of the initial weights and presentation orders.
    sizes
        Layer widths, input 64 first, output 10 last.
    settings
        Training; default :class:`TrainingSettings` ``()``.
    lanczos_k, slq_probes, slq_steps
        Sizes of the two product-only estimates set beside the exact spectrum.
    """
    setup = HessianSetup() if setup is None else _check_setup(setup)
    settings = _check_settings(settings)
    lanczos_k = check_int(lanczos_k, "lanczos_k", min_value=1)
    slq_probes = check_int(slq_probes, "slq_probes", min_value=1)
    slq_steps = check_int(slq_steps, "slq_steps", min_value=2)
    models, X, T, _ = train_networks(setup, seeds, sizes=sizes, settings=settings)
    seeds = _check_seeds(seeds)
    layer, is_weight = layer_of_parameters(models[0])
    eig, d_exact, d_gn, d_bp, losses, zero_rows = [], [], [], [], [], []
    with single_threaded():
        for i, model in enumerate(models):
            op = hessian.HessianOperator(model, "mse", (X, T))
            H = op.dense(chunk_size=64).numpy()
            eig.append(np.linalg.eigvalsh(H)[::-1])
            d_exact.append(np.diag(H).copy())
            zero_rows.append(~H.any(axis=1))
            d_gn.append(hessian.gauss_newton_diagonal(model, "mse", (X, T)).values.numpy())
            d_bp.append(hessian.backprop_diagonal(model, "mse", (X, T)).values.numpy())
            losses.append(op.loss_value())
            if i == 0:
                lz = hessian.lanczos_eigs(op, k=lanczos_k, which="LA", seed=0)
                slq_op = hessian.HessianOperator(model, "mse", (X, T))
                slq = hessian.slq_density(slq_op, n_probes=slq_probes, n_steps=slq_steps)
                exact_density = _gaussian_density(eig[0], slq.grid, slq.sigma)
    return HessianSpectrum(
        setup=setup,
        settings=settings,
        sizes=tuple(sizes),
        seeds=np.asarray(seeds),
        eigenvalues=np.stack(eig),
        diag_exact=np.stack(d_exact),
        diag_gauss_newton=np.stack(d_gn),
        diag_backprop=np.stack(d_bp),
        layer=layer,
        is_weight=is_weight,
        dead=np.logical_and.reduce(zero_rows),
        train_loss=np.asarray(losses),
        lanczos_values=lz.values,
        lanczos_products=int(lz.n_products),
        slq_grid=slq.grid,
        slq_density=slq.density,
        exact_density=exact_density,
        slq_sigma=float(slq.sigma),
        slq_products=int(slq.n_products),
    )


# ---------------------------------------------------------------------------------------------
# Comparing set-ups by Lanczos
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CurvatureComparison:
    """``λ_1`` and ``λ_k`` (Lanczos) of several set-ups, at initialization and after training.

    Attributes
    ----------
    setups
        The set-ups compared, ``S`` of them.
    seeds
        ``(K,)`` seeds.
    k
        Which eigenvalue stands for the bulk's edge (the paper's ``λ_11``).
    stages
        ``("initial", "trained")``: the second axis of the arrays.
    lambda_1, lambda_k
        ``(S, 2, K)``.
    layer_share
        ``(S, 2, K, L)``: the fraction of the top eigenvector's squared norm on the weights and
        biases of each ``Linear`` layer (0 lowest).
    train_loss
        ``(S, K)`` final training loss.
    settings
        The training settings.
    """

    setups: tuple[HessianSetup, ...]
    seeds: np.ndarray
    k: int
    stages: tuple[str, ...]
    lambda_1: np.ndarray
    lambda_k: np.ndarray
    layer_share: np.ndarray
    train_loss: np.ndarray
    settings: TrainingSettings

    def index(self, setup: HessianSetup) -> int:
        """Position of ``setup`` in :attr:`setups`."""
        if setup not in self.setups:
            raise ValueError(f"setup must be one of the compared set-ups; got {setup!r}")
        return self.setups.index(setup)

    def ratio(self) -> np.ndarray:
        """``(S, 2, K)``: ``λ_1 / λ_k``."""
        return self.lambda_1 / self.lambda_k

    def offsets(
        self, activation: str = "lecun_tanh", inputs: str = "standardized"
    ) -> tuple[np.ndarray, list[int]]:
        """The offsets swept for one activation and input coding, ascending, and the set-ups'
        positions."""
        rows = [
            (s.offset, i)
            for i, s in enumerate(self.setups)
            if s.activation == activation and s.inputs == inputs
        ]
        rows.sort()
        return np.array([c for c, _ in rows]), [i for _, i in rows]


def _layer_share(vector: np.ndarray, layer: np.ndarray, n_layers: int) -> np.ndarray:
    v2 = vector**2
    return np.array([v2[layer == ell].sum() for ell in range(n_layers)]) / v2.sum()


def curvature_comparison(
    setups: Sequence[HessianSetup],
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    *,
    k: int = 11,
    sizes: Sequence[int] = SIZES,
    settings: TrainingSettings | None = None,
) -> CurvatureComparison:
    """``λ_1`` and ``λ_k`` of every set-up and seed, at initialization and after training.

    The ``k`` largest eigenvalues come from Lanczos (:func:`ebp.hessian.lanczos_eigs`), so no
    dense matrix is formed; the networks of one set-up are trained together by
    :func:`ebp.many.fit_many` with the same settings for every set-up.
    """
    if isinstance(setups, HessianSetup) or not isinstance(setups, Sequence) or not setups:
        raise TypeError("setups must be a non-empty sequence of HessianSetup")
    setups = tuple(_check_setup(s) for s in setups)
    if len(set(setups)) != len(setups):
        raise ValueError("setups must not repeat a set-up")
    seeds = _check_seeds(seeds)
    k = check_int(k, "k", min_value=2)
    settings = _check_settings(settings)
    sizes = check_sizes(sizes)
    S, K = len(setups), len(seeds)
    lam1, lamk = np.zeros((S, 2, K)), np.zeros((S, 2, K))
    n_layers = len(sizes) - 1
    share = np.zeros((S, 2, K, n_layers))
    losses = np.zeros((S, K))
    for s, setup in enumerate(setups):
        initial = _untrained(setup, sizes, seeds)
        trained, X, T, hist = train_networks(setup, seeds, sizes=sizes, settings=settings)
        losses[s] = hist.final_train_loss if hist is not None else np.nan
        layer, _ = layer_of_parameters(initial[0])
        with single_threaded():
            for stage, models in enumerate((initial, trained)):
                for j, model in enumerate(models):
                    op = hessian.HessianOperator(model, "mse", (X, T))
                    res = hessian.lanczos_eigs(op, k=k, which="LA", seed=j, residuals=False)
                    lam1[s, stage, j] = res.values[0]
                    lamk[s, stage, j] = res.values[k - 1]
                    v = res.vectors[:, 0].numpy()
                    share[s, stage, j] = _layer_share(v, layer, n_layers)
    return CurvatureComparison(
        setups=setups,
        seeds=np.asarray(seeds),
        k=k,
        stages=("initial", "trained"),
        lambda_1=lam1,
        lambda_k=lamk,
        layer_share=share,
        train_loss=losses,
        settings=settings,
    )


# ---------------------------------------------------------------------------------------------
# λ_max during training
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TopEigenvalueTrajectory:
    """``λ_max`` of the Hessian at checkpoints during training.

    Attributes
    ----------
    setups
        The set-ups, ``S`` of them.
    seeds
        ``(K,)``.
    epoch
        ``(C,)`` checkpoints (epochs, 0 = initialization).
    lambda_max
        ``(S, K, C)``, by Lanczos at each checkpoint's weights.
    train_loss
        ``(S, K, C)``, the training loss recorded there.
    eta
        The learning rate: ``2/η`` is the largest curvature full-batch gradient descent can
        live with (eq 38 of the paper's §5).
    """

    setups: tuple[HessianSetup, ...]
    seeds: np.ndarray
    epoch: np.ndarray
    lambda_max: np.ndarray
    train_loss: np.ndarray
    eta: float


def lambda_max_during_training(
    setups: Sequence[HessianSetup] = (HessianSetup(),),
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    *,
    checkpoints: Sequence[int] = (0, 1, 2, 4, 8, 16),
    sizes: Sequence[int] = SIZES,
    settings: TrainingSettings | None = None,
) -> TopEigenvalueTrajectory:
    """Train with weight snapshots after every epoch and measure ``λ_max`` at ``checkpoints``.

    ``settings.epochs`` is ignored: training runs to the last checkpoint.  ``λ_max`` is the
    largest algebraic eigenvalue by Lanczos.
    """
    if isinstance(setups, HessianSetup) or not isinstance(setups, Sequence) or not setups:
        raise TypeError("setups must be a non-empty sequence of HessianSetup")
    setups = tuple(_check_setup(s) for s in setups)
    seeds = _check_seeds(seeds)
    settings = _check_settings(settings)
    cps = [check_int(c, f"checkpoints[{i}]", min_value=0) for i, c in enumerate(checkpoints)]
    if not cps or any(b <= a for a, b in itertools.pairwise(cps)):
        raise ValueError(f"checkpoints must increase strictly; got {list(checkpoints)}")
    sizes = check_sizes(sizes)
    run = TrainingSettings(
        settings.n_train, max(cps[-1], 1), settings.eta, settings.batch_size, settings.data_seed
    )
    S, K, C = len(setups), len(seeds), len(cps)
    lam, loss = np.zeros((S, K, C)), np.zeros((S, K, C))
    for s, setup in enumerate(setups):
        models, X, T, hist = train_networks(setup, seeds, sizes=sizes, settings=run, snapshots=True)
        weights, epochs = hist.weights, hist.epoch
        with single_threaded():
            for j, model in enumerate(models):
                for c, cp in enumerate(cps):
                    t = int(np.flatnonzero(epochs == cp)[0])
                    flat = torch.as_tensor(weights[j, t], dtype=torch.float64)
                    torch.nn.utils.vector_to_parameters(flat, model.parameters())
                    op = hessian.HessianOperator(model, "mse", (X, T))
                    lam[s, j, c] = hessian.lanczos_eigs(op, k=1, seed=j, residuals=False).values[0]
                    loss[s, j, c] = hist.train_loss[j, t]
    return TopEigenvalueTrajectory(
        setups=setups,
        seeds=np.asarray(seeds),
        epoch=np.asarray(cps, dtype=float),
        lambda_max=lam,
        train_loss=loss,
        eta=float(settings.eta),
    )


# ---------------------------------------------------------------------------------------------
# Stochastic Lanczos quadrature: steps needed
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SLQConvergence:
    """Stochastic Lanczos quadrature of one trained network's Hessian with several step counts.

    Attributes
    ----------
    steps
        ``(S,)`` Lanczos steps per probe.
    lambda_1
        The largest eigenvalue of the dense Hessian.
    top_node
        ``(S,)`` the largest quadrature node (Ritz value) over the probes.
    density_l1
        ``(S,)`` ``L¹`` distance between the SLQ density and the exact eigenvalues smoothed
        with the same Gaussian, on the same grid (0: identical, 2: disjoint).
    """

    steps: np.ndarray
    lambda_1: float
    top_node: np.ndarray
    density_l1: np.ndarray

    @property
    def top_error(self) -> np.ndarray:
        """``(S,)`` relative error ``|top node − λ_1| / λ_1``."""
        return np.abs(self.top_node - self.lambda_1) / self.lambda_1

    def steps_to(self, rel_tol: float = 0.01) -> int:
        """The fewest steps of :attr:`steps` whose top node is within ``rel_tol`` of ``λ_1``
        (``-1``: none)."""
        rel_tol = check_positive(rel_tol, "rel_tol")
        ok = np.flatnonzero(self.top_error <= rel_tol)
        return int(self.steps[ok[0]]) if ok.size else -1


def slq_convergence(
    setup: HessianSetup | None = None,
    steps: Sequence[int] = (5, 10, 20, 60),
    *,
    seed: int = 0,
    sizes: Sequence[int] = SIZES,
    settings: TrainingSettings | None = None,
    n_probes: int = 4,
    sigma: float | None = None,
) -> SLQConvergence:
    """Run :func:`ebp.hessian.slq_density` with each step count on one trained network.

    Parameters
    ----------
    setup
        The network and its inputs; default :class:`HessianSetup` ``()``.
    steps
        Lanczos steps per probe, each ≥ 2.
    seed
        Seed of the network (training) and of the probes.
    sizes, settings
        As for :func:`hessian_spectrum`.
    n_probes
        Probes per density.
    sigma
        Gaussian width of every density; default that of the most steps (1 % of the spread of
        its nodes), so that the densities differ only by the steps.
    """
    setup = HessianSetup() if setup is None else _check_setup(setup)
    steps_arr = np.asarray([check_int(m, "steps", min_value=2) for m in steps], dtype=int)
    if steps_arr.size == 0:
        raise ValueError("steps must hold at least one step count")
    seed = check_int(seed, "seed", min_value=0)
    n_probes = check_int(n_probes, "n_probes", min_value=1)
    (model,), X, T, _ = train_networks(setup, [seed], sizes=sizes, settings=settings)
    with single_threaded():
        op = hessian.HessianOperator(model, "mse", (X, T))
        eig = np.linalg.eigvalsh(op.dense(chunk_size=64).numpy())
        if sigma is None:
            sigma = hessian.slq_density(
                op, n_probes=n_probes, n_steps=int(steps_arr.max()), seed=seed
            ).sigma
        sigma = check_positive(sigma, "sigma")
        grid = np.linspace(eig[0] - 5 * sigma, eig[-1] + 5 * sigma, 800)
        exact = _gaussian_density(eig, grid, sigma)
        top, l1 = [], []
        for m in steps_arr.tolist():
            d = hessian.slq_density(
                op, n_probes=n_probes, n_steps=m, sigma=sigma, grid=grid, seed=seed
            )
            top.append(float(np.max(d.nodes)))
            diff = np.abs(d.density - exact)
            l1.append(float(np.sum((diff[1:] + diff[:-1]) / 2 * np.diff(grid))))
    return SLQConvergence(
        steps=steps_arr,
        lambda_1=float(eig[-1]),
        top_node=np.asarray(top),
        density_l1=np.asarray(l1),
    )


# ---------------------------------------------------------------------------------------------
# One learning rate per layer
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PerLayerTraining:
    """The same networks trained with one rate and with one rate per layer.

    Attributes
    ----------
    rates
        ``(L,)`` the per-layer rates, lowest layer first (the output layer's is the single rate).
    single_loss, layer_loss
        ``(K,)`` training loss after the run, single rate and per-layer rates (NaN: diverged).
    diverged
        ``(K,)`` whether the per-layer run diverged.
    lambda_max
        ``(K,)`` the largest Hessian eigenvalue of the per-layer networks after training (NaN for
        a diverged run), by Lanczos.
    """

    rates: np.ndarray
    single_loss: np.ndarray
    layer_loss: np.ndarray
    diverged: np.ndarray
    lambda_max: np.ndarray

    @property
    def fastest_limit(self) -> float:
        """``2/η`` for the largest of the per-layer rates."""
        return 2.0 / float(self.rates.max())


def per_layer_training(
    spectrum: HessianSpectrum, *, sizes: Sequence[int] = SIZES
) -> PerLayerTraining:
    """Retrain ``spectrum``'s networks with ``η_ℓ = η · h̄_L / h̄_ℓ`` per layer.

    ``h̄_ℓ`` is the mean ``|∂²E/∂w²|`` of layer ``ℓ``'s weights
    (:meth:`HessianSpectrum.layer_means`, exact diagonal, mean over the seeds), ``η`` the
    single rate of ``spectrum.settings``, which the output layer keeps.  The networks start from
    the same initial weights and see the same presentation orders as in ``spectrum``.

    Parameters
    ----------
    spectrum
        From :func:`hessian_spectrum`.
    sizes
        The layer widths used for ``spectrum``.
    """
    if not isinstance(spectrum, HessianSpectrum):
        raise TypeError(f"spectrum must be a HessianSpectrum; got {describe(spectrum)}")
    settings, seeds = spectrum.settings, [int(s) for s in spectrum.seeds]
    if settings.epochs == 0:
        raise ValueError("spectrum must come from trained networks (settings.epochs > 0)")
    h = spectrum.layer_means("exact").mean(axis=0)
    rates = settings.eta * h[-1] / h
    X, T = digit_problem(spectrum.setup, settings.n_train, settings.data_seed)
    models = _untrained(spectrum.setup, check_sizes(sizes), seeds)
    groups = ebp_optim.per_layer_rates(models[0], settings.eta, rule="uniform")
    for group, rate in zip(groups, rates, strict=True):
        group["lr"] = float(rate)
    with single_threaded():
        hist = _fit_digits(models, X, T, settings, seeds, param_groups=groups)
        diverged = np.array([hh.diverged for hh in hist.histories])
        lam, loss = np.full(len(seeds), np.nan), np.full(len(seeds), np.nan)
        for k, model in enumerate(hist.models):
            if not diverged[k]:
                op = hessian.HessianOperator(model, "mse", (X, T))
                loss[k] = op.loss_value()
                lam[k] = hessian.lanczos_eigs(op, k=1, seed=k, residuals=False).values[0]
    return PerLayerTraining(
        rates=rates,
        single_loss=np.asarray(spectrum.train_loss, dtype=float),
        layer_loss=loss,
        diverged=diverged,
        lambda_max=lam,
    )
