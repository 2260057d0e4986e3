"""41_linear_backward: its check (`nn2gpt learn check linear_backward`) and its trace example
(`nn2gpt learn trace linear_backward`).
"""

from __future__ import annotations

import numpy as np

from nn2gpt.learn.ch5.common import B, C, T, WHAT, expect_tuple, finite_difference_check, inputs
from nn2gpt.learn.checking import CheckFailed, compare, expect_array, need, projection, untouched
from nn2gpt.numpy_gpt import layers as ref


def check(module) -> None:
    fn = need(module, "linear_backward", "linear_backward(dy, x, w)")
    for seed, (n, i, o) in enumerate([(6, 8, 8), (4, 3, 5), (1, 7, 2), (5, 16, 48)]):
        rng = np.random.default_rng(seed)
        x, w, b = rng.normal(size=(n, i)), rng.normal(size=(o, i)), rng.normal(size=o)
        dy = projection((n, o), seed + 100)       # another seed: dy must not equal x
        dx, dw, db = expect_tuple(untouched(fn, "linear_backward", "dy, x, w", dy.copy(), x.copy(), w.copy()), 3,
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
        finite_difference_check(lambda: ref.linear_forward(x, w, b), {"x": x, "w": w, "b": b}, name, got, dy)


def example():
    x, _, _, rng = inputs()
    w = rng.normal(0, C ** -0.5, (4 * C, C))
    dy = rng.normal(size=(B * T, 4 * C))
    return (f"linear_backward(dy {dy.shape}, x, w {w.shape}): the MLP's first layer on {WHAT}",
            lambda m: need(m, "linear_backward", "linear_backward(dy, x, w)")(dy.copy(), x.copy(), w.copy()))
