"""Markdown (pipe) tables for the chapters.

:func:`pipe_table` lays out cells that are already text; :func:`markdown_table` formats a list of
dicts into such a table; :func:`captioned` wraps either in a MyST ``{table}`` directive, which
gives it a numbered caption and a name that the prose cites with ``{numref}``.  Chapters show the
result with ``display(Markdown(table))`` in a cell whose ``mystnb.markdown_format`` is ``myst``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["captioned", "markdown_table", "pipe_table"]

_RULE = {"l": ":---", "r": "---:"}
_NAME = re.compile(r"[a-z][a-z0-9-]*")


def pipe_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    align: str | Sequence[str] | None = None,
) -> str:
    """A Markdown pipe table of text cells, one line per row, no trailing newline.

    Parameters
    ----------
    header
        The column headers.  An empty first header (the corner above a column of row labels) is
        written ``| |``.
    rows
        The cells of each row, as text, one per column.
    align
        ``"l"`` (left) or ``"r"`` (right) per column, as a string such as ``"lrr"`` or a sequence,
        or one letter for every column; default: the first column left, the others right.
    """
    n = len(header)
    if n == 0:
        raise ValueError("header must name at least one column")
    if align is None:
        align = "l" + "r" * (n - 1)
    elif len(align) == 1:
        align = align * n
    if len(align) != n or any(a not in _RULE for a in align):
        raise ValueError(f"align must be 'l' or 'r', once or once per column ({n}); got {align!r}")
    cells = [f" {h} " for h in header]
    if not header[0]:
        cells[0] = " "
    lines = ["|" + "|".join(cells) + "|", "|" + "|".join(_RULE[a] for a in align) + "|"]
    for i, row in enumerate(rows):
        if len(row) != n:
            raise ValueError(f"rows[{i}] must have {n} cells, one per column; got {len(row)}")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def markdown_table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[tuple[str, str]],
    formats: dict[str, Callable[[Any], str]] | None = None,
) -> str:
    """A Markdown (pipe) table of ``rows``.

    Parameters
    ----------
    rows
        One dict per row.
    columns
        ``(key, header)`` pairs, in order.
    formats
        Optional ``key → function`` turning a value into text; numbers default to ``.6g``
        and NaN to an em dash.
    """
    if not columns:
        raise ValueError("columns must name at least one (key, header) pair")
    formats = formats or {}

    def cell(key: str, value: Any) -> str:
        if key in formats:
            return formats[key](value)
        if isinstance(value, float):
            return "—" if math.isnan(value) else f"{value:.6g}"
        return str(value)

    return pipe_table(
        [h for _, h in columns], [[cell(k, row[k]) for k, _ in columns] for row in rows]
    )


def captioned(table: str, caption: str, name: str) -> str:
    """``table`` inside a MyST ``{table}`` directive with a numbered ``caption`` and a ``name``.

    Parameters
    ----------
    table
        A Markdown pipe table (from :func:`pipe_table` or :func:`markdown_table`).
    caption
        One paragraph, its first sentence the table's takeaway; MyST markup (``$math$``) is
        allowed.
    name
        The label the prose cites with ``{numref}``: lower-case letters, digits and
        hyphens, conventionally ``tbl-<chapter>-<what>``.
    """
    for arg, value in (("table", table), ("caption", caption), ("name", name)):
        if not isinstance(value, str):
            raise TypeError(f"{arg} must be a str; got {type(value).__name__}")
    if not table.lstrip().startswith("|"):
        raise ValueError("table must be a Markdown pipe table (its first line starts with '|')")
    caption = " ".join(caption.split())
    if not caption or "`" in caption:
        raise ValueError("caption must be non-empty text without backticks")
    if not _NAME.fullmatch(name):
        raise ValueError(f"name must be lower-case letters, digits and hyphens; got {name!r}")
    fence = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", table)), default=0))
    return f"{fence}{{table}} {caption}\n:name: {name}\n\n{table.strip()}\n{fence}"
