"""The anticausal mask: each position sees itself and the future."""

import torch


def anticausal_mask(T):
    """-> (T, T) bool, True where query i may attend to key j: j >= i."""
    return torch.triu(torch.ones(T, T, dtype=torch.bool))
