"""The book's `Network`, its methods assembled from pieces: the learner's or the reference's.

network.py's Network keeps four attributes and has a handful of methods. Here the class holds
the attributes and `cost_derivative` (the quadratic cost's a - y); `assemble` adds the methods,
each one either the learner's (from their workbook file) or the reference's (the solution), so
a check can test one method with every other one known to be right.
"""

from __future__ import annotations

import functools

import numpy as np

from nn2gpt.learn.loading import load_file, pick

METHODS = ("feedforward", "backprop", "update_mini_batch", "backprop_matrix")


class Network:
    """sizes [784, 30, 10]; weights and biases N(0, 1) from `seed`, as in the book's chapter 1."""

    def __init__(self, sizes, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.num_layers = len(sizes)
        self.sizes = list(sizes)
        self.biases = [rng.standard_normal((y, 1)) for y in sizes[1:]]
        self.weights = [rng.standard_normal((y, x)) for x, y in zip(sizes[:-1], sizes[1:])]

    def cost_derivative(self, output_activations, y):
        """dC/da for the quadratic cost C = 1/2 ||a - y||^2: a - y."""
        return output_activations - y


@functools.lru_cache(maxsize=None)
def reference(name: str):
    """The reference version of a method or function (from the exercise's solution file)."""
    from nn2gpt.learn.registry import find

    owner = {"sigmoid_prime": "sigmoid", "CrossEntropyCost": "cross_entropy"}.get(name, name)
    return pick(load_file(find(owner).solution, f"nn2gpt_learn_solution_{owner}"), name)


def assemble(**methods) -> type:
    """A Network class whose methods are the given ones and the reference's for the rest."""
    body = {m: methods.get(m) or reference(m) for m in METHODS}
    return type("Network", (Network,), body)
