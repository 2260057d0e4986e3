"""04_update_mini_batch: its check (`nn2gpt learn check update_mini_batch`) and its trace example
(`nn2gpt learn trace update_mini_batch`).
"""

from __future__ import annotations

import copy

from nn2gpt.learn.ch1.common import SHAPES, book_network, same, seeded, variants
from nn2gpt.learn.ch1.network import assemble
from nn2gpt.learn.checking import CheckFailed, compare, expect_list, expect_numpy, need, untouched
from nn2gpt.learn.example_data import digits


def check(module) -> None:
    update = need(module, "update_mini_batch", "update_mini_batch(self, mini_batch, eta)")
    for seed, (sizes, m, eta) in enumerate([(SHAPES[1], 10, 3.0), (SHAPES[0], 10, 3.0), (SHAPES[1], 7, 0.5),
                                            (SHAPES[2], 1, 2.0)]):
        net = assemble(update_mini_batch=update)(sizes, seed=seed)
        X, Y = seeded(sizes, m, seed)
        batch = [(X[:, i:i + 1], Y[:, i:i + 1]) for i in range(m)]
        w0, b0 = copy.deepcopy(net.weights), copy.deepcopy(net.biases)
        (sb, sw), _ = variants(net, X, Y)                        # the summed gradients
        last = variants(net, X[:, -1:], Y[:, -1:])[0]
        untouched(update, "update_mini_batch", "self, mini_batch, eta", net, batch, eta)
        steps = [(eta / m, ""), (eta, f"the step is {m} times too large: divide by m = len(mini_batch)"),
                 (eta / m ** 2, f"the step is divided by m twice (m = {m})"),
                 (-eta / m, "the step goes uphill: w - (eta/m) nabla_w, with a minus"),
                 (eta / 10, f"the step is divided by 10, not by len(mini_batch) = {m}")]
        got = expect_list(net.weights, "self.weights", len(w0), "the weights before"), \
            expect_list(net.biases, "self.biases", len(b0), "the biases before")
        for l in range(len(w0)):
            expect_numpy(got[0][l], f"self.weights[{l}] after the step", w0[l].shape)
            expect_numpy(got[1][l], f"self.biases[{l}] after the step", b0[l].shape)
        if same(got, (w0, b0)):
            raise CheckFailed("self.weights and self.biases did not change: assign the stepped lists to "
                              "self.weights and self.biases (or update them in place)")
        for scale, message in steps:
            if same(got, ([w - scale * g for w, g in zip(w0, sw)], [b - scale * g for b, g in zip(b0, sb)])):
                if not message:
                    break
                raise CheckFailed(f"update_mini_batch with eta = {eta}: {message}")
        else:
            if m > 1 and same(got, ([w - eta / m * g for w, g in zip(w0, last[1])],
                                    [b - eta / m * g for b, g in zip(b0, last[0])])):
                raise CheckFailed("only the last example's gradient was used: add every example's backprop into "
                                  "nabla_b and nabla_w (nabla_w = [nw + dnw ...]), then step")
            for l in range(len(w0)):
                compare(got[0][l], w0[l] - eta / m * sw[l], f"self.weights[{l}]",
                        context=f" after one step (sizes {sizes}, m = {m}, eta = {eta})")
                compare(got[1][l], b0[l] - eta / m * sb[l], f"self.biases[{l}]",
                        context=f" after one step (sizes {sizes}, m = {m}, eta = {eta})")


def example():
    X, Y, _ = digits(10)
    batch = [(X[:, [i]], Y[:, [i]]) for i in range(10)]

    def call(module):
        fn = need(module, "update_mini_batch", "update_mini_batch(self, mini_batch, eta)")
        book_network(update_mini_batch=fn).update_mini_batch([(x.copy(), y.copy()) for x, y in batch], 3.0)
    return "update_mini_batch(self, mini_batch, eta=3.0): MNIST's first 10 test digits, the 784-30-10 network", call
