"""The backward pass of GELU's tanh approximation."""

import numpy as np


def gelu_backward(dy, x):
    """dy (N, D) the gradient of the output, x (N, D) the input -> dx (N, D)."""
    u = np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)
    t = np.tanh(u)
    du_dx = np.sqrt(2 / np.pi) * (1 + 3 * 0.044715 * x ** 2)
    return dy * (0.5 * (1 + t) + 0.5 * x * (1 - t ** 2) * du_dx)
