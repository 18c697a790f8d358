"""One call that makes a run reproducible."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator

import numpy as np
import torch
from threadpoolctl import threadpool_limits


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
    if not isinstance(deterministic, (bool, np.bool_)):
        raise TypeError(
            f"deterministic must be a bool; got {type(deterministic).__name__} {deterministic!r}"
        )
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (legacy global state, seeded for third-party code)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
    return np.random.default_rng(seed)


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Run PyTorch and the BLAS behind NumPy on one thread inside the block, then restore.

    The book's networks are tiny: one thread is as fast as several, it does not stall when the
    machine's cores are shared with other work, and the order of floating-point sums no longer
    depends on how many cores the machine has.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(previous)
