"""What a training run records, and how it stops when it diverges.

The training loops of the book (``ebp.scratch.fit`` in NumPy, ``ebp.train.fit`` and
``ebp.many.fit_many`` in PyTorch) record a :class:`History` and call :func:`check_divergence`
after every step, so a run that blows up stops with a message naming the step, the loss, the
rate and the likely cause instead of drawing a silent NaN curve; a stopped run's history keeps
only the finite rows before it.  One rule serves every loss: a non-finite loss, or growth past
what a ``1e3``-fold growth of the network's outputs does to that loss (:func:`blowup_factor`).
:class:`ebp.optim.SDLM` refuses a step that would make the weights non-finite
(:func:`nonfinite_weights_message`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ebp._validate import describe


class DivergenceError(FloatingPointError):
    """Training diverged: the loss (or the weights) became NaN/Inf, or the loss grew far beyond
    its start (:func:`check_divergence`).

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


OUTPUT_BLOWUP: float = 1e3
"""Growth of the network's output scale, over its start, that counts as divergence."""

LOSS_DEGREE: dict[str | None, int] = {
    "mse": 2,
    "cross_entropy": 1,
    "softmax_ce": 1,
    "bce": 1,
    None: 2,
}
"""How a loss grows with the scale ``s`` of the network's output when the run blows up: the
squared error like ``s²`` (degree 2), cross-entropy and BCE on logits like ``s`` (degree 1: far
from the target ``E ≈ |z|``).  A callable loss (``None``) is given degree 2, the larger, so
that the rule never stops a run earlier than it would for the squared error."""


def blowup_factor(loss: str | None = "mse") -> float:
    """The factor over ``initial loss + 1`` beyond which a loss counts as diverged.

    ``OUTPUT_BLOWUP ** degree``: the loss a ``1e3``-fold growth of the output scale gives,
    ``1e6`` for the squared error (and callables), ``1e3`` for cross-entropy and BCE.

    Parameters
    ----------
    loss
        A loss name of :data:`ebp.losses.LOSSES` (or of :mod:`ebp.scratch`), or ``None`` for a
        callable loss.
    """
    if loss is not None and not isinstance(loss, str):  # (a list would be unhashable below)
        raise TypeError(
            f"loss must be a loss name (a string) or None (a callable loss); got "
            f"{type(loss).__name__} {describe(loss)}"
        )
    if loss not in LOSS_DEGREE:
        raise ValueError(
            f"loss must be one of {sorted(k for k in LOSS_DEGREE if k)} or None (a callable "
            f"loss); got {loss!r}"
        )
    return OUTPUT_BLOWUP ** LOSS_DEGREE[loss]


_CAUSE = (
    "the learning rate{rate} is too large for the curvature of the loss (eta above "
    "2/lambda_max, paper eq 38), or inputs/targets are badly scaled; lower eta, normalize the "
    "inputs, or clip the gradients."
)


def check_divergence(
    loss: float,
    *,
    step: int,
    initial_loss: float,
    eta: float | None = None,
    blowup: float | None = None,
    loss_name: str | None = "mse",
) -> str | None:
    """Return a message if ``loss`` shows divergence, else ``None``.

    This is the one divergence rule of the book's training loops (:func:`ebp.train.fit`,
    :func:`ebp.many.fit_many`, :func:`ebp.scratch.fit`; :class:`ebp.optim.SDLM` refuses
    non-finite weights with :func:`nonfinite_weights_message`).  Divergence is

    * a non-finite loss (NaN or ±Inf), whatever the loss; or
    * a loss more than ``blowup`` times ``initial_loss + 1`` (the ``+ 1`` so that a zero
      initial loss does not make every later loss a blow-up).  By default ``blowup`` is
      :func:`blowup_factor` of the loss: what a ``1e3``-fold growth of the output scale does
      to it, ``1e6`` for the squared error (which grows with the square of the outputs) and
      ``1e3`` for cross-entropy and BCE on logits (which grow linearly with them).

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
        Growth factor over ``initial_loss + 1`` that counts as divergence; ``None`` (default):
        :func:`blowup_factor` of ``loss_name``.
    loss_name
        The loss's name (``"mse"``, ``"cross_entropy"``/``"softmax_ce"``, ``"bce"``), or
        ``None`` for a callable loss.
    """
    if blowup is None:
        blowup = blowup_factor(loss_name)
    rate = f" (eta = {eta:g})" if eta is not None else ""
    if not math.isfinite(loss):
        return f"training diverged at step {step}: the loss is {loss}. Likely cause: " + (
            _CAUSE.format(rate=rate)
        )
    if loss > blowup * (abs(initial_loss) + 1.0):
        return (
            f"training diverged at step {step}: the loss grew from {initial_loss:.4g} to "
            f"{loss:.4g} (more than {blowup:.0e} times its start plus one). Likely cause: the "
            f"learning rate{rate} is too large (above 2/lambda_max, paper eq 38) or the "
            "gradients explode; lower eta or clip the gradients."
        )
    return None


def nonfinite_weights_message(
    n_bad: int, *, step: int, where: str, eta: float | None = None, loss: float | None = None
) -> str:
    """The message for an update that would make ``n_bad`` weights non-finite (NaN/Inf).

    Parameters
    ----------
    n_bad
        How many weights the update would make non-finite.
    step
        1-based count of the update.
    where
        What made the update (e.g. ``"SDLM"``), and which parameter.
    eta
        The learning rate (or ε), quoted when given.
    loss
        The loss before the update, quoted when known.
    """
    rate = f" (eta = {eta:g})" if eta is not None else ""
    before = "" if loss is None else f" (the loss before it was {loss:.4g})"
    return (
        f"training diverged at step {step}: {where} would make {n_bad} weight(s) non-finite"
        f"{before}; the weights were left as they were. Likely cause: " + _CAUSE.format(rate=rate)
    )
