"""06_cross_entropy: its check (`nn2gpt learn check cross_entropy`) and its trace example
(`nn2gpt learn trace cross_entropy`).
"""

from __future__ import annotations

import numpy as np

from nn2gpt.learn.ch1.common import book_network, first_digit, seeded, sigmoid, sigmoid_prime
from nn2gpt.learn.ch1.network import reference
from nn2gpt.learn.checking import CheckFailed, compare, expect_numpy, finite_difference, need, untouched


def check(module) -> None:
    cost = need(module, "CrossEntropyCost", "class CrossEntropyCost with fn(a, y) and delta(z, a, y)")
    ref = reference("CrossEntropyCost")
    for seed in range(3):
        z, (_, y) = np.random.default_rng(seed).normal(0, 2, (10, 1)), seeded([1, 10], 1, seed)
        a = sigmoid(z)
        with np.errstate(divide="ignore", invalid="ignore"):
            got = expect_numpy(untouched(cost.fn, "CrossEntropyCost.fn", "a, y", a.copy(), y.copy()),
                               "CrossEntropyCost.fn(a, y)", ())
        want = ref.fn(a, y)
        compare(got, want, "CrossEntropyCost.fn(a, y)", [
            (-np.sum(y * np.log(a)), "only the y ln a term: add (1 - y) ln(1 - a) for the neurons that should be 0"),
            (-want, "the cost is negative: C = -sum [y ln a + (1 - y) ln(1 - a)], with the minus in front"),
            (want / 10, "it is the mean over the 10 outputs; the cost of one example is their sum")])
        d = expect_numpy(untouched(cost.delta, "CrossEntropyCost.delta", "z, a, y", z.copy(), a.copy(), y.copy()),
                         "CrossEntropyCost.delta(z, a, y)", (10, 1))
        compare(d, a - y, "CrossEntropyCost.delta(z, a, y)", [
            ((a - y) * sigmoid_prime(z), "it keeps sigma'(z): for the cross-entropy it cancels, delta^L = a - y"),
            (y - a, "it is y - a; the error is a - y")])
        zz = z.copy()
        slope = finite_difference(lambda: float(ref.fn(sigmoid(zz), y)), zz)
        compare(d, slope, "CrossEntropyCost.delta(z, a, y)", context=" against finite differences of the cost in z",
                rtol=1e-4, atol=1e-7)
    a, y = np.array([[1.0], [0.0], [0.5]]), np.array([[1.0], [0.0], [1.0]])
    with np.errstate(divide="ignore", invalid="ignore"):
        edge = expect_numpy(cost.fn(a, y), "CrossEntropyCost.fn(a, y)", ())
    if not np.isfinite(edge):
        raise CheckFailed(f"CrossEntropyCost.fn is {float(edge)} where a equals y exactly (0 ln 0): wrap the sum in "
                          f"np.nan_to_num, 0 ln 0 is 0")
    compare(edge, np.log(2.0), "CrossEntropyCost.fn(a, y)", context=" for a = [1, 0, 0.5], y = [1, 0, 1]")


def example():
    x, y, what = first_digit()
    net = book_network()
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
