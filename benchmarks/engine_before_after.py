"""Time ``ebp.train.fit`` and ``ebp.many.fit_many`` against an earlier version, in one process.

The earlier version of the package (default: ``0505170``, the last commit before the shared
training engine of issue 9) is extracted from git into a temporary folder as a package named
``ebp_before``, imported beside the working tree's ``ebp``, and both train the same models on
the same data, alternately, a few times.  The script prints the best time of each, their ratio,
and whether the two versions' results agree (they should to the bit: the engine did not change
the arithmetic).

Cases:

* online ``fit`` (``batch_size=1``, the stochastic chapter's case): a 2-10-1 tanh network on 200
  patterns for 10 epochs (2,000 updates), and a 64-30-10 network on 300 digits for 2 epochs of
  cross-entropy (600 updates);
* ``fit_many`` of ``benchmarks/many_models.py``: 32 networks 64-30-10, 100 full-batch steps.

    .venv/bin/python benchmarks/engine_before_after.py [--before REV] [--repeats 5]
"""

from __future__ import annotations

import argparse
import importlib
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import ebp
import ebp.many
import ebp.train
from ebp import data
from ebp import nn as ebp_nn
from ebp.repro import single_threaded

ROOT = Path(__file__).resolve().parents[1]


def load_before(rev: str) -> object:
    """The package ``ebp`` at git revision ``rev``, imported as ``ebp_before``."""
    folder = Path(tempfile.mkdtemp(prefix="ebp_before_"))
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "ebp"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    package = folder / "ebp_before"
    (folder / "ebp").rename(package)
    for path in package.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"^(\s*)(from|import) ebp\b", r"\1\2 ebp_before", text, flags=re.M)
        path.write_text(text, encoding="utf-8")
    sys.path.insert(0, str(folder))
    return importlib.import_module("ebp_before")


def race(calls: dict[str, object], repeats: int) -> tuple[dict[str, float], dict[str, object]]:
    """Best wall time of each call over ``repeats`` alternating rounds, and its last result."""
    best = dict.fromkeys(calls, np.inf)
    results: dict[str, object] = {}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            results[name] = call()
            best[name] = min(best[name], time.perf_counter() - start)
    return best, results


def fit_call(package: object, make, X, y, kw: dict):
    return lambda: package.train.fit(make(), X, y, **kw).train_loss


def many_call(package: object, models, X, y):
    def call():
        result = package.many.fit_many(models, X, y, loss="cross_entropy", eta=0.1, epochs=100)
        return [h.train_loss for h in result.histories]

    return call


def online_cases() -> dict[str, tuple]:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(200, 2, generator=g)
    y = torch.tanh(X @ torch.tensor([[1.0], [-2.0]]))
    digits = data.digits(n_train=300)
    return {
        "online fit, 2-10-1 tanh, 2,000 updates": (
            lambda: ebp_nn.mlp((2, 10, 1), "tanh", seed=0),
            X,
            y,
            dict(eta=0.05, epochs=10, batch_size=1),
        ),
        "online fit, 64-30-10 digits, 600 updates": (
            lambda: ebp_nn.mlp((64, 30, 10), "lecun_tanh", seed=0),
            digits.X_train,
            digits.y_train,
            dict(loss="cross_entropy", eta=0.02, epochs=2, batch_size=1),
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="0505170")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    before = load_before(args.before)
    importlib.import_module("ebp_before.train")
    importlib.import_module("ebp_before.many")
    print(
        f"before: {args.before}; after: the working tree ({Path(ebp.__file__).parent}); "
        f"python {platform.python_version()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; best of {args.repeats}, alternating"
    )
    versions = {"before": before, "after": ebp}
    rows = []
    with single_threaded():
        for label, (make, X, y, kw) in online_cases().items():
            calls = {name: fit_call(p, make, X, y, kw) for name, p in versions.items()}
            times, losses = race(calls, args.repeats)
            rows.append((label, times, losses["before"] == losses["after"]))
    split = data.digits(n_train=300)
    models = [ebp_nn.mlp((64, 30, 10), "lecun_tanh", seed=s) for s in range(32)]
    calls = {
        name: many_call(p, models, split.X_train, split.y_train) for name, p in versions.items()
    }
    times, losses = race(calls, args.repeats)
    label = "fit_many, 32 networks 64-30-10, 100 full-batch steps"
    rows.append((label, times, losses["before"] == losses["after"]))
    print(f"\n{'case':58s}{'before':>10s}{'after':>10s}{'after/before':>14s}  identical")
    for label, t, same in rows:
        ratio = t["after"] / t["before"]
        print(f"{label:58s}{t['before']:9.3f}s{t['after']:9.3f}s{ratio:13.2f}x  {same}")


if __name__ == "__main__":
    main()
