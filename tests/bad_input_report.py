"""Print the bad-input suite's counts without pytest: ``python tests/bad_input_report.py``.

Runs every case of ``tests/bad_input_cases.py`` (each public argument × each bad value of its
kind) and every check, then prints ``calls: N, clear errors: M, unclear: K`` and lists the
unclear ones (with the owning module group).  ``--all`` also lists the clear ones.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # this checkout's ebp, and the case table

import bad_input_cases as cases  # noqa: E402


def main(argv: list[str]) -> int:
    verbose = "--all" in argv
    start = time.perf_counter()
    n_calls = n_clear = 0
    unclear: list[str] = []
    for ident, case, label, make in cases.case_params():
        n_calls += 1
        fault = cases.run_case(case, label, make)
        if fault is None:
            n_clear += 1
            if verbose:
                print(f"clear    {ident}")
        else:
            unclear.append(f"[{case.owner}] {ident}: {fault}")
    n_checks = n_ok = 0
    for check in cases.CHECKS:
        n_checks += 1
        fault = cases.run_check(check)
        if fault is None:
            n_ok += 1
            if verbose:
                print(f"ok       {check.id}")
        else:
            unclear.append(f"[{check.owner}] check {check.id}: {fault}")
    for line in unclear:
        print(f"UNCLEAR  {line}")
    seconds = time.perf_counter() - start
    print(
        f"bad calls: {n_calls}, clear errors: {n_clear}, unclear: {n_calls - n_clear}; "
        f"checks: {n_checks}, passed: {n_ok}, failed: {n_checks - n_ok} ({seconds:.1f} s)"
    )
    print(f"calls: {n_calls + n_checks}, clear errors: {n_clear + n_ok}, unclear: {len(unclear)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
