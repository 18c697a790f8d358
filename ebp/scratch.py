"""Backpropagation written out in NumPy (paper §3, eqs 1–10), gradient checking, and plain SGD.

Conventions
-----------
Batches are row-major: ``X`` has shape ``(P, n_in)``, one pattern per row.  Layer ``l`` has
weights ``W`` of shape ``(n_out, n_in)`` and biases ``b`` of shape ``(n_out,)``; it computes the
weighted sums ``z = X @ W.T + b`` (the paper's ``Y_n = W_n X_{n-1}``, §3, written for a batch
of row vectors, exactly as ``torch.nn.Linear`` does) and the states ``a = f(z)`` (the paper's
``X_n = F(Y_n)``).

Every loss is a mean over the ``P`` patterns of the batch (the paper's ``E = (1/P) Σ_p E^p``,
§2), and every gradient returned here is the gradient of that mean.  Everything is float64.

Loss names
----------
``"mse"``
    ``E = (1/P) Σ_p ½ ‖d^p − o^p‖²`` – note the ½, so that ``∂E/∂o = (o − d)/P``.  Any output
    activation.  Not ``torch.nn.MSELoss()``: ``K/2`` times it for ``K`` outputs (the same
    convention as :mod:`ebp.losses`).
``"bce"``
    Binary cross-entropy of a logistic output, ``E = (1/P) Σ_p Σ_k [−d log o − (1−d) log(1−o)]``,
    computed stably from the pre-activation ``z`` as ``softplus(z) − d z``.  The last layer's
    activation must be ``"logistic"``; targets in [0, 1].
``"softmax_ce"``
    Softmax cross-entropy ``E = −(1/P) Σ_p Σ_k d_k log softmax(z)_k`` on the logits ``z`` of the
    last layer, whose activation must be ``"identity"``.  Targets: one-hot (or probability) rows
    of shape ``(P, K)``, or integer class labels of shape ``(P,)``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ebp._validate import (
    as_float_array,
    check_choice,
    check_int,
    check_positive,
    check_sizes,
    real_array,
)
from ebp.history import DivergenceError, History, blowup_factor, check_divergence

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "LECUN_TANH_A",
    "LECUN_TANH_S",
    "LOSSES",
    "OUTPUT_ACTIVATION_FOR_LOSS",
    "Activation",
    "Forward",
    "GradCheck",
    "Gradients",
    "Network",
    "check_loss_activation",
    "fit",
    "get_activation",
    "gradient_check",
    "lecun_tanh",
    "lecun_tanh_prime",
    "loss_delta",
    "loss_value",
    "numerical_gradient",
    "prepare_targets",
    "relative_error",
]

# ---------------------------------------------------------------------------------------------
# Activations (paper §4.4)
# ---------------------------------------------------------------------------------------------

LECUN_TANH_A = 1.7159
"""Amplitude of the recommended sigmoid ``f(x) = 1.7159 tanh(2x/3)`` (paper §4.4)."""
LECUN_TANH_S = 2.0 / 3.0
"""Slope factor inside the tanh of the recommended sigmoid (paper §4.4)."""


def lecun_tanh(x: np.ndarray) -> np.ndarray:
    """The paper's recommended sigmoid ``f(x) = 1.7159 tanh(2x/3)`` (§4.4).

    It is chosen so that ``f(±1) = ±1``, which makes the second derivative extremal near ±1
    and the effective gain close to 1 on normalized inputs.
    """
    return LECUN_TANH_A * np.tanh(LECUN_TANH_S * np.asarray(x, dtype=np.float64))


def lecun_tanh_prime(x: np.ndarray) -> np.ndarray:
    """Derivative of :func:`lecun_tanh`: ``1.7159 · (2/3) · (1 − tanh²(2x/3))``."""
    t = np.tanh(LECUN_TANH_S * np.asarray(x, dtype=np.float64))
    return LECUN_TANH_A * LECUN_TANH_S * (1.0 - t * t)


def _logistic(x: np.ndarray) -> np.ndarray:
    # 1/(1+e^{-x}) written so that neither branch overflows.
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _logistic_prime(x: np.ndarray) -> np.ndarray:
    s = _logistic(x)
    return s * (1.0 - s)


def _tanh_prime(x: np.ndarray) -> np.ndarray:
    t = np.tanh(x)
    return 1.0 - t * t


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def _relu_prime(x: np.ndarray) -> np.ndarray:
    # The derivative at the kink x = 0 is taken to be 0, as in PyTorch.
    return (np.asarray(x) > 0).astype(np.float64)


def _identity(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _identity_prime(x: np.ndarray) -> np.ndarray:
    return np.ones_like(x, dtype=np.float64)


@dataclass(frozen=True)
class Activation:
    """A pointwise activation ``f`` with its derivative ``df`` (both NumPy ufunc-like)."""

    name: str
    f: Callable[[np.ndarray], np.ndarray]
    df: Callable[[np.ndarray], np.ndarray]


ACTIVATIONS: dict[str, Activation] = {
    "logistic": Activation("logistic", _logistic, _logistic_prime),
    "tanh": Activation("tanh", np.tanh, _tanh_prime),
    "lecun_tanh": Activation("lecun_tanh", lecun_tanh, lecun_tanh_prime),
    "relu": Activation("relu", _relu, _relu_prime),
    "identity": Activation("identity", _identity, _identity_prime),
}
"""The activations by name, each with its derivative (as :meth:`Network.create` takes them)."""


def get_activation(name: str) -> Activation:
    """Return the :class:`Activation` called ``name`` (one of :data:`ACTIVATIONS`)."""
    return ACTIVATIONS[check_choice(name, "activation", ACTIVATIONS)]


# ---------------------------------------------------------------------------------------------
# Losses (paper §2)
# ---------------------------------------------------------------------------------------------

LOSSES: tuple[str, ...] = ("mse", "bce", "softmax_ce")
"""The losses' names (``"softmax_ce"`` is :mod:`ebp.losses`' ``"cross_entropy"``)."""
OUTPUT_ACTIVATION_FOR_LOSS: dict[str, str] = {"bce": "logistic", "softmax_ce": "identity"}
"""The output activation a loss requires (``"mse"`` accepts any)."""


def check_loss_activation(loss: str, output_activation: str) -> str:
    """Check that ``loss`` can be used with a last layer of activation ``output_activation``.

    Returns the loss name; raises ``ValueError`` naming ``output_activation`` otherwise.
    """
    check_choice(loss, "loss", LOSSES)
    check_choice(output_activation, "output_activation", ACTIVATIONS)
    required = OUTPUT_ACTIVATION_FOR_LOSS.get(loss)
    if required is not None and output_activation != required:
        why = (
            "bce is computed stably from the logistic unit's pre-activation"
            if loss == "bce"
            else "softmax_ce applies the softmax itself to the last layer's logits"
        )
        raise ValueError(
            f"output_activation must be {required!r} for loss={loss!r} ({why}); "
            f"got {output_activation!r}"
        )
    return loss


def prepare_targets(loss: str, T: Any, n_patterns: int, n_out: int, name: str = "T") -> np.ndarray:
    """Validate targets ``T`` for ``loss`` and return them as a float array ``(P, n_out)``.

    A 1-D ``T`` is accepted as class labels for ``"softmax_ce"`` (converted to one-hot) and as
    a column when ``n_out == 1`` for the other losses.
    """
    check_choice(loss, "loss", LOSSES)
    raw = real_array(T, name)  # refuses ragged, str, bool, complex, object, longdouble
    if loss == "softmax_ce" and raw.ndim == 1:
        if raw.dtype.kind not in "iu" and not (
            raw.dtype.kind == "f" and np.all(np.isfinite(raw)) and np.all(raw == np.round(raw))
        ):
            raise TypeError(f"{name} given as class labels must be integers; got dtype {raw.dtype}")
        if raw.shape[0] != n_patterns:
            raise ValueError(
                f"{name} must have {n_patterns} class labels (one per pattern); got {raw.shape[0]}"
            )
        labels = raw.astype(np.int64)
        if labels.size and (labels.min() < 0 or labels.max() >= n_out):
            raise ValueError(
                f"{name} class labels must lie in [0, {n_out - 1}]; got values in "
                f"[{labels.min()}, {labels.max()}]"
            )
        onehot = np.zeros((n_patterns, n_out))
        onehot[np.arange(n_patterns), labels] = 1.0
        return onehot
    arr = as_float_array(raw, name)
    if arr.ndim == 1 and n_out == 1:
        arr = arr[:, None]
    if arr.shape != (n_patterns, n_out):
        raise ValueError(f"{name} must have shape ({n_patterns}, {n_out}); got shape {arr.shape}")
    if loss == "bce" and (arr.min(initial=0.0) < 0 or arr.max(initial=1.0) > 1):
        raise ValueError(f"{name} must lie in [0, 1] for loss='bce'")
    if loss == "softmax_ce" and (
        arr.min(initial=0.0) < 0 or not np.allclose(arr.sum(axis=1), 1.0, atol=1e-6)
    ):
        raise ValueError(
            f"{name} must be one-hot (or probability) rows summing to 1 for loss='softmax_ce', "
            "or integer class labels of shape (P,)"
        )
    return arr


def _softplus(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def _log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _check_output_target(
    z_out: Any, a_out: Any, T: Any
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """``(P, z_out, a_out, T)`` after checking that ``z_out``, ``a_out`` and ``T`` are arrays of
    real numbers of one shape ``(P, n_out)`` with ``P >= 1`` (shapes are never broadcast: a
    ``(P,)`` target against a ``(P, 1)`` output would silently give a ``(P, P)`` difference).
    Ragged lists, strings, bool, complex, object and extended-precision arrays are refused
    naming the argument (:func:`ebp._validate.real_array`); NaN is allowed (the loss says so)."""
    z_out, a_out, T = (real_array(v, n) for v, n in ((z_out, "z_out"), (a_out, "a_out"), (T, "T")))
    shapes = {"z_out": z_out.shape, "a_out": a_out.shape, "T": T.shape}
    if len(shapes["z_out"]) != 2:
        raise ValueError(f"z_out must have shape (P, n_out); got shape {shapes['z_out']}")
    if shapes["z_out"][0] < 1:
        raise ValueError(
            f"z_out must hold at least one pattern (the loss is a mean over them); got shape "
            f"{shapes['z_out']}"
        )
    for n in ("a_out", "T"):
        if shapes[n] != shapes["z_out"]:
            raise ValueError(
                f"{n} must have the shape of z_out {shapes['z_out']}; got shape {shapes[n]} "
                "(see prepare_targets: shapes are never broadcast)"
            )
    return shapes["z_out"][0], z_out, a_out, T


def loss_value(name: str, z_out: np.ndarray, a_out: np.ndarray, T: np.ndarray) -> float:
    """The batch-mean loss ``E`` (§2) from the last layer's ``z_out`` and ``a_out = f(z_out)``.

    ``T`` must already have the shape of the output (see :func:`prepare_targets`); other shapes
    and empty batches are refused (``ValueError``).
    """
    P, z_out, a_out, T = _check_output_target(z_out, a_out, T)
    return _loss_value_unchecked(name, z_out, a_out, T, P)


def _loss_value_unchecked(
    name: str, z_out: np.ndarray, a_out: np.ndarray, T: np.ndarray, P: int
) -> float:
    """:func:`loss_value` of arrays already checked (the training loop's inner path)."""
    if name == "mse":
        return float(0.5 * np.sum((a_out - T) ** 2) / P)
    if name == "bce":
        # −d log σ(z) − (1−d) log(1−σ(z)) = softplus(z) − d z, without overflow.
        return float(np.sum(_softplus(z_out) - T * z_out) / P)
    if name == "softmax_ce":
        return float(-np.sum(T * _log_softmax(z_out)) / P)
    raise ValueError(f"loss must be one of {LOSSES}; got {name!r}")


def loss_delta(
    name: str, z_out: np.ndarray, a_out: np.ndarray, T: np.ndarray, output_activation: str
) -> np.ndarray:
    """``∂E/∂z_out`` of the batch-mean loss: the δ that starts the backward pass (§3).

    For ``"mse"`` this is ``f'(z) ⊙ (o − d)/P``; for ``"bce"`` with a logistic output and
    ``"softmax_ce"`` with logits, the derivative of the output nonlinearity cancels and it is
    ``(σ(z) − d)/P`` and ``(softmax(z) − d)/P`` respectively.
    """
    check_loss_activation(name, output_activation)
    P, z_out, a_out, T = _check_output_target(z_out, a_out, T)
    if name == "mse":
        return get_activation(output_activation).df(z_out) * (a_out - T) / P
    if name == "bce":
        return (_logistic(z_out) - T) / P
    return (np.exp(_log_softmax(z_out)) - T) / P


# ---------------------------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------------------------

INITS: tuple[str, ...] = ("lecun", "lecun_uniform", "normal", "zeros")
"""The weight initializations of :meth:`Network.create` (its ``init``)."""


@dataclass
class Forward:
    """What the forward pass stores for the backward pass (§3, eqs 1–9).

    Attributes
    ----------
    z
        ``z[l]``, shape ``(P, n_{l+1})``: weighted sums of layer ``l`` (0-based, one per layer).
    a
        ``a[0] = X`` and ``a[l + 1] = f_l(z[l])``: the states, one more than there are layers.
    """

    z: list[np.ndarray]
    a: list[np.ndarray]

    @property
    def output(self) -> np.ndarray:
        """The network's output ``a[-1]``."""
        return self.a[-1]


@dataclass
class Gradients:
    """Gradients of the batch-mean loss, one entry per layer.

    Attributes
    ----------
    dW, db
        ``∂E/∂W_l`` and ``∂E/∂b_l`` (shapes of ``W_l`` and ``b_l``).
    delta
        ``delta[l] = ∂E/∂z[l]`` of shape ``(P, n_{l+1})`` (§3); it includes the ``1/P`` of the
        mean, so that ``dW[l] = delta[l].T @ a[l]``.  Empty for numerical gradients.
    """

    dW: list[np.ndarray]
    db: list[np.ndarray]
    delta: list[np.ndarray] = field(default_factory=list)

    def flat(self) -> np.ndarray:
        """All gradients in one vector, in the order ``W1, b1, W2, b2, …`` (rows of W first)."""
        parts = [p.ravel() for pair in zip(self.dW, self.db, strict=True) for p in pair]
        return np.concatenate(parts) if parts else np.zeros(0)

    def norm(self) -> float:
        """The global Euclidean norm of all gradients."""
        return float(np.linalg.norm(self.flat()))


@dataclass
class Network:
    """A fully connected network, ``a_{l+1} = f_l(a_l W_lᵀ + b_l)`` (§3, eqs 1–9).

    Attributes
    ----------
    weights
        ``W_l`` of shape ``(n_{l+1}, n_l)``.
    biases
        ``b_l`` of shape ``(n_{l+1},)``.
    activations
        One activation name per layer (the last one is the output activation).
    """

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    activations: list[str]

    def __post_init__(self) -> None:
        for attr in ("weights", "biases", "activations"):
            if isinstance(getattr(self, attr), (str, np.ndarray)) or not isinstance(
                getattr(self, attr), Sequence
            ):
                raise TypeError(f"{attr} must be a list (one entry per layer)")
        L = len(self.weights)
        if L == 0:
            raise ValueError("weights must contain at least one layer")
        if len(self.biases) != L or len(self.activations) != L:
            raise ValueError(
                f"weights, biases and activations must have one entry per layer; got "
                f"{L}, {len(self.biases)} and {len(self.activations)}"
            )
        self.weights = [
            as_float_array(W, f"weights[{l}]", ndim=2) for l, W in enumerate(self.weights)
        ]
        self.biases = [
            as_float_array(b, f"biases[{l}]", shape=(W.shape[0],))
            for l, (W, b) in enumerate(zip(self.weights, self.biases, strict=True))
        ]
        self.activations = [
            check_choice(name, f"activations[{l}]", ACTIVATIONS)
            for l, name in enumerate(self.activations)
        ]
        for l in range(1, L):
            if self.weights[l].shape[1] != self.weights[l - 1].shape[0]:
                raise ValueError(
                    f"weights[{l}] must have {self.weights[l - 1].shape[0]} columns (the width "
                    f"of layer {l - 1}); got shape {self.weights[l].shape}"
                )

    @classmethod
    def create(
        cls,
        sizes: Sequence[int],
        activation: str = "lecun_tanh",
        output_activation: str = "identity",
        init: str = "lecun",
        scale: float = 1.0,
        seed: int = 0,
    ) -> Network:
        """Build a network with layer widths ``sizes`` and random weights, zero biases.

        Parameters
        ----------
        sizes
            Widths ``(n_0, n_1, …, n_L)``, input first; at least two.
        activation
            Activation of the hidden layers.
        output_activation
            Activation of the last layer.
        init
            ``"lecun"``: normal with ``σ = scale · fan_in^{-1/2}`` (eqs 15/16);
            ``"lecun_uniform"``: uniform on ``±√3 σ``, the same σ;
            ``"normal"``: normal with ``σ = scale`` regardless of fan-in (the badly scaled
            beginner's choice); ``"zeros"``: all weights zero (symmetry is never broken).
        scale
            Multiplies σ (see ``init``); > 0.
        seed
            Seed of the NumPy generator that draws the weights.
        """
        sizes = check_sizes(sizes)
        check_choice(activation, "activation", ACTIVATIONS)
        check_choice(output_activation, "output_activation", ACTIVATIONS)
        check_choice(init, "init", INITS)
        scale = check_positive(scale, "scale")
        seed = check_int(seed, "seed", min_value=0)
        rng = np.random.default_rng(seed)
        weights, biases = [], []
        for fan_in, fan_out in itertools.pairwise(sizes):
            if init == "lecun":
                W = rng.normal(0.0, scale / math.sqrt(fan_in), size=(fan_out, fan_in))
            elif init == "lecun_uniform":
                limit = math.sqrt(3.0) * scale / math.sqrt(fan_in)
                W = rng.uniform(-limit, limit, size=(fan_out, fan_in))
            elif init == "normal":
                W = rng.normal(0.0, scale, size=(fan_out, fan_in))
            else:
                W = np.zeros((fan_out, fan_in))
            weights.append(W)
            biases.append(np.zeros(fan_out))
        L = len(sizes) - 1
        activations = [activation] * (L - 1) + [output_activation]
        return cls(weights, biases, activations)

    # -- shape and parameters -----------------------------------------------------------------

    @property
    def sizes(self) -> tuple[int, ...]:
        """Layer widths ``(n_0, …, n_L)``."""
        return (self.weights[0].shape[1], *(W.shape[0] for W in self.weights))

    @property
    def n_layers(self) -> int:
        """Number of weight layers ``L``."""
        return len(self.weights)

    @property
    def n_params(self) -> int:
        """Number of weights and biases."""
        return sum(W.size + b.size for W, b in zip(self.weights, self.biases, strict=True))

    def copy(self) -> Network:
        """A deep copy (new arrays)."""
        return Network(
            [W.copy() for W in self.weights],
            [b.copy() for b in self.biases],
            list(self.activations),
        )

    def get_flat(self) -> np.ndarray:
        """All parameters in one vector, ordered ``W1, b1, W2, b2, …`` (W row-major).

        This is the order of ``torch.nn.Sequential(...).parameters()`` for the same network.
        """
        parts = [p.ravel() for pair in zip(self.weights, self.biases, strict=True) for p in pair]
        return np.concatenate(parts)

    def set_flat(self, theta: Any) -> None:
        """Set all parameters from a vector ordered as in :meth:`get_flat`."""
        theta = as_float_array(theta, "theta", shape=(self.n_params,))
        i = 0
        for l, (W, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            self.weights[l] = theta[i : i + W.size].reshape(W.shape).copy()
            i += W.size
            self.biases[l] = theta[i : i + b.size].copy()
            i += b.size

    # -- forward and backward -----------------------------------------------------------------

    def _check_X(self, X: Any, name: str = "X") -> np.ndarray:
        X = as_float_array(X, name, ndim=2, shape=(None, self.sizes[0]))
        if X.shape[0] == 0:  # every loss and gradient here is a mean over the patterns
            raise ValueError(f"{name} must contain at least one pattern; got shape {X.shape}")
        return X

    def forward(self, X: Any) -> Forward:
        """Forward pass (§3, eqs 1–9): ``z_l = a_l W_lᵀ + b_l``, ``a_{l+1} = f(z_l)``.

        Parameters
        ----------
        X
            Inputs of shape ``(P, n_0)``.
        """
        a = [self._check_X(X)]
        z = []
        for W, b, name in zip(self.weights, self.biases, self.activations, strict=True):
            z.append(a[-1] @ W.T + b)
            a.append(ACTIVATIONS[name].f(z[-1]))
        return Forward(z=z, a=a)

    def predict(self, X: Any) -> np.ndarray:
        """The network's outputs for inputs ``X`` of shape ``(P, n_0)``."""
        return self.forward(X).output

    def loss(self, X: Any, T: Any, loss: str = "mse") -> float:
        """The batch-mean loss ``E`` (§2) of the network on ``(X, T)``."""
        check_loss_activation(loss, self.activations[-1])
        fw = self.forward(X)
        T = prepare_targets(loss, T, fw.a[0].shape[0], self.sizes[-1])
        return loss_value(loss, fw.z[-1], fw.a[-1], T)

    def backward(self, forward: Forward, T: Any, loss: str = "mse") -> Gradients:
        """Backward pass: gradients of the batch-mean loss (§3, eqs 1–9).

        Starting from ``δ_L = ∂E/∂z_L`` (:func:`loss_delta`), the recursion is
        ``∂E/∂W_l = δ_lᵀ a_l``, ``∂E/∂b_l = Σ_p δ_l``, and
        ``δ_{l−1} = f'_{l−1}(z_{l−1}) ⊙ (δ_l W_l)`` – the paper's
        ``∂E/∂X_{n−1} = ∂F/∂X · ∂E/∂X_n`` followed by multiplication with ``f'``.

        Parameters
        ----------
        forward
            The result of :meth:`forward` on the same batch.
        T
            Targets for that batch (see :func:`prepare_targets`).
        loss
            One of :data:`LOSSES`.
        """
        check_loss_activation(loss, self.activations[-1])
        if not isinstance(forward, Forward):
            raise TypeError(f"forward must be a Forward; got {type(forward).__name__}")
        P = forward.a[0].shape[0]
        T = prepare_targets(loss, T, P, self.sizes[-1])
        L = self.n_layers
        delta: list[np.ndarray] = [np.empty(0)] * L
        delta[-1] = loss_delta(loss, forward.z[-1], forward.a[-1], T, self.activations[-1])
        for l in range(L - 1, 0, -1):
            dE_da = delta[l] @ self.weights[l]  # ∂E/∂X_{n−1} = ∂F/∂X · ∂E/∂X_n
            delta[l - 1] = ACTIVATIONS[self.activations[l - 1]].df(forward.z[l - 1]) * dE_da
        dW = [delta[l].T @ forward.a[l] for l in range(L)]
        db = [delta[l].sum(axis=0) for l in range(L)]
        return Gradients(dW=dW, db=db, delta=delta)

    def gradients(self, X: Any, T: Any, loss: str = "mse") -> Gradients:
        """Forward then backward: the gradient of the batch-mean loss on ``(X, T)``."""
        check_loss_activation(loss, self.activations[-1])
        return self.backward(self.forward(X), T, loss)


# ---------------------------------------------------------------------------------------------
# The training loop's inner path: the same arithmetic, without re-checking every mini-batch
# ---------------------------------------------------------------------------------------------


def _act_and_prime(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(f(z), f'(z))`` of the activation ``name`` for a float64 ``z``: the arrays ``f`` and
    ``df`` of :data:`ACTIVATIONS` give, with the tanh (or logistic) computed once."""
    if name == "lecun_tanh":
        t = np.tanh(LECUN_TANH_S * z)
        return LECUN_TANH_A * t, LECUN_TANH_A * LECUN_TANH_S * (1.0 - t * t)
    if name == "tanh":
        t = np.tanh(z)
        return t, 1.0 - t * t
    if name == "logistic":
        s = _logistic(z)
        return s, s * (1.0 - s)
    act = ACTIVATIONS[name]
    return act.f(z), act.df(z)


def _forward_unchecked(
    network: Network, X: np.ndarray, *, primes: bool
) -> tuple[Forward, list[np.ndarray]]:
    """:meth:`Network.forward` of a float64 ``X`` already checked, and with ``primes`` the
    derivatives ``f'(z[l])`` that :meth:`Network.backward` would compute (else ``[]``)."""
    a, z, d = [X], [], []
    for W, b, name in zip(network.weights, network.biases, network.activations, strict=True):
        z.append(a[-1] @ W.T + b)
        if primes:
            f, df = _act_and_prime(name, z[-1])
            d.append(df)
        else:
            f = ACTIVATIONS[name].f(z[-1])
        a.append(f)
    return Forward(z=z, a=a), d


def _backward_unchecked(
    network: Network, forward: Forward, primes: list[np.ndarray], T: np.ndarray, loss: str
) -> Gradients:
    """:meth:`Network.backward` with ``T`` already prepared and the derivatives ``primes`` of
    :func:`_forward_unchecked` (the same arithmetic, in the same order)."""
    P = forward.a[0].shape[0]
    L = len(network.weights)
    delta: list[np.ndarray] = [np.empty(0)] * L
    z_out, a_out = forward.z[-1], forward.a[-1]
    if loss == "mse":
        delta[-1] = primes[-1] * (a_out - T) / P
    elif loss == "bce":
        delta[-1] = (_logistic(z_out) - T) / P
    else:
        delta[-1] = (np.exp(_log_softmax(z_out)) - T) / P
    for l in range(L - 1, 0, -1):
        dE_da = delta[l] @ network.weights[l]
        delta[l - 1] = primes[l - 1] * dE_da
    dW = [delta[l].T @ forward.a[l] for l in range(L)]
    db = [delta[l].sum(axis=0) for l in range(L)]
    return Gradients(dW=dW, db=db, delta=delta)


# ---------------------------------------------------------------------------------------------
# Gradient checking (central differences, float64)
# ---------------------------------------------------------------------------------------------


def relative_error(g: np.ndarray, g_hat: np.ndarray, tiny: float = 1e-300) -> float:
    """``‖g − ĝ‖ / max(‖g‖ + ‖ĝ‖, tiny)``: 0 when equal, 1 when opposite, ≤ 1 always.

    ``g`` and ``g_hat`` are real arrays of one shape, not empty (never broadcast).
    """
    g, g_hat = real_array(g, "g"), real_array(g_hat, "g_hat")  # a metric: NaN in, NaN out
    if g_hat.shape != g.shape or g.size == 0:
        raise ValueError(
            f"g_hat must have the shape of g {g.shape}, and they must not be empty; got shape "
            f"{g_hat.shape}"
        )
    g, g_hat = g.ravel(), g_hat.ravel()
    denom = max(float(np.linalg.norm(g) + np.linalg.norm(g_hat)), tiny)
    return float(np.linalg.norm(g - g_hat)) / denom


def numerical_gradient(
    network: Network, X: Any, T: Any, loss: str = "mse", eps: float = 1e-6
) -> Gradients:
    """Central finite differences ``(E(θ + ε e_i) − E(θ − ε e_i)) / 2ε`` for every parameter.

    The truncation error is ``O(ε²)`` and the round-off error ``O(u E / ε)`` (``u ≈ 1e-16``),
    so ``ε ≈ 1e-6 … 1e-5`` gives about 10 correct digits in float64.  The network is not
    changed.  Differences straddling a kink (``relu`` at 0) are not derivatives: see the
    tests for how to avoid them.

    Returns
    -------
    Gradients
        With ``dW`` and ``db`` filled and ``delta`` empty.
    """
    eps = check_positive(eps, "eps")
    check_loss_activation(loss, network.activations[-1])
    X = network._check_X(X)
    T = prepare_targets(loss, T, X.shape[0], network.sizes[-1])
    work = network.copy()
    theta = work.get_flat()
    grad = np.empty_like(theta)
    for i in range(theta.size):
        old = theta[i]
        theta[i] = old + eps
        work.set_flat(theta)
        e_plus = work.loss(X, T, loss)
        theta[i] = old - eps
        work.set_flat(theta)
        e_minus = work.loss(X, T, loss)
        theta[i] = old
        grad[i] = (e_plus - e_minus) / (2.0 * eps)
    work.set_flat(grad)
    return Gradients(dW=work.weights, db=work.biases)


@dataclass
class GradCheck:
    """Result of :func:`gradient_check`.

    Attributes
    ----------
    max_abs_error
        ``max_i |g_i − ĝ_i|`` over all parameters.
    max_rel_error
        The largest per-layer relative error.
    layer_rel_errors
        Per layer, ``‖g − ĝ‖ / max(‖g‖ + ‖ĝ‖, tiny)`` over that layer's W and b together
        (:func:`relative_error`).
    tol
        The tolerance ``passed`` was decided with.
    passed
        ``max_rel_error <= tol``.
    analytic, numerical
        The two gradients compared.
    """

    max_abs_error: float
    max_rel_error: float
    layer_rel_errors: list[float]
    tol: float
    passed: bool
    analytic: Gradients
    numerical: Gradients


def gradient_check(
    network: Network,
    X: Any,
    T: Any,
    loss: str = "mse",
    eps: float = 1e-6,
    tol: float = 1e-6,
) -> GradCheck:
    """Compare backprop's gradient (:meth:`Network.gradients`) with central differences.

    Parameters
    ----------
    network, X, T, loss
        The network, a batch, and the loss name.
    eps
        Step of the central differences.
    tol
        Largest acceptable per-layer relative error.
    """
    tol = check_positive(tol, "tol")
    analytic = network.gradients(X, T, loss)
    numerical = numerical_gradient(network, X, T, loss, eps)
    layer_errors = []
    for l in range(network.n_layers):
        g = np.concatenate([analytic.dW[l].ravel(), analytic.db[l]])
        g_hat = np.concatenate([numerical.dW[l].ravel(), numerical.db[l]])
        layer_errors.append(relative_error(g, g_hat))
    max_abs = float(np.max(np.abs(analytic.flat() - numerical.flat())))
    max_rel = max(layer_errors)
    return GradCheck(
        max_abs_error=max_abs,
        max_rel_error=max_rel,
        layer_rel_errors=layer_errors,
        tol=tol,
        passed=bool(max_rel <= tol),
        analytic=analytic,
        numerical=numerical,
    )


# ---------------------------------------------------------------------------------------------
# A hand-written training loop (eq 10)
# ---------------------------------------------------------------------------------------------


def _training_set(
    network: Network, X: Any, T: Any, loss: str, batch_size: Any
) -> tuple[np.ndarray, np.ndarray, int]:
    """``X`` and ``T`` checked against ``network`` and ``loss``, and the mini-batch size
    (default: every pattern)."""
    X = network._check_X(X)
    P = X.shape[0]
    if P == 0:
        raise ValueError("X must contain at least one pattern")
    T = prepare_targets(loss, T, P, network.sizes[-1])
    if batch_size is None:
        batch_size = P
    batch_size = check_positive(batch_size, "batch_size", integer=True)
    if batch_size > P:
        raise ValueError(f"batch_size must be <= the number of patterns ({P}); got {batch_size}")
    return X, T, batch_size


def _measure(
    network: Network, X: np.ndarray, T: np.ndarray, loss: str, X_val: Any, T_val: Any
) -> tuple[float, float, float | None]:
    """:func:`fit`'s record on checked arrays: the training loss, the norm of the full-batch
    gradient, and the validation loss (``None`` without a validation set)."""
    fw, primes = _forward_unchecked(network, X, primes=True)
    train_loss = _loss_value_unchecked(loss, fw.z[-1], fw.a[-1], T, X.shape[0])
    grad_norm = _backward_unchecked(network, fw, primes, T, loss).norm()
    val = None
    if X_val is not None:
        fw_val, _ = _forward_unchecked(network, X_val, primes=False)
        val = _loss_value_unchecked(loss, fw_val.z[-1], fw_val.a[-1], T_val, X_val.shape[0])
    return train_loss, grad_norm, val


def _sgd_step(network: Network, grads: Gradients, eta: float, clip_norm: float | None) -> None:
    """``W ← W − η c ∂E/∂W`` with ``c`` the clipping factor (1 without clipping)."""
    factor = 1.0
    if clip_norm is not None:
        # The same factor as torch.nn.utils.clip_grad_norm_, so that both loops of the book
        # clip identically.
        factor = min(1.0, clip_norm / (grads.norm() + 1e-6))
    for l in range(network.n_layers):
        # New arrays rather than -=, so arrays the caller passed in are not mutated.
        network.weights[l] = network.weights[l] - eta * factor * grads.dW[l]
        network.biases[l] = network.biases[l] - eta * factor * grads.db[l]


def fit(
    network: Network,
    X: Any,
    T: Any,
    *,
    loss: str = "mse",
    eta: float,
    epochs: int,
    batch_size: int | None = None,
    clip_norm: float | None = None,
    shuffle: bool = True,
    seed: int = 0,
    X_val: Any = None,
    T_val: Any = None,
    on_divergence: str = "raise",
) -> History:
    """Train ``network`` in place by plain (mini-batch) SGD, ``W ← W − η ∂E/∂W`` (eq 10).

    Parameters
    ----------
    network
        Updated in place.
    X, T
        Training inputs ``(P, n_0)`` and targets.
    loss
        One of :data:`LOSSES`.  ``"mse"`` (the default) is ``(1/P) Σ_p ½ ‖d^p − o^p‖²``, the
        paper's ½ and a sum over the ``K`` outputs: ``K/2`` times ``torch.nn.MSELoss()``, the
        same number as :func:`ebp.train.fit`'s ``"mse"`` (:mod:`ebp.losses`).
    eta
        Learning rate η > 0.
    epochs
        Number of passes through the training set (≥ 1).
    batch_size
        Patterns per update; ``None`` for full batch, 1 for online (stochastic) learning (eq 11).
    clip_norm
        If given, rescale each update's gradient so its global norm is at most ``clip_norm``.
    shuffle
        Visit the patterns in a fresh random order every epoch (§4.2).
    seed
        Seed of the shuffling generator.
    X_val, T_val
        Optional validation set, evaluated at every record.
    on_divergence
        ``"raise"``: raise :class:`~ebp.history.DivergenceError`; ``"stop"``: stop and return the
        history with ``diverged=True``, the message and the step (the network keeps its last
        weights, and the history only the finite rows before the divergence, as in
        :func:`ebp.train.fit`).

    Returns
    -------
    History
        Recorded before training and after every epoch: training loss, validation loss, and
        the norm of the full-batch training gradient.  Divergence (NaN/Inf or a blow-up of the
        loss, :func:`~ebp.history.check_divergence`, the rule of :func:`ebp.train.fit`) is
        checked after every update, using the loss of the mini-batch that update was computed
        on, and at every record.
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be an ebp.scratch.Network; got {type(network).__name__}")
    check_loss_activation(loss, network.activations[-1])
    X, T, batch_size = _training_set(network, X, T, loss, batch_size)
    P = X.shape[0]
    eta = check_positive(eta, "eta")
    epochs = check_positive(epochs, "epochs", integer=True)
    if clip_norm is not None:
        clip_norm = check_positive(clip_norm, "clip_norm")
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(f"shuffle must be a bool; got {type(shuffle).__name__}")
    seed = check_int(seed, "seed", min_value=0)
    check_choice(on_divergence, "on_divergence", ("raise", "stop"))
    if (X_val is None) != (T_val is None):
        raise ValueError("X_val and T_val must be given together")
    if X_val is not None:
        X_val = network._check_X(X_val, "X_val")
        T_val = prepare_targets(loss, T_val, X_val.shape[0], network.sizes[-1], name="T_val")

    rng = np.random.default_rng(seed)
    history = History()
    # Everything is checked above: the loop uses the unchecked inner path (the same arithmetic).

    def measure() -> tuple[float, float, float | None]:
        return _measure(network, X, T, loss, X_val, T_val)

    def record(presentations: int, train_loss: float, grad_norm: float, val: float | None) -> None:
        history.record(
            presentations=presentations,
            n_train=P,
            train_loss=train_loss,
            val_loss=val,
            grad_norm=grad_norm,
        )

    def diverged(message: str, step: int, value: float) -> History:
        if on_divergence == "raise":
            raise DivergenceError(message, step=step, loss=value)
        history.diverged = True
        history.message = message
        history.step = step
        return history

    step = 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        initial_loss, grad_norm, val = measure()
        if not math.isfinite(initial_loss):
            raise ValueError(
                f"the initial loss is not finite ({initial_loss}); check X, T and the weights"
            )
        record(0, initial_loss, grad_norm, val)
        # check_divergence finds nothing in a finite loss up to this limit (its blow-up rule).
        limit = blowup_factor(loss) * (abs(initial_loss) + 1.0)
        for epoch in range(epochs):
            order = rng.permutation(P) if shuffle else np.arange(P)
            for start in range(0, P, batch_size):
                idx = order[start : start + batch_size]
                T_batch = T[idx]
                fw, primes = _forward_unchecked(network, X[idx], primes=True)
                # The loss of this batch measures the weights after update number `step`
                # (the same convention as ebp.train.fit).
                batch_loss = _loss_value_unchecked(loss, fw.z[-1], fw.a[-1], T_batch, len(idx))
                if step > 0 and not (math.isfinite(batch_loss) and batch_loss <= limit):
                    message = check_divergence(
                        batch_loss, step=step, initial_loss=initial_loss, eta=eta, loss_name=loss
                    )
                    if message is not None:
                        return diverged(message, step, batch_loss)
                _sgd_step(
                    network, _backward_unchecked(network, fw, primes, T_batch, loss), eta, clip_norm
                )
                step += 1
            train_loss, grad_norm, val = measure()
            message = check_divergence(
                train_loss, step=step, initial_loss=initial_loss, eta=eta, loss_name=loss
            )
            if message is not None:  # the history keeps only finite rows, as in ebp.train.fit
                return diverged(message, step, train_loss)
            record((epoch + 1) * P, train_loss, grad_norm, val)
    return history
