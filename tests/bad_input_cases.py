"""The bad-input case table shared by ``tests/test_bad_input.py`` and ``tests/bad_input_report.py``.

Every public function or class of ``ebp`` (from each module's ``__all__``) appears here with,
for each of its arguments, a *kind* ("a positive int", "an (P, n) input matrix", …).  Each kind
has a list of bad values, made from the valid one (a wrong width is the valid matrix minus a
column).  A call with one bad value and every other argument valid must raise a ``TypeError`` or
``ValueError`` (or a documented subclass, e.g. ``DivergenceError``) whose message names the
argument; anything else (another exception, a message without the name, a silent return) is
*unclear*.

A few *checks* are not "bad argument → clear error" but the other half of the contract: a
diverging run is reported, a model with a NaN weight does not give a silent NaN, a user's tensors
are left alone.  They are judged by their own predicate.  A check whose point is a non-finite
*result* (``_no_silent_nonfinite``, ``_extreme``: "no call returns NaN/Inf without saying so")
also accepts a ``FloatingPointError`` (``DivergenceError`` is one) whose message says the result
is not finite: that is a clear statement of it.  A bad-*argument* case never does: it needs a
``TypeError``/``ValueError`` naming the argument.

The table is pure data plus small lambdas, so the report script can run it without pytest.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

import ebp.data as data
import ebp.hessian as hs
import ebp.landscape as land
import ebp.losses as losses
import ebp.many as many
import ebp.nn as enn
import ebp.optim as optim
import ebp.preprocess as pp
import ebp.presentation as pres
import ebp.quadratic as quad
import ebp.rbf as rbf
import ebp.repro as repro
import ebp.schedules as sched
import ebp.scratch as scratch
import ebp.second_order as so
import ebp.train as train
from ebp import _validate
from ebp.history import DivergenceError, blowup_factor

NAN = float("nan")
INF = float("inf")

# ---------------------------------------------------------------------------------------------
# Valid values (fresh on every call: training mutates models)
# ---------------------------------------------------------------------------------------------

P, N_IN = 8, 2


def X() -> np.ndarray:
    """A valid input matrix, shape (8, 2)."""
    return np.random.default_rng(0).normal(size=(P, N_IN))


def Y() -> np.ndarray:
    """Valid regression targets for a 2-3-1 model, shape (8, 1)."""
    return np.random.default_rng(1).normal(size=(P, 1))


def LABELS() -> np.ndarray:
    """Valid class labels 0/1, shape (8,)."""
    return np.array([0, 1] * (P // 2))


def model(out: int = 1, dtype: torch.dtype = torch.float32) -> nn.Sequential:
    """A 2-3-``out`` LeCun-tanh network."""
    return enn.mlp((N_IN, 3, out), seed=0, dtype=dtype)


def net(out: int = 1) -> scratch.Network:
    """A NumPy 2-3-``out`` network."""
    return scratch.Network.create((N_IN, 3, out), seed=0)


def hop() -> hs.HessianOperator:
    """A Hessian operator of a 2-3-1 model on (X, Y), dimension 13."""
    return hs.HessianOperator(model(), "mse", (X(), Y()))


def mop() -> hs.MatrixOperator:
    """A 2 × 2 matrix operator."""
    return hs.MatrixOperator(np.array([[2.0, 0.5], [0.5, 1.0]]))


def rbf_model() -> nn.Sequential:
    """An RBF network with 3 centres on X, one output."""
    return rbf.rbf_network(X(), 3, 1)


def sampler() -> pres.EmphasisSampler:
    """An emphasis sampler over the 8 patterns."""
    return pres.EmphasisSampler(P)


def spd() -> np.ndarray:
    """A symmetric positive-definite 2 × 2 matrix (eigenvalues about 0.79 and 2.21)."""
    return np.array([[2.0, 0.5], [0.5, 1.0]])


def W0() -> np.ndarray:
    """A start point for the 2 × 2 quadratic :func:`spd`."""
    return np.array([1.0, -1.0])


def qfun(w: np.ndarray) -> tuple[float, np.ndarray]:
    """``E(w) = ½ wᵀ H w`` with ``H = spd()``, and its gradient: a ``fun`` for ``minimize``."""
    g = spd() @ w
    return 0.5 * float(w @ g), g


def qresiduals(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linear residuals ``r = A w − b`` of 3 equations in 2 unknowns, and ``J = A``."""
    A = np.array([[1.0, 0.5], [0.0, 1.0], [1.0, 1.0]])
    return A @ w - np.array([1.0, 2.0, 0.5]), A


def mobj() -> so.ModelObjective:
    """The objective of a 2-3-1 model on (X, Y), ``n = 13``."""
    return so.model_objective(model(), "mse", X(), Y())


# ---------------------------------------------------------------------------------------------
# Bad values, by kind.  Each is (label, make) where make(valid) returns the bad value.
# ---------------------------------------------------------------------------------------------

Make = Callable[[Any], Any]


def _const(value: Any) -> Make:
    return lambda _valid: value


def _arr(valid: Any) -> np.ndarray:
    return np.asarray(valid.detach().cpu() if isinstance(valid, torch.Tensor) else valid)


def _with_nan(valid: Any) -> Any:
    a = _arr(valid).astype(np.float64).copy()
    a.flat[0] = NAN
    return a


def _with_inf(valid: Any) -> Any:
    a = _arr(valid).astype(np.float64).copy()
    a.flat[-1] = INF
    return a


def _ragged(valid: Any) -> list:
    a = _arr(valid).tolist()
    if isinstance(a, list) and a and isinstance(a[0], list) and len(a[0]) > 1:
        a[-1] = a[-1][:-1]
    else:
        a = [[1.0, 2.0], [3.0]]
    return a


def _strings(valid: Any) -> list:
    return np.vectorize(lambda v: f"{v:.3f}")(_arr(valid).astype(float)).tolist()


def _wrong_width(valid: Any) -> np.ndarray:
    a = _arr(valid).astype(np.float64)
    return np.hstack([a, a[:, :1]])


def _wrong_length(valid: Any) -> np.ndarray:
    a = _arr(valid)
    return np.concatenate([a, a[:1]])


def _empty_rows(valid: Any) -> np.ndarray:
    a = _arr(valid)
    return a[:0]


def _one_d(valid: Any) -> np.ndarray:
    return _arr(valid).astype(np.float64).ravel()


def _three_d(valid: Any) -> np.ndarray:
    return _arr(valid).astype(np.float64)[None]


def _non_symmetric(valid: Any) -> np.ndarray:
    a = _arr(valid).astype(np.float64).copy()
    a[0, -1] += 1.0
    return a


def _shifted(where: str) -> Make:
    """The symmetric matrix shifted by a multiple of I so that it is indefinite or singular."""

    def make(valid: Any) -> np.ndarray:
        a = _arr(valid).astype(np.float64)
        lam = np.linalg.eigvalsh(a)
        shift = lam[0] if where == "singular" else lam.mean()
        return a - shift * np.eye(a.shape[0])

    return make


def _dtype(dt: Any) -> Make:
    def make(valid: Any) -> np.ndarray:
        a = _arr(valid)
        if dt is bool:
            return a > 0
        if dt is object:
            return a.astype(object)
        return a.astype(dt)

    return make


NUMBER_TYPES = [
    ("None", _const(None)),
    ("str", _const("0.1")),
    ("list", _const([0.1])),
    ("dict", _const({})),
    ("bool", _const(True)),
    ("complex", _const(1 + 1j)),
    ("array", _const(np.array([0.1, 0.2]))),
]
INT_TYPES = [
    ("None", _const(None)),
    ("str", _const("3")),
    ("float", _const(2.5)),
    ("list", _const([3])),
    ("bool", _const(True)),
    ("complex", _const(3 + 0j)),
    ("nan", _const(NAN)),
]
ARRAY_TYPES = [
    ("None", _const(None)),
    ("str", _const("abc")),
    ("dict", _const({})),
    ("list_of_str", _strings),
    ("ragged", _ragged),
    ("nan", _with_nan),
    ("inf", _with_inf),
    ("bool_dtype", _dtype(bool)),
    ("object_dtype", _dtype(object)),
    ("complex_dtype", _dtype(np.complex128)),
    ("longdouble", _dtype(np.longdouble)),
]

KINDS: dict[str, list[tuple[str, Make]]] = {
    "pos_int": [*INT_TYPES, ("zero", _const(0)), ("negative", _const(-1))],
    "nonneg_int": [*INT_TYPES, ("negative", _const(-1))],
    "seed": [*INT_TYPES, ("negative", _const(-1))],
    "pos_float": [
        *NUMBER_TYPES,
        ("nan", _const(NAN)),
        ("inf", _const(INF)),
        ("zero", _const(0.0)),
        ("negative", _const(-1.0)),
    ],
    "nonneg_float": [
        *NUMBER_TYPES,
        ("nan", _const(NAN)),
        ("inf", _const(INF)),
        ("negative", _const(-1.0)),
    ],
    "finite_float": [*NUMBER_TYPES, ("nan", _const(NAN)), ("inf", _const(INF))],
    "prob": [
        *NUMBER_TYPES,
        ("nan", _const(NAN)),
        ("negative", _const(-0.1)),
        ("above_one", _const(1.5)),
    ],
    "flag": [("str", _const("yes")), ("None", _const(None)), ("int2", _const(2))],
    "choice": [
        ("None", _const(None)),
        ("unknown", _const("no-such-option")),
        ("int", _const(3)),
        ("list", _const(["x"])),
    ],
    "callable": [("None", _const(None)), ("int", _const(3)), ("str_unknown", _const("xyz"))],
    "generator": [("int", _const(3)), ("numpy_rng", _const(np.random.default_rng(0)))],
    "model": [
        ("None", _const(None)),
        ("str", _const("mlp")),
        ("int", _const(3)),
        ("function", _const(lambda x: x)),
        ("no_params", _const(nn.Tanh())),
    ],
    "matrix": [  # an (P, n) matrix whose width is fixed by the rest of the call
        *ARRAY_TYPES,
        ("one_d", _one_d),
        ("three_d", _three_d),
        ("empty", _empty_rows),
        ("wrong_width", _wrong_width),
    ],
    "matrix_free": [  # an (P, n) matrix of any width
        *ARRAY_TYPES,
        ("one_d", _one_d),
        ("three_d", _three_d),
        ("empty", _empty_rows),
    ],
    "targets": [  # targets whose length must match X
        *[t for t in ARRAY_TYPES if t[0] != "bool_dtype"],
        ("three_d", _three_d),
        ("wrong_length", _wrong_length),
        ("empty", _empty_rows),
    ],
    "labels": [  # integer class labels 0..K-1 matching X
        ("None", _const(None)),
        ("str", _const("abc")),
        ("ragged", _const([[0, 1], [1]])),
        ("out_of_range", lambda v: _arr(v) + 5),
        ("negative", lambda v: _arr(v) - 3),
        ("fractional", lambda v: _arr(v) + 0.5),
        ("nan", _with_nan),
        ("wrong_length", _wrong_length),
        ("two_d_wrong", lambda v: np.stack([_arr(v)] * 3, axis=1)),
        ("complex_dtype", _dtype(np.complex128)),
    ],
    "vector": [  # a 1-D vector of a fixed length
        *ARRAY_TYPES,
        ("wrong_length", _wrong_length),
        ("two_d", lambda v: _arr(v)[None, :].astype(np.float64)),
        ("empty", lambda v: _arr(v)[:0]),
    ],
    "vector_free": [*ARRAY_TYPES, ("two_d", _three_d), ("empty", lambda v: _arr(v)[:0])],
    "spd_matrix": [  # a square symmetric (n, n) matrix, positive definite where required
        *ARRAY_TYPES,
        ("one_d", _one_d),
        ("three_d", _three_d),
        ("empty", _empty_rows),
        ("empty_square", _const(np.zeros((0, 0)))),
        ("not_square", _wrong_width),
        ("non_symmetric", _non_symmetric),
        ("indefinite", _shifted("indefinite")),
        ("singular", _shifted("singular")),
        ("negative_definite", lambda v: -_arr(v).astype(np.float64)),
    ],
    "momentum": [  # heavy-ball momentum, 0 <= mu < 1
        *NUMBER_TYPES,
        ("nan", _const(NAN)),
        ("inf", _const(INF)),
        ("negative", _const(-0.1)),
        ("one", _const(1.0)),
        ("above_one", _const(1.5)),
    ],
    "unit_open": [  # a number in (0, 1): a relative tolerance, a Wolfe constant
        *NUMBER_TYPES,
        ("nan", _const(NAN)),
        ("inf", _const(INF)),
        ("zero", _const(0.0)),
        ("negative", _const(-0.1)),
        ("one", _const(1.0)),
        ("above_one", _const(1.5)),
    ],
    "callable_result": [  # a user function (fun, hess, hessp, residuals) returning junk
        ("returns_None", _const(lambda *a: None)),
        ("returns_str", _const(lambda *a: "abc")),
        ("returns_wrong_shape", _const(lambda *a: np.eye(3))),
        ("returns_wrong_size_pair", _const(lambda *a: (1.0, np.zeros(5)))),
        ("returns_nan_pair", _const(lambda *a: (NAN, np.full(2, NAN)))),
    ],
}

