"""Exercise 2: the forward pass, `feedforward(self, a)`.

A `Network` (the book's network.py) keeps four attributes:

    self.sizes       [784, 30, 10]: neurons per layer, input first
    self.num_layers  len(sizes) = 3
    self.weights     [w^1 (30, 784), w^2 (10, 30)]: w^l[j, k] joins neuron k below to neuron j
    self.biases      [b^1 (30, 1),   b^2 (10, 1)]

(the lists start at 0: self.weights[0] is the first layer of weights, w^1). One layer maps
the activations below, a^{l-1} (n_{l-1}, 1), to

    z^l = w^l a^{l-1} + b^l       (n_l, n_{l-1}) @ (n_{l-1}, 1) + (n_l, 1) -> (n_l, 1)
    a^l = sigma(z^l)              (n_l, 1)

starting from the input a^0 = a (784, 1) and ending with the output a^L (10, 1). Every layer,
the output included, applies the sigmoid. Written with matrix products, the same code takes a
(784, m) matrix of m columns and returns (10, m): the bias (n_l, 1) broadcasts over columns.

Write `feedforward(self, a)` below (a function with `self` first: the check attaches it to a
Network). You may also paste the book's whole `class Network:` here; its feedforward is used.
"""

import numpy as np

from nn2gpt.learn.ch1 import sigmoid  # the reference sigmoid; yours from 01_sigmoid.py does the same


def feedforward(self, a):
    """a (784, 1) -> the output activations (10, 1); works on (784, m) as well."""
    raise NotImplementedError("write feedforward(self, a)")
