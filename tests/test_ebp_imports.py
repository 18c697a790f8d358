"""The static import closure that keys each chapter's execution cache (book/_ext/ebp_imports.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book" / "_ext"))

from ebp_imports import PackageGraph  # noqa: E402

PACKAGE = {
    "pkg/__init__.py": "from pkg.core import base\n",
    "pkg/core/__init__.py": "",
    "pkg/core/base.py": "X = 1\n",
    "pkg/core/extra.py": "from . import base\n",
    "pkg/plots/__init__.py": "",
    "pkg/plots/one.py": "from ..core.extra import X\n",
    "pkg/plots/lazy.py": "def f():\n    import pkg.alone\n",
    "pkg/alone.py": "",
    "pkg/dynamic.py": (
        "import importlib\n\ndef f(name):\n"
        "    importlib.import_module('pkg.alone')\n    importlib.import_module(name)\n"
    ),
    "pkg/unused.py": "import numpy\n",
    "pkg/data.json": "{}",
}


@pytest.fixture
def graph(tmp_path: Path) -> PackageGraph:
    for name, text in PACKAGE.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return PackageGraph(tmp_path, "pkg")


def names(graph: PackageGraph, code: str) -> set[str]:
    return graph.closure(graph.imported_by(code))


def test_importing_the_package_runs_its_init_and_what_that_imports(graph: PackageGraph) -> None:
    assert names(graph, "import pkg") == {"pkg", "pkg.core", "pkg.core.base"}


def test_relative_imports_and_parent_packages_are_followed(graph: PackageGraph) -> None:
    assert names(graph, "from pkg.plots import one") == {
        "pkg",
        "pkg.core",
        "pkg.core.base",
        "pkg.core.extra",
        "pkg.plots",
        "pkg.plots.one",
    }


def test_imports_inside_functions_count(graph: PackageGraph) -> None:
    assert "pkg.alone" in names(graph, "import pkg.plots.lazy as lazy")


def test_import_module_with_a_literal_name_counts(graph: PackageGraph) -> None:
    assert names(graph, "import pkg.dynamic") == {
        "pkg",
        "pkg.core",
        "pkg.core.base",
        "pkg.dynamic",
        "pkg.alone",
    }


def test_imports_are_found_in_a_chapter(graph: PackageGraph) -> None:
    chapter = (
        "# Title\n\nSome prose that says import pkg.alone in a sentence.\n\n"
        "```{code-cell} ipython3\n:tags: [hide-input]\n"
        "import numpy as np\nfrom pkg.plots import (\n    lazy,\n    one,\n)\n```\n"
    )
    found = graph.imported_by(chapter)
    assert {"pkg.plots.lazy", "pkg.plots.one"} <= found
    assert "pkg.alone" not in found, "an import in the middle of a sentence is not code"


def test_files_include_data_files_and_exclude_unreached_modules(graph: PackageGraph) -> None:
    files = {p.relative_to(graph.root).as_posix() for p in graph.files_run_by("import pkg")}
    assert files == {"pkg/__init__.py", "pkg/core/__init__.py", "pkg/core/base.py", "pkg/data.json"}
    assert graph.files_run_by("import numpy") == []


def test_the_real_package_imports_resolve() -> None:
    graph = PackageGraph(REPO, "ebp")
    reached = names(graph, "from ebp.experiments import convergence_of_gradient_descent")
    assert "ebp.quadratic" in reached
    assert "ebp.repro" in reached, "through ebp/__init__.py"
    assert "ebp.second_order.newton" not in reached