NOT_PD = ("indefinite", "singular", "negative_definite")
"""The ``spd_matrix`` values that are valid where ``H`` need only be symmetric."""


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------

OWN = "own"  # data, preprocess, rbf, schedules, presentation, repro, _validate
A = "A"  # train, many, history, scratch, nn, losses, optim
B = "B"  # hessian
C = "C"  # quadratic, second_order
D = "D"  # landscape


@dataclass(frozen=True)
class Case:
    """One argument of one public call, to be given every bad value of ``kind``.

    ``call(make)`` runs the call with ``make(valid)`` in place of the argument's valid value.
    ``names``: accepted spellings of the argument in the message (default ``(arg,)``).
    ``skip``: bad-value labels that do not apply (valid for this argument).
    """

    owner: str
    func: str
    arg: str
    kind: str
    call: Callable[[Make], Any]
    names: tuple[str, ...] = ()
    skip: frozenset[str] = frozenset()

    def spellings(self) -> tuple[str, ...]:
        return self.names or (self.arg,)


def c(
    owner: str,
    func: str,
    arg: str,
    kind: str,
    call: Callable[[Make], Any],
    *names: str,
    skip: tuple[str, ...] = (),
) -> Case:
    return Case(owner, func, arg, kind, call, tuple(names), frozenset(skip))


def _fit(**kw: Any) -> Any:
    args = {"eta": 0.05, "epochs": 1}
    args.update(kw)
    m = args.pop("model") if "model" in args else model()
    Xv = args.pop("X") if "X" in args else X()
    yv = args.pop("y") if "y" in args else Y()
    return train.fit(m, Xv, yv, **args)


def _fit_many(**kw: Any) -> Any:
    args = {"eta": 0.05, "epochs": 1}
    args.update(kw)
    ms = args.pop("models") if "models" in args else [model(), model()]
    Xv = args.pop("X") if "X" in args else X()
    yv = args.pop("y") if "y" in args else Y()
    return many.fit_many(ms, Xv, yv, **args)


def _sfit(**kw: Any) -> Any:
    args = {"eta": 0.05, "epochs": 1}
    args.update(kw)
    n = args.pop("network") if "network" in args else net()
    Xv = args.pop("X") if "X" in args else X()
    Tv = args.pop("T") if "T" in args else Y()
    return scratch.fit(n, Xv, Tv, **args)


def _t32(a: Any) -> Any:
    """A float64 array as a float32 tensor (what a layer gets); anything else as it is."""
    if isinstance(a, np.ndarray) and a.dtype == np.float64:
        return torch.as_tensor(a, dtype=torch.float32)
    return a


def _t(a: Any) -> Any:
    """An array as a tensor, for the low-level losses; one torch cannot hold (object, extended
    precision) is passed as it is, so that the loss itself must refuse it naming ``target``."""
    if not isinstance(a, np.ndarray):
        return a
    try:
        return torch.as_tensor(a)
    except TypeError:
        return a


def _descend(**kw: Any) -> Any:
    args = {"H": spd(), "w0": W0(), "eta": 0.3, "steps": 5}
    args.update(kw)
    return quad.descend(args.pop("H"), args.pop("w0"), args.pop("eta"), args.pop("steps"), **args)


def _steps(**kw: Any) -> Any:
    args = {"H": spd(), "eta": 0.3, "tol": 1e-3}
    args.update(kw)
    return quad.steps_to_tolerance(args.pop("H"), args.pop("eta"), args.pop("tol"), **args)


def _minimize(**kw: Any) -> Any:
    """``so.minimize`` on the 2 × 2 quadratic by BFGS (5 iterations) unless told otherwise;
    ``residuals=`` alone switches to Gauss–Newton with ``fun=None``."""
    args: dict[str, Any] = {"method": "bfgs", "max_iter": 5}
    if "residuals" in kw:
        args.update(method="gauss-newton", fun=None)
    args.update(kw)
    fun = args.pop("fun") if "fun" in args else qfun
    w0 = args.pop("w0") if "w0" in args else W0()
    return so.minimize(fun, w0, **args)


def _wolfe(**kw: Any) -> Any:
    args: dict[str, Any] = {"fun": qfun, "w": W0(), "p": -qfun(W0())[1]}
    args.update(kw)
    return so.wolfe_line_search(args.pop("fun"), args.pop("w"), args.pop("p"), **args)


def traj() -> np.ndarray:
    """A valid trajectory of 6 flat weight vectors of a 13-weight model, shape (6, 13)."""
    return np.random.default_rng(2).normal(size=(6, 13)).cumsum(axis=0)


def ldir(seed: int = 1) -> torch.Tensor:
    """A filter-normalized direction of the float32 2-3-1 :func:`model` (13 entries)."""
    return land.random_direction(model(), seed=seed)


def _surface(**kw: Any) -> Any:
    """``land.surface`` of :func:`model` on (X, Y), 1-D unless ``betas`` is given."""
    args: dict[str, Any] = {"alphas": np.linspace(-1.0, 1.0, 3)}
    if "betas" in kw:
        args["directions"] = torch.stack([ldir(1), ldir(2)])
    args.update(kw)
    m_ = args.pop("model") if "model" in args else model()
    loss = args.pop("loss") if "loss" in args else "mse"
    Xv = args.pop("X") if "X" in args else X()
    yv = args.pop("y") if "y" in args else Y()
    d = args.pop("directions") if "directions" in args else ldir()
    return land.surface(m_, loss, Xv, yv, d, args.pop("alphas"), **args)


def _interpolate(**kw: Any) -> Any:
    """``land.interpolate`` of :func:`model` on (X, Y) between its weights and a step away."""
    w = land.flatten_params(model())
    args: dict[str, Any] = {"theta_a": w, "theta_b": w + ldir(), "ts": np.linspace(0.0, 1.0, 3)}
    args.update(kw)
    m_ = args.pop("model") if "model" in args else model()
    loss = args.pop("loss") if "loss" in args else "mse"
    Xv = args.pop("X") if "X" in args else X()
    yv = args.pop("y") if "y" in args else Y()
    ends = args.pop("theta_a"), args.pop("theta_b"), args.pop("ts")
    return land.interpolate(m_, loss, Xv, yv, *ends, **args)


def _eigen(**kw: Any) -> Any:
    args: dict[str, Any] = {"model": model(), "loss": "mse", "X": X(), "y": Y()}
    args.update(kw)
    return land.eigen_directions(
        args.pop("model"), args.pop("loss"), args.pop("X"), args.pop("y"), **args
    )


