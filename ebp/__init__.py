"""ebp: the computations behind *Efficient BackProp, executable*.

Every figure and number in the book is produced by this package.  The modules follow the
book's data flow: ``data`` -> ``preprocess`` -> ``nn``/``losses`` -> ``hessian`` -> ``optim`` ->
``train``/``many`` -> ``landscape``/``second_order`` -> ``experiments`` -> ``plots``
(``tests/test_imports.py`` checks that no import goes round in a circle).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["seed_everything"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # ``ebp.seed_everything`` is loaded on first use: importing ``ebp`` alone (as ``python -m
    # ebp --help`` does) must not pay for importing PyTorch.
    if name == "seed_everything":
        return importlib.import_module("ebp.repro").seed_everything
    raise AttributeError(f"module 'ebp' has no attribute {name!r}")
