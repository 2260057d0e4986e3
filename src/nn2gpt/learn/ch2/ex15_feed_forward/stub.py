"""Exercise 15 (chapter 2, PyTorch): the feed-forward layer.

After attention has gathered information from the context, each position thinks about it on
its own: the same small network at every position, widening to 4 times the width and back:

    h   = x @ W1^T + b1         nn.Linear(n_embd, 4 * n_embd)      (B, T, 4C)
    h   = GELU(h)               nn.GELU(approximate="tanh"), GPT-2's
    out = h @ W2^T + b2         nn.Linear(4 * n_embd, n_embd)      (B, T, C)

Without the nonlinearity the two linear layers would collapse into one. Any structure works
(nn.Sequential is the lecture's): the check finds your two nn.Linear layers in order.
"""

import torch.nn as nn


class FeedForward(nn.Module):
    """Linear(C, 4C) -> GELU (tanh) -> Linear(4C, C), at every position: (B, T, C) -> (B, T, C)."""

    def __init__(self, n_embd):
        super().__init__()
        raise NotImplementedError("write FeedForward.__init__")

    def forward(self, x):
        raise NotImplementedError("write FeedForward.forward(x)")
