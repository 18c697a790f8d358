"""Experiments of the chapter "The sigmoid" (paper §4.4).

- :func:`sigmoid_curves`: the logistic, ``tanh``, the paper's ``1.7159 tanh(2x/3)`` and ReLU,
  with their first and second derivatives, on a grid.
- :func:`lecun_tanh_constants`: target R1, the constants of the recommended sigmoid, each
  computed rather than quoted (``f(1)``, ``f′(0)``, the maximum of ``|f″|``, and ``Var f(y)``
  for ``y ~ N(0, 1)`` by quadrature and by Monte Carlo).
- :func:`variance_map`: the variance of the weighted sums layer after layer,
  ``v ← E f(√v y)²``, and its fixed point.
- :func:`unit_statistics`: mean, variance and average slope of ``f(y)``, ``y ~ N(0, 1)``, for
  any of the activations (the "effective gain").
- :func:`activation_race`: the same small network on digits with logistic, ``tanh`` and
  ``1.7159 tanh(2x/3)`` hidden units, over seeds and a grid of learning rates.
- :func:`hidden_moments`: why the logistic is slower: the second-moment matrix of the hidden
  states, which is the Hessian of the output layer (eq 29 of the paper).
- :func:`depth_gradients`: gradient norm per layer at initialization in a deep network.
- :func:`twisting`: the linear "twisting term" ``f(x) + a·x`` and a saturated unit escaping
  its flat spot.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy import integrate, optimize, stats

from ebp import data, nn, scratch, train
from ebp._validate import check_choice, check_in_range, check_int, check_positive
from ebp.experiments._shared import check_seeds
from ebp.many import fit_many
from ebp.repro import single_threaded

__all__ = [
    "SIGMOIDS",
    "ActivationRace",
    "DepthGradients",
    "HiddenMoments",
    "SigmoidConstants",
    "SigmoidCurves",
    "Twisting",
    "UnitStatistics",
    "VarianceMap",
    "activation_race",
    "depth_gradients",
    "hidden_moments",
    "lecun_tanh_constants",
    "max_curvature_point",
    "second_derivative",
    "sigmoid_curves",
    "twisting",
    "unit_statistics",
    "variance_map",
]

SIGMOIDS: tuple[str, ...] = ("logistic", "tanh", "lecun_tanh", "relu")
"""The activations the chapter compares (ReLU as the modern aside)."""

A = scratch.LECUN_TANH_A
S = scratch.LECUN_TANH_S


def _check_names(names: Sequence[str], allowed: Sequence[str], name: str) -> tuple[str, ...]:
    if isinstance(names, (str, bytes)) or not isinstance(names, Sequence) or not names:
        raise TypeError(f"{name} must be a non-empty sequence of activation names")
    return tuple(check_choice(n, f"{name}[{i}]", allowed) for i, n in enumerate(names))


def second_derivative(name: str, x: np.ndarray) -> np.ndarray:
    """The analytic second derivative ``f″(x)`` of an activation of :data:`SIGMOIDS`.

    logistic: ``σ(1 − σ)(1 − 2σ)``; tanh: ``−2 t (1 − t²)``; recommended sigmoid:
    ``−2 A S² t (1 − t²)`` with ``t = tanh(Sx)``, ``A = 1.7159``, ``S = 2/3``; ReLU: 0 (away
    from the kink).
    """
    name = check_choice(name, "name", SIGMOIDS)
    x = np.asarray(x, dtype=np.float64)
    if name == "logistic":
        s = scratch.get_activation("logistic").f(x)
        return s * (1.0 - s) * (1.0 - 2.0 * s)
    if name == "tanh":
        t = np.tanh(x)
        return -2.0 * t * (1.0 - t * t)
    if name == "lecun_tanh":
        t = np.tanh(S * x)
        return -2.0 * A * S * S * t * (1.0 - t * t)
    return np.zeros_like(x)


def max_curvature_point(name: str) -> float:
    """Where ``|f″|`` is largest on ``x > 0``, by bounded scalar minimization of ``−|f″|``.

    For the recommended sigmoid this is ``1.5 atanh(1/√3) ≈ 0.988``; for the logistic
    ``ln(2 + √3) ≈ 1.317``; for ``tanh``, ``atanh(1/√3) ≈ 0.658``.  §4.5 puts the targets at
    ``f`` of this point.
    """
    name = check_choice(name, "name", ("logistic", "tanh", "lecun_tanh"))
    res = optimize.minimize_scalar(
        lambda x: -abs(float(second_derivative(name, x))),
        bounds=(1e-3, 5.0),
        method="bounded",
        options={"xatol": 1e-10},
    )
    return float(res.x)


# ---------------------------------------------------------------------------------------------
# Curves and constants (target R1)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SigmoidCurves:
    """Activations and their derivatives on a grid.

    Attributes
    ----------
    x
        The grid of weighted sums.
    f, df, d2f
        Name → ``f(x)``, ``f′(x)``, ``f″(x)``.
    """

    x: np.ndarray
    f: dict[str, np.ndarray]
    df: dict[str, np.ndarray]
    d2f: dict[str, np.ndarray]


def sigmoid_curves(
    x_min: float = -4.0, x_max: float = 4.0, n: int = 801, names: Sequence[str] = SIGMOIDS
) -> SigmoidCurves:
    """``f``, ``f′`` and ``f″`` of the activations ``names`` on ``n`` points of [x_min, x_max]."""
    x_min = check_in_range(x_min, "x_min")
    x_max = check_in_range(x_max, "x_max", low=x_min, low_inclusive=False)
    n = check_int(n, "n", min_value=3)
    names = _check_names(names, SIGMOIDS, "names")
    x = np.linspace(x_min, x_max, n)
    acts = {k: scratch.get_activation(k) for k in names}
    return SigmoidCurves(
        x=x,
        f={k: a.f(x) for k, a in acts.items()},
        df={k: a.df(x) for k, a in acts.items()},
        d2f={k: second_derivative(k, x) for k in names},
    )


@dataclass(frozen=True)
class UnitStatistics:
    """Moments of ``f(y)`` for ``y ~ N(0, 1)``, by quadrature against the normal density.

    Attributes
    ----------
    name
        The activation.
    slope_at_0
        ``f′(0)``.
    mean, var
        ``E f(y)`` and ``Var f(y)``.
    mean_slope
        ``E f′(y)``, which equals ``E[y f(y)]`` (Stein's lemma): the slope of the least-squares
        line through ``(y, f(y))``, one reading of the "effective gain".
    """

    name: str
    slope_at_0: float
    mean: float
    var: float
    mean_slope: float

    @property
    def std(self) -> float:
        """Standard deviation of ``f(y)``: the gain in standard deviations, since ``σ_y = 1``."""
        return math.sqrt(self.var)


def _gauss_expectation(g: Callable[[float], float]) -> float:
    """``E g(y)`` for ``y ~ N(0, 1)`` by adaptive quadrature (split at 0 for the ReLU kink)."""
    phi = stats.norm.pdf
    lower = integrate.quad(lambda y: g(y) * phi(y), -np.inf, 0.0, epsabs=1e-13, epsrel=1e-12)[0]
    upper = integrate.quad(lambda y: g(y) * phi(y), 0.0, np.inf, epsabs=1e-13, epsrel=1e-12)[0]
    return lower + upper


def unit_statistics(name: str) -> UnitStatistics:
    """:class:`UnitStatistics` of the activation ``name`` (one of :data:`SIGMOIDS`)."""
    name = check_choice(name, "name", SIGMOIDS)
    act = scratch.get_activation(name)

    def f(y: float) -> float:
        return float(act.f(np.asarray(y)))

    mean = _gauss_expectation(f)
    second = _gauss_expectation(lambda y: f(y) ** 2)
    return UnitStatistics(
        name=name,
        slope_at_0=float(act.df(np.asarray(0.0))) if name != "relu" else 0.5,
        mean=mean,
        var=second - mean**2,
        mean_slope=_gauss_expectation(lambda y: float(act.df(np.asarray(y)))),
    )


@dataclass(frozen=True)
class SigmoidConstants:
    """The constants of ``f(x) = 1.7159 tanh(2x/3)`` (paper §4.4, target R1).

    Attributes
    ----------
    f_at_1
        ``f(1)`` (the paper: ``f(±1) = ±1``).
    slope_at_0, slope_at_0_exact
        ``f′(0)`` by central differences of ``f`` and exactly, ``1.7159 · 2/3``.
    argmax_f2, argmax_f2_exact
        Where ``|f″|`` is largest on ``x > 0``: found numerically (bounded scalar minimization
        of the analytic ``f″``) and in closed form, ``atanh(1/√3) / (2/3)``.
    var_quad
        ``Var f(y)``, ``y ~ N(0, 1)``, by quadrature.
    var_mc, var_mc_stderr, n_mc
        The same by Monte Carlo with ``n_mc`` draws, and its standard error.
    mean_slope
        ``E f′(y)``: the average slope, i.e. the effective gain for unit-variance inputs.
    chord_slope
        ``f(1)/1``, the slope of the chord through ``±1``.
    """

    f_at_1: float
    slope_at_0: float
    slope_at_0_exact: float
    argmax_f2: float
    argmax_f2_exact: float
    var_quad: float
    var_mc: float
    var_mc_stderr: float
    n_mc: int
    mean_slope: float
    chord_slope: float

    @property
    def std_quad(self) -> float:
        """``√Var f(y)``: the standard deviation a unit passes on from a unit-variance input."""
        return math.sqrt(self.var_quad)


def lecun_tanh_constants(*, n_mc: int = 1_000_000, seed: int = 0) -> SigmoidConstants:
    """Compute target R1: the constants of the recommended sigmoid ``1.7159 tanh(2x/3)``.

    Parameters
    ----------
    n_mc
        Number of Monte Carlo draws of ``y ~ N(0, 1)`` (≥ 1000).
    seed
        Seed of the Monte Carlo generator.
    """
    n_mc = check_int(n_mc, "n_mc", min_value=1000)
    seed = check_int(seed, "seed", min_value=0)
    f = scratch.lecun_tanh
    h = 1e-5
    slope = float((f(h) - f(-h)) / (2 * h))
    stats_ = unit_statistics("lecun_tanh")
    y = np.random.default_rng(seed).standard_normal(n_mc)
    fy = f(y)
    var_mc = float(fy.var(ddof=1))
    # standard error of the sample variance: sqrt((m4 - var²) / n)
    centred = fy - fy.mean()
    se = float(np.sqrt((np.mean(centred**4) - var_mc**2) / n_mc))
    return SigmoidConstants(
        f_at_1=float(f(1.0)),
        slope_at_0=slope,
        slope_at_0_exact=A * S,
        argmax_f2=max_curvature_point("lecun_tanh"),
        argmax_f2_exact=math.atanh(1.0 / math.sqrt(3.0)) / S,
        var_quad=stats_.var,
        var_mc=var_mc,
        var_mc_stderr=se,
        n_mc=n_mc,
        mean_slope=stats_.mean_slope,
        chord_slope=float(f(1.0)),
    )


@dataclass(frozen=True)
class VarianceMap:
    """The variance of the weighted sums, layer after layer, with ``σ_w = m^{-1/2}``.

    Attributes
    ----------
    name
        The activation.
    variance
        ``v_1, v_2, …``: ``v_{l+1} = E f(√v_l y)²`` from ``v_0 = 1``, by Monte Carlo with one
        fixed sample of ``y ~ N(0, 1)``.
    fixed_point
        ``v*`` with ``v* = E f(√v* y)²`` for the same sample (a root, by Brent's method).
    slope_at_0
        ``f′(0)``: for small ``v`` the map is ``v ↦ f′(0)² v``.
    """

    name: str
    variance: np.ndarray
    fixed_point: float
    slope_at_0: float

    @property
    def std(self) -> np.ndarray:
        """Standard deviations ``√v_l``."""
        return np.sqrt(self.variance)

    def settled(self, rtol: float = 0.01) -> int:
        """The first layer ``l`` (1-based) from which ``|v_l − v*| ≤ rtol · v*``."""
        rtol = check_positive(rtol, "rtol")
        far = np.flatnonzero(np.abs(self.variance - self.fixed_point) > rtol * self.fixed_point)
        if far.size and far[-1] == self.variance.size - 1:
            raise ValueError(f"the map has not settled to rtol={rtol} within {far.size} layers")
        return int(far[-1] + 2) if far.size else 1


def variance_map(
    name: str = "lecun_tanh", *, layers: int = 40, n_mc: int = 1_000_000, seed: int = 0
) -> VarianceMap:
    """Iterate ``v ← E f(√v y)²`` from ``v = 1`` (§4.4/§4.6: does a unit keep unit variance?).

    If a layer's weighted sums have variance ``v``, its outputs ``f(√v y)`` have second moment
    ``E f(√v y)²`` (mean 0 for a symmetric sigmoid), and with ``σ_w = m^{-1/2}`` (eq 16) that is
    the variance of the next layer's weighted sums.

    Parameters
    ----------
    name
        A symmetric activation, ``"tanh"`` or ``"lecun_tanh"``.
    layers
        Number of layers to iterate.
    n_mc
        Monte Carlo draws of ``y`` (one sample for every layer).
    seed
        Seed of the sample.
    """
    name = check_choice(name, "name", ("tanh", "lecun_tanh"))
    layers = check_int(layers, "layers", min_value=1)
    n_mc = check_int(n_mc, "n_mc", min_value=1000)
    seed = check_int(seed, "seed", min_value=0)
    act = scratch.get_activation(name)
    y = np.random.default_rng(seed).standard_normal(n_mc)

    def step(v: float) -> float:
        return float(np.mean(act.f(np.sqrt(v) * y) ** 2))

    v, out = 1.0, []
    for _ in range(layers):
        v = step(v)
        out.append(v)
    slope = float(act.df(np.asarray(0.0)))
    # v* > 0 solves step(v) = v; step(v) > v for small v iff f'(0)² > 1
    fixed = float(optimize.brentq(lambda u: step(u) - u, 1e-3, 1.0)) if slope > 1 else 0.0
    return VarianceMap(name=name, variance=np.asarray(out), fixed_point=fixed, slope_at_0=slope)


# ---------------------------------------------------------------------------------------------
# Symmetric vs logistic hidden units
# ---------------------------------------------------------------------------------------------

RACE_ACTIVATIONS: tuple[str, ...] = ("logistic", "tanh", "lecun_tanh")


@dataclass(frozen=True)
class ActivationRace:
    """Training curves of one architecture with different hidden activations.

    Attributes
    ----------
    names
        The hidden activations.
    etas, seeds
        The learning-rate grid and the seeds (each seed: initial weights and presentation order).
    epoch
        Epochs of the records, ``(epochs + 1,)``.
    train_loss
        Name → array ``(len(etas), len(seeds), epochs + 1)`` of training cross-entropy (NaN
        after a divergence).
    test_error
        Name → array ``(len(etas), len(seeds))``: test error after the last epoch.
    best_eta_index
        Name → index of the learning rate whose curves are lowest on average (mean over seeds
        and epochs of the log training loss: the fastest to converge, not just the lowest end).
    sizes, n_train, n_test, batch_size
        The settings.
    """

    names: tuple[str, ...]
    etas: np.ndarray
    seeds: np.ndarray
    epoch: np.ndarray
    train_loss: dict[str, np.ndarray]
    test_error: dict[str, np.ndarray]
    best_eta_index: dict[str, int]
    sizes: tuple[int, ...]
    n_train: int
    n_test: int
    batch_size: int

    def best_eta(self, name: str) -> float:
        """The best learning rate of the grid for activation ``name``."""
        return float(self.etas[self.best_eta_index[name]])

    def best_curves(self, name: str) -> np.ndarray:
        """Training-loss curves ``(len(seeds), epochs + 1)`` at the best learning rate."""
        return self.train_loss[name][self.best_eta_index[name]]

    def final_loss(self, name: str) -> np.ndarray:
        """Per learning rate, the training loss after the last epoch, mean over the seeds
        (NaN where a seed diverged): the points of the learning-rate sweep."""
        return self.train_loss[name][..., -1].mean(axis=1)

    def logistic_vs_symmetric(self) -> dict[str, float]:
        """Where, along the rate sweep, the logistic net ends behind the better symmetric net.

        Compares the final losses (:meth:`final_loss`) of ``"logistic"`` with the smaller of
        ``"tanh"`` and ``"lecun_tanh"`` at each rate.  Returns the largest rate where the
        logistic net is behind (``behind_eta``) and the range of its loss ratio there
        (``behind_lo``, ``behind_hi``); the smallest rate where it is ahead (``ahead_eta``),
        the smallest symmetric loss (``ahead_sym``) and the largest logistic loss
        (``ahead_log``) from there on.  Raises ``ValueError`` unless the rates split into one
        run where it is behind followed by one where it is ahead (what the chapter states).
        """
        final = {name: self.final_loss(name) for name in ("logistic", "tanh", "lecun_tanh")}
        sym = np.fmin(final["tanh"], final["lecun_tanh"])
        behind = final["logistic"] > sym
        n_behind = int(behind.sum())
        if not (0 < n_behind < behind.size) or not behind[:n_behind].all():
            raise ValueError(
                "the logistic net is not behind at the small rates and ahead at the large ones "
                f"(behind at rates {self.etas[behind].tolist()})"
            )
        lag = final["logistic"][behind] / sym[behind]
        return {
            "behind_eta": float(self.etas[behind].max()),
            "behind_lo": float(lag.min()),
            "behind_hi": float(lag.max()),
            "ahead_eta": float(self.etas[~behind].min()),
            "ahead_sym": float(sym[~behind].min()),
            "ahead_log": float(final["logistic"][~behind].max()),
        }

    def epochs_to(self, name: str, level: float) -> np.ndarray:
        """Per seed, the first epoch at the best rate where the loss is ≤ ``level`` (NaN: never)."""
        curves = self.best_curves(name)
        out = np.full(curves.shape[0], np.nan)
        for i, row in enumerate(curves):
            hit = np.flatnonzero(row <= level)
            if hit.size:
                out[i] = self.epoch[hit[0]]
        return out


def _mean_log_loss(curves: np.ndarray) -> np.ndarray:
    """Per learning rate, the mean over seeds and epochs ≥ 1 of log(loss); +inf if any diverged."""
    logs = np.log(np.fmax(curves[..., 1:], 1e-12))  # fmax keeps NaN (a divergence)
    score = logs.mean(axis=(1, 2))
    return np.where(np.isfinite(score), score, np.inf)


def activation_race(
    *,
    names: Sequence[str] = RACE_ACTIVATIONS,
    hidden: Sequence[int] = (30, 30),
    etas: Sequence[float] = (0.1, 0.3, 1.0, 3.0, 10.0),
    n_train: int = 500,
    epochs: int = 15,
    batch_size: int = 10,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    data_seed: int = 0,
) -> ActivationRace:
    """Train a 64-``hidden``-10 softmax network on standardized digits per hidden activation.

    Only the hidden units change: the inputs are standardized (§4.3), every network is
    initialized with σ_w = fan_in^{-1/2} (eqs 15/16), the output is a softmax with the
    cross-entropy loss, and every activation gets the same grid of learning rates and the
    same seeds, trained side by side with :func:`ebp.many.fit_many`.

    Parameters
    ----------
    names
        Hidden activations, from ``("logistic", "tanh", "lecun_tanh")``.
    hidden
        Widths of the hidden layers.
    etas
        Learning-rate grid; each activation's best rate is the one with the lowest mean log
        training loss over the epochs (a run that diverges disqualifies its rate).
    n_train, epochs, batch_size
        Training subset size (the test set is the fixed 25 % split), epochs and mini-batch size.
    seeds
        Seeds of the initial weights and of the presentation order.
    data_seed
        Seed of the data split.
    """
    names = _check_names(names, RACE_ACTIVATIONS, "names")
    hidden = tuple(check_int(h, f"hidden[{i}]", min_value=1) for i, h in enumerate(hidden))
    etas = [check_positive(e, f"etas[{i}]") for i, e in enumerate(etas)]
    if not etas:
        raise ValueError("etas must contain at least one learning rate")
    seeds = check_seeds(seeds)
    epochs = check_int(epochs, "epochs", min_value=1)
    split = data.digits(n_train=n_train, seed=data_seed, standardize=True)
    sizes = (split.n_features, *hidden, split.n_classes)
    losses: dict[str, np.ndarray] = {}
    errors: dict[str, np.ndarray] = {}
    with single_threaded():
        for name in names:  # one fit_many per activation: it needs identical structures
            models = [nn.mlp(sizes, activation=name, seed=s) for _ in etas for s in seeds]
            hist = fit_many(
                models,
                split.X_train,
                split.y_train,
                loss="cross_entropy",
                eta=[eta for eta in etas for _ in seeds],
                epochs=epochs,
                batch_size=batch_size,
                seed=[s for _ in etas for s in seeds],
                on_divergence="stop",
            )
            shape = (len(etas), len(seeds))
            losses[name] = hist.train_loss.reshape(*shape, -1)
            wrong = [train.predict_classes(m, split.X_test) != split.y_test for m in hist.models]
            errors[name] = np.mean(wrong, axis=1).reshape(shape)
    best = {k: int(np.argmin(_mean_log_loss(v))) for k, v in losses.items()}
    return ActivationRace(
        names=names,
        etas=np.asarray(etas, dtype=float),
        seeds=np.asarray(seeds),
        epoch=np.arange(epochs + 1, dtype=float),
        train_loss=losses,
        test_error=errors,
        best_eta_index=best,
        sizes=sizes,
        n_train=split.n_train,
        n_test=split.n_test,
        batch_size=batch_size,
    )


@dataclass(frozen=True)
class HiddenMoments:
    """What the hidden layer feeds the output layer, at initialization.

    Attributes
    ----------
    names
        The hidden activations.
    mean_state
        Name → mean over patterns and units of the hidden states.
    eigenvalues
        Name → eigenvalues (ascending) of ``(1/P) Σ_p x_p x_pᵀ`` with ``x_p = (h_p, 1)``: the
        Hessian of a linear output layer's squared error with respect to its weights (paper
        eq 29), averaged over seeds.
    """

    names: tuple[str, ...]
    mean_state: dict[str, float]
    eigenvalues: dict[str, np.ndarray]

    def lambda_max(self, name: str) -> float:
        """The largest eigenvalue for activation ``name``."""
        return float(self.eigenvalues[name][-1])

    def condition(self, name: str) -> float:
        """``λ_max / λ_min`` for activation ``name``."""
        ev = self.eigenvalues[name]
        return float(ev[-1] / ev[0])


def hidden_moments(
    *,
    names: Sequence[str] = RACE_ACTIVATIONS,
    hidden: int = 30,
    n_train: int = 500,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    data_seed: int = 0,
) -> HiddenMoments:
    """Mean hidden state and the spectrum of the hidden states' second-moment matrix (eq 29).

    The network is the first layer of :func:`activation_race` (same init, same data); the
    output layer sees the hidden states as its inputs, so §5.3's analysis of inputs applies:
    a non-zero mean adds one large eigenvalue.
    """
    names = _check_names(names, RACE_ACTIVATIONS, "names")
    hidden = check_int(hidden, "hidden", min_value=1)
    seeds = check_seeds(seeds)
    split = data.digits(n_train=n_train, seed=data_seed, standardize=True)
    X = torch.as_tensor(split.X_train, dtype=torch.float64)
    means: dict[str, float] = {}
    spectra: dict[str, np.ndarray] = {}
    for name in names:
        m_list, ev_list = [], []
        for seed in seeds:
            net = nn.mlp((split.n_features, hidden, 1), activation=name, seed=seed)
            layer = net[:2].to(torch.float64)
            with torch.no_grad(), single_threaded():
                H = layer(X).numpy()
            m_list.append(H.mean())
            Xa = np.hstack([H, np.ones((H.shape[0], 1))])
            ev_list.append(np.linalg.eigvalsh(Xa.T @ Xa / Xa.shape[0]))
        means[name] = float(np.mean(m_list))
        spectra[name] = np.mean(ev_list, axis=0)
    return HiddenMoments(names=names, mean_state=means, eigenvalues=spectra)


# ---------------------------------------------------------------------------------------------
# Depth: gradients per layer at initialization
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DepthGradients:
    """Gradient norm per layer at initialization.

    Attributes
    ----------
    names
        The activations.
    scales
        Name → the init scale (σ_w = scale · fan_in^{-1/2}).
    layer
        Layer numbers 1 … L (1 is next to the input).
    grad_norm
        Name → array ``(len(seeds), L)`` of ``‖∂E/∂W_l‖`` (Frobenius), by autograd.
    mean_slope
        Name → array ``(len(seeds), L − 1)``: mean of ``f′`` over patterns and units of each
        hidden layer (the factor the backward pass multiplies by, besides the weights).
    """

    names: tuple[str, ...]
    scales: dict[str, float]
    layer: np.ndarray
    grad_norm: dict[str, np.ndarray]
    mean_slope: dict[str, np.ndarray]

    def decay(self, name: str) -> float:
        """Geometric-mean ratio of gradient norms of successive layers (input side / output)."""
        g = np.log(self.grad_norm[name].mean(axis=0))
        return float(np.exp((g[0] - g[-1]) / (g.size - 1)))

    def span(self, name: str) -> float:
        """Ratio of the mean gradient norm of the last layer to that of the first."""
        g = self.grad_norm[name].mean(axis=0)
        return float(g[-1] / g[0])


def depth_gradients(
    *,
    names: Sequence[str] = SIGMOIDS,
    depth: int = 10,
    width: int = 64,
    n_patterns: int = 500,
    scales: dict[str, float] | None = None,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    data_seed: int = 0,
) -> DepthGradients:
    """Per-layer gradient norms at initialization of a ``depth``-layer network on digits.

    Every network is 64-``width``-…-``width``-10 with ``depth`` weight layers, the same
    initialization σ_w = scale · fan_in^{-1/2} (scale 1: the paper's eqs 15/16; ReLU gets
    √2, He et al.'s correction, unless ``scales`` says otherwise), a softmax output and the
    cross-entropy loss on standardized digits.  Gradients come from ``torch.autograd``.
    """
    names = _check_names(names, SIGMOIDS, "names")
    depth = check_int(depth, "depth", min_value=2)
    width = check_int(width, "width", min_value=1)
    seeds = check_seeds(seeds)
    chosen = {k: (math.sqrt(2.0) if k == "relu" else 1.0) for k in names}
    if scales is not None:
        if not isinstance(scales, dict):
            raise TypeError(f"scales must be a dict name -> scale; got {type(scales).__name__}")
        chosen.update({k: check_positive(v, f"scales[{k!r}]") for k, v in scales.items()})
    split = data.digits(n_train=n_patterns, seed=data_seed, standardize=True)
    X = torch.as_tensor(split.X_train, dtype=torch.float32)
    y = torch.as_tensor(split.y_train)
    sizes = (split.n_features, *([width] * (depth - 1)), split.n_classes)
    norms: dict[str, np.ndarray] = {}
    slopes: dict[str, np.ndarray] = {}
    act_df = {k: scratch.get_activation(k).df for k in names}
    with single_threaded():
        for name in names:
            norms[name], slopes[name] = _depth_run(
                name, sizes, chosen[name], seeds, X, y, act_df[name]
            )
    return DepthGradients(
        names=names,
        scales={k: float(chosen[k]) for k in names},
        layer=np.arange(1, depth + 1),
        grad_norm=norms,
        mean_slope=slopes,
    )


def _depth_run(
    name: str,
    sizes: tuple[int, ...],
    scale: float,
    seeds: list[int],
    X: torch.Tensor,
    y: torch.Tensor,
    df: Callable[[np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient norms per layer and mean hidden slopes per layer, one row per seed."""
    g_rows, s_rows = [], []
    for seed in seeds:
        net = nn.mlp(sizes, activation=name, scale=scale, seed=seed)
        linears = [m for m in net if isinstance(m, torch.nn.Linear)]
        zs, h = [], X
        for i, module in enumerate(net):
            h = module(h)
            if isinstance(module, torch.nn.Linear) and i < len(net) - 1:
                zs.append(h.detach().numpy())
        loss = train.cross_entropy_loss(h, y)
        grads = torch.autograd.grad(loss, [m.weight for m in linears])
        g_rows.append([float(g.norm()) for g in grads])
        s_rows.append([float(df(z).mean()) for z in zs])
    return np.asarray(g_rows), np.asarray(s_rows)


# ---------------------------------------------------------------------------------------------
# The twisting term
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Twisting:
    """A saturated unit with and without the twisting term ``f(x) + a·x``.

    Attributes
    ----------
    base
        The activation ``f``.
    a_values
        The twisting slopes (0: plain ``f``).
    x
        Grid of weighted sums for ``slope``.
    slope
        Array ``(len(a_values), len(x))`` of ``f′(x) + a`` computed by autograd.
    steps
        Update numbers ``0 … n_steps`` of the escape runs.
    z
        Array ``(len(a_values), n_steps + 1)``: the unit's weighted sum during gradient descent.
    grad
        Array ``(len(a_values), n_steps + 1)``: ``|∂E/∂w|`` at each step.
    escape_step
        Per ``a``: first step at which the output has the target's sign (−1 if never).
    z0, target, eta, n_steps
        The settings of the escape runs.
    """

    base: str
    a_values: np.ndarray
    x: np.ndarray
    slope: np.ndarray
    steps: np.ndarray
    z: np.ndarray
    grad: np.ndarray
    escape_step: np.ndarray
    z0: float
    target: float
    eta: float
    n_steps: int


def twisting(
    *,
    base: str = "tanh",
    a_values: Sequence[float] = (0.0, 0.02, 0.1),
    z0: float = 5.0,
    target: float = -0.8,
    eta: float = 0.5,
    n_steps: int = 400,
    x_max: float = 6.0,
) -> Twisting:
    """A single unit ``o = f(w) + a·w`` (input 1) stuck at ``w = z0`` on the wrong side.

    Gradient descent on ``E = ½ (o − target)²`` from ``w = z0``, for each twisting slope ``a``
    (``f`` from :func:`ebp.nn.twisted`, derivatives by autograd).  With ``a = 0`` and a large
    ``z0`` the unit sits in a flat spot: ``f′(z0)`` is tiny and so is every step.
    """
    check_choice(base, "base", ("logistic", "tanh", "lecun_tanh"))
    a_list = [check_positive(a, f"a_values[{i}]", allow_zero=True) for i, a in enumerate(a_values)]
    if not a_list:
        raise ValueError("a_values must contain at least one slope")
    z0 = check_in_range(z0, "z0")
    target = check_in_range(target, "target")
    eta = check_positive(eta, "eta")
    n_steps = check_int(n_steps, "n_steps", min_value=1)
    x_max = check_positive(x_max, "x_max")
    x = torch.linspace(-x_max, x_max, 601, dtype=torch.float64, requires_grad=True)
    slopes, zs, grads, escapes = [], [], [], []
    for a in a_list:
        f = nn.twisted(base, a)
        (df,) = torch.autograd.grad(f(x).sum(), x)
        slopes.append(df.detach().numpy())
        w = torch.tensor(z0, dtype=torch.float64, requires_grad=True)
        z_path, g_path, escape = [], [], -1
        for step in range(n_steps + 1):
            out = f(w)
            if escape < 0 and out.item() * target > 0:
                escape = step
            (g,) = torch.autograd.grad(0.5 * (out - target) ** 2, w)
            z_path.append(w.item())
            g_path.append(abs(float(g)))
            with torch.no_grad():
                w -= eta * g
        zs.append(z_path)
        grads.append(g_path)
        escapes.append(escape)
    return Twisting(
        base=base,
        a_values=np.asarray(a_list, dtype=float),
        x=x.detach().numpy(),
        slope=np.asarray(slopes),
        steps=np.arange(n_steps + 1),
        z=np.asarray(zs),
        grad=np.asarray(grads),
        escape_step=np.asarray(escapes),
        z0=z0,
        target=target,
        eta=eta,
        n_steps=n_steps,
    )
