"""The book's forward pass (Nielsen, network.py)."""

import numpy as np

from nn2gpt.learn.ch1 import sigmoid


def feedforward(self, a):
    """a (784, 1) -> the output activations (10, 1); works on (784, m) as well."""
    for b, w in zip(self.biases, self.weights):
        a = sigmoid(np.dot(w, a) + b)
    return a
