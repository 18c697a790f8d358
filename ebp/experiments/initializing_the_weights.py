"""Experiments of the chapter "Initializing the weights" (paper §4.6, eqs 14–16).

Each function returns a dataclass of NumPy data; nothing here draws (see
:mod:`ebp.plots.initializing_the_weights`).

- :func:`first_layer_std`: the standard deviation of a first layer's weighted sums for
  standardized inputs and ``σ_w = m^{-1/2}``, over a range of fan-ins ``m`` (target R2).
- :func:`depth_profile`: how that standard deviation evolves layer by layer in a deep network
  of the recommended sigmoid, measured and predicted by the Gaussian recursion
  :func:`mean_field_std`.
- :func:`symmetry`: a network started from zero or constant weights keeps all its hidden units
  identical, however long it trains.
- :func:`scale_sweep`: ``σ_w = s · m^{-1/2}`` for several ``s``: saturation and per-layer
  gradient norms at the start, and training on the digits, over several seeds.
- :func:`compare_schemes`: LeCun, Xavier (Glorot), He and PyTorch's default side by side:
  activation histograms at the start and training curves, over several seeds.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn as tnn

from ebp import data, train
from ebp import nn as ebp_nn
from ebp._validate import check_choice, check_in_range, check_int, check_positive, check_sizes
from ebp.experiments._shared import linears
from ebp.many import fit_many
from ebp.preprocess import Standardize
from ebp.repro import single_threaded

__all__ = [
    "DIGITS_SIZES",
    "FAN_INS",
    "SCHEMES",
    "DepthProfile",
    "FanInStd",
    "ScaleSweep",
    "SchemeComparison",
    "Symmetry",
    "compare_schemes",
    "depth_profile",
    "first_layer_std",
    "gaussian_second_moment",
    "mean_field_std",
    "scale_sweep",
    "standard_normal_inputs",
    "symmetry",
    "unit_spread",
]

FAN_INS: tuple[int, ...] = (2, 5, 10, 30, 100, 300, 1000)
"""The fan-ins ``m`` at which :func:`first_layer_std` checks eq 16 (target R2)."""

SCHEMES: dict[str, str] = {
    "lecun_normal": "LeCun: N(0, 1/m)",
    "xavier_normal": "Xavier: N(0, 2/(m + n))",
    "he_normal": "He: N(0, 2/m)",
    "pytorch": "PyTorch default: U(±1/√m)",
}
"""The schemes :func:`compare_schemes` puts side by side: name in :mod:`ebp.nn` → label."""

DIGITS_SIZES: tuple[int, ...] = (64, 100, 100, 100, 100, 10)
"""The 5-layer digits network of :func:`scale_sweep` and :func:`compare_schemes`."""


def _check_seeds(seeds: Sequence[int], minimum: int = 1) -> list[int]:
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, (Sequence, np.ndarray, range)):
        raise TypeError(f"seeds must be a sequence of ints; got {type(seeds).__name__}")
    if len(seeds) < minimum:
        raise ValueError(f"seeds must contain at least {minimum} seed(s); got {len(seeds)}")
    return [check_int(s, f"seeds[{i}]", min_value=0) for i, s in enumerate(seeds)]


def _check_names(names: Sequence[str], name: str, choices: Sequence[str]) -> tuple[str, ...]:
    if isinstance(names, str) or not isinstance(names, Sequence) or not names:
        raise TypeError(f"{name} must be a non-empty sequence of names; got {names!r}")
    return tuple(check_choice(n, f"{name}[{i}]", choices) for i, n in enumerate(names))


# ---------------------------------------------------------------------------------------------
# 1. The first layer: eq 14 and the choice σ_w = m^{-1/2} (eqs 15/16)
# ---------------------------------------------------------------------------------------------


def standard_normal_inputs(n_patterns: int, n_inputs: int, *, seed: int = 0) -> np.ndarray:
    """``n_patterns`` × ``n_inputs`` Gaussian inputs, standardized to mean 0 and variance 1.

    The draws are independent (uncorrelated inputs, as eq 14 assumes); each column is then
    centred and scaled with :class:`ebp.preprocess.Standardize`, so its sample variance is
    exactly 1.  The generator is seeded with ``[seed, 7]``, apart from the weights' seeds.
    """
    n_patterns = check_int(n_patterns, "n_patterns", min_value=2)
    n_inputs = check_int(n_inputs, "n_inputs", min_value=1)
    seed = check_int(seed, "seed", min_value=0)
    rng = np.random.default_rng([seed, 7])
    return Standardize().fit_transform(rng.standard_normal((n_patterns, n_inputs)))


@dataclass(frozen=True)
class FanInStd:
    """Standard deviation of a first layer's weighted sums against its fan-in.

    Attributes
    ----------
    fan_ins
        The fan-ins ``m``, shape ``(F,)``.
    std
        Init scheme → std of all weighted sums of the layer (every unit, every pattern), one row
        per seed, shape ``(n_seeds, F)``.
    unit_std_lo, unit_std_hi
        Init scheme → 10th and 90th percentiles, over the units of all seeds, of each unit's own
        std over the patterns, shape ``(F,)``: eq 16 fixes the *average* ``Σ w_i²``, not every
        unit's.
    seeds, n_units, n_patterns
        The settings.
    """

    fan_ins: np.ndarray
    std: dict[str, np.ndarray]
    unit_std_lo: dict[str, np.ndarray]
    unit_std_hi: dict[str, np.ndarray]
    seeds: np.ndarray
    n_units: int
    n_patterns: int

    def mean(self, init: str) -> np.ndarray:
        """Mean over seeds of :attr:`std` for ``init``, shape ``(F,)``."""
        return self.std[init].mean(axis=0)

    def spread(self, init: str) -> np.ndarray:
        """Standard deviation over seeds of :attr:`std` for ``init``, shape ``(F,)``."""
        return self.std[init].std(axis=0, ddof=1) if self.seeds.size > 1 else 0 * self.mean(init)


def first_layer_std(
    fan_ins: Sequence[int] = FAN_INS,
    *,
    inits: Sequence[str] = ("lecun_normal", "lecun_uniform", "pytorch"),
    n_units: int = 100,
    n_patterns: int = 1000,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
) -> FanInStd:
    """Std of the weighted sums ``y_k = Σ_i w_ki x_i (+ b_k)`` of one layer, per fan-in (eq 14).

    For each fan-in ``m`` and seed, ``n_patterns`` standardized inputs
    (:func:`standard_normal_inputs`) go through a layer of ``n_units`` units built by
    :func:`ebp.nn.mlp` with each scheme of ``inits``; the std is taken over all units and
    patterns.  With ``"lecun_normal"`` or ``"lecun_uniform"`` (``σ_w = m^{-1/2}``, eq 16) it
    should be close to 1; with ``"pytorch"`` (``U(±1/√m)``, σ = ``1/√(3m)``) close to
    ``√(1/3 + 1/(3m))`` (the bias adds ``1/(3m)``).

    Parameters
    ----------
    fan_ins
        Fan-ins ``m ≥ 1``.
    inits
        Schemes of :data:`ebp.nn.INITS`.
    n_units, n_patterns
        Units in the layer and patterns per estimate.
    seeds
        At least one seed; each draws new inputs and new weights.
    """
    if isinstance(fan_ins, (str, bytes)) or not isinstance(fan_ins, Sequence) or not fan_ins:
        raise TypeError(f"fan_ins must be a non-empty sequence of ints; got {fan_ins!r}")
    fan_ins = [check_int(m, f"fan_ins[{i}]", min_value=1) for i, m in enumerate(fan_ins)]
    inits = _check_names(inits, "inits", ebp_nn.INITS)
    n_units = check_int(n_units, "n_units", min_value=1)
    n_patterns = check_int(n_patterns, "n_patterns", min_value=2)
    seeds = _check_seeds(seeds)

    std = {k: np.zeros((len(seeds), len(fan_ins))) for k in inits}
    lo = {k: np.zeros(len(fan_ins)) for k in inits}
    hi = {k: np.zeros(len(fan_ins)) for k in inits}
    with single_threaded():
        for j, m in enumerate(fan_ins):
            per_unit: dict[str, list[np.ndarray]] = {k: [] for k in inits}
            for i, seed in enumerate(seeds):
                X = standard_normal_inputs(n_patterns, m, seed=seed)
                for init in inits:
                    layer = ebp_nn.mlp([m, n_units], init=init, seed=seed, dtype=torch.float64)
                    (stats,) = ebp_nn.layer_stats(layer, X, keep_values=True)
                    std[init][i, j] = stats.pre_std
                    per_unit[init].append(stats.pre_values.std(axis=0))
            for init in inits:
                lo[init][j], hi[init][j] = np.percentile(np.concatenate(per_unit[init]), [10, 90])
    return FanInStd(
        fan_ins=np.asarray(fan_ins),
        std=std,
        unit_std_lo=lo,
        unit_std_hi=hi,
        seeds=np.asarray(seeds),
        n_units=n_units,
        n_patterns=n_patterns,
    )


# ---------------------------------------------------------------------------------------------
# 2. Deeper layers: the Gaussian recursion and the measured profile
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _hermite_nodes(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Hermite nodes and weights for the weight function ``exp(−y²/2)``."""
    return np.polynomial.hermite_e.hermegauss(n_nodes)


