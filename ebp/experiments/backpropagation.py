"""Experiments of the chapter "Standard backpropagation" (paper §3, eqs 1–10).

Each function returns a dataclass of numbers; nothing here draws.  The NumPy side uses
:mod:`ebp.scratch` (backprop written out), the PyTorch side :mod:`ebp.nn` and autograd, so every
hand-computed gradient is checked against an independent implementation.

- :func:`chain_rule_square`, :func:`chain_rule_logistic`: the chain rule, one factor at a time.
- :func:`computational_graph`: the graph of ``z = w·x + b`` (followed by a squared error), with
  the value that flows forward and the gradient that flows backward along every edge.
- :func:`worked_example_221`: a 2-2-1 network, every ``z``, ``a``, ``δ`` and gradient.
- :func:`backprop_cost`: one backprop gradient vs central finite differences, counted and timed.
- :func:`eps_sweep`: finite-difference error against the step ``ε`` (float64 and float32).
- :func:`autograd_accumulation`: ``.grad`` accumulates; micro-batches add up to a large batch.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from ebp import nn as ebp_nn
from ebp import scratch
from ebp._validate import as_float_array, check_int, check_positive, check_sizes

__all__ = [
    "AutogradAccumulation",
    "BackpropCost",
    "ChainRuleLogistic",
    "ChainRuleSquare",
    "ComputationalGraph",
    "EpsSweep",
    "GraphEdge",
    "GraphNode",
    "WorkedExample",
    "autograd_accumulation",
    "backprop_cost",
    "central_differences",
    "chain_rule_logistic",
    "chain_rule_square",
    "computational_graph",
    "eps_sweep",
    "mac_counts",
    "worked_example_221",
]


def _real(value: Any, name: str) -> float:
    """``value`` as a finite float (bools and arrays rejected), naming ``name`` on error."""
    return float(as_float_array(value, name, ndim=0))


def _mse_torch(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The book's mean squared error ``E = (1/P) Σ_p ½‖d^p − o^p‖²`` (as ``ebp.scratch``)."""
    return 0.5 * ((output - target) ** 2).sum() / output.shape[0]


def _flat_grad(module: torch.nn.Module) -> torch.Tensor:
    """All ``.grad`` of ``module`` in one vector (order of ``parameters()``), detached."""
    return torch.cat([p.grad.detach().reshape(-1).clone() for p in module.parameters()])


# ---------------------------------------------------------------------------------------------
# 1. The chain rule, one factor at a time
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainRuleSquare:
    """``f(x) = (x + 2)²`` through the intermediate ``u = x + 2``.

    ``df_dx = df_du · du_dx`` is the chain rule; ``autograd_df_dx`` is what
    ``torch.autograd`` finds for the same function.
    """

    x: float
    u: float
    f: float
    df_du: float
    du_dx: float
    df_dx: float
    autograd_df_dx: float


def chain_rule_square(x: float = 1.0) -> ChainRuleSquare:
    """The chain rule on ``f(x) = (x + 2)²``: ``df/dx = (df/du)(du/dx) = 2u · 1``.

    Parameters
    ----------
    x
        The point at which to differentiate.
    """
    x = _real(x, "x")
    u = x + 2.0
    df_du = 2.0 * u
    du_dx = 1.0
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    ((xt + 2.0) ** 2).backward()
    return ChainRuleSquare(
        x=x,
        u=u,
        f=u * u,
        df_du=df_du,
        du_dx=du_dx,
        df_dx=df_du * du_dx,
        autograd_df_dx=float(xt.grad),
    )


@dataclass(frozen=True)
class ChainRuleLogistic:
    """One logistic unit ``y = σ(z)``, ``z = w·x + b``, differentiated by hand and by autograd.

    Attributes
    ----------
    w, x, b
        The inputs.
    z, y
        Forward values.
    dy_dz
        Local derivative of the logistic, ``σ(z)(1 − σ(z))``.
    dz_dw, dz_db, dz_dx
        Local derivatives of the weighted sum: ``x``, ``1`` and ``w``.
    dy_dw, dy_db, dy_dx
        Chain rule products, e.g. ``dy_dw = dy_dz · dz_dw``.
    autograd
        ``{"w": …, "b": …, "x": …}``: ``∂y/∂·`` from ``torch.autograd``.
    max_abs_difference
        Largest ``|chain rule − autograd|`` of the three.
    """

    w: float
    x: float
    b: float
    z: float
    y: float
    dy_dz: float
    dz_dw: float
    dz_db: float
    dz_dx: float
    dy_dw: float
    dy_db: float
    dy_dx: float
    autograd: dict[str, float]
    max_abs_difference: float