CASES: list[Case] = [
    # ---- ebp.data -----------------------------------------------------------------------------
    c(OWN, "data.two_gaussians", "n", "pos_int", lambda m: data.two_gaussians(m(100))),
    c(OWN, "data.two_gaussians", "seed", "seed", lambda m: data.two_gaussians(10, seed=m(0))),
    c(
        OWN,
        "data.two_gaussians",
        "means",
        "matrix_free",
        lambda m: data.two_gaussians(10, means=m(np.array([[-0.4, -0.8], [0.4, 0.8]]))),
        skip=("empty",),
    ),
    c(
        OWN,
        "data.two_gaussians",
        "class_std",
        "pos_float",
        lambda m: data.two_gaussians(10, class_std=m(0.5)),
        skip=("None",),
    ),
    c(OWN, "data.two_gaussians", "exact", "flag", lambda m: data.two_gaussians(10, exact=m(True))),
    c(
        OWN,
        "data.two_gaussians",
        "shuffle",
        "flag",
        lambda m: data.two_gaussians(10, shuffle=m(True)),
    ),
    c(OWN, "data.fig13_classes", "n_per_class", "pos_int", lambda m: data.fig13_classes(m(10))),
    c(OWN, "data.fig13_classes", "std", "pos_float", lambda m: data.fig13_classes(std=m(0.4))),
    c(
        OWN,
        "data.fig13_classes",
        "centers",
        "vector",
        lambda m: data.fig13_classes(centers=m((-1.0, 1.0))),
    ),
    c(OWN, "data.fig13_classes", "seed", "seed", lambda m: data.fig13_classes(seed=m(0))),
    c(OWN, "data.fig13_classes", "shuffle", "flag", lambda m: data.fig13_classes(shuffle=m(True))),
    c(OWN, "data.quadratic_bowl", "n", "pos_int", lambda m: data.quadratic_bowl(m(10))),
    c(
        OWN,
        "data.quadratic_bowl",
        "noise",
        "nonneg_float",
        lambda m: data.quadratic_bowl(10, noise=m(0.0)),
    ),
    c(
        OWN,
        "data.quadratic_bowl",
        "low",
        "finite_float",
        lambda m: data.quadratic_bowl(10, low=m(-1.0)),
    ),
    c(
        OWN,
        "data.quadratic_bowl",
        "high",
        "finite_float",
        lambda m: data.quadratic_bowl(10, high=m(1.0)),
    ),
    c(OWN, "data.quadratic_bowl", "seed", "seed", lambda m: data.quadratic_bowl(10, seed=m(0))),
    c(OWN, "data.redundant", "X", "matrix_free", lambda m: data.redundant(m(X()), LABELS(), 2)),
    c(
        OWN,
        "data.redundant",
        "y",
        "targets",
        lambda m: data.redundant(X(), m(LABELS()), 2),
        skip=("nan", "inf"),
    ),
    c(OWN, "data.redundant", "copies", "pos_int", lambda m: data.redundant(X(), LABELS(), m(2))),
    c(
        OWN,
        "data.redundant_two_gaussians",
        "n",
        "pos_int",
        lambda m: data.redundant_two_gaussians(m(10), 2),
    ),
    c(
        OWN,
        "data.redundant_two_gaussians",
        "copies",
        "pos_int",
        lambda m: data.redundant_two_gaussians(10, m(2)),
    ),
    c(
        OWN,
        "data.digits",
        "n_train",
        "pos_int",
        lambda m: data.digits(n_train=m(50)),
        skip=("None",),
    ),
    c(OWN, "data.digits", "n_val", "nonneg_int", lambda m: data.digits(n_train=50, n_val=m(0))),
    c(
        OWN,
        "data.digits",
        "test_size",
        "prob",
        lambda m: data.digits(n_train=50, test_size=m(0.25)),
    ),
    c(OWN, "data.digits", "seed", "seed", lambda m: data.digits(n_train=50, seed=m(0))),
    c(
        OWN,
        "data.digits",
        "standardize",
        "flag",
        lambda m: data.digits(n_train=50, standardize=m(False)),
    ),
    c(OWN, "data.add_offset", "X", "matrix_free", lambda m: data.add_offset(m(X()), 1.0)),
    c(
        OWN,
        "data.add_offset",
        "c",
        "finite_float",
        lambda m: data.add_offset(X(), m(1.0)),
        skip=("array",),
    ),
    c(OWN, "data.scale_columns", "X", "matrix_free", lambda m: data.scale_columns(m(X()), 2.0)),
    c(
        OWN,
        "data.scale_columns",
        "scales",
        "pos_float",
        lambda m: data.scale_columns(X(), m(2.0)),
        skip=("array",),
    ),
    c(OWN, "data.correlate", "X", "matrix_free", lambda m: data.correlate(m(X()), 0.5)),
    c(OWN, "data.correlate", "rho", "finite_float", lambda m: data.correlate(X(), m(0.5))),
    c(
        OWN,
        "data.correlate",
        "rho",
        "prob",
        lambda m: data.correlate(X(), m(0.5)),
        skip=("negative",),
    ),
    c(
        OWN,
        "data.encode_targets",
        "y",
        "labels",
        lambda m: data.encode_targets(m(LABELS()), 2),
        skip=("wrong_length",),
    ),
    c(
        OWN,
        "data.encode_targets",
        "n_classes",
        "pos_int",
        lambda m: data.encode_targets(LABELS(), m(2)),
    ),
    c(
        OWN,
        "data.encode_targets",
        "scheme",
        "choice",
        lambda m: data.encode_targets(LABELS(), 2, scheme=m("one_hot")),
    ),
    c(
        OWN,
        "data.encode_targets",
        "value",
        "pos_float",
        lambda m: data.encode_targets(LABELS(), 2, value=m(1.0)),
    ),
    # ---- ebp.preprocess -------------------------------------------------------------------------
    c(OWN, "preprocess.covariance", "X", "matrix_free", lambda m: pp.covariance(m(X()))),
    c(OWN, "preprocess.covariance", "center", "flag", lambda m: pp.covariance(X(), center=m(True))),
    c(OWN, "preprocess.covariance", "bias", "flag", lambda m: pp.covariance(X(), bias=m(True))),
    c(
        OWN,
        "preprocess.covariance_eigenvalues",
        "X",
        "matrix_free",
        lambda m: pp.covariance_eigenvalues(m(X())),
    ),
    c(
        OWN,
        "preprocess.condition_number",
        "X",
        "matrix_free",
        lambda m: pp.condition_number(m(X())),
    ),
    *[
        c(
            OWN,
            f"preprocess.{cls.__name__}.fit",
            "X",
            "matrix_free",
            lambda m, cls=cls: cls().fit(m(X())),
        )
        for cls in (pp.Center, pp.Standardize, pp.PCADecorrelate, pp.PCAWhiten, pp.ZCAWhiten)
    ],
    *[
        c(
            OWN,
            f"preprocess.{cls.__name__}.transform",
            "X",
            "matrix",
            lambda m, cls=cls: cls().fit(X()).transform(m(X())),
            skip=("empty",),
        )
        for cls in (pp.Center, pp.Standardize, pp.PCADecorrelate, pp.PCAWhiten, pp.ZCAWhiten)
    ],
    *[
        c(OWN, f"preprocess.{cls.__name__}", "eps", "nonneg_float", lambda m, cls=cls: cls(m(0.0)))
        for cls in (pp.Standardize, pp.PCAWhiten, pp.ZCAWhiten)
    ],
    c(OWN, "preprocess.paper_pipeline", "eps", "nonneg_float", lambda m: pp.paper_pipeline(m(0.0))),
    c(
        OWN,
        "preprocess.compose",
        "steps",
        "callable",
        lambda m: pp.compose(pp.Center(), m(None)),
        "steps[1]",
        "steps",
    ),
    c(
        OWN,
        "preprocess.Standardizer.fit",
        "X",
        "matrix_free",
        lambda m: pp.Standardizer.fit(m(X())),
    ),
    c(
        OWN,
        "preprocess.Standardizer.transform",
        "X",
        "matrix",
        lambda m: pp.Standardizer.fit(X()).transform(m(X())),
        skip=("empty",),
    ),
    c(
        OWN,
        "preprocess.Standardizer.identity",
        "n_columns",
        "pos_int",
        lambda m: pp.Standardizer.identity(m(2)),
    ),
    # ---- ebp.rbf ------------------------------------------------------------------------------
    c(
        OWN,
        "rbf.RBFLayer",
        "centres",
        "matrix_free",
        lambda m: rbf.RBFLayer(m(X()[:3]), np.ones(3)),
    ),
    c(OWN, "rbf.RBFLayer", "widths", "vector", lambda m: rbf.RBFLayer(X()[:3], m(np.ones(3)))),
    c(
        OWN,
        "rbf.RBFLayer",
        "widths",
        "pos_float",
        lambda m: rbf.RBFLayer(X()[:3], m(1.0)),
        skip=("array",),
    ),
    c(
        OWN,
        "rbf.RBFLayer",
        "train_centres",
        "flag",
        lambda m: rbf.RBFLayer(X()[:3], np.ones(3), train_centres=m(True)),
    ),
    c(
        OWN,
        "rbf.RBFLayer.forward",
        "x",
        "matrix",
        lambda m: rbf.RBFLayer(X()[:3], np.ones(3))(
            _t32(m(torch.as_tensor(X(), dtype=torch.float32)))
        ),
        skip=("empty", "nan", "inf", "three_d"),
    ),  # a layer propagates NaN
    c(
        OWN,
        "rbf.width_heuristic",
        "centres",
        "matrix_free",
        lambda m: rbf.width_heuristic(m(X()[:3])),
    ),
    c(
        OWN,
        "rbf.width_heuristic",
        "rule",
        "choice",
        lambda m: rbf.width_heuristic(X()[:3], m("global")),
    ),
    c(OWN, "rbf.width_heuristic", "p", "pos_int", lambda m: rbf.width_heuristic(X()[:3], p=m(1))),
    c(OWN, "rbf.kmeans_centres", "X", "matrix_free", lambda m: rbf.kmeans_centres(m(X()), 3)),
    c(OWN, "rbf.kmeans_centres", "n_centres", "pos_int", lambda m: rbf.kmeans_centres(X(), m(3))),
    c(
        OWN,
        "rbf.kmeans_centres",
        "n_init",
        "pos_int",
        lambda m: rbf.kmeans_centres(X(), 3, n_init=m(1)),
    ),
    c(OWN, "rbf.kmeans_centres", "seed", "seed", lambda m: rbf.kmeans_centres(X(), 3, seed=m(0))),
    c(
        OWN,
        "rbf.kmeans_centres",
        "width_scale",
        "pos_float",
        lambda m: rbf.kmeans_centres(X(), 3, width_scale=m(1.0)),
    ),
    c(
        OWN,
        "rbf.kmeans_centres",
        "width_rule",
        "choice",
        lambda m: rbf.kmeans_centres(X(), 3, width_rule=m("global")),
    ),
    c(OWN, "rbf.rbf_network", "X", "matrix_free", lambda m: rbf.rbf_network(m(X()), 3, 1)),
    c(OWN, "rbf.rbf_network", "n_centres", "pos_int", lambda m: rbf.rbf_network(X(), m(3), 1)),
    c(OWN, "rbf.rbf_network", "n_out", "pos_int", lambda m: rbf.rbf_network(X(), 3, m(1))),
    c(
        OWN,
        "rbf.rbf_network",
        "output_activation",
        "choice",
        lambda m: rbf.rbf_network(X(), 3, 1, output_activation=m("tanh")),
        skip=("None",),
    ),
    c(
        OWN,
        "rbf.rbf_network",
        "dtype",
        "choice",
        lambda m: rbf.rbf_network(X(), 3, 1, dtype=m(torch.float64)),
    ),
    c(
        OWN,
        "rbf.rbf_network",
        "train_widths",
        "flag",
        lambda m: rbf.rbf_network(X(), 3, 1, train_widths=m(True)),
    ),
    *[
        c(OWN, f"rbf.{fn.__name__}", "X", "matrix", lambda m, fn=fn: fn(rbf_model(), m(X())))
        for fn in (rbf.output_features, rbf.output_hessian, rbf.output_rate)
    ],
    *[
        c(OWN, f"rbf.{fn.__name__}", "model", "model", lambda m, fn=fn: fn(m(rbf_model()), X()))
        for fn in (rbf.output_features, rbf.output_hessian, rbf.output_rate)
    ],
    c(
        OWN,
        "rbf.solve_output_layer",
        "X",
        "matrix",
        lambda m: rbf.solve_output_layer(rbf_model(), m(X()), Y()),
    ),
    c(
        OWN,
        "rbf.solve_output_layer",
        "y",
        "targets",
        lambda m: rbf.solve_output_layer(rbf_model(), X(), m(Y())),
    ),
    c(
        OWN,
        "rbf.solve_output_layer",
        "model",
        "model",
        lambda m: rbf.solve_output_layer(m(rbf_model()), X(), Y()),
    ),
    # ---- ebp.schedules ------------------------------------------------------------------------
    c(OWN, "schedules.Constant", "eta", "pos_float", lambda m: sched.Constant(m(0.1))),
    c(OWN, "schedules.InverseTime", "eta0", "pos_float", lambda m: sched.InverseTime(m(0.1), 10.0)),
    c(OWN, "schedules.InverseTime", "t0", "pos_float", lambda m: sched.InverseTime(0.1, m(10.0))),
    c(OWN, "schedules.StepDecay", "eta0", "pos_float", lambda m: sched.StepDecay(m(0.1), 0.5, 10)),
    c(
        OWN,
        "schedules.StepDecay",
        "factor",
        "prob",
        lambda m: sched.StepDecay(0.1, m(0.5), 10),
        skip=(),
    ),
    c(OWN, "schedules.StepDecay", "every", "pos_int", lambda m: sched.StepDecay(0.1, 0.5, m(10))),
    c(OWN, "schedules.FromCallable", "fn", "callable", lambda m: sched.FromCallable(m(abs))),
    c(
        OWN,
        "schedules.FromCallable.__call__",
        "eta",
        "pos_float",
        lambda m: sched.FromCallable(lambda t: m(0.1))(0),
        "eta",
        "fn",
    ),
    c(
        OWN,
        "schedules.as_schedule",
        "eta",
        "pos_float",
        lambda m: sched.as_schedule(m(0.1)),
        skip=(),
    ),
    c(OWN, "schedules.Schedule.__call__", "t", "nonneg_int", lambda m: sched.Constant(0.1)(m(0))),
    c(
        OWN,
        "schedules.InverseTime.__call__",
        "t",
        "nonneg_int",
        lambda m: sched.InverseTime(0.1, 10.0)(m(0)),
    ),
    # ---- ebp.presentation ---------------------------------------------------------------------
    c(
        OWN,
        "presentation.epoch_order",
        "kind",
        "choice",
        lambda m: pres.epoch_order(m("shuffle"), P),
    ),
    c(OWN, "presentation.epoch_order", "n", "pos_int", lambda m: pres.epoch_order("shuffle", m(P))),
    c(
        OWN,
        "presentation.epoch_order",
        "labels",
        "labels",
        lambda m: pres.epoch_order("class_sorted", P, labels=m(LABELS())),
        skip=("out_of_range", "negative"),
    ),
    c(
        OWN,
        "presentation.epoch_order",
        "generator",
        "generator",
        lambda m: pres.epoch_order("shuffle", P, generator=m(None)),
    ),
    c(
        OWN,
        "presentation.emphasis_probabilities",
        "errors",
        "vector_free",
        lambda m: pres.emphasis_probabilities(m(np.abs(Y()[:, 0]))),
    ),
    c(
        OWN,
        "presentation.emphasis_probabilities",
        "errors(negative)",
        "vector_free",
        lambda m: pres.emphasis_probabilities(-np.abs(Y()[:, 0])),
        "errors",
        skip=tuple(lbl for lbl, _ in KINDS["vector_free"][1:]),
    ),
    c(
        OWN,
        "presentation.emphasis_probabilities",
        "cap",
        "pos_float",
        lambda m: pres.emphasis_probabilities(np.abs(Y()[:, 0]), cap=m(4.0)),
    ),
    c(
        OWN,
        "presentation.emphasis_probabilities",
        "power",
        "nonneg_float",
        lambda m: pres.emphasis_probabilities(np.abs(Y()[:, 0]), power=m(1.0)),
    ),
    c(
        OWN,
        "presentation.emphasis_probabilities",
        "floor",
        "prob",
        lambda m: pres.emphasis_probabilities(np.abs(Y()[:, 0]), floor=m(0.0)),
        skip=("above_one",),
    ),
    c(OWN, "presentation.Emphasis", "cap", "pos_float", lambda m: pres.Emphasis(cap=m(4.0))),
    c(OWN, "presentation.Emphasis", "power", "nonneg_float", lambda m: pres.Emphasis(power=m(1.0))),
    c(
        OWN,
        "presentation.Emphasis",
        "floor",
        "prob",
        lambda m: pres.Emphasis(floor=m(0.0)),
        skip=("above_one",),
    ),
    c(OWN, "presentation.EmphasisSampler", "n", "pos_int", lambda m: pres.EmphasisSampler(m(P))),
    c(
        OWN,
        "presentation.EmphasisSampler",
        "generator",
        "generator",
        lambda m: pres.EmphasisSampler(P, generator=m(None)),
    ),
    c(
        OWN,
        "presentation.EmphasisSampler.update",
        "errors",
        "vector",
        lambda m: sampler().update(m(np.abs(Y()[:, 0]))),
    ),
    # ---- ebp.repro ----------------------------------------------------------------------------
    c(
        OWN,
        "repro.seed_everything",
        "seed",
        "seed",
        lambda m: repro.seed_everything(m(0), deterministic=False),
    ),
    c(
        OWN,
        "repro.seed_everything",
        "deterministic",
        "flag",
        lambda m: repro.seed_everything(0, deterministic=m(False)),
    ),
    # ---- ebp._validate (private, but every public call goes through it) ----------------------
    *[
        c(
            OWN,
            f"_validate.{fn.__name__}",
            "arg",
            "matrix_free",
            lambda m, fn=fn: fn(m(X()), "arg"),
            skip=("one_d", "three_d", "empty"),
        )
        for fn in (_validate.as_float_array, _validate.as_tensor)
    ],
    c(
        OWN,
        "_validate.real_array",
        "arg",
        "matrix_free",
        lambda m: _validate.real_array(m(X()), "arg"),
        skip=("one_d", "three_d", "empty", "nan", "inf"),
    ),
    c(
        OWN,
        "_validate.as_float_array(ndim=2)",
        "arg",
        "matrix_free",
        lambda m: _validate.as_float_array(m(X()), "arg", ndim=2),
        skip=("empty",),
    ),
    c(
        OWN,
        "_validate.check_positive",
        "arg",
        "pos_float",
        lambda m: _validate.check_positive(m(1.0), "arg"),
    ),
    c(
        OWN,
        "_validate.check_int",
        "arg",
        "pos_int",
        lambda m: _validate.check_int(m(1), "arg", min_value=1),
    ),
    c(
        OWN,
        "_validate.check_probability",
        "arg",
        "prob",
        lambda m: _validate.check_probability(m(0.5), "arg"),
    ),
    c(
        OWN,
        "_validate.check_sizes",
        "sizes",
        "vector_free",
        lambda m: _validate.check_sizes(m((2, 3, 1))),
        skip=("nan", "inf", "longdouble", "complex_dtype", "object_dtype"),
    ),
    # ---- ebp.history --------------------------------------------------------------------------
    c(
        A,
        "history.blowup_factor",
        "loss",
        "choice",
        lambda m: blowup_factor(m("mse")),
        skip=("None",),
    ),
    # ---- ebp.losses helpers every consumer shares ---------------------------------------------
    c(
        A,
        "losses.as_inputs",
        "X",
        "matrix",
        lambda m: losses.as_inputs(m(X()), "X", torch.float32, torch.device("cpu"), model=model()),
    ),
    c(
        A,
        "losses.as_targets",
        "y",
        "targets",
        lambda m: losses.as_targets(m(Y()), "y", "mse", P, torch.float32, torch.device("cpu")),
    ),
    c(
        A,
        "losses.as_targets(cross_entropy)",
        "y",
        "labels",
        lambda m: losses.as_targets(
            m(LABELS()), "y", "cross_entropy", P, torch.float32, torch.device("cpu")
        ),
        skip=("out_of_range", "negative", "two_d_wrong"),  # (P, K) rows are soft targets
    ),
    c(A, "losses.loss_name", "loss", "choice", lambda m: losses.loss_name(m("mse"))),
    c(
        A,
        "losses.bce_loss",
        "target",
        "targets",
        lambda m: losses.bce_loss(torch.zeros(P, 1), _t(m(torch.zeros(P, 1)))),
        skip=("nan", "inf", "empty", "None", "str", "dict", "list_of_str", "ragged"),
    ),
    # ---- ebp.nn -------------------------------------------------------------------------------
    c(
        A,
        "nn.mlp",
        "sizes",
        "vector_free",
        lambda m: enn.mlp(m((2, 3, 1))),
        "sizes",
        skip=("nan", "inf", "longdouble", "complex_dtype", "object_dtype"),
    ),
    c(A, "nn.mlp", "sizes[1]", "pos_int", lambda m: enn.mlp((2, m(3), 1)), "sizes"),
    c(A, "nn.mlp", "activation", "choice", lambda m: enn.mlp((2, 3, 1), m("tanh"))),
    c(A, "nn.mlp", "init", "choice", lambda m: enn.mlp((2, 3, 1), init=m("lecun_normal"))),
    c(A, "nn.mlp", "scale", "pos_float", lambda m: enn.mlp((2, 3, 1), scale=m(1.0))),
    c(A, "nn.mlp", "seed", "seed", lambda m: enn.mlp((2, 3, 1), seed=m(0))),
    c(A, "nn.mlp", "dtype", "choice", lambda m: enn.mlp((2, 3, 1), dtype=m(torch.float32))),
    c(A, "nn.empty_linear", "n_in", "pos_int", lambda m: enn.empty_linear(m(2), 3)),
    c(A, "nn.empty_linear", "n_out", "pos_int", lambda m: enn.empty_linear(2, m(3))),
    c(A, "nn.empty_linear", "dtype", "choice", lambda m: enn.empty_linear(2, 3, m(torch.float32))),
    c(
        A,
        "nn.get_activation",
        "name",
        "choice",
        lambda m: enn.get_activation(m("tanh")),
        "name",
        "activation",
    ),
    c(
        A,
        "nn.init_weights_",
        "scheme",
        "choice",
        lambda m: enn.init_weights_(model(), m("lecun_normal")),
    ),
    c(
        A,
        "nn.init_weights_",
        "scale",
        "pos_float",
        lambda m: enn.init_weights_(model(), scale=m(1.0)),
    ),
    c(A, "nn.init_weights_", "module", "model", lambda m: enn.init_weights_(m(model()))),
    c(A, "nn.twisted", "a", "finite_float", lambda m: enn.twisted("tanh", m(0.1))),
    c(A, "nn.twisted", "base", "choice", lambda m: enn.twisted(m("tanh"), 0.1)),
    c(A, "nn.Twisted", "a", "finite_float", lambda m: enn.Twisted("tanh", m(0.1))),
    c(A, "nn.layer_stats", "X", "matrix", lambda m: enn.layer_stats(model(), m(X()))),
    c(A, "nn.layer_stats", "model", "model", lambda m: enn.layer_stats(m(model()), X())),
    c(
        A,
        "nn.to_scratch",
        "module",
        "model",
        lambda m: enn.to_scratch(m(model())),
        "module",
        "model",
    ),
    c(A, "nn.from_scratch", "network", "model", lambda m: enn.from_scratch(m(net()))),
    # ---- ebp.losses ---------------------------------------------------------------------------
    c(A, "losses.get_loss", "loss", "choice", lambda m: losses.get_loss(m("mse"))),
    c(
        A,
        "losses.check_model",
        "model",
        "model",
        lambda m: losses.check_model(m(model())),
        skip=("no_params",),
    ),
    c(
        A,
        "losses.mse_loss",
        "target",
        "targets",
        lambda m: losses.mse_loss(torch.zeros(P, 1), _t(m(torch.zeros(P, 1)))),
        skip=("nan", "inf", "empty"),
    ),
    c(
        A,
        "losses.cross_entropy_loss",
        "target",
        "labels",
        lambda m: losses.cross_entropy_loss(torch.zeros(P, 2), _t(m(LABELS()))),
        skip=("None", "str", "ragged"),
    ),
    # ---- ebp.train ----------------------------------------------------------------------------
    c(A, "train.fit", "X", "matrix", lambda m: _fit(X=m(X()))),
    c(A, "train.fit", "y", "targets", lambda m: _fit(y=m(Y()))),
    c(
        A,
        "train.fit",
        "y(labels)",
        "labels",
        lambda m: _fit(model=model(2), y=m(LABELS()), loss="cross_entropy"),
        "y",
    ),
    c(A, "train.fit", "model", "model", lambda m: _fit(model=m(model()))),
    c(A, "train.fit", "eta", "pos_float", lambda m: _fit(eta=m(0.1))),
    c(A, "train.fit", "epochs", "pos_int", lambda m: _fit(epochs=m(1))),
    c(A, "train.fit", "batch_size", "pos_int", lambda m: _fit(batch_size=m(2)), skip=("None",)),
    c(A, "train.fit", "momentum", "prob", lambda m: _fit(momentum=m(0.5)), skip=("above_one",)),
    c(A, "train.fit", "weight_decay", "nonneg_float", lambda m: _fit(weight_decay=m(0.0))),
    c(A, "train.fit", "clip_norm", "pos_float", lambda m: _fit(clip_norm=m(1.0)), skip=("None",)),
    c(A, "train.fit", "clip_value", "pos_float", lambda m: _fit(clip_value=m(1.0)), skip=("None",)),
    c(A, "train.fit", "shuffle", "flag", lambda m: _fit(shuffle=m(True))),
    c(A, "train.fit", "seed", "seed", lambda m: _fit(seed=m(0))),
    c(A, "train.fit", "loss", "choice", lambda m: _fit(loss=m("mse"))),
    c(A, "train.fit", "order", "choice", lambda m: _fit(order=m("shuffle")), skip=("None",)),
    c(A, "train.fit", "optimizer", "choice", lambda m: _fit(optimizer=m("sgd")), skip=("None",)),
    c(A, "train.fit", "on_divergence", "choice", lambda m: _fit(on_divergence=m("raise"))),
    c(A, "train.fit", "record_every", "pos_int", lambda m: _fit(record_every=m(1)), skip=("None",)),
    c(
        A,
        "train.fit",
        "callback",
        "callable",
        lambda m: _fit(callback=m(lambda *a: None)),
        skip=("None",),
    ),
    c(
        A,
        "train.fit",
        "X_val",
        "matrix",
        lambda m: _fit(X_val=m(X()), y_val=Y()),
        skip=("None", "empty"),
    ),
    c(A, "train.fit", "y_val", "targets", lambda m: _fit(X_val=X(), y_val=m(Y())), skip=("empty",)),
    c(A, "train.evaluate", "X", "matrix", lambda m: train.evaluate(model(), m(X()), Y())),
    c(A, "train.evaluate", "y", "targets", lambda m: train.evaluate(model(), X(), m(Y()))),
    c(A, "train.evaluate", "model", "model", lambda m: train.evaluate(m(model()), X(), Y())),
    c(A, "train.evaluate", "loss", "choice", lambda m: train.evaluate(model(), X(), Y(), m("mse"))),
    c(A, "train.predict", "X", "matrix", lambda m: train.predict(model(), m(X())), skip=("empty",)),
    c(A, "train.predict", "model", "model", lambda m: train.predict(m(model()), X())),
    c(
        A,
        "train.predict_classes",
        "X",
        "matrix",
        lambda m: train.predict_classes(model(2), m(X())),
        skip=("empty",),
    ),
    c(
        A,
        "train.early_stopping_epoch",
        "patience",
        "pos_int",
        lambda m: train.early_stopping_epoch(_fit(X_val=X(), y_val=Y()), m(2)),
    ),
    c(
        A,
        "train.early_stopping_epoch",
        "history",
        "model",
        lambda m: train.early_stopping_epoch(m(None), 2),
    ),
    # ---- ebp.many -----------------------------------------------------------------------------
    c(A, "many.fit_many", "X", "matrix", lambda m: _fit_many(X=m(X()))),
    c(A, "many.fit_many", "y", "targets", lambda m: _fit_many(y=m(Y()))),
    c(
        A, "many.fit_many", "eta", "pos_float", lambda m: _fit_many(eta=m(0.1)), skip=("array",)
    ),  # one rate per model is valid
    c(A, "many.fit_many", "epochs", "pos_int", lambda m: _fit_many(epochs=m(1))),
    c(
        A,
        "many.fit_many",
        "momentum",
        "prob",
        lambda m: _fit_many(momentum=m(0.5)),
        skip=("above_one", "array"),
    ),
    c(
        A,
        "many.fit_many",
        "models",
        "model",
        lambda m: many.fit_many(m([model()]), X(), Y(), eta=0.1, epochs=1),
    ),
    c(
        A,
        "many.fit_many",
        "X_val",
        "matrix",
        lambda m: _fit_many(X_val=m(X()), y_val=Y()),
        skip=("None", "empty"),
    ),
    c(A, "many.batched_loss", "loss", "choice", lambda m: many.batched_loss(m("mse"))),
    # ---- ebp.scratch --------------------------------------------------------------------------
    c(
        A,
        "scratch.Network.create",
        "sizes[1]",
        "pos_int",
        lambda m: scratch.Network.create((2, m(3), 1)),
        "sizes",
    ),
    c(
        A,
        "scratch.Network.create",
        "activation",
        "choice",
        lambda m: scratch.Network.create((2, 3, 1), m("tanh")),
    ),
    c(
        A,
        "scratch.Network.create",
        "init",
        "choice",
        lambda m: scratch.Network.create((2, 3, 1), init=m("lecun")),
    ),
    c(
        A,
        "scratch.Network.create",
        "scale",
        "pos_float",
        lambda m: scratch.Network.create((2, 3, 1), scale=m(1.0)),
    ),
    c(
        A,
        "scratch.Network.forward",
        "X",
        "matrix",
        lambda m: net().forward(m(X())),
        skip=("empty",),
    ),
    c(A, "scratch.fit", "X", "matrix", lambda m: _sfit(X=m(X()))),
    c(A, "scratch.fit", "T", "targets", lambda m: _sfit(T=m(Y()))),
    c(A, "scratch.fit", "eta", "pos_float", lambda m: _sfit(eta=m(0.1))),
    c(A, "scratch.fit", "epochs", "pos_int", lambda m: _sfit(epochs=m(1))),
    c(A, "scratch.fit", "batch_size", "pos_int", lambda m: _sfit(batch_size=m(2)), skip=("None",)),
    c(A, "scratch.fit", "loss", "choice", lambda m: _sfit(loss=m("mse"))),
    c(A, "scratch.fit", "network", "model", lambda m: _sfit(network=m(net()))),
    c(
        A,
        "scratch.gradient_check",
        "X",
        "matrix",
        lambda m: scratch.gradient_check(net(), m(X()), Y()),
    ),
    c(
        A,
        "scratch.gradient_check",
        "T",
        "targets",
        lambda m: scratch.gradient_check(net(), X(), m(Y())),
    ),
    c(
        A,
        "scratch.gradient_check",
        "eps",
        "pos_float",
        lambda m: scratch.gradient_check(net(), X(), Y(), eps=m(1e-6)),
    ),
    c(
        A,
        "scratch.gradient_check",
        "tol",
        "pos_float",
        lambda m: scratch.gradient_check(net(), X(), Y(), tol=m(1e-6)),
    ),
    c(
        A,
        "scratch.numerical_gradient",
        "X",
        "matrix",
        lambda m: scratch.numerical_gradient(net(), m(X()), Y()),
    ),
    c(
        A,
        "scratch.prepare_targets",
        "T",
        "targets",
        lambda m: scratch.prepare_targets("mse", m(Y()), P, 1),
    ),
    c(
        A,
        "scratch.prepare_targets",
        "loss",
        "choice",
        lambda m: scratch.prepare_targets(m("mse"), Y(), P, 1),
    ),
    c(
        A,
        "scratch.loss_value",
        "T",
        "targets",
        lambda m: scratch.loss_value("mse", np.zeros((P, 1)), np.zeros((P, 1)), m(Y())),
        skip=("nan", "inf"),
    ),
    c(
        A,
        "scratch.loss_delta",
        "T",
        "targets",
        lambda m: scratch.loss_delta("mse", np.zeros((P, 1)), np.zeros((P, 1)), m(Y()), "identity"),
        skip=("nan", "inf"),
    ),
    c(
        A,
        "scratch.check_loss_activation",
        "loss",
        "choice",
        lambda m: scratch.check_loss_activation(m("mse"), "identity"),
    ),
    c(
        A,
        "scratch.check_loss_activation",
        "output_activation",
        "choice",
        lambda m: scratch.check_loss_activation("mse", m("identity")),
    ),
    c(
        A,
        "scratch.relative_error",
        "g_hat",
        "vector",
        lambda m: scratch.relative_error(np.ones(3), m(np.ones(3))),
        "g_hat",
        "g",
        skip=("None", "str", "dict", "list_of_str", "nan", "inf"),  # a metric: NaN in, NaN out
    ),
    c(
        A,
        "scratch.Network",
        "weights",
        "matrix_free",
        lambda m: scratch.Network([m(np.ones((2, 2)))], [np.zeros(2)], ["identity"]),
        skip=("one_d", "three_d", "empty", "nan", "inf"),
    ),
    c(
        A,
        "scratch.get_activation",
        "name",
        "choice",
        lambda m: scratch.get_activation(m("tanh")),
        "name",
        "activation",
    ),
    # ---- ebp.optim ----------------------------------------------------------------------------
    c(
        A,
        "optim.SDLM",
        "eps",
        "pos_float",
        lambda m: (
            lambda mod: optim.SDLM(mod.parameters(), eps=m(0.05), model=mod, data=(X(), Y()))
        )(model()),
    ),
    c(
        A,
        "optim.SDLM",
        "mu",
        "pos_float",
        lambda m: (
            lambda mod: optim.SDLM(mod.parameters(), mu=m(0.01), model=mod, data=(X(), Y()))
        )(model()),
        skip=("zero",),
    ),
    c(
        A,
        "optim.SDLM",
        "data",
        "matrix",
        lambda m: (lambda mod: optim.SDLM(mod.parameters(), model=mod, data=(m(X()), Y())))(
            model()
        ),
        "data",
        skip=("None",),
    ),
    c(
        A,
        "optim.PaperAdaptiveRate",
        "eta0",
        "pos_float",
        lambda m: optim.PaperAdaptiveRate(model().parameters(), eta0=m(0.01)),
    ),
    c(
        A,
        "optim.PaperAdaptiveRate",
        "delta",
        "pos_float",
        lambda m: optim.PaperAdaptiveRate(model().parameters(), delta=m(0.1)),
    ),
    c(
        A,
        "optim.eta_from_lambda_max",
        "data",
        "matrix",
        lambda m: optim.eta_from_lambda_max(model(), "mse", (m(X()), Y())),
        "data",
        skip=("None",),
    ),
    c(
        A,
        "optim.eta_from_lambda_max",
        "method",
        "choice",
        lambda m: optim.eta_from_lambda_max(model(), "mse", (X(), Y()), method=m("power")),
    ),
    c(
        A,
        "optim.eta_from_lambda_max",
        "tol",
        "pos_float",
        lambda m: optim.eta_from_lambda_max(model(), "mse", (X(), Y()), tol=m(1e-6)),
    ),
    c(
        A,
        "optim.per_layer_rates",
        "eta",
        "pos_float",
        lambda m: optim.per_layer_rates(model(), m(0.1)),
    ),
    c(
        A,
        "optim.per_layer_rates",
        "rule",
        "choice",
        lambda m: optim.per_layer_rates(model(), 0.1, rule=m("uniform")),
    ),
    c(
        A,
        "optim.per_layer_rates",
        "model",
        "model",
        lambda m: optim.per_layer_rates(m(model()), 0.1),
    ),
    # ---- ebp.hessian --------------------------------------------------------------------------
    c(
        B,
        "hessian.HessianOperator",
        "data",
        "matrix",
        lambda m: hs.HessianOperator(model(), "mse", (m(X()), Y())),
        "data",
    ),
    c(
        B,
        "hessian.HessianOperator",
        "data(y)",
        "targets",
        lambda m: hs.HessianOperator(model(), "mse", (X(), m(Y()))),
        "data",
    ),
    c(
        B,
        "hessian.HessianOperator",
        "model",
        "model",
        lambda m: hs.HessianOperator(m(model()), "mse", (X(), Y())),
    ),
    c(
        B,
        "hessian.HessianOperator",
        "method",
        "choice",
        lambda m: hs.HessianOperator(model(), "mse", (X(), Y()), method=m("double_backward")),
    ),
    c(B, "hessian.HessianOperator.matvec", "v", "vector", lambda m: hop().matvec(m(np.ones(13)))),
    c(
        B,
        "hessian.HessianOperator.pattern_gradient",
        "p",
        "nonneg_int",
        lambda m: hop().pattern_gradient(m(0)),
    ),
    c(
        B,
        "hessian.HessianOperator.pattern_gradient",
        "p(too_large)",
        "nonneg_int",
        lambda m: hop().pattern_gradient(P),
        "p",
        skip=tuple(lbl for lbl, _ in KINDS["nonneg_int"][1:]),
    ),
    c(
        B,
        "hessian.HessianOperator.from_function",
        "w",
        "vector_free",
        lambda m: hs.HessianOperator.from_function(lambda w: (w**2).sum(), m(np.ones(2))),
    ),
    c(
        B,
        "hessian.HessianOperator.from_function",
        "fn",
        "callable",
        lambda m: hs.HessianOperator.from_function(m(lambda w: (w**2).sum()), np.ones(2)),
    ),
    c(B, "hessian.MatrixOperator", "A", "matrix_free", lambda m: hs.MatrixOperator(m(np.eye(2)))),
    c(B, "hessian.MatrixOperator.matvec", "v", "vector", lambda m: mop().matvec(m(np.ones(2)))),
    c(
        B,
        "hessian.as_operator",
        "A",
        "matrix_free",
        lambda m: hs.as_operator(m(np.eye(2))),
        "A",
        "op",
    ),
    c(B, "hessian.power_method", "tol", "pos_float", lambda m: hs.power_method(mop(), tol=m(1e-6))),
    c(
        B,
        "hessian.power_method",
        "max_products",
        "pos_int",
        lambda m: hs.power_method(mop(), max_products=m(100)),
    ),
    c(
        B,
        "hessian.power_method",
        "which",
        "choice",
        lambda m: hs.power_method(mop(), which=m("LA")),
    ),
    c(
        B,
        "hessian.power_method",
        "v0",
        "vector",
        lambda m: hs.power_method(mop(), v0=m(np.ones(2))),
        skip=("None",),
    ),
    c(B, "hessian.power_method", "op", "model", lambda m: hs.power_method(m(mop())), "op"),
    c(
        B,
        "hessian.flatten_params",
        "params",
        "model",
        lambda m: hs.flatten_params(m(model())),
        skip=("no_params",),
    ),
    c(
        B,
        "hessian.deflated_power_method",
        "k",
        "pos_int",
        lambda m: hs.deflated_power_method(mop(), m(1)),
    ),
    c(B, "hessian.hessian_diagonal", "op", "model", lambda m: hs.hessian_diagonal(m(mop())), "op"),
    c(
        B,
        "hessian.square_jacobian_vector_product",
        "v",
        "vector",
        lambda m: hs.square_jacobian_vector_product(model(), m(np.ones(13)), "mse", (X(), Y())),
    ),
    c(B, "hessian.lanczos_eigs", "k", "pos_int", lambda m: hs.lanczos_eigs(mop(), m(1))),
    c(
        B,
        "hessian.lanczos_eigs",
        "which",
        "choice",
        lambda m: hs.lanczos_eigs(mop(), 1, which=m("LA")),
    ),
    c(
        B,
        "hessian.lanczos_eigs",
        "tol",
        "nonneg_float",
        lambda m: hs.lanczos_eigs(mop(), tol=m(1e-8)),
    ),  # tol=0: machine precision
    c(B, "hessian.top_eigenvalues", "k", "pos_int", lambda m: hs.top_eigenvalues(mop(), m(1))),
    c(
        B,
        "hessian.hutchinson_trace",
        "n_samples",
        "pos_int",
        lambda m: hs.hutchinson_trace(mop(), m(10)),
    ),
    c(
        B,
        "hessian.hutchinson_trace",
        "probe",
        "choice",
        lambda m: hs.hutchinson_trace(mop(), 10, probe=m("rademacher")),
    ),
    c(
        B,
        "hessian.hutchinson_diagonal",
        "n_samples",
        "pos_int",
        lambda m: hs.hutchinson_diagonal(mop(), m(10)),
    ),
    c(
        B,
        "hessian.slq_density",
        "n_probes",
        "pos_int",
        lambda m: hs.slq_density(mop(), n_probes=m(2), n_steps=2),
    ),
    c(
        B,
        "hessian.slq_density",
        "n_steps",
        "pos_int",
        lambda m: hs.slq_density(mop(), n_probes=2, n_steps=m(2)),
    ),
    c(
        B,
        "hessian.lanczos_tridiagonal",
        "n_steps",
        "pos_int",
        lambda m: hs.lanczos_tridiagonal(mop(), m(2), np.ones(2)),
    ),
    c(
        B,
        "hessian.lanczos_tridiagonal",
        "v0",
        "vector",
        lambda m: hs.lanczos_tridiagonal(mop(), 2, m(np.ones(2))),
    ),
    c(
        B,
        "hessian.dense_hessian",
        "data",
        "matrix",
        lambda m: hs.dense_hessian(model(), "mse", (m(X()), Y())),
        "data",
    ),
    c(
        B,
        "hessian.hessian_vector_product",
        "v",
        "vector",
        lambda m: hs.hessian_vector_product(model(), m(np.ones(13)), "mse", (X(), Y())),
    ),
    c(
        B,
        "hessian.gauss_newton_vector_product",
        "v",
        "vector",
        lambda m: hs.gauss_newton_vector_product(model(), m(np.ones(13)), "mse", (X(), Y())),
    ),
    c(
        B,
        "hessian.GaussNewtonOperator",
        "data",
        "matrix",
        lambda m: hs.GaussNewtonOperator(model(), "mse", (m(X()), Y())),
        "data",
    ),
    c(
        B,
        "hessian.GaussNewtonOperator",
        "kind",
        "choice",
        lambda m: hs.GaussNewtonOperator(model(), "mse", (X(), Y()), kind=m("ggn")),
    ),
    c(
        B,
        "hessian.backprop_diagonal",
        "data",
        "matrix",
        lambda m: hs.backprop_diagonal(model(), "mse", (m(X()), Y())),
        "data",
    ),
    c(
        B,
        "hessian.gauss_newton_diagonal",
        "data",
        "matrix",
        lambda m: hs.gauss_newton_diagonal(model(), "mse", (m(X()), Y())),
        "data",
    ),
    c(B, "hessian.gamma_schedule", "t", "nonneg_int", lambda m: hs.gamma_schedule(m(0))),
    c(
        B,
        "hessian.unflatten_params",
        "flat",
        "vector",
        lambda m: hs.unflatten_params(m(np.ones(13)), model()),
        skip=("nan", "inf"),
    ),
    c(
        B,
        "hessian.online_eigenvalue_estimate",
        "n_presentations",
        "pos_int",
        lambda m: hs.online_eigenvalue_estimate(hop(), n_presentations=m(5)),
    ),
    c(
        B,
        "hessian.taylor_estimate",
        "max_gradients",
        "pos_int",
        lambda m: hs.taylor_estimate(hop(), max_gradients=m(5)),
    ),
    c(
        B,
        "hessian.finite_difference_hvp",
        "v",
        "vector",
        lambda m: hs.finite_difference_hvp(hop(), m(np.ones(13))),
    ),
    # ---- ebp.quadratic ------------------------------------------------------------------------
    *[
        c(
            C,
            f"quadratic.{fn.__name__}",
            "H",
            "spd_matrix",
            lambda m, fn=fn: fn(m(spd())),
            skip=() if pd else NOT_PD,
        )
        for fn, pd in (
            (quad.eigen, False),
            (quad.condition_number, True),
            (quad.eta_opt, True),
            (quad.eta_max, True),
            (quad.best_eta, True),
            (quad.best_momentum, True),
        )
    ],
    c(C, "quadratic.descend", "H", "spd_matrix", lambda m: _descend(H=m(spd())), skip=NOT_PD),
    c(C, "quadratic.descend", "w0", "vector", lambda m: _descend(w0=m(W0()))),
    c(C, "quadratic.descend", "eta", "pos_float", lambda m: _descend(eta=m(0.3))),
    c(C, "quadratic.descend", "steps", "nonneg_int", lambda m: _descend(steps=m(5))),
    c(
        C,
        "quadratic.descend",
        "w_star",
        "vector",
        lambda m: _descend(w_star=m(np.zeros(2))),
        skip=("None",),
    ),
    c(C, "quadratic.descend", "momentum", "momentum", lambda m: _descend(momentum=m(0.5))),
    c(C, "quadratic.loss", "H", "spd_matrix", lambda m: quad.loss(m(spd()), W0()), skip=NOT_PD),
    c(
        C,
        "quadratic.loss",
        "w",
        "vector",
        lambda m: quad.loss(spd(), m(W0())),
        skip=("two_d",),  # (..., n) grids of points are valid
    ),
    c(
        C,
        "quadratic.loss",
        "w_star",
        "vector",
        lambda m: quad.loss(spd(), W0(), m(np.zeros(2))),
        skip=("None",),
    ),
    *[
        c(
            C,
            f"quadratic.{fn.__name__}",
            "H",
            "spd_matrix",
            lambda m, fn=fn: fn(m(spd()), 0.3),
            skip=NOT_PD,
        )
        for fn in (quad.contraction, quad.rate)
    ],
    *[
        c(C, f"quadratic.{fn.__name__}", "eta", "pos_float", lambda m, fn=fn: fn(spd(), m(0.3)))
        for fn in (quad.contraction, quad.rate)
    ],
    *[
        c(
            C,
            f"quadratic.{fn.__name__}",
            "momentum",
            "momentum",
            lambda m, fn=fn: fn(spd(), 0.3, m(0.5)),
        )
        for fn in (quad.contraction, quad.rate)
    ],
    c(
        C,
        "quadratic.spectral_radius",
        "lam",
        "vector_free",
        lambda m: quad.spectral_radius(m(np.array([0.5, 1.0, 2.0])), 0.3, 0.5),
        skip=("two_d", "empty"),  # broadcasting arrays of any shape are valid
    ),
    c(
        C,
        "quadratic.spectral_radius",
        "eta",
        "pos_float",
        lambda m: quad.spectral_radius(np.array([0.5, 1.0, 2.0]), m(0.3), 0.5),
        skip=("list",),  # [0.1] broadcasts
    ),
    c(
        C,
        "quadratic.spectral_radius",
        "momentum",
        "momentum",
        lambda m: quad.spectral_radius(np.array([0.5, 1.0, 2.0]), 0.3, m(0.5)),
        skip=("list",),
    ),
    c(
        C,
        "quadratic.momentum_converges",
        "lam",
        "vector_free",
        lambda m: quad.momentum_converges(m(np.array([0.5, 1.0, 2.0])), 0.3, 0.5),
        skip=("two_d", "empty"),
    ),
    c(
        C,
        "quadratic.momentum_converges",
        "eta",
        "pos_float",
        lambda m: quad.momentum_converges(np.array([0.5, 1.0, 2.0]), m(0.3), 0.5),
        skip=("list", "zero", "negative"),  # a grid of the (eta, mu) plane: False there
    ),
    c(
        C,
        "quadratic.momentum_converges",
        "momentum",
        "momentum",
        lambda m: quad.momentum_converges(np.array([0.5, 1.0, 2.0]), 0.3, m(0.5)),
        skip=("list", "negative", "one", "above_one"),  # documented: False outside [0, 1)
    ),
    c(
        C,
        "quadratic.steps_to_tolerance",
        "H",
        "spd_matrix",
        lambda m: _steps(H=m(spd())),
        skip=NOT_PD,
    ),
    c(C, "quadratic.steps_to_tolerance", "eta", "pos_float", lambda m: _steps(eta=m(0.3))),
    c(C, "quadratic.steps_to_tolerance", "tol", "unit_open", lambda m: _steps(tol=m(1e-3))),
    c(
        C,
        "quadratic.steps_to_tolerance",
        "momentum",
        "momentum",
        lambda m: _steps(momentum=m(0.5)),
    ),
    c(
        C,
        "quadratic.steps_to_tolerance",
        "w0",
        "vector",
        lambda m: _steps(w0=m(W0())),
        skip=("None",),
    ),
    c(
        C,
        "quadratic.steps_to_tolerance",
        "w_star",
        "vector",
        lambda m: _steps(w0=W0(), w_star=m(np.zeros(2))),
        skip=("None",),
    ),
    c(
        C,
        "quadratic.measured_steps",
        "iterates",
        "matrix_free",
        lambda m: quad.measured_steps(m(_descend()), None, 1e-3),
    ),
    c(
        C,
        "quadratic.measured_steps",
        "w_star",
        "vector",
        lambda m: quad.measured_steps(_descend(), m(np.zeros(2)), 1e-3),
        skip=("None",),
    ),
    c(
        C,
        "quadratic.measured_steps",
        "tol",
        "unit_open",
        lambda m: quad.measured_steps(_descend(), None, m(1e-3)),
    ),
    c(
        C,
        "quadratic.lms_hessian",
        "X",
        "matrix_free",
        lambda m: quad.lms_hessian(m(X())),
        skip=("one_d",),  # a (P,) vector is one input
    ),
    c(C, "quadratic.lms_hessian", "bias", "flag", lambda m: quad.lms_hessian(X(), bias=m(True))),
    c(
        C,
        "quadratic.lms_minimum",
        "X",
        "matrix_free",
        lambda m: quad.lms_minimum(m(X()), Y()[:, 0]),
        skip=("one_d",),  # a (P,) vector is one input
    ),
    c(C, "quadratic.lms_minimum", "d", "vector", lambda m: quad.lms_minimum(X(), m(Y()[:, 0]))),
    c(
        C,
        "quadratic.lms_minimum",
        "bias",
        "flag",
        lambda m: quad.lms_minimum(X(), Y()[:, 0], bias=m(True)),
    ),
    # ---- ebp.second_order ---------------------------------------------------------------------
    c(C, "second_order.minimize", "fun", "callable", lambda m: _minimize(fun=m(qfun))),
    c(C, "second_order.minimize", "fun", "callable_result", lambda m: _minimize(fun=m(qfun))),
    c(
        C,
        "second_order.minimize(cg-pr)",
        "fun",
        "callable_result",
        lambda m: _minimize(fun=m(qfun), method="cg-pr"),
    ),
    c(C, "second_order.minimize", "w0", "vector_free", lambda m: _minimize(w0=m(W0()))),
    c(C, "second_order.minimize", "method", "choice", lambda m: _minimize(method=m("bfgs"))),
    c(
        C,
        "second_order.minimize",
        "hess",
        "callable",
        lambda m: _minimize(method="newton", hess=m(lambda w: spd())),
    ),
    c(
        C,
        "second_order.minimize",
        "hess",
        "callable_result",
        lambda m: _minimize(method="newton", hess=m(lambda w: spd())),
    ),
    c(
        C,
        "second_order.minimize",
        "hessp",
        "callable",
        lambda m: _minimize(method="newton", hessp=m(lambda w, v: spd() @ v)),
    ),
    c(
        C,
        "second_order.minimize",
        "hessp",
        "callable_result",
        lambda m: _minimize(method="newton", hessp=m(lambda w, v: spd() @ v)),
    ),
    *[
        c(
            C,
            f"second_order.minimize({method})",
            "residuals",
            kind,
            lambda m, method=method: _minimize(residuals=m(qresiduals), method=method),
        )
        for method in so.LEAST_SQUARES_METHODS
        for kind in ("callable", "callable_result")
    ],
    c(C, "second_order.minimize", "tol", "pos_float", lambda m: _minimize(tol=m(1e-8))),
    c(C, "second_order.minimize", "ftol", "nonneg_float", lambda m: _minimize(ftol=m(0.0))),
    c(
        C,
        "second_order.minimize",
        "max_iter",
        "pos_int",
        lambda m: _minimize(max_iter=m(5)),
        skip=("None",),
    ),
    c(
        C,
        "second_order.minimize",
        "line_search",
        "flag",
        lambda m: _minimize(method="newton", hess=lambda w: spd(), line_search=m(False)),
        skip=("None",),
    ),
    c(C, "second_order.minimize", "c1", "unit_open", lambda m: _minimize(c1=m(1e-4))),
    c(
        C,
        "second_order.minimize",
        "c2",
        "unit_open",
        lambda m: _minimize(c2=m(0.9)),
        skip=("None",),
    ),
    c(
        C,
        "second_order.minimize",
        "damping",
        "pos_float",
        lambda m: _minimize(residuals=qresiduals, method="levenberg-marquardt", damping=m(1e-3)),
        skip=("None",),
    ),
    c(
        C,
        "second_order.minimize",
        "newton_rtol",
        "unit_open",
        lambda m: _minimize(method="newton", hessp=lambda w, v: spd() @ v, newton_rtol=m(1e-10)),
        skip=("one",),  # (0, 1]
    ),
    c(
        C,
        "second_order.minimize",
        "callback",
        "callable",
        lambda m: _minimize(callback=m(lambda w: None)),
        skip=("None",),
    ),
    c(C, "second_order.wolfe_line_search", "fun", "callable", lambda m: _wolfe(fun=m(qfun))),
    c(
        C,
        "second_order.wolfe_line_search",
        "fun",
        "callable_result",
        lambda m: _wolfe(fun=m(qfun)),
    ),
    c(C, "second_order.wolfe_line_search", "w", "vector_free", lambda m: _wolfe(w=m(W0()))),
    c(
        C,
        "second_order.wolfe_line_search",
        "p",
        "vector",
        lambda m: _wolfe(p=m(-qfun(W0())[1])),
    ),
    c(
        C,
        "second_order.wolfe_line_search",
        "alpha0",
        "pos_float",
        lambda m: _wolfe(alpha0=m(1.0)),
    ),
    c(C, "second_order.wolfe_line_search", "c1", "unit_open", lambda m: _wolfe(c1=m(1e-4))),
    c(C, "second_order.wolfe_line_search", "c2", "unit_open", lambda m: _wolfe(c2=m(0.9))),
    c(
        C,
        "second_order.wolfe_line_search",
        "max_evals",
        "pos_int",
        lambda m: _wolfe(max_evals=m(30)),
    ),
    c(
        C,
        "second_order.model_objective",
        "model",
        "model",
        lambda m: so.model_objective(m(model()), "mse", X(), Y()),
    ),
    c(
        C,
        "second_order.model_objective",
        "loss",
        "choice",
        lambda m: so.model_objective(model(), m("mse"), X(), Y()),
    ),
    c(
        C,
        "second_order.model_objective",
        "X",
        "matrix",
        lambda m: so.model_objective(model(), "mse", m(X()), Y()),
    ),
    c(
        C,
        "second_order.model_objective",
        "y",
        "targets",
        lambda m: so.model_objective(model(), "mse", X(), m(Y())),
    ),
    *[
        c(
            C,
            f"second_order.ModelObjective.{meth}",
            "w",
            "vector",
            lambda m, meth=meth: (lambda o: getattr(o, meth)(m(o.w0)))(mobj()),
        )
        for meth in ("fun", "residuals", "hess")
    ],
    c(
        C,
        "second_order.ModelObjective.hessp",
        "w",
        "vector",
        lambda m: (lambda o: o.hessp(m(o.w0), np.ones(o.n)))(mobj()),
    ),
    c(
        C,
        "second_order.ModelObjective.hessp",
        "v",
        "vector",
        lambda m: (lambda o: o.hessp(o.w0, m(np.ones(o.n))))(mobj()),
    ),
    # ---- ebp.landscape ------------------------------------------------------------------------
    c(
        D,
        "landscape.random_direction",
        "model",
        "model",
        lambda m: land.random_direction(m(model())),
    ),
    c(
        D,
        "landscape.random_direction",
        "normalize",
        "choice",
        lambda m: land.random_direction(model(), normalize=m("filter")),
    ),
    c(
        D,
        "landscape.random_direction",
        "ignore_bias",
        "flag",
        lambda m: land.random_direction(model(), ignore_bias=m(True)),
    ),
    c(
        D,
        "landscape.random_direction",
        "seed",
        "seed",
        lambda m: land.random_direction(model(), seed=m(0)),
    ),
    c(
        D,
        "landscape.pca_directions",
        "trajectory",
        "matrix_free",
        lambda m: land.pca_directions(m(traj())),
    ),
    c(D, "landscape.pca_directions", "n", "pos_int", lambda m: land.pca_directions(traj(), m(2))),
    c(D, "landscape.eigen_directions", "model", "model", lambda m: _eigen(model=m(model()))),
    c(D, "landscape.eigen_directions", "loss", "choice", lambda m: _eigen(loss=m("mse"))),
    c(D, "landscape.eigen_directions", "X", "matrix", lambda m: _eigen(X=m(X()))),
    c(D, "landscape.eigen_directions", "y", "targets", lambda m: _eigen(y=m(Y()))),
    c(D, "landscape.eigen_directions", "n", "pos_int", lambda m: _eigen(n=m(2))),
    c(D, "landscape.eigen_directions", "which", "choice", lambda m: _eigen(which=m("LA"))),
    c(D, "landscape.eigen_directions", "seed", "seed", lambda m: _eigen(seed=m(0))),
    c(D, "landscape.surface", "model", "model", lambda m: _surface(model=m(model()))),
    c(D, "landscape.surface", "loss", "choice", lambda m: _surface(loss=m("mse"))),
    c(D, "landscape.surface", "X", "matrix", lambda m: _surface(X=m(X()))),
    c(D, "landscape.surface", "y", "targets", lambda m: _surface(y=m(Y()))),
    c(
        D,
        "landscape.surface",
        "directions",
        "vector",
        lambda m: _surface(directions=m(ldir())),
        skip=("two_d",),  # a (1, P) array is one direction
    ),
    c(
        D,
        "landscape.surface",
        "alphas",
        "vector_free",
        lambda m: _surface(alphas=m(np.linspace(-1.0, 1.0, 3))),
    ),
    c(
        D,
        "landscape.surface",
        "betas",
        "vector_free",
        lambda m: _surface(betas=m(np.linspace(-1.0, 1.0, 2))),
        "betas",
        "directions",  # betas=None with two directions: the directions do not match
    ),
    c(
        D,
        "landscape.surface",
        "origin",
        "vector",
        lambda m: _surface(origin=m(land.flatten_params(model()))),
        skip=("None",),  # the model's weights
    ),
    c(D, "landscape.surface", "chunk_size", "pos_int", lambda m: _surface(chunk_size=m(4))),
    c(D, "landscape.interpolate", "model", "model", lambda m: _interpolate(model=m(model()))),
    c(D, "landscape.interpolate", "loss", "choice", lambda m: _interpolate(loss=m("mse"))),
    c(D, "landscape.interpolate", "X", "matrix", lambda m: _interpolate(X=m(X()))),
    c(D, "landscape.interpolate", "y", "targets", lambda m: _interpolate(y=m(Y()))),
    *[
        c(
            D,
            "landscape.interpolate",
            end,
            "vector",
            lambda m, end=end: _interpolate(**{end: m(land.flatten_params(model()))}),
        )
        for end in ("theta_a", "theta_b")
    ],
    c(
        D,
        "landscape.interpolate",
        "ts",
        "vector_free",
        lambda m: _interpolate(ts=m(np.linspace(0.0, 1.0, 3))),
    ),
    c(D, "landscape.interpolate", "chunk_size", "pos_int", lambda m: _interpolate(chunk_size=m(4))),
    c(
        D,
        "landscape.project",
        "trajectory",
        "matrix_free",
        lambda m: land.project(m(traj()), ldir()),
    ),
    c(
        D,
        "landscape.project",
        "directions",
        "vector",
        lambda m: land.project(traj(), m(ldir())),
        skip=("two_d",),  # a (1, P) array is one direction
    ),
    c(
        D,
        "landscape.project",
        "origin",
        "vector",
        lambda m: land.project(traj(), ldir(), m(np.zeros(13))),
        skip=("None",),  # the last iterate
    ),
]


