"""``principal-eigenvalue``: the computations and figures of book/principal-eigenvalue.md.

The chapter's calls with its arguments: λ_max of one network six ways (seed 0), the online
estimate over ``n_seeds`` seeds, and the sweep of η / η_predicted on raw and standardized
digits over the same seeds.  ``quick`` uses a 5-unit hidden layer, 60 patterns, 50
presentations, 2 epochs and 7 rates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from matplotlib.figure import Figure

from ebp.experiments import principal_eigenvalue as er
from ebp.plots import principal_eigenvalue as er_plots


@dataclass(frozen=True, eq=False)
class Eigenvalue:
    """The chapter's three experiments."""

    estimates: er.PrincipalEigenvalue
    online: er.OnlineRuns
    raw: er.RateSweep
    standardized: er.RateSweep


def compute(*, n_seeds: int, quick: bool, progress: Callable[[int, int], None]) -> Eigenvalue:
    """Run the chapter's experiments, the online runs and sweeps over ``n_seeds`` seeds."""
    net = {"hidden": 5, "n_train": 60} if quick else {}
    seeds = range(n_seeds)
    sweep = {"epochs": 5}
    if quick:  # ratios 1/16, 1/8, ..., 4 (1 included: the excess at ratio 1 needs it)
        sweep = {"epochs": 2, "n_pattern_samples": 5, "ratios": tuple(er.RATIOS[::3])}
    presentations = 50 if quick else 400
    steps = [
        lambda: er.principal_eigenvalue(
            seed=0, n_presentations=presentations, **net, **({"n_constant": 30} if quick else {})
        ),
        lambda: er.online_runs(seeds=seeds, n_presentations=presentations, **net),
        lambda: er.rate_sweep(standardize=False, seeds=seeds, batch_size=1, **sweep, **net),
        lambda: er.rate_sweep(standardize=True, seeds=seeds, batch_size=1, **sweep, **net),
    ]
    results = []
    progress(0, len(steps))
    for done, step in enumerate(steps, start=1):
        results.append(step())
        progress(done, len(steps))
    return Eigenvalue(*results)


def numbers(result: Eigenvalue) -> dict[str, Any]:
    """The numbers the chapter glues into its prose."""
    pe, runs = result.estimates, result.online
    n = runs.estimates.shape[1]
    checkpoints = [t for t in (20, 100, 400) if t <= n] + ([n] if n not in (20, 100, 400) else [])
    return {
        "estimates": {
            "n_params": pe.n_params,
            "lambda_max": pe.lambda_max,
            "lambda_2": pe.eigenvalues[-2],
            "lambda_min": pe.eigenvalues[0],
            "relative_errors": pe.relative_errors(),
            "power_iterations": pe.power.size,
            "taylor_gradients": pe.taylor.size + 1,
            "lanczos_products": pe.lanczos_products,
            "forward_difference_error": pe.fd_error,
            "online_ratio": {t: pe.online_ratio(t) for t in checkpoints if t <= pe.online.size},
        },
        "online_runs": {
            "seeds": runs.seeds,
            "lambda_max": runs.lambda_max,
            "ratio_at": {t: runs.ratio_at(t) for t in checkpoints},
            "same_order_of_magnitude": {
                t: int(runs.same_order_of_magnitude(t).sum()) for t in checkpoints
            },
        },
        "rate_sweep": {
            "R8_window": er.R8_WINDOW,
            "raw": result.raw.summary(),
            "standardized": result.standardized.summary(),
        },
    }


def figures(result: Eigenvalue) -> dict[str, Figure]:
    """The chapter's figures, named after their labels."""
    return {
        "estimates": er_plots.plot_estimates(result.estimates),
        "online": er_plots.plot_online_runs(result.online),
        "rate-sweep": er_plots.plot_rate_sweep(result.raw, result.standardized),
    }
