"""Chapter 5's checks: the learner's backward passes against chapter 5's and finite differences.

The references are chapter 5's own layers (nn2gpt.numpy_gpt.layers, attention). Each check
feeds seeded float64 inputs of several shapes, compares every returned gradient by name, names
the common mistake when one matches, and checks the gradient of L = sum(R * out) by central
differences through the reference forward (which needs no reference backward at all).
"""

from __future__ import annotations

import numpy as np

from nn2gpt.learn.checking import (CheckFailed, close, compare, expect_array, finite_difference, need, projection,
                                   untouched)
from nn2gpt.numpy_gpt import attention as att_ref
from nn2gpt.numpy_gpt import layers as ref


def _tuple(result, n: int, what: str, names: str):
    if not isinstance(result, tuple) or len(result) != n:
        raise CheckFailed(f"{what} returned {type(result).__name__}, expected the tuple ({names})")
    return result


def _fd(forward, inputs: dict, name: str, got, dy):
    """Compare `got` with d/d(inputs[name]) of sum(dy * forward()) by finite differences."""
    slope = finite_difference(lambda: float(np.sum(dy * forward())), inputs[name])
    compare(got, slope, name, context=" against finite differences", rtol=1e-5, atol=1e-7)


# ---- 41 linear --------------------------------------------------------------------------------
def check_linear(module) -> None:
    fn = need(module, "linear_backward", "linear_backward(dy, x, w)")
    for seed, (n, i, o) in enumerate([(6, 8, 8), (4, 3, 5), (1, 7, 2), (5, 16, 48)]):
        rng = np.random.default_rng(seed)
        x, w, b = rng.normal(size=(n, i)), rng.normal(size=(o, i)), rng.normal(size=o)
        dy = projection((n, o), seed + 100)       # another seed: dy must not equal x
        dx, dw, db = _tuple(untouched(fn, "linear_backward", "dy, x, w", dy.copy(), x.copy(), w.copy()), 3,
                            "linear_backward", "dx, dw, db")
        rx, rw, rb = ref.linear_backward(dy, x, w)
        where = f" for x {x.shape}, w {w.shape}"
        if np.shape(dw) == (i, o) and i != o:
            raise CheckFailed(f"`dw` is {np.shape(dw)}, expected {(o, i)}: dW = dy.T @ x, shaped like W (out, in)")
        if np.shape(db) == (n,) and n != o:
            raise CheckFailed(f"`db` is {(n,)}, expected {(o,)}: db sums dy over the rows n, dy.sum(axis=0)")
        compare(expect_array(dx, "dx", x.shape), rx, "dx",
                [(dy @ w.T if i == o else None, "it is dy @ W.T: the forward used W.T, so dx = dy @ W")], where)
        compare(expect_array(dw, "dw", w.shape), rw, "dw",
                [((x.T @ dy) if i == o else None, "it is x.T @ dy, the transpose: dW = dy.T @ x")], where)
        compare(expect_array(db, "db", (o,)), rb, "db",
                [(dy.mean(axis=0), "it is the mean over the rows; the gradient is the sum, dy.sum(axis=0)")], where)
    rng = np.random.default_rng(9)
    x, w, b, dy = rng.normal(size=(3, 4)), rng.normal(size=(2, 4)), rng.normal(size=2), projection((3, 2), 109)
    dx, dw, db = fn(dy, x, w)
    for name, got in (("x", dx), ("w", dw), ("b", db)):
        _fd(lambda: ref.linear_forward(x, w, b), {"x": x, "w": w, "b": b}, name, got, dy)


