"""Exercise 45 (chapter 5): the backward pass of softmax + cross-entropy, in numpy.

The language model's loss over N positions with logits z (N, V) and target ids (N,):

    p = softmax(z) along V            (N, V)   each row sums to 1
    L = -(1/N) sum_n ln p[n, target_n]         the mean over the N positions

The softmax and the logarithm together have the simplest derivative of the whole network:

    dL/dz[n, v] = (p[n, v] - 1 if v == target_n else p[n, v]) / N

that is, the probabilities, minus 1 at each row's target, divided by N because L is a mean.
You are given the probabilities p (from the forward). Return dlogits (N, V).
"""

import numpy as np


def cross_entropy_backward(probs, targets):
    """probs (N, V) softmax of the logits, targets (N,) ints -> dlogits (N, V)."""
    raise NotImplementedError("write cross_entropy_backward(probs, targets)")
