"""A 2-D loss surface by ``ebp.landscape.surface`` (batched) against a point-by-point loop.

The issue's case: a 51 × 51 surface of a 64-30-10 network (``ebp.nn.mlp``, the paper's tanh
hidden units, float64, seed 0) on 300 standardized scikit-learn digits, softmax cross-entropy,
along two filter-normalized random directions, ``α, β ∈ [−1, 1]``.  Side by side in one process:

- ``batched``: :func:`ebp.landscape.surface` (``torch.func.vmap`` over ``chunk_size`` grid
  points per forward pass; the default chunk and the others given with ``--chunks``);
- ``loop``: for every grid point, load ``θ + α d₁ + β d₂`` into the model with
  :func:`torch.nn.utils.vector_to_parameters` and evaluate the loss, one forward pass per
  point (weights restored afterwards).

Both run inside :func:`ebp.repro.single_threaded` (as the book's experiments do: tiny networks,
a shared machine) unless ``--threads`` says otherwise.  It prints the best wall time of each over
``--repeats`` rounds (the methods in turn in every round), the ratio, and the largest absolute
difference between the two surfaces (it must be ≤ 1e-10 in float64).

    .venv/bin/python benchmarks/landscape.py [--repeats 3] [--chunks 64 256 2601] [--threads 0]
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import time

import numpy as np
import torch
from torch.nn.utils import parameters_to_vector, vector_to_parameters

import ebp.landscape as L
from ebp import data
from ebp import nn as enn
from ebp.losses import get_loss
from ebp.repro import single_threaded

N_GRID = 51


CASES = {
    "digits": "64-30-10 tanh net (float64), 300 digits, cross-entropy",
    "tiny": "2-4-1 tanh net (float64), 100 points of two_gaussians, mse",
}


def problem(case: str):
    """``(model, X, y, directions, loss)`` of a case (filter-normalized directions)."""
    if case == "digits":
        split = data.digits(n_train=300, seed=0, standardize=True)
        model = enn.mlp((64, 30, 10), dtype=torch.float64, seed=0)
        X = torch.as_tensor(split.X_train, dtype=torch.float64)
        y, loss = torch.as_tensor(split.y_train), "cross_entropy"
    else:
        ds = data.two_gaussians(100, seed=0)
        model = enn.mlp((2, 4, 1), dtype=torch.float64, seed=0)
        X = torch.as_tensor(ds.X, dtype=torch.float64)
        y, loss = torch.as_tensor(ds.y, dtype=torch.float64), "mse"
    dirs = [L.random_direction(model, seed=1), L.random_direction(model, seed=2)]
    return model, X, y, dirs, loss


def loop_surface(model, X, y, dirs, grid, loss_name) -> np.ndarray:
    """One forward pass per grid point, weights set with vector_to_parameters."""
    loss = get_loss(loss_name)
    params = list(model.parameters())
    theta = parameters_to_vector(params).detach().clone()
    out = np.empty((grid.size, grid.size))
    try:
        with torch.no_grad():
            for i, a in enumerate(grid):
                for j, b in enumerate(grid):
                    vector_to_parameters(theta + a * dirs[0] + b * dirs[1], params)
                    out[i, j] = float(loss(model(X), y))
    finally:
        with torch.no_grad():
            vector_to_parameters(theta, params)
    return out


def run(case: str, args: argparse.Namespace) -> None:
    model, X, y, dirs, loss = problem(case)
    grid = np.linspace(-1.0, 1.0, N_GRID)
    best: dict[str, float] = {}
    surfaces: dict[str, np.ndarray] = {}
    for _ in range(args.repeats):
        for chunk in args.chunks:
            t = time.perf_counter()
            s = L.surface(model, loss, X, y, dirs, grid, grid, chunk_size=chunk)
            name = f"batched (chunk_size={chunk})"
            best[name] = min(best.get(name, np.inf), time.perf_counter() - t)
            surfaces[name] = s.losses
        t = time.perf_counter()
        surfaces["loop"] = loop_surface(model, X, y, dirs, grid, loss)
        best["loop"] = min(best.get("loop", np.inf), time.perf_counter() - t)
    print(f"{case}: {N_GRID}x{N_GRID} surface, {CASES[case]}; best of {args.repeats} rounds")
    for name, t in best.items():
        ratio = best["loop"] / t
        diff = float(np.abs(surfaces[name] - surfaces["loop"]).max())
        print(f"  {name:28s} {t:8.3f} s   loop/this {ratio:6.2f}x   max |diff| {diff:.2e}")
        assert diff <= 1e-10, f"{name} differs from the loop by {diff:.2e}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunks", type=int, nargs="*", default=[L.CHUNK_SIZE])
    parser.add_argument("--threads", type=int, default=1, help="0: torch's default")
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    args = parser.parse_args()
    ctx = single_threaded() if args.threads == 1 else contextlib.nullcontext()
    with ctx:
        if args.threads > 1:
            torch.set_num_threads(args.threads)
        print(
            f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
            f"{platform.machine()}, Python {platform.python_version()}"
        )
        for case in args.cases:
            run(case, args)


if __name__ == "__main__":
    main()
