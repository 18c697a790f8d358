"""ebp.engine.Guard's quick test of a loss agrees with ebp.history.check_divergence."""

from __future__ import annotations

import math

import pytest

from ebp.engine import Guard
from ebp.history import History, blowup_factor, check_divergence


class _Rates:
    def last_eta(self, k: int, t: int) -> float:
        return 0.1 * (k + 1)


@pytest.mark.parametrize("loss_name", ["mse", "cross_entropy", "bce", None])
@pytest.mark.parametrize("initial", [0.0, 2.5, -1.0])
def test_guard_check_agrees_with_check_divergence(loss_name, initial):
    limit = blowup_factor(loss_name) * (abs(initial) + 1.0)
    values = [
        initial,
        limit,
        math.nextafter(limit, 0.0),
        math.nextafter(limit, math.inf),
        2 * limit,
        math.inf,
        -math.inf,
        math.nan,
        -limit * 10,
    ]
    for value in values:
        guard = Guard([History(), History()], "stop", loss_name, True, _Rates())
        guard.start([1.0, initial])
        expected = check_divergence(
            value, step=3, initial_loss=initial, eta=0.2, loss_name=loss_name
        )
        assert guard.check(1, value, 3) is (expected is not None), value
        assert guard.active == [True, expected is None]
        assert guard.histories[1].message == expected