def gaussian_second_moment(activation: str, q: float, *, n_nodes: int = 101) -> float:
    """``E[f(y)²]`` for ``y ~ N(0, q)``, by Gauss–Hermite quadrature.

    For the paper's sigmoid and ``q = 1`` this is the variance of a unit's output when its
    weighted sum has the variance eq 16 aims for (≈ 0.75, not 1).

    Parameters
    ----------
    activation
        A name of :data:`ebp.nn.ACTIVATIONS`.
    q
        Variance of the weighted sum, ≥ 0.
    n_nodes
        Quadrature nodes.
    """
    f = ebp_nn.get_activation(activation)
    q = check_positive(q, "q", allow_zero=True)
    n_nodes = check_int(n_nodes, "n_nodes", min_value=2)
    nodes, weights = _hermite_nodes(n_nodes)
    with torch.no_grad():
        values = f(torch.as_tensor(np.sqrt(q) * nodes)).numpy()
    return float(np.sum(weights * values**2) / np.sqrt(2.0 * np.pi))


def mean_field_std(
    depth: int,
    *,
    activation: str = "lecun_tanh",
    input_var: float = 1.0,
    weight_gain: float = 1.0,
    bias_var: float = 0.0,
) -> np.ndarray:
    """Predicted std of the weighted sums in layers ``1 … depth`` of a wide random network.

    A unit of layer ``l`` sums ``m`` outputs of layer ``l − 1`` with independent weights of
    variance ``weight_gain / m``; for a wide layer its weighted sum is close to Gaussian, with
    variance

    ``q_1 = weight_gain · input_var + bias_var``,
    ``q_{l+1} = weight_gain · E[f(y)²] + bias_var``,  ``y ~ N(0, q_l)``

    (eq 14 applied layer after layer, with the inputs of layer ``l + 1`` being ``f(y)``; an odd
    ``f`` keeps them centred).  ``weight_gain = 1`` is eq 16; PyTorch's default has
    ``weight_gain = 1/3`` and ``bias_var = 1/(3m)``.

    Returns
    -------
    numpy.ndarray
        ``√q_1, …, √q_depth``.
    """
    depth = check_int(depth, "depth", min_value=1)
    check_choice(activation, "activation", ebp_nn.ACTIVATIONS)
    input_var = check_positive(input_var, "input_var", allow_zero=True)
    weight_gain = check_positive(weight_gain, "weight_gain")
    bias_var = check_positive(bias_var, "bias_var", allow_zero=True)
    q = weight_gain * input_var + bias_var
    out = [q]
    for _ in range(depth - 1):
        q = weight_gain * gaussian_second_moment(activation, q) + bias_var
        out.append(q)
    return np.sqrt(np.asarray(out))


