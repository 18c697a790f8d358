"""Figures for the book: one style (:mod:`ebp.plots.style`) and the plotting functions.

Plotting functions take the data an experiment returned and draw it; they compute nothing.
"""

from ebp.plots import style
from ebp.plots.style import *  # noqa: F403 (the style's public names, listed once, in style)

__all__ = list(style.__all__)
