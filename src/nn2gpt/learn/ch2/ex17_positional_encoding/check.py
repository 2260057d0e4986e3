"""17_positional_encoding: its check (`nn2gpt learn check positional_encoding`) and its trace example
(`nn2gpt learn trace positional_encoding`).
"""

from __future__ import annotations

import numpy as np
import torch

from nn2gpt.learn.ch2.common import C, T, arr
from nn2gpt.learn.checking import compare, need


def check(module) -> None:
    from nn2gpt.nn.positional import sinusoidal_encoding

    fn = need(module, "positional_encoding", "positional_encoding(T, d)")
    for T, d in [(16, 8), (5, 7), (1, 2), (64, 32)]:
        got = arr(fn(T, d), f"positional_encoding({T}, {d})", (T, d))
        want = sinusoidal_encoding(T, d, torch.float64)
        pos, i = np.arange(T)[:, None], np.arange(d)[None, :]
        angle = pos / 10000 ** ((i - i % 2) / d)                                      # (T, d) column i's angle
        swapped = np.where(i % 2 == 0, np.cos(angle), np.sin(angle))
        no_two = np.where(i % 2 == 0, np.sin(pos / 10000 ** ((i // 2) / d)), np.cos(pos / 10000 ** ((i // 2) / d)))
        per_col = np.where(i % 2 == 0, np.sin(pos / 10000 ** (i / d)), np.cos(pos / 10000 ** (i / d)))
        compare(got, want.numpy(), f"positional_encoding({T}, {d})", [
            (sinusoidal_encoding(T, d, torch.float64, layout="halves").numpy() if d > 2 else None,
             "all the sines first, then all the cosines; the table interleaves them: column 2i sin, 2i+1 cos"),
            (swapped, "sin and cos are swapped: even columns (2i) are sines, odd columns cosines"),
            (no_two if d > 2 else None, "the exponent is i/d; it is 2i/d, with 2i the even column's index"),
            (per_col if d > 2 else None, "the odd column uses its own index in the exponent; columns 2i and 2i+1 "
                                         "share the angle pos / 10000^(2i/d)")], rtol=1e-5, atol=1e-6)


def example():
    return (f"positional_encoding({T}, {C}): the table for the batch's T = {T} positions and n_embd = {C}",
            lambda m: need(m, "positional_encoding", "positional_encoding(T, d)")(T, C))
