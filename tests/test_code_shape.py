"""The shape of ``ebp``'s code: functions short enough to read top to bottom.

Issue 9 set the bar: no function longer than about 120 lines, so that a newcomer can read the
training engine, or any experiment, in one sitting.  Counted here are the lines of code of a
function (nested functions included), without its docstring: the public entry points keep
their full parameter documentation, which is what a reader opens them for.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ebp"
MAX_CODE_LINES = 100


def code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from ``def`` to the function's last line, less those of its docstring."""
    total = node.end_lineno - node.lineno + 1
    first = node.body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        total -= first.end_lineno - first.lineno + 1
    return total


def long_functions(limit: int = MAX_CODE_LINES) -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = code_lines(node)
                if n > limit:
                    found.append(
                        f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}: {n}"
                    )
    return found


def test_the_counter_counts_code_not_docstrings():
    tree = ast.parse('def f():\n    """Doc\n    string."""\n    a = 1\n    return a\n')
    assert code_lines(tree.body[0]) == 3


def test_the_counter_finds_a_long_function():
    assert long_functions(limit=10)  # the package has functions over 10 lines


def test_no_function_in_ebp_is_too_long():
    assert long_functions() == []
