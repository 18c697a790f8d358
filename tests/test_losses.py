"""ebp.losses: shapes are never broadcast, loss classes are refused, models and inputs are
checked with messages that name the argument."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ebp import losses
from ebp import nn as ebp_nn
from ebp.rbf import rbf_network


def t(*rows):
    return torch.tensor(rows, dtype=torch.float64)


# ---------------------------------------------------------------------------------------------
# Shapes are never broadcast
# ---------------------------------------------------------------------------------------------


def test_mse_refuses_a_flat_target_against_a_column():
    out = torch.zeros(4, 1, dtype=torch.float64)
    target = torch.ones(4, dtype=torch.float64)
    # broadcasting (4, 1) - (4,) gives a (4, 4) difference: 4 x too large (2.0 instead of 0.5)
    with pytest.raises(ValueError, match=r"^target must have the shape of the output \(4, 1\)"):
        losses.mse_loss(out, target)
    # 1/P sum ½ (0 - 1)^2 = 0.5: a handful of exact binary fractions, no rounding
    assert float(losses.mse_loss(out, target[:, None])) == 0.5


@pytest.mark.parametrize("fn", [losses.bce_loss, losses.cross_entropy_loss])
def test_logit_losses_refuse_other_target_shapes(fn):
    logits = torch.zeros(4, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"^target must have the shape of the logits \(4, 2\)"):
        fn(logits, torch.full((4, 1), 0.5, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"^target must have the shape of the logits"):
        fn(logits, torch.full((2,), 0.5, dtype=torch.float64))


@pytest.mark.parametrize("fn", [losses.mse_loss, losses.bce_loss, losses.cross_entropy_loss])
def test_losses_take_real_tensors_only_naming_the_argument(fn):
    # the one shared check of the named losses: both arguments, by name; complex refused
    out_name = "output" if fn is losses.mse_loss else "logits"
    z, d = torch.zeros(4, 2), torch.full((4, 2), 0.5)
    with pytest.raises(TypeError, match=rf"^{out_name} must be a torch.Tensor"):
        fn(z.numpy(), d)
    with pytest.raises(TypeError, match=r"^target must be a torch.Tensor"):
        fn(z, [[0.5, 0.5]] * 4)
    with pytest.raises(TypeError, match=r"^target must be a tensor of real numbers"):
        fn(z, d.to(torch.complex64))
    with pytest.raises(TypeError, match=rf"^{out_name} must be a tensor of real numbers"):
        fn(z > 0, d)


def test_cross_entropy_integer_labels_are_checked_and_any_integer_dtype_works():
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.0, 1.0, -0.5]], dtype=torch.float64)
    labels = torch.tensor([0, 2])
    expected = torch.nn.functional.cross_entropy(logits, labels)
    assert torch.equal(losses.cross_entropy_loss(logits, labels), expected)
    assert torch.equal(losses.cross_entropy_loss(logits, labels.int()), expected)
    with pytest.raises(ValueError, match=r"^target class labels must lie in \[0, 2\]"):
        losses.cross_entropy_loss(logits, torch.tensor([0, 3]))
    with pytest.raises(ValueError, match=r"^target class labels must lie in \[0, 2\]"):
        losses.cross_entropy_loss(logits, torch.tensor([-100, 1]))  # torch's ignore_index
    # integer one-hot rows are not probability rows: shape (P,) is required
    with pytest.raises(ValueError, match=r"^target given as integer class labels must have shape"):
        losses.cross_entropy_loss(logits, torch.tensor([[1, 0, 0], [0, 0, 1]]))


def test_pattern_losses_average_to_the_loss():
    out = t([0.5, -1.0], [2.0, 0.0], [1.0, 1.0])
    d = t([0.0, 0.0], [1.0, 0.0], [0.0, 1.0])
    for name in ("mse", "bce", "cross_entropy"):
        fn = losses.get_loss(name)
        per = losses.pattern_losses(fn, name, out, d)
        # a mean of three terms against a sum divided by three: rounding only
        assert float(per.mean()) == pytest.approx(float(fn(out, d)), rel=1e-12)


def test_loss_classes_are_refused_and_instances_accepted():
    with pytest.raises(TypeError, match=r"^loss must be .* got the class .*MSELoss itself"):
        losses.get_loss(nn.MSELoss)
    with pytest.raises(TypeError, match=r"^loss must be"):
        losses.loss_name(nn.CrossEntropyLoss)
    instance = nn.MSELoss()
    assert losses.get_loss(instance) is instance and losses.loss_name(instance) is None
    assert losses.loss_name("softmax_ce") == "cross_entropy"


# ---------------------------------------------------------------------------------------------
# Models and inputs
# ---------------------------------------------------------------------------------------------


class Custom(nn.Module):
    """A model whose input width cannot be read off (its first module is not a Linear)."""

    def __init__(self, n_in: int = 3) -> None:
        super().__init__()
        self.inner = nn.Linear(n_in, 2)

    def forward(self, x):
        return self.inner(x)


class Pair(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(3, 1)

    def forward(self, x):
        return self.lin(x), x


def test_expected_input_width():
    assert losses.expected_input_width(ebp_nn.mlp((3, 4, 1))) == 3
    assert losses.expected_input_width(nn.Linear(5, 1)) == 5
    X = torch.randn(30, 2, generator=torch.Generator().manual_seed(0))
    assert losses.expected_input_width(rbf_network(X, 4, 1)) == 2
    assert losses.expected_input_width(Custom()) is None


def test_model_output_names_X_for_a_model_of_unknown_width():
    with pytest.raises(ValueError, match=r"^X must have the shape .* got shape \(2, 5\)"):
        losses.model_output(Custom(3), torch.zeros(2, 5), "X")
    # a known width was already checked: a shape error inside the model is the model's
    broken = nn.Sequential(nn.Linear(3, 4), nn.Linear(5, 1))
    with pytest.raises(RuntimeError):
        losses.model_output(broken, torch.zeros(2, 3), "X")


def test_model_output_refuses_a_tuple():
    with pytest.raises(TypeError, match=r"^model must return a single tensor.*tuple"):
        losses.model_output(Pair(), torch.zeros(2, 3))


def test_model_output_can_leave_the_buffers_untouched():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).double().train()
    before = {n: b.clone() for n, b in model.named_buffers()}
    X = torch.randn(8, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    out = losses.model_output(model, X, keep_buffers=True)
    for n, b in model.named_buffers():
        assert torch.equal(b, before[n]), n  # restored copies: bit-exact
    assert model.training
    # the outputs are those of the model in its own (training) mode
    torch.testing.assert_close(out, model(X), rtol=0, atol=0)


def test_parameter_checks_name_the_model():
    frozen = nn.Linear(2, 1).requires_grad_(False)
    with pytest.raises(ValueError, match=r"^model must have at least one parameter with"):
        losses.trainable_parameters(frozen)
    with pytest.raises(ValueError, match=r"^models\[0\] must have"):
        losses.trainable_parameters(frozen, "models[0]")
    bad = nn.Linear(2, 1)
    with torch.no_grad():
        bad.weight[0, 1] = float("nan")
    with pytest.raises(ValueError, match=r"^model must have finite parameters; 1 of its 3"):
        losses.check_finite_parameters(bad)
    losses.check_finite_parameters(nn.Linear(2, 1))


def test_check_scalar_loss():
    assert losses.check_scalar_loss(torch.tensor(1.0)).ndim == 0
    with pytest.raises(ValueError, match=r"^loss must return a scalar tensor.*\(4, 1\)"):
        losses.check_scalar_loss(torch.zeros(4, 1))
    with pytest.raises(ValueError, match=r"^loss must return a scalar tensor.*float"):
        losses.check_scalar_loss(1.0)