def chain_rule_logistic(w: float = 2.0, x: float = -1.0, b: float = 0.5) -> ChainRuleLogistic:
    """The chain rule through one logistic unit ``y = σ(w·x + b)``.

    Parameters
    ----------
    w, x, b
        Weight, input and bias.
    """
    w, x, b = _real(w, "w"), _real(x, "x"), _real(b, "b")
    z = w * x + b
    y = 1.0 / (1.0 + math.exp(-z))
    dy_dz = y * (1.0 - y)
    leaves = {
        k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
        for k, v in (("w", w), ("x", x), ("b", b))
    }
    torch.sigmoid(leaves["w"] * leaves["x"] + leaves["b"]).backward()
    autograd = {k: float(t.grad) for k, t in leaves.items()}
    dy = {"w": dy_dz * x, "b": dy_dz * 1.0, "x": dy_dz * w}
    return ChainRuleLogistic(
        w=w,
        x=x,
        b=b,
        z=z,
        y=y,
        dy_dz=dy_dz,
        dz_dw=x,
        dz_db=1.0,
        dz_dx=w,
        dy_dw=dy["w"],
        dy_db=dy["b"],
        dy_dx=dy["x"],
        autograd=autograd,
        max_abs_difference=max(abs(dy[k] - autograd[k]) for k in dy),
    )


# ---------------------------------------------------------------------------------------------
# 2. The computational graph of z = w·x + b
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GraphNode:
    """A node of a computational graph.

    Attributes
    ----------
    name
        Identifier (``"w"``, ``"mul"``, …).
    label
        What to write in the node (a symbol or an operation such as ``"×"``).
    kind
        ``"input"`` (a leaf), ``"op"`` (an operation) or ``"loss"``.
    value
        The node's forward value.
    grad
        ``∂E/∂(node value)``, found by the backward pass.
    expression
        The node's formula, e.g. ``"p = w·x"``.
    """

    name: str
    label: str
    kind: str
    value: float
    grad: float
    expression: str


@dataclass(frozen=True)
class GraphEdge:
    """An edge ``src → dst``: ``value`` flows forward along it, ``grad`` (= ∂E/∂value) back."""

    src: str
    dst: str
    value: float
    grad: float


@dataclass
class ComputationalGraph:
    """The graph of ``z = w·x + b`` followed by ``E = ½(z − d)²``, with concrete numbers.

    Attributes
    ----------
    nodes, edges
        The graph, with forward values and backward gradients.
    w, x, b, d
        Inputs and target.
    z, E
        Output of the unit and the loss.
    dE_dw, dE_dx, dE_db
        The gradients the backward pass delivers to the leaves.
    autograd
        The same three gradients from ``torch.autograd`` (keys ``"w"``, ``"x"``, ``"b"``).
    max_abs_difference
        Largest difference between the graph's gradients and autograd's.
    """

    nodes: list[GraphNode]
    edges: list[GraphEdge]
    w: float
    x: float
    b: float
    d: float
    z: float
    E: float
    dE_dw: float
    dE_dx: float
    dE_db: float
    autograd: dict[str, float]
    max_abs_difference: float

    def node(self, name: str) -> GraphNode:
        """The node called ``name``."""
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(f"name must be one of {[n.name for n in self.nodes]}; got {name!r}")


def computational_graph(
    w: float = 2.0, x: float = -1.5, b: float = 0.5, d: float = 1.0
) -> ComputationalGraph:
    """Forward and backward values on the graph ``p = w·x``, ``z = p + b``, ``E = ½(z − d)²``.

    Backward, each node multiplies the gradient arriving from above by its local derivative
    (§3, for a single unit): ``∂E/∂z = z − d``; the sum passes it unchanged to ``p`` and
    ``b``; the product sends ``∂E/∂p · x`` to ``w`` and ``∂E/∂p · w`` to ``x``.

    Parameters
    ----------
    w, x, b
        Weight, input and bias of the unit.
    d
        Target of the squared error.
    """
    w, x, b, d = _real(w, "w"), _real(x, "x"), _real(b, "b"), _real(d, "d")
    p = w * x
    z = p + b
    E = 0.5 * (z - d) ** 2
    dE_dz = z - d
    dE_dp = dE_dz * 1.0
    dE_db = dE_dz * 1.0
    dE_dw = dE_dp * x
    dE_dx = dE_dp * w
    nodes = [
        GraphNode("w", "w", "input", w, dE_dw, "w"),
        GraphNode("x", "x", "input", x, dE_dx, "x"),
        GraphNode("b", "b", "input", b, dE_db, "b"),
        GraphNode("mul", "×", "op", p, dE_dp, "p = w·x"),
        GraphNode("add", "+", "op", z, dE_dz, "z = p + b"),
        GraphNode("loss", "E", "loss", E, 1.0, "E = ½(z − d)²"),
    ]
    edges = [
        GraphEdge("w", "mul", w, dE_dw),
        GraphEdge("x", "mul", x, dE_dx),
        GraphEdge("mul", "add", p, dE_dp),
        GraphEdge("b", "add", b, dE_db),
        GraphEdge("add", "loss", z, dE_dz),
    ]
    leaves = {
        k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
        for k, v in (("w", w), ("x", x), ("b", b))
    }
    (0.5 * (leaves["w"] * leaves["x"] + leaves["b"] - d) ** 2).backward()
    autograd = {k: float(t.grad) for k, t in leaves.items()}
    ours = {"w": dE_dw, "x": dE_dx, "b": dE_db}
    return ComputationalGraph(
        nodes=nodes,
        edges=edges,
        w=w,
        x=x,
        b=b,
        d=d,
        z=z,
        E=E,
        dE_dw=dE_dw,
        dE_dx=dE_dx,
        dE_db=dE_db,
        autograd=autograd,
        max_abs_difference=max(abs(ours[k] - autograd[k]) for k in ours),
    )


