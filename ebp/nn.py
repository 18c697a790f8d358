"""The PyTorch side: activations (§4.4), weight initialization (§4.6) and MLP builders.

Networks are plain ``torch.nn.Sequential`` stacks ``Linear, act, Linear, act, …, Linear[, act]``
so that every torch tool (``torch.func``, optimizers, hooks) applies to them unchanged.  Building
one never touches PyTorch's global random state: weights are drawn from a local
``torch.Generator`` seeded with ``seed``, on the CPU, so the same seed gives the same weights on
every run and on every device.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch import nn as tnn

from ebp import scratch
from ebp._validate import check_choice, check_int, check_positive, check_sizes

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "LeCunTanh",
    "from_scratch",
    "get_activation",
    "init_weights_",
    "lecun_tanh",
    "mlp",
    "to_scratch",
]


def lecun_tanh(x: Tensor) -> Tensor:
    """The paper's recommended sigmoid ``f(x) = 1.7159 tanh(2x/3)`` (§4.4), with ``f(±1) = ±1``."""
    return scratch.LECUN_TANH_A * torch.tanh(x * scratch.LECUN_TANH_S)


class LeCunTanh(tnn.Module):
    """Module form of :func:`lecun_tanh`: ``1.7159 tanh(2x/3)`` (paper §4.4)."""

    def forward(self, x: Tensor) -> Tensor:
        """Apply ``1.7159 tanh(2x/3)`` elementwise."""
        return lecun_tanh(x)

    def extra_repr(self) -> str:
        return "1.7159 * tanh(2x/3)"


ACTIVATIONS: dict[str, Callable[[], tnn.Module]] = {
    "logistic": tnn.Sigmoid,
    "tanh": tnn.Tanh,
    "lecun_tanh": LeCunTanh,
    "relu": tnn.ReLU,
    "identity": tnn.Identity,
}
"""Activation names (as in :data:`ebp.scratch.ACTIVATIONS`) and the module classes they build."""

_MODULE_NAMES: tuple[tuple[type[tnn.Module], str], ...] = (
    (tnn.Sigmoid, "logistic"),
    (tnn.Tanh, "tanh"),
    (LeCunTanh, "lecun_tanh"),
    (tnn.ReLU, "relu"),
    (tnn.Identity, "identity"),
)


def get_activation(name: str) -> tnn.Module:
    """A new activation module for ``name`` (one of :data:`ACTIVATIONS`)."""
    return ACTIVATIONS[check_choice(name, "activation", ACTIVATIONS)]()


def _activation_name(module: tnn.Module) -> str | None:
    for cls, name in _MODULE_NAMES:
        if type(module) is cls:
            return name
    return None


# ---------------------------------------------------------------------------------------------
# Initialization (paper §4.6, eqs 14–16)
# ---------------------------------------------------------------------------------------------

INITS: tuple[str, ...] = ("lecun_normal", "lecun_uniform", "normal", "zeros", "pytorch")


def _sample_(param: Tensor, kind: str, spread: float, generator: torch.Generator | None) -> None:
    # Draw on the generator's device (CPU by default) in the parameter's dtype, then copy, so
    # the same generator state gives the same numbers whatever device the model lives on.
    gen_device = generator.device if generator is not None else torch.device("cpu")
    buf = torch.empty(param.shape, dtype=param.dtype, device=gen_device)
    if kind == "normal":
        buf.normal_(0.0, spread, generator=generator)
    else:
        buf.uniform_(-spread, spread, generator=generator)
    with torch.no_grad():
        param.copy_(buf)


