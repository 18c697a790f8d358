"""One figure style for the whole book, and deterministic figure files.

Every chapter calls :func:`use_book_style` (or simply :func:`new_figure`, which applies it), so
all figures share fonts, sizes, colours and grid.  Colours come from the Okabe–Ito palette, which
stays distinguishable under the common forms of colour blindness.  :func:`save_figure` writes
files without timestamps or version strings, so two builds give byte-identical figures.
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ebp._validate import check_positive

__all__ = [
    "BLACK",
    "BLUE",
    "BOOK_RC",
    "COLORS",
    "COLUMN_WIDTH",
    "GREEN",
    "MAX_FIGURE_WIDTH",
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

# Okabe & Ito (2008), "Color Universal Design".
BLUE = "#0072B2"  #: Okabe–Ito blue.
ORANGE = "#E69F00"  #: Okabe–Ito orange.
GREEN = "#009E73"  #: Okabe–Ito "bluish green".
VERMILLION = "#D55E00"  #: Okabe–Ito vermillion.
PURPLE = "#CC79A7"  #: Okabe–Ito "reddish purple".
SKY_BLUE = "#56B4E9"  #: Okabe–Ito sky blue.
YELLOW = "#F0E442"  #: Okabe–Ito yellow.
BLACK = "#000000"  #: Okabe–Ito black.

PALETTE: list[str] = [BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY_BLUE, YELLOW, BLACK]
"""The Okabe–Ito colours in the order lines are drawn (yellow late, as it is faint on white)."""

COLORS: dict[str, str] = {
    "blue": BLUE,
    "orange": ORANGE,
    "green": GREEN,
    "vermillion": VERMILLION,
    "purple": PURPLE,
    "sky_blue": SKY_BLUE,
    "yellow": YELLOW,
    "black": BLACK,
}
"""The Okabe–Ito colours by name."""

COLUMN_WIDTH: float = 6.4
"""Width in inches of a figure that fills the book's text column.

At ``figure.dpi`` 120 the PNG is 768 px wide, the width the site gives a figure at a desktop
viewport, so it is shown at its natural size and 10-pt text reads as 16 CSS px.
"""

MAX_FIGURE_WIDTH: float = 7.6
"""The widest a book figure may be, in inches (912 px), so that the page shows it at no less than
0.84 of its natural size.  Three panels do not fit in one row at this width; stack them, or
lay them out two above one."""

BOOK_RC: dict[str, Any] = {
    # size and resolution: readable in a web page column
    "figure.figsize": (COLUMN_WIDTH, 4.0),
    "figure.dpi": 120,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.05,
    "figure.constrained_layout.use": False,
    # fonts
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "legend.frameon": False,
    # axes, grid, colours
    "axes.prop_cycle": cycler(color=PALETTE),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "grid.alpha": 1.0,
    "axes.axisbelow": True,
    "lines.linewidth": 1.8,
    "image.cmap": "viridis",
    # determinism: fixed SVG ids, text as paths (no font-dependent <text>)
    "svg.hashsalt": "efficient-backprop",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
}
"""The rcParams :func:`use_book_style` sets."""

_METADATA: dict[str, dict[str, None]] = {
    # Keys matplotlib would otherwise fill with its version or the current date.
    "png": {"Software": None},
    "svg": {"Creator": None, "Date": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None},
}


def use_book_style() -> None:
    """Set matplotlib's rcParams to the book's style (idempotent; call it once per chapter)."""
    mpl.rcParams.update(BOOK_RC)


def new_figure(nrows: int = 1, ncols: int = 1, **kw: Any) -> tuple[Figure, Any]:
    """A new figure in the book style, as ``plt.subplots(nrows, ncols, **kw)``.

    Parameters
    ----------
    nrows, ncols
        Grid of axes.
    **kw
        Passed to ``plt.subplots`` (e.g. ``figsize``, ``sharex``); ``layout`` defaults to
        ``"constrained"``.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure.
    axes : matplotlib.axes.Axes or numpy.ndarray
        One ``Axes``, or an array of them for a grid, as ``plt.subplots`` returns.
    """
    nrows = check_positive(nrows, "nrows", integer=True)
    ncols = check_positive(ncols, "ncols", integer=True)
    use_book_style()
    kw.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, **kw)


def panel_label(ax: Axes, text: str) -> None:
    """Title one panel of a figure, e.g. ``"(a) training loss"``, left-aligned above ``ax``."""
    ax.set_title(text, loc="left", fontsize=11)


def save_figure(fig: Figure, path: str | Path, **kw: Any) -> Path:
    """Save ``fig`` to ``path`` (PNG, SVG or PDF by suffix) with no timestamps or versions.

    The same figure drawn by the same code gives byte-identical files.  Parent folders are
    created.  Extra keyword arguments go to ``fig.savefig``.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure; got {type(fig).__name__}")
    if not isinstance(path, (str, Path)):
        raise TypeError(f"path must be a str or pathlib.Path; got {type(path).__name__}")
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in _METADATA:
        raise ValueError(f"path must end in .png, .svg or .pdf; got {path.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {**_METADATA[fmt], **kw.pop("metadata", {})}
    buffer = io.BytesIO()
    with mpl.rc_context({"svg.hashsalt": BOOK_RC["svg.hashsalt"]}):
        fig.savefig(buffer, format=fmt, metadata=metadata, **kw)
    data = buffer.getvalue()
    if fmt == "svg":
        data = _stable_svg_ids(data)
    path.write_bytes(data)
    return path


_CLIP_ID = re.compile(rb'id="(p[0-9a-f]{10})"')


def _stable_svg_ids(svg: bytes) -> bytes:
    """Rename matplotlib's clip-path ids after the figure's content.

    matplotlib names a clip path by hashing its rectangle at full float precision, and
    constrained layout moves axes by ~1e-13 between draws, so the same figure saved twice can
    get different ids for identical drawings.  The new ids hash the SVG with the ids blanked
    (identical drawings get identical ids; different figures inlined in one page stay distinct).
    """
    old_ids = list(dict.fromkeys(_CLIP_ID.findall(svg)))
    if not old_ids:
        return svg
    pattern = re.compile(b"|".join(re.escape(i) for i in old_ids))
    digest = hashlib.sha256(pattern.sub(b"p", svg)).hexdigest()[:8]
    new_ids = {old: f"clip{digest}-{n}".encode() for n, old in enumerate(old_ids)}
    return pattern.sub(lambda m: new_ids[m.group(0)], svg)