# ---------------------------------------------------------------------------------------------
# 3. The 2-2-1 worked example
# ---------------------------------------------------------------------------------------------

W1_221 = ((0.6, -0.4), (0.2, 0.7))
B1_221 = (0.1, -0.3)
W2_221 = ((0.9, -0.5),)
B2_221 = (0.2,)
X_221 = ((1.0, 0.5), (-0.5, 1.0))
T_221 = ((1.0,), (-1.0,))


@dataclass
class WorkedExample:
    """Every number of backprop on a small network, and autograd's gradients beside them.

    Attributes
    ----------
    network
        The :class:`ebp.scratch.Network` (weights fixed, see :func:`worked_example_221`).
    X, T
        Input patterns ``(P, 2)`` and targets ``(P, 1)``.
    loss
        The batch-mean loss ``E`` (``"mse"``, §2).
    forward_rows
        One dict per (pattern, unit): ``pattern`` (1-based), ``unit`` (``"x1"``, ``"h1"``,
        ``"o"``), ``layer`` (0 input, 1 hidden, 2 output), ``z`` (NaN for inputs), ``a``,
        ``delta`` (``∂E/∂z``, with the ``1/P`` of the mean; NaN for inputs) and
        ``delta_autograd`` (the same from autograd's ``z.grad``).
    gradient_rows
        One dict per parameter: ``parameter`` (plain name such as ``"W1[0,1]"``), ``symbol``
        (LaTeX, e.g. ``w^{(1)}_{12}``), ``backprop`` (ebp.scratch), ``autograd`` (torch) and
        ``difference``.
    backprop_flat, autograd_flat
        Both gradients as vectors in ``network.get_flat()`` order.
    max_abs_difference
        Largest difference over all gradients and all δ between ebp.scratch and autograd.
    """

    network: scratch.Network
    X: np.ndarray
    T: np.ndarray
    loss: float
    forward_rows: list[dict[str, Any]]
    gradient_rows: list[dict[str, Any]]
    backprop_flat: np.ndarray
    autograd_flat: np.ndarray
    max_abs_difference: float


