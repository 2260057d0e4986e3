"""Exercise 44 (chapter 5): the backward pass of causal softmax attention, in numpy.

For each batch and head (the leading dimensions B, nh ride along in every product):

    s   = q @ k^T / sqrt(hs)        q, k (B, nh, T, hs)  ->  s (B, nh, T, T): query i, key j
    s[i, j] = -inf for j > i        causal: a position never sees the future
    att = softmax(s) along the keys (the last axis), so every row sums to 1
    y   = att @ v                   (B, nh, T, T) @ (B, nh, T, hs)  ->  (B, nh, T, hs)

Given dy (B, nh, T, hs), return dq, dk, dv, each shaped like q, k, v. Backwards, one step at a time:

    datt = dy @ v^T                                        (B, nh, T, T)
    dv   = att^T @ dy                                      (B, nh, T, hs)
    ds   = att * (datt - sum over j of datt * att)         row by row (the softmax's backward)
    dq   = ds @ k / sqrt(hs)                               (B, nh, T, hs)
    dk   = ds^T @ q / sqrt(hs)                             (B, nh, T, hs)

"^T" swaps the last two axes (x.swapaxes(-1, -2)). The masked entries have att = 0, so their
ds is 0 too: the future gets no gradient, nothing extra to do. You get att from the forward.
"""

import numpy as np


def attention_backward(dy, q, k, v, att):
    """dy (B, nh, T, hs); q, k, v (B, nh, T, hs); att (B, nh, T, T) -> (dq, dk, dv)."""
    raise NotImplementedError("write attention_backward(dy, q, k, v, att)")
