"""``trajectories``: the computation and figures of the weight-trajectories chapter.

Calls :func:`ebp.experiments.weight_trajectories.run`, its ``summary`` for the numbers and
:func:`ebp.plots.weight_trajectories.figures` for the figures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from matplotlib.figure import Figure

from ebp.experiments import weight_trajectories as wt
from ebp.plots import weight_trajectories as wt_plots


def compute(*, n_seeds: int, quick: bool, progress: Callable[[int, int], None]) -> Any:
    """The chapter's runs, over ``n_seeds`` seeds."""
    return wt.run(n_seeds=n_seeds, quick=quick, progress=progress)


def numbers(result: Any) -> dict[str, Any]:
    """The numbers the chapter reports."""
    return wt.summary(result)


def figures(result: Any) -> dict[str, Figure]:
    """The chapter's figures."""
    return wt_plots.figures(result)
