"""Time Sphinx's unpickling of doctrees in a build of the book, with and without ``ebp_numref``.

Usage (from the repository root, after ``make book``, so that every chapter is cached)::

    .venv/bin/python benchmarks/numref.py

The book is copied (tracked and untracked, not ignored files, and the execution cache) into a
temporary folder and built twice, each time after removing the site and the doctrees, so that
Sphinx reads and writes every page while no chapter executes: once without the extension
``ebp_numref`` (Sphinx's own ``{numref}`` resolution), once with it. Each build runs in a
process of its own that counts the calls of ``BuildEnvironment.get_doctree`` and times them.
The whole builds' wall times are printed too, but they vary by several seconds from run to
run on a shared machine; the unpickling time is the measure.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from book_build import FLAGS, REPO, copy_tree

CHILD = """
import json, sys, time
from sphinx.environment import BuildEnvironment
from jupyter_book.cli.main import main

calls = {"n": 0, "s": 0.0}
original = BuildEnvironment.get_doctree

def timed(env, docname):
    start = time.perf_counter()
    try:
        return original(env, docname)
    finally:
        calls["n"] += 1
        calls["s"] += time.perf_counter() - start

BuildEnvironment.get_doctree = timed
start = time.perf_counter()
main(["build", ".", *sys.argv[1:]], standalone_mode=False)
calls["build_s"] = time.perf_counter() - start
print("RESULT " + json.dumps(calls))
"""


def timed_build(book: Path) -> dict:
    for path in ("_build/html", "_build/jupyter_execute", "_build/.doctrees"):
        shutil.rmtree(book / path, ignore_errors=True)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, *FLAGS],
        cwd=book,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def main() -> None:
    cache = REPO / "_build" / ".jupyter_cache"
    if not cache.is_dir():
        sys.exit("Build the book first (make book): this benchmark needs the execution cache.")
    with tempfile.TemporaryDirectory() as folder:
        book = Path(folder)
        copy_tree(book)
        shutil.copytree(cache, book / "_build" / ".jupyter_cache")
        config = book / "_config.yml"
        with_memo = config.read_text()
        without = "".join(line for line in with_memo.splitlines(True) if "ebp_numref" not in line)
        assert without != with_memo, "_config.yml no longer loads ebp_numref"
        config.write_text(without)
        plain = timed_build(book)
        config.write_text(with_memo)
        memo = timed_build(book)
    print(f"{'':<28} {'get_doctree calls':>18} {'unpickling (s)':>15} {'whole build (s)':>16}")
    for name, r in (("Sphinx's numref", plain), ("with ebp_numref", memo)):
        print(f"{name:<28} {r['n']:>18d} {r['s']:>15.2f} {r['build_s']:>16.1f}")
    print(f"unpickling saved: {plain['s'] - memo['s']:.2f} s ({memo['s'] / plain['s']:.2f} ×)")


if __name__ == "__main__":
    main()
