"""LayerNorm forward and backward, by hand."""

import numpy as np


def layer_norm_forward(x, gamma, beta, eps=1e-5):
    """x (N, C), gamma (C,), beta (C,) -> (y (N, C), cache for the backward)."""
    mu = x.mean(axis=-1, keepdims=True)                  # (N, 1)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)   # (N, 1), biased
    rstd = 1.0 / np.sqrt(var + eps)                      # (N, 1)
    xhat = (x - mu) * rstd                               # (N, C)
    return xhat * gamma + beta, (xhat, rstd)


def layer_norm_backward(dy, gamma, cache):
    """dy (N, C), gamma (C,), cache from the forward -> (dx (N, C), dgamma (C,), dbeta (C,))."""
    xhat, rstd = cache
    dbeta = dy.sum(axis=0)                               # (C,)
    dgamma = (dy * xhat).sum(axis=0)                     # (C,)
    g = dy * gamma                                       # (N, C)
    dx = rstd * (g - g.mean(axis=-1, keepdims=True) - xhat * (g * xhat).mean(axis=-1, keepdims=True))
    return dx, dgamma, dbeta
