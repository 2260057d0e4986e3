"""The backward pass of y = x @ W.T + b."""

import numpy as np


def linear_backward(dy, x, w):
    """dy (N, out), x (N, in), w (out, in) -> (dx (N, in), dw (out, in), db (out,))."""
    dx = dy @ w            # (N, in)
    dw = dy.T @ x          # (out, in)
    db = dy.sum(axis=0)    # (out,)
    return dx, dw, db
