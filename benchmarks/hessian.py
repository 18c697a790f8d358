"""Exact Hessian–vector products against a gradient, and Lanczos against the power method.

Two networks of ``ebp.nn.mlp`` (tanh hidden units, float64, seed 0) on 512 scikit-learn digits
(standardized pixels, softmax cross-entropy on integer labels):

- "64-32-10" (2,410 parameters), the issue's network, and
- "64-256-256-10" (85,002 parameters), a wider one.

Part 1 runs, side by side in one process and inside ``ebp.repro.single_threaded()``: one
gradient (the model's ``loss.backward()``), and one exact product ``H v`` by
``ebp.hessian.HessianOperator`` with ``method="double_backward"`` built fresh for every product
(``cache_graph=False``: a forward pass, the gradient with its graph, its backward), with the
cached gradient graph (the default: one backward pass per product, after a first product
that builds the graph), and with ``method="forward_over_reverse"`` (``torch.func.jvp`` of
``torch.func.jacrev``), and the paper's finite difference (eq 59, two gradients).  It prints the
best CPU time (``time.process_time``: the runs are single-threaded, so on an idle machine this
is the wall time, and on a shared one it is not inflated by other work) over ``--repeats``
rounds of ``--calls`` calls each, taking the methods in turn in every round, the ratio to the
gradient's, and the peak memory each call allocates above what was
allocated before it, measured with the PyTorch profiler's CPU memory timeline
(``torch.profiler.profile(profile_memory=True)`` → ``export_memory_timeline``: the largest
total of live tensor memory during the call minus the total at its start), with the ratio to
the gradient's.  For the cached graph the memory the graph keeps alive between products is
printed on its own line.

Part 2 counts products to reach 1e-3 relative error on λ_max and on each of the top five
eigenvalues, for start vectors from seeds 0…4:

- Lanczos: ``ebp.hessian.lanczos_tridiagonal`` with full reorthogonalization; the Ritz values
  after ``m`` steps are the eigenvalues of the leading ``m × m`` block, so one run of 80 steps
  gives the error after every ``m``;
- SciPy's ``eigsh`` through ``ebp.hessian.lanczos_eigs`` (``tol=1e-4``, default ``ncv``), as a
  user calls it: its products and its error;
- the power method (eq 60) stopped when the estimate changes by less than 1e-4 relative
  (``stop="change"``) with the same budget as Lanczos needed (for the top five, by deflation
  with a fifth of the budget per eigenvalue): its error and whether it stopped by itself; and
  the same power method left to stop by itself: its products and its error.

References: ``torch.linalg.eigvalsh`` of the dense Hessian for the small network; for the
wide one, ``eigsh`` with ``tol=1e-12`` (dense would need 85,002² doubles).

Part 3 (small network only) runs the two ``k``-eigenpair functions of ``ebp.hessian`` as a user
calls them, with their defaults, for ``k = 1, 3, 5``: ``top_eigenvalues`` (Lanczos through
``eigsh``) and ``deflated_power_method`` (the power method with deflation, residual stop,
``tol=1e-6``, 1000 products per eigenpair): products, CPU time, how many pairs converged and
the largest relative error.

    .venv/bin/python benchmarks/hessian.py [--repeats 7] [--calls 10] [--only-part3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

from ebp import data
from ebp import hessian as H
from ebp import nn as ebp_nn
from ebp.repro import single_threaded
from ebp.train import cross_entropy_loss

NETWORKS = {"64-32-10": (64, 32, 10), "64-256-256-10": (64, 256, 256, 10)}
N_SAMPLES = 512
TARGET = 1e-3
SEEDS = range(5)
KRYLOV_MAX = 80


def problem(sizes):
    split = data.digits(n_train=N_SAMPLES, standardize=True)
    model = ebp_nn.mlp(sizes, "tanh", seed=0, dtype=torch.float64)
    X = torch.as_tensor(split.X_train)
    y = torch.as_tensor(split.y_train, dtype=torch.long)
    return model, X, y


def gradient_call(model, X, y) -> Callable[[], None]:
    def call() -> None:
        model.zero_grad(set_to_none=True)
        cross_entropy_loss(model(X), y).backward()

    return call


def best_time(fn: Callable[[], object], repeats: int, calls: int) -> float:
    """Seconds of CPU time per call (best of ``repeats`` rounds of ``calls`` calls)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(calls):
            fn()
        best = min(best, (time.process_time() - start) / calls)
    return best


