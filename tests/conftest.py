"""Shared pytest configuration.

Hypothesis explores new random examples on every local run, which is how it finds bugs; in CI
(``CI`` set in the environment) it runs derandomized, so a CI result is reproducible and
a red CI run always points at a real, repeatable failure.
"""

import os
import sys
from collections.abc import Iterator

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(autouse=True)
def _figures_fit_the_column() -> Iterator[None]:
    """After each test, every figure it left open must fit the book's column; then close them.

    A figure wider than ``MAX_FIGURE_WIDTH`` is shown shrunk on the site, its text too small to
    read (tests/site checks the built pages; this finds the plot function at fault sooner).
    """
    yield
    if "matplotlib.pyplot" not in sys.modules:
        return
    import matplotlib.pyplot as plt

    from ebp.plots.style import MAX_FIGURE_WIDTH

    wide = [
        f"figure {num}: {plt.figure(num).get_size_inches()[0]:.2f} in"
        for num in plt.get_fignums()
        if plt.figure(num).get_size_inches()[0] > MAX_FIGURE_WIDTH + 1e-9
    ]
    plt.close("all")
    assert not wide, f"wider than MAX_FIGURE_WIDTH = {MAX_FIGURE_WIDTH} in: {', '.join(wide)}"
