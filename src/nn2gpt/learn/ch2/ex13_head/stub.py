"""Exercise 13 (chapter 2, PyTorch): one head of masked self-attention.

Each position emits a query ("what am I looking for"), a key ("what do I contain") and a value
("what I give if chosen"), three linear maps of its vector x (B, T, C) with no bias:

    q = query(x), k = key(x), v = value(x)          (B, T, hs) each, hs = head_size
    wei = q @ k^T / sqrt(hs)                        (B, T, hs) @ (B, hs, T) -> (B, T, T)
    wei[:, t, s] = -inf where s > t                 the future is masked (tril, as in exercise 12)
    wei = softmax(wei) along the LAST dim           row t: how much position t takes from each s
    out = wei @ v                                   (B, T, T) @ (B, T, hs) -> (B, T, hs)

Divide by sqrt(head_size), not by sqrt(n_embd): the scores' variance is ~hs, and the division
keeps it ~1, so the softmax stays soft at the start instead of picking one position.
Keep the names: self.key, self.query, self.value = nn.Linear(n_embd, head_size, bias=False);
register the triangle as a buffer (self.register_buffer("tril", torch.tril(...))).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Head(nn.Module):
    """One head of causal self-attention: x (B, T, n_embd) -> (B, T, head_size)."""

    def __init__(self, n_embd, head_size, block_size):
        super().__init__()
        raise NotImplementedError("write Head.__init__ (key, query, value, tril)")

    def forward(self, x):
        raise NotImplementedError("write Head.forward(x)")
