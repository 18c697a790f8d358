"""ebp: the computations behind *Efficient BackProp, executable*.

Every figure and number in the book is produced by this package.  The modules follow the
book's data flow: ``data`` -> ``preprocess`` -> ``nn``/``losses`` -> ``hessian`` -> ``optim`` ->
``train``/``many`` -> ``landscape``/``second_order`` -> ``experiments`` -> ``plots``
(``tests/test_imports.py`` checks that no import goes round in a circle).
"""

from ebp.repro import seed_everything

__all__ = ["seed_everything"]
__version__ = "0.1.0"
