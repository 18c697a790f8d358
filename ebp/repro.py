"""One call that makes a run reproducible."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int, *, deterministic: bool = True) -> np.random.Generator:
    """Seed Python, NumPy and PyTorch, and ask PyTorch for deterministic algorithms.

    Parameters
    ----------
    seed
        A non-negative integer.
    deterministic
        If true, ``torch.use_deterministic_algorithms(True)`` is switched on, so an operation
        without a deterministic implementation raises instead of silently varying.

    Returns
    -------
    numpy.random.Generator
        A fresh generator seeded with ``seed``: pass it on rather than using global state.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (legacy global state, seeded for third-party code)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
    return np.random.default_rng(seed)