# ---- 42 layer norm ----------------------------------------------------------------------------
def check_layer_norm(module) -> None:
    fwd = need(module, "layer_norm_forward", "layer_norm_forward(x, gamma, beta, eps)")
    bwd = need(module, "layer_norm_backward", "layer_norm_backward(dy, gamma, cache)")
    eps = ref.LAYER_NORM_EPS
    for seed, (n, c, scale) in enumerate([(4, 8, 1.0), (3, 5, 0.01), (1, 16, 3.0), (6, 2, 1.0)]):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(n, c)) * scale + rng.normal()
        gamma, beta, dy = rng.normal(size=c), rng.normal(size=c), projection((n, c), seed + 100)
        out = _tuple(untouched(fwd, "layer_norm_forward", "x, gamma, beta, eps", x.copy(), gamma.copy(), beta.copy(),
                               eps), 2, "layer_norm_forward", "y, cache")
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
        res = _tuple(untouched(lambda dy, gamma: bwd(dy, gamma, out[1]), "layer_norm_backward", "dy, gamma",
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
            _fd(lambda: ref.layer_norm_forward(x, gamma, beta, eps)[0], {"x": x}, "x", res[0], dy)


# ---- 43 GELU ----------------------------------------------------------------------------------
def check_gelu(module) -> None:
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
    _fd(lambda: ref.gelu_forward(x.copy())[0], {"x": x}, "x", fn(dy, x.copy()), dy)


# ---- 44 attention -----------------------------------------------------------------------------
def check_attention(module) -> None:
    fn = need(module, "attention_backward", "attention_backward(dy, q, k, v, att)")
    for seed, shape in enumerate([(2, 3, 5, 4), (1, 1, 1, 8), (1, 2, 7, 16)]):
        rng = np.random.default_rng(seed)
        q, k, v = (rng.normal(size=shape) for _ in range(3))
        dy = projection(shape, seed + 100)
        y, att = att_ref.attention_forward(q, k, v)
        # att is the forward's cache, the backward's own to use up; dy, q, k, v the caller's
        res = _tuple(untouched(lambda dy, q, k, v: fn(dy, q, k, v, att.copy()), "attention_backward", "dy, q, k, v",
                               dy.copy(), q.copy(), k.copy(), v.copy()), 3, "attention_backward", "dq, dk, dv")
        rq, rk, rv = att_ref.attention_backward(dy, q, k, v, att.copy())
        scale = 1 / np.sqrt(shape[-1])
        datt = dy @ v.swapaxes(-1, -2)
        ds = att * (datt - (datt * att).sum(-1, keepdims=True))
        ds_cols = att * (datt - (datt * att).sum(-2, keepdims=True))
        where = f" for q, k, v {shape}"
        unscaled = "the 1/sqrt(hs) is missing: s = q @ k^T / sqrt(hs), so dq and dk carry it too"
        compare(expect_array(res[2], "dv", shape), rv, "dv",
                [(att @ dy, "it is att @ dy; y = att @ v gives dv = att^T @ dy (swap att's last two axes)")], where)
        compare(expect_array(res[0], "dq", shape), rq, "dq", [
            (ds @ k, unscaled),
            (att * datt @ k * scale,
             "the softmax's backward lost its second term: ds = att * (datt - sum(datt * att))"),
            (ds_cols @ k * scale, "the softmax's backward sums over the wrong axis: over the keys, axis=-1")], where)
        compare(expect_array(res[1], "dk", shape), rk, "dk", [
            (ds.swapaxes(-1, -2) @ q, unscaled),
            (ds @ q * scale, "it is ds @ q; s = q @ k^T gives dk = ds^T @ q (swap ds's last two axes)")], where)
    rng = np.random.default_rng(7)
    q, k, v = (rng.normal(size=(1, 2, 4, 3)) for _ in range(3))
    dy = projection(q.shape, 107)
    _, att = att_ref.attention_forward(q, k, v)
    dq, dk, dv = fn(dy, q.copy(), k.copy(), v.copy(), att.copy())
    for name, got in (("q", dq), ("k", dk), ("v", dv)):
        _fd(lambda: att_ref.attention_forward(q, k, v)[0], {"q": q, "k": k, "v": v}, name, got, dy)
    future = dy.copy()
    future[..., -1, :] += 1.0                         # a change at the last query's output only...
    later = fn(future, q.copy(), k.copy(), v.copy(), att.copy())[0]
    if not close(np.asarray(later)[..., :-1, :], np.asarray(dq)[..., :-1, :]):
        raise CheckFailed("dq of the earlier positions changed with the gradient of the last position: "
                          "each query's gradient must come from its own row of the attention only")


# ---- 45 cross-entropy -------------------------------------------------------------------------
def check_cross_entropy(module) -> None:
    fn = need(module, "cross_entropy_backward", "cross_entropy_backward(probs, targets)")
    for seed, (n, v) in enumerate([(5, 7), (1, 3), (12, 65)]):
        rng = np.random.default_rng(seed)
        logits, targets = rng.normal(0, 2, (n, v)), rng.integers(0, v, n)
        _, probs = ref.cross_entropy_forward(logits, targets)
        want = ref.cross_entropy_backward(probs.copy(), targets)
        onehot = np.eye(v)[targets]
        # probs may be overwritten (chapter 5's own does that); targets are the caller's
        got = expect_array(untouched(lambda targets: fn(probs.copy(), targets), "cross_entropy_backward", "targets",
                                     targets.copy()), "dlogits", (n, v))
        compare(got, want, "dlogits", [
            ((probs - onehot) if n > 1 else None, f"it is not divided by N = {n}: the loss is the mean over the rows"),
            (probs / n, "the 1 at each row's target is not subtracted: (p - onehot(target)) / N"),
            ((onehot - probs) / n, "it is (onehot - p) / N; the gradient is (p - onehot(target)) / N"),
            ((probs - onehot) / v, f"it is divided by V = {v}; the mean is over the N = {n} rows")],
            f" for logits {(n, v)}")
    logits, targets = np.random.default_rng(3).normal(size=(3, 4)), np.array([0, 3, 3])
    _, probs = ref.cross_entropy_forward(logits, targets)
    _fd(lambda: np.array(ref.cross_entropy_forward(logits, targets)[0]), {"z": logits}, "z",
        fn(probs.copy(), targets.copy()), np.array(1.0))
