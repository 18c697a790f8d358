"""A torch model, a loss and data as functions of a flat float64 vector, for
:func:`~ebp.second_order.minimize`.

:func:`~ebp.second_order.model_objective` returns a :class:`~ebp.second_order.ModelObjective`
whose methods take and return NumPy float64 arrays: ``fun(w) -> (E, ∇E)``,
``residuals(w) -> (r, J)`` (``"mse"`` only), ``hessp(w, v) -> H v`` and ``hess(w) -> H``.
They are computed with :mod:`torch.func`
(``functional_call`` on a float64 copy of the parameters, ``jacrev`` for gradients, Jacobians,
and, applied twice, Hessian products and matrices), so the model itself is never touched: its
weights, their ``requires_grad`` and ``.grad``, its buffers and its train/eval mode stay as they
were.  The flat vector lists the parameters that require gradients in ``named_parameters()``
order, as :func:`ebp.hessian.flatten_params` does; frozen parameters stay constant.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call, jacrev

from ebp._training_mode import warn_if_stochastic
from ebp._validate import as_float_array
from ebp.losses import (
    LossFn,
    as_inputs,
    as_targets,
    check_against_output,
    check_finite_parameters,
    check_model,
    check_scalar_loss,
    get_loss,
    loss_name,
    model_dtype_device,
    trainable_parameters,
)

__all__ = ["ModelObjective", "model_objective"]


class ModelObjective:
    """The loss of a model on fixed data as a function of its flat parameter vector ``w``.

    Built by :func:`model_objective`.  ``E(w)`` is the loss's own convention (``"mse"``:
    ``(1/P) Σ_p ½‖d^p − o^p‖²``, eq 28, as in :mod:`ebp.losses`).

    Attributes
    ----------
    w0 : numpy.ndarray
        The model's trainable parameters, flattened, as float64 (a copy).
    n : int
        Their number.
    loss : str or None
        The loss's name (``None`` for a callable).
    """

    def __init__(
        self, model: nn.Module, loss: str | LossFn, X: Tensor, y: Tensor, device: torch.device
    ) -> None:
        self._model = model
        self._loss_fn = get_loss(loss)
        self.loss = loss_name(loss)
        self._X, self._y = X, y
        self._device = device
        trainable = {id(p) for p in trainable_parameters(model)}
        named = list(model.named_parameters())
        self._names = [k for k, p in named if id(p) in trainable]
        self._shapes = [p.shape for k, p in named if id(p) in trainable]
        self._constants = {
            k: p.detach().to(torch.float64).clone() for k, p in named if id(p) not in trainable
        }
        self._buffers = {
            k: b.detach().to(torch.float64) if b.is_floating_point() else b
            for k, b in model.named_buffers()
        }
        flat = torch.cat([p.detach().reshape(-1) for k, p in named if id(p) in trainable])
        self.w0 = flat.to(torch.float64).cpu().numpy().copy()
        self.n = int(self.w0.size)

    def __repr__(self) -> str:
        return (
            f"ModelObjective(model={type(self._model).__name__}, loss={self.loss!r}, "
            f"n={self.n}, P={self._X.shape[0]})"
        )

    # -- the functions of a flat tensor ------------------------------------------------------

    def _output(self, w: Tensor) -> Tensor:
        state = dict(self._constants)
        for name, piece, shape in zip(
            self._names, w.split([math.prod(s) for s in self._shapes]), self._shapes, strict=True
        ):
            state[name] = piece.view(shape)
        # clones of the buffers: a batch-norm layer in training mode updates the clones only
        state.update({k: b.clone() for k, b in self._buffers.items()})
        return functional_call(self._model, state, (self._X,))

    def _E(self, w: Tensor) -> Tensor:
        value = self._loss_fn(self._output(w), self._y)
        return check_scalar_loss(value, "loss")

    def _r(self, w: Tensor) -> Tensor:
        return ((self._output(w) - self._y) / math.sqrt(self._X.shape[0])).reshape(-1)

    def _tensor(self, w: Any, name: str) -> Tensor:
        arr = as_float_array(w, name, shape=(self.n,))
        return torch.as_tensor(arr, dtype=torch.float64, device=self._device)

    @staticmethod
    def _numpy(t: Tensor) -> np.ndarray:
        return t.detach().cpu().numpy().astype(np.float64, copy=False)

    # -- the public functions ----------------------------------------------------------------

    def fun(self, w: Any) -> tuple[float, np.ndarray]:
        """``(E(w), ∇E(w))``, the ``fun`` of :func:`ebp.second_order.minimize`."""
        t = self._tensor(w, "w")

        def value_and_aux(x: Tensor) -> tuple[Tensor, Tensor]:
            value = self._E(x)
            return value, value.detach()

        g, value = jacrev(value_and_aux, has_aux=True)(t)
        return float(value), self._numpy(g)

    def residuals(self, w: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(r, J)`` with ``r = (o − d)/√P`` flattened (pattern by pattern), so that
        ``½‖r‖² = E`` for ``"mse"``, and ``J = ∂r/∂w``, shape ``(P·K, n)`` (eqs 46–47)."""
        if self.loss != "mse":
            raise ValueError(
                f"residuals need loss='mse' (E = ½‖r‖²); this objective's loss is {self.loss!r}"
            )
        t = self._tensor(w, "w")
        J = jacrev(self._r)(t)
        with torch.no_grad():
            r = self._r(t)
        return self._numpy(r), self._numpy(J)

    def hessp(self, w: Any, v: Any) -> np.ndarray:
        """The Hessian–vector product ``H(w) v`` (reverse over reverse: the gradient of
        ``∇E(w)ᵀv``), the ``hessp`` of :func:`ebp.second_order.minimize`."""
        t = self._tensor(w, "w")
        v = self._tensor(v, "v")
        Hv = jacrev(lambda x: jacrev(self._E)(x) @ v)(t)
        return self._numpy(Hv)

    def hess(self, w: Any) -> np.ndarray:
        """The Hessian matrix ``H(w)``, ``(n, n)``, symmetrised."""
        H = jacrev(jacrev(self._E))(self._tensor(w, "w"))
        H = 0.5 * (H + H.T)
        return self._numpy(H)