@dataclass(frozen=True)
class DepthProfile:
    """Std of the weighted sums and of the unit outputs, layer by layer, at initialization.

    Attributes
    ----------
    layer
        Layer numbers ``1 … depth``.
    pre_std, act_std
        Init scheme → std (over units and patterns) of the weighted sums and of the outputs
        ``f(y)`` of each layer, one row per seed, shape ``(n_seeds, depth)``.
    predicted
        Init scheme → :func:`mean_field_std` for that scheme, shape ``(depth,)``.
    width, n_patterns, activation, scale, seeds
        The settings.
    """

    layer: np.ndarray
    pre_std: dict[str, np.ndarray]
    act_std: dict[str, np.ndarray]
    predicted: dict[str, np.ndarray]
    width: int
    n_patterns: int
    activation: str
    scale: float
    seeds: np.ndarray


def _gains(init: str, fan_in: int) -> tuple[float, float]:
    """(σ_w² · m, σ_b²) of a square layer of fan-in ``m`` under ``init``."""
    gains = {
        "lecun_normal": (1.0, 0.0),
        "lecun_uniform": (1.0, 0.0),
        "xavier_normal": (1.0, 0.0),  # 2/(m + m) for square layers
        "xavier_uniform": (1.0, 0.0),
        "he_normal": (2.0, 0.0),
        "pytorch": (1.0 / 3.0, 1.0 / (3.0 * fan_in)),
    }
    if init not in gains:
        raise ValueError(f"init must be one of {sorted(gains)} for a prediction; got {init!r}")
    return gains[init]


