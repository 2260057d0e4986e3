"""Exercise 1: the sigmoid neuron and its derivative.

A sigmoid neuron with weights w, bias b and input a outputs sigma(z), where z = w . a + b and

    sigma(z) = 1 / (1 + e^(-z))

It squashes any z into (0, 1): sigma(0) = 1/2, sigma(z) -> 1 as z -> +inf, -> 0 as z -> -inf.
Backpropagation needs its slope, which has a tidy form in terms of sigma itself:

    sigma'(z) = e^(-z) / (1 + e^(-z))^2 = sigma(z) (1 - sigma(z))

Both work elementwise: z may be a number, a column (30, 1), or a matrix (30, m) with one column
per example, and the result has exactly the shape of z. Use numpy (np.exp works on arrays).

Write `sigmoid(z)` and `sigmoid_prime(z)` below, then run `nn2gpt learn check sigmoid`.
"""

import numpy as np


def sigmoid(z):
    """sigma(z) elementwise; same shape as z."""
    raise NotImplementedError("write sigmoid(z)")


def sigmoid_prime(z):
    """sigma'(z) = sigma(z) (1 - sigma(z)) elementwise; same shape as z."""
    raise NotImplementedError("write sigmoid_prime(z)")
