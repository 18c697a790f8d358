"""Private validation helpers shared by every ``ebp`` module.

Each helper either returns a cleaned value or raises a ``TypeError`` (wrong kind of thing) or
``ValueError`` (right kind, bad value) whose message starts with the argument's name and says what
was expected, e.g. ``"eta must be > 0; got -0.1"``.  Booleans are never accepted where numbers are
expected (``True`` is an ``int`` in Python, but passing it as a learning rate is always a mistake).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import numpy as np
import torch

__all__ = [
    "as_float_array",
    "as_tensor",
    "check_choice",
    "check_float_dtype",
    "check_in_range",
    "check_instance",
    "check_int",
    "check_positive",
    "check_probability",
    "check_sizes",
    "describe",
    "real_array",
]


def describe(value: Any) -> str:
    """A short description of ``value`` for error messages (its repr, or its type if long)."""
    text = repr(value)
    if len(text) > 60:
        shape = getattr(value, "shape", None)
        suffix = f" of shape {tuple(shape)}" if shape is not None else ""
        return f"{type(value).__name__}{suffix}"
    return text


def _is_real_number(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return False
    return isinstance(value, numbers.Real)


def _finite_float(value: Any, name: str) -> float:
    """``value`` as a ``float`` if it is a finite real number (not a bool, array or tensor)."""
    if not _is_real_number(value):
        raise TypeError(
            f"{name} must be a real number; got {type(value).__name__} {describe(value)}"
        )
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    return value


def check_int(
    value: Any,
    name: str,
    *,
    min_value: int | None = None,
    max_value: int | None = None,
) -> int:
    """Return ``value`` as an ``int``; reject bools, floats and values outside the bounds.

    Parameters
    ----------
    value
        The candidate integer (Python ``int`` or NumPy integer).
    name
        The argument's name, used in the error message.
    min_value, max_value
        Inclusive bounds; ``None`` for unbounded.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int; got {type(value).__name__} {describe(value)}")
    value = int(value)
    if min_value is not None and value < min_value:
        raise ValueError(f"{name} must be >= {min_value}; got {value}")
    if max_value is not None and value > max_value:
        raise ValueError(f"{name} must be <= {max_value}; got {value}")
    return value


def check_positive(
    value: Any,
    name: str,
    *,
    integer: bool = False,
    allow_zero: bool = False,
) -> float | int:
    """Return ``value`` if it is a finite number > 0 (or >= 0 with ``allow_zero``).

    Parameters
    ----------
    value
        The candidate number.
    name
        The argument's name, used in the error message.
    integer
        Require an integer (and return an ``int``).
    allow_zero
        Accept 0.
    """
    if integer:
        value = check_int(value, name)
    else:
        value = _finite_float(value, name)
    if allow_zero and value < 0:
        raise ValueError(f"{name} must be >= 0; got {value}")
    if not allow_zero and value <= 0:
        raise ValueError(f"{name} must be > 0; got {value}")
    return value