def depth_profile(
    *,
    width: int = 500,
    depth: int = 8,
    inits: Sequence[str] = ("lecun_normal", "pytorch"),
    activation: str = "lecun_tanh",
    scale: float = 1.0,
    n_patterns: int = 250,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
) -> DepthProfile:
    """Per-layer statistics of a ``width``-wide, ``depth``-layer network at initialization.

    Standardized Gaussian inputs (:func:`standard_normal_inputs`, ``width`` of them) go through
    ``depth`` layers ``Linear(width, width)`` each followed by ``activation``, built by
    :func:`ebp.nn.mlp`; :func:`ebp.nn.layer_stats` reads the std of every layer's weighted sums
    and outputs.

    Parameters
    ----------
    width, depth
        Units per layer (also the number of inputs) and number of layers.
    inits
        Schemes of :data:`ebp.nn.INITS` (each needs a prediction: LeCun, Xavier, He, PyTorch).
    activation
        Name of :data:`ebp.nn.ACTIVATIONS`.
    scale
        Multiplies every weight's σ (and PyTorch's bound), as in :func:`ebp.nn.init_weights_`.
    n_patterns
        Patterns per estimate.
    seeds
        At least one seed; each draws new inputs and new weights.
    """
    width = check_int(width, "width", min_value=2)
    depth = check_int(depth, "depth", min_value=1)
    inits = _check_names(inits, "inits", ebp_nn.INITS)
    check_choice(activation, "activation", ebp_nn.ACTIVATIONS)
    scale = check_positive(scale, "scale")
    n_patterns = check_int(n_patterns, "n_patterns", min_value=2)
    seeds = _check_seeds(seeds)
    predicted = {}
    for init in inits:
        gain, bias_var = _gains(init, width)
        predicted[init] = mean_field_std(
            depth,
            activation=activation,
            weight_gain=scale**2 * gain,
            bias_var=scale**2 * bias_var,
        )
    pre = {k: np.zeros((len(seeds), depth)) for k in inits}
    act = {k: np.zeros((len(seeds), depth)) for k in inits}
    sizes = [width] * (depth + 1)
    with single_threaded():
        for i, seed in enumerate(seeds):
            X = standard_normal_inputs(n_patterns, width, seed=seed)
            for init in inits:
                model = ebp_nn.mlp(
                    sizes,
                    activation=activation,
                    output_activation=activation,
                    init=init,
                    scale=scale,
                    seed=seed,
                    dtype=torch.float64,
                )
                stats = ebp_nn.layer_stats(model, X)
                pre[init][i] = [s.pre_std for s in stats]
                act[init][i] = [s.act_std for s in stats]
    return DepthProfile(
        layer=np.arange(1, depth + 1),
        pre_std=pre,
        act_std=act,
        predicted=predicted,
        width=width,
        n_patterns=n_patterns,
        activation=activation,
        scale=scale,
        seeds=np.asarray(seeds),
    )


# ---------------------------------------------------------------------------------------------
# 3. Symmetry: zero and constant initializations
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Symmetry:
    """How different the hidden units of a small network are, epoch by epoch.

    Attributes
    ----------
    epoch
        ``0 … epochs``.
    inits
        The schemes trained.
    unit_spread
        Init → ``max_j ‖v_j − v_1‖_∞`` after every epoch, shape ``(epochs + 1,)``, where ``v_j``
        collects everything that belongs to hidden unit ``j``: its incoming weights, its bias
        and its outgoing weights.  Zero means all hidden units are copies of one another.
    weight_norm
        Init → Frobenius norm of the first layer's weights after every epoch (did they move?).
    train_loss
        Init → training loss (cross-entropy) after every epoch.
    hidden, eta, batch_size, constant
        The settings (``constant``: the value of every weight for ``"constant"``).
    """

    epoch: np.ndarray
    inits: tuple[str, ...]
    unit_spread: dict[str, np.ndarray]
    weight_norm: dict[str, np.ndarray]
    train_loss: dict[str, np.ndarray]
    hidden: int
    eta: float
    batch_size: int
    constant: float

    def drift_rate(self, init: str) -> float:
        """Factor per epoch by which ``unit_spread[init]`` grows (geometric mean).

        Taken between the first and the last epoch where the spread is nonzero; 1.0 where it
        is nonzero at fewer than two epochs (exact copies, as from ``"zeros"``).
        """
        spread = self.unit_spread[init]
        nonzero = np.flatnonzero(spread > 0)
        if nonzero.size < 2:
            return 1.0
        first, last = nonzero[0], nonzero[-1]
        return float((spread[last] / spread[first]) ** (1.0 / (last - first)))


