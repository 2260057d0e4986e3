"""Exercise 17 (chapter 2, PyTorch): the sinusoidal positional encoding.

Attention by itself does not know where a token is: permute the past and the weighted average
is the same. "Attention Is All You Need" adds to each token's vector a fixed vector that says
its position pos, built from sines and cosines of geometrically spaced frequencies:

    PE[pos, 2i]     = sin(pos / 10000^(2i / d))          (T, d)
    PE[pos, 2i + 1] = cos(pos / 10000^(2i / d))

for i = 0, 1, ...: column pairs (2i, 2i+1) are a clock ticking at its own speed, fast in the
first columns (a period of 2 pi positions) and slow in the last (10000 * 2 pi). With an odd d
the last column is a sine. Return a float32 tensor (T, d).
"""

import math

import torch


def positional_encoding(T, d):
    """-> PE (T, d) float32: column 2i sin(pos / 10000^(2i/d)), column 2i+1 cos of the same angle."""
    raise NotImplementedError("write positional_encoding(T, d)")
