"""Loss landscapes: the practitioner's toolkit for looking at a network's loss in weight space.

A direction, a grid, and the loss along them; then the path training took, in the same picture.

- directions: :func:`random_direction` (filter-normalized, Li et al. 2018),
  :func:`pca_directions` (of a trajectory), :func:`eigen_directions` (Hessian eigenvectors,
  from :mod:`ebp.hessian`);
- the loss around a point: :func:`surface` (1-D or 2-D grid, batched with ``torch.func``),
  :func:`interpolate` (on a straight line between two weight vectors);
- a trajectory in the picture: :func:`project` (least-squares coordinates and the distance
  from the plane).

Conventions:

- A *flat vector* (a direction, an origin, a row of a trajectory) lists the model's trainable
  parameters (``requires_grad``) in ``named_parameters()`` order, as
  :func:`ebp.hessian.flatten_params` (which gives a model's own) and the weight snapshots of
  ``ebp.train.fit(..., snapshots=True)`` do; frozen parameters and buffers stay at the model's
  values.  That is ``model.parameters()`` order when nothing is frozen.
- Functions that evaluate the loss take ``(model, loss, X, y)`` as :func:`ebp.train.evaluate`
  does: ``loss`` a name of :data:`ebp.losses.LOSSES` (``"mse"`` is the paper's
  ``(1/P) Σ_p ½‖d^p − o^p‖²``, eq 28) or a callable, and all of the data in one batch.
- Every function leaves the model exactly as it found it: weights, ``requires_grad``,
  ``.grad``, buffers and train/eval mode.  The loss is evaluated in the model's current mode
  (with a ``NondeterministicOperatorWarning`` when dropout or batch-norm layers are training).
- Results are frozen dataclasses of float64 NumPy arrays; the figures of
  :mod:`ebp.plots.landscape` take them.
"""

from ebp.hessian import flatten_params
from ebp.landscape.directions import (
    NORMALIZATIONS,
    EigenDirections,
    PCADirections,
    eigen_directions,
    pca_directions,
    random_direction,
)
from ebp.landscape.projection import Projection, project
from ebp.landscape.surfaces import CHUNK_SIZE, Interpolation, Surface, interpolate, surface

__all__ = [
    "CHUNK_SIZE",
    "NORMALIZATIONS",
    "EigenDirections",
    "Interpolation",
    "PCADirections",
    "Projection",
    "Surface",
    "eigen_directions",
    "flatten_params",
    "interpolate",
    "pca_directions",
    "project",
    "random_direction",
    "surface",
]
