"""The build pipeline on a small fixture book (tests/fixtures/minibook) that imports ebp.

These tests run ``jupyter-book build`` exactly as ``make book`` does and observe which
chapters execute: each fixture chapter appends its name to the file named by
``EBP_EXEC_LOG`` when it runs. They prove that the execution cache is correct
(nothing changed -> nothing runs; one chapter edited -> only it runs; a module of ebp/
changed -> exactly the chapters whose imports reach it run; the lock file changed -> every
chapter importing ebp runs), that two clean builds give identical
figures and glued numbers, and that a failing cell fails the build with its traceback.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytestmark = pytest.mark.book

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "minibook"
JB = Path(sys.executable).parent / "jupyter-book"
BUILD_FLAGS = ["--path-output", ".", "--builder", "html", "-W", "-n", "--keep-going"]


def make_book(tmp_path: Path) -> Path:
    """Copy the fixture book, a copy of ebp/ and the lock file into ``tmp_path/book``."""
    book = tmp_path / "book"
    shutil.copytree(FIXTURE, book)
    shutil.copytree(REPO / "ebp", book / "ebp", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "requirements.lock", book / "requirements.lock")
    config = book / "_config.yml"
    config.write_text(config.read_text().replace("EBP_EXT_DIR", str(REPO / "book" / "_ext")))
    return book


def build(book: Path, *, check: bool = True) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Build ``book``; return the process and the chapters that executed during the build."""
    log = book.parent / "executions.log"
    log.unlink(missing_ok=True)
    # The kernel imports the copy of ebp inside the book, so edits to it are really used.
    env = {**os.environ, "EBP_EXEC_LOG": str(log), "PYTHONPATH": str(book)}
    proc = subprocess.run(
        [str(JB), "build", ".", *BUILD_FLAGS],
        cwd=book,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and proc.returncode != 0:
        pytest.fail(f"build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    executed = sorted(log.read_text().split()) if log.exists() else []
    return proc, executed


def report(book: Path) -> dict[str, str]:
    rows = json.loads((book / "_build" / "execution-report.json").read_text())["chapters"]
    return {row["docname"]: row["status"] for row in rows}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


ALL = ["also-uses-ebp", "plain", "uses-ebp"]
WITH_EBP = ["also-uses-ebp", "uses-ebp"]


def test_execution_cache_is_correct(tmp_path: Path) -> None:
    book = make_book(tmp_path)

    _, executed = build(book)
    assert executed == ALL, "a first build executes every chapter, each once"
    assert set(report(book).values()) == {"executed"}
    pool = json.loads((book / "_build" / "execution-report.json").read_text())["parallel"]
    assert pool["executed"] == len(ALL), "the chapters ran in the worker pool, not one by one"
    assert pool["workers"] >= 1

    # (a) nothing changed: nothing re-executes.
    _, executed = build(book)
    assert executed == []
    assert set(report(book).values()) == {"unchanged"}

    # Touching a file of ebp/ without changing its content changes nothing.
    os.utime(book / "ebp" / "__init__.py")
    _, executed = build(book)
    assert executed == []

    # An edited stylesheet reaches the site although no page is out of date; nothing executes.
    with (book / "_static" / "fixture.css").open("a") as f:
        f.write("p { margin: 0; }\n")
    _, executed = build(book)
    assert executed == []
    built_css = (book / "_build" / "html" / "_static" / "fixture.css").read_text()
    assert built_css == (book / "_static" / "fixture.css").read_text()

    # (b) one chapter edited: only that chapter re-executes.
    edit(book / "plain.md", "sum(range(10))", "sum(range(11))")
    _, executed = build(book)
    assert executed == ["plain"]
    assert report(book)["plain"] == "executed"
    assert report(book)["uses-ebp"] == "unchanged"

    # (c) a module under ebp/ changed: exactly the chapters whose imports reach it re-execute.
    # ebp/repro.py is run by `import ebp` (both chapters); ebp/plots/style.py only by
    # uses-ebp (through ebp.plots); ebp/history.py and a new module by neither.
    with (book / "ebp" / "repro.py").open("a") as f:
        f.write("\n# an edit to the package\n")
    _, executed = build(book)
    assert executed == WITH_EBP
    with (book / "ebp" / "plots" / "style.py").open("a") as f:
        f.write("\n# an edit to the plots\n")
    _, executed = build(book)
    assert executed == ["uses-ebp"]
    assert report(book)["also-uses-ebp"] == "unchanged"
    with (book / "ebp" / "history.py").open("a") as f:
        f.write("\n# an edit no chapter imports\n")
    (book / "ebp" / "new_module.py").write_text('"""New."""\n')
    _, executed = build(book)
    assert executed == []

    # A module starts importing another: its chapters now depend on that one too.
    with (book / "ebp" / "repro.py").open("a") as f:
        f.write("\nimport ebp.new_module  # noqa: F401\n")
    _, executed = build(book)
    assert executed == WITH_EBP
    with (book / "ebp" / "new_module.py").open("a") as f:
        f.write("X = 1\n")
    _, executed = build(book)
    assert executed == WITH_EBP

    # (c) the pinned versions changed: every chapter importing ebp re-executes.
    with (book / "requirements.lock").open("a") as f:
        f.write("# a changed pin\n")
    _, executed = build(book)
    assert executed == WITH_EBP


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".svg", ".gif"}


def _outputs(book: Path) -> tuple[dict[str, str], dict[str, dict]]:
    """SHA-256 of every image and downloadable notebook of the built site, and every glued value."""
    html = book / "_build" / "html"
    images = {
        p.relative_to(html).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(html.rglob("*"))
        if p.suffix.lower() in {".png", ".jpg", ".jpeg", ".svg", ".gif", ".ipynb"}
        and "_static" not in p.parts
    }
    glued = {}
    for path in sorted((book / "_build" / "jupyter_execute").rglob("*.glue.json")):
        for key, output in json.loads(path.read_text()).items():
            glued[f"{path.name}:{key}"] = output["data"]
    return images, glued


def test_two_clean_builds_are_identical(tmp_path: Path) -> None:
    first = make_book(tmp_path / "one")
    second = make_book(tmp_path / "two")
    build(first)
    build(second)
    images_1, glued_1 = _outputs(first)
    images_2, glued_2 = _outputs(second)
    assert images_1, "the fixture book draws a figure"
    assert any(name.endswith(".ipynb") for name in images_1), "chapters offer notebooks"
    assert len(glued_1) == 2, "the fixture book glues two numbers"
    assert images_1 == images_2
    assert glued_1 == glued_2


def test_a_failing_cell_fails_the_build_and_shows_its_traceback(tmp_path: Path) -> None:
    book = make_book(tmp_path)
    with (book / "plain.md").open("a") as f:
        f.write("\n```{code-cell} ipython3\ndef broken():\n    return 1 / 0\n\nbroken()\n```\n")
    proc, _ = build(book, check=False)
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert "ZeroDivisionError" in output
    assert "broken()" in output, "the traceback shows the failing code"


# ------------------------------------------------------------------ the real book

UNTRACKED = shutil.ignore_patterns(
    "_build", ".venv", ".git", ".pytest_cache", ".hypothesis", ".ruff_cache", "__pycache__"
)


class _PageOutputs(HTMLParser):
    """The images and cell outputs of a built page, in order, leaving out cells tagged
    ``timing`` (wall-clock measurements: the only outputs allowed to differ between builds)."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[str] = []
        self._divs: list[str] = []  # class attribute of each open <div>

    def _inside(self, cls: str) -> bool:
        return any(cls in classes.split() for classes in self._divs)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "div":
            self._divs.append(dict(attrs).get("class") or "")
        elif tag == "img" and not self._inside("tag_timing"):
            self.items.append(f"img {dict(attrs).get('src')}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self._divs:
            self._divs.pop()

    def handle_data(self, data: str) -> None:
        if data.strip() and self._inside("cell_output") and not self._inside("tag_timing"):
            self.items.append(data.strip())


def _built_outputs(build: Path) -> dict[str, object]:
    """Per chapter page, its images and cell outputs; and every glued value except the
    ``timing_*`` ones."""
    outputs: dict[str, object] = {}
    for page in sorted((build / "html" / "book").glob("*.html")):
        parser = _PageOutputs()
        parser.feed(page.read_text())
        outputs[page.name] = parser.items
    for path in sorted((build / "jupyter_execute").rglob("*.glue.json")):
        for key, output in json.loads(path.read_text()).items():
            if not key.startswith("timing_"):
                outputs[f"{path.name}:{key}"] = output["data"]
    return outputs


def test_the_book_rebuilds_identically(tmp_path: Path) -> None:
    """A clean build of the real book reproduces every output of the last ``make book``."""
    reference = REPO / "_build"
    if not (reference / "jupyter_execute").is_dir():
        pytest.fail("no _build/jupyter_execute to compare with: run `make book` first")
    book = tmp_path / "book"
    shutil.copytree(REPO, book, ignore=UNTRACKED)
    proc = subprocess.run(
        [str(JB), "build", ".", *BUILD_FLAGS],
        cwd=book,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    expected = _built_outputs(reference)
    actual = _built_outputs(book / "_build")
    assert any(".glue.json:" in key for key in expected), "the book glues numbers"
    images = [i for v in expected.values() if isinstance(v, list) for i in v if i.startswith("img")]
    assert images, "the book's pages have figures"
    assert sorted(actual) == sorted(expected), "the same cells and glued values"
    differing = [key for key in expected if actual[key] != expected[key]]
    assert not differing, (
        "outputs differ between two clean builds (unseeded randomness? a timestamp?): "
        f"{differing}; if you edited a chapter since the last `make book`, rebuild first"
    )
