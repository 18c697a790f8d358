"""The named experiments of ``python -m ebp``: a name, a one-line summary, a chapter.

This module imports nothing heavy (no NumPy, PyTorch or matplotlib), so ``python -m ebp --help``
lists the experiments without loading them.  Each entry names the module of its adapter
(``ebp.cli._adapters.<module>``), imported only when the experiment runs; an adapter module
defines ``compute(n_seeds, quick, progress)``, ``numbers(result)`` and ``figures(result)``.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from types import ModuleType

__all__: list[str] = []  # internal: the command line is documented by ``python -m ebp --help``

ADAPTERS = "ebp.cli._adapters"


@dataclass(frozen=True)
class Experiment:
    """One experiment the command line can run."""

    name: str
    """Kebab-case name typed on the command line, e.g. ``landscapes``."""
    summary: str
    """One line for ``--help``."""
    chapter: str
    """The chapter it mirrors, as a path from the repository root (``book/<chapter>.md``)."""
    adapter: str
    """The module under ``ebp.cli._adapters`` that computes, summarizes and draws it."""
    default_seeds: int | None = None
    """How many seeds it runs by default, or ``None`` for an experiment that takes no seeds."""

    @property
    def takes_seeds(self) -> bool:
        """Whether ``--seeds`` applies to it."""
        return self.default_seeds is not None

    def load(self) -> ModuleType:
        """Import the adapter module (and with it the experiment's code)."""
        return importlib.import_module(f"{ADAPTERS}.{self.adapter}")


EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment(
        "stochastic-vs-batch",
        "online vs batch learning on redundant data; mini-batches; annealing",
        "book/stochastic-vs-batch.md",
        "stochastic_vs_batch",
        default_seeds=5,
    ),
    Experiment(
        "principal-eigenvalue",
        "lambda_max six ways, its online estimate, and eta = 1/lambda_max",
        "book/principal-eigenvalue.md",
        "principal_eigenvalue",
        default_seeds=5,
    ),
    Experiment(
        "landscapes",
        "loss surfaces: two-weight slice, filter normalization, Hessian, PCA",
        "book/loss-landscapes.md",
        "landscapes",
    ),
    Experiment(
        "trajectories",
        "weight trajectories of training runs and their principal components",
        "book/weight-trajectories.md",
        "trajectories",
        default_seeds=1,
    ),
    Experiment(
        "ablation",
        "all the tricks together, and what each adds when left out",
        "book/all-the-tricks.md",
        "ablation",
        default_seeds=5,
    ),
)
"""Every experiment, in the order ``--help`` lists them."""


def names() -> list[str]:
    """The registered names, in order."""
    return [e.name for e in EXPERIMENTS]


def find(name: str) -> Experiment:
    """The experiment called ``name``.

    Raises
    ------
    KeyError
        With a message naming the closest registered names (``did you mean ...?``).
    """
    for experiment in EXPERIMENTS:
        if experiment.name == name:
            return experiment
    close = difflib.get_close_matches(name, names(), n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise KeyError(f"unknown experiment {name!r}{hint} (choose from {', '.join(names())})")
