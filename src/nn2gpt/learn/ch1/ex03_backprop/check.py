"""03_backprop: its check (`nn2gpt learn check backprop`) and its trace example (`nn2gpt learn trace backprop`)."""

from __future__ import annotations

import copy

from nn2gpt.learn.ch1.common import (SHAPES, book_network, check_against_finite_differences, check_gradients,
                                     first_digit, seeded)
from nn2gpt.learn.ch1.network import assemble
from nn2gpt.learn.checking import CheckFailed, close, need, untouched


def check(module) -> None:
    bp = need(module, "backprop", "backprop(self, x, y)")
    for seed, sizes in enumerate(SHAPES):
        net = assemble(backprop=bp)(sizes, seed=seed)
        before = copy.deepcopy((net.weights, net.biases))
        x, y = seeded(sizes, 1, seed)
        result = untouched(bp, "backprop", "self, x, y", net, x.copy(), y.copy())
        if not all(close(a, b) for a, b in zip([*net.weights, *net.biases], [*before[0], *before[1]])):
            raise CheckFailed("backprop changed self.weights or self.biases: it only computes the gradients; "
                              "update_mini_batch steps the weights")
        check_gradients(result, net, x, y, "backprop(x, y)")
    check_against_finite_differences(bp, "backprop", 1)


def example():
    x, y, what = first_digit()

    def call(module):
        fn = need(module, "backprop", "backprop(self, x, y)")
        book_network(backprop=fn).backprop(x.copy(), y.copy())
    return f"backprop(self, x, y) with {what} and its one-hot y (10, 1), the 784-30-10 network", call
