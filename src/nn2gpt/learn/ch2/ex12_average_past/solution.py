"""The average of each position and its past, as one matrix product."""

import torch


def average_past(x):
    """x (B, T, C) -> out (B, T, C), out[:, t] the mean of x[:, 0..t]."""
    T = x.shape[1]
    wei = torch.tril(torch.ones(T, T, dtype=x.dtype))    # (T, T) 1 where key <= query
    wei = wei / wei.sum(dim=1, keepdim=True)             # each row sums to 1
    return wei @ x                                       # (B, T, C)
