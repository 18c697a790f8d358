"""Two speed-ups of the book build that must not change what it builds (book/_ext).

- ``ebp_parallel.longest_first``: the order chapters are submitted to the execution pool.
- ``ebp_numref``: numbered references resolved without unpickling the target page each time;
  a small Sphinx project is built with and without it and must come out the same.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util.docutils import docutils_namespace

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book" / "_ext"))

from ebp_parallel import longest_first  # noqa: E402


def test_longest_first_starts_the_untimed_then_the_longest() -> None:
    paths = ["a", "b", "c", "d", "e"]
    seconds = {"a": 5.0, "b": 40.0, "d": 12.0, "e": 40.0}
    # c was never timed: it might be long, so it starts first; b and e tie and keep their order.
    assert longest_first(paths, seconds) == ["c", "b", "e", "d", "a"]
    assert longest_first(paths, {}) == paths, "a clean build keeps the given order"
    assert longest_first([], seconds) == []


TABLE = """
.. list-table:: {caption}
   :name: {name}

   * - {caption}
"""


def _project(root: Path) -> None:
    """Three pages; ``b`` and ``c`` refer to ``a``'s tables many times, ``a`` to its own."""
    root.mkdir()
    (root / "conf.py").write_text("numfig = True\nextensions = []\n")
    toctree = ".. toctree::\n   :numbered:\n\n   a\n   b\n   c\n"
    (root / "index.rst").write_text("Index\n=====\n\n" + toctree)
    a = "A\n=\n" + TABLE.format(caption="First", name="t-one")
    a += TABLE.format(caption="Second", name="t-two") + "\nSee :numref:`t-two`.\n"
    (root / "a.rst").write_text(a)
    for page in ("b", "c"):
        refs = " ".join([":numref:`t-one`", ":numref:`t-two`"] * 5)
        own = TABLE.format(caption=f"Own {page}", name=f"t-{page}")
        (root / f"{page}.rst").write_text(f"{page.upper()}\n=\n{own}\n{refs} :numref:`t-{page}`\n")


def _build(source: Path, out: Path, extensions: list[str]) -> dict[str, int]:
    """Build ``source`` into ``out``; return how often each page's doctree was unpickled."""
    loads: dict[str, int] = {}
    original = BuildEnvironment.get_doctree

    def counting(env: BuildEnvironment, docname: str):  # type: ignore[no-untyped-def]
        loads[docname] = loads.get(docname, 0) + 1
        return original(env, docname)

    # docutils_namespace: each build registers its nodes and directives afresh, as in a process
    # of its own.
    with pytest.MonkeyPatch.context() as patch, docutils_namespace():
        patch.setattr(BuildEnvironment, "get_doctree", counting)
        app = Sphinx(
            str(source),
            str(source),
            str(out / "html"),
            str(out / "doctrees"),
            "html",
            confoverrides={"extensions": extensions},
            status=None,
            warningiserror=True,
        )
        app.build()
    return loads


def test_numref_memo_builds_the_same_pages_with_fewer_unpickles(tmp_path: Path) -> None:
    source = tmp_path / "src"
    _project(source)
    plain = _build(source, tmp_path / "plain", [])
    memo = _build(source, tmp_path / "memo", ["ebp_numref"])
    for page in ("a", "b", "c"):
        built = (tmp_path / "memo" / "html" / f"{page}.html").read_text()
        assert built == (tmp_path / "plain" / "html" / f"{page}.html").read_text()
    b_html = (tmp_path / "memo" / "html" / "b.html").read_text()
    assert "Table 1.2" in b_html and "Table 2.1" in b_html, "references numbered"
    # Sphinx unpickles a for each of the 21 references to its tables; the memo once more than
    # the numbering itself needs.
    assert plain["a"] >= 21
    assert memo["a"] <= plain["a"] - 19