def peak_memory(fn: Callable[[], object]) -> float:
    """Bytes: the peak of live CPU tensor memory during ``fn`` minus the level at its start."""
    with (
        warnings.catch_warnings(),
        profile(
            activities=[ProfilerActivity.CPU],
            profile_memory=True,
            record_shapes=True,
            with_stack=True,
        ) as prof,
    ):
        warnings.simplefilter("ignore", UserWarning)  # the profiler reads .grad of non-leaves
        fn()
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        path = os.path.join(tmp, "timeline.raw.json")
        prof.export_memory_timeline(path, device="cpu")
        with open(path) as f:
            _, sizes = json.load(f)
    totals = np.asarray(sizes, dtype=np.float64).sum(axis=1)
    return float(totals.max() - totals[0]) if totals.size else 0.0


def part1(name, sizes, repeats, calls) -> None:
    model, X, y = problem(sizes)
    fresh = H.HessianOperator(model, "cross_entropy", (X, y), cache_graph=False)
    cached = H.HessianOperator(model, "cross_entropy", (X, y))
    fwd = H.HessianOperator(model, "cross_entropy", (X, y), method="forward_over_reverse")
    v = torch.as_tensor(np.random.default_rng(0).standard_normal(fresh.dim))
    graph_memory = peak_memory(lambda: cached.matvec(v))  # builds and keeps the graph
    runs = {
        "gradient (loss.backward())": gradient_call(model, X, y),
        "Hv double backward, fresh": lambda: fresh.matvec(v),
        "Hv double backward, cached graph": lambda: cached.matvec(v),
        "Hv forward-over-reverse": lambda: fwd.matvec(v),
        "Hv finite difference (eq 59)": lambda: H.finite_difference_hvp(fresh, v),
    }
    for fn in runs.values():  # warm up (torch.func's first forward-mode call loads a lot)
        fn()
    times = {k: float("inf") for k in runs}
    for _ in range(repeats):  # alternate, so that a busy moment hits every method alike
        for key, fn in runs.items():
            times[key] = min(times[key], best_time(fn, 1, calls))
    mems = {k: peak_memory(fn) for k, fn in runs.items()}
    agree = float((fwd.matvec(v) - cached.matvec(v)).norm() / cached.matvec(v).norm())
    g_t, g_m = times["gradient (loss.backward())"], mems["gradient (loss.backward())"]
    print(f"\n## {name}: {fresh.dim:,} parameters, {N_SAMPLES} patterns, float64\n")
    print("| call | time (ms) | × gradient | peak extra memory (MB) | × gradient |")
    print("|---|---:|---:|---:|---:|")
    for key in runs:
        print(
            f"| {key} | {1e3 * times[key]:.3f} | {times[key] / g_t:.2f} | "
            f"{mems[key] / 1e6:.2f} | {mems[key] / g_m:.2f} |"
        )
    print(
        f"\ncached gradient graph kept alive: {graph_memory / 1e6:.2f} MB "
        f"({graph_memory / g_m:.2f} × a gradient's peak); "
        f"forward-over-reverse vs double backward: relative difference {agree:.1e}"
    )


def ritz_errors(op, reference, seed):
    """Relative errors of the top-5 Ritz values after m = 1 … KRYLOV_MAX Lanczos steps."""
    v0 = np.random.default_rng(seed).standard_normal(op.dim)
    a, b = H.lanczos_tridiagonal(op, KRYLOV_MAX, v0)
    errs = np.full((len(a), 5), np.inf)
    for m in range(1, len(a) + 1):
        T = np.diag(a[:m]) + np.diag(b[: m - 1], 1) + np.diag(b[: m - 1], -1)
        theta = np.sort(np.linalg.eigvalsh(T))[::-1][:5]
        errs[m - 1, : len(theta)] = np.abs(theta - reference[: len(theta)]) / np.abs(
            reference[: len(theta)]
        )
    return errs


def first_below(errs) -> int:
    hit = np.nonzero(errs <= TARGET)[0]
    return int(hit[0]) + 1 if hit.size else -1


