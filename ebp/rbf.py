"""Radial basis function units (paper §4.8) and the classic two-stage RBF network.

A layer of ``n`` Gaussian radial basis function (RBF) units with centres ``ν_i`` and widths
``σ_i`` maps an input ``x`` to

.. math:: φ_i(x) = \\exp\\bigl(-\\lVert x - ν_i \\rVert^2 / (2 σ_i^2)\\bigr),

and a linear layer on top gives the paper's ``g(x) = Σ_i w_i φ_i(x)`` (plus a bias).  A sigmoid
unit responds to a half-space of the input (it is *global*); an RBF unit responds only near its
centre and is ~0 elsewhere (it is *local*).

- :class:`RBFLayer`: the units, as a ``torch.nn.Module`` whose centres and widths are trainable
  or frozen.  It works under :func:`torch.func.vmap`, so :func:`ebp.many.fit_many` trains many
  RBF networks at once.
- :func:`kmeans_centres`: centres by k-means (scikit-learn, seeded) and widths by a stated rule.
- :func:`rbf_network`: the classic RBF network of Broomhead & Lowe (1988) and Moody & Darken
  (1989): centres by k-means, widths by a heuristic, then the output weights by gradient descent
  (or everything jointly).
- For a network whose last layer is linear and whose other layers are frozen, the squared error
  is a quadratic in the output weights: :func:`output_hessian` (eq 29), :func:`output_rate`
  (``η = 1/λ_max``, eq 39) and :func:`solve_output_layer` (its minimum, by linear least
  squares).
"""

from __future__ import annotations

import copy
import math
import warnings
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch import nn as tnn

from ebp._validate import (
    as_float_array,
    as_tensor,
    check_choice,
    check_float_dtype,
    check_int,
    check_positive,
)
from ebp.nn import LeCunTanh, empty_linear, init_weights_
from ebp.repro import single_threaded

__all__ = [
    "WIDTH_RULES",
    "RBFLayer",
    "kmeans_centres",
    "output_features",
    "output_hessian",
    "output_rate",
    "rbf_network",
    "solve_output_layer",
    "width_heuristic",
]

WIDTH_RULES = ("p_nearest", "global")
"""The width rules of :func:`width_heuristic`."""


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool; got {type(value).__name__}")
    return bool(value)


