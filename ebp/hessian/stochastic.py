"""Randomized estimates from products: Hutchinson's trace and the spectral density by
stochastic Lanczos quadrature (SLQ)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ebp._validate import as_float_array, check_choice, check_int, check_positive
from ebp.hessian.diagonal import rademacher
from ebp.hessian.operator import CurvatureOperator, as_operator

__all__ = [
    "SpectralDensity",
    "TraceEstimate",
    "hutchinson_trace",
    "lanczos_tridiagonal",
    "slq_density",
]

PROBES: tuple[str, ...] = ("rademacher", "gaussian")


def _probe(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    return rademacher(n, rng) if kind == "rademacher" else rng.standard_normal(n)


@dataclass
class TraceEstimate:
    """Hutchinson's estimate of ``tr H = E[zᵀ H z]``.

    Attributes
    ----------
    value : float
        The mean of the samples ``z_sᵀ H z_s``.
    stderr : float
        Its standard error, ``std(samples) / √n_samples``.
    samples : numpy.ndarray
        The ``n_samples`` single-probe estimates.
    n_products : int
        Products used (one per sample).
    """

    value: float
    stderr: float
    samples: np.ndarray
    n_products: int


def hutchinson_trace(
    op: CurvatureOperator | Any,
    n_samples: int = 100,
    *,
    probe: str = "rademacher",
    seed: int = 0,
) -> TraceEstimate:
    """Hutchinson's unbiased trace estimate ``(1/S) Σ_s z_sᵀ H z_s`` with its standard error.

    Parameters
    ----------
    op
        A curvature operator or a symmetric matrix.
    n_samples
        The number of probes ``S`` (≥ 2, for the standard error).
    probe
        ``"rademacher"`` (random signs, the smaller variance) or ``"gaussian"``.
    seed
        Seed of the probes.
    """
    op = as_operator(op, "op")
    n_samples = check_int(n_samples, "n_samples", min_value=2)
    probe = check_choice(probe, "probe", PROBES)
    rng = np.random.default_rng(check_int(seed, "seed", min_value=0))
    before = op.n_products
    samples = np.empty(n_samples)
    for s in range(n_samples):
        z = torch.as_tensor(_probe(probe, op.dim, rng), dtype=op.dtype, device=op.device)
        samples[s] = float(torch.dot(z, op.matvec(z)))
    return TraceEstimate(
        value=float(samples.mean()),
        stderr=float(samples.std(ddof=1) / math.sqrt(n_samples)),
        samples=samples,
        n_products=op.n_products - before,
    )


def lanczos_tridiagonal(
    op: CurvatureOperator | Any, n_steps: int, v0: Any
) -> tuple[np.ndarray, np.ndarray]:
    """``n_steps`` Lanczos steps from ``v0`` with full reorthogonalization.

    Returns the diagonal ``α`` and off-diagonal ``β`` of the tridiagonal matrix ``T``; it is
    shorter than ``n_steps`` if an invariant subspace is found first (``β ≈ 0``).
    """
    op = as_operator(op, "op")
    n_steps = check_int(n_steps, "n_steps", min_value=1)
    v = op.vector(v0, "v0").clone()
    v = v / v.norm()
    Q = [v]
    alphas: list[float] = []
    betas: list[float] = []
    for j in range(min(n_steps, op.dim)):
        w = op.matvec(Q[j])
        a = float(torch.dot(Q[j], w))
        alphas.append(a)
        for _ in range(2):  # full reorthogonalization, twice is enough
            for q in Q:
                w = w - torch.dot(q, w) * q
        b = float(w.norm())
        if j == min(n_steps, op.dim) - 1:
            break
        scale = max([*map(abs, alphas), *betas])
        if b <= 1e-10 * scale or b == 0:
            break
        betas.append(b)
        Q.append(w / b)
    return np.array(alphas), np.array(betas)


@dataclass
class SpectralDensity:
    """The spectral density of a symmetric operator by stochastic Lanczos quadrature.

    Attributes
    ----------
    nodes : numpy.ndarray
        Ritz values of every probe's Lanczos run, concatenated.
    weights : numpy.ndarray
        Their quadrature weights (squared first components of ``T``'s eigenvectors, divided by
        the number of probes): they sum to 1.
    grid : numpy.ndarray
        Where the smoothed density is evaluated.
    density : numpy.ndarray
        ``Σ_i weights_i N(grid; nodes_i, sigma²)``: integrates to 1 over the real line (to the
        Gaussian tails cut at the grid's ends).
    sigma : float
        The width of the Gaussian smoothing.
    n_products : int
        Products used.
    """

    nodes: np.ndarray
    weights: np.ndarray
    grid: np.ndarray
    density: np.ndarray
    sigma: float
    n_products: int


def slq_density(
    op: CurvatureOperator | Any,
    *,
    n_probes: int = 4,
    n_steps: int = 30,
    sigma: float | None = None,
    grid: Any = None,
    grid_size: int = 400,
    seed: int = 0,
) -> SpectralDensity:
    """Stochastic Lanczos quadrature: the eigenvalue density ``(1/n) Σ_i δ(λ − λ_i)``.

    For each of ``n_probes`` random unit vectors, ``n_steps`` Lanczos steps give a tridiagonal
    ``T = U diag(θ) Uᵀ``; the nodes ``θ_j`` with weights ``U_{0j}²`` are a Gauss quadrature of
    the probe's spectral measure, whose mean over probes is the density.

    Parameters
    ----------
    op
        A curvature operator or a symmetric matrix.
    n_probes, n_steps
        Probes and Lanczos steps per probe (``n_probes·n_steps`` products at most).
    sigma
        Gaussian smoothing width; default 1 % of the spread of the nodes (or 1e-3 if they
        coincide).
    grid, grid_size
        Where to evaluate the density; default ``grid_size`` points from ``min − 5σ`` to
        ``max + 5σ``.
    seed
        Seed of the probes.
    """
    op = as_operator(op, "op")
    n_probes = check_int(n_probes, "n_probes", min_value=1)
    n_steps = check_int(n_steps, "n_steps", min_value=1)
    grid_size = check_int(grid_size, "grid_size", min_value=2)
    rng = np.random.default_rng(check_int(seed, "seed", min_value=0))
    before = op.n_products
    nodes, weights = [], []
    for _ in range(n_probes):
        v0 = rng.standard_normal(op.dim)
        a, b = lanczos_tridiagonal(op, n_steps, v0)
        T = np.diag(a) + np.diag(b, 1) + np.diag(b, -1)
        theta, U = np.linalg.eigh(T)
        nodes.append(theta)
        weights.append(U[0] ** 2 / n_probes)
    nodes_all = np.concatenate(nodes)
    weights_all = np.concatenate(weights)
    if sigma is None:
        spread = float(nodes_all.max() - nodes_all.min())
        sigma = 0.01 * spread if spread > 0 else 1e-3
    sigma = check_positive(sigma, "sigma")
    if grid is None:
        grid = np.linspace(nodes_all.min() - 5 * sigma, nodes_all.max() + 5 * sigma, grid_size)
    else:
        grid = as_float_array(grid, "grid", ndim=1)
    z = (grid[:, None] - nodes_all[None, :]) / sigma
    density = (np.exp(-0.5 * z**2) / (sigma * math.sqrt(2 * math.pi))) @ weights_all
    return SpectralDensity(
        nodes=nodes_all,
        weights=weights_all,
        grid=grid,
        density=density,
        sigma=float(sigma),
        n_products=op.n_products - before,
    )