# ---------------------------------------------------------------------------------------------
# Checks: the review's cases that are not "one bad argument"
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """A scenario judged by ``run``, which returns ``None`` (fine) or a description of the fault.

    ``expect_error``: the names one of which a clear error must carry, if it raises one; an
    error counts as fine for such a check.  ``()`` means an error is itself a fault (valid input
    that must be accepted).
    """

    owner: str
    id: str
    run: Callable[[], str | None]
    names: tuple[str, ...] = ()
    notes: str = field(default="")

    @property
    def about_nonfinite(self) -> bool:
        """Is the point of this check a non-finite result (so a FloatingPointError saying so is
        a clear answer)?"""
        return getattr(self.run, "about_nonfinite", False)


def _finite(value: Any) -> bool:
    """Every float in ``value`` (arrays, tensors, dataclasses, lists) is finite."""
    if isinstance(value, torch.Tensor):
        return bool(torch.isfinite(value).all()) if value.is_floating_point() else True
    if isinstance(value, np.ndarray):
        return bool(np.isfinite(value).all()) if value.dtype.kind in "fc" else True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(_finite(v) for v in value)
    if hasattr(value, "__dataclass_fields__"):
        return all(
            _finite(getattr(value, k))
            for k in value.__dataclass_fields__
            if k not in ("history", "train_loss", "val_loss", "grad_norm", "eta", "weights")
        )
    return True


