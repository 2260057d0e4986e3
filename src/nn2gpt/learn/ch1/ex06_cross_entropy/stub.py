"""Exercise 6: the cross-entropy cost and its output error (the book's network2.py).

The quadratic cost's output error has a factor sigma'(z^L), which is ~0 when an output neuron
is saturated - so a neuron that is confidently WRONG learns slowly. The cross-entropy cost

    C = -sum_j [ y_j ln a_j + (1 - y_j) ln(1 - a_j) ]        a, y: (10, 1) -> a number

has dC/da_j = (a_j - y_j) / (a_j (1 - a_j)), and with a = sigma(z) that denominator is exactly
sigma'(z). BP1 multiplies them, so sigma' cancels:

    delta^L = dC/dz^L = a^L - y                                (10, 1)

Write the book's `CrossEntropyCost` with two static methods:
    fn(a, y)        the cost, a number. Where a_j equals y_j exactly (0 or 1), y ln a is 0 ln 0:
                    mathematically 0, in numpy nan - wrap the sum in np.nan_to_num.
    delta(z, a, y)  the output error delta^L; z is passed for the interface (the quadratic
                    cost needs it) but the cross-entropy's delta does not use it.
"""

import numpy as np


class CrossEntropyCost:

    @staticmethod
    def fn(a, y):
        """The cross-entropy of outputs a and targets y, both (10, 1): a number."""
        raise NotImplementedError("write CrossEntropyCost.fn(a, y)")

    @staticmethod
    def delta(z, a, y):
        """The output error dC/dz^L, (10, 1)."""
        raise NotImplementedError("write CrossEntropyCost.delta(z, a, y)")
