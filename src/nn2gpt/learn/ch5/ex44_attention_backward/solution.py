"""The backward pass of causal scaled dot-product attention."""

import numpy as np


def attention_backward(dy, q, k, v, att):
    """dy (B, nh, T, hs); q, k, v (B, nh, T, hs); att (B, nh, T, T) -> (dq, dk, dv)."""
    scale = 1.0 / np.sqrt(q.shape[-1])
    datt = dy @ v.swapaxes(-1, -2)                                  # (B, nh, T, T)
    dv = att.swapaxes(-1, -2) @ dy                                  # (B, nh, T, hs)
    ds = att * (datt - (datt * att).sum(axis=-1, keepdims=True))    # softmax backward, row by row
    dq = ds @ k * scale                                             # (B, nh, T, hs)
    dk = ds.swapaxes(-1, -2) @ q * scale                            # (B, nh, T, hs)
    return dq, dk, dv