def _about_nonfinite(run: Callable[[], str | None]) -> Callable[[], str | None]:
    """Mark ``run`` as a check of a non-finite result (see :func:`judge_error`)."""
    run.about_nonfinite = True  # type: ignore[attr-defined]
    return run


def _no_silent_nonfinite(fn: Callable[[], Any]) -> Callable[[], str | None]:
    @_about_nonfinite
    def run() -> str | None:
        out = fn()
        return None if _finite(out) else f"returned a non-finite result silently: {out!r:.200}"

    return run


def _diverges(fn: Callable[[], Any]) -> Callable[[], str | None]:
    """The run must raise DivergenceError or return a history flagged diverged with a message."""

    def run() -> str | None:
        try:
            h = fn()
        except DivergenceError:
            return None
        hs_ = getattr(h, "histories", [h])  # a ManyHistory: every model must say so
        if all(getattr(x, "diverged", False) and getattr(x, "message", None) for x in hs_):
            return None
        last = [getattr(x, "train_loss", [None])[-1:] for x in hs_]
        return f"divergence not reported (diverged=False; last train_loss {last})"

    return run


def _accepted(fn: Callable[[], Any]) -> Callable[[], str | None]:
    """Valid unusual input: must return, with finite results."""

    def run() -> str | None:
        out = fn()
        return None if _finite(out) else f"returned a non-finite result: {out!r:.200}"

    return run


