"""Time a clean book build against a no-change rebuild, side by side in one process.

Usage (from the repository root, after ``make setup``)::

    .venv/bin/python benchmarks/book_build.py

The book is copied (tracked and untracked, not ignored files) into a temporary folder, built
from scratch with the flags ``make book`` uses, then built again with nothing changed. The
script prints each chapter's execution time, the wall time of both builds and their ratio.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
JB = Path(sys.executable).parent / "jupyter-book"
FLAGS = ["--path-output", ".", "--builder", "html", "-W", "-n", "--keep-going"]


def copy_tree(dest: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in files:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)


def timed_build(book: Path) -> tuple[float, list[dict]]:
    start = time.perf_counter()
    subprocess.run([str(JB), "build", ".", *FLAGS], cwd=book, check=True, capture_output=True)
    elapsed = time.perf_counter() - start
    rows = json.loads((book / "_build" / "execution-report.json").read_text())["chapters"]
    return elapsed, rows


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp)
        copy_tree(book)
        clean, rows = timed_build(book)
        again, rows_again = timed_build(book)
    print(f"{'chapter':<40} {'execution (s)':>14}")
    for row in rows:
        print(f"{row['docname']:<40} {row['runtime_s']:>14.1f}")
    executed = sum(r["runtime_s"] for r in rows if r["status"] == "executed")
    print(f"{'all chapters':<40} {executed:>14.1f}")
    print(f"clean build, wall time:      {clean:8.1f} s")
    print(f"no-change rebuild, wall time: {again:7.1f} s")
    print(f"ratio clean / no-change:     {clean / again:8.1f}x")
    stale = [r["docname"] for r in rows_again if r["status"] == "executed"]
    print(f"chapters re-executed by the no-change rebuild: {stale or 'none'}")


if __name__ == "__main__":
    main()
