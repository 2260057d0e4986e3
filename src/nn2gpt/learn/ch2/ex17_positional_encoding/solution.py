"""The sinusoidal positional encoding of Vaswani et al."""

import math

import torch


def positional_encoding(T, d):
    """-> PE (T, d) float32: column 2i sin(pos / 10000^(2i/d)), column 2i+1 cos of the same angle."""
    pos = torch.arange(T, dtype=torch.float64)[:, None]                 # (T, 1)
    two_i = torch.arange(0, d, 2, dtype=torch.float64)                  # (ceil(d/2),)
    angle = pos / 10000 ** (two_i / d)                                  # (T, ceil(d/2))
    pe = torch.zeros(T, d, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle[:, : d // 2])
    return pe.float()