def init_weights_(
    module: tnn.Module,
    scheme: str = "lecun_normal",
    *,
    generator: torch.Generator | None = None,
    scale: float = 1.0,
) -> tnn.Module:
    """Initialize every ``nn.Linear`` in ``module`` in place and return ``module``.

    For a unit with ``m`` inputs of unit variance, the weighted sum has standard deviation
    ``σ_y = σ_w √m`` (eq 14); the paper asks for ``σ_y ≈ 1`` and therefore ``σ_w = m^{-1/2}``
    (eqs 15/16), drawn from any distribution.

    Parameters
    ----------
    module
        An ``nn.Linear`` or any module containing some.
    scheme
        ``"lecun_normal"``: ``N(0, σ²)`` with ``σ = scale · fan_in^{-1/2}`` (eqs 15/16);
        ``"lecun_uniform"``: ``U(±√3 σ)``, the same σ; ``"normal"``: ``N(0, scale²)``, ignoring
        the fan-in (the badly scaled beginner's choice); ``"zeros"``: all zero;
        ``"pytorch"``: PyTorch's default ``nn.Linear`` init – ``kaiming_uniform_(a=√5)``, i.e.
        ``U(±scale/√fan_in)`` for weights and biases (σ = ``1/√(3 fan_in)``, about 0.58 of the
        paper's) – but drawn from ``generator`` rather than the global RNG.  Biases are zero for
        every scheme except ``"pytorch"``.
    generator
        Source of randomness; ``None`` uses a fresh generator seeded with 0 (never the global
        RNG), so the call is reproducible either way.
    scale
        Multiplies σ (or the uniform bound); > 0.
    """
    if not isinstance(module, tnn.Module):
        raise TypeError(f"module must be a torch.nn.Module; got {type(module).__name__}")
    check_choice(scheme, "scheme", INITS)
    scale = check_positive(scale, "scale")
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    elif not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator; got {type(generator).__name__}")
    linears = [m for m in module.modules() if isinstance(m, tnn.Linear)]
    if not linears:
        raise ValueError("module must contain at least one torch.nn.Linear layer")
    for layer in linears:
        sigma = scale / math.sqrt(layer.in_features)
        if scheme == "lecun_normal":
            _sample_(layer.weight, "normal", sigma, generator)
        elif scheme == "lecun_uniform":
            _sample_(layer.weight, "uniform", math.sqrt(3.0) * sigma, generator)
        elif scheme == "normal":
            _sample_(layer.weight, "normal", scale, generator)
        elif scheme == "pytorch":
            _sample_(layer.weight, "uniform", sigma, generator)
        else:
            with torch.no_grad():
                layer.weight.zero_()
        if layer.bias is not None:
            if scheme == "pytorch":
                _sample_(layer.bias, "uniform", sigma, generator)
            else:
                with torch.no_grad():
                    layer.bias.zero_()
    return module


# ---------------------------------------------------------------------------------------------
# Builders and conversion to/from the NumPy networks
# ---------------------------------------------------------------------------------------------


def _check_dtype(dtype: Any) -> torch.dtype:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(
            f"dtype must be a floating torch dtype such as torch.float32; got {dtype!r}"
        )
    return dtype


def _empty_linear(n_in: int, n_out: int, dtype: torch.dtype, device: Any) -> tnn.Linear:
    # skip_init builds the layer on the meta device and then allocates it: PyTorch's
    # reset_parameters (which draws from the global RNG) never runs.
    device = torch.device("cpu") if device is None else torch.device(device)
    return torch.nn.utils.skip_init(tnn.Linear, n_in, n_out, dtype=dtype, device=device)


