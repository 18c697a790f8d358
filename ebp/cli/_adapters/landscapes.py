"""``landscapes``: the computations and figures of book/loss-landscapes.md (chapter 19).

The same calls, with the same arguments, as the chapter's cells; ``quick`` trains for fewer
epochs on smaller grids (the settings of tests/test_loss_landscapes.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ebp.experiments import loss_landscapes as ll
from ebp.plots import landscape as land_plots
from ebp.plots import loss_landscapes as ll_plots


@dataclass(frozen=True, eq=False)
class Landscapes:
    """The chapter's four experiments."""

    slice2: ll.TwoWeightSlice
    rescaling: ll.Rescaling
    eigen: ll.EigenPlane
    picture: ll.TrainingPicture


def _settings(quick: bool) -> dict[str, dict[str, Any]]:
    """Keyword arguments of the four calls: the chapter's, or a smoke test's."""
    book = {
        "slice": {"start": (-1.0, 2.0), "eta": 0.5, "epochs": 40},
        "rescaling": {"c": 3.0, "hidden": 8},
        "eigen": {"hidden": 4, "span": 1.0, "h": 1e-3},
        "picture": {"sizes": (64, 16, 10), "n_train": 300, "epochs": 20},
    }
    if not quick:
        return book
    return {
        "slice": {**book["slice"], "epochs": 10, "train_epochs": 50, "n_grid": 11},
        "rescaling": {**book["rescaling"], "epochs": 30, "alphas": np.linspace(-1, 1, 9)},
        "eigen": {**book["eigen"], "epochs": 50, "n_grid": 7},
        "picture": {
            "sizes": (64, 6, 10),
            "n_train": 60,
            "epochs": 3,
            "batch_size": 10,
            "n_grid": 7,
            "ts": np.linspace(-0.25, 1.25, 7),
        },
    }


def compute(*, n_seeds: None, quick: bool, progress: Callable[[int, int], None]) -> Landscapes:
    """Run the chapter's four experiments (one seed: the chapter's)."""
    kw = _settings(quick)
    steps = [
        (ll.two_weight_slice, kw["slice"]),
        (ll.rescaling, kw["rescaling"]),
        (ll.eigen_plane, kw["eigen"]),
        (ll.training_picture, kw["picture"]),
    ]
    results = []
    progress(0, len(steps))
    for done, (function, kwargs) in enumerate(steps, start=1):
        results.append(function(**kwargs))
        progress(done, len(steps))
    return Landscapes(*results)


def numbers(result: Landscapes) -> dict[str, Any]:
    """The numbers the chapter glues into its prose."""
    s, r, e, p = result.slice2, result.rescaling, result.eigen, result.picture
    gap = p.gap
    return {
        "two_weight_slice": {
            "trained_w1_b1_w2_b2": s.trained,
            "eta": s.eta,
            "epochs": s.epochs,
            "first_loss": s.path_losses[0],
            "final_loss": s.path_losses[-1],
            "final_w1_w2": s.path.coords[-1],
            "grid_minimum_w1_w2_loss": s.grid_minimum,
        },
        "rescaling": {
            "c": r.c,
            "loss": r.loss,
            "output_gap": r.output_gap,
            "rise": r.rise,
            "curvature": r.curvature,
        },
        "eigen_plane": {
            "eigenvalues": e.eigen.values,
            "second_difference": e.check.second_difference,
            "dHd": e.check.dHd,
            "relative_difference": e.check.relative_difference,
            "loss": e.loss,
            "gradient_norm": e.gradient_norm,
        },
        "training_picture": {
            "sizes": p.sizes,
            "n_train": p.n_train,
            "updates": p.updates[-1],
            "explained_variance_ratio": p.pca.explained_variance_ratio,
            "final_loss": gap.true_loss[-1],
            "max_relative_gap": gap.max_relative_gap,
            "median_relative_gap": gap.median_relative_gap,
            "surface_min_loss": p.surface.losses.min(),
            "line_start_loss": p.line.losses[0],
            "line_end_loss": p.line.losses[-1],
        },
    }


def figures(result: Landscapes) -> dict[str, Figure]:
    """The chapter's figures, named after their labels (``fig-lsc-slice`` → ``slice``)."""
    s, e, p = result.slice2, result.eigen, result.picture
    var = 100 * p.pca.explained_variance_ratio
    pc_labels = (f"PC1 ({var[0]:.1f} % of variance)", f"PC2 ({var[1]:.1f} % of variance)")
    return {
        "slice": land_plots.plot_contour(s.surface, s.path, labels=("$w_1$", "$w_2$")),
        "slice-3d": land_plots.plot_surface_3d(
            s.surface, s.path, path_losses=s.path_losses, labels=("$w_1$", "$w_2$")
        ),
        "rescaling": ll_plots.plot_rescaling(result.rescaling),
        "eigen": land_plots.plot_contour(
            e.surface, labels=(r"$\alpha$ (eigenvector 1)", r"$\beta$ (eigenvector 2)")
        ),
        "pca": land_plots.plot_contour(p.surface, p.path, labels=pc_labels),
        "gap": ll_plots.plot_path_gap(p),
        "interpolation": ll_plots.plot_interpolation(p),
    }
