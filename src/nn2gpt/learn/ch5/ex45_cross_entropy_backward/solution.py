"""The backward pass of the mean cross-entropy of softmax(logits)."""

import numpy as np


def cross_entropy_backward(probs, targets):
    """probs (N, V) softmax of the logits, targets (N,) ints -> dlogits (N, V)."""
    n = probs.shape[0]
    d = probs.copy()
    d[np.arange(n), targets] -= 1.0
    return d / n
