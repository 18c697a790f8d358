"""What a training run records, and how it stops when it diverges.

Both training loops of the book (``ebp.scratch.fit`` in NumPy and ``ebp.train.fit`` in
PyTorch) record a :class:`History` and call :func:`check_divergence` after every step, so a
run that blows up stops with a message naming the step, the loss and the likely cause
instead of drawing a silent NaN curve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


class DivergenceError(FloatingPointError):
    """Training diverged: the loss became NaN/Inf or grew far beyond its start.

    Attributes
    ----------
    step
        The update count (1-based) after which divergence was detected.
    loss
        The offending loss value.
    """

    def __init__(self, message: str, *, step: int, loss: float) -> None:
        super().__init__(message)
        self.step = step
        self.loss = loss


@dataclass
class History:
    """Loss curves of one training run, recorded once per epoch (and at the start).

    ``presentations`` counts patterns shown to the network so far, the paper's x-axis
    (§4.1); ``epoch`` is presentations divided by the training-set size. A run stopped by
    divergence has ``diverged`` set, with the ``message`` and the update count ``step``
    after which the divergence was seen.

    Optional columns, filled only when a run asks for them (one entry per recorded row):
    ``eta``, the learning rate of the next update, when it changes during the run (a schedule
    or an adaptive rate); ``weights``, the flattened parameter vector (float64), for
    trajectories; ``layer_stats``, per-layer statistics (see :func:`ebp.train.fit`).
    """

    epoch: list[float] = field(default_factory=list)
    presentations: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    diverged: bool = False
    message: str | None = None
    step: int | None = None
    eta: list[float] = field(default_factory=list)
    weights: list[np.ndarray] = field(default_factory=list, compare=False)
    layer_stats: list[dict[str, np.ndarray]] = field(default_factory=list, compare=False)

    def record(
        self,
        *,
        presentations: int,
        n_train: int,
        train_loss: float,
        val_loss: float | None = None,
        grad_norm: float | None = None,
    ) -> None:
        """Append one row of measurements."""
        self.presentations.append(int(presentations))
        self.epoch.append(presentations / n_train)
        self.train_loss.append(float(train_loss))
        if val_loss is not None:
            self.val_loss.append(float(val_loss))
        if grad_norm is not None:
            self.grad_norm.append(float(grad_norm))

    def as_arrays(self) -> dict[str, np.ndarray]:
        """The recorded columns as NumPy arrays (empty columns are left out)."""
        columns = {
            "epoch": self.epoch,
            "presentations": self.presentations,
            "train_loss": self.train_loss,
            "val_loss": self.val_loss,
            "grad_norm": self.grad_norm,
        }
        return {k: np.asarray(v, dtype=float) for k, v in columns.items() if v}

    @property
    def final_train_loss(self) -> float:
        """The last recorded training loss (NaN if nothing was recorded)."""
        return self.train_loss[-1] if self.train_loss else math.nan


def check_divergence(
    loss: float,
    *,
    step: int,
    initial_loss: float,
    eta: float | None = None,
    blowup: float = 1e6,
) -> str | None:
    """Return a message if ``loss`` shows divergence, else ``None``.

    Divergence is a non-finite loss, or a loss more than ``blowup`` times the initial loss
    (plus one, so that a zero initial loss does not make every later loss a blow-up).

    Parameters
    ----------
    loss
        The loss after update number ``step``.
    step
        1-based update count, used in the message.
    initial_loss
        The loss before the first update.
    eta
        The learning rate, quoted in the message when given.
    blowup
        Growth factor over the initial loss that counts as divergence.
    """
    rate = f" (eta = {eta:g})" if eta is not None else ""
    if not math.isfinite(loss):
        return (
            f"training diverged at step {step}: the loss is {loss}. Likely cause: the "
            f"learning rate{rate} is too large for the curvature of the loss (eta above "
            "2/lambda_max, paper eq 38), or inputs/targets are badly scaled; lower eta, "
            "normalize the inputs, or clip the gradients."
        )
    if loss > blowup * (abs(initial_loss) + 1.0):
        return (
            f"training diverged at step {step}: the loss grew from {initial_loss:.4g} to "
            f"{loss:.4g}. Likely cause: the learning rate{rate} is too large (above "
            "2/lambda_max, paper eq 38) or the gradients explode; lower eta or clip the "
            "gradients."
        )
    return None
