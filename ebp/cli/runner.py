"""One run of an experiment: compute it with a progress bar, then write its files.

Headless: the figures are drawn with matplotlib's Agg backend, whatever the environment asks
for, in the book's style (:func:`ebp.plots.style.use_book_style`).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import matplotlib
from tqdm import tqdm

from ebp.cli import output
from ebp.cli.registry import Experiment
from ebp.plots.style import use_book_style

__all__: list[str] = []  # internal: used by ebp.cli.main

Progress = Callable[[int, int], None]


@contextlib.contextmanager
def progress_bar(name: str) -> Iterator[Progress]:
    """A callback ``progress(done, total)`` that draws a tqdm bar on standard error.

    The bar appears at the first call (an experiment that reports no progress shows none) and
    follows ``total`` if it changes; it is closed when the block ends.
    """
    bar: tqdm | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=name, unit="step", file=sys.stderr, dynamic_ncols=True)
        if bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    try:
        yield progress
    finally:
        if bar is not None:
            bar.close()


def run(experiment: Experiment, *, seeds: int | None, quick: bool, out: Path) -> list[Path]:
    """Compute ``experiment``, draw its figures, write them and its numbers to ``out``.

    Parameters
    ----------
    experiment
        The registry's entry.
    seeds
        Number of seeds (``None``: the experiment's default; must be ``None`` for an
        experiment that takes no seeds).
    quick
        A small budget, for a smoke test.
    out
        The output folder (created).

    Returns
    -------
    list of pathlib.Path
        The files written, the JSON last.
    """
    matplotlib.use("Agg", force=True)
    use_book_style()
    adapter = experiment.load()
    n_seeds = experiment.default_seeds if seeds is None else seeds
    with progress_bar(experiment.name) as progress:
        result = adapter.compute(n_seeds=n_seeds, quick=quick, progress=progress)
    numbers = adapter.numbers(result)
    figures = adapter.figures(result)
    meta = output.provenance(experiment.name, experiment.chapter, seeds=n_seeds, quick=quick)
    return output.write_results(out, experiment.name, numbers, figures, meta)
