"""ebp.plots.tables: the Markdown tables the chapters display."""

from __future__ import annotations

import math

import pytest

from ebp.plots.tables import captioned, markdown_table, pipe_table


def test_pipe_table_layout_and_alignment():
    table = pipe_table(["", "a", "b"], [["x", "1", "2"], ["y", "3", "4"]])
    expected = ["| | a | b |", "|:---|---:|---:|", "| x | 1 | 2 |", "| y | 3 | 4 |"]
    assert table.splitlines() == expected
    assert pipe_table(["m", "s"], [["2", "0.9"]], align="r").splitlines()[1] == "|---:|---:|"


def test_pipe_table_rejects_bad_input():
    with pytest.raises(ValueError, match="header"):
        pipe_table([], [])
    with pytest.raises(ValueError, match="align"):
        pipe_table(["a", "b"], [], align="lc")
    with pytest.raises(ValueError, match="row"):
        pipe_table(["a", "b"], [["only one"]])


def test_markdown_table_formats_numbers_and_nan():
    rows = [{"k": "w", "v": 0.123456789}, {"k": "b", "v": math.nan}]
    lines = markdown_table(rows, [("k", "name"), ("v", "value")]).splitlines()
    assert lines[2] == "| w | 0.123457 |"
    assert lines[3] == "| b | — |"


def test_captioned_wraps_a_table_in_a_named_directive():
    table = pipe_table(["a", "b"], [["1", "2"]])
    out = captioned(table, "The takeaway.\n  Second   sentence.", "tbl-x-y")
    lines = out.splitlines()
    assert lines[0] == "```{table} The takeaway. Second sentence."
    assert lines[1] == ":name: tbl-x-y"
    assert lines[3:-1] == table.splitlines()
    assert lines[-1] == "```"
    # a table that itself holds backticks gets a longer fence
    assert captioned("| `a` |\n|---|\n| ```x``` |", "C.", "t").startswith("````{table}")


def test_captioned_rejects_bad_input():
    table = pipe_table(["a"], [["1"]])
    with pytest.raises(TypeError, match="caption"):
        captioned(table, None, "t")
    with pytest.raises(ValueError, match="table"):
        captioned("no table", "C.", "t")
    with pytest.raises(ValueError, match="caption"):
        captioned(table, "  ", "t")
    with pytest.raises(ValueError, match="name"):
        captioned(table, "C.", "Tbl X")
