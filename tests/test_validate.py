"""Bad input gets a ValueError/TypeError that names the argument (ebp._validate and its users)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ebp import _validate as v
from ebp import nn, scratch

# -- the helpers ------------------------------------------------------------------------------


def test_as_float_array_accepts_and_converts():
    out = v.as_float_array([[1, 2], [3, 4]], "X", ndim=2, shape=(None, 2))
    assert out.dtype == np.float64 and out.shape == (2, 2)
    t = torch.ones(3, dtype=torch.float32)
    assert v.as_float_array(t, "x").dtype == np.float64
    assert v.as_float_array([1.0, np.inf], "x", finite=False)[1] == np.inf


@pytest.mark.parametrize(
    ("value", "kwargs", "error", "pattern"),
    [
        ([1.0, np.nan], {}, ValueError, "X must be finite.*1 NaN"),
        ([1.0, np.inf], {}, ValueError, "X must be finite"),
        ([1.0, 2.0], {"ndim": 2}, ValueError, "X must be 2-dimensional; got shape"),
        (np.ones((2, 3)), {"shape": (None, 2)}, ValueError, r"X must have shape \(any, 2\)"),
        (np.ones(3), {"shape": (2,)}, ValueError, r"X must have shape \(2,\)"),
        ([True, False], {}, TypeError, "X must be an array of real numbers; got dtype bool"),
        (["a", "b"], {}, TypeError, "X must be an array of real numbers"),
        ("abc", {}, TypeError, "X must be an array of numbers"),
        (None, {}, TypeError, "X must be an array of numbers"),
        ([1 + 2j], {}, TypeError, "X must be an array of real numbers"),
    ],
)
def test_as_float_array_rejects(value, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        v.as_float_array(value, "X", **kwargs)


def test_as_tensor():
    t = v.as_tensor(np.ones((2, 3)), "X", ndim=2, dtype=torch.float64)
    assert t.dtype == torch.float64
    assert v.as_tensor([1, 2], "x").dtype == torch.float32
    half = torch.ones(2, dtype=torch.float16)
    assert v.as_tensor(half, "x").dtype == torch.float16
    with pytest.raises(ValueError, match="X must be finite"):
        v.as_tensor(torch.tensor([0.0, math.nan]), "X")
    with pytest.raises(ValueError, match="X must be 2-dimensional"):
        v.as_tensor(torch.ones(3), "X", ndim=2)
    with pytest.raises(TypeError, match="X must be a tensor of real numbers"):
        v.as_tensor(torch.tensor([True]), "X")
    with pytest.raises(TypeError, match="dtype"):
        v.as_tensor([1.0], "X", dtype=torch.int64)


def test_check_int():
    assert v.check_int(np.int64(3), "n") == 3
    with pytest.raises(TypeError, match="n must be an int; got bool"):
        v.check_int(True, "n")
    with pytest.raises(TypeError, match="n must be an int; got float"):
        v.check_int(3.0, "n")
    with pytest.raises(ValueError, match="n must be >= 1; got 0"):
        v.check_int(0, "n", min_value=1)
    with pytest.raises(ValueError, match="n must be <= 5; got 6"):
        v.check_int(6, "n", max_value=5)


def test_check_positive():
    assert v.check_positive(0.5, "eta") == 0.5
    assert v.check_positive(0, "mu", allow_zero=True) == 0.0
    assert v.check_positive(4, "epochs", integer=True) == 4
    with pytest.raises(ValueError, match="eta must be > 0; got 0"):
        v.check_positive(0, "eta")
    with pytest.raises(ValueError, match="eta must be > 0"):
        v.check_positive(-1e-3, "eta")
    with pytest.raises(ValueError, match="mu must be >= 0"):
        v.check_positive(-1, "mu", allow_zero=True)
    with pytest.raises(ValueError, match="eta must be finite"):
        v.check_positive(math.inf, "eta")
    with pytest.raises(ValueError, match="eta must be finite"):
        v.check_positive(math.nan, "eta")
    with pytest.raises(TypeError, match="eta must be a real number; got bool"):
        v.check_positive(True, "eta")
    with pytest.raises(TypeError, match="eta must be a real number; got str"):
        v.check_positive("0.1", "eta")
    with pytest.raises(TypeError, match="epochs must be an int; got float"):
        v.check_positive(2.5, "epochs", integer=True)


def test_check_in_range_and_probability():
    assert v.check_in_range(0.5, "gamma", 0, 1) == 0.5
    assert v.check_probability(1, "p") == 1.0
    with pytest.raises(ValueError, match=r"gamma must be in \(0, 1\); got 1"):
        v.check_in_range(1.0, "gamma", 0, 1, low_inclusive=False, high_inclusive=False)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]; got 1.5"):
        v.check_probability(1.5, "p")
    with pytest.raises(ValueError, match=r"p must be in \(0, 1\)"):
        v.check_probability(0.0, "p", open_interval=True)
    with pytest.raises(ValueError, match=r"x must be in \[2, inf\)"):
        v.check_in_range(1, "x", low=2)
    with pytest.raises(TypeError, match="p must be a real number"):
        v.check_probability(False, "p")
    with pytest.raises(ValueError, match="p must be finite"):
        v.check_probability(math.nan, "p")


def test_check_choice_message_lists_options():
    with pytest.raises(ValueError) as info:
        v.check_choice("sigmoidd", "activation", scratch.ACTIVATIONS)
    assert str(info.value) == (
        "activation must be one of 'identity', 'lecun_tanh', 'logistic', 'relu', 'tanh'; "
        "got 'sigmoidd'"
    )
    with pytest.raises(TypeError, match="activation must be a string"):
        v.check_choice(3, "activation", ["a"])


def test_check_sizes():
    assert v.check_sizes([2, np.int64(3), 1]) == (2, 3, 1)
    with pytest.raises(ValueError, match="sizes must have at least 2"):
        v.check_sizes([3])
    with pytest.raises(ValueError, match=r"sizes\[1\] must be > 0; got 0"):
        v.check_sizes([3, 0, 1])
    with pytest.raises(ValueError, match=r"sizes\[0\] must be > 0"):
        v.check_sizes([-2, 1])
    with pytest.raises(TypeError, match=r"sizes\[1\] must be an int; got bool"):
        v.check_sizes([3, True])
    with pytest.raises(TypeError, match=r"sizes\[0\] must be an int; got float"):
        v.check_sizes([2.0, 1])
    with pytest.raises(TypeError, match="sizes must be a sequence"):
        v.check_sizes(3)
    with pytest.raises(TypeError, match="sizes must be a sequence"):
        v.check_sizes("23")


# -- scratch ----------------------------------------------------------------------------------


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return (
        scratch.Network.create((2, 3, 1), seed=0),
        rng.normal(size=(5, 2)),
        rng.normal(size=(5, 1)),
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"sizes": (2,)}, ValueError, "sizes"),
        ({"sizes": (2, 0, 1)}, ValueError, r"sizes\[1\]"),
        ({"sizes": (2, True)}, TypeError, r"sizes\[1\]"),
        ({"activation": "sigmoidd"}, ValueError, "activation must be one of"),
        ({"output_activation": "softmax"}, ValueError, "output_activation must be one of"),
        ({"init": "xavier"}, ValueError, "init must be one of"),
        ({"scale": 0.0}, ValueError, "scale must be > 0"),
        ({"scale": math.nan}, ValueError, "scale must be finite"),
        ({"seed": -1}, ValueError, "seed must be >= 0"),
        ({"seed": 1.5}, TypeError, "seed must be an int"),
    ],
)
def test_network_create_rejects(kwargs, error, pattern):
    args = {"sizes": (2, 3, 1), **kwargs}
    with pytest.raises(error, match=pattern):
        scratch.Network.create(**args)


def test_network_constructor_rejects_inconsistent_layers():
    W1, W2 = np.ones((3, 2)), np.ones((1, 4))
    with pytest.raises(ValueError, match=r"weights\[1\] must have 3 columns"):
        scratch.Network([W1, W2], [np.zeros(3), np.zeros(1)], ["tanh", "identity"])
    with pytest.raises(ValueError, match=r"biases\[0\] must have shape \(3,\)"):
        scratch.Network([W1], [np.zeros(2)], ["tanh"])
    with pytest.raises(ValueError, match="one entry per layer"):
        scratch.Network([W1], [np.zeros(3)], ["tanh", "tanh"])
    with pytest.raises(ValueError, match=r"weights\[0\] must be finite"):
        scratch.Network([W1 * np.nan], [np.zeros(3)], ["tanh"])
    with pytest.raises(ValueError, match=r"activations\[0\] must be one of"):
        scratch.Network([W1], [np.zeros(3)], ["sigmoid"])


def test_forward_and_loss_reject_bad_batches(data):
    net, X, T = data
    with pytest.raises(ValueError, match=r"X must have shape \(any, 2\)"):
        net.forward(np.ones((5, 3)))
    with pytest.raises(ValueError, match="X must be 2-dimensional"):
        net.forward(np.ones(2))
    with pytest.raises(ValueError, match="X must be finite"):
        net.forward(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match=r"T must have shape \(5, 1\)"):
        net.loss(X, np.ones((4, 1)))
    with pytest.raises(ValueError, match="T must be finite"):
        net.loss(X, np.full((5, 1), np.inf))
    with pytest.raises(ValueError, match="loss must be one of"):
        net.loss(X, T, loss="hinge")
    with pytest.raises(ValueError, match="theta must have shape"):
        net.set_flat(np.zeros(3))


def test_wrong_output_activation_for_bce_and_softmax_ce(data):
    net, X, T = data  # identity output
    with pytest.raises(ValueError, match="output_activation must be 'logistic' for loss='bce'"):
        net.loss(X, np.clip(T, 0, 1), loss="bce")
    logistic = scratch.Network.create((2, 3, 2), output_activation="logistic")
    with pytest.raises(ValueError, match="output_activation must be 'identity' for loss="):
        logistic.gradients(X, np.array([0, 1, 1, 0, 1]), loss="softmax_ce")
    with pytest.raises(ValueError, match="output_activation"):
        scratch.fit(logistic, X, np.array([0, 1, 1, 0, 1]), loss="softmax_ce", eta=0.1, epochs=1)


def test_bad_targets_for_classification_losses():
    X = np.zeros((3, 2))
    clf = scratch.Network.create((2, 3), output_activation="identity")
    with pytest.raises(ValueError, match=r"T class labels must lie in \[0, 2\]"):
        clf.loss(X, np.array([0, 1, 3]), "softmax_ce")
    with pytest.raises(TypeError, match="T given as class labels must be integers"):
        clf.loss(X, np.array([0.0, 0.5, 1.0]), "softmax_ce")
    with pytest.raises(ValueError, match="T must be one-hot"):
        clf.loss(X, np.full((3, 3), 0.5), "softmax_ce")
    with pytest.raises(ValueError, match="T must have 3 class labels"):
        clf.loss(X, np.array([0, 1]), "softmax_ce")
    binary = scratch.Network.create((2, 1), output_activation="logistic")
    with pytest.raises(ValueError, match=r"T must lie in \[0, 1\]"):
        binary.loss(X, np.array([[-1.0], [1.0], [0.0]]), "bce")


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"eta": 0.0}, ValueError, "eta must be > 0"),
        ({"eta": -0.1}, ValueError, "eta must be > 0"),
        ({"eta": math.inf}, ValueError, "eta must be finite"),
        ({"eta": True}, TypeError, "eta must be a real number; got bool"),
        ({"epochs": 0}, ValueError, "epochs must be > 0"),
        ({"epochs": True}, TypeError, "epochs must be an int; got bool"),
        ({"epochs": 2.0}, TypeError, "epochs must be an int"),
        ({"batch_size": 0}, ValueError, "batch_size must be > 0"),
        ({"batch_size": 6}, ValueError, "batch_size must be <= the number of patterns"),
        ({"batch_size": True}, TypeError, "batch_size must be an int; got bool"),
        ({"clip_norm": -1.0}, ValueError, "clip_norm must be > 0"),
        ({"seed": -3}, ValueError, "seed must be >= 0"),
        ({"shuffle": 1}, TypeError, "shuffle must be a bool"),
        ({"on_divergence": "ignore"}, ValueError, "on_divergence must be one of"),
        ({"loss": "l1"}, ValueError, "loss must be one of"),
        ({"X_val": np.zeros((2, 2))}, ValueError, "X_val and T_val"),
        ({"X_val": np.zeros((2, 3)), "T_val": np.zeros((2, 1))}, ValueError, "X_val must have"),
        ({"X_val": np.zeros((2, 2)), "T_val": np.zeros((3, 1))}, ValueError, "T_val must have"),
    ],
)
def test_fit_rejects(data, kwargs, error, pattern):
    net, X, T = data
    args = {"eta": 0.1, "epochs": 2, **kwargs}
    with pytest.raises(error, match=pattern):
        scratch.fit(net, X, T, **args)


def test_fit_rejects_non_network_and_bad_data(data):
    net, X, T = data
    with pytest.raises(TypeError, match="network must be"):
        scratch.fit(nn.from_scratch(net), X, T, eta=0.1, epochs=1)
    with pytest.raises(ValueError, match="X must be finite"):
        scratch.fit(net, np.where(X > 0, np.inf, X), T, eta=0.1, epochs=1)
    with pytest.raises(ValueError, match=r"T must have shape \(5, 1\)"):
        scratch.fit(net, X, T[:3], eta=0.1, epochs=1)


def test_gradient_check_rejects_bad_eps_and_tol(data):
    net, X, T = data
    with pytest.raises(ValueError, match="eps must be > 0"):
        scratch.numerical_gradient(net, X, T, eps=0.0)
    with pytest.raises(ValueError, match="tol must be > 0"):
        scratch.gradient_check(net, X, T, tol=-1.0)


def test_get_activation_rejects_unknown_names():
    with pytest.raises(ValueError, match=r"activation must be one of .*got 'sigmoidd'"):
        scratch.get_activation("sigmoidd")
    with pytest.raises(ValueError, match="activation must be one of"):
        nn.get_activation("Tanh")


# -- nn ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"sizes": [4]}, ValueError, "sizes"),
        ({"sizes": [4, -1]}, ValueError, r"sizes\[1\]"),
        ({"sizes": [4, 2.0]}, TypeError, r"sizes\[1\]"),
        ({"activation": "gelu"}, ValueError, "activation must be one of"),
        ({"output_activation": "softmax"}, ValueError, "output_activation must be one of"),
        ({"init": "xavier"}, ValueError, "init must be one of"),
        ({"scale": -1.0}, ValueError, "scale must be > 0"),
        ({"seed": True}, TypeError, "seed must be an int; got bool"),
        ({"seed": -1}, ValueError, "seed must be >= 0"),
        ({"dtype": torch.int32}, TypeError, "dtype must be a floating torch dtype"),
        ({"dtype": np.float32}, TypeError, "dtype must be a floating torch dtype"),
    ],
)
def test_mlp_rejects(kwargs, error, pattern):
    args = {"sizes": [4, 3, 2], **kwargs}
    with pytest.raises(error, match=pattern):
        nn.mlp(**args)


def test_init_weights_rejects():
    layer = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="scheme must be one of"):
        nn.init_weights_(layer, "glorot")
    with pytest.raises(TypeError, match=r"generator must be a torch\.Generator"):
        nn.init_weights_(layer, generator=0)
    with pytest.raises(TypeError, match=r"module must be a torch\.nn\.Module"):
        nn.init_weights_(np.ones(3))
    with pytest.raises(ValueError, match="module must contain at least one"):
        nn.init_weights_(torch.nn.Tanh())
    with pytest.raises(ValueError, match="scale must be > 0"):
        nn.init_weights_(layer, scale=0.0)


def test_from_scratch_rejects():
    with pytest.raises(TypeError, match=r"network must be an ebp\.scratch\.Network"):
        nn.from_scratch(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="dtype"):
        nn.from_scratch(scratch.Network.create((2, 1)), dtype=torch.int64)


@pytest.mark.parametrize(
    "ragged", [[[1.0, 2.0], [3.0]], [[1.0], [2.0, 3.0], []], [1.0, [2.0, 3.0]]]
)
@pytest.mark.parametrize("convert", [v.real_array, v.as_float_array, v.as_tensor])
def test_ragged_lists_are_refused_naming_the_argument(convert, ragged):
    with pytest.raises(ValueError, match=r"^X must be a rectangular array of numbers"):
        convert(ragged, "X")


@pytest.mark.parametrize("convert", [v.real_array, v.as_float_array, v.as_tensor])
def test_extended_precision_is_refused_naming_the_argument(convert):
    with pytest.raises(TypeError, match=r"^X must be float16, float32 or float64; got dtype"):
        convert(np.ones((2, 2), dtype=np.longdouble), "X")


@pytest.mark.parametrize(
    "value",
    [
        np.ones(3, dtype=bool),
        np.ones(3, dtype=complex),
        np.array([1, "a"], dtype=object),
        ["a", "b"],
        None,
        "abc",
        b"abc",
    ],
)
@pytest.mark.parametrize("convert", [v.real_array, v.as_float_array, v.as_tensor])
def test_non_real_input_is_refused_naming_the_argument(convert, value):
    with pytest.raises(TypeError, match=r"^X must be"):
        convert(value, "X")


def test_real_array_keeps_integers_and_floats():
    assert v.real_array([1, 2], "X").dtype.kind == "i"
    assert v.real_array(np.ones(2, dtype=np.float32), "X").dtype == np.float32
    assert v.real_array(torch.ones(2, dtype=torch.float64), "X").dtype == np.float64
    assert v.as_tensor(np.ones((2, 2), dtype=np.float32), "X").dtype == torch.float32