def _nan_weight(m: nn.Module) -> nn.Module:
    with torch.no_grad():
        next(m.parameters()).view(-1)[0] = NAN
    return m


def _ce_model() -> nn.Module:
    return model(2)


def _sdlm_user_loop() -> str | None:
    """SDLM stepped by hand with a rate far too large (eps=10, mu=1e-6): the loop diverges.

    Fine: a clear ValueError/DivergenceError naming what went wrong, or finite weights.
    """
    m = model()
    Xt, Yt = torch.as_tensor(X(), dtype=torch.float32), torch.as_tensor(Y(), dtype=torch.float32)
    opt = optim.SDLM(m.parameters(), eps=10.0, mu=1e-6, model=m, data=(X(), Y()))
    try:
        for _ in range(50):
            opt.zero_grad()
            loss = train.mse_loss(m(Xt), Yt)
            loss.backward()
            opt.step()
    except (ValueError, DivergenceError) as err:
        return judge_error(err, ("loss", "eps", "mu", "weights", "step"))
    if all(bool(torch.isfinite(p).all()) for p in m.parameters()):
        return None
    return "SDLM.step left NaN/Inf weights in the model without raising"


def _mse_broadcast() -> str | None:
    out = train.mse_loss(torch.zeros(4, 1), torch.arange(4.0))
    expected = 0.5 * float((torch.arange(4.0) ** 2).sum()) / 4
    if abs(float(out) - expected) > 1e-6:
        return f"mse_loss((4,1), (4,)) broadcast to (4,4): got {float(out)}, expected {expected}"
    return None


