"""Figures for the book: one style (:mod:`ebp.plots.style`) and the plotting functions.

Plotting functions take the data an experiment returned and draw it; they compute nothing.
"""

from ebp.plots.style import (
    BLACK,
    BLUE,
    BOOK_RC,
    COLORS,
    GREEN,
    ORANGE,
    PALETTE,
    PURPLE,
    SKY_BLUE,
    VERMILLION,
    YELLOW,
    new_figure,
    panel_label,
    save_figure,
    use_book_style,
)

__all__ = [
    "BLACK",
    "BLUE",
    "BOOK_RC",
    "COLORS",
    "GREEN",
    "ORANGE",
    "PALETTE",
    "PURPLE",
    "SKY_BLUE",
    "VERMILLION",
    "YELLOW",
    "new_figure",
    "panel_label",
    "save_figure",
    "use_book_style",
]