def _autograd_deltas(
    net: scratch.Network, X: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Autograd on the same network: the flat gradient of the MSE, and each layer's
    ``δ = ∂E/∂z`` (``retain_grad`` on each weighted sum)."""
    model = ebp_nn.from_scratch(net, dtype=torch.float64)
    h = torch.as_tensor(X, dtype=torch.float64)
    zs: list[torch.Tensor] = []
    for module in model:
        h = module(h)
        if isinstance(module, torch.nn.Linear):
            h.retain_grad()
            zs.append(h)
    _mse_torch(h, torch.as_tensor(T, dtype=torch.float64)).backward()
    return _flat_grad(model).numpy(), [z.grad.numpy() for z in zs]


def _forward_rows(
    fw: scratch.Forward,
    grads: scratch.Gradients,
    deltas_autograd: list[np.ndarray],
    n_patterns: int,
) -> list[dict[str, Any]]:
    """One row per pattern and unit of the 2-2-1 network: ``z``, ``a`` and both ``δ``."""
    rows: list[dict[str, Any]] = []
    names = [["x1", "x2"], ["h1", "h2"], ["o"]]
    for p in range(n_patterns):
        for layer, units in enumerate(names):
            for j, unit in enumerate(units):
                inner = layer >= 1
                rows.append(
                    {
                        "pattern": p + 1,
                        "unit": unit,
                        "layer": layer,
                        "z": float(fw.z[layer - 1][p, j]) if inner else math.nan,
                        "a": float(fw.a[layer][p, j]),
                        "delta": float(grads.delta[layer - 1][p, j]) if inner else math.nan,
                        "delta_autograd": (
                            float(deltas_autograd[layer - 1][p, j]) if inner else math.nan
                        ),
                    }
                )
    return rows


def _gradient_rows(
    net: scratch.Network, backprop_flat: np.ndarray, autograd_flat: np.ndarray
) -> list[dict[str, Any]]:
    """One row per parameter: its names and its gradient by backprop and by autograd."""
    rows: list[dict[str, Any]] = []
    k = 0
    for l, (W, b) in enumerate(zip(net.weights, net.biases, strict=True), start=1):
        entries = [
            (f"W{l}[{j},{i}]", f"w^{{({l})}}_{{{j + 1}{i + 1}}}")
            for j in range(W.shape[0])
            for i in range(W.shape[1])
        ]
        entries += [(f"b{l}[{j}]", f"b^{{({l})}}_{{{j + 1}}}") for j in range(b.shape[0])]
        for plain, symbol in entries:
            rows.append(
                {
                    "parameter": plain,
                    "symbol": symbol,
                    "backprop": float(backprop_flat[k]),
                    "autograd": float(autograd_flat[k]),
                    "difference": float(backprop_flat[k] - autograd_flat[k]),
                }
            )
            k += 1
    return rows


def worked_example_221(
    X: Any = X_221,
    T: Any = T_221,
    activation: str = "lecun_tanh",
) -> WorkedExample:
    """Backprop by hand (ebp.scratch) and by autograd on a fixed 2-2-1 network.

    The network has hidden weights ``W1 = [[0.6, −0.4], [0.2, 0.7]]``, biases
    ``b1 = [0.1, −0.3]``, output weights ``W2 = [[0.9, −0.5]]`` and bias ``b2 = [0.2]``; the
    hidden units use ``activation``, the output unit is linear, and the loss is the
    mean squared error ``E = (1/P) Σ_p ½(d^p − o^p)²`` (§2).

    Parameters
    ----------
    X
        Input patterns, shape ``(P, 2)``; default two patterns ``(1, 0.5)`` and ``(−0.5, 1)``.
    T
        Targets, shape ``(P, 1)``; default ``1`` and ``−1``.
    activation
        Hidden activation (a name of :data:`ebp.scratch.ACTIVATIONS`).
    """
    net = scratch.Network(
        [np.array(W1_221), np.array(W2_221)],
        [np.array(B1_221), np.array(B2_221)],
        [activation, "identity"],
    )
    X = as_float_array(X, "X", ndim=2, shape=(None, 2))
    if X.shape[0] == 0:
        raise ValueError("X must contain at least one pattern")
    T = scratch.prepare_targets("mse", T, X.shape[0], 1)
    fw = net.forward(X)
    grads = net.backward(fw, T, "mse")

    autograd_flat, deltas_autograd = _autograd_deltas(net, X, T)
    backprop_flat = grads.flat()
    forward_rows = _forward_rows(fw, grads, deltas_autograd, X.shape[0])
    gradient_rows = _gradient_rows(net, backprop_flat, autograd_flat)
    delta_diff = max(
        float(np.max(np.abs(d - da))) for d, da in zip(grads.delta, deltas_autograd, strict=True)
    )
    grad_diff = float(np.max(np.abs(backprop_flat - autograd_flat)))
    return WorkedExample(
        network=net,
        X=X,
        T=T,
        loss=scratch.loss_value("mse", fw.z[-1], fw.a[-1], T),
        forward_rows=forward_rows,
        gradient_rows=gradient_rows,
        backprop_flat=backprop_flat,
        autograd_flat=autograd_flat,
        max_abs_difference=max(delta_diff, grad_diff),
    )


# ---------------------------------------------------------------------------------------------
# 4. Why backprop is cheap: counts and timings
# ---------------------------------------------------------------------------------------------


def mac_counts(sizes: Sequence[int], n_patterns: int) -> dict[str, int]:
    """Multiply-adds of one forward pass, one backward pass and one central-difference gradient.

    For a layer with ``n_in`` inputs and ``n_out`` units on ``P`` patterns, the forward pass
    ``z = X Wᵀ + b`` costs ``P·n_in·n_out`` multiply-adds; the backward pass costs as much again
    for ``∂E/∂W = δᵀ X`` and, in every layer but the first, once more for
    ``∂E/∂X = δ W`` (§3).  So one gradient by backprop costs about three forward passes,
    while central differences need ``2N`` forward passes for ``N`` parameters.  Activations
    and biases (``O(P·units)``) are not counted.

    Parameters
    ----------
    sizes
        Layer widths ``(n_0, …, n_L)``.
    n_patterns
        Patterns ``P`` in the batch.

    Returns
    -------
    dict
        ``n_params``, ``forward``, ``backward``, ``backprop`` (= forward + backward) and
        ``finite_differences`` (= 2 · n_params · forward).
    """
    sizes = check_sizes(sizes)
    P = check_positive(n_patterns, "n_patterns", integer=True)
    pairs = list(itertools.pairwise(sizes))
    forward = sum(P * a * b for a, b in pairs)
    backward = forward + sum(P * a * b for a, b in pairs[1:])
    n_params = sum(a * b + b for a, b in pairs)
    return {
        "n_params": n_params,
        "forward": forward,
        "backward": backward,
        "backprop": forward + backward,
        "finite_differences": 2 * n_params * forward,
    }


@dataclass
class BackpropCost:
    """Cost of one gradient by backprop and by central differences, for growing networks.

    Deterministic fields (identical on every machine) are counts; every field derived from a
    clock starts with ``timing_`` and changes from run to run.

    Attributes
    ----------
    widths
        Hidden width ``h`` of each network ``(n_inputs, h, h, 1)``.
    n_params
        Number of weights and biases ``N``.
    forward_macs, backprop_macs, fd_macs
        Multiply-adds of a forward pass, of backprop (forward + backward) and of central
        differences (``2N`` forward passes), see :func:`mac_counts`.
    backprop_forward_equivalents
        ``backprop_macs / forward_macs``: about 3 whatever the size.
    fd_forward_equivalents
        ``2N``: forward passes of central differences.
    cost_ratio
        ``fd_macs / backprop_macs``: grows like ``N``.
    timing_forward_s, timing_backprop_s, timing_fd_s
        Seconds (best of the repeats) for a forward pass, a backprop gradient and a
        central-difference gradient.
    timing_fd_extrapolated
        True where the central-difference time was measured on ``max_fd_params`` randomly
        chosen parameters and scaled by ``N / max_fd_params`` (every parameter costs the
        same two forward passes).
    timing_ratio
        ``timing_fd_s / timing_backprop_s``.
    timing_slope_backprop, timing_slope_fd
        Least-squares slopes of log time against log N over the networks with ``N ≥ 1000``.
    timing_total_s
        Wall-clock time of the whole measurement.
    """

    widths: np.ndarray
    n_params: np.ndarray
    forward_macs: np.ndarray
    backprop_macs: np.ndarray
    fd_macs: np.ndarray
    backprop_forward_equivalents: np.ndarray
    fd_forward_equivalents: np.ndarray
    cost_ratio: np.ndarray
    n_inputs: int
    n_patterns: int
    max_fd_params: int
    timing_forward_s: np.ndarray
    timing_backprop_s: np.ndarray
    timing_fd_s: np.ndarray
    timing_fd_extrapolated: np.ndarray
    timing_ratio: np.ndarray
    timing_slope_backprop: float
    timing_slope_fd: float
    timing_total_s: float = field(default=math.nan)


def _best_time(fn: Callable[[], Any], repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def central_differences(
    net: scratch.Network,
    X: np.ndarray,
    T: np.ndarray,
    index: np.ndarray | None = None,
    eps: float = 1e-6,
) -> np.ndarray:
    """Central differences of the MSE for the parameters ``index`` (all by default), lean.

    The same differences as :func:`ebp.scratch.numerical_gradient`, but each parameter is
    nudged in place and the loss is recomputed with one bare forward pass, so that the time
    measured is that of the ``2N`` forward passes and not of copying and validating.  ``X``
    and ``T`` must already be float arrays of the right shapes; ``net`` is restored.

    Returns
    -------
    numpy.ndarray
        ``∂E/∂θ_i`` for ``i`` in ``index``, in ``net.get_flat()`` order.
    """
    arrays = [p for pair in zip(net.weights, net.biases, strict=True) for p in pair]
    offsets = np.cumsum([0] + [p.size for p in arrays])
    if index is None:
        index = np.arange(offsets[-1])

    def loss() -> float:
        fw = net.forward(X)
        return scratch.loss_value("mse", fw.z[-1], fw.a[-1], T)

    out = np.empty(len(index))
    for k, i in enumerate(index):
        which = int(np.searchsorted(offsets, i, side="right")) - 1
        flat = arrays[which].reshape(-1)  # a view: nudging it nudges the parameter
        j = i - offsets[which]
        old = flat[j]
        flat[j] = old + eps
        e_plus = loss()
        flat[j] = old - eps
        e_minus = loss()
        flat[j] = old
        out[k] = (e_plus - e_minus) / (2.0 * eps)
    return out


def _loglog_slope(n: np.ndarray, t: np.ndarray, n_min: float) -> float:
    keep = n >= n_min
    if keep.sum() < 2:
        return math.nan
    return float(np.polyfit(np.log(n[keep]), np.log(t[keep]), 1)[0])


def backprop_cost(
    widths: Sequence[int] = (1, 2, 4, 8, 16, 32, 64, 128),
    n_inputs: int = 4,
    n_patterns: int = 128,
    repeats: int = 20,
    fd_repeats: int = 3,
    max_fd_params: int = 200,
    seed: int = 0,
) -> BackpropCost:
    """Count and time one gradient by backprop and by central differences (NumPy).

    For each hidden width ``h`` a network ``(n_inputs, h, h, 1)`` (LeCun tanh hidden units,
    linear output, mean squared error) is evaluated on one fixed batch.  Timings use
    ``time.perf_counter`` and keep the best of the repeats, with BLAS limited to one thread so
    that the numbers are less at the mercy of other processes.

    Parameters
    ----------
    widths
        Hidden widths; the default spans ``N`` from 9 to 17281 parameters.
    n_inputs, n_patterns
        Input dimension and batch size ``P``.
    repeats
        Repeats of the (fast) forward and backprop timings.
    fd_repeats
        Repeats of the central-difference timing.
    max_fd_params
        Above this many parameters, central differences are timed on this many randomly
        chosen parameters and scaled up (flagged in ``timing_fd_extrapolated``), which keeps
        the whole measurement to a few seconds.
    seed
        Seed of the weights, the batch and the parameter subset.
    """
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence) or not widths:
        raise TypeError("widths must be a non-empty sequence of positive ints")
    widths = [check_positive(h, f"widths[{i}]", integer=True) for i, h in enumerate(widths)]
    n_inputs = check_positive(n_inputs, "n_inputs", integer=True)
    P = check_positive(n_patterns, "n_patterns", integer=True)
    repeats = check_positive(repeats, "repeats", integer=True)
    fd_repeats = check_positive(fd_repeats, "fd_repeats", integer=True)
    max_fd_params = check_positive(max_fd_params, "max_fd_params", integer=True)
    seed = check_int(seed, "seed", min_value=0)

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(P, n_inputs))
    T = rng.normal(size=(P, 1))
    rows: list[dict[str, Any]] = []
    start = time.perf_counter()
    with threadpool_limits(limits=1):
        for h in widths:
            sizes = (n_inputs, h, h, 1)
            net = scratch.Network.create(sizes, seed=seed)
            counts = mac_counts(sizes, P)
            N = counts["n_params"]
            t_fwd = _best_time(lambda net=net: net.forward(X), repeats)
            t_bp = _best_time(lambda net=net: net.gradients(X, T, "mse"), repeats)
            extrapolated = N > max_fd_params
            index = (
                np.sort(rng.choice(N, size=max_fd_params, replace=False)) if extrapolated else None
            )
            t_fd = _best_time(
                lambda net=net, index=index: central_differences(net, X, T, index), fd_repeats
            )
            if extrapolated:
                t_fd *= N / max_fd_params
            rows.append({**counts, "t_fwd": t_fwd, "t_bp": t_bp, "t_fd": t_fd, "ext": extrapolated})
    total = time.perf_counter() - start

    def col(key: str, dtype: Any = float) -> np.ndarray:
        return np.array([r[key] for r in rows], dtype=dtype)

    n = col("n_params", np.int64)
    fwd, bp, fd = col("forward", np.int64), col("backprop", np.int64), col("finite_differences")
    t_bp, t_fd = col("t_bp"), col("t_fd")
    return BackpropCost(
        widths=np.array(widths),
        n_params=n,
        forward_macs=fwd,
        backprop_macs=bp,
        fd_macs=fd.astype(np.int64),
        backprop_forward_equivalents=bp / fwd,
        fd_forward_equivalents=2 * n,
        cost_ratio=fd / bp,
        n_inputs=n_inputs,
        n_patterns=P,
        max_fd_params=max_fd_params,
        timing_forward_s=col("t_fwd"),
        timing_backprop_s=t_bp,
        timing_fd_s=t_fd,
        timing_fd_extrapolated=col("ext", bool),
        timing_ratio=t_fd / t_bp,
        timing_slope_backprop=_loglog_slope(n.astype(float), t_bp, 1000.0),
        timing_slope_fd=_loglog_slope(n.astype(float), t_fd, 1000.0),
        timing_total_s=total,
    )


# ---------------------------------------------------------------------------------------------
# 5. Gradient checking: the step size of finite differences
# ---------------------------------------------------------------------------------------------


@dataclass
class EpsSweep:
    """Finite-difference error against the step ``ε``, in float64 and float32.

    Attributes
    ----------
    eps
        The steps tried (increasing).
    rel_error_float64
        ``max_rel_error`` of :func:`ebp.scratch.gradient_check` (float64 throughout).
    rel_error_float32
        The same relative error when the loss is evaluated in float32 (PyTorch), compared with
        the float64 backprop gradient.
    best_eps_float64, best_eps_float32
        The ``ε`` with the smallest error.
    min_error_float64, min_error_float32
        That smallest error.
    unit_roundoff_float64, unit_roundoff_float32
        Machine epsilon ``u`` of each type; the error is smallest near ``ε ≈ u^{1/3}``.
    sizes, n_patterns
        The network checked and its batch size.
    """

    eps: np.ndarray
    rel_error_float64: np.ndarray
    rel_error_float32: np.ndarray
    best_eps_float64: float
    best_eps_float32: float
    min_error_float64: float
    min_error_float32: float
    unit_roundoff_float64: float
    unit_roundoff_float32: float
    sizes: tuple[int, ...]
    n_patterns: int


def _central_differences_torch(
    model: torch.nn.Module, X: torch.Tensor, T: torch.Tensor, eps: float
) -> np.ndarray:
    theta = torch.nn.utils.parameters_to_vector(model.parameters()).detach()
    grad = np.empty(theta.numel())
    with torch.no_grad():
        for i in range(theta.numel()):
            old = theta[i].clone()
            losses = []
            for sign in (1.0, -1.0):
                theta[i] = old + sign * eps
                torch.nn.utils.vector_to_parameters(theta, model.parameters())
                losses.append(float(_mse_torch(model(X), T)))
            theta[i] = old
            grad[i] = (losses[0] - losses[1]) / (2.0 * eps)
        torch.nn.utils.vector_to_parameters(theta, model.parameters())
    return grad


def eps_sweep(
    eps: Any = None,
    sizes: Sequence[int] = (3, 4, 2),
    n_patterns: int = 8,
    seed: int = 0,
) -> EpsSweep:
    """Error of central differences against backprop for a range of steps ``ε``.

    The truncation error of ``(E(θ + ε) − E(θ − ε)) / 2ε`` shrinks like ``ε²`` while the
    round-off error grows like ``u/ε``, so the total is V-shaped in log–log axes with its
    bottom near ``ε ≈ u^{1/3}`` (about 6e-6 in float64 and 5e-3 in float32).

    Parameters
    ----------
    eps
        Steps to try (positive); default ``10^-12 … 10^-1``, three per decade.
    sizes
        Layer widths of the random network (LeCun tanh hidden, linear output, MSE).
    n_patterns
        Batch size.
    seed
        Seed of the weights and the batch.
    """
    if eps is None:
        eps = np.logspace(-12, -1, 34)
    eps = np.sort(as_float_array(eps, "eps", ndim=1))
    if eps.size == 0 or np.any(eps <= 0):
        raise ValueError("eps must be a non-empty array of positive steps")
    sizes = check_sizes(sizes)
    P = check_positive(n_patterns, "n_patterns", integer=True)
    seed = check_int(seed, "seed", min_value=0)
    net = scratch.Network.create(sizes, seed=seed)
    rng = np.random.default_rng(seed + 1)
    X = rng.normal(size=(P, sizes[0]))
    T = rng.normal(size=(P, sizes[-1]))

    err64 = np.array([scratch.gradient_check(net, X, T, "mse", eps=e).max_rel_error for e in eps])

    exact = net.gradients(X, T, "mse")
    model = ebp_nn.from_scratch(net, dtype=torch.float32)
    X32 = torch.as_tensor(X, dtype=torch.float32)
    T32 = torch.as_tensor(T, dtype=torch.float32)
    err32 = []
    for e in eps:
        fd = _central_differences_torch(model, X32, T32, float(e))
        err32.append(_max_layer_rel_error(net, exact, fd))
    err32 = np.array(err32)
    i64, i32 = int(np.argmin(err64)), int(np.argmin(err32))
    return EpsSweep(
        eps=eps,
        rel_error_float64=err64,
        rel_error_float32=err32,
        best_eps_float64=float(eps[i64]),
        best_eps_float32=float(eps[i32]),
        min_error_float64=float(err64[i64]),
        min_error_float32=float(err32[i32]),
        unit_roundoff_float64=float(np.finfo(np.float64).eps),
        unit_roundoff_float32=float(np.finfo(np.float32).eps),
        sizes=tuple(sizes),
        n_patterns=P,
    )


def _max_layer_rel_error(net: scratch.Network, exact: scratch.Gradients, fd: np.ndarray) -> float:
    # The per-layer relative error of ebp.scratch.gradient_check, for a flat FD gradient.
    errors, i = [], 0
    for l in range(net.n_layers):
        g = np.concatenate([exact.dW[l].ravel(), exact.db[l]])
        errors.append(scratch.relative_error(g, fd[i : i + g.size]))
        i += g.size
    return max(errors)


# ---------------------------------------------------------------------------------------------
# 6. Autograd mechanics: accumulation in .grad
# ---------------------------------------------------------------------------------------------


@dataclass
class AutogradAccumulation:
    """What ``.grad`` accumulation does, measured.

    Attributes
    ----------
    dtype
        ``"float32"`` or ``"float64"``.
    grad_norm
        Norm of the full-batch gradient.
    double_ratio_min, double_ratio_max
        Smallest and largest ``.grad`` ratio (after two ``backward()`` calls without
        ``zero_grad()`` / after one), over the non-zero entries: exactly 2.
    double_max_abs_error
        ``max |g_twice − 2 g_once|`` (exactly 0: ``g + g`` is exact in floating point).
    micro_batch_sizes
        Sizes of the micro-batches that partition the batch.
    micro_max_abs_diff
        ``max |g_accumulated − g_full|`` when each micro-batch loss is scaled by its share
        ``P_i / P`` of the batch (rounding only).
    naive_max_abs_diff
        The same when each micro-batch mean is divided by the number of micro-batches
        instead (wrong when the micro-batches differ in size).
    """

    dtype: str
    grad_norm: float
    double_ratio_min: float
    double_ratio_max: float
    double_max_abs_error: float
    micro_batch_sizes: tuple[int, ...]
    micro_max_abs_diff: float
    naive_max_abs_diff: float


def autograd_accumulation(
    sizes: Sequence[int] = (4, 8, 1),
    micro_batch_sizes: Sequence[int] = (32, 16, 12),
    dtype: torch.dtype = torch.float32,
    seed: int = 0,
) -> AutogradAccumulation:
    """Gradients accumulate in ``.grad``: forgetting ``zero_grad()`` doubles them, and
    micro-batch losses weighted by their share add up to the full-batch gradient.

    Parameters
    ----------
    sizes
        Layer widths of the MLP (:func:`ebp.nn.mlp`, LeCun tanh, linear output, MSE).
    micro_batch_sizes
        Sizes of consecutive micro-batches; the batch has ``sum(micro_batch_sizes)`` patterns.
    dtype
        ``torch.float32`` or ``torch.float64``.
    seed
        Seed of the weights and the data.
    """
    sizes = check_sizes(sizes)
    if isinstance(micro_batch_sizes, (str, bytes)) or not isinstance(micro_batch_sizes, Sequence):
        raise TypeError("micro_batch_sizes must be a sequence of positive ints")
    if not micro_batch_sizes:
        raise ValueError("micro_batch_sizes must contain at least one size")
    parts = tuple(
        check_positive(s, f"micro_batch_sizes[{i}]", integer=True)
        for i, s in enumerate(micro_batch_sizes)
    )
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"dtype must be torch.float32 or torch.float64; got {dtype!r}")
    seed = check_int(seed, "seed", min_value=0)
    P = sum(parts)
    rng = np.random.default_rng(seed)
    X = torch.as_tensor(rng.normal(size=(P, sizes[0])), dtype=dtype)
    T = torch.as_tensor(rng.normal(size=(P, sizes[-1])), dtype=dtype)
    model = ebp_nn.mlp(sizes, seed=seed, dtype=dtype)

    def grad_of(weighted_batches: list[tuple[slice, float]]) -> torch.Tensor:
        model.zero_grad()
        for idx, weight in weighted_batches:
            (weight * _mse_torch(model(X[idx]), T[idx])).backward()
        return _flat_grad(model)

    everything = [(slice(0, P), 1.0)]
    g_once = grad_of(everything)
    g_twice = grad_of(everything * 2)  # two backward() calls, no zero_grad() between them
    nonzero = g_once != 0
    ratio = g_twice[nonzero] / g_once[nonzero]

    bounds = np.cumsum((0, *parts))
    slices = [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]
    g_shares = grad_of([(s, n / P) for s, n in zip(slices, parts, strict=True)])
    g_naive = grad_of([(s, 1.0 / len(parts)) for s in slices])
    return AutogradAccumulation(
        dtype=str(dtype).removeprefix("torch."),
        grad_norm=float(g_once.norm()),
        double_ratio_min=float(ratio.min()),
        double_ratio_max=float(ratio.max()),
        double_max_abs_error=float((g_twice - 2 * g_once).abs().max()),
        micro_batch_sizes=parts,
        micro_max_abs_diff=float((g_shares - g_once).abs().max()),
        naive_max_abs_diff=float((g_naive - g_once).abs().max()),
    )