def _scratch_broadcast(which: str) -> Callable[[], str | None]:
    def run() -> str | None:
        z = np.zeros((4, 1))
        T = np.arange(4.0)
        if which == "value":
            out = scratch.loss_value("mse", z, z, T)
            expected = 0.5 * float((T**2).sum()) / 4
            if abs(out - expected) > 1e-9:
                return f"loss_value('mse', (4,1), (4,)) broadcast: got {out}, expected {expected}"
        else:
            d = scratch.loss_delta("mse", z, z, T, "identity")
            if d.shape != (4, 1):
                return f"loss_delta('mse', (4,1), (4,)) broadcast to shape {d.shape}"
        return None

    return run


def _scratch_stop_keeps_diverged() -> str | None:
    n = net()
    try:
        h = scratch.fit(n, X() * 10, Y() * 10, eta=1e6, epochs=5, on_divergence="stop")
    except DivergenceError:
        return None
    if not h.diverged:
        return "scratch.fit(eta=1e6) did not report divergence"
    rows = [h.train_loss, getattr(h, "grad_norm", [])]
    if any(not all(math.isfinite(v) for v in r) for r in rows if r):
        return f"scratch.fit(on_divergence='stop') kept the diverged row(s): {h.train_loss}"
    if not all(np.isfinite(w).all() for w in n.weights):
        return "scratch.fit(on_divergence='stop') left non-finite weights in the network"
    return None


def _x_grad_untouched() -> str | None:
    Xt = torch.as_tensor(X(), dtype=torch.float32).requires_grad_(True)
    train.fit(model(), Xt, Y(), eta=0.05, epochs=1)
    if Xt.grad is not None:
        return "train.fit wrote X.grad into the user's X (requires_grad=True)"
    return None


def _frozen_params() -> Any:
    m = model()
    for p in m.parameters():
        p.requires_grad_(False)
    return train.fit(m, X(), Y(), eta=0.1, epochs=1)


class _TupleModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(2, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.lin(x), x


def _ignoring_factory(params: Any) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)


def _empty_batches() -> Any:
    return hs.HessianOperator(model(), "mse", [])


def _pattern_grad_negative() -> Any:
    return hop().pattern_gradient(-1)


def _nan_fn_power() -> Any:
    op = hs.HessianOperator.from_function(lambda w: (w**2).sum() * torch.nan, np.ones(2))
    return hs.power_method(op, max_products=20)


def _nan_product_power() -> Any:
    """A function finite at w whose Hessian products are NaN (d sqrt(u)/du at u = 0)."""
    op = hs.HessianOperator.from_function(
        lambda w: (w**2).sum() + torch.sqrt(w[0] - w[0]), np.ones(2)
    )
    return hs.power_method(op, max_products=20)


def _extreme(fn: Callable[[np.ndarray], Any]) -> Callable[[], str | None]:
    @_about_nonfinite
    def run() -> str | None:
        out = fn(X() * 1e200)
        return None if _finite(out) else "overflowed to a non-finite result silently"

    return run


def _extreme_roundtrip(cls: type) -> Callable[[], str | None]:
    @_about_nonfinite
    def run() -> str | None:
        Xb = X() * 1e200
        t = cls().fit(Xb)
        Z = t.transform(Xb)
        if not np.isfinite(Z).all():
            return "transform overflowed to a non-finite result silently"
        back = t.inverse_transform(Z)
        if not np.allclose(back, Xb, rtol=1e-6, atol=0):
            return "inverse_transform(transform(X)) != X at scale 1e200"
        return None

    return run


def _lanczos_2x2() -> str | None:
    r = hs.lanczos_eigs(mop(), 1)
    lam = np.linalg.eigvalsh(np.array([[2.0, 0.5], [0.5, 1.0]]))[-1]
    if abs(float(r.values[0]) - lam) > 1e-8:
        return f"lanczos_eigs on 2x2 gave {r.values}, expected {lam}"
    return None


def _two_weight_model() -> nn.Module:
    return nn.Sequential(nn.Linear(2, 1, bias=False))


def _eta_lanczos_2() -> str | None:
    res = optim.eta_from_lambda_max(_two_weight_model(), "mse", (X(), Y()), method="lanczos")
    return None if math.isfinite(res.eta) and res.eta > 0 else f"eta = {res.eta}"


