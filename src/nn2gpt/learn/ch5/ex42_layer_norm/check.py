"""42_layer_norm: its check (`nn2gpt learn check layer_norm`) and its trace example
(`nn2gpt learn trace layer_norm`).
"""

from __future__ import annotations

import numpy as np

from nn2gpt.learn.ch5.common import B, C, T, WHAT, expect_tuple, finite_difference_check, inputs
from nn2gpt.learn.checking import CheckFailed, compare, expect_array, need, projection, untouched
from nn2gpt.numpy_gpt import layers as ref


def check(module) -> None:
    fwd = need(module, "layer_norm_forward", "layer_norm_forward(x, gamma, beta, eps)")
    bwd = need(module, "layer_norm_backward", "layer_norm_backward(dy, gamma, cache)")
    eps = ref.LAYER_NORM_EPS
    for seed, (n, c, scale) in enumerate([(4, 8, 1.0), (3, 5, 0.01), (1, 16, 3.0), (6, 2, 1.0)]):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(n, c)) * scale + rng.normal()
        gamma, beta, dy = rng.normal(size=c), rng.normal(size=c), projection((n, c), seed + 100)
        out = expect_tuple(untouched(fwd, "layer_norm_forward", "x, gamma, beta, eps", x.copy(), gamma.copy(),
                                     beta.copy(), eps), 2, "layer_norm_forward", "y, cache")
        want, (xhat, rstd) = ref.layer_norm_forward(x, gamma, beta, eps)
        centred, var = x - x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        unbiased = x.var(-1, ddof=1, keepdims=True) if c > 1 else var
        compare(expect_array(out[0], "y", x.shape), want, "y", [
            (centred / (np.sqrt(var) + eps) * gamma + beta, "eps is outside the square root: 1 / np.sqrt(var + eps)"),
            (centred / np.sqrt(unbiased + eps) * gamma + beta,
             "the variance divides by C - 1; LayerNorm's is the biased one, np.mean((x - mu)**2) over C"),
            (xhat + beta, "gamma is left out: y = xhat * gamma + beta"),
            (xhat * gamma, "beta is left out: y = xhat * gamma + beta")], f" of layer_norm_forward for x {x.shape}")
        # the cache is the backward's own to use up; dy and gamma the caller's
        res = expect_tuple(untouched(lambda dy, gamma: bwd(dy, gamma, out[1]), "layer_norm_backward", "dy, gamma",
                                     dy.copy(), gamma.copy()), 3, "layer_norm_backward", "dx, dgamma, dbeta")
        rdx, rdg, rdb = ref.layer_norm_backward(dy, gamma, (xhat.copy(), rstd))
        if np.shape(res[1]) == (n, c) and n != 1:
            raise CheckFailed(f"`dgamma` is {(n, c)}, expected {(c,)}: sum (dy * xhat) over the rows, axis=0")
        if np.shape(res[2]) == (n, c) and n != 1:
            raise CheckFailed(f"`dbeta` is {(n, c)}, expected {(c,)}: sum dy over the rows, axis=0")
        g = dy * gamma
        where = f" for x {x.shape}"
        compare(expect_array(res[0], "dx", x.shape), rdx, "dx", [
            (rstd * (g - xhat * (g * xhat).mean(-1, keepdims=True)),
             "the mean(g) term is missing: x also moves mu, dx = rstd (g - mean(g) - xhat mean(g xhat))"),
            (rstd * (g - g.mean(-1, keepdims=True)),
             "the xhat * mean(g * xhat) term is missing: x also moves the variance (rstd)"),
            (rstd * g, "only the direct path: x also moves mu and rstd, dx = rstd (g - mean(g) - xhat mean(g xhat))"),
            (rstd * (dy - dy.mean(-1, keepdims=True) - xhat * (dy * xhat).mean(-1, keepdims=True)),
             "gamma is missing: g = dy * gamma is the gradient of xhat")], where)
        compare(expect_array(res[1], "dgamma", (c,)), rdg, "dgamma", context=where)
        compare(expect_array(res[2], "dbeta", (c,)), rdb, "dbeta", context=where)
        if seed == 0:
            finite_difference_check(lambda: ref.layer_norm_forward(x, gamma, beta, eps)[0], {"x": x}, "x", res[0], dy)


def example():
    x, _, _, rng = inputs()
    gamma, beta, dy = np.ones(C), np.zeros(C), rng.normal(size=(B * T, C))

    def call(module):
        y, cache = need(module, "layer_norm_forward", "layer_norm_forward(x, gamma, beta, eps)")(
            x.copy(), gamma.copy(), beta.copy())
        need(module, "layer_norm_backward", "layer_norm_backward(dy, gamma, cache)")(dy.copy(), gamma.copy(), cache)
    return f"layer_norm_forward(x, gamma, beta), then layer_norm_backward(dy, gamma, cache): {WHAT}", call