def part2(name, sizes) -> None:
    model, X, y = problem(sizes)
    op = H.HessianOperator(model, "cross_entropy", (X, y))
    if op.dim <= 5000:
        reference = torch.linalg.eigvalsh(op.dense()).numpy()[::-1][:5].copy()
        ref_how = "eigvalsh of the dense Hessian"
    else:
        reference = H.lanczos_eigs(op, 5, tol=1e-12, ncv=60, residuals=False).values
        ref_how = "eigsh, tol=1e-12"
    print(f"\n### {name}: products to {TARGET:g} relative error (reference: {ref_how})\n")
    print(f"top five eigenvalues: {', '.join(f'{x:.5g}' for x in reference)}\n")
    print(
        "| seed | Lanczos λ_max | Lanczos top 5 | eigsh k=1: products, error | "
        "eigsh k=5: products, max error | power (change) at Lanczos λ_max budget: error, "
        "stopped | power + deflation at top-5 budget: max error, all stopped | power (change) "
        "left to stop by itself: products, error |"
    )
    print("|---:|---:|---:|---|---|---|---|---|")
    for seed in SEEDS:
        errs = ritz_errors(op, reference, seed)
        m1 = first_below(errs[:, 0])
        m5 = first_below(errs.max(axis=1))
        e1 = H.lanczos_eigs(op, 1, tol=1e-4, seed=seed, residuals=False)
        e5 = H.lanczos_eigs(op, 5, tol=1e-4, seed=seed, residuals=False)
        err1 = abs(e1.values[0] - reference[0]) / reference[0]
        err5 = np.max(np.abs(e5.values - reference) / np.abs(reference))
        p1 = H.power_method(op, stop="change", tol=1e-4, max_products=max(m1, 1), seed=seed)
        perr1 = abs(p1.value - reference[0]) / reference[0]
        p5 = H.deflated_power_method(
            op, 5, stop="change", tol=1e-4, max_products=max(m5 // 5, 1), seed=seed
        )
        perr5 = np.max(np.abs(p5.values - reference) / np.abs(reference))
        free = H.power_method(op, stop="change", tol=1e-4, max_products=5000, seed=seed)
        free_err = abs(free.value - reference[0]) / reference[0]
        print(
            f"| {seed} | {m1} | {m5} | {e1.n_products}, {err1:.1e} | {e5.n_products}, "
            f"{err5:.1e} | {perr1:.1e}, {p1.converged} | {perr5:.1e}, "
            f"{bool(p5.converged.all())} | {free.n_products}, {free_err:.1e} |"
        )


def part3(name, sizes) -> None:
    model, X, y = problem(sizes)
    op = H.HessianOperator(model, "cross_entropy", (X, y))
    reference = torch.linalg.eigvalsh(op.dense()).numpy()[::-1].copy()
    print(f"\n### {name}: top_eigenvalues (Lanczos) against deflated_power_method\n")
    print(
        "| k | top_eigenvalues: products, time (s), converged, max error | "
        "deflated_power_method: products, time (s), converged, max error | ratio of products, "
        "of time |"
    )
    print("|---:|---|---|---|")
    for k in (1, 3, 5):
        row = []
        for fn in (H.top_eigenvalues, H.deflated_power_method):
            t0 = time.process_time()
            r = fn(op, k)
            dt = time.process_time() - t0
            err = np.max(np.abs(r.values - reference[:k]) / np.abs(reference[:k]))
            row.append((r.n_products, dt, int(r.converged.sum()), err))
        (n_l, t_l, c_l, e_l), (n_p, t_p, c_p, e_p) = row
        print(
            f"| {k} | {n_l}, {t_l:.2f}, {c_l}/{k}, {e_l:.1e} | {n_p}, {t_p:.2f}, {c_p}/{k}, "
            f"{e_p:.1e} | {n_p / n_l:.0f}×, {t_p / t_l:.0f}× |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--only-part3", action="store_true", help="run part 3 only")
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, torch {torch.__version__}, {os.cpu_count()} CPUs, "
        "run single-threaded"
    )
    with single_threaded():
        if not args.only_part3:
            for name, sizes in NETWORKS.items():
                part1(name, sizes, args.repeats, args.calls)
            for name, sizes in NETWORKS.items():
                part2(name, sizes)
        name, sizes = next(iter(NETWORKS.items()))
        part3(name, sizes)


if __name__ == "__main__":
    main()