def _rbf_fit_evaluate_stats() -> str | None:
    m = rbf_model()
    h = train.fit(m, X(), Y(), eta=0.05, epochs=2)
    e = train.evaluate(m, X(), Y())
    stats = enn.layer_stats(m, X())
    if not (_finite(h.train_loss) and math.isfinite(e)):
        return "non-finite loss on an RBF model"
    if not stats:
        return "layer_stats returned nothing for an RBF network"
    return None


def _float32_everything() -> str | None:
    X32, Y32 = X().astype(np.float32), Y().astype(np.float32)
    m = model()
    train.fit(m, X32, Y32, eta=0.05, epochs=2)
    pp.Standardize().fit(X32).transform(X32)
    pp.covariance(X32)
    data.scale_columns(X32, 2.0)
    rbf.rbf_network(X32, 3, 1)
    hs.HessianOperator(m, "mse", (X32, Y32)).matvec(np.ones(13, dtype=np.float32))
    return None


def _fit_many_width() -> Any:
    return many.fit_many([model(), model()], X()[:, :1], Y(), eta=0.1, epochs=1)


def _hop_width() -> Any:
    return hs.HessianOperator(model(), "mse", (np.hstack([X(), X()]), Y()))


def _div(loss: str, eta: float = 1e4) -> Callable[[], Any]:
    def run() -> Any:
        y = LABELS() if loss == "cross_entropy" else LABELS()[:, None].astype(float)
        m = model(2 if loss == "cross_entropy" else 1)
        return train.fit(m, X() * 10, y, loss=loss, eta=eta, epochs=20, batch_size=1)

    return run


def _div_many(loss: str) -> Callable[[], Any]:
    def run() -> Any:
        y = LABELS() if loss == "cross_entropy" else LABELS()[:, None].astype(float)
        k = 2 if loss == "cross_entropy" else 1
        return many.fit_many(
            [model(k), model(k)], X() * 10, y, loss=loss, eta=1e4, epochs=20, batch_size=1
        )

    return run


def _value_error(fn: Callable[[], Any]) -> Callable[[], str | None]:
    """Must raise a clear error (judged by names); returning at all is the fault."""

    def run() -> str | None:
        out = fn()
        return f"accepted silently, returned {type(out).__name__}"

    return run


CHECKS: list[Check] = [
    # widths
    Check(
        A,
        "train.fit X width 3 into a 2-input model",
        _value_error(lambda: _fit(X=np.hstack([X(), X()[:, :1]]))),
        ("X",),
    ),
    Check(
        A,
        "train.evaluate X width 1",
        _value_error(lambda: train.evaluate(model(), X()[:, :1], Y())),
        ("X",),
    ),
    Check(
        A,
        "train.predict X width 1",
        _value_error(lambda: train.predict(model(), X()[:, :1])),
        ("X",),
    ),
    Check(
        A,
        "train.predict_classes X width 1",
        _value_error(lambda: train.predict_classes(model(2), X()[:, :1])),
        ("X",),
    ),
    Check(A, "many.fit_many X width 1", _value_error(_fit_many_width), ("X",)),
    Check(B, "HessianOperator data X width 4", _value_error(_hop_width), ("data", "X")),
    Check(
        A,
        "train.fit X_val width 1",
        _value_error(lambda: _fit(X_val=X()[:, :1], y_val=Y())),
        ("X_val",),
    ),
    # divergence
    Check(A, "train.fit cross_entropy eta=1e4 divergence", _diverges(_div("cross_entropy"))),
    Check(A, "train.fit bce eta=1e4 divergence", _diverges(_div("bce"))),
    Check(
        A, "many.fit_many cross_entropy eta=1e4 divergence", _diverges(_div_many("cross_entropy"))
    ),
    Check(A, "many.fit_many bce eta=1e4 divergence", _diverges(_div_many("bce"))),
    Check(
        A, "scratch.fit on_divergence='stop' keeps no diverged row", _scratch_stop_keeps_diverged
    ),
    Check(A, "SDLM in a user loop leaves no NaN weights", _sdlm_user_loop),
    # broadcasting
    Check(A, "train.mse_loss((4,1), (4,)) does not broadcast", _mse_broadcast, ("target",)),
    Check(
        A, "scratch.loss_value((4,1), (4,)) does not broadcast", _scratch_broadcast("value"), ("T",)
    ),
    Check(
        A, "scratch.loss_delta((4,1), (4,)) does not broadcast", _scratch_broadcast("delta"), ("T",)
    ),
    # odd models and callables into fit
    Check(A, "train.fit all parameters frozen", _value_error(_frozen_params), ("model",)),
    Check(
        A,
        "train.fit non-scalar callable loss",
        _value_error(lambda: _fit(loss=lambda o, t: (o - t) ** 2)),
        ("loss",),
    ),
    Check(
        A,
        "train.fit tuple-returning model",
        _value_error(lambda: _fit(model=_TupleModel())),
        ("model",),
    ),
    Check(
        A,
        "train.fit optimizer factory ignoring its params",
        _value_error(lambda: _fit(optimizer=_ignoring_factory)),
        ("optimizer",),
    ),
    Check(A, "train.fit leaves a user's X.grad alone", _x_grad_untouched),
    # NaN weights
    Check(
        A,
        "train.evaluate on a model with a NaN weight",
        _no_silent_nonfinite(lambda: train.evaluate(_nan_weight(model()), X(), Y())),
        ("model",),
    ),
    Check(
        A,
        "train.predict on a model with a NaN weight",
        _no_silent_nonfinite(lambda: train.predict(_nan_weight(model()), X())),
        ("model",),
    ),
    Check(
        A,
        "nn.layer_stats on a model with a NaN weight",
        _no_silent_nonfinite(lambda: enn.layer_stats(_nan_weight(model()), X())),
        ("model",),
    ),
    # hessian odd cases
    Check(B, "HessianOperator.pattern_gradient(-1)", _value_error(_pattern_grad_negative), ("p",)),
    Check(B, "HessianOperator with data=[] (no batches)", _value_error(_empty_batches), ("data",)),
    Check(
        B,
        "HessianOperator with an empty batch (0 rows)",
        _value_error(lambda: hs.HessianOperator(model(), "mse", (X()[:0], Y()[:0]))),
        ("data",),
    ),
    Check(
        B,
        "HessianOperator.from_function with a NaN-returning fn",
        _value_error(
            lambda: hs.HessianOperator.from_function(lambda w: (w**2).sum() * torch.nan, np.ones(2))
        ),
        ("fn",),
    ),
    Check(
        B,
        "power_method on a NaN-returning function",
        _no_silent_nonfinite(_nan_fn_power),
        ("fn", "op"),
    ),
    Check(
        B,
        "power_method on a function whose Hessian products are NaN",
        _no_silent_nonfinite(_nan_product_power),
        ("fn", "op"),
    ),
    Check(B, "lanczos_eigs on a 2x2 operator", _lanczos_2x2),
    # empty batches into the trainers
    Check(
        A, "train.fit on empty X and y", _value_error(lambda: _fit(X=X()[:0], y=Y()[:0])), ("X",)
    ),
    Check(
        A,
        "many.fit_many on empty X and y",
        _value_error(lambda: _fit_many(X=X()[:0], y=Y()[:0])),
        ("X",),
    ),
    Check(
        A, "scratch.fit on empty X and T", _value_error(lambda: _sfit(X=X()[:0], T=Y()[:0])), ("X",)
    ),
    # extreme finite inputs (x 1e200) into preprocess
    Check(OWN, "preprocess.covariance(X * 1e200)", _extreme(pp.covariance), ("X",)),
    Check(
        OWN,
        "preprocess.covariance(X * 1e200, center=True, bias=True)",
        _extreme(lambda a: pp.covariance(a, center=True, bias=True)),
        ("X",),
    ),
    Check(
        OWN,
        "preprocess.covariance_eigenvalues(X * 1e200)",
        _extreme(pp.covariance_eigenvalues),
        ("X",),
    ),
    Check(OWN, "preprocess.condition_number(X * 1e200)", _extreme(pp.condition_number), ("X",)),
    *[
        Check(
            OWN,
            f"preprocess.{cls.__name__} round trip at X * 1e200",
            _extreme_roundtrip(cls),
            ("X",),
        )
        for cls in (pp.Center, pp.Standardize, pp.PCADecorrelate, pp.PCAWhiten, pp.ZCAWhiten)
    ],
    Check(
        OWN,
        "preprocess.Standardizer.fit(X * 1e200)",
        _extreme(lambda a: pp.Standardizer.fit(a).transform(a)),
        ("X",),
    ),
    # overflow in the data helpers and schedules
    Check(
        OWN,
        "data.quadratic_bowl(low=-1e200, high=1e200)",
        _no_silent_nonfinite(lambda: data.quadratic_bowl(10, low=-1e200, high=1e200)),
        ("low", "high"),
    ),
    Check(
        OWN,
        "data.scale_columns(X * 1e10, 1e300)",
        _no_silent_nonfinite(lambda: data.scale_columns(X() * 1e10, 1e300)),
        ("X", "scales"),
    ),
    Check(
        OWN,
        "data.add_offset(X * 1e308, 1e308)",
        _no_silent_nonfinite(lambda: data.add_offset(np.abs(X()) / 3 * 1e308, 1e308)),
        ("X", "c"),
    ),
    Check(
        OWN,
        "data.correlate(X * 1e308, 0.9)",
        _no_silent_nonfinite(lambda: data.correlate(np.abs(X()) / 3 * 1.7e308, 0.9)),
        ("X", "rho"),
    ),
    Check(
        OWN,
        "schedules.InverseTime(0.1, 10)(10**400)",
        _value_error(lambda: sched.InverseTime(0.1, 10.0)(10**400)),
        ("t",),
    ),
    Check(
        OWN,
        "schedules.InverseTime(1e-300, 1e-300)(2**62) underflows to 0",
        _no_silent_nonfinite(lambda: sched.InverseTime(1e-300, 1e-300)(2**62) or math.nan),
        ("t",),
    ),
    # valid unusual input that must be accepted
    Check(B, "eta_from_lambda_max(method='lanczos') on a 2-weight model", _eta_lanczos_2),
    Check(A, "RBF model through fit / evaluate / layer_stats", _rbf_fit_evaluate_stats),
    Check(A, "float32 data and models throughout", _float32_everything),
]


# ---------------------------------------------------------------------------------------------
# Known unclear cases, in modules another change is fixing: id -> reason (strict xfail in pytest)
# ---------------------------------------------------------------------------------------------

KNOWN: dict[str, str] = {}

# ---------------------------------------------------------------------------------------------
# Judging
# ---------------------------------------------------------------------------------------------

CLEAR_TYPES = (TypeError, ValueError)


def names_in(message: str, names: tuple[str, ...]) -> bool:
    """Does ``message`` mention one of ``names`` as a word (``X`` but not ``X_val``)?"""
    return any(
        re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])", message) for n in names
    )


NONFINITE_WORDS = re.compile(r"not finite|non-finite|\bnan\b|\binf|overflow|diverg", re.IGNORECASE)
"""What a FloatingPointError's message must say to count as a clear statement of a non-finite
result."""


def judge_error(
    err: BaseException, names: tuple[str, ...], *, nonfinite: bool = False
) -> str | None:
    """``None`` if ``err`` is a clear error naming one of ``names``, else why it is not.

    ``nonfinite``: the check's point is a non-finite result; then a ``FloatingPointError``
    (``DivergenceError`` included) whose message says the result is not finite is clear too.
    Never for a bad-argument case.
    """
    if nonfinite and isinstance(err, FloatingPointError) and NONFINITE_WORDS.search(str(err)):
        return None
    if not isinstance(err, CLEAR_TYPES):
        return f"{type(err).__name__}: {str(err)[:200]}"
    if not names_in(str(err), names):
        return f"{type(err).__name__} without the name {names[0]!r}: {str(err)[:200]}"
    return None


def run_case(case: Case, label: str, make: Make) -> str | None:
    """Run one bad call; ``None`` if it got a clear error, else a description of the fault."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = case.call(make)
        except Exception as err:  # every exception is judged
            return judge_error(err, case.spellings())
    what = "a non-finite result" if not _finite(out) else f"{type(out).__name__}"
    return f"accepted silently, returned {what}"


def run_check(check: Check) -> str | None:
    """Run one scenario; ``None`` if it behaved."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return check.run()
        except Exception as err:  # every exception is judged
            if not check.names:
                return f"valid input refused: {type(err).__name__}: {str(err)[:200]}"
            return judge_error(err, check.names, nonfinite=check.about_nonfinite)


def case_params() -> list[tuple[str, Case, str, Make]]:
    """Every (id, case, bad label, make) of the table."""
    out = []
    for case in CASES:
        for label, make in KINDS[case.kind]:
            if label in case.skip:
                continue
            out.append((f"{case.func}:{case.arg}={label}", case, label, make))
    return out
