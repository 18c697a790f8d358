"""The PyTorch side: activations (§4.4), weight initialization (§4.6) and MLP builders.

- Activations: :data:`ACTIVATIONS` (logistic, tanh, the paper's ``1.7159 tanh(2x/3)``, ReLU,
  identity) and the "twisted" ``f(x) + a·x`` (:func:`twisted`, :class:`Twisted`, or the name
  ``"<base>+<a>x"`` such as ``"lecun_tanh+0.1x"``).
- Initializations: :data:`INITS` and :func:`init_weights_` (LeCun's eqs 15/16, Xavier, He,
  PyTorch's default, zeros, constant, a fixed-σ normal).
- :func:`mlp` builds a network; :func:`layer_stats` measures its weighted sums and activations.

Networks are plain ``torch.nn.Sequential`` stacks ``Linear, act, Linear, act, …, Linear[, act]``
so that every torch tool (``torch.func``, optimizers, hooks) applies to them unchanged.  Building
one never touches PyTorch's global random state: weights are drawn from a local
``torch.Generator`` seeded with ``seed``, on the CPU, so the same seed gives the same weights on
every run and on every device.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch import nn as tnn

from ebp import scratch
from ebp._validate import (
    check_choice,
    check_float_dtype,
    check_int,
    check_positive,
    check_sizes,
    describe,
)
from ebp.losses import as_inputs, check_finite_parameters, model_dtype_device, model_output

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "LayerStats",
    "LeCunTanh",
    "Twisted",
    "empty_linear",
    "from_scratch",
    "get_activation",
    "init_weights_",
    "layer_stats",
    "lecun_tanh",
    "mlp",
    "to_scratch",
    "twisted",
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


class Twisted(tnn.Module):
    """``f(x) + a·x``: an activation with the paper's small linear "twisting term" (§4.4).

    The term keeps the slope at least ``a`` everywhere, so a saturated unit still passes some
    gradient: there are no flat spots.

    Parameters
    ----------
    base
        The activation ``f``: a name in :data:`ACTIVATIONS` or an ``nn.Module``.
    a
        The slope of the twisting term, ≥ 0 (the paper suggests a small value, e.g. 0.1).
    """

    def __init__(self, base: str | tnn.Module = "tanh", a: float = 0.1) -> None:
        super().__init__()
        if isinstance(base, str):
            self.base_name: str | None = check_choice(base, "base", ACTIVATIONS)
            base = ACTIVATIONS[base]()
        elif isinstance(base, tnn.Module):
            self.base_name = _activation_name(base)
        else:
            raise TypeError(
                f"base must be an activation name, one of {sorted(ACTIVATIONS)}, or an "
                f"nn.Module; got {type(base).__name__}"
            )
        self.base = base
        self.a = float(check_positive(a, "a", allow_zero=True))

    def forward(self, x: Tensor) -> Tensor:
        """``base(x) + a·x``, elementwise."""
        return self.base(x) + self.a * x

    def extra_repr(self) -> str:
        return f"a={self.a:g}"


def twisted(base: str | Callable[[Tensor], Tensor], a: float) -> Callable[[Tensor], Tensor]:
    """The function ``x ↦ f(x) + a·x``, ``f`` with the twisting term of §4.4.

    Its derivative is ``f′(x) + a`` ≥ ``a``: with ``a > 0`` no input is in a flat spot.

    Parameters
    ----------
    base
        ``f``: a name in :data:`ACTIVATIONS` or a function of a tensor.
    a
        The slope of the twisting term, ≥ 0.

    Examples
    --------
    >>> f = twisted("tanh", 0.1)
    >>> round(float(f(torch.tensor(0.5))), 4)  # tanh(0.5) + 0.05
    0.5121
    """
    a = float(check_positive(a, "a", allow_zero=True))
    if isinstance(base, str):
        f: Callable[[Tensor], Tensor] = ACTIVATIONS[check_choice(base, "base", ACTIVATIONS)]()
    elif callable(base):
        f = base
    else:
        raise TypeError(
            f"base must be an activation name, one of {sorted(ACTIVATIONS)}, or a function; "
            f"got {type(base).__name__}"
        )

    def f_twisted(x: Tensor) -> Tensor:
        return f(x) + a * x

    f_twisted.__name__ = f"twisted_{getattr(base, '__name__', base)}"
    return f_twisted


_TWISTED_NAME = re.compile(r"^(?P<base>[a-z_]+)\+(?P<a>(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)x$")


def _parse_twisted(name: str) -> tuple[str, float] | None:
    match = _TWISTED_NAME.match(name)
    if match is None or match["base"] not in ACTIVATIONS:
        return None
    return match["base"], float(match["a"])


ActivationSpec = str | Callable[[], tnn.Module]
"""An activation for :func:`mlp`: a name, or a zero-argument factory returning a new module."""


def _activation_factory(spec: Any, name: str) -> Callable[[], tnn.Module]:
    """A zero-argument function building a new activation module for ``spec``."""
    if isinstance(spec, str):
        twist = _parse_twisted(spec)
        if twist is not None:
            base, a = twist
            return lambda: Twisted(base, a)
        if spec not in ACTIVATIONS:
            listed = ", ".join(repr(c) for c in sorted(ACTIVATIONS))
            raise ValueError(
                f"{name} must be one of {listed}, a twisted form '<base>+<a>x' such as "
                f"'lecun_tanh+0.1x', or a factory returning an nn.Module; got {spec!r}"
            )
        return ACTIVATIONS[spec]
    if isinstance(spec, tnn.Module):
        raise TypeError(
            f"{name} must be a name or a zero-argument factory such as torch.nn.Tanh or "
            f"functools.partial(Twisted, 'tanh', 0.1), not a module instance (one instance "
            f"would be shared by every layer); got {type(spec).__name__}"
        )
    if not callable(spec):
        raise TypeError(
            f"{name} must be an activation name or a zero-argument factory returning an "
            f"nn.Module; got {type(spec).__name__} {describe(spec)}"
        )

    def build() -> tnn.Module:
        module = spec()
        if not isinstance(module, tnn.Module):
            raise TypeError(
                f"{name} factory must return a torch.nn.Module; got {type(module).__name__}"
            )
        return module

    return build


def get_activation(name: str) -> tnn.Module:
    """A new activation module for ``name``.

    ``name`` is one of :data:`ACTIVATIONS`, or the twisted form ``"<base>+<a>x"`` (e.g.
    ``"lecun_tanh+0.1x"``), which builds :class:`Twisted` ``(base, a)``: ``f(x) + a·x`` (§4.4).
    """
    if not isinstance(name, str):
        check_choice(name, "activation", ACTIVATIONS)  # raises the TypeError
    return _activation_factory(name, "activation")()


def _activation_name(module: tnn.Module) -> str | None:
    for cls, name in _MODULE_NAMES:
        if type(module) is cls:
            return name
    return None


# ---------------------------------------------------------------------------------------------
# Initialization (paper §4.6, eqs 14–16)
# ---------------------------------------------------------------------------------------------

INITS: tuple[str, ...] = (
    "lecun_normal",
    "lecun_uniform",
    "xavier_normal",
    "xavier_uniform",
    "he_normal",
    "normal",
    "zeros",
    "constant",
    "pytorch",
)
"""Initialization schemes of :func:`init_weights_`."""


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
        ``"lecun_uniform"``: ``U(±√3 σ)``, the same σ;
        ``"xavier_normal"`` / ``"xavier_uniform"`` (Glorot & Bengio 2010): ``N(0, σ²)`` /
        ``U(±√3 σ)`` with ``σ = scale · √(2/(fan_in + fan_out))``;
        ``"he_normal"`` (He et al. 2015, for ReLU): ``N(0, σ²)`` with
        ``σ = scale · √(2/fan_in)``;
        ``"normal"``: ``N(0, scale²)``, ignoring the fan-in (the badly scaled beginner's choice,
        and the "too large / too small" experiments); ``"zeros"``: all zero;
        ``"constant"``: every weight equal to ``scale`` (the symmetry problem: all hidden units
        stay identical); ``"pytorch"``: PyTorch's default ``nn.Linear`` init –
        ``kaiming_uniform_(a=√5)``, i.e. ``U(±scale/√fan_in)`` for weights and biases
        (σ = ``1/√(3 fan_in)``, about 0.58 of the paper's) – but drawn from ``generator`` rather
        than the global RNG.  Biases are zero for every scheme except ``"pytorch"``.
    generator
        Source of randomness; ``None`` uses a fresh generator seeded with 0 (never the global
        RNG), so the call is reproducible either way.
    scale
        Multiplies σ (or the uniform bound); the weights' value for ``"constant"``; > 0.
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
        fan_in, fan_out = layer.in_features, layer.out_features
        sigma = scale / math.sqrt(fan_in)
        glorot = scale * math.sqrt(2.0 / (fan_in + fan_out))
        if scheme == "lecun_normal":
            _sample_(layer.weight, "normal", sigma, generator)
        elif scheme == "lecun_uniform":
            _sample_(layer.weight, "uniform", math.sqrt(3.0) * sigma, generator)
        elif scheme == "xavier_normal":
            _sample_(layer.weight, "normal", glorot, generator)
        elif scheme == "xavier_uniform":
            _sample_(layer.weight, "uniform", math.sqrt(3.0) * glorot, generator)
        elif scheme == "he_normal":
            _sample_(layer.weight, "normal", math.sqrt(2.0) * sigma, generator)
        elif scheme == "constant":
            with torch.no_grad():
                layer.weight.fill_(scale)
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


def empty_linear(
    n_in: int, n_out: int, dtype: torch.dtype = torch.float32, device: Any = None
) -> tnn.Linear:
    """An ``nn.Linear(n_in, n_out)`` whose weights are left uninitialized, for the caller to set.

    PyTorch's ``reset_parameters``, which draws from the global RNG, never runs (the layer is
    built on the meta device and then allocated), so building a network does not disturb any
    other random stream; :func:`init_weights_` or an explicit copy must fill it.
    """
    n_in = check_int(n_in, "n_in", min_value=1)
    n_out = check_int(n_out, "n_out", min_value=1)
    dtype = check_float_dtype(dtype)
    device = torch.device("cpu") if device is None else torch.device(device)
    return torch.nn.utils.skip_init(tnn.Linear, n_in, n_out, dtype=dtype, device=device)


def mlp(
    sizes: Sequence[int],
    activation: ActivationSpec = "lecun_tanh",
    output_activation: ActivationSpec | None = None,
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
        Hidden activation (default: the paper's ``1.7159 tanh(2x/3)``): a name in
        :data:`ACTIVATIONS`; a twisted name ``"<base>+<a>x"`` such as ``"lecun_tanh+0.1x"``
        for ``f(x) + a·x`` (§4.4, :class:`Twisted`); or a zero-argument factory returning a new
        ``nn.Module`` each call, e.g. ``torch.nn.SiLU`` or
        ``functools.partial(Twisted, "tanh", 0.05)``.
    output_activation
        Activation after the last layer, in the same forms; ``None`` or ``"identity"`` adds
        none.
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
    hidden = _activation_factory(activation, "activation")
    output = (
        None
        if output_activation is None
        else _activation_factory(output_activation, "output_activation")
    )
    check_choice(init, "init", INITS)
    seed = check_int(seed, "seed", min_value=0)
    dtype = check_float_dtype(dtype)
    layers: list[tnn.Module] = []
    L = len(sizes) - 1
    for l, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(empty_linear(n_in, n_out, dtype, device))
        if l < L - 1:
            layers.append(hidden())
    if output is not None and output_activation != "identity":
        layers.append(output())
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
    dtype = check_float_dtype(dtype)
    layers: list[tnn.Module] = []
    L = network.n_layers
    for l, (W, b, act) in enumerate(
        zip(network.weights, network.biases, network.activations, strict=True)
    ):
        layer = empty_linear(W.shape[1], W.shape[0], dtype, device)
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


# ---------------------------------------------------------------------------------------------
# Measuring a network: weighted sums and activations per layer (§4.6)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerStats:
    """Statistics of one ``nn.Linear`` layer's weighted sums and of the activation after it.

    Means and standard deviations are taken over all units and patterns of the batch
    (population std, ``1/N``).  The paper wants the weighted sums' std ≈ 1 (eq 14 with
    σ_w = m^{-1/2}, eqs 15/16).

    Attributes
    ----------
    index
        The layer's position among the model's ``nn.Linear`` layers, from 0.
    fan_in, fan_out
        The layer's ``in_features`` and ``out_features``.
    activation
        Class name of the module applied after the layer (``"Identity"`` if none).
    pre_mean, pre_std
        Of the weighted sums ``y = W x + b`` (pre-activations).
    act_mean, act_std
        Of the activations ``f(y)`` (equal to the pre-activation stats when there is none).
    pre_values, act_values
        The values themselves, float64 arrays of shape ``(P, fan_out)``, when asked for with
        ``keep_values=True`` (for histograms); else ``None``.
    """

    index: int
    fan_in: int
    fan_out: int
    activation: str
    pre_mean: float
    pre_std: float
    act_mean: float
    act_std: float
    pre_values: np.ndarray | None = None
    act_values: np.ndarray | None = None


def _following_activations(model: tnn.Module) -> dict[int, tnn.Module]:
    """For each ``nn.Linear`` (by id) directly followed by a non-Linear sibling in an
    ``nn.Sequential``, that sibling: the activation applied to the layer's output."""
    after: dict[int, tnn.Module] = {}
    for container in model.modules():
        if not isinstance(container, tnn.Sequential):
            continue
        children = list(container)
        for first, second in itertools.pairwise(children):
            if isinstance(first, tnn.Linear) and not isinstance(second, tnn.Linear):
                after[id(first)] = second
    return after


