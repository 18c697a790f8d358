"""ebp.data.digits reads the images once; what it returns is the caller's own copy."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from ebp import data


def test_digits_equal_a_fresh_read_and_are_the_callers_to_change():
    bunch = load_digits()
    first = data.digits(n_train=300, n_val=100, seed=2)
    np.testing.assert_array_equal(data._digits_arrays()[0], bunch.data / 16.0)
    np.testing.assert_array_equal(data._digits_arrays()[1], bunch.target)
    for name in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
        part = getattr(first, name)
        assert part.flags.writeable
        part[...] = 0  # the next call must not see this
    again = data.digits(n_train=300, n_val=100, seed=2)
    assert again.X_train.std() > 0 and again.y_test.max() == 9
    X_all, y_all = data._digits_arrays()
    assert not X_all.flags.writeable and not y_all.flags.writeable