def unit_spread(model: tnn.Module) -> float:
    """``max_j ‖v_j − v_1‖_∞`` over the hidden units of a one-hidden-layer network.

    ``v_j`` is hidden unit ``j``'s incoming weights, bias and outgoing weights; 0 means every
    hidden unit is an exact copy of the first.
    """
    first, second = linears(model)[:2]
    with torch.no_grad():
        v = torch.cat([first.weight, first.bias[:, None], second.weight.T], dim=1)
        return float((v - v[:1]).abs().max())


def symmetry(
    *,
    inits: Sequence[str] = ("zeros", "constant", "lecun_normal"),
    hidden: int = 10,
    constant: float = 0.1,
    eta: float = 0.1,
    epochs: int = 10,
    batch_size: int = 64,
    seed: int = 0,
) -> Symmetry:
    """Train a 64-``hidden``-10 network on the digits from each scheme; track its hidden units.

    From ``"zeros"`` every hidden unit computes ``f(0) = 0`` and receives the same (zero) error
    signal; from ``"constant"`` every unit computes the same nonzero value and receives the same
    error signal, so each update keeps them equal and the network behaves as if it had a single
    hidden unit.  A random scheme breaks the symmetry from the start.

    Parameters
    ----------
    inits
        Schemes of :data:`ebp.nn.INITS`.
    hidden
        Hidden units (≥ 2).
    constant
        Every weight's value for ``"constant"`` (biases 0).
    eta, epochs, batch_size
        Mini-batch SGD on the cross-entropy.
    seed
        Seed of the split, the random weights and the shuffling.
    """
    inits = _check_names(inits, "inits", ebp_nn.INITS)
    hidden = check_int(hidden, "hidden", min_value=2)
    constant = check_in_range(constant, "constant")
    eta = check_positive(eta, "eta")
    epochs = check_int(epochs, "epochs", min_value=1)
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    seed = check_int(seed, "seed", min_value=0)
    split = data.digits(seed=seed, standardize=True)
    spread, norm, loss = {}, {}, {}
    with single_threaded():
        for init in inits:
            scale = constant if init == "constant" else 1.0
            model = ebp_nn.mlp(
                [split.n_features, hidden, split.n_classes],
                init=init,
                scale=scale,
                seed=seed,
                dtype=torch.float64,
            )
            rows = [(unit_spread(model), float(linears(model)[0].weight.detach().norm()))]

            def record(_epoch: int, m: tnn.Module, _h: object, rows: list = rows) -> None:
                rows.append((unit_spread(m), float(linears(m)[0].weight.detach().norm())))

            history = train.fit(
                model,
                split.X_train,
                split.y_train,
                loss="cross_entropy",
                eta=eta,
                epochs=epochs,
                batch_size=batch_size,
                seed=seed,
                callback=record,
            )
            spread[init] = np.array([r[0] for r in rows])
            norm[init] = np.array([r[1] for r in rows])
            loss[init] = np.asarray(history.train_loss)
    return Symmetry(
        epoch=np.arange(epochs + 1),
        inits=inits,
        unit_spread=spread,
        weight_norm=norm,
        train_loss=loss,
        hidden=hidden,
        eta=eta,
        batch_size=batch_size,
        constant=constant,
    )


# ---------------------------------------------------------------------------------------------
# 4. Too large, too small: the scale sweep; 5. the modern schemes
# ---------------------------------------------------------------------------------------------


def _slope(activation: str, z: torch.Tensor) -> torch.Tensor:
    """``f'(z)`` elementwise, by autograd."""
    z = z.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(ebp_nn.get_activation(activation)(z).sum(), z)
    return grad


