"""ebp.schedules: learning-rate schedules η(t)."""

from __future__ import annotations

import numpy as np
import pytest

from ebp import schedules
from ebp.schedules import Constant, FromCallable, InverseTime, Schedule, StepDecay, as_schedule


def test_constant():
    s = Constant(0.3)
    assert [s(t) for t in (0, 1, 1000)] == [0.3, 0.3, 0.3]


def test_inverse_time_values_and_c_over_t_tail():
    s = InverseTime(0.5, 10)
    assert s(0) == 0.5
    assert s(10) == pytest.approx(0.25)  # halves after t0 updates
    assert s(30) == pytest.approx(0.5 * 10 / 40)
    # for t >> t0 it is the c/t annealing of eq 12 with c = eta0 * t0
    t = 10**6
    assert s(t) * t == pytest.approx(0.5 * 10, rel=1e-4)
    values = [s(t) for t in range(50)]
    assert all(np.diff(values) < 0)


def test_step_decay():
    s = StepDecay(1.0, 0.5, 3)
    assert [s(t) for t in range(8)] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]
    assert StepDecay(0.2, 1.0, 1)(100) == 0.2


def test_as_schedule():
    assert as_schedule(0.1) == Constant(0.1)
    s = InverseTime(1.0, 2.0)
    assert as_schedule(s) is s
    f = as_schedule(lambda t: 1.0 / (t + 1))
    assert isinstance(f, FromCallable) and isinstance(f, Schedule)
    assert f(3) == 0.25
    assert isinstance(as_schedule(np.float64(0.2)), Constant)


@pytest.mark.parametrize(
    ("make", "exc", "name"),
    [
        (lambda: Constant(0.0), ValueError, "eta"),
        (lambda: Constant(True), TypeError, "eta"),
        (lambda: InverseTime(-1.0, 10), ValueError, "eta0"),
        (lambda: InverseTime(1.0, 0), ValueError, "t0"),
        (lambda: StepDecay(1.0, 0.0, 2), ValueError, "factor"),
        (lambda: StepDecay(1.0, 1.5, 2), ValueError, "factor"),
        (lambda: StepDecay(1.0, 0.5, 0), ValueError, "every"),
        (lambda: StepDecay(1.0, 0.5, 2.5), TypeError, "every"),
        (lambda: as_schedule("0.1"), TypeError, "eta"),
        (lambda: as_schedule(-0.1), ValueError, "eta"),
        (lambda: as_schedule(float("nan")), ValueError, "eta"),
        (lambda: as_schedule(lambda t: -1.0), ValueError, "eta"),
        (lambda: Constant(0.1)(-1), ValueError, "t"),
        (lambda: Constant(0.1)(1.5), TypeError, "t"),
    ],
)
def test_bad_input_names_the_argument(make, exc, name):
    with pytest.raises(exc, match=name):
        make()


def test_callable_schedule_is_checked_at_every_call():
    s = as_schedule(lambda t: 1.0 if t < 3 else 0.0)
    assert s(2) == 1.0
    with pytest.raises(ValueError, match=r"eta\(3\)"):
        s(3)


def test_all_exported():
    for name in schedules.__all__:
        assert hasattr(schedules, name)


def test_a_rate_that_underflows_or_an_absurd_t_is_refused_naming_t():
    with pytest.raises(ValueError, match=r"^t = 4611686018427387904 is beyond this schedule"):
        InverseTime(1e-300, 1e-300)(2**62)  # 1e-600 / 2**62 underflows to 0
    assert StepDecay(0.1, 0.5, 1)(10**5) > 0  # StepDecay clamps at the smallest float
    with pytest.raises(ValueError, match=r"^t must be <= 9223372036854775807"):
        InverseTime(0.1, 10.0)(10**400)
    assert InverseTime(0.1, 10.0)(2**62) > 0
