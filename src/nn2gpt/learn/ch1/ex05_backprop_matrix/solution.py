"""Backpropagation of a whole mini-batch at once (the book's chapter-2 exercise)."""

import numpy as np

from nn2gpt.learn.ch1 import sigmoid, sigmoid_prime


def backprop_matrix(self, X, Y):
    """X (784, m), Y (10, m) -> (nabla_b, nabla_w) summed over the m examples."""
    nabla_b = [None] * len(self.biases)
    nabla_w = [None] * len(self.weights)
    activations, zs = [X], []
    for b, w in zip(self.biases, self.weights):
        zs.append(np.dot(w, activations[-1]) + b)            # (n_l, m)
        activations.append(sigmoid(zs[-1]))
    delta = self.cost_derivative(activations[-1], Y) * sigmoid_prime(zs[-1])   # BP1 (10, m)
    for l in range(1, self.num_layers):
        if l > 1:
            delta = np.dot(self.weights[-l + 1].T, delta) * sigmoid_prime(zs[-l])  # BP2 (n_l, m)
        nabla_b[-l] = delta.sum(axis=1, keepdims=True)                             # BP3 (n_l, 1)
        nabla_w[-l] = np.dot(delta, activations[-l - 1].T)                         # BP4 (n_l, n_{l-1})
    return (nabla_b, nabla_w)
