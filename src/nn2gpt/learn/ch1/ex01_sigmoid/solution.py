"""The book's sigmoid and its derivative (Nielsen, network.py)."""

import numpy as np


def sigmoid(z):
    """sigma(z) elementwise; same shape as z."""
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    """sigma'(z) = sigma(z) (1 - sigma(z)) elementwise; same shape as z."""
    return sigmoid(z) * (1 - sigmoid(z))
