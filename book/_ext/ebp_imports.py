"""Which files of a package a chapter's code runs: the closure of its static imports.

The execution cache (``ebp_build``) keys each chapter on the files it depends on, so that an
edit under ``ebp/`` re-executes exactly the chapters whose imports reach the edited module.
Imports are found statically (``ast``), anywhere in a module, including those inside
functions; importing ``ebp.a.b`` also runs ``ebp/__init__.py`` and ``ebp/a/__init__.py``.
``importlib.import_module("ebp.x")`` with a literal name counts as an import (``ebp`` loads
``seed_everything`` that way, on first use). What the static view cannot see (an
``import_module`` with a computed name) is not followed: a chapter that relies on such an
import must also import the module by name.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

_IMPORT_LINE = r"^[ \t]*(?:import|from)[ \t]+{package}(?:[.\s]|$)"


def _is_import_module_call(node: ast.AST) -> bool:
    """``importlib.import_module("literal")`` or ``import_module("literal")``."""
    if not isinstance(node, ast.Call) or not node.args:
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    first = node.args[0]
    return (
        name == "import_module" and isinstance(first, ast.Constant) and isinstance(first.value, str)
    )


class PackageGraph:
    """The import graph of one package directory ``root/package``."""

    def __init__(self, root: Path, package: str) -> None:
        self.root = root
        self.package = package
        self.modules: dict[str, Path] = {}
        #: Files of the package that are not Python modules (data, ``py.typed``): every
        #: chapter that imports the package depends on them.
        self.other_files: list[Path] = []
        for path in sorted((root / package).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            if path.suffix != ".py":
                self.other_files.append(path)
                continue
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            self.modules[".".join(parts)] = path
        self.edges = {name: self._imports_of(name, path) for name, path in self.modules.items()}
        self._line = re.compile(_IMPORT_LINE.format(package=re.escape(package)), re.MULTILINE)

    def _resolve(self, dotted: str) -> set[str]:
        """The package's modules that ``import dotted`` runs: it and its parent packages."""
        parts = dotted.split(".")
        prefixes = (".".join(parts[:i]) for i in range(1, len(parts) + 1))
        return {p for p in prefixes if p in self.modules}

    def _statement_imports(self, node: ast.AST, package_of: list[str]) -> set[str]:
        found: set[str] = set()
        if isinstance(node, ast.Import):
            for alias in node.names:
                found |= self._resolve(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package_of[: len(package_of) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found |= self._resolve(base)
            for alias in node.names:  # ``from ebp import quadratic`` imports a module
                found |= self._resolve(f"{base}.{alias.name}")
        elif _is_import_module_call(node):
            found |= self._resolve(node.args[0].value)  # type: ignore[attr-defined]
        return found

    def _imports_of(self, name: str, path: Path) -> set[str]:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        package_of = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        found: set[str] = set()
        for node in ast.walk(tree):
            found |= self._statement_imports(node, package_of)
        return found - {name}

    def imported_by(self, code: str) -> set[str]:
        """The package's modules named by the import statements in ``code``.

        ``code`` may be a whole MyST chapter: only lines that start an import of the package
        are parsed (with their continuation lines when the names are in parentheses).
        """
        found: set[str] = set()
        for match in self._line.finditer(code):
            statement = code[match.start() :].split("\n", 1)[0]
            if "(" in statement and ")" not in statement:
                end = code.find(")", match.start())
                statement = code[match.start() : end + 1] if end >= 0 else statement
            try:
                tree = ast.parse(statement.strip())
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                found |= self._statement_imports(node, [])
        return found

    def closure(self, names: Iterable[str]) -> set[str]:
        """``names`` and every module of the package they import, directly or not."""
        seen: set[str] = set()
        todo = list(names)
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(self.edges.get(name, ()))
        return seen

    def files_run_by(self, code: str) -> list[Path]:
        """The files the imports in ``code`` depend on; empty if it does not import the package."""
        modules = self.closure(self.imported_by(code))
        if not modules:
            return []
        return sorted({self.modules[m] for m in modules} | set(self.other_files))
