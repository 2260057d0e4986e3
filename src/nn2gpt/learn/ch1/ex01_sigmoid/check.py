"""01_sigmoid: its check (`nn2gpt learn check sigmoid`) and its trace example (`nn2gpt learn trace sigmoid`)."""

from __future__ import annotations

import numpy as np

from nn2gpt.learn.ch1.common import book_network, first_digit, sigmoid, sigmoid_prime
from nn2gpt.learn.checking import CheckFailed, close, compare, expect_numpy, finite_difference, need, untouched


def check(module) -> None:
    sig, prime = need(module, "sigmoid", "sigmoid(z)"), need(module, "sigmoid_prime", "sigmoid_prime(z)")
    rng = np.random.default_rng(1)
    for shape in [(), (5,), (30, 1), (10, 7)]:
        z = rng.normal(0, 4, shape)
        with np.errstate(over="ignore"):
            s = expect_numpy(untouched(sig, "sigmoid", "z", z.copy()), f"sigmoid(z) for z {shape}", shape)
            compare(s, sigmoid(z), "sigmoid(z)", [
                (sigmoid(-z), "it is sigma(-z) = 1 - sigma(z): sigma(z) = 1 / (1 + e^(-z)), so that sigma(5) "
                              "is near 1")],
                f" for z of shape {shape}")
            p = expect_numpy(untouched(prime, "sigmoid_prime", "z", z.copy()), f"sigmoid_prime(z) for z {shape}", shape)
            compare(p, sigmoid_prime(z), "sigmoid_prime(z)", [
                (sigmoid(z), "it is sigma(z) itself; the slope is sigma(z) * (1 - sigma(z))"),
                (z * (1 - z), "you computed z (1 - z): apply the formula to sigma(z), sigma(z) (1 - sigma(z))"),
                (sigmoid(z) * (1 + sigmoid(z)), "it is sigma(z) (1 + sigma(z)); the slope is sigma(z) (1 - sigma(z))"),
                (1 - sigmoid(z), "it is 1 - sigma(z); multiply by sigma(z): sigma(z) (1 - sigma(z))")],
                f" for z of shape {shape}")
    z = np.linspace(-6, 6, 25)
    slope = finite_difference(lambda: float(np.sum(sig(z))), z)  # each entry only moves its own output
    compare(expect_numpy(prime(z.copy()), "sigmoid_prime(z)", z.shape), slope, "sigmoid_prime(z)",
            context=" against the finite-difference slope of your sigmoid", rtol=1e-5, atol=1e-8)
    with np.errstate(over="ignore"):
        big = expect_numpy(sig(np.array([-1000.0, 1000.0])), "sigmoid([-1000, 1000])", (2,))
    if not close(big, [0.0, 1.0]):
        raise CheckFailed(f"sigmoid([-1000, 1000]) is {big.tolist()}, expected [0, 1]: a large |z| must saturate, "
                          f"not overflow to nan")


def example():
    x, _, what = first_digit()
    net = book_network()
    z = np.dot(net.weights[0], x) + net.biases[0]                  # the first layer's z^1 (30, 1)

    def call(module):
        sig, prime = need(module, "sigmoid", "sigmoid(z)"), need(module, "sigmoid_prime", "sigmoid_prime(z)")
        sig(z.copy())
        prime(z.copy())
    return f"sigmoid(z), sigmoid_prime(z) for z = w^1 x + b^1 (30, 1) of {what}", call
