"""Exercise 31 (chapter 4): "what if the dot product is squared?" - the squared score.

Attention's score says how much query i cares about key j. The default is the scaled dot product,
for q (B, nh, Tq, hs) and k (B, nh, Tk, hs):

    s[i, j] = (q_i . k_j) / sqrt(hs)             q @ k^T / sqrt(hs)  ->  (B, nh, Tq, Tk)

The lab's "squared" reading squares every number of q and of k first, then takes the same
scaled dot product:

    s[i, j] = ((q_i * q_i) . (k_j * k_j)) / sqrt(hs)       (* elementwise)

keeping the 1/sqrt(hs) so that only the squaring differs from the default. Think before you
train it: a square is never negative, so every score is >= 0 - what can this head no longer say?
(`nn2gpt learn run lab` trains your score against the scaled dot product and shows the table.)
"""

import math

import torch


def squared_score(q, k):
    """q (B, nh, Tq, hs), k (B, nh, Tk, hs) -> scores (B, nh, Tq, Tk): (q*q) . (k*k) / sqrt(hs)."""
    raise NotImplementedError("write squared_score(q, k)")