@dataclass(frozen=True)
class _AtInit:
    pre_std: np.ndarray  # (L,)
    saturated: np.ndarray  # (L - 1,) hidden layers
    grad_norm: np.ndarray  # (L,)
    activations: list[np.ndarray]  # hidden layers' outputs, (P, n_l) each


def _at_init(
    model: tnn.Module, X: torch.Tensor, y: torch.Tensor, threshold: float, activation: str
) -> _AtInit:
    """Per-layer std, saturation and weight-gradient norm of ``model`` at its current weights."""
    stats = ebp_nn.layer_stats(model, X, keep_values=True)
    weights = [lin.weight for lin in linears(model)]
    grads = torch.autograd.grad(train.cross_entropy_loss(model(X), y), weights)
    slope0 = float(_slope(activation, torch.zeros(1, dtype=torch.float64)))
    saturated = [
        float(
            (_slope(activation, torch.as_tensor(s.pre_values)).abs() < threshold * slope0).mean(
                dtype=torch.float64
            )
        )
        for s in stats[:-1]
    ]
    return _AtInit(
        pre_std=np.array([s.pre_std for s in stats]),
        saturated=np.array(saturated),
        grad_norm=np.array([float(g.norm()) for g in grads]),
        activations=[s.act_values for s in stats[:-1]],
    )