def layer_stats(model: tnn.Module, X: Any, *, keep_values: bool = False) -> list[LayerStats]:
    """Mean and std of every ``nn.Linear`` layer's weighted sums and activations on a batch.

    One forward pass of ``X`` under ``torch.no_grad()``, in the model's own mode, observed with
    forward hooks that are removed before returning (also on error); the model's parameters,
    mode and buffers (batch-norm statistics are restored) and the global RNG are untouched.
    A model with NaN/Inf parameters is refused (``ValueError``).  The activation of a layer is
    the module right after it in an ``nn.Sequential`` (as :func:`mlp` builds); a layer with none
    gets its own outputs.

    Used for target R2: with standardized inputs and ``σ_w = m^{-1/2}`` (eqs 15/16) the first
    layer's weighted sums have std ≈ 1 (eq 14), then shrink with depth for the recommended
    sigmoid, because ``Var f(y) ≈ 0.75`` for ``y ~ N(0, 1)``.

    Parameters
    ----------
    model
        A module containing ``nn.Linear`` layers.
    X
        A batch of inputs, shape ``(P, n_inputs)`` with ``P ≥ 1`` and ``n_inputs`` the width the
        model's first layer takes (e.g. an :func:`ebp.rbf.rbf_network`'s ``RBFLayer``),
        converted to the model's dtype and device.
    keep_values
        Also return the values (for histograms).

    Returns
    -------
    list of LayerStats
        One entry per ``nn.Linear``, in the order they ran in the forward pass.
    """
    if not isinstance(model, tnn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if not isinstance(keep_values, (bool, np.bool_)):
        raise TypeError(f"keep_values must be a bool; got {type(keep_values).__name__}")
    linears = [m for m in model.modules() if isinstance(m, tnn.Linear)]
    if not linears:
        raise ValueError("model must contain at least one torch.nn.Linear layer")
    dtype, device = model_dtype_device(model)
    check_finite_parameters(model)
    # the width the model takes (its first layer's in_features, which need not be the first
    # nn.Linear's: an RBF network starts with an RBFLayer), at least one pattern
    x = as_inputs(X, "X", dtype, device, model=model)
    after = _following_activations(model)
    pre: dict[int, Tensor] = {}
    act: dict[int, Tensor] = {}
    order: list[tnn.Linear] = []

    def on_linear(module: tnn.Module, _inputs: Any, output: Tensor) -> None:
        if id(module) not in pre:
            order.append(module)
        pre[id(module)] = output.detach()

    def make_on_act(linear: tnn.Linear) -> Callable[..., None]:
        def on_act(_module: tnn.Module, _inputs: Any, output: Tensor) -> None:
            act[id(linear)] = output.detach()

        return on_act

    handles = []
    try:
        for layer in linears:
            handles.append(layer.register_forward_hook(on_linear))
            if id(layer) in after:
                handles.append(after[id(layer)].register_forward_hook(make_on_act(layer)))
        with torch.no_grad():
            model_output(model, x, "X", keep_buffers=True)
    finally:
        for handle in handles:
            handle.remove()

    def stats(t: Tensor) -> tuple[float, float]:
        t = t.to(torch.float64)
        return float(t.mean()), float(t.std(unbiased=False)) if t.numel() > 1 else 0.0

    result = []
    for i, layer in enumerate(order):
        y = pre[id(layer)]
        a = act.get(id(layer), y)
        nxt = after.get(id(layer))
        pm, ps = stats(y)
        am, as_ = stats(a)
        result.append(
            LayerStats(
                index=i,
                fan_in=layer.in_features,
                fan_out=layer.out_features,
                activation="Identity" if nxt is None else type(nxt).__name__,
                pre_mean=pm,
                pre_std=ps,
                act_mean=am,
                act_std=as_,
                pre_values=y.cpu().to(torch.float64).numpy().copy() if keep_values else None,
                act_values=a.cpu().to(torch.float64).numpy().copy() if keep_values else None,
            )
        )
    return result
