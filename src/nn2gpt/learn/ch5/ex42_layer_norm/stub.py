"""Exercise 42 (chapter 5): LayerNorm, forward and backward, in numpy.

LayerNorm normalises each row of x (N, C) on its own, then scales and shifts it:

    mu   = mean of the row                      (N, 1)
    var  = mean of (x - mu)^2 over the row      (N, 1)   the biased variance (divide by C), like torch
    rstd = 1 / sqrt(var + eps)                  (N, 1)   eps = 1e-5 INSIDE the square root
    xhat = (x - mu) * rstd                      (N, C)   each row: mean 0, variance 1
    y    = xhat * gamma + beta                  (N, C)   gamma, beta (C,)

`layer_norm_forward(x, gamma, beta, eps)` returns (y, cache): the cache is whatever your
backward needs - (xhat, rstd) is enough. `layer_norm_backward(dy, gamma, cache)` returns
(dx, dgamma, dbeta):

    dbeta  = dy summed over the rows             (C,)
    dgamma = (dy * xhat) summed over the rows    (C,)
    g      = dy * gamma                          (N, C)   dL/dxhat
    dx     = rstd * (g - mean(g) - xhat * mean(g * xhat))     means over each row, (N, C)

Why three terms: x reaches xhat directly, through mu (every entry shifts the mean) and through
rstd (every entry changes the variance). Derive it on paper with C = 2 if you can.
"""

import numpy as np


def layer_norm_forward(x, gamma, beta, eps=1e-5):
    """x (N, C), gamma (C,), beta (C,) -> (y (N, C), cache for the backward)."""
    raise NotImplementedError("write layer_norm_forward(x, gamma, beta, eps)")


def layer_norm_backward(dy, gamma, cache):
    """dy (N, C), gamma (C,), cache from the forward -> (dx (N, C), dgamma (C,), dbeta (C,))."""
    raise NotImplementedError("write layer_norm_backward(dy, gamma, cache)")
