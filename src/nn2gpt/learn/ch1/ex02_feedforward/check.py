"""02_feedforward: its check (`nn2gpt learn check feedforward`) and its trace example
(`nn2gpt learn trace feedforward`).
"""

from __future__ import annotations

from nn2gpt.learn.ch1.common import SHAPES, book_network, first_digit, seeded, sigmoid
from nn2gpt.learn.ch1.network import assemble, reference
from nn2gpt.learn.checking import CheckFailed, close, compare, expect_numpy, need, untouched


def _forward_variants(net, a):
    """What the common mistakes of feedforward return, with their messages."""
    out, no_bias, raw, first = a, a, a, None
    for i, (b, w) in enumerate(zip(net.biases, net.weights)):
        z = w @ out + b
        raw = z if i == len(net.weights) - 1 else sigmoid(z)      # no sigmoid on the last layer
        out, no_bias = sigmoid(z), sigmoid(w @ no_bias)
        first = out if first is None else first
    plain = a
    for b, w in zip(net.biases, net.weights):
        plain = w @ plain + b
    return [(no_bias, "it matches the network with every bias left out: z = w a + b"),
            (raw, "the last layer returns z^L, not a^L = sigma(z^L): every layer applies the sigmoid"),
            (plain, "no sigmoid anywhere: each layer is a = sigma(w a + b)"),
            (first, "it is the first layer's output only: return after the loop, not inside it")]


def check(module) -> None:
    ff = need(module, "feedforward", "feedforward(self, a)")
    for seed, (sizes, m) in enumerate([(SHAPES[0], 1), (SHAPES[1], 1), (SHAPES[1], 5), (SHAPES[2], 3)]):
        net = assemble(feedforward=ff)(sizes, seed=seed)
        a, _ = seeded(sizes, m, seed)
        want, mistakes = reference("feedforward")(net, a), _forward_variants(net, a)
        got = untouched(ff, "feedforward", "self, a", net, a.copy())
        for wrong, message in mistakes:   # before the shape: the first layer's output has another shape
            if close(got, wrong) and not close(got, want):
                raise CheckFailed(f"`feedforward(a)` for sizes {sizes}, a {a.shape}: {message}")
        got = expect_numpy(got, f"feedforward(a) for a {a.shape}", want.shape,
                           "the output layer's activations, one column per input column")
        compare(got, want, "feedforward(a)", mistakes, f" for sizes {sizes}, a {a.shape}")


def example():
    x, _, what = first_digit()

    def call(module):
        fn = need(module, "feedforward", "feedforward(self, a)")
        book_network(feedforward=fn).feedforward(x.copy())
    return f"feedforward(self, a) with {what}, the book's 784-30-10 network", call
