"""The package's imports: no circle, no import hidden in a function, no borrowed private name.

Data flow through ``ebp`` is one way (``../shared/DESIGN.md``): ``data`` → ``preprocess`` →
``nn``/``losses`` → ``hessian`` → ``updates`` → ``optim`` → ``engine`` → ``train``/``many``
→ ``experiments`` → ``plots``.  These tests read every module's source with :mod:`ast`
(nothing is imported), so they see imports inside functions and ``if TYPE_CHECKING`` blocks
too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ebp"

# Private names one module still takes from another. Each entry would be a debt with a reason;
# the test fails when an entry is no longer needed, so the list can only shrink. (Empty since
# issue 9: fit and fit_many share ebp.engine's public helpers.)
ALLOWED_PRIVATE: dict[tuple[str, str], set[str]] = {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path) -> list[tuple[ast.stmt, str, list[str]]]:
    """Every ``import ebp…`` / ``from ebp… import …`` in ``path``: (node, module, names)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "ebp" or node.module.startswith("ebp."):
                found.append((node, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("ebp"):
                    found.append((node, alias.name, []))
    return found


def import_graph() -> dict[str, set[str]]:
    """Module → the ``ebp`` modules it imports (``from ebp import data`` counts as
    ``ebp.data``; the implicit import of a parent package is left out)."""
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        targets = set()
        for _, module, names in _imports(path):
            subs = [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES]
            targets.update(subs or [module])
        graph[name] = targets & set(MODULES)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module, or with a self-loop
    (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_checker_finds_a_cycle_and_accepts_a_chain():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"a"}}) == [["a"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_the_graph_sees_the_package():
    graph = import_graph()
    assert "ebp.losses" in graph["ebp.train"]
    assert "ebp.hessian" in graph["ebp.optim"]
    assert len(graph) > 40


def test_no_import_cycle():
    assert cycles(import_graph()) == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_ebp_import_inside_a_function_or_block(module):
    """An import inside a function (or under ``if TYPE_CHECKING``) is how a circle hides."""
    nested = [
        f"line {node.lineno}: {name}"
        for node, name, _ in _imports(MODULES[module])
        if node.col_offset > 0  # indented: inside a function, class or block
    ]
    assert nested == []


def _package(module: str) -> str:
    return (
        module
        if (PACKAGE.parent / module.replace(".", "/")).is_dir()
        else module[: module.rfind(".")]
    )


def test_no_module_takes_another_modules_private_names():
    """Only the modules of one subpackage (``ebp.hessian``) share its private names; the
    shared helpers of ``ebp._validate`` are public names in a private module."""
    borrowed: dict[tuple[str, str], set[str]] = {}
    for name, path in MODULES.items():
        for _, module, names in _imports(path):
            private = {n for n in names if n.startswith("_")}
            same_subpackage = _package(name) == _package(module) != "ebp"
            if private and module != name and not same_subpackage:
                borrowed.setdefault((name, module), set()).update(private)
    assert borrowed == ALLOWED_PRIVATE
