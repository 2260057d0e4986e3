"""The bigram model's loss."""

import torch
import torch.nn.functional as F


def bigram_loss(table, idx, targets):
    """table (V, V) float, idx (B, T) long, targets (B, T) long -> the mean cross-entropy, a scalar tensor."""
    logits = table[idx]                                  # (B, T, V)
    B, T, V = logits.shape
    return F.cross_entropy(logits.view(B * T, V), targets.view(B * T))
