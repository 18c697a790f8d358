"""Time clean book builds, one chapter at a time and in parallel, and a no-change rebuild.

Usage (from the repository root, after ``make setup``)::

    .venv/bin/python benchmarks/book_build.py

The book is copied (tracked and untracked, not ignored files) into two temporary folders. One
is built from scratch with the chapters executed one at a time (``EBP_EXECUTION_WORKERS=1``),
the other with the default pool (one worker per core), then built again with nothing changed.
All builds use the flags ``make book`` uses. The script prints each chapter's execution time in
both clean builds, the wall time of the execution phase and of each whole build, and ratios.
"""

from __future__ import annotations

import json
import os
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


def timed_build(book: Path, workers: int | None = None) -> tuple[float, dict]:
    env = dict(os.environ)
    if workers is not None:
        env["EBP_EXECUTION_WORKERS"] = str(workers)
    start = time.perf_counter()
    subprocess.run(
        [str(JB), "build", ".", *FLAGS], cwd=book, env=env, check=True, capture_output=True
    )
    elapsed = time.perf_counter() - start
    return elapsed, json.loads((book / "_build" / "execution-report.json").read_text())


def executed_sum(report: dict) -> float:
    return sum(r["runtime_s"] for r in report["chapters"] if r["status"] == "executed")


def main() -> None:
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        serial_book, parallel_book = Path(one), Path(two)
        copy_tree(serial_book)
        copy_tree(parallel_book)
        serial, serial_report = timed_build(serial_book, workers=1)
        parallel, parallel_report = timed_build(parallel_book)
        again, again_report = timed_build(parallel_book)
    times = {r["docname"]: r["runtime_s"] for r in parallel_report["chapters"]}
    print(f"{'chapter':<40} {'one at a time (s)':>18} {'in parallel (s)':>16}")
    for row in serial_report["chapters"]:
        print(f"{row['docname']:<40} {row['runtime_s']:>18.1f} {times[row['docname']]:>16.1f}")
    serial_sum, parallel_sum = executed_sum(serial_report), executed_sum(parallel_report)
    print(f"{'sum of the chapters':<40} {serial_sum:>18.1f} {parallel_sum:>16.1f}")
    pool_1, pool_n = serial_report["parallel"], parallel_report["parallel"]
    print(f"execution phase, wall time, 1 worker:  {pool_1['wall_s']:8.1f} s")
    print(f"execution phase, wall time, {pool_n['workers']} workers: {pool_n['wall_s']:8.1f} s")
    wall = pool_n["wall_s"]
    print(f"  / the sum of the chapters' times in that build: {wall / parallel_sum:.2f}")
    print(f"  / the execution phase with 1 worker:            {wall / pool_1['wall_s']:.2f}")
    print(f"clean build, wall time, 1 worker:      {serial:8.1f} s")
    print(f"clean build, wall time, {pool_n['workers']} workers:     {parallel:8.1f} s")
    print(f"no-change rebuild, wall time:          {again:8.1f} s")
    print(f"ratio clean ({pool_n['workers']} workers) / no-change:   {parallel / again:8.1f}x")
    stale = [r["docname"] for r in again_report["chapters"] if r["status"] == "executed"]
    print(f"chapters re-executed by the no-change rebuild: {stale or 'none'}")


if __name__ == "__main__":
    main()
