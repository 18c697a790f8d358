"""Experiments of the chapter "Radial basis functions and sigmoid units" (paper §4.8).

- :func:`two_moons`: a seeded, standardized two-moons set (scikit-learn's ``make_moons``).
- :func:`moons_comparison`: an RBF network and a sigmoid network of the same size on the two
  moons, over seeds: their output maps on a window larger than the data, the response maps of
  one unit of each (local vs global), and what they answer far from the data.
- :func:`digits_comparison`: test error against the number of units for RBF networks on the
  64 pixels and for sigmoid networks, over seeds; RBF units placed by k-means on the hidden
  features of trained sigmoid networks ("RBFs in upper layers, sigmoids in lower"); and how
  slowly k-means centres fill a high-dimensional input space (the curse of dimensionality).

Every network has linear outputs and is trained with the squared error on ±1 targets by
:func:`ebp.many.fit_many`, all seeds at once.  For an RBF network a seed sets both the k-means
initialisation and the output weights; for a sigmoid network, the initial weights.  Both use the
seed for the order of presentation.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from torch import nn as tnn

from ebp import data, nn, rbf
from ebp._validate import check_int, check_positive
from ebp.experiments._shared import check_seeds, outputs
from ebp.many import fit_many
from ebp.repro import single_threaded

__all__ = [
    "DigitsComparison",
    "MoonsComparison",
    "digits_comparison",
    "fitted_exponent",
    "moons_comparison",
    "nearest_centre_distance",
    "two_moons",
]

FAMILIES = ("rbf", "sigmoid")
"""The two network families compared, by name."""


def _check_units(units: Sequence[int], name: str) -> list[int]:
    if isinstance(units, (str, bytes)) or not isinstance(units, (Sequence, range, np.ndarray)):
        raise TypeError(f"{name} must be a sequence of ints; got {type(units).__name__}")
    values = [check_int(u, f"{name}[{i}]", min_value=2) for i, u in enumerate(units)]
    if not values or any(b <= a for a, b in itertools.pairwise(values)):
        raise ValueError(f"{name} must be a non-empty increasing sequence; got {list(units)}")
    return values


def _sigmoid_net(sizes: tuple[int, ...], seed: int) -> tnn.Sequential:
    return nn.mlp(sizes, activation="lecun_tanh", seed=seed)


def _rbf_nets(X: np.ndarray, n_units: int, n_out: int, seeds: list[int]) -> list[tnn.Module]:
    return [rbf.rbf_network(X, n_units, n_out, seed=s) for s in seeds]


def _train(
    models: list[tnn.Module],
    X: np.ndarray,
    T: np.ndarray,
    eta: float | None,
    *,
    epochs: int,
    batch_size: int,
    seeds: list[int],
) -> tuple[list[tnn.Module], np.ndarray, np.ndarray]:
    """Train ``models`` together; ``eta=None``: each gets ``1/λ_max`` of its output layer.

    Returns the trained models, their final training losses and their learning rates.
    """
    etas = [rbf.output_rate(m, X) for m in models] if eta is None else [eta] * len(models)
    run = fit_many(models, X, T, eta=etas, epochs=epochs, batch_size=batch_size, seed=seeds)
    return run.models, run.final_train_loss, np.asarray(etas)


def nearest_centre_distance(X: np.ndarray, centres: np.ndarray) -> float:
    """The mean, over the rows of ``X``, of the distance to the nearest of ``centres``."""
    X = np.asarray(X, dtype=np.float64)
    c = np.asarray(centres, dtype=np.float64)
    d2 = (X * X).sum(1)[:, None] - 2.0 * X @ c.T + (c * c).sum(1)[None, :]
    return float(np.sqrt(np.maximum(d2.min(axis=1), 0.0)).mean())


def fitted_exponent(n_centres: np.ndarray, distance: np.ndarray) -> float:
    """``d`` in ``distance ∝ n_centres^{−1/d}``, from a least-squares line in log–log axes.

    ``n`` centres spread over a ``d``-dimensional region sit about ``n^{−1/d}`` apart, so the
    distance from a point to its nearest centre shrinks like ``n^{−1/d}``; ``d`` is then the
    effective dimension of the data as k-means sees it.
    """
    slope = np.polyfit(np.log(np.asarray(n_centres, float)), np.log(distance), 1)[0]
    return float(-1.0 / slope)


def _kmeans_distances(
    X_train: np.ndarray, X_test: np.ndarray, ks: Sequence[int], seed: int
) -> np.ndarray:
    """For each ``k`` of ``ks``: the mean distance of a test point to its nearest of ``k``
    k-means centres placed (seed ``seed``) on ``X_train``."""
    return np.array(
        [nearest_centre_distance(X_test, rbf.kmeans_centres(X_train, k, seed=seed)[0]) for k in ks]
    )


# ---------------------------------------------------------------------------------------------
# Two moons
# ---------------------------------------------------------------------------------------------


def two_moons(
    n_train: int = 200, n_test: int = 1000, *, noise: float = 0.15, seed: int = 0
) -> data.Split:
    """Two interleaved half-circles (scikit-learn's ``make_moons``), standardized.

    Parameters
    ----------
    n_train, n_test
        Sizes of the two parts (≥ 2 each), drawn together and split in order.
    noise
        Standard deviation of the Gaussian noise added to the points (before standardizing).
    seed
        Seed of the draw (``random_state``).

    Returns
    -------
    ebp.data.Split
        Inputs standardized with the training part's mean and standard deviation; labels 0/1.
    """
    from sklearn.datasets import make_moons

    n_train = check_int(n_train, "n_train", min_value=2)
    n_test = check_int(n_test, "n_test", min_value=2)
    noise = check_positive(noise, "noise", allow_zero=True)
    seed = check_int(seed, "seed", min_value=0)
    X, y = make_moons(n_samples=n_train + n_test, noise=noise, random_state=seed)
    mean, std = X[:n_train].mean(0), X[:n_train].std(0)
    X = (X - mean) / std
    y = y.astype(np.int64)
    return data.Split(
        X_train=X[:n_train],
        y_train=y[:n_train],
        X_test=X[n_train:],
        y_test=y[n_train:],
        n_classes=2,
    )


@dataclass(frozen=True)
class MoonsComparison:
    """An RBF network and a sigmoid network of ``n_units`` hidden units on the two moons.

    Attributes
    ----------
    split
        The data (standardized two moons).
    seeds
        The seeds trained; the maps are those of the first.
    grid
        The 1-D coordinates of the square window the maps are evaluated on.
    output
        Family → ``(len(grid), len(grid))``: the network's output ``g(x)`` (rows: second
        coordinate), for seed ``seeds[0]``.
    unit
        Family → the response map of the hidden unit with the largest output weight
        (``φ_i(x)`` for the RBF net, ``1.7159 tanh(w·x + b)`` for the sigmoid net).
    unit_index
        Family → which hidden unit that is.
    centres, widths
        The RBF centres and widths of the first seed's network.
    test_error
        Family → ``(len(seeds),)``.
    far_output
        Family → ``(len(seeds),)``: the mean of ``|g(x)|`` over points on a circle of radius
        ``far_radius`` around the data's centre.
    far_response
        Family → ``(len(seeds),)``: the mean, over the same circle, of the largest hidden-unit
        response ``max_i |h_i(x)|``.
    rbf_bias
        ``(len(seeds),)``: the output bias of each RBF network.
    n_centres, nearest_distance
        The numbers of k-means centres tried on the training inputs, and the mean distance of
        a test point to its nearest centre for each (k-means seeded with ``seeds[0]``).
    eta
        Family → ``(len(seeds),)``: the learning rates (for the RBF networks ``1/λ_max`` of
        their output layer's Hessian, eq 39).
    far_radius, n_units, epochs, batch_size
        The settings.
    """

    split: data.Split
    seeds: np.ndarray
    grid: np.ndarray
    output: dict[str, np.ndarray]
    unit: dict[str, np.ndarray]
    unit_index: dict[str, int]
    centres: np.ndarray
    widths: np.ndarray
    test_error: dict[str, np.ndarray]
    far_output: dict[str, np.ndarray]
    far_response: dict[str, np.ndarray]
    rbf_bias: np.ndarray
    n_centres: np.ndarray
    nearest_distance: np.ndarray
    far_radius: float
    n_units: int
    eta: dict[str, np.ndarray]
    epochs: int
    batch_size: int


def _hidden(model: tnn.Sequential, family: str, X: np.ndarray) -> np.ndarray:
    """The hidden-unit responses of a two-layer network."""
    lower = model[:1] if family == "rbf" else model[:2]
    return outputs(lower, X)


def _maps(
    model: tnn.Sequential, family: str, G: np.ndarray, n_grid: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """The output map on the grid points ``G``, the response map of the hidden unit with the
    largest output weight, and that unit's index."""
    output = outputs(model, G)[:, 0].reshape(n_grid, n_grid)
    w_out = model[-1].weight.detach().numpy()[0]
    index = int(np.argmax(np.abs(w_out)))
    unit = _hidden(model, family, G)[:, index].reshape(n_grid, n_grid)
    return output, unit, index


def _far_field(
    models: list[tnn.Sequential], family: str, radius: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per model, the mean of ``|g(x)|`` and of the largest hidden response on a circle of
    ``radius`` around the origin."""
    angle = np.linspace(0.0, 2.0 * np.pi, 360, endpoint=False)
    circle = radius * np.column_stack([np.cos(angle), np.sin(angle)])
    output = np.array([np.abs(outputs(m, circle)).mean() for m in models])
    response = np.array([np.abs(_hidden(m, family, circle)).max(axis=1).mean() for m in models])
    return output, response


def moons_comparison(
    *,
    n_units: int = 10,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    eta_sigmoid: float = 0.2,
    epochs: int = 50,
    batch_size: int = 20,
    window: float = 4.0,
    n_grid: int = 121,
    far_radius: float = 10.0,
    n_centres: Sequence[int] = (4, 8, 16, 32, 64),
    data_seed: int = 0,
) -> MoonsComparison:
    """Train ``len(seeds)`` RBF and sigmoid 2-``n_units``-1 networks on the two moons.

    Parameters
    ----------
    n_units
        Hidden units of both networks (≥ 3: the RBF widths use the 2 nearest other centres).
    seeds
        Seeds (at least one); the maps show the first.
    eta_sigmoid
        Learning rate of the sigmoid networks; each RBF network's output layer gets
        ``1/λ_max`` of its Hessian (:func:`ebp.rbf.output_rate`, eq 39).
    epochs, batch_size
        Training length and mini-batch size.
    window
        The maps cover ``[−window, window]²`` (the data lie within about ±2).
    n_grid
        Points per side of the maps.
    far_radius
        Radius of the circle on which the far-field answers are measured.
    n_centres
        Increasing numbers of k-means centres for the nearest-centre distances.
    data_seed
        Seed of the data.
    """
    n_units = check_int(n_units, "n_units", min_value=3)
    seeds = check_seeds(seeds)
    eta_sigmoid = check_positive(eta_sigmoid, "eta_sigmoid")
    epochs = check_int(epochs, "epochs", min_value=1)
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    window = check_positive(window, "window")
    n_grid = check_int(n_grid, "n_grid", min_value=2)
    far_radius = check_positive(far_radius, "far_radius")
    ks = _check_units(n_centres, "n_centres")
    split = two_moons(seed=data_seed)
    if ks[-1] > split.n_train:
        raise ValueError(f"n_centres must be <= {split.n_train} (the training set); got {ks[-1]}")
    y = np.where(split.y_train == 1, 1.0, -1.0)[:, None]

    with single_threaded():
        start = {
            "rbf": _rbf_nets(split.X_train, n_units, 1, seeds),
            "sigmoid": [_sigmoid_net((2, n_units, 1), s) for s in seeds],
        }
        trained, eta = {}, {}
        for f, rate in zip(FAMILIES, (None, eta_sigmoid), strict=True):
            trained[f], _, eta[f] = _train(
                start[f], split.X_train, y, rate, epochs=epochs, batch_size=batch_size, seeds=seeds
            )
        grid = np.linspace(-window, window, n_grid)
        gx, gy = np.meshgrid(grid, grid)
        G = np.column_stack([gx.ravel(), gy.ravel()])
        output, unit, unit_index = {}, {}, {}
        test_error, far_output, far_response = {}, {}, {}
        for f in FAMILIES:
            models = trained[f]
            output[f], unit[f], unit_index[f] = _maps(models[0], f, G, n_grid)
            test_error[f] = np.array(
                [np.mean((outputs(m, split.X_test)[:, 0] > 0) != split.y_test) for m in models]
            )
            far_output[f], far_response[f] = _far_field(models, f, far_radius)
        layer = trained["rbf"][0][0]
        distances = _kmeans_distances(split.X_train, split.X_test, ks, seeds[0])
    return MoonsComparison(
        split=split,
        seeds=np.asarray(seeds),
        grid=grid,
        output=output,
        unit=unit,
        unit_index=unit_index,
        centres=layer.centres.detach().numpy().astype(np.float64),
        widths=layer.widths.detach().numpy().astype(np.float64),
        test_error=test_error,
        far_output=far_output,
        far_response=far_response,
        rbf_bias=np.array([float(m[-1].bias.detach()[0]) for m in trained["rbf"]]),
        n_centres=np.asarray(ks),
        nearest_distance=distances,
        far_radius=far_radius,
        n_units=n_units,
        eta=eta,
        epochs=epochs,
        batch_size=batch_size,
    )


# ---------------------------------------------------------------------------------------------
# Digits
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigitsComparison:
    """RBF and sigmoid networks on the digits, and RBF units on sigmoid features.

    Attributes
    ----------
    units
        The numbers of hidden units tried (RBF units, or sigmoid units).
    seeds
        The seeds trained.
    test_error
        Network → ``(len(units), len(seeds))``: ``"rbf"`` (output layer trained by gradient
        descent), ``"rbf_solved"`` (the same networks with the output layer solved exactly,
        :func:`ebp.rbf.solve_output_layer`) and ``"sigmoid"``.
    train_loss
        The same keys → ``(len(units), len(seeds))``: the final training loss.
    eta
        ``"rbf"``, ``"sigmoid"`` → ``(len(units), len(seeds))``: the learning rates.
    condition
        ``(len(units), len(seeds))``: ``λ_max/λ_min`` of the RBF output layer's Hessian (eq 29).
    hybrid_hidden, hybrid_centres
        The hybrid networks: the trained sigmoid networks with ``hybrid_hidden`` units, frozen
        up to their hidden layer, then ``hybrid_centres`` RBF units placed by k-means on the
        hidden-layer outputs, then a new linear output layer.
    hybrid_error
        ``"hybrid"`` (output layer by gradient descent), ``"hybrid_solved"`` (solved exactly),
        ``"rbf"``, ``"rbf_solved"`` (RBF units on the pixels, as many as the hybrids have)
        → ``(len(seeds),)``: test errors.
    nearest_distance
        Input space (``"pixels"``, ``"features"``) → ``(len(units),)``: mean distance from a
        test point to its nearest of ``k`` k-means centres, for ``k`` in :attr:`units` (seed
        ``seeds[0]``; the features are those of the first hybrid network).
    n_train, n_test, epochs, batch_size
        The settings.
    """

    units: np.ndarray
    seeds: np.ndarray
    test_error: dict[str, np.ndarray]
    train_loss: dict[str, np.ndarray]
    eta: dict[str, np.ndarray]
    condition: np.ndarray
    hybrid_hidden: int
    hybrid_centres: int
    hybrid_error: dict[str, np.ndarray]
    nearest_distance: dict[str, np.ndarray]
    n_train: int
    n_test: int
    epochs: int
    batch_size: int

    def error_at(self, network: str, n_units: int) -> np.ndarray:
        """The test errors (one per seed) of ``network`` with ``n_units`` hidden units."""
        hits = np.flatnonzero(self.units == n_units)
        if hits.size == 0:
            raise ValueError(f"n_units must be one of {self.units.tolist()}; got {n_units}")
        return self.test_error[network][hits[0]]

    def units_to_reach(self, network: str, error: float) -> int | None:
        """The fewest units of :attr:`units` at which ``network``'s seed-mean test error is
        at most ``error`` (``None`` if no size reaches it)."""
        reached = np.flatnonzero(self.test_error[network].mean(axis=1) <= error)
        return int(self.units[reached[0]]) if reached.size else None


def _test_errors(models: list[tnn.Module], split: data.Split) -> np.ndarray:
    """Per model, the share of test digits whose largest output is not the true class."""
    wrong = [outputs(m, split.X_test).argmax(1) != split.y_test for m in models]
    return np.mean(wrong, axis=1)


def _train_losses(models: list[tnn.Module], X: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Per model, the squared error ``½Σ‖g(x) − t‖²/P`` on ``(X, T)``."""
    return np.array([0.5 * np.sum((outputs(m, X) - T) ** 2) / len(X) for m in models])


def _output_condition(nets: list[tnn.Module], X: np.ndarray) -> np.ndarray:
    """Per RBF network, ``λ_max/λ_min`` of its output layer's Hessian on ``X``."""
    lams = [np.linalg.eigvalsh(rbf.output_hessian(m, X)) for m in nets]
    return np.array([lam[-1] / lam[0] for lam in lams])


def _hybrids(
    sigmoid_nets: list[tnn.Sequential], X: np.ndarray, n_centres: int, K: int, seeds: list[int]
) -> list[tnn.Sequential]:
    """The trained sigmoid networks frozen up to their hidden layer, topped by ``n_centres``
    RBF units placed by k-means on its outputs and a new linear output layer."""
    hybrids = []
    for s, net in zip(seeds, sigmoid_nets, strict=True):
        lower = copy.deepcopy(net[:2]).requires_grad_(False)
        top = rbf.rbf_network(outputs(lower, X), n_centres, K, seed=s)
        hybrids.append(tnn.Sequential(*lower, *top))
    return hybrids


def _feature_distances(
    hybrid: tnn.Sequential, split: data.Split, ks: Sequence[int], seed: int
) -> np.ndarray:
    """:func:`_kmeans_distances` in the space of the hybrid's sigmoid hidden layer."""
    lower = hybrid[:2]
    H_train, H_test = outputs(lower, split.X_train), outputs(lower, split.X_test)
    return _kmeans_distances(H_train, H_test, ks, seed)


def _check_hybrid_sizes(hidden: int, centres: int, units: list[int]) -> tuple[int, int]:
    hidden = check_int(hidden, "hybrid_hidden", min_value=1)
    centres = check_int(centres, "hybrid_centres", min_value=3)
    for name, value in (("hybrid_hidden", hidden), ("hybrid_centres", centres)):
        if value not in units:
            raise ValueError(f"{name} must be one of units {units}; got {value}")
    return hidden, centres


def digits_comparison(
    *,
    units: Sequence[int] = (10, 20, 40, 80, 160),
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    n_train: int = 500,
    eta_sigmoid: float = 0.1,
    epochs: int = 30,
    batch_size: int = 50,
    hybrid_hidden: int = 10,
    hybrid_centres: int = 40,
    data_seed: int = 0,
) -> DigitsComparison:
    """Test error against hidden units for RBF and sigmoid networks on the 8×8 digits.

    The inputs are the standardized 64 pixels; the outputs are 10 linear units trained with
    the squared error on ±1 targets by mini-batch SGD, all seeds at once.  The RBF networks
    place their units by k-means on the training pixels (widths by Moody & Darken's rule,
    :func:`ebp.rbf.width_heuristic`) and train only their output layer, with ``η = 1/λ_max``
    of its Hessian (eq 39); the same networks with the output layer solved exactly show where
    that training is heading.  The sigmoid networks ``64-h-10`` train every layer.  Then the
    sigmoid networks with ``hybrid_hidden`` units are frozen up to their hidden layer,
    ``hybrid_centres`` RBF units are placed by k-means on its outputs, and a new linear output
    layer is trained on them in the same way.

    Parameters
    ----------
    units
        Increasing numbers of hidden units (each ≥ 3); must include ``hybrid_hidden`` and
        ``hybrid_centres``.
    seeds
        Seeds (at least one).
    n_train
        Training digits (the test set is the fixed quarter of :func:`ebp.data.digits`).
    eta_sigmoid
        Learning rate of the sigmoid networks.
    epochs, batch_size
        Training length and mini-batch size, shared by all networks.
    hybrid_hidden, hybrid_centres
        Sizes of the hybrids' sigmoid and RBF layers.
    data_seed
        Seed of the data split.
    """
    units = _check_units(units, "units")
    seeds = check_seeds(seeds)
    eta_sigmoid = check_positive(eta_sigmoid, "eta_sigmoid")
    epochs = check_int(epochs, "epochs", min_value=1)
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    hybrid_hidden, hybrid_centres = _check_hybrid_sizes(hybrid_hidden, hybrid_centres, units)
    split = data.digits(n_train=n_train, seed=data_seed, standardize=True)
    if units[-1] > split.n_train:
        raise ValueError(f"units must be <= n_train ({split.n_train}); got {units[-1]}")
    X, T = split.X_train, data.encode_targets(split.y_train, split.n_classes, "pm1")
    n_in, K = split.n_features, split.n_classes
    opts = {"epochs": epochs, "batch_size": batch_size, "seeds": seeds}

    def errors(models: list[tnn.Module]) -> np.ndarray:
        return _test_errors(models, split)

    shape = (len(units), len(seeds))
    err = {n: np.zeros(shape) for n in ("rbf", "rbf_solved", "sigmoid")}
    loss = {n: np.zeros(shape) for n in err}
    eta = {f: np.zeros(shape) for f in FAMILIES}
    condition = np.zeros(shape)
    dist_pixels = np.zeros(len(units))
    with single_threaded():
        for i, h in enumerate(units):
            nets = _rbf_nets(X, h, K, seeds)
            solved = [rbf.solve_output_layer(m, X, T) for m in nets]
            err["rbf_solved"][i] = errors(solved)
            loss["rbf_solved"][i] = _train_losses(solved, X, T)
            condition[i] = _output_condition(nets, X)
            dist_pixels[i] = nearest_centre_distance(
                split.X_test, nets[0][0].centres.detach().numpy()
            )
            models, loss["rbf"][i], eta["rbf"][i] = _train(nets, X, T, None, **opts)
            err["rbf"][i] = errors(models)
            if h == hybrid_centres:
                hybrid_error = {"rbf": err["rbf"][i], "rbf_solved": err["rbf_solved"][i]}
            nets = [_sigmoid_net((n_in, h, K), s) for s in seeds]
            models, loss["sigmoid"][i], eta["sigmoid"][i] = _train(nets, X, T, eta_sigmoid, **opts)
            err["sigmoid"][i] = errors(models)
            if h == hybrid_hidden:
                sigmoid_nets = models

        hybrids = _hybrids(sigmoid_nets, X, hybrid_centres, K, seeds)
        hybrid_error["hybrid_solved"] = errors([rbf.solve_output_layer(m, X, T) for m in hybrids])
        hybrid_error["hybrid"] = errors(_train(hybrids, X, T, None, **opts)[0])
        dist_features = _feature_distances(hybrids[0], split, units, seeds[0])
    return DigitsComparison(
        units=np.asarray(units),
        seeds=np.asarray(seeds),
        test_error=err,
        train_loss=loss,
        eta=eta,
        condition=condition,
        hybrid_hidden=hybrid_hidden,
        hybrid_centres=hybrid_centres,
        hybrid_error=hybrid_error,
        nearest_distance={"pixels": dist_pixels, "features": dist_features},
        n_train=split.n_train,
        n_test=split.n_test,
        epochs=epochs,
        batch_size=batch_size,
    )
