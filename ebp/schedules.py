"""Learning-rate schedules: the rate η as a function of the update count (paper §4.1, eq 12).

A schedule is a small callable ``eta_at(t) -> float`` where ``t`` is the 0-based number of
updates done so far, so ``eta_at(0)`` is the rate of the first update.  :func:`ebp.train.fit`
accepts a schedule wherever it accepts a constant ``eta``.

The paper's remedy for the noise of stochastic learning (§4.1) is to anneal the rate like
``η(t) ≈ c/t`` (eq 12).  :class:`InverseTime` is that schedule made finite at ``t = 0``:
``η(t) = η₀ t₀/(t₀ + t)``, which equals ``c/t`` with ``c = η₀ t₀`` for ``t ≫ t₀``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ebp._validate import check_in_range, check_int, check_positive, describe

__all__ = ["Constant", "FromCallable", "InverseTime", "Schedule", "StepDecay", "as_schedule"]


_T_MAX = 2**63 - 1
"""The largest update count a schedule accepts (an int64, as PyTorch counts steps)."""


class Schedule(ABC):
    """A learning rate ``η(t)`` for the 0-based update count ``t``; call it as ``schedule(t)``."""

    def __call__(self, t: int) -> float:
        """The rate of update number ``t`` (0-based), a finite float > 0.

        Raises
        ------
        ValueError
            If ``t`` is negative or beyond ``2**63 - 1``, or if the rate at ``t`` is not a finite
            number > 0 (e.g. a decay that underflowed to 0 after very many updates).
        """
        t = check_int(t, "t", min_value=0, max_value=_T_MAX)
        eta = self.eta_at(t)
        if not (math.isfinite(eta) and eta > 0):
            raise ValueError(
                f"t = {t} is beyond this schedule's range: {self!r} gives the rate {eta!r} there, "
                "not a finite number > 0"
            )
        return eta

    @abstractmethod
    def eta_at(self, t: int) -> float:
        """The rate of update ``t`` (``t`` already checked to be an int ≥ 0)."""


@dataclass(frozen=True)
class Constant(Schedule):
    """``η(t) = eta`` for every ``t`` (what a plain float ``eta`` means)."""

    eta: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "eta", check_positive(self.eta, "eta"))

    def eta_at(self, t: int) -> float:
        """``eta``."""
        return self.eta


@dataclass(frozen=True)
class InverseTime(Schedule):
    """``η(t) = η₀ t₀ / (t₀ + t)``: the ``c/t`` annealing of paper eq 12, bounded at the start.

    For ``t ≪ t₀`` the rate stays near ``η₀``; for ``t ≫ t₀`` it is ``c/t`` with ``c = η₀ t₀``,
    the decay that stochastic approximation needs to average out the gradient noise (§4.1).

    Parameters
    ----------
    eta0
        Rate of the first update, > 0.
    t0
        Number of updates over which the rate halves for the first time, > 0.
    """

    eta0: float
    t0: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "eta0", check_positive(self.eta0, "eta0"))
        object.__setattr__(self, "t0", check_positive(self.t0, "t0"))

    def eta_at(self, t: int) -> float:
        """``η₀ t₀ / (t₀ + t)``."""
        return self.eta0 * self.t0 / (self.t0 + t)


@dataclass(frozen=True)
class StepDecay(Schedule):
    """``η(t) = η₀ · factor^⌊t / every⌋``: multiply the rate by ``factor`` every ``every`` updates.

    Parameters
    ----------
    eta0
        Rate of the first ``every`` updates, > 0.
    factor
        Multiplier in (0, 1].
    every
        Updates between two decays, an int ≥ 1 (one epoch of online learning is ``P`` updates).
    """

    eta0: float
    factor: float
    every: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "eta0", check_positive(self.eta0, "eta0"))
        factor = check_in_range(self.factor, "factor", 0.0, 1.0, low_inclusive=False)
        object.__setattr__(self, "factor", factor)
        object.__setattr__(self, "every", check_int(self.every, "every", min_value=1))

    def eta_at(self, t: int) -> float:
        """``η₀ · factor^(t // every)``, never below the smallest positive float."""
        return max(self.eta0 * self.factor ** (t // self.every), math.ulp(0.0))


class FromCallable(Schedule):
    """Any function ``f(t) -> float`` as a schedule; each value is checked to be finite and > 0."""

    def __init__(self, fn: Callable[[int], float]) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be callable; got {describe(fn)}")
        self.fn = fn

    def eta_at(self, t: int) -> float:
        """``f(t)``, checked."""
        return check_positive(self.fn(t), f"eta({t})")

    def __repr__(self) -> str:
        return f"FromCallable({self.fn!r})"


def as_schedule(eta: Any, name: str = "eta") -> Schedule:
    """``eta`` as a :class:`Schedule`.

    Parameters
    ----------
    eta
        A number > 0 (→ :class:`Constant`), a :class:`Schedule` (returned as is), or any other
        callable ``f(t) -> float`` (→ :class:`FromCallable`, checked at every call).  Anything
        else raises a ``TypeError`` naming ``name``.
    name
        The argument's name, for error messages.
    """
    if isinstance(eta, Schedule):
        eta(0)  # a schedule whose first rate is invalid fails now, not at the first update
        return eta
    if callable(eta) and not isinstance(eta, type):
        schedule = FromCallable(eta)
        try:
            schedule(0)
        except (TypeError, ValueError) as err:
            raise type(err)(f"{name}: {err}") from err
        return schedule
    return Constant(check_positive(eta, name))
