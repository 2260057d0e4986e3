"""Exercise 22 (chapter 3): cross-attention, where the decoder reads the source sentence.

In the encoder-decoder Transformer, each decoder layer has a second attention: its QUERIES come
from the target being written, x (B, T, C), and its KEYS and VALUES from the encoder's output
for the source sentence, memory (B, S, C). With n_head heads of size hs = C // n_head:

    q = query(x)                 (B, T, C) -> heads (B, nh, T, hs)
    k = key(memory)              (B, S, C) -> heads (B, nh, S, hs)
    v = value(memory)            (B, S, C) -> heads (B, nh, S, hs)
    s = q @ k^T / sqrt(hs)       (B, nh, T, S): target position t against source token s
    s[b, :, :, j] = -inf         where keep[b, j] is False (padding keys; exercise 21)
    a = softmax(s) along S;  y = a @ v         (B, nh, T, hs)
    out = proj(heads merged back)              (B, T, C)

No causal mask: the whole source sentence exists before the first target word is written, so
every target position may look at every real source token. Splitting into heads:
t.view(B, T, nh, hs).transpose(1, 2); merging back: y.transpose(1, 2).reshape(B, T, C).
Keep the names: self.query, self.key, self.value, self.proj = nn.Linear(d_model, d_model).
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class CrossAttention(nn.Module):
    """Queries from x (B, T, C), keys and values from memory (B, S, C); keep (B, S) -> (B, T, C)."""

    def __init__(self, d_model, n_head):
        super().__init__()
        raise NotImplementedError("write CrossAttention.__init__ (query, key, value, proj)")

    def forward(self, x, memory, keep):
        raise NotImplementedError("write CrossAttention.forward(x, memory, keep)")
