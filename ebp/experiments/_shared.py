"""Helpers several experiment modules share (validation and small model utilities)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn as tnn

from ebp._validate import check_int


def check_seeds(seeds: Sequence[int]) -> list[int]:
    """``seeds`` as a non-empty list of non-negative ints.

    Raises
    ------
    TypeError
        When ``seeds`` is not a sequence (a string is not one).
    ValueError
        When it is empty or holds a negative or non-integer value.
    """
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, (Sequence, np.ndarray)):
        raise TypeError(f"seeds must be a sequence of ints; got {type(seeds).__name__}")
    if len(seeds) == 0:
        raise ValueError("seeds must contain at least one seed")
    return [check_int(s, f"seeds[{i}]", min_value=0) for i, s in enumerate(seeds)]


def linears(model: tnn.Module) -> list[tnn.Linear]:
    """The ``nn.Linear`` layers of ``model``, in order."""
    return [m for m in model.modules() if isinstance(m, tnn.Linear)]


def outputs(model: tnn.Module, X: np.ndarray) -> np.ndarray:
    """``model(X)`` without gradients, the inputs cast to float32, the result as float64."""
    with torch.no_grad():
        return model(torch.as_tensor(X, dtype=torch.float32)).numpy().astype(np.float64)
