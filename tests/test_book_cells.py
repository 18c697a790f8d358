"""The code cells of the book's chapters fit the page column.

The text column of the site shows about 86 characters of code, and a longer line scrolls
sideways, so the recipe stops being readable at a glance.  Every line inside a
```` ```{code-cell} ```` block of ``book/*.md`` (its ``:tags:`` options and ``---`` metadata
block included) has at most :data:`MAX_COLUMNS` characters.
"""

from __future__ import annotations

from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
MAX_COLUMNS = 80


def long_code_lines(text: str, name: str, limit: int = MAX_COLUMNS) -> list[str]:
    """``name:line: length`` for each line longer than ``limit`` inside a code-cell block."""
    found = []
    fence = None  # the backticks that opened the current code cell, if inside one
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip()
        if fence is None:
            if stripped.startswith("```") and stripped.lstrip("`").startswith("{code-cell}"):
                fence = stripped[: len(stripped) - len(stripped.lstrip("`"))]
            continue
        if stripped.startswith(fence) and not stripped.lstrip("`").strip():
            fence = None
            continue
        if len(line) > limit:
            found.append(f"{name}:{number}: {len(line)} characters")
    return found


def chapters() -> list[Path]:
    return sorted(BOOK.glob("*.md"))


def test_the_book_has_code_cells() -> None:
    assert any("```{code-cell}" in p.read_text(encoding="utf-8") for p in chapters())


@pytest.mark.parametrize("path", chapters(), ids=lambda p: p.name)
def test_code_cells_fit_the_column(path: Path) -> None:
    long = long_code_lines(path.read_text(encoding="utf-8"), f"book/{path.name}")
    assert not long, "code-cell lines longer than 80 characters:\n" + "\n".join(long)


def test_a_long_line_is_found_and_located() -> None:
    text = "\n".join(
        [
            "# Title",
            "x" * 120,  # prose: not checked
            "```{code-cell} ipython3",
            ":tags: [remove-cell]",
            "",
            "short = 1",
            "y = " + "1 + " * 30 + "1",
            "```",
            "```python",
            "z" * 90,  # an ordinary code block, not a cell
            "```",
            "````{code-cell} ipython3",
            "print('```')",
            "w" * 81,
            "````",
        ]
    )
    assert long_code_lines(text, "book/example.md") == [
        "book/example.md:7: 125 characters",
        "book/example.md:14: 81 characters",
    ]


def test_a_line_of_exactly_80_characters_passes() -> None:
    text = "```{code-cell} ipython3\n" + "a" * 80 + "\n```\n"
    assert long_code_lines(text, "x.md") == []