class RBFLayer(tnn.Module):
    """A layer of Gaussian RBF units ``φ_i(x) = exp(−‖x − ν_i‖² / (2σ_i²))`` (§4.8).

    The squared distances are computed as ``‖x‖² − 2 x·ν_i + ‖ν_i‖²`` (one matrix product, no
    ``P × n × d`` tensor of differences) and clamped at 0 against rounding.  The widths are
    stored as ``log σ_i`` (:attr:`log_sigma`), so that gradient descent keeps them positive.

    Parameters
    ----------
    centres
        The centres ``ν``, shape ``(n_units, n_in)``.
    widths
        The widths ``σ > 0``: one per unit, shape ``(n_units,)``, or one number for all.
    train_centres, train_widths
        Whether the centres and the widths are trainable (``requires_grad``); frozen ones are
        still parameters, so that :func:`torch.func.stack_module_state` and
        :func:`ebp.many.fit_many` carry them per model.
    dtype, device
        Of the parameters; default: ``centres``' floating dtype (``float32`` for arrays) and
        device.

    Attributes
    ----------
    centres
        ``nn.Parameter`` ``(n_units, n_in)``.
    log_sigma
        ``nn.Parameter`` ``(n_units,)``: ``log σ_i``.
    """

    def __init__(
        self,
        centres: Any,
        widths: Any,
        *,
        train_centres: bool = True,
        train_widths: bool = True,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        if dtype is not None:
            dtype = check_float_dtype(dtype)
        elif not isinstance(centres, Tensor):
            dtype = torch.float32
        c = as_tensor(centres, "centres", ndim=2, dtype=dtype, device=device)
        if c.shape[0] < 1 or c.shape[1] < 1:
            raise ValueError(f"centres must have shape (n_units >= 1, n_in >= 1); got {c.shape}")
        if isinstance(widths, (int, float, np.floating, np.integer)) and not isinstance(
            widths, (bool, np.bool_)
        ):
            check_positive(widths, "widths")
            s = torch.full((c.shape[0],), float(widths), dtype=c.dtype, device=c.device)
        else:
            s = as_tensor(widths, "widths", shape=(c.shape[0],), dtype=c.dtype, device=c.device)
            if bool((s <= 0).any()):
                raise ValueError(f"widths must all be > 0; got min {float(s.min()):g}")
        train_centres = _check_bool(train_centres, "train_centres")
        train_widths = _check_bool(train_widths, "train_widths")
        self.centres = tnn.Parameter(c.detach().clone(), requires_grad=train_centres)
        self.log_sigma = tnn.Parameter(s.detach().log(), requires_grad=train_widths)

    @property
    def n_units(self) -> int:
        """Number of RBF units."""
        return int(self.centres.shape[0])

    @property
    def in_features(self) -> int:
        """Input dimension."""
        return int(self.centres.shape[1])

    @property
    def widths(self) -> Tensor:
        """The widths ``σ_i = exp(log_sigma_i)`` (a tensor that carries gradients)."""
        return self.log_sigma.exp()

    def squared_distances(self, x: Tensor) -> Tensor:
        """``‖x − ν_i‖²`` for every pattern and unit, shape ``(..., n_units)``."""
        x_sq = (x * x).sum(-1, keepdim=True)
        c_sq = (self.centres * self.centres).sum(-1)
        return (x_sq - 2.0 * (x @ self.centres.transpose(0, 1)) + c_sq).clamp_min(0.0)

    def forward(self, x: Tensor) -> Tensor:
        """The unit responses ``φ_i(x)``, shape ``(..., n_units)``, for inputs ``(..., n_in)``."""
        if not isinstance(x, Tensor):
            raise TypeError(f"x must be a torch.Tensor; got {type(x).__name__}")
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"x must have shape (..., {self.in_features}), one column per input of the RBF "
                f"layer; got shape {tuple(x.shape)}"
            )
        if x.dtype != self.centres.dtype:
            raise TypeError(
                f"x must have the layer's dtype {self.centres.dtype}; got {x.dtype} (convert "
                f"with x.to({self.centres.dtype}))"
            )
        inv_two_var = 0.5 * torch.exp(-2.0 * self.log_sigma)  # 1 / (2σ²)
        return torch.exp(-self.squared_distances(x) * inv_two_var)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, n_units={self.n_units},\n"
            f"train_centres={self.centres.requires_grad}, "
            f"train_widths={self.log_sigma.requires_grad}"
        )


def width_heuristic(centres: Any, rule: str = "p_nearest", *, p: int = 2) -> np.ndarray:
    """Widths for RBF units placed at ``centres``, from the spacing of the centres.

    Parameters
    ----------
    centres
        Shape ``(n_units, n_in)``, at least ``p + 1`` distinct-enough centres.
    rule
        ``"p_nearest"``: Moody & Darken's (1989) P-nearest-neighbour heuristic,
        ``σ_i = ( (1/p) Σ_{j ∈ p nearest centres of i} ‖ν_i − ν_j‖² )^{1/2}``: each unit
        reaches about as far as its neighbours, so the units overlap and cover the data
        without gaps, and units in dense regions are narrow.  ``"global"``: one width for all
        units, the root mean square of the ``p_nearest`` widths (a single σ set by the typical
        spacing of the centres).
    p
        Number of nearest other centres, ``1 ≤ p < n_units``.

    Returns
    -------
    numpy.ndarray
        ``(n_units,)``, all > 0.  A unit whose ``p`` nearest centres coincide with it (distance
        0) gets the median of the other units' widths.
    """
    c = as_float_array(centres, "centres", ndim=2)
    rule = check_choice(rule, "rule", WIDTH_RULES)
    n = c.shape[0]
    if n < 2:
        raise ValueError(f"centres must hold at least 2 centres for a width rule; got {n}")
    p = check_int(p, "p", min_value=1, max_value=n - 1)
    sq = (c * c).sum(1)
    d2 = np.maximum(sq[:, None] - 2.0 * c @ c.T + sq[None, :], 0.0)
    np.fill_diagonal(d2, np.inf)
    nearest = np.sort(d2, axis=1)[:, :p]
    sigma = np.sqrt(nearest.mean(axis=1))
    good = sigma > 0
    if not good.any():
        raise ValueError("centres must not all coincide: every width would be 0")
    sigma[~good] = np.median(sigma[good])
    if rule == "global":
        sigma = np.full(n, math.sqrt(float(np.mean(sigma**2))))
    return sigma


