"""43_gelu_backward: its check (`nn2gpt learn check gelu_backward`) and its trace example
(`nn2gpt learn trace gelu_backward`).
"""

from __future__ import annotations

import numpy as np

from nn2gpt.learn.ch5.common import C, WHAT, finite_difference_check, inputs
from nn2gpt.learn.checking import compare, expect_array, need, projection, untouched
from nn2gpt.numpy_gpt import layers as ref, layers


def check(module) -> None:
    fn = need(module, "gelu_backward", "gelu_backward(dy, x)")
    k = ref.GELU_SQRT_2_OVER_PI
    for seed, shape in enumerate([(4, 6), (1, 1), (3, 32)]):
        rng = np.random.default_rng(seed)
        x, dy = rng.normal(0, 2, shape), projection(shape, seed + 100)
        _, t = ref.gelu_forward(x.copy())
        want = ref.gelu_backward(dy, x, t.copy())
        du = k * (1 + 3 * ref.GELU_CUBIC * x ** 2)
        compare(expect_array(untouched(fn, "gelu_backward", "dy, x", dy.copy(), x.copy()), "dx", shape), want, "dx", [
            (dy * (0.5 * (1 + t) + 0.5 * x * (1 - t ** 2)), "du/dx is missing: tanh(u) depends on x through u, "
                                                            "du/dx = sqrt(2/pi) (1 + 3 * 0.044715 x^2)"),
            (dy * (0.5 * x * (1 - t ** 2) * du), "the product rule's first term 0.5 (1 + t) is missing"),
            (dy * (0.5 * (1 + t) + 0.5 * x * (1 - t) * du), "tanh'(u) is 1 - t^2, not 1 - t"),
            (0.5 * (1 + t) + 0.5 * x * (1 - t ** 2) * du, "the result is dy/dx alone: multiply by the incoming "
                                                           "gradient dy")], f" for x {shape}")
    x, dy = np.random.default_rng(5).normal(0, 2, (2, 3)), projection((2, 3), 105)
    finite_difference_check(lambda: ref.gelu_forward(x.copy())[0], {"x": x}, "x", fn(dy, x.copy()), dy)


def example():
    x, _, _, rng = inputs()
    h = layers.linear_forward(x, rng.normal(0, C ** -0.5, (4 * C, C)), np.zeros(4 * C))   # the GELU's input
    dy = rng.normal(size=h.shape)
    return (f"gelu_backward(dy {dy.shape}, x {h.shape}): the MLP's hidden layer on {WHAT}",
            lambda m: need(m, "gelu_backward", "gelu_backward(dy, x)")(dy.copy(), h.copy()))
