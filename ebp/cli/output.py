"""What a run of ``python -m ebp run`` leaves behind: PNG figures and a JSON of its numbers.

The JSON holds the experiment's numbers and the provenance of the run (the versions of ``ebp``,
Python, NumPy and PyTorch, the seeds and the ``--quick`` flag) and nothing that changes from one
run to the next (no date, no path), so two runs of the same code give the same file.  It is
strict JSON: NumPy values become Python numbers and lists, and NaN or infinities become ``null``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

import ebp
from ebp.plots.style import save_figure

__all__: list[str] = []  # internal: used by ebp.cli.main


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: dicts with string keys, lists, numbers, strings, ``None``.

    NumPy arrays and scalars and 0-d tensors become lists and numbers, tuples become lists,
    dataclasses become dicts, and NaN or ±inf become ``None``.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, torch.Tensor):
        return jsonable(value.detach().cpu().numpy())
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    raise TypeError(f"cannot write a {type(value).__name__} to JSON: {value!r:.60}")


def provenance(name: str, chapter: str, *, seeds: int | None, quick: bool) -> dict[str, Any]:
    """What produced the numbers: the experiment, its settings and the versions used."""
    return {
        "experiment": name,
        "chapter": chapter,
        "seeds": seeds,
        "quick": quick,
        "ebp_version": ebp.__version__,
        "python_version": platform.python_version(),
        "numpy_version": np.__version__,
        "torch_version": torch.__version__,
    }


def write_results(
    out: Path,
    name: str,
    numbers: Mapping[str, Any],
    figures: Mapping[str, Figure],
    meta: Mapping[str, Any],
) -> list[Path]:
    """Write ``<name>.json`` and one ``<figure>.png`` per figure into ``out``; return the paths.

    The figures are saved by :func:`ebp.plots.style.save_figure` (no timestamps, no version
    strings: the same drawing gives the same bytes) and closed.
    """
    out.mkdir(parents=True, exist_ok=True)
    written = []
    try:
        for key, fig in figures.items():
            written.append(save_figure(fig, out / f"{key}.png"))
    finally:
        for fig in figures.values():
            plt.close(fig)
    document = {
        "provenance": {**meta, "figures": [p.name for p in written]},
        "numbers": jsonable(numbers),
    }
    text = json.dumps(document, indent=2, allow_nan=False) + "\n"
    path = out / f"{name}.json"
    path.write_text(text, encoding="utf-8")
    return [*written, path]
