"""Chapter 1's examples for `nn2gpt learn trace`: MNIST digits through the book's 784-30-10 network.

Each builder returns (what the example is, a function of the learner's module that runs it). The
network is the book's, N(0, 1) weights from seed 0, its methods the reference's except the one
traced (nn2gpt.learn.ch1.network.assemble), so `self.backprop` inside update_mini_batch is right.
"""

from __future__ import annotations

import numpy as np

from nn2gpt.learn.ch1.network import assemble
from nn2gpt.learn.checking import need
from nn2gpt.learn.example_data import digits

SIZES = [784, 30, 10]


def _digit():
    x, y, labels = digits(1)
    return x, y, f"MNIST test digit 0 (a {labels[0]}) as x (784, 1)"


def _net(**methods):
    return assemble(**methods)(SIZES, seed=0)


def sigmoid():
    x, _, what = _digit()
    net = _net()
    z = np.dot(net.weights[0], x) + net.biases[0]                  # the first layer's z^1 (30, 1)

    def call(module):
        sig, prime = need(module, "sigmoid", "sigmoid(z)"), need(module, "sigmoid_prime", "sigmoid_prime(z)")
        sig(z.copy())
        prime(z.copy())
    return f"sigmoid(z), sigmoid_prime(z) for z = w^1 x + b^1 (30, 1) of {what}", call


def feedforward():
    x, _, what = _digit()

    def call(module):
        fn = need(module, "feedforward", "feedforward(self, a)")
        _net(feedforward=fn).feedforward(x.copy())
    return f"feedforward(self, a) with {what}, the book's 784-30-10 network", call


def backprop():
    x, y, what = _digit()

    def call(module):
        fn = need(module, "backprop", "backprop(self, x, y)")
        _net(backprop=fn).backprop(x.copy(), y.copy())
    return f"backprop(self, x, y) with {what} and its one-hot y (10, 1), the 784-30-10 network", call


def update_mini_batch():
    X, Y, _ = digits(10)
    batch = [(X[:, [i]], Y[:, [i]]) for i in range(10)]

    def call(module):
        fn = need(module, "update_mini_batch", "update_mini_batch(self, mini_batch, eta)")
        _net(update_mini_batch=fn).update_mini_batch([(x.copy(), y.copy()) for x, y in batch], 3.0)
    return "update_mini_batch(self, mini_batch, eta=3.0): MNIST's first 10 test digits, the 784-30-10 network", call


def backprop_matrix():
    X, Y, _ = digits(10)

    def call(module):
        fn = need(module, "backprop_matrix", "backprop_matrix(self, X, Y)")
        _net(backprop_matrix=fn).backprop_matrix(X.copy(), Y.copy())
    return "backprop_matrix(self, X, Y): MNIST's first 10 test digits as X (784, 10), Y (10, 10)", call


def cross_entropy():
    x, y, what = _digit()
    net = _net()
    hidden = _sigma(np.dot(net.weights[0], x) + net.biases[0])      # a^1 (30, 1)
    z = np.dot(net.weights[1], hidden) + net.biases[1]              # z^2 (10, 1)
    a = _sigma(z)

    def call(module):
        cost = need(module, "CrossEntropyCost", "class CrossEntropyCost")
        cost.fn(a.copy(), y.copy())
        cost.delta(z.copy(), a.copy(), y.copy())
    return f"CrossEntropyCost.fn(a, y) and .delta(z, a, y): the network's output (10, 1) for {what}", call


def _sigma(z):
    return 1.0 / (1.0 + np.exp(-z))


EXAMPLES = {"sigmoid": sigmoid, "feedforward": feedforward, "backprop": backprop,
            "update_mini_batch": update_mini_batch, "backprop_matrix": backprop_matrix,
            "cross_entropy": cross_entropy}
