"""Dropout and batch-norm layers in training mode: the one check behind the warnings of
:class:`ebp.hessian.HessianOperator`, :mod:`ebp.landscape` and
:func:`ebp.second_order.model_objective`.

Such a layer makes a model's loss random (dropout) or couple the patterns of a batch
(batch-norm), so it is not one fixed function of the weights.  Nothing is switched for the
user: the check only names the layers and warns.
"""

from __future__ import annotations

import warnings

from torch import nn

__all__ = ["NondeterministicOperatorWarning", "stochastic_layers", "warn_if_stochastic"]

EVAL_ADVICE = "call model.eval() first if that is what you mean (nothing is switched for you)"
"""The advice that ends the warning unless a caller gives its own."""


class NondeterministicOperatorWarning(UserWarning):
    """The model has dropout or batch-norm layers in training mode: its loss is not one fixed
    function of the weights, so neither is its Hessian.  Call ``model.eval()`` first if that is
    what you mean; nothing is switched for you."""


def stochastic_layers(model: nn.Module) -> list[str]:
    """The names of ``model``'s dropout and batch-norm layers that are in training mode."""
    kinds = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._BatchNorm)
    return [
        n or type(m).__name__
        for n, m in model.named_modules()
        if isinstance(m, kinds) and m.training
    ]


def warn_if_stochastic(
    model: nn.Module, consequence: str, advice: str = EVAL_ADVICE, *, stacklevel: int = 2
) -> list[str]:
    """Warn (:class:`NondeterministicOperatorWarning`) when ``model`` has dropout or
    batch-norm layers in training mode, and return their names (empty: no warning).

    The message is ``"model has dropout or batch-norm layers in training mode (<names>):
    <consequence>; <advice>"``.  ``stacklevel`` counts from the caller, as for
    :func:`warnings.warn` called there (2: the caller's caller).
    """
    layers = stochastic_layers(model)
    if layers:
        warnings.warn(
            f"model has dropout or batch-norm layers in training mode ({', '.join(layers)}): "
            f"{consequence}; {advice}",
            NondeterministicOperatorWarning,
            stacklevel=stacklevel + 1,
        )
    return layers