def kmeans_centres(
    X: Any,
    n_centres: int,
    *,
    seed: int = 0,
    n_init: int = 1,
    width_rule: str = "p_nearest",
    p: int = 2,
    width_scale: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Centres by k-means on ``X`` and widths by :func:`width_heuristic`.

    k-means is scikit-learn's :class:`~sklearn.cluster.KMeans` (k-means++ seeding, Lloyd
    iterations) with ``random_state=seed`` and a fixed ``n_init``, run on one thread, so the
    same call gives the same centres on every run.

    Parameters
    ----------
    X
        Inputs, shape ``(P, n_in)``, with ``P ≥ n_centres``.
    n_centres
        Number of centres, ≥ 2.
    seed
        Seed of the k-means initialisation.
    n_init
        Number of k-means restarts (the best is kept), ≥ 1.
    width_rule, p
        Passed to :func:`width_heuristic`.
    width_scale
        Multiplies every width (> 0).

    Returns
    -------
    centres, widths : numpy.ndarray
        float64 arrays of shapes ``(n_centres, n_in)`` and ``(n_centres,)``.
    """
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    X = as_float_array(X, "X", ndim=2)
    n_centres = check_int(n_centres, "n_centres", min_value=2)
    if n_centres > X.shape[0]:
        raise ValueError(
            f"n_centres must be <= the number of patterns in X ({X.shape[0]}); got {n_centres}"
        )
    seed = check_int(seed, "seed", min_value=0)
    n_init = check_int(n_init, "n_init", min_value=1)
    check_choice(width_rule, "width_rule", WIDTH_RULES)
    p = check_int(p, "p", min_value=1)
    if p >= n_centres:
        raise ValueError(f"p must be < n_centres ({n_centres}); got {p}")
    width_scale = check_positive(width_scale, "width_scale")
    km = KMeans(n_clusters=n_centres, n_init=n_init, random_state=seed)
    with single_threaded(), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # duplicate points: handled below
        km.fit(X)
    centres = np.asarray(km.cluster_centers_, dtype=np.float64)
    widths = width_scale * width_heuristic(centres, width_rule, p=p)
    return centres, widths


def rbf_network(
    X: Any,
    n_centres: int,
    n_out: int,
    *,
    seed: int = 0,
    n_init: int = 1,
    width_rule: str = "p_nearest",
    p: int = 2,
    width_scale: float = 1.0,
    train_centres: bool = False,
    train_widths: bool = False,
    output_activation: str | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> tnn.Sequential:
    """The classic RBF network: an :class:`RBFLayer` placed by k-means, then a linear layer.

    Stage one, here: the centres come from :func:`kmeans_centres` on the inputs ``X`` (they
    do not look at the targets) and the widths from a heuristic.  Stage two, by the caller:
    train the output layer by gradient descent (:func:`ebp.train.fit` or
    :func:`ebp.many.fit_many`).  With the default frozen centres and widths the network's
    output is linear in its trainable weights, so that the squared error is a convex quadratic
    in them.  With ``train_centres`` / ``train_widths`` every parameter is trained jointly,
    starting from the k-means placement.

    Parameters
    ----------
    X
        The training inputs k-means runs on, shape ``(P, n_in)``.
    n_centres
        Number of RBF units, ≥ 2.
    n_out
        Number of outputs, ≥ 1.
    seed
        Seeds both the k-means initialisation and the output weights.
    n_init, width_rule, p, width_scale
        Passed to :func:`kmeans_centres`.
    train_centres, train_widths
        Passed to :class:`RBFLayer`.
    output_activation
        ``None`` (linear outputs, the classic choice) or ``"lecun_tanh"``.
    dtype, device
        Of the parameters.

    Returns
    -------
    torch.nn.Sequential
        ``RBFLayer, Linear[, LeCunTanh]``.  The output weights are drawn from
        ``N(0, 1/n_centres)`` (:func:`ebp.nn.init_weights_`, ``"lecun_normal"``) and the biases
        are 0.
    """
    n_out = check_int(n_out, "n_out", min_value=1)
    dtype = check_float_dtype(dtype)
    if output_activation is not None:
        check_choice(output_activation, "output_activation", ("lecun_tanh",))
    centres, widths = kmeans_centres(
        X, n_centres, seed=seed, n_init=n_init, width_rule=width_rule, p=p, width_scale=width_scale
    )
    layer = RBFLayer(
        centres,
        widths,
        train_centres=train_centres,
        train_widths=train_widths,
        dtype=dtype,
        device=device,
    )
    out = empty_linear(layer.n_units, n_out, dtype, device)
    init_weights_(out, "lecun_normal", generator=torch.Generator().manual_seed(seed))
    layers: list[tnn.Module] = [layer, out]
    if output_activation == "lecun_tanh":
        layers.append(LeCunTanh())
    return tnn.Sequential(*layers)


# ---------------------------------------------------------------------------------------------
# The output layer on frozen features: a linear least-squares problem
# ---------------------------------------------------------------------------------------------


def _check_linear_top(model: Any) -> tnn.Sequential:
    if not isinstance(model, tnn.Sequential) or len(model) < 2:
        raise TypeError(
            "model must be a torch.nn.Sequential of at least two modules ending in a Linear "
            f"layer; got {type(model).__name__}"
        )
    if not isinstance(model[-1], tnn.Linear) or model[-1].bias is None:
        raise ValueError(
            f"model must end in a torch.nn.Linear layer with a bias; got {type(model[-1]).__name__}"
        )
    return model


def output_features(model: tnn.Sequential, X: Any) -> np.ndarray:
    """The inputs ``Φ̃ = [φ(x), 1]`` of ``model``'s final linear layer, float64 ``(P, n + 1)``.

    Parameters
    ----------
    model
        An ``nn.Sequential`` ending in an ``nn.Linear`` with a bias (such as
        :func:`rbf_network`'s).
    X
        Inputs ``(P, n_in)``.
    """
    model = _check_linear_top(model)
    dtype = model[-1].weight.dtype
    width = getattr(model[0], "in_features", None)
    x = as_tensor(X, "X", ndim=2, shape=(None, width), dtype=dtype, device=model[-1].weight.device)
    if x.shape[0] < 1:
        raise ValueError(f"X must have at least one row (pattern); got shape {tuple(x.shape)}")
    with torch.no_grad():
        phi = model[:-1](x).double().cpu().numpy()
    return np.column_stack([phi, np.ones(phi.shape[0])])


def output_hessian(model: tnn.Sequential, X: Any) -> np.ndarray:
    """The Hessian ``H = (1/P) Σ_p Φ̃_p Φ̃_pᵀ`` of the squared error in one output's weights.

    With every layer but the last frozen, the cost ``E = (1/2P) Σ_p ‖d_p − W Φ̃_p‖²`` of
    :func:`ebp.losses.mse_loss` is the LMS cost of eq 28 on the features ``Φ̃`` (bias
    included), so its Hessian with respect to each output unit's weights is eq 29's
    ``(1/P) Σ Φ̃ Φ̃ᵀ``, whatever the targets.
    """
    F = output_features(model, X)
    return F.T @ F / F.shape[0]


def output_rate(model: tnn.Sequential, X: Any) -> float:
    """The best single learning rate ``η = 1/λ_max`` (eq 39) for the output layer alone."""
    return float(1.0 / np.linalg.eigvalsh(output_hessian(model, X))[-1])


def solve_output_layer(model: tnn.Sequential, X: Any, y: Any) -> tnn.Sequential:
    """A copy of ``model`` whose final linear layer minimizes the squared error exactly.

    The other layers are kept as they are (for :func:`rbf_network`: the k-means centres and
    the widths), and the output weights and biases are the minimum-norm least-squares solution
    of ``Φ̃ W = y`` (NumPy's ``lstsq``, float64): the point gradient descent on the output layer
    converges to, reached in one step.  This is how Broomhead & Lowe (1988) trained the
    output layer (with a pseudo-inverse).

    Parameters
    ----------
    model
        An ``nn.Sequential`` ending in an ``nn.Linear`` with a bias.
    X, y
        Inputs ``(P, n_in)`` and targets ``(P, n_out)`` (or ``(P,)`` for one output).
    """
    F = output_features(model, X)
    target = as_float_array(y, "y")
    if target.ndim == 1:
        target = target[:, None]
    last = model[-1]
    if target.ndim != 2 or target.shape != (F.shape[0], last.out_features):
        raise ValueError(
            f"y must have shape ({F.shape[0]}, {last.out_features}) to match X and the output "
            f"layer; got {target.shape}"
        )
    W = np.linalg.lstsq(F, target, rcond=None)[0]
    solved = copy.deepcopy(model)
    with torch.no_grad():
        w = torch.as_tensor(W.T, dtype=last.weight.dtype, device=last.weight.device)
        solved[-1].weight.copy_(w[:, :-1])
        solved[-1].bias.copy_(w[:, -1])
    return solved