def check_in_range(
    value: Any,
    name: str,
    low: float | None = None,
    high: float | None = None,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Return ``value`` as a finite ``float`` lying in the interval from ``low`` to ``high``.

    Parameters
    ----------
    value
        The candidate number.
    name
        The argument's name, used in the error message.
    low, high
        The bounds (``None`` for unbounded).
    low_inclusive, high_inclusive
        Whether each bound belongs to the interval.
    """
    value = _finite_float(value, name)
    lo_ok = low is None or (value >= low if low_inclusive else value > low)
    hi_ok = high is None or (value <= high if high_inclusive else value < high)
    if not (lo_ok and hi_ok):
        left = "(-inf" if low is None else ("[" if low_inclusive else "(") + f"{low:g}"
        right = "inf)" if high is None else f"{high:g}" + ("]" if high_inclusive else ")")
        raise ValueError(f"{name} must be in {left}, {right}; got {value:g}")
    return value


def check_probability(value: Any, name: str, *, open_interval: bool = False) -> float:
    """Return ``value`` if it lies in [0, 1] (or (0, 1) with ``open_interval``)."""
    return check_in_range(
        value, name, 0.0, 1.0, low_inclusive=not open_interval, high_inclusive=not open_interval
    )


def check_instance(obj: Any, cls: type, name: str) -> None:
    """Raise ``TypeError`` unless ``obj`` is an instance of ``cls`` (named with its module).

    For example, ``check_instance(3, LabResult, "result")`` raises
    ``"result must be an ebp.experiments.lab_stuck_backprop.LabResult; got int"``.
    """
    if not isinstance(obj, cls):
        raise TypeError(
            f"{name} must be an {cls.__module__}.{cls.__name__}; got {type(obj).__name__}"
        )


def check_choice(value: Any, name: str, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices`` (strings), else raise naming the options.

    Examples
    --------
    >>> check_choice("sigmoidd", "activation", ["tanh", "relu"])
    Traceback (most recent call last):
    ...
    ValueError: activation must be one of 'relu', 'tanh'; got 'sigmoidd'
    """
    if not isinstance(choices, Collection):
        choices = tuple(choices)
    if isinstance(value, str) and value in choices:
        return value  # the common case, on hot paths: no message to build
    listed = ", ".join(repr(c) for c in sorted(choices))
    if not isinstance(value, str):
        raise TypeError(
            f"{name} must be a string, one of {listed}; got {type(value).__name__} "
            f"{describe(value)}"
        )
    raise ValueError(f"{name} must be one of {listed}; got {value!r}")


def check_float_dtype(dtype: Any, name: str = "dtype") -> torch.dtype:
    """Return ``dtype`` if it is a floating ``torch.dtype``, else raise ``TypeError``."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(
            f"{name} must be a floating torch dtype such as torch.float32; got {dtype!r}"
        )
    return dtype


def check_sizes(sizes: Any, name: str = "sizes", *, min_len: int = 2) -> tuple[int, ...]:
    """Return layer widths ``sizes`` as a tuple of positive ints (at least ``min_len`` of them)."""
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, (Sequence, np.ndarray)):
        raise TypeError(
            f"{name} must be a sequence of positive ints such as (2, 3, 1); got "
            f"{type(sizes).__name__} {describe(sizes)}"
        )
    if len(sizes) < min_len:
        raise ValueError(
            f"{name} must have at least {min_len} entries (input and output widths); "
            f"got {describe(sizes)}"
        )
    return tuple(check_positive(s, f"{name}[{i}]", integer=True) for i, s in enumerate(sizes))


def _check_shape(shape: tuple[int, ...], name: str, ndim: int | None, expected: Any) -> None:
    if ndim is not None and len(shape) != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional; got shape {shape}")
    if expected is not None:
        expected = tuple(expected)
        ok = len(shape) == len(expected) and all(
            e is None or e == s for e, s in zip(expected, shape, strict=True)
        )
        if not ok:
            parts = ["any" if e is None else str(e) for e in expected]
            want = "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
            raise ValueError(f"{name} must have shape {want}; got shape {shape}")


def real_array(x: Any, name: str) -> np.ndarray:
    """``x`` as a NumPy array of real numbers (integers or floats that PyTorch can hold).

    Refuses, naming ``name``: strings, ``None``, ragged nested lists, booleans, complex and
    object arrays, and extended-precision floats (``np.longdouble``), which neither PyTorch nor
    BLAS supports.
    """
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be an array of numbers; got {type(x).__name__}")
    try:
        raw = np.asarray(x)
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"{name} must be a rectangular array of numbers (every row the same length); "
            f"got {type(x).__name__} that NumPy cannot convert ({err})"
        ) from None
    if raw.dtype == np.bool_ or raw.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an array of real numbers; got dtype {raw.dtype}")
    if raw.dtype.kind == "f" and raw.dtype.itemsize > 8:
        raise TypeError(
            f"{name} must be float16, float32 or float64; got dtype {raw.dtype} (extended "
            "precision is not supported by PyTorch; convert with .astype(np.float64))"
        )
    return raw


def as_float_array(
    x: Any,
    name: str,
    *,
    ndim: int | None = None,
    shape: Sequence[int | None] | None = None,
    finite: bool = True,
    dtype: Any = np.float64,
) -> np.ndarray:
    """Convert ``x`` to a floating NumPy array and check its shape and values.

    Parameters
    ----------
    x
        Array-like (lists, NumPy arrays, CPU or CUDA tensors).
    name
        The argument's name, used in the error message.
    ndim
        Required number of dimensions.
    shape
        Required shape; ``None`` entries match any length.
    finite
        Reject NaN and infinities.
    dtype
        The floating dtype of the result.

    Returns
    -------
    numpy.ndarray
        A new or existing array of dtype ``dtype``.
    """
    arr = real_array(x, name).astype(dtype, copy=False)
    _check_shape(arr.shape, name, ndim, shape)
    if finite and not np.all(np.isfinite(arr)):
        n_bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} must be finite; it contains {n_bad} NaN or Inf value(s)")
    return arr


def as_tensor(
    x: Any,
    name: str,
    *,
    ndim: int | None = None,
    shape: Sequence[int | None] | None = None,
    finite: bool = True,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Convert ``x`` to a floating torch tensor and check its shape and values.

    Parameters
    ----------
    x
        Tensor or array-like.
    name
        The argument's name, used in the error message.
    ndim, shape, finite
        As for :func:`as_float_array`.
    dtype
        Floating dtype of the result; default: keep a floating tensor's dtype, else ``float32``.
    device
        Device of the result; default: keep a tensor's device, else CPU.
    """
    if isinstance(x, torch.Tensor):
        t = x
    else:
        t = torch.as_tensor(real_array(x, name))
    if t.dtype == torch.bool or t.is_complex():
        raise TypeError(f"{name} must be a tensor of real numbers; got dtype {t.dtype}")
    if dtype is None:
        dtype = t.dtype if t.is_floating_point() else torch.float32
    elif not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch dtype; got {dtype}")
    t = t.to(dtype=dtype, device=device)
    _check_shape(tuple(t.shape), name, ndim, shape)
    if finite and not bool(torch.isfinite(t).all()):
        n_bad = int((~torch.isfinite(t)).sum())
        raise ValueError(f"{name} must be finite; it contains {n_bad} NaN or Inf value(s)")
    return t
