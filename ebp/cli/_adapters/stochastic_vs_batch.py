"""``stochastic-vs-batch``: the computations and figures of book/stochastic-vs-batch.md.

The chapter's calls with its arguments, over ``n_seeds`` seeds: presentations to a target loss,
batch against online, on the two Gaussians and on 10 copies of them; mini-batches of 100 and
10 on the copies; and the noise floor of constant-rate online learning with two ways to remove
it.  The table's updates per second (a timing of this machine) is left out, so the numbers
are the same on every run.  ``quick`` uses every other rate of the grid from 0.1 up, one
mini-batch size (10) and 3 epochs of annealing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from matplotlib.figure import Figure

from ebp.experiments import stochastic_vs_batch as st
from ebp.plots import stochastic_vs_batch as sb_plots


@dataclass(frozen=True, eq=False)
class StochasticVsBatch:
    """The chapter's three experiments."""

    redundancy: st.Redundancy
    batch_sizes: st.BatchSizes
    annealing: st.Annealing


def compute(
    *, n_seeds: int, quick: bool, progress: Callable[[int, int], None]
) -> StochasticVsBatch:
    """Run the chapter's experiments over ``n_seeds`` seeds."""
    seeds = range(n_seeds)
    etas = {"etas": st.ETAS[4::2]} if quick else {}
    progress(0, 3)
    res = st.redundancy(n=100, copies=10, seeds=seeds, **etas)
    progress(1, 3)
    bs = st.batch_sizes(res, sizes=(10,) if quick else (100, 10), **etas)
    progress(2, 3)
    ann = st.annealing(seeds=seeds, **({"blocks": 3, "block": 1} if quick else {}))
    progress(3, 3)
    return StochasticVsBatch(res, bs, ann)


def numbers(result: StochasticVsBatch) -> dict[str, Any]:
    """The numbers the chapter glues into its prose, and its table."""
    res, ann = result.redundancy, result.annealing
    ladders = {"held": res.ladder(), "first": res.with_rule("first").ladder()}
    return {
        "redundancy": {
            "copies": res.copies,
            "e_star": res.e_star,
            "target_factor": res.target_factor,
            "best": {
                f"{name}/{method}": {
                    "eta": s.best_eta,
                    "presentations_mean": s.best_reached.mean(),
                    "presentations_min": s.best_reached.min(),
                    "presentations_max": s.best_reached.max(),
                }
                for (name, method), s in res.sweeps.items()
            },
            "ratio_original": res.ratio("original"),
            "ratio_redundant": res.ratio("redundant"),
            "redundancy_gain": res.redundancy_gain,
            "online_cost_ratio": res.online_cost_ratio,
        },
        "ladder": {
            rule: {"target_factors": lad.target_factors, "gain": lad.gain}
            for rule, lad in ladders.items()
        },
        "batch_sizes": result.batch_sizes.rows(),
        "annealing": {
            "eta0": ann.eta0,
            "final_excess_mean": {m: ann.final(m).mean() for m in ann.methods},
            "constant_over_inverse_time": ann.final("constant").mean()
            / ann.final("inverse_time").mean(),
        },
    }


def figures(result: StochasticVsBatch) -> dict[str, Figure]:
    """The chapter's figures, named after their labels."""
    res = result.redundancy
    ladders = {"held": res.ladder(), "first": res.with_rule("first").ladder()}
    return {
        "redundancy": sb_plots.plot_redundancy(res),
        "ladder": sb_plots.plot_ladder(ladders, copies=res.copies, n=res.n),
        "batch-sizes": sb_plots.plot_batch_sizes(result.batch_sizes),
        "annealing": sb_plots.plot_annealing(result.annealing),
    }