def model_objective(model: nn.Module, loss: str | LossFn, X: Any, y: Any) -> ModelObjective:
    """A model's loss on ``(X, y)`` as functions of a flat float64 vector (for :func:`minimize`).

    Parameters
    ----------
    model
        The network; left unchanged.  Its trainable parameters form ``w`` (frozen ones stay
        constant); everything is computed in float64 on the model's device.
    loss
        A name of :data:`ebp.losses.LOSSES` (``"mse"`` is the paper's
        ``(1/P) Σ_p ½‖d^p − o^p‖²``, eq 28, ``K/2`` times ``nn.MSELoss()``), or a callable
        ``loss(output, target)`` returning a scalar tensor.  ``residuals`` need ``"mse"``.
    X, y
        Inputs ``(P, n_in)`` and targets (a 1-D target of ``"mse"`` becomes a column).

    Returns
    -------
    ModelObjective
        With ``w0``, ``fun``, ``residuals``, ``hessp`` and ``hess``.

    Warns
    -----
    ebp.hessian.NondeterministicOperatorWarning
        If the model has dropout or batch-norm layers in training mode.

    Examples
    --------
    A linear unit fitted by Levenberg–Marquardt to ``y = 2 a + b``:

    >>> import numpy as np
    >>> import torch
    >>> from ebp.second_order import minimize, model_objective
    >>> X = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> y = torch.tensor([[1.0], [2.0], [3.0]])
    >>> obj = model_objective(torch.nn.Linear(2, 1), "mse", X, y)
    >>> obj.n  # two weights and a bias
    3
    >>> res = minimize(
    ...     None, obj.w0, method="levenberg-marquardt", residuals=obj.residuals
    ... )
    >>> res.success, np.round(res.x, 6) + 0.0
    (True, array([2., 1., 0.]))
    """
    model = check_model(model)
    warn_if_stochastic(model, "its loss is not one fixed function of the weights")
    name = loss_name(loss)  # validates a name; a callable passes
    trainable_parameters(model)
    check_finite_parameters(model)
    _, device = model_dtype_device(model)
    X = as_inputs(X, "X", torch.float64, device, model=model)
    y = as_targets(y, "y", name, X.shape[0], torch.float64, device)
    obj = ModelObjective(model, loss, X, y, device)
    with torch.no_grad():
        out = obj._output(torch.as_tensor(obj.w0, device=device))
    if not isinstance(out, Tensor):
        raise TypeError(f"model must return a tensor; it returned {type(out).__name__}")
    check_against_output(out, y, "y", name)
    return obj
