"""The book's cross-entropy cost (Nielsen, network2.py)."""

import numpy as np


class CrossEntropyCost:

    @staticmethod
    def fn(a, y):
        """The cross-entropy of outputs a and targets y, both (10, 1): a number."""
        return np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))

    @staticmethod
    def delta(z, a, y):
        """The output error dC/dz^L, (10, 1)."""
        return (a - y)
