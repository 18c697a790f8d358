"""The order in which an epoch presents the patterns (paper §4.2), and emphasizing.

Stochastic learning is sensitive to the order of the patterns: successive patterns from the
same class teach the network the same thing twice and then pull it back the other way.  The
paper's advice (§4.2) is to shuffle so that successive patterns rarely share a class, and to
present the patterns with a large error more often than the easy ones (the *emphasizing
scheme*), while beware of outliers, which always have a large error.

:func:`epoch_order` gives the index order of one epoch; :class:`EmphasisSampler` draws an
epoch's presentation sequence with the high-error patterns repeated, under a cap that keeps one
outlier from taking over.  Both take a seeded ``torch.Generator`` and never touch the global
random state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ebp._validate import (
    as_float_array,
    check_choice,
    check_in_range,
    check_int,
    check_positive,
    real_array,
)

__all__ = ["ORDERS", "Emphasis", "EmphasisSampler", "emphasis_probabilities", "epoch_order"]

ORDERS: tuple[str, ...] = ("shuffle", "fixed", "class_sorted", "interleaved")
"""The presentation orders :func:`epoch_order` knows."""


def _check_generator(generator: Any) -> torch.Generator:
    if generator is None:
        return torch.Generator().manual_seed(0)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator; got {type(generator).__name__}")
    return generator


def _check_labels(labels: Any, n: int) -> np.ndarray:
    if labels is None:
        raise ValueError("labels must be given (one class label per pattern) for this order")
    arr = real_array(labels, "labels")
    if arr.dtype == np.bool_ or arr.dtype.kind not in "iu":
        raise TypeError(f"labels must be integer class labels; got dtype {arr.dtype}")
    if arr.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), one label per pattern; got {arr.shape}")
    return arr.astype(np.int64)


def _shuffled(indices: np.ndarray, generator: torch.Generator) -> np.ndarray:
    perm = torch.randperm(len(indices), generator=generator).numpy()
    return indices[perm]


def epoch_order(
    kind: str,
    n: int,
    *,
    labels: Any = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """The indices ``0 … n−1`` in the order one epoch presents them.

    Parameters
    ----------
    kind
        ``"shuffle"``: a fresh random permutation (exactly ``torch.randperm(n, generator=…)``);
        ``"fixed"``: ``0, 1, …, n−1`` every epoch (the generator is not used);
        ``"class_sorted"``: all patterns of the smallest label, then the next label, … – the bad
        order of §4.2 – each class in a random order;
        ``"interleaved"``: successive patterns rarely share a class (§4.2).  Each class is
        shuffled, then each position takes the next pattern of the class with the most
        patterns left among those other than the previous position's class (ties broken by a
        random class priority drawn once per epoch).  This greedy rule gives no two successive
        patterns of the same class whenever that is possible (no class holds more than
        ``⌈n/2⌉`` patterns); with balanced classes it cycles through all the classes.
    n
        Number of patterns, ≥ 1.
    labels
        Integer class labels ``(n,)``; required by ``"class_sorted"`` and ``"interleaved"``.
    generator
        Source of randomness (default: a fresh generator seeded with 0).

    Returns
    -------
    torch.Tensor
        A permutation of ``0 … n−1`` (int64, on the CPU).
    """
    check_choice(kind, "kind", ORDERS)
    n = check_int(n, "n", min_value=1)
    generator = _check_generator(generator)
    if kind == "shuffle":
        return torch.randperm(n, generator=generator)
    if kind == "fixed":
        return torch.arange(n)
    y = _check_labels(labels, n)
    classes = np.unique(y)
    if kind == "class_sorted":
        parts = [_shuffled(np.flatnonzero(y == c), generator) for c in classes]
        return torch.from_numpy(np.concatenate(parts))
    queues = [list(_shuffled(np.flatnonzero(y == c), generator)) for c in classes]
    priority = torch.randperm(len(classes), generator=generator).tolist()
    left = np.array([len(q) for q in queues])
    order = np.empty(n, dtype=np.int64)
    previous = -1
    for i in range(n):
        best = -1
        for k in priority:
            if left[k] == 0 or k == previous:
                continue
            if best < 0 or left[k] > left[best]:
                best = k
        if best < 0:  # only the previous class has patterns left
            best = previous
        order[i] = queues[best][len(queues[best]) - left[best]]
        left[best] -= 1
        previous = best
    return torch.from_numpy(order)


# ---------------------------------------------------------------------------------------------
# Emphasizing (§4.2)
# ---------------------------------------------------------------------------------------------


def _capped_proportional(weights: np.ndarray, cap: float) -> np.ndarray:
    """``q_i = min(cap/n, λ w_i)`` with ``Σ q = 1``; spare mass goes evenly to zero weights."""
    n = weights.size
    hi = cap / n
    if weights.max() > 0:  # scale to max 1: sums cannot overflow, tiny shares do not underflow
        weights = weights / weights.max()
    q = np.zeros(n)
    capped = np.zeros(n, dtype=bool)
    positive = weights > 0
    while True:
        free = positive & ~capped
        mass = 1.0 - hi * np.count_nonzero(capped)
        total = weights[free].sum()
        if not free.any() or total <= 0:
            break
        q[free] = mass * (weights[free] / total)
        over = free & (q >= hi)
        if not over.any():
            break
        capped |= over
        q[capped] = hi
    q[capped] = hi
    zero = ~positive
    if not (positive & ~capped).any() and zero.any():
        # the positive weights cannot take all the mass within the cap: share the rest evenly
        # among the zero-weight patterns (each gets ≤ 1/n ≤ cap/n)
        q[zero] = max(1.0 - hi * np.count_nonzero(capped), 0.0) / np.count_nonzero(zero)
    return np.minimum(q, hi)


def emphasis_probabilities(
    errors: Any, *, cap: float = 4.0, power: float = 1.0, floor: float = 0.0
) -> np.ndarray:
    """Presentation probabilities ∝ ``error^power``, each capped at ``cap`` times uniform.

    The rule, exactly.  Let ``n`` be the number of patterns and ``w_i = e_i^power`` (with
    ``0^power = 0``).  First the *capped proportional* distribution ``q``:
    ``q_i = min(c/n, λ w_i)`` with ``c = (cap − floor)/(1 − floor)`` and ``λ`` the unique value
    that makes ``Σ q_i = 1`` (found by water-filling: cap the largest shares, rescale the rest,
    repeat).  If even ``λ → ∞`` leaves mass over (fewer than ``n/c`` patterns have a non-zero
    error), the patterns with ``w_i > 0`` get ``c/n`` each and the rest is shared evenly among
    the zero-error patterns (each then gets at most ``1/n``); if every error is zero, ``q`` is
    uniform.  Then ``p_i = floor/n + (1 − floor) q_i``.

    Hence ``floor/n ≤ p_i ≤ cap/n`` for every pattern: no pattern, however large its error
    (an outlier, §4.2), is presented more than ``cap`` times as often as under uniform
    shuffling, and with ``floor > 0`` none is dropped.  (Upper bound: ``q_i ≤ c/n`` gives
    ``p_i ≤ floor/n + (cap − floor)/n``.)

    Parameters
    ----------
    errors
        Per-pattern errors ``(n,)``, finite and ≥ 0 (for instance each pattern's loss).
    cap
        Largest share relative to uniform, ≥ 1 (``cap = 1`` gives uniform presentation).
    power
        Exponent applied to the errors, ≥ 0 (0: every non-zero error counts the same).
    floor
        Smallest share relative to uniform, in [0, 1).
    """
    e = as_float_array(errors, "errors", ndim=1)
    if e.size == 0:
        raise ValueError("errors must contain at least one value")
    if (e < 0).any():
        raise ValueError(f"errors must be >= 0; got a minimum of {e.min():g}")
    cap = check_in_range(cap, "cap", 1.0, None)
    power = check_positive(power, "power", allow_zero=True)
    floor = check_in_range(floor, "floor", 0.0, 1.0, high_inclusive=False)
    n = e.size
    with np.errstate(over="ignore"):
        w = np.where(e > 0, e**power, 0.0)
    if not np.isfinite(w).all():  # a huge error to a large power: only the largest ones count
        w = np.where(np.isinf(w), 1.0, 0.0)
    q = _capped_proportional(w, (cap - floor) / (1.0 - floor))
    p = floor / n + (1.0 - floor) * q
    return np.minimum(p, cap / n)


@dataclass(frozen=True)
class Emphasis:
    """Settings of the emphasizing scheme, for :func:`ebp.train.fit` (``emphasis=Emphasis()``).

    See :func:`emphasis_probabilities` for the rule; :meth:`sampler` builds the
    :class:`EmphasisSampler` for ``n`` patterns.
    """

    cap: float = 4.0
    power: float = 1.0
    floor: float = 0.0

    def __post_init__(self) -> None:
        emphasis_probabilities([1.0], cap=self.cap, power=self.power, floor=self.floor)

    def sampler(self, n: int, generator: torch.Generator | None = None) -> EmphasisSampler:
        """An :class:`EmphasisSampler` for ``n`` patterns with these settings."""
        return EmphasisSampler(
            n, cap=self.cap, power=self.power, floor=self.floor, generator=generator
        )


class EmphasisSampler:
    """Draws epochs in which high-error patterns are presented more often (§4.2).

    Each epoch is ``n`` presentations, so counting presentations stays the paper's x-axis.  The
    probabilities ``p`` come from the last :meth:`update` (uniform before the first) by the
    rule of :func:`emphasis_probabilities`.  In the epoch drawn by :meth:`draw` each pattern
    ``i`` is presented ``⌊n p_i⌋`` or ``⌈n p_i⌉`` times (see :meth:`counts`), never more than
    ``⌈cap⌉`` times per epoch, and the sequence is shuffled.  (Independent draws would have the
    same expected counts but more noise.)

    Parameters
    ----------
    n
        Number of patterns, ≥ 1.
    cap, power, floor
        See :func:`emphasis_probabilities`.
    generator
        Source of randomness (default: a fresh generator seeded with 0).
    """

    def __init__(
        self,
        n: int,
        *,
        cap: float = 4.0,
        power: float = 1.0,
        floor: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> None:
        self.n = check_int(n, "n", min_value=1)
        emphasis_probabilities([1.0], cap=cap, power=power, floor=floor)  # validates
        self.cap, self.power, self.floor = float(cap), float(power), float(floor)
        self.generator = _check_generator(generator)
        self._p = np.full(self.n, 1.0 / self.n)

    @property
    def probabilities(self) -> np.ndarray:
        """The current presentation probabilities ``p`` (a copy, sums to 1)."""
        return self._p.copy()

    def update(self, errors: Any) -> np.ndarray:
        """Set the probabilities from per-pattern ``errors`` ``(n,)``; return them."""
        e = as_float_array(errors, "errors", ndim=1)
        if e.size != self.n:
            raise ValueError(f"errors must have shape ({self.n},); got {e.shape}")
        self._p = emphasis_probabilities(e, cap=self.cap, power=self.power, floor=self.floor)
        return self.probabilities

    def counts(self) -> np.ndarray:
        """How many times each pattern is presented in the next epoch (uses the generator).

        Pattern ``i`` gets ``⌊t_i⌋`` presentations, ``t_i = min(n p_i, cap)``, plus one more for
        ``R = n − Σ⌊t_i⌋`` patterns chosen by systematic sampling on the remainders
        ``t_i − ⌊t_i⌋`` (inclusion probability equal to the remainder).  So the counts sum to
        ``n``, have expectation ``n p_i``, and none exceeds ``⌈cap⌉``.
        """
        t = np.minimum(self._p * self.n, self.cap)
        base = np.floor(t).astype(np.int64)
        extra = int(self.n - base.sum())
        counts = base.copy()
        if extra <= 0:
            return counts
        r = t - base
        u = float(torch.rand((), generator=self.generator, dtype=torch.float64))
        edges = np.concatenate([[0.0], np.cumsum(r)])
        edges *= extra / edges[-1]  # Σ r equals R up to rounding
        hits = np.diff(np.ceil(edges - u)).astype(np.int64)
        if hits.sum() != extra or hits.max() > 1 or hits.min() < 0:  # rounding edge cases
            picked = torch.multinomial(
                torch.as_tensor(r + 1e-12), extra, replacement=False, generator=self.generator
            ).numpy()
            hits = np.zeros(self.n, dtype=np.int64)
            hits[picked] = 1
        return counts + hits

    def draw(self) -> Tensor:
        """The presentation sequence of one epoch: ``n`` pattern indices (int64, CPU)."""
        counts = self.counts()
        sequence = np.repeat(np.arange(self.n), counts)
        perm = torch.randperm(self.n, generator=self.generator).numpy()
        return torch.from_numpy(sequence[perm])

    def __repr__(self) -> str:
        return (
            f"EmphasisSampler(n={self.n}, cap={self.cap:g}, power={self.power:g}, "
            f"floor={self.floor:g})"
        )
