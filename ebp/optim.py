"""Learning-rate rules of paper §4.7 that PyTorch lacks.

* :class:`PaperAdaptiveRate`: the adaptive global learning rate of eqs 17–19, as a
  ``torch.optim.Optimizer``.
* :func:`per_layer_rates`: ``torch.optim`` parameter groups with a rate per layer, ∝ √(fan-in)
  of the units the layer feeds, so that all layers learn at about the same speed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from torch import nn

from ebp._validate import check_choice, check_in_range, check_positive

__all__ = ["LAYER_RULES", "PaperAdaptiveRate", "per_layer_rates"]


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
        """The current rate η(t): a float, or one per group with ``per_group=True``."""
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
            delta, wd = group["delta"], group["weight_decay"]
            total = 0.0
            for p in group["params"]:
                state = self.state[p]
                if p.grad is not None:
                    g = p.grad
                    if wd != 0:
                        g = g.add(p, alpha=wd)
                    if "r" not in state:
                        state["r"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    r = state["r"]
                    p.add_(g, alpha=-eta)  # eq 17
                    r.mul_(1.0 - delta).add_(g, alpha=delta)  # eq 18
                if "r" in state:
                    total += float(state["r"].pow(2).sum())
            squares.append(total)
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
        new = eta + alpha * eta * (beta * r_norm - eta)
        if new <= 0 and self.eta_min == 0:
            raise ValueError(
                f"eq 19 made the learning rate non-positive ({eta:.4g} -> {new:.4g}, with "
                f"beta*||r|| = {beta * r_norm:.4g}) because alpha*eta = {alpha * eta:.4g} >= 1; "
                "lower alpha (or eta0), or set eta_min > 0 to clamp the rate"
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
