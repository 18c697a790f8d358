"""Train 32 networks one by one with ``ebp.train.fit`` and all at once with ``ebp.many.fit_many``.

The same K = 32 networks 64-30-10 (LeCun tanh, ``ebp.nn.mlp`` with seeds 0…31, float32) are
trained on 300 digits for 100 full-batch steps of softmax cross-entropy, (a) by a Python loop over
the real ``ebp.train.fit`` as a user would write it, (b) by one call of ``fit_many``.  Both run in
this process, alternately, a few times; the loop both with PyTorch's default number of threads
and inside ``ebp.repro.single_threaded()`` (``fit_many`` always runs single-threaded).  The
script prints the best time of each, the agreement of the results, and the speed-up ratios; the
ratio that counts is over the faster of the two loops.

    .venv/bin/python benchmarks/many_models.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import platform
import time

import numpy as np
import torch

from ebp import data, train
from ebp import nn as ebp_nn
from ebp.many import fit_many
from ebp.repro import single_threaded

K = 32
SIZES = (64, 30, 10)
EPOCHS = 100
ETA = 0.1
LOSS = "cross_entropy"


def loop(models, X, y):
    """(a) What a user writes without fit_many: one ``train.fit`` per model."""
    histories, trained = [], []
    for model in models:
        model = copy.deepcopy(model)
        histories.append(train.fit(model, X, y, loss=LOSS, eta=ETA, epochs=EPOCHS))
        trained.append(model)
    return histories, trained


def many(models, X, y):
    """(b) All models in one vectorised call."""
    result = fit_many(models, X, y, loss=LOSS, eta=ETA, epochs=EPOCHS)
    return result.histories, result.models


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    split = data.digits(n_train=300)
    X, y = split.X_train, split.y_train
    models = [ebp_nn.mlp(SIZES, "lecun_tanh", seed=s) for s in range(K)]

    print(
        f"{K} networks {'-'.join(map(str, SIZES))}, {X.shape[0]} digits, {EPOCHS} full-batch "
        f"steps, loss={LOSS!r}, eta={ETA}, float32"
    )
    print(
        f"python {platform.python_version()}, torch {torch.__version__}, "
        f"{os.cpu_count()} CPUs, default torch threads {torch.get_num_threads()}"
    )

    # fit_many runs inside single_threaded() by itself; the loop is timed both as a user runs
    # it (PyTorch's default threads) and inside single_threaded(), and the faster one counts.
    runs = {
        "loop of train.fit, default threads": (loop, contextlib.nullcontext),
        "loop of train.fit, single_threaded()": (loop, single_threaded),
        "fit_many": (many, contextlib.nullcontext),
    }
    best = dict.fromkeys(runs, np.inf)
    results = {}
    for _ in range(args.repeats):
        for label, (fn, context) in runs.items():
            with context():
                seconds, results[label] = timed(fn, models, X, y)
            best[label] = min(best[label], seconds)

    (h_loop, m_loop) = results["loop of train.fit, single_threaded()"]
    (h_many, m_many) = results["fit_many"]
    final_loop = np.array([h.final_train_loss for h in h_loop])
    final_many = np.array([h.final_train_loss for h in h_many])
    curves_loop = np.array([h.train_loss for h in h_loop])
    curves_many = np.array([h.train_loss for h in h_many])
    with torch.no_grad():
        params_diff = max(
            float((a - b).abs().max() / a.abs().max())
            for ma, mb in zip(m_loop, m_many, strict=True)
            for a, b in zip(ma.parameters(), mb.parameters(), strict=True)
        )
    print(
        f"agreement: max relative difference of the final losses "
        f"{np.max(np.abs(final_many - final_loop) / np.abs(final_loop)):.2e}, "
        f"of all recorded losses {np.max(np.abs(curves_many - curves_loop) / curves_loop):.2e}, "
        f"of the final weights (per tensor, relative to its largest entry) {params_diff:.2e}"
    )
    print(f"\nbest of {args.repeats}:")
    for label, seconds in best.items():
        print(f"  {label:40s}{seconds:9.3f} s")
    for label in runs:
        if label != "fit_many":
            print(f"speed-up of fit_many over the {label}: {best[label] / best['fit_many']:.1f}x")
    fastest_loop = min(v for k, v in best.items() if k != "fit_many")
    print(f"speed-up over the fastest loop: {fastest_loop / best['fit_many']:.1f}x")


if __name__ == "__main__":
    main()
