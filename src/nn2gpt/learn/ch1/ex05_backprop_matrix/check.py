"""05_backprop_matrix: its check (`nn2gpt learn check backprop_matrix`) and its trace example
(`nn2gpt learn trace backprop_matrix`).
"""

from __future__ import annotations

from nn2gpt.learn.ch1.common import SHAPES, book_network, check_against_finite_differences, check_gradients, seeded
from nn2gpt.learn.ch1.network import assemble
from nn2gpt.learn.checking import need, untouched
from nn2gpt.learn.example_data import digits


def check(module) -> None:
    bpm = need(module, "backprop_matrix", "backprop_matrix(self, X, Y)")
    for seed, (sizes, m) in enumerate([(SHAPES[0], 10), (SHAPES[1], 3), (SHAPES[1], 1), (SHAPES[2], 7)]):
        net = assemble(backprop_matrix=bpm)(sizes, seed=seed)
        X, Y = seeded(sizes, m, seed)
        check_gradients(untouched(bpm, "backprop_matrix", "self, X, Y", net, X.copy(), Y.copy()), net, X, Y,
                        f"backprop_matrix(X, Y) with m = {m}")
    check_against_finite_differences(bpm, "backprop_matrix", 4)


def example():
    X, Y, _ = digits(10)

    def call(module):
        fn = need(module, "backprop_matrix", "backprop_matrix(self, X, Y)")
        book_network(backprop_matrix=fn).backprop_matrix(X.copy(), Y.copy())
    return "backprop_matrix(self, X, Y): MNIST's first 10 test digits as X (784, 10), Y (10, 10)", call
