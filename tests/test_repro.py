"""ebp.seed_everything makes torch, NumPy and Python's random reproducible."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from ebp import seed_everything


@pytest.fixture(autouse=True)
def _restore_determinism():
    before = torch.are_deterministic_algorithms_enabled()
    yield
    torch.use_deterministic_algorithms(before)


def draws():
    return (
        torch.randn(5),
        np.random.rand(5),  # noqa: NPY002 (the legacy global state is what is being tested)
        random.random(),
    )


def test_same_seed_same_numbers():
    seed_everything(42)
    t1, n1, r1 = draws()
    seed_everything(42)
    t2, n2, r2 = draws()
    assert torch.equal(t1, t2)
    np.testing.assert_array_equal(n1, n2)
    assert r1 == r2
    seed_everything(43)
    t3, n3, r3 = draws()
    assert not torch.equal(t1, t3)
    assert not np.array_equal(n1, n3)
    assert r1 != r3


def test_returns_a_seeded_generator():
    a = seed_everything(7).normal(size=4)
    b = seed_everything(7).normal(size=4)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, np.random.default_rng(7).normal(size=4))


def test_deterministic_flag():
    seed_everything(0, deterministic=True)
    assert torch.are_deterministic_algorithms_enabled()


@pytest.mark.parametrize(
    ("seed", "error"),
    [(-1, ValueError), (2**32, ValueError), (1.0, TypeError), (True, TypeError), ("1", TypeError)],
)
def test_bad_seeds(seed, error):
    with pytest.raises(error, match="seed"):
        seed_everything(seed)


def test_single_threaded_restores_the_thread_counts():
    from threadpoolctl import threadpool_info

    from ebp.repro import single_threaded

    before = torch.get_num_threads()
    blas_before = [pool["num_threads"] for pool in threadpool_info()]
    with single_threaded():
        assert torch.get_num_threads() == 1
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())
    assert torch.get_num_threads() == before
    assert [pool["num_threads"] for pool in threadpool_info()] == blas_before


@pytest.mark.parametrize("flag", ["no", None, 1, 0.0])
def test_deterministic_must_be_a_bool(flag):
    with pytest.raises(TypeError, match=r"^deterministic must be a bool"):
        seed_everything(0, deterministic=flag)