def mlp(
    sizes: Sequence[int],
    activation: str = "lecun_tanh",
    output_activation: str | None = None,
    init: str = "lecun_normal",
    *,
    scale: float = 1.0,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> tnn.Sequential:
    """A multilayer perceptron ``Linear, act, Linear, act, …, Linear[, output act]``.

    Parameters
    ----------
    sizes
        Widths ``(n_0, n_1, …, n_L)``, input first; at least two.
    activation
        Hidden activation, one of :data:`ACTIVATIONS` (default: the paper's ``1.7159 tanh(2x/3)``).
    output_activation
        Activation after the last layer; ``None`` or ``"identity"`` adds none.
    init
        Initialization scheme, see :func:`init_weights_`.
    scale
        Passed to :func:`init_weights_`.
    seed
        Seed of the local generator the weights are drawn from (global RNG untouched).
    dtype, device
        Of the parameters.  Weights do not depend on the device.
    """
    sizes = check_sizes(sizes)
    check_choice(activation, "activation", ACTIVATIONS)
    if output_activation is not None:
        check_choice(output_activation, "output_activation", ACTIVATIONS)
    check_choice(init, "init", INITS)
    seed = check_int(seed, "seed", min_value=0)
    dtype = _check_dtype(dtype)
    layers: list[tnn.Module] = []
    L = len(sizes) - 1
    for l, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(_empty_linear(n_in, n_out, dtype, device))
        if l < L - 1:
            layers.append(get_activation(activation))
    if output_activation not in (None, "identity"):
        layers.append(get_activation(output_activation))
    model = tnn.Sequential(*layers)
    init_weights_(model, init, generator=torch.Generator().manual_seed(seed), scale=scale)
    return model


def from_scratch(
    network: scratch.Network,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> tnn.Sequential:
    """The ``nn.Sequential`` computing the same function as a NumPy :class:`ebp.scratch.Network`.

    Its ``parameters()`` come in the order of ``network.get_flat()`` (W1, b1, W2, b2, …).
    A last activation ``"identity"`` adds no module, so the output of a ``"softmax_ce"``
    network is its logits, as ``torch.nn.functional.cross_entropy`` expects.
    """
    if not isinstance(network, scratch.Network):
        raise TypeError(f"network must be an ebp.scratch.Network; got {type(network).__name__}")
    dtype = _check_dtype(dtype)
    layers: list[tnn.Module] = []
    L = network.n_layers
    for l, (W, b, act) in enumerate(
        zip(network.weights, network.biases, network.activations, strict=True)
    ):
        layer = _empty_linear(W.shape[1], W.shape[0], dtype, device)
        with torch.no_grad():
            layer.weight.copy_(torch.as_tensor(W, dtype=dtype))
            layer.bias.copy_(torch.as_tensor(b, dtype=dtype))
        layers.append(layer)
        if l < L - 1 or act != "identity":
            layers.append(get_activation(act))
    return tnn.Sequential(*layers)


def to_scratch(module: tnn.Module) -> scratch.Network:
    """The NumPy :class:`ebp.scratch.Network` (float64) equal to an MLP ``nn.Sequential``.

    ``module`` must be an ``nn.Linear`` or an ``nn.Sequential`` of ``nn.Linear`` layers, each
    optionally followed by one activation module of :data:`ACTIVATIONS` (``Sigmoid``, ``Tanh``,
    ``LeCunTanh``, ``ReLU``, ``Identity``); a layer with no activation gets ``"identity"``.
    A ``Linear`` without bias gets a zero bias.
    """
    if isinstance(module, tnn.Linear):
        modules: list[tnn.Module] = [module]
    elif isinstance(module, tnn.Sequential):
        modules = list(module)
    else:
        raise TypeError(
            f"module must be a torch.nn.Sequential or torch.nn.Linear; got {type(module).__name__}"
        )
    weights: list[np.ndarray] = []
    biases: list[np.ndarray] = []
    activations: list[str] = []
    expecting_linear = True
    for i, m in enumerate(modules):
        if isinstance(m, tnn.Linear):
            W = m.weight.detach().cpu().to(torch.float64).numpy().copy()
            if m.bias is None:
                b = np.zeros(W.shape[0])
            else:
                b = m.bias.detach().cpu().to(torch.float64).numpy().copy()
            weights.append(W)
            biases.append(b)
            activations.append("identity")
            expecting_linear = False
            continue
        name = _activation_name(m)
        if name is None:
            raise ValueError(
                f"module[{i}] must be nn.Linear or one of the activations "
                f"{sorted(ACTIVATIONS)}; got {type(m).__name__}"
            )
        if expecting_linear:
            raise ValueError(
                f"module[{i}] ({type(m).__name__}) must follow an nn.Linear layer; an MLP "
                "alternates Linear and activation modules"
            )
        activations[-1] = name
        expecting_linear = True
    if not weights:
        raise ValueError("module must contain at least one torch.nn.Linear layer")
    return scratch.Network(weights, biases, activations)