def _train(
    models: list[tnn.Module],
    split: data.Split,
    *,
    eta: float,
    epochs: int,
    batch_size: int,
    seeds: list[int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train ``models`` at once (:func:`ebp.many.fit_many`), model ``k`` shuffled by ``seeds[k]``.

    Returns the training and validation losses, ``(K, epochs + 1)`` (NaN after a divergence),
    and which models diverged, ``(K,)``.
    """
    result = fit_many(
        models,
        split.X_train,
        split.y_train,
        loss="cross_entropy",
        eta=eta,
        epochs=epochs,
        batch_size=batch_size,
        seed=seeds,
        X_val=split.X_val,
        y_val=split.y_val,
        on_divergence="stop",
    )

    def padded(a: np.ndarray) -> np.ndarray:
        out = np.full((len(models), epochs + 1), np.nan)
        out[:, : a.shape[1]] = a
        return out

    return padded(result.train_loss), padded(result.val_loss), result.diverged


@dataclass(frozen=True)
class ScaleSweep:
    """``σ_w = s · m^{-1/2}`` for several ``s``: the network at the start, and its training.

    Attributes
    ----------
    scales
        The factors ``s``, shape ``(S,)``.
    seeds
        Shape ``(n_seeds,)``; each seed draws new weights and a new order of presentation.
    layer
        Layer numbers ``1 … L`` of the network's ``L`` weight layers.
    pre_std
        Std of each layer's weighted sums at initialization, shape ``(S, n_seeds, L)``.
    saturated
        Fraction of (pattern, hidden unit) pairs with ``|f'(y)| < threshold · f'(0)`` at
        initialization, per hidden layer, shape ``(S, n_seeds, L − 1)``.
    grad_norm
        Norm of ``∂E/∂W_l`` per layer at initialization (whole training set), ``(S, n_seeds, L)``.
    epoch, train_loss, val_loss
        Epochs ``0 … epochs`` and the losses after each, shape ``(S, n_seeds, epochs + 1)``
        (NaN after a divergence).
    diverged
        Shape ``(S, n_seeds)``.
    sizes, eta, batch_size, threshold, n_train
        The settings.
    """

    scales: np.ndarray
    seeds: np.ndarray
    layer: np.ndarray
    pre_std: np.ndarray
    saturated: np.ndarray
    grad_norm: np.ndarray
    epoch: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray
    diverged: np.ndarray
    sizes: tuple[int, ...]
    eta: float
    batch_size: int
    threshold: float
    n_train: int


def _digits_split(seed: int) -> data.Split:
    return data.digits(n_val=300, seed=seed, standardize=True)


def scale_sweep(
    scales: Sequence[float] = (0.1, 0.3, 1.0, 3.0, 10.0),
    *,
    sizes: Sequence[int] = DIGITS_SIZES,
    eta: float = 0.05,
    epochs: int = 6,
    batch_size: int = 32,
    threshold: float = 0.1,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
) -> ScaleSweep:
    """Initialize a ``lecun_tanh`` network with ``σ_w = s · m^{-1/2}`` and train it on the digits.

    For every ``s`` and seed the network (:func:`ebp.nn.mlp`, ``init="lecun_normal"``,
    ``scale=s``) is first measured at its initial weights on the standardized training digits
    (weighted-sum std, saturation, per-layer gradient norms), then all ``S × n_seeds`` networks
    are trained together by :func:`ebp.many.fit_many` with the same η (cross-entropy, mini-batch
    SGD).

    Parameters
    ----------
    scales
        Factors ``s > 0``.
    sizes
        Layer widths, input 64 first, output 10 last.
    eta, epochs, batch_size
        SGD settings, shared by all networks.
    threshold
        A unit counts as saturated where ``|f'(y)| < threshold · f'(0)``; in (0, 1).
    seeds
        At least 5 seeds are recommended for the spread; at least 2 are required.
    """
    if isinstance(scales, (str, bytes)) or not isinstance(scales, Sequence) or not scales:
        raise TypeError(f"scales must be a non-empty sequence of numbers; got {scales!r}")
    scales = [check_positive(s, f"scales[{i}]") for i, s in enumerate(scales)]
    sizes = check_sizes(sizes)
    eta = check_positive(eta, "eta")
    epochs = check_int(epochs, "epochs", min_value=1)
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    threshold = check_in_range(threshold, "threshold", 0.0, 1.0, low_inclusive=False)
    seeds = _check_seeds(seeds, minimum=2)
    split = _digits_split(0)
    X = torch.as_tensor(split.X_train, dtype=torch.float32)
    y = torch.as_tensor(split.y_train)
    S, N, L = len(scales), len(seeds), len(sizes) - 1
    pre, sat, gnorm = np.zeros((S, N, L)), np.zeros((S, N, L - 1)), np.zeros((S, N, L))
    models = []
    with single_threaded():
        for (a, s), (b, seed) in itertools.product(enumerate(scales), enumerate(seeds)):
            model = ebp_nn.mlp(sizes, init="lecun_normal", scale=s, seed=seed)
            start = _at_init(model, X, y, threshold, "lecun_tanh")
            pre[a, b], sat[a, b], gnorm[a, b] = start.pre_std, start.saturated, start.grad_norm
            models.append(model)
        tl, vl, div = _train(
            models, split, eta=eta, epochs=epochs, batch_size=batch_size, seeds=seeds * S
        )
    return ScaleSweep(
        scales=np.asarray(scales),
        seeds=np.asarray(seeds),
        layer=np.arange(1, L + 1),
        pre_std=pre,
        saturated=sat,
        grad_norm=gnorm,
        epoch=np.arange(epochs + 1),
        train_loss=tl.reshape(S, N, -1),
        val_loss=vl.reshape(S, N, -1),
        diverged=div.reshape(S, N),
        sizes=sizes,
        eta=eta,
        batch_size=batch_size,
        threshold=threshold,
        n_train=split.n_train,
    )


@dataclass(frozen=True)
class SchemeComparison:
    """Several initialization schemes on the same network: at the start and during training.

    Attributes
    ----------
    inits
        Scheme names (keys of :data:`SCHEMES` or others of :data:`ebp.nn.INITS`).
    seeds
        Shape ``(n_seeds,)``.
    layer
        ``1 … L``.
    pre_std, act_std
        Init → std of each layer's weighted sums / hidden outputs at initialization,
        ``(n_seeds, L)`` and ``(n_seeds, L − 1)``.
    saturated
        Init → fraction of saturated hidden units (as in :class:`ScaleSweep`), ``(n_seeds, L − 1)``.
    grad_norm
        Init → per-layer ``‖∂E/∂W_l‖`` at initialization, ``(n_seeds, L)``.
    hist_edges, hist_density
        Histogram bin edges ``(B + 1,)`` and, per init, the density of the hidden outputs at
        initialization over all seeds, ``(L − 1, B)``.
    epoch, train_loss, val_loss
        Init → losses after every epoch, ``(n_seeds, epochs + 1)``.
    diverged
        Init → ``(n_seeds,)``.
    sizes, eta, batch_size, n_train
        The settings.
    """

    inits: tuple[str, ...]
    seeds: np.ndarray
    layer: np.ndarray
    pre_std: dict[str, np.ndarray]
    act_std: dict[str, np.ndarray]
    saturated: dict[str, np.ndarray]
    grad_norm: dict[str, np.ndarray]
    hist_edges: np.ndarray
    hist_density: dict[str, np.ndarray]
    epoch: np.ndarray
    train_loss: dict[str, np.ndarray]
    val_loss: dict[str, np.ndarray]
    diverged: dict[str, np.ndarray]
    sizes: tuple[int, ...]
    eta: float
    batch_size: int
    n_train: int


def compare_schemes(
    inits: Sequence[str] = tuple(SCHEMES),
    *,
    sizes: Sequence[int] = DIGITS_SIZES,
    eta: float = 0.05,
    epochs: int = 6,
    batch_size: int = 32,
    bins: int = 41,
    threshold: float = 0.1,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
) -> SchemeComparison:
    """The same ``lecun_tanh`` digits network started from each scheme, measured and trained.

    As :func:`scale_sweep`, with the scheme in place of the scale: every network is measured
    at its initial weights on the standardized training digits, then all ``len(inits) ×
    n_seeds`` networks are trained together by :func:`ebp.many.fit_many` with the same η.

    Parameters
    ----------
    inits
        Schemes of :data:`ebp.nn.INITS` (default: the four of :data:`SCHEMES`).
    sizes
        Layer widths, input 64 first, output 10 last.
    eta, epochs, batch_size
        SGD settings (cross-entropy), shared by all networks.
    bins
        Histogram bins over ``[−1.7159, 1.7159]``, the sigmoid's range.
    threshold
        A unit counts as saturated where ``|f'(y)| < threshold · f'(0)``; in (0, 1).
    seeds
        At least 2 (5 recommended); each draws new weights and a new order of presentation.
    """
    inits = _check_names(inits, "inits", ebp_nn.INITS)
    sizes = check_sizes(sizes)
    eta = check_positive(eta, "eta")
    epochs = check_int(epochs, "epochs", min_value=1)
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    bins = check_int(bins, "bins", min_value=2)
    threshold = check_in_range(threshold, "threshold", 0.0, 1.0, low_inclusive=False)
    seeds = _check_seeds(seeds, minimum=2)
    split = _digits_split(0)
    X = torch.as_tensor(split.X_train, dtype=torch.float32)
    y = torch.as_tensor(split.y_train)
    a = 1.7159
    edges = np.linspace(-a, a, bins + 1)
    N, L = len(seeds), len(sizes) - 1
    pre = {k: np.zeros((N, L)) for k in inits}
    act = {k: np.zeros((N, L - 1)) for k in inits}
    sat = {k: np.zeros((N, L - 1)) for k in inits}
    gnorm = {k: np.zeros((N, L)) for k in inits}
    dens = {k: np.zeros((L - 1, bins)) for k in inits}
    models = []
    with single_threaded():
        for init, (b, seed) in itertools.product(inits, enumerate(seeds)):
            model = ebp_nn.mlp(sizes, init=init, seed=seed)
            start = _at_init(model, X, y, threshold, "lecun_tanh")
            pre[init][b], sat[init][b], gnorm[init][b] = (
                start.pre_std,
                start.saturated,
                start.grad_norm,
            )
            act[init][b] = [h.std() for h in start.activations]
            for l, h in enumerate(start.activations):
                dens[init][l] += np.histogram(np.clip(h, -a, a), edges)[0]
            models.append(model)
        tl, vl, div = _train(
            models, split, eta=eta, epochs=epochs, batch_size=batch_size, seeds=seeds * len(inits)
        )
    width = np.diff(edges)
    for init in inits:
        dens[init] /= dens[init].sum(axis=1, keepdims=True) * width
    K = len(inits)
    tl, vl, div = tl.reshape(K, N, -1), vl.reshape(K, N, -1), div.reshape(K, N)
    return SchemeComparison(
        inits=inits,
        seeds=np.asarray(seeds),
        layer=np.arange(1, L + 1),
        pre_std=pre,
        act_std=act,
        saturated=sat,
        grad_norm=gnorm,
        hist_edges=edges,
        hist_density=dens,
        epoch=np.arange(epochs + 1),
        train_loss={k: tl[i] for i, k in enumerate(inits)},
        val_loss={k: vl[i] for i, k in enumerate(inits)},
        diverged={k: div[i] for i, k in enumerate(inits)},
        sizes=sizes,
        eta=eta,
        batch_size=batch_size,
        n_train=split.n_train,
    )
