"""44_attention_backward: its check (`nn2gpt learn check attention_backward`) and its trace example
(`nn2gpt learn trace attention_backward`).
"""

from __future__ import annotations

import numpy as np

from nn2gpt.learn.ch5.common import B, C, N_HEAD, T, WHAT, expect_tuple, finite_difference_check, inputs
from nn2gpt.learn.checking import CheckFailed, close, compare, expect_array, need, projection, untouched
from nn2gpt.numpy_gpt import attention as att_ref, attention, layers


def check(module) -> None:
    fn = need(module, "attention_backward", "attention_backward(dy, q, k, v, att)")
    for seed, shape in enumerate([(2, 3, 5, 4), (1, 1, 1, 8), (1, 2, 7, 16)]):
        rng = np.random.default_rng(seed)
        q, k, v = (rng.normal(size=shape) for _ in range(3))
        dy = projection(shape, seed + 100)
        y, att = att_ref.attention_forward(q, k, v)
        # att is the forward's cache, the backward's own to use up; dy, q, k, v the caller's
        res = expect_tuple(untouched(lambda dy, q, k, v: fn(dy, q, k, v, att.copy()), "attention_backward",
                                     "dy, q, k, v", dy.copy(), q.copy(), k.copy(), v.copy()),
                           3, "attention_backward", "dq, dk, dv")
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
        finite_difference_check(lambda: att_ref.attention_forward(q, k, v)[0], {"q": q, "k": k, "v": v}, name, got, dy)
    future = dy.copy()
    future[..., -1, :] += 1.0                         # a change at the last query's output only...
    later = fn(future, q.copy(), k.copy(), v.copy(), att.copy())[0]
    if not close(np.asarray(later)[..., :-1, :], np.asarray(dq)[..., :-1, :]):
        raise CheckFailed("dq of the earlier positions changed with the gradient of the last position: "
                          "each query's gradient must come from its own row of the attention only")


def example():
    x, _, _, rng = inputs()
    qkv = layers.linear_forward(x, rng.normal(0, C ** -0.5, (3 * C, C)), None).reshape(B, T, 3 * C)
    q, k, v = (attention.split_heads(part, N_HEAD) for part in np.split(qkv, 3, axis=-1))
    _, att = attention.attention_forward(q, k, v)
    dy = rng.normal(size=q.shape)
    return (f"attention_backward(dy, q, k, v {q.shape}, att {att.shape}): causal attention on {WHAT}",
            lambda m: need(m, "attention_backward", "attention_backward(dy, q, k, v, att)")(
                dy.copy(), q.copy(), k.copy(), v.copy(), att.copy()))
