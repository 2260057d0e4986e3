"""Exercise 12 (chapter 2, PyTorch): the weighted average of the past ("the mathematical trick").

Attention's core is a weighted average in which each position looks only BACK. The simplest
version weighs the past equally: for x (B, T, C),

    out[b, t] = (x[b, 0] + x[b, 1] + ... + x[b, t]) / (t + 1)        (B, T, C)

Position t averages itself and everything before it, never anything after (that would be
reading the answer while predicting it). A loop over t is fine; the trick does all positions at
once with one matrix product:

    wei = lower-triangular (T, T) matrix of ones, each row divided by its sum    rows sum to 1
    out = wei @ x                     (T, T) @ (B, T, C) -> (B, T, C)  (broadcast over B)

torch.tril(torch.ones(T, T)) is the lower triangle. Self-attention replaces these equal weights
by learned, data-dependent ones - with the same triangle.
"""

import torch


def average_past(x):
    """x (B, T, C) -> out (B, T, C), out[:, t] the mean of x[:, 0..t]."""
    raise NotImplementedError("write average_past(x)")
