"""Learning-rate rules of the paper that PyTorch lacks (§4.7, §9.1, §9.2).

* :class:`PaperAdaptiveRate`: the adaptive global learning rate of eqs 17–19, as a
  ``torch.optim.Optimizer``.
* :func:`per_layer_rates`: ``torch.optim`` parameter groups with a rate per layer, ∝ √(fan-in)
  of the units the layer feeds, so that all layers learn at about the same speed.
* :class:`SDLM`: stochastic diagonal Levenberg–Marquardt (§9.1, eqs 61–62), a rate per weight
  from a running estimate of the diagonal second derivatives.
* :func:`eta_from_lambda_max`: the best single rate η = 1/λ_max (eq 39) from the largest
  eigenvalue of the Hessian (or Gauss–Newton matrix), by the power method or Lanczos.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from ebp._validate import (
    check_choice,
    check_in_range,
    check_instance,
    check_int,
    check_positive,
    describe,
)
from ebp.hessian import (
    DiagonalResult,
    EigenResult,
    EigenResults,
    GaussNewtonOperator,
    HessianOperator,
    backprop_diagonal,
    gauss_newton_diagonal,
    lanczos_eigs,
    power_method,
    unflatten_params,
)
from ebp.history import DivergenceError, nonfinite_weights_message
from ebp.losses import (
    LOSSES,
    as_inputs,
    as_targets,
    check_against_output,
    loss_name,
    model_dtype_device,
    model_output,
)
from ebp.updates import adaptive_step, add_weight_decay, next_eta, nonpositive_eta_message

__all__ = [
    "CURVATURES",
    "LAYER_RULES",
    "SDLM",
    "LambdaMaxRate",
    "PaperAdaptiveRate",
    "eta_from_lambda_max",
    "per_layer_rates",
]


class PaperAdaptiveRate(torch.optim.Optimizer):
    """The paper's adaptive learning rate (§4.7, eqs 17–19).

    With ``g_t = ∂E_t/∂w`` the gradient of the loss of the current pattern (or mini-batch) at
    ``w(t)``, one :meth:`step` does

    * eq 17: ``w(t+1) = w(t) − η(t) g_t``
    * eq 18: ``r(t+1) = (1 − δ) r(t) + δ g_t``
    * eq 19: ``η(t+1) = η(t) + α η(t) (β ‖r(t+1)‖ − η(t))``

    with ``r(0) = 0`` and ``η(0) = eta0``.  ``r`` is a running average of the gradient: when
    successive gradients agree, ``‖r‖`` stays near ``‖g‖`` and η grows towards ``β‖r‖``; when
    they point in opposing directions (oscillation across a valley, or noise near a minimum)
    they cancel in ``r`` and η shrinks.  The printed eq 17 has ``w(t+1)`` on both sides – a
    typo for ``w(t)`` on the right, as written here.

    The paper gives no values for δ, α, β.  Ours: ``delta = 0.1`` (``r`` averages over about
    ten updates); ``alpha = 1.0``, so η changes by the fraction ``α(β‖r‖ − η)`` per update (a
    few per cent for the rates of the book's networks); ``beta = 0.1``, the rate η settles at
    when the averaged gradient has norm ``‖r‖``, i.e. ``η* = β‖r‖``.  Eq 19 keeps η positive
    only while ``α(η − β‖r‖) < 1`` (guaranteed by ``α η < 1``); a step that would make η ≤ 0
    raises a ``ValueError`` naming ``alpha``, unless ``eta_min > 0``, which clamps η (η = 0 would
    stop learning for good, since eq 19 is multiplicative in η).

    The rate is *global*: one η for all the parameters, and ``‖r‖`` is the norm of ``r`` over
    all of them (the paper's vector ``r``).  With ``per_group=True`` every parameter group has
    its own η (its ``"lr"``), its own ``‖r‖`` and may set its own ``delta``, ``alpha``,
    ``beta`` – e.g. one η per layer, started from :func:`per_layer_rates`.

    The current η is kept in each group's ``"lr"`` (so a learning-rate scheduler or
    :func:`ebp.train.fit` can read and set it, as for any torch optimizer); in the global mode
    the first group's ``"lr"`` is the η of all.

    Parameters
    ----------
    params
        Parameters or parameter groups, as for any ``torch.optim`` optimizer.
    eta0
        Initial rate η(0) > 0.
    delta
        δ in (0, 1): weight of the new gradient in the running average ``r`` (eq 18).
    alpha
        α > 0: how fast η follows ``β‖r‖`` (eq 19).
    beta
        β > 0: the rate per unit of averaged gradient norm that η moves towards (eq 19).
    per_group
        One η per parameter group instead of one for all.
    weight_decay
        λ ≥ 0, added as ``λ w`` to every gradient (before eqs 17–18).
    eta_min, eta_max
        Bounds η is clamped to after each eq-19 update (default: ``[0, ∞)``, see above).
    """

    def __init__(
        self,
        params: Iterable[Any],
        eta0: float = 0.01,
        delta: float = 0.1,
        alpha: float = 1.0,
        beta: float = 0.1,
        *,
        per_group: bool = False,
        weight_decay: float = 0.0,
        eta_min: float = 0.0,
        eta_max: float = math.inf,
    ) -> None:
        if not isinstance(per_group, bool):
            raise TypeError(f"per_group must be a bool; got {type(per_group).__name__}")
        eta_min = check_positive(eta_min, "eta_min", allow_zero=True)
        if not (isinstance(eta_max, (int, float)) and eta_max > eta_min):
            raise ValueError(f"eta_max must be a number > eta_min ({eta_min:g}); got {eta_max!r}")
        self.per_group = per_group
        self.eta_min = float(eta_min)
        self.eta_max = float(eta_max)
        defaults = {
            "lr": eta0,
            "delta": delta,
            "alpha": alpha,
            "beta": beta,
            "weight_decay": weight_decay,
        }
        self._check_group(defaults, "")
        super().__init__(params, defaults)
        if not per_group:
            keys = ("lr", "delta", "alpha", "beta")
            first = self.param_groups[0]
            for i, group in enumerate(self.param_groups[1:], start=1):
                for key in keys:
                    if group[key] != first[key]:
                        raise ValueError(
                            f"param_groups[{i}][{key!r}] = {group[key]!r} differs from group 0 "
                            f"({first[key]!r}); a global rate needs the same {key!r} in every "
                            "group: pass per_group=True for one rate per group"
                        )
        self._history: list[tuple[float, ...]] = []

    @staticmethod
    def _check_group(group: dict[str, Any], where: str) -> None:
        """Validate a group's settings; ``where`` prefixes the names (``""`` for the defaults)."""

        def name(key: str) -> str:
            if not where:
                return "eta0" if key == "lr" else key
            return f"{where}{key!r}]"

        check_positive(group["lr"], name("lr"))
        check_in_range(
            group["delta"], name("delta"), 0.0, 1.0, low_inclusive=False, high_inclusive=False
        )
        check_positive(group["alpha"], name("alpha"))
        check_positive(group["beta"], name("beta"))
        check_positive(group["weight_decay"], name("weight_decay"), allow_zero=True)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group (validated: ``lr`` > 0, ``delta`` in (0, 1), ``alpha``, ``beta`` > 0)."""
        super().add_param_group(param_group)
        index = len(self.param_groups) - 1
        self._check_group(self.param_groups[-1], f"param_groups[{index}][")

    @property
    def eta(self) -> float | list[float]:
        """The current rate η(t), a float, or one per group with ``per_group=True``."""
        etas = [float(g["lr"]) for g in self.param_groups]
        return etas if self.per_group else etas[0]

    @property
    def eta_history(self) -> np.ndarray:
        """η(0), η(1), …, η(t) (the rate of every update so far and the next one).

        Shape ``(t + 1,)``, or ``(t + 1, n_groups)`` with ``per_group=True``.
        """
        current = self.eta
        rows = [*self._history, tuple(current) if self.per_group else (current,)]
        arr = np.asarray(rows, dtype=float)
        return arr if self.per_group else arr[:, 0]

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        """One update by eqs 17–19; ``closure`` (optional) re-evaluates and returns the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        etas = [float(g["lr"]) for g in self.param_groups]
        if not self.per_group:
            etas = [etas[0]] * len(etas)
        self._history.append(tuple(etas) if self.per_group else (etas[0],))
        squares: list[float] = []
        for group, eta in zip(self.param_groups, etas, strict=True):
            params = group["params"]
            states = [self.state[p] for p in params]
            grads = [p.grad for p in params]
            if group["weight_decay"] != 0:
                grads = add_weight_decay(grads, params, group["weight_decay"])
            running = [state.get("r") for state in states]
            n = len(params)
            sq = adaptive_step(params, grads, running, [-eta] * n, [group["delta"]] * n, False)
            for state, r in zip(states, running, strict=True):
                if r is not None:
                    state["r"] = r
            squares.append(sum((float(q) for q in sq if q is not None), 0.0))
        if self.per_group:
            for group, eta, sq in zip(self.param_groups, etas, squares, strict=True):
                group["lr"] = self._next_eta(eta, group["alpha"], group["beta"], math.sqrt(sq))
        else:
            first = self.param_groups[0]
            new = self._next_eta(etas[0], first["alpha"], first["beta"], math.sqrt(sum(squares)))
            for group in self.param_groups:
                group["lr"] = new
        return loss

    def _next_eta(self, eta: float, alpha: float, beta: float, r_norm: float) -> float:
        """Eq 19, clamped to ``[eta_min, eta_max]``."""
        new = next_eta(eta, alpha, beta, r_norm)
        if new <= 0 and self.eta_min == 0:
            raise ValueError(
                nonpositive_eta_message(eta, new, alpha, beta * r_norm)
                + ", or set eta_min > 0 to clamp the rate"
            )
        return min(max(new, self.eta_min), self.eta_max)


# ---------------------------------------------------------------------------------------------
# Per-layer rates
# ---------------------------------------------------------------------------------------------

LAYER_RULES: tuple[str, ...] = ("sqrt_fan_in", "inverse_sqrt_fan_in", "uniform")
"""Rules :func:`per_layer_rates` knows."""


def per_layer_rates(model: nn.Module, eta: float, *, rule: str = "sqrt_fan_in") -> list[dict]:
    """``torch.optim`` parameter groups, one per ``nn.Linear`` layer, with a rate each (§4.7).

    The paper wants every weight to learn at about the same speed.  Second derivatives are
    usually smaller in the lower layers (§8), so lower layers need larger rates; the paper's
    recipe is a rate proportional to the square root of the fan-in ``m`` of the unit the
    weight feeds.  For layer ``l`` with ``m_l`` inputs (its ``in_features``; the bias is a
    weight of the same units and shares the rate)::

        η_l = eta · s(m_l) / s(m_L)

    where ``L`` is the last ``nn.Linear`` in ``model.modules()`` order and ``s(m) = √m``.  The
    normalisation makes the *last* layer's rate exactly ``eta``, so ``eta`` keeps the meaning
    it has for plain SGD on the output layer, and a layer with more inputs than the output
    layer gets a larger rate (for the usual funnel-shaped networks: the lower layers).

    Parameters
    ----------
    model
        A module with at least one ``nn.Linear``; only parameters with ``requires_grad`` are
        included.  Trainable parameters outside any ``nn.Linear`` go in one last group with
        rate ``eta``.
    eta
        The last layer's rate, > 0.
    rule
        ``"sqrt_fan_in"`` (the paper's, ``s(m) = √m``); ``"inverse_sqrt_fan_in"``
        (``s(m) = 1/√m``, the opposite reading, for comparison); ``"uniform"`` (``s = 1``:
        every group gets ``eta``, plain SGD split into groups).

    Returns
    -------
    list of dict
        Groups ``{"params": [...], "lr": η_l, "name": "layer{l}", "fan_in": m_l}`` (``l``
        counting the ``nn.Linear`` layers from 0); torch optimizers keep the extra keys.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    eta = check_positive(eta, "eta")
    check_choice(rule, "rule", LAYER_RULES)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("model must contain at least one torch.nn.Linear layer")

    def s(m: int) -> float:
        if rule == "sqrt_fan_in":
            return math.sqrt(m)
        if rule == "inverse_sqrt_fan_in":
            return 1.0 / math.sqrt(m)
        return 1.0

    ref = s(linears[-1].in_features)
    groups: list[dict] = []
    seen: set[int] = set()
    for l, layer in enumerate(linears):
        params = [p for p in layer.parameters(recurse=False) if p.requires_grad]
        seen.update(id(p) for p in layer.parameters(recurse=False))
        if not params:
            continue
        m = layer.in_features
        rate = eta if l == len(linears) - 1 else eta * s(m) / ref
        groups.append({"params": params, "lr": rate, "name": f"layer{l}", "fan_in": m})
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in seen]
    if rest:
        groups.append({"params": rest, "lr": eta, "name": "other", "fan_in": None})
    if not groups:
        raise ValueError("model must have at least one parameter with requires_grad=True")
    return groups


# ---------------------------------------------------------------------------------------------
# Stochastic diagonal Levenberg–Marquardt (§9.1)
# ---------------------------------------------------------------------------------------------

CURVATURES: tuple[str, ...] = ("gauss_newton", "backprop")
"""Where :class:`SDLM` gets the diagonal second derivatives from."""

REFRESH_UNITS: tuple[str, ...] = ("step", "epoch")
"""Units of :class:`SDLM`'s ``refresh_every``."""


def _data_pair(
    data: Any, name: str, model: nn.Module, loss: Any
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(X, y)`` from a pair or an object with ``.X`` and ``.y``, checked as :func:`_xy` checks
    them, with messages naming ``data[0]``/``data[1]`` (or ``data.X``/``data.y``)."""
    if hasattr(data, "X") and hasattr(data, "y"):
        return _xy(data.X, data.y, (f"{name}.X", f"{name}.y"), model, loss)
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return _xy(data[0], data[1], (f"{name}[0]", f"{name}[1]"), model, loss)
    raise TypeError(f"{name} must be a pair (X, y) or a Dataset; got {describe(data)}")


def _xy(
    X: Any, y: Any, names: tuple[str, str], model: nn.Module, loss: Any
) -> tuple[torch.Tensor, torch.Tensor]:
    """``X`` and ``y`` as tensors of ``model``'s dtype and device, checked exactly as
    :func:`ebp.train.fit` checks its ``X`` and ``y`` (:func:`ebp.losses.as_inputs`,
    :func:`~ebp.losses.as_targets`, :func:`~ebp.losses.check_against_output`): real, finite,
    rectangular, at least one pattern, one target per pattern, of the model's input width and
    output shape.  The model is left as it was (its buffers are restored)."""
    name = loss_name(loss)
    dtype, device = model_dtype_device(model)
    X = as_inputs(X, names[0], dtype, device, model=model).detach()
    y = as_targets(y, names[1], name, X.shape[0], dtype, device).detach()
    with torch.no_grad():
        out = model_output(model, X[:1], names[0], keep_buffers=True, shape=tuple(X.shape))
        check_against_output(out, y, names[1], name)
    return X, y


class SDLM(torch.optim.Optimizer):
    """Stochastic diagonal Levenberg–Marquardt (paper §9.1, eqs 61–62).

    Every weight ``w_ki`` gets its own rate from a running estimate ``⟨h_ki⟩`` of its diagonal
    second derivative ``∂²E/∂w_ki²``:

    * eq 61: ``η_ki = ε / (⟨h_ki⟩ + μ)``, and one :meth:`step` does ``w_ki ← w_ki − η_ki g_ki``
      with ``g = ∂E/∂w`` the gradient of the current pattern (or mini-batch);
    * eq 62: ``⟨h⟩ ← (1 − γ) ⟨h⟩ + γ h`` at every curvature update, where ``h`` is the
      diagonal of the Gauss–Newton matrix on a set of patterns.  The first update sets
      ``⟨h⟩ = h`` (starting from 0 would make the first rates ``ε/μ``, huge).

    ``h`` is the Gauss–Newton diagonal of the *mean* loss (the losses of :mod:`ebp.train` are
    means over patterns), so with ``ε = 1``, ``μ = 0`` and a full-batch gradient one step is a
    diagonal Newton step.  μ keeps the rate finite where the curvature is tiny; ε < 1 leaves
    a margin for the noise of single-pattern gradients and for the off-diagonal curvature
    the diagonal ignores.  The paper gives no values for ε, μ, γ.

    Where the curvature comes from.  *Automatic* (``model`` and ``data`` given): :meth:`step`
    calls :meth:`update_curvature` itself before the first update and then every
    ``refresh_every`` steps (or epochs, with
    ``refresh_unit="epoch"``: ``⌈P / batch_size⌉`` steps each), each time on ``subset``
    patterns drawn at random from ``data`` (all of them if ``subset`` is ``None``).  This is
    the paper's recipe (a few hundred patterns before every epoch or few) and the form to use
    with :func:`ebp.train.fit`, through its optimizer factory::

        fit(model, X, y, eta=0.05, epochs=2, batch_size=1,
            optimizer=lambda params: SDLM(
                params, mu=0.01, model=model, data=(X, y),
                refresh_every=1, refresh_unit="epoch", subset=100))

    ``fit`` sets every group's ``"lr"`` to its ``eta``, and here ``"lr"`` *is* ε: pass ε as
    ``fit``'s ``eta`` (a schedule of ``eta`` then scales ε).

    *Manual* (no ``data``): the training loop calls :meth:`update_curvature` whenever it
    wants, with ``(model, loss, X, y)`` or with a ready ``diagonal`` (e.g. a single pattern's,
    for the fully online form of eq 62 with a small γ); :meth:`step` before the first
    curvature update raises ``RuntimeError``.

    Parameters
    ----------
    params
        Parameters or parameter groups; groups may set their own ``"lr"`` (ε), ``"mu"`` and
        ``"weight_decay"``.
    eps
        ε > 0, the global scale of the rates (the groups' ``"lr"``).
    mu
        μ ≥ 0, added to the curvature (eq 61).  With ``mu = 0`` a weight with zero curvature
        makes :meth:`step` raise.
    gamma
        γ in (0, 1], the weight of a new diagonal in the running estimate (eq 62); ``1``
        keeps only the latest.
    model, loss, data
        The network (it must own every parameter in ``params``), the loss (a name of
        :data:`ebp.losses.LOSSES` or a callable; ``"backprop"`` needs a name) and the training
        data ``(X, y)`` or an :class:`ebp.data.Dataset`.  ``data`` switches on the automatic
        mode and needs ``model``.
    curvature
        ``"gauss_newton"``: the exact Gauss–Newton diagonal
        (:func:`ebp.hessian.gauss_newton_diagonal`); ``"backprop"``: the paper's
        backpropagated diagonal (:func:`ebp.hessian.backprop_diagonal`, eqs 54–58: exact on the
        last two ``Linear`` layers, an approximation below; ``nn.Linear``/``nn.Sequential``
        models and named losses only).
    refresh_every
        Steps (or epochs) between automatic curvature updates, ≥ 1.
    refresh_unit
        ``"step"`` or ``"epoch"``.
    batch_size
        The training batch size, to count the steps of an epoch (``refresh_unit="epoch"``);
        ``None`` for full batch (one step per epoch), as in :func:`ebp.train.fit`.
    subset
        Patterns per curvature update (drawn without replacement, seeded); ``None``: all.
    seed
        Seed of the subset draws.
    weight_decay
        λ ≥ 0, added as ``λ w`` to the gradient (not to the curvature).

    Attributes
    ----------
    n_refreshes : int
        Curvature updates so far.
    curvature_patterns : int
        Patterns used by all curvature updates so far (their cost: about one extra
        forward-and-backward pass each, per output).
    """

    def __init__(
        self,
        params: Iterable[Any],
        eps: float = 0.05,
        mu: float = 0.01,
        gamma: float = 1.0,
        *,
        model: nn.Module | None = None,
        loss: str | Callable[..., Any] = "mse",
        data: Any = None,
        curvature: str = "gauss_newton",
        refresh_every: int = 1,
        refresh_unit: str = "step",
        batch_size: int | None = 1,
        subset: int | None = None,
        seed: int = 0,
        weight_decay: float = 0.0,
    ) -> None:
        defaults = {"lr": eps, "mu": mu, "weight_decay": weight_decay}
        self._check_group(defaults, "")
        self.gamma = check_in_range(gamma, "gamma", 0.0, 1.0, low_inclusive=False)
        self.curvature_method = check_choice(curvature, "curvature", CURVATURES)
        if model is not None:
            check_instance(model, nn.Module, "model")
        if not (isinstance(loss, str) or callable(loss)):
            raise TypeError(f"loss must be a loss name or a callable; got {describe(loss)}")
        if isinstance(loss, str):
            check_choice(loss, "loss", LOSSES)
        elif curvature == "backprop":
            raise ValueError(
                "loss must be a loss name (not a callable) with curvature='backprop'; got "
                f"{describe(loss)}"
            )
        self.refresh_every = check_int(refresh_every, "refresh_every", min_value=1)
        self.refresh_unit = check_choice(refresh_unit, "refresh_unit", REFRESH_UNITS)
        self.batch_size = (
            None if batch_size is None else check_int(batch_size, "batch_size", min_value=1)
        )
        self.subset = None if subset is None else check_int(subset, "subset", min_value=1)
        self.seed = check_int(seed, "seed", min_value=0)
        self.model = model
        self.loss = loss
        self.data: tuple[torch.Tensor, torch.Tensor] | None = None
        if data is not None:
            if model is None:
                raise ValueError("data needs model: the curvature is that of model's loss")
            self.data = _data_pair(data, "data", model, loss)
        elif refresh_unit == "epoch":
            raise ValueError("refresh_unit='epoch' needs data (to count an epoch's steps)")
        super().__init__(params, defaults)
        if model is not None:
            owned = {id(p) for p in model.parameters()}
            for group in self.param_groups:
                if any(id(p) not in owned for p in group["params"]):
                    raise ValueError("model must own every parameter given to the optimizer")
        self._generator = torch.Generator().manual_seed(self.seed)
        self.n_steps = 0
        self.n_refreshes = 0
        self.curvature_patterns = 0
        # ⟨h⟩ + μ of each parameter, checked > 0, kept while ⟨h⟩ (its version) and μ stay.
        self._denominators: dict[int, tuple[torch.Tensor, int, float, torch.Tensor]] = {}

    @staticmethod
    def _check_group(group: dict[str, Any], where: str) -> None:
        def name(key: str) -> str:
            if not where:
                return "eps" if key == "lr" else key
            return f"{where}{key!r}]"

        check_positive(group["lr"], name("lr"))
        check_positive(group["mu"], name("mu"), allow_zero=True)
        check_positive(group["weight_decay"], name("weight_decay"), allow_zero=True)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group (validated: ``lr`` (ε) > 0, ``mu`` ≥ 0, ``weight_decay`` ≥ 0)."""
        super().add_param_group(param_group)
        index = len(self.param_groups) - 1
        self._check_group(self.param_groups[-1], f"param_groups[{index}][")

    # -- the curvature ------------------------------------------------------------------------

    @property
    def steps_between_refreshes(self) -> int:
        """Steps between automatic curvature updates."""
        if self.refresh_unit == "step" or self.data is None:
            return self.refresh_every
        P = self.data[0].shape[0]
        per_epoch = 1 if self.batch_size is None else math.ceil(P / min(self.batch_size, P))
        return self.refresh_every * per_epoch

    def _params(self) -> list[torch.Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def _diagonal_from_model(
        self, model: nn.Module, loss: Any, X: Any, y: Any
    ) -> tuple[list[torch.Tensor], DiagonalResult]:
        if self.data is not None and X is self.data[0] and y is self.data[1]:
            Xt, yt = X, y  # checked when given
        else:
            Xt, yt = _xy(X, y, ("X", "y"), model, loss)
        if self.subset is not None and self.subset < Xt.shape[0]:
            idx = torch.randperm(Xt.shape[0], generator=self._generator)[: self.subset]
            Xt, yt = Xt[idx.to(Xt.device)], yt[idx.to(yt.device)]
        if self.curvature_method == "gauss_newton":
            result = gauss_newton_diagonal(model, loss, (Xt, yt))
        else:
            if not isinstance(loss, str):
                raise ValueError(
                    f"loss must be a loss name with curvature='backprop'; got {describe(loss)}"
                )
            result = backprop_diagonal(model, loss, (Xt, yt))
        self.curvature_patterns += int(Xt.shape[0])
        pieces = unflatten_params(result.values, model)
        by_id = {id(p): pieces[n] for n, p in model.named_parameters() if p.requires_grad}
        diag = []
        for p in self._params():
            if id(p) not in by_id:
                raise ValueError(
                    "model must own every parameter of the optimizer (with requires_grad)"
                )
            diag.append(by_id[id(p)])
        return diag, result

    def _diagonal_given(self, diagonal: Any) -> list[torch.Tensor]:
        params = self._params()
        if isinstance(diagonal, torch.Tensor) or isinstance(diagonal, np.ndarray):
            flat = torch.as_tensor(diagonal).reshape(-1)
            n = sum(p.numel() for p in params)
            if flat.numel() != n:
                raise ValueError(
                    f"diagonal must have one entry per parameter ({n}); got {flat.numel()}"
                )
            pieces = list(flat.split([p.numel() for p in params]))
        elif isinstance(diagonal, Sequence) and not isinstance(diagonal, (str, bytes)):
            if len(diagonal) != len(params):
                raise ValueError(
                    f"diagonal must hold one tensor per parameter ({len(params)}); got "
                    f"{len(diagonal)}"
                )
            pieces = [torch.as_tensor(d) for d in diagonal]
        else:
            raise TypeError(
                "diagonal must be a flat tensor or a sequence of tensors (one per parameter); "
                f"got {describe(diagonal)}"
            )
        out = []
        for i, (d, p) in enumerate(zip(pieces, params, strict=True)):
            if d.numel() != p.numel():
                raise ValueError(
                    f"diagonal[{i}] must have {p.numel()} entries like its parameter; got "
                    f"{d.numel()}"
                )
            out.append(d.reshape(p.shape))
        return out

    @torch.no_grad()
    def update_curvature(
        self,
        model: nn.Module | None = None,
        loss: str | Callable[..., Any] | None = None,
        X: Any = None,
        y: Any = None,
        *,
        diagonal: Any = None,
    ) -> DiagonalResult | None:
        """Fold a new diagonal ``h`` into the running estimate (eq 62).

        Either ``diagonal`` (a flat tensor over the optimizer's parameters in order, or one
        tensor per parameter), or the Gauss–Newton diagonal of ``model``'s ``loss`` on
        ``(X, y)`` (``subset`` patterns of it, if set); ``model``, ``loss``, ``X``, ``y``
        default to those given to the constructor.

        Returns
        -------
        DiagonalResult or None
            The new diagonal ``h`` as computed (``None`` for a given ``diagonal``).
        """
        result = None
        if diagonal is not None:
            if any(a is not None for a in (model, loss, X, y)):
                raise ValueError("give either diagonal or (model, loss, X, y), not both")
            diag = self._diagonal_given(diagonal)
        else:
            model = self.model if model is None else model
            loss = self.loss if loss is None else loss
            if model is None:
                raise ValueError("model is needed to compute the curvature (or give diagonal)")
            check_instance(model, nn.Module, "model")
            if (X is None) != (y is None):
                raise ValueError("give both X and y, or neither (to use data)")
            if X is None:
                if self.data is None:
                    raise ValueError("X and y are needed: this optimizer was given no data")
                X, y = self.data
            with torch.enable_grad():
                diag, result = self._diagonal_from_model(model, loss, X, y)
        for i, (p, h) in enumerate(zip(self._params(), diag, strict=True)):
            h = h.detach().to(p.device, p.dtype)
            if not bool(torch.isfinite(h).all()) or bool((h < 0).any()):
                raise ValueError(
                    f"diagonal[{i}] must be finite and >= 0 (a Gauss–Newton diagonal); got "
                    f"min {float(h.min()):.3g}"
                )
            state = self.state[p]
            if "h" not in state:
                state["h"] = h.clone()
            else:
                state["h"].mul_(1.0 - self.gamma).add_(h, alpha=self.gamma)
        self.n_refreshes += 1
        return result

    def curvature(self, *, flat: bool = False) -> list[torch.Tensor] | torch.Tensor:
        """The running estimate ``⟨h⟩``: one tensor per parameter, or one flat tensor."""
        hs = []
        for p in self._params():
            if "h" not in self.state[p]:
                raise RuntimeError("no curvature estimate yet: call update_curvature() first")
            hs.append(self.state[p]["h"].clone())
        return torch.cat([h.reshape(-1) for h in hs]) if flat else hs

    def rates(self, *, flat: bool = False) -> list[torch.Tensor] | torch.Tensor:
        """The per-weight rates ``η_ki = ε / (⟨h_ki⟩ + μ)`` (eq 61), shaped as :meth:`curvature`."""
        out = []
        for group in self.param_groups:
            for p in group["params"]:
                if "h" not in self.state[p]:
                    raise RuntimeError("no curvature estimate yet: call update_curvature() first")
                out.append(group["lr"] / (self.state[p]["h"] + group["mu"]))
        return torch.cat([r.reshape(-1) for r in out]) if flat else out

    # -- the update ---------------------------------------------------------------------------

    def _denominator(self, p: torch.Tensor, h: torch.Tensor, mu: float) -> torch.Tensor:
        """``⟨h⟩ + μ`` of parameter ``p``, refused if any entry is <= 0; computed again only
        when ``⟨h⟩`` (the tensor or its in-place version) or ``μ`` changed."""
        cached = self._denominators.get(id(p))
        if cached is not None and cached[0] is h and cached[1] == h._version and cached[2] == mu:
            return cached[3]
        denom = h + mu
        if bool((denom <= 0).any()):
            raise ValueError(
                "mu must be > 0 here: some weights have zero curvature, so eq 61 "
                "would give them an infinite rate"
            )
        if isinstance(mu, (int, float)):
            self._denominators[id(p)] = (h, h._version, mu, denom)
        return denom

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        """One update ``w ← w − η ⊙ g`` with the rates of eq 61.

        In the automatic mode the curvature is updated first when due (steps 0, N, 2N, …).
        ``closure`` (optional) re-evaluates and returns the loss.

        Raises
        ------
        ebp.history.DivergenceError
            If the step would make any weight NaN or ±Inf (rates ``ε/(⟨h⟩ + μ)`` too large):
            nothing is written, the weights stay as they were, and the message gives the step,
            ε and the likely cause.  :func:`ebp.train.fit` turns it into its divergence
            handling (``on_divergence``).
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if self.data is not None and self.n_steps % self.steps_between_refreshes == 0:
            self.update_curvature()
        # Every new weight is computed first and written only if all are finite, so that a
        # step that diverges raises and leaves the weights as they were (never silent NaN).
        updates: list[tuple[torch.Tensor, torch.Tensor]] = []
        sums: list[torch.Tensor] = []  # each parameter's new weights summed (one sync below)
        places: list[tuple[int, int, float]] = []
        for i, group in enumerate(self.param_groups):
            eps, mu, wd = group["lr"], group["mu"], group["weight_decay"]
            for j, p in enumerate(group["params"]):
                if p.grad is None:
                    continue
                state = self.state[p]
                if "h" not in state:
                    raise RuntimeError(
                        "no curvature estimate yet: call update_curvature(model, loss, X, y) "
                        "before step(), or give the optimizer model and data"
                    )
                denom = self._denominator(p, state["h"], mu)
                g = p.grad if wd == 0 else p.grad.add(p, alpha=wd)
                new = p.addcdiv(g, denom, value=-eps)
                # non-finite if any new weight is (or, rarely, if the sum overflows)
                sums.append(new.sum(dtype=torch.float64))
                places.append((i, j, eps))
                updates.append((p, new))
        bad = 0
        if sums and not math.isfinite(float(torch.stack(sums).sum())):
            per_param = [int((~torch.isfinite(new)).sum()) for _, new in updates]
            bad = sum(per_param)
        if bad:
            first = next(k for k, n in enumerate(per_param) if n)
            i, j, rate = places[first]
            where = f"SDLM's step (param_groups[{i}]['params'][{j}] first)"
            value = math.nan if loss is None else float(loss)
            raise DivergenceError(
                nonfinite_weights_message(
                    bad,
                    step=self.n_steps + 1,
                    where=where,
                    eta=rate,
                    loss=None if loss is None else value,
                )
                + " For SDLM: lower eps or raise mu (eq 61's rates eps/(h + mu) are too large), "
                "or refresh the curvature more often.",
                step=self.n_steps + 1,
                loss=value,
            )
        for p, new in updates:
            p.copy_(new)
        self.n_steps += 1
        return loss


# ---------------------------------------------------------------------------------------------
# η = 1/λ_max (§5, eq 39; §9.2)
# ---------------------------------------------------------------------------------------------

LAMBDA_METHODS: tuple[str, ...] = ("power", "lanczos")
"""Eigenvalue methods of :func:`eta_from_lambda_max`."""

LAMBDA_MATRICES: tuple[str, ...] = ("hessian", "gauss_newton")
"""Curvature matrices of :func:`eta_from_lambda_max`."""


class LambdaMaxRate(NamedTuple):
    """The rate ``η = 1/λ_max`` and the eigenvalue computation behind it.

    Unpacks as ``eta, result = eta_from_lambda_max(...)``: ``eta`` is ``1/λ_max`` (eq 39;
    the largest stable rate is twice it, eq 38), and ``result`` the
    :class:`~ebp.hessian.EigenResult` or :class:`~ebp.hessian.EigenResults` of
    :func:`ebp.hessian.power_method` or :func:`ebp.hessian.lanczos_eigs`.
    """

    eta: float
    result: EigenResult | EigenResults

    @property
    def lambda_max(self) -> float:
        """The largest eigenvalue λ_max."""
        values = getattr(self.result, "values", None)
        return float(values[0]) if values is not None else float(self.result.value)

    @property
    def eta_max(self) -> float:
        """``2/λ_max``: the rate beyond which batch gradient descent diverges (eq 38)."""
        return 2.0 * self.eta


def eta_from_lambda_max(
    model: nn.Module,
    loss: str | Callable[..., Any],
    data: Any,
    *,
    method: str = "power",
    matrix: str = "hessian",
    tol: float = 1e-6,
    max_products: int = 1000,
    seed: int = 0,
) -> LambdaMaxRate:
    """The best single learning rate ``η = 1/λ_max`` (eq 39) for ``model``'s ``loss`` on ``data``.

    λ_max is the largest (algebraic) eigenvalue of the Hessian of the mean loss at the current
    weights (or of its Gauss–Newton approximation), found from Hessian–vector products only.

    Parameters
    ----------
    model, loss, data
        As for :class:`ebp.hessian.HessianOperator`; ``loss`` is required (``"mse"`` is the
        paper's ``(1/P) Σ_p ½‖d^p − o^p‖²``, ``K/2`` times ``nn.MSELoss()``, and so is λ_max).
    method
        ``"power"`` (the paper's eq 60, :func:`ebp.hessian.power_method`, ``which="LA"``) or
        ``"lanczos"`` (:func:`ebp.hessian.lanczos_eigs`, ``k=1``; a model with one or two
        weights gets the dense eigensolver instead).
    matrix
        ``"hessian"`` or ``"gauss_newton"`` (:class:`ebp.hessian.GaussNewtonOperator`).
    tol, max_products, seed
        Stopping tolerance, product budget (power method) and start-vector seed.

    Returns
    -------
    LambdaMaxRate
        ``(eta, result)``; ``.lambda_max`` and ``.eta_max`` (= 2/λ_max, eq 38) too.

    Raises
    ------
    ValueError
        If λ_max ≤ 0 (no positive curvature: eq 39 gives no rate) or did not converge.

    Examples
    --------
    A linear unit's Hessian is ``(1/P) Σ_p x^p x^pᵀ`` (eq 29), here ``diag(0.5, 2)``:

    >>> import torch
    >>> from ebp.optim import eta_from_lambda_max
    >>> model = torch.nn.Linear(2, 1, bias=False)
    >>> X = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    >>> data = (X, torch.zeros(2, 1))
    >>> rate = eta_from_lambda_max(model, "mse", data, method="lanczos")
    >>> round(rate.lambda_max, 6), round(rate.eta, 6), round(rate.eta_max, 6)
    (2.0, 0.5, 1.0)
    """
    check_instance(model, nn.Module, "model")
    method = check_choice(method, "method", LAMBDA_METHODS)
    matrix = check_choice(matrix, "matrix", LAMBDA_MATRICES)
    tol = check_positive(tol, "tol")
    max_products = check_int(max_products, "max_products", min_value=1)
    seed = check_int(seed, "seed", min_value=0)
    op = (HessianOperator if matrix == "hessian" else GaussNewtonOperator)(model, loss, data)
    result: EigenResult | EigenResults
    if method == "power":
        result = power_method(op, which="LA", tol=tol, max_products=max_products, seed=seed)
        value, converged = float(result.value), bool(result.converged)
    else:
        result = lanczos_eigs(op, 1, which="LA", tol=tol, seed=seed)
        value, converged = float(result.values[0]), bool(result.converged[0])
    if not converged or not math.isfinite(value):
        raise ValueError(
            f"the {method} method did not converge to λ_max (estimate {value:.4g}); raise "
            "max_products or tol"
        )
    if value <= 0:
        raise ValueError(
            f"λ_max = {value:.4g} <= 0: the loss has no positive curvature here, so eq 39 "
            "gives no learning rate"
        )
    return LambdaMaxRate(1.0 / value, result)
