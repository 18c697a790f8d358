"""``ablation``: the computation and figures of the all-the-tricks chapter (paper section 10).

Calls :func:`ebp.experiments.all_the_tricks.run`, its ``summary`` for the numbers and
:func:`ebp.plots.all_the_tricks.figures` for the figures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from matplotlib.figure import Figure

from ebp.experiments import all_the_tricks as at
from ebp.plots import all_the_tricks as at_plots


def compute(*, n_seeds: int, quick: bool, progress: Callable[[int, int], None]) -> Any:
    """The ablation, over ``n_seeds`` seeds."""
    return at.run(n_seeds=n_seeds, quick=quick, progress=progress)


def numbers(result: Any) -> dict[str, Any]:
    """The numbers the chapter reports."""
    return at.summary(result)


def figures(result: Any) -> dict[str, Figure]:
    """The chapter's figures."""
    return at_plots.figures(result)
