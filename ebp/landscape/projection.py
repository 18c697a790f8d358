"""A weight trajectory seen in a plane (or on a line, or in a 3-D subspace) of weight space."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ebp._validate import as_float_array
from ebp.landscape._common import as_direction_matrix, as_trajectory

__all__ = ["Projection", "project"]


@dataclass(frozen=True, eq=False)
class Projection:
    """A trajectory's coordinates in the span of some directions, from :func:`project`.

    Attributes
    ----------
    coords : numpy.ndarray
        ``(T, k)``: iterate ``t`` is closest to ``origin + Σ_j coords[t, j] d_j``.
    distance : numpy.ndarray
        ``(T,)``: how far each iterate lies from that subspace, ``‖θ_t − origin − coords[t] D‖``.
    relative_distance : numpy.ndarray
        ``(T,)``: ``distance`` over ``‖θ_t − origin‖`` (0 where the iterate is the origin).
    origin : numpy.ndarray
        ``(P,)`` the point the subspace passes through.
    directions : numpy.ndarray
        ``(k, P)`` the directions.
    """

    coords: np.ndarray
    distance: np.ndarray
    relative_distance: np.ndarray
    origin: np.ndarray
    directions: np.ndarray


def project(trajectory: Any, directions: Any, origin: Any = None) -> Projection:
    """The coordinates of each iterate in the subspace ``origin + span(directions)``.

    Least squares: ``coords[t] = argmin_c ‖θ_t − origin − Σ_j c_j d_j‖``, so the directions need
    not be orthogonal (for orthonormal ones, e.g. PCA's, ``c_j = d_jᵀ(θ_t − origin)``), only
    linearly independent.  The residual norm says how much of the path the picture leaves out.

    Parameters
    ----------
    trajectory
        ``(T, P)`` flat weight vectors (or a ``History`` with weight snapshots).
    directions
        One flat vector ``(P,)``, a ``(k, P)`` array or tensor, a sequence of vectors, or a
        result with ``directions`` (:func:`pca_directions`, :func:`eigen_directions`,
        :func:`surface`).
    origin
        The point the subspace passes through, ``(P,)``.  Default: ``directions.origin`` when
        ``directions`` is such a result (``θ_final`` for PCA, the centre of a surface), else
        the last iterate.

    Returns
    -------
    Projection

    Examples
    --------
    >>> import numpy as np
    >>> from ebp.landscape import pca_directions, project
    >>> path = np.array(
    ...     [[0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [2.0, 2.0, 0.0], [3.0, 3.0, 0.3]]
    ... )
    >>> proj = project(path, pca_directions(path, n=2))
    >>> proj.coords.shape
    (4, 2)
    >>> bool(proj.distance.max() < 1e-12)  # a path in a plane: nothing left out
    True
    """
    W = as_trajectory(trajectory)
    P = W.shape[1]
    D = as_direction_matrix(directions, P)
    if origin is None:
        origin = getattr(directions, "origin", None)
        o = W[-1].copy() if origin is None else as_float_array(origin, "origin", shape=(P,))
    else:
        o = as_float_array(origin, "origin", shape=(P,))
    k = D.shape[0]
    if k > P or np.linalg.matrix_rank(D) < k:
        raise ValueError(
            f"directions must be linearly independent; the {k} given span "
            f"{np.linalg.matrix_rank(D)} dimension(s)"
        )
    R = W - o
    coords, *_ = np.linalg.lstsq(D.T, R.T, rcond=None)
    coords = coords.T
    distance = np.linalg.norm(R - coords @ D, axis=1)
    size = np.linalg.norm(R, axis=1)
    relative = np.divide(distance, size, out=np.zeros_like(distance), where=size > 0)
    return Projection(
        coords=coords, distance=distance, relative_distance=relative, origin=o, directions=D
    )
