"""Exercise 11 (chapter 2, PyTorch): the bigram model's loss.

The bigram model is one table, `table` (V, V): row i holds the logits (unnormalised log
probabilities) of the token that follows token i. For a batch of token ids idx (B, T) and the
tokens that really came next, targets (B, T):

    logits = table[idx]                              (B, T, V)   one row per position
    p      = softmax(logits) along V                 (B, T, V)
    loss   = mean over the B*T positions of -ln p[b, t, targets[b, t]]

F.cross_entropy(logits, targets) computes exactly that mean, but it wants the classes in the
SECOND dimension: flatten to logits (B*T, V) and targets (B*T,) first (logits.view(B*T, V)).
It takes raw logits - it applies the softmax itself.

Sanity check: an untrained table (all zeros) predicts every token with p = 1/V, and the loss is
ln V (ln 65 = 4.17 for Tiny Shakespeare's 65 characters).
"""

import torch
import torch.nn.functional as F


def bigram_loss(table, idx, targets):
    """table (V, V) float, idx (B, T) long, targets (B, T) long -> the mean cross-entropy, a scalar tensor."""
    raise NotImplementedError("write bigram_loss(table, idx, targets)")
