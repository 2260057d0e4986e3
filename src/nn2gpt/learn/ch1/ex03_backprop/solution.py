"""The book's backpropagation for one example (Nielsen, network.py)."""

import numpy as np

from nn2gpt.learn.ch1 import sigmoid, sigmoid_prime


def backprop(self, x, y):
    """Gradient of the cost of one example: x (784, 1), y (10, 1) -> (nabla_b, nabla_w),
    lists shaped like self.biases and self.weights."""
    nabla_b = [np.zeros(b.shape) for b in self.biases]
    nabla_w = [np.zeros(w.shape) for w in self.weights]
    activation = x
    activations = [x]                                   # a^0, a^1, ..., a^L
    zs = []                                             # z^1, ..., z^L
    for b, w in zip(self.biases, self.weights):
        z = np.dot(w, activation) + b
        zs.append(z)
        activation = sigmoid(z)
        activations.append(activation)
    delta = self.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1])   # BP1
    nabla_b[-1] = delta                                                         # BP3
    nabla_w[-1] = np.dot(delta, activations[-2].transpose())                   # BP4
    for l in range(2, self.num_layers):
        z = zs[-l]
        delta = np.dot(self.weights[-l + 1].transpose(), delta) * sigmoid_prime(z)  # BP2
        nabla_b[-l] = delta
        nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
    return (nabla_b, nabla_w)
