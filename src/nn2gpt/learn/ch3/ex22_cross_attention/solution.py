"""Cross-attention: the target's queries against the source's keys and values."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class CrossAttention(nn.Module):
    """Queries from x (B, T, C), keys and values from memory (B, S, C); keep (B, S) -> (B, T, C)."""

    def __init__(self, d_model, n_head):
        super().__init__()
        self.n_head = n_head
        self.query, self.key = nn.Linear(d_model, d_model), nn.Linear(d_model, d_model)
        self.value, self.proj = nn.Linear(d_model, d_model), nn.Linear(d_model, d_model)

    def forward(self, x, memory, keep):
        B, T, C = x.shape
        S, nh, hs = memory.shape[1], self.n_head, C // self.n_head
        q = self.query(x).view(B, T, nh, hs).transpose(1, 2)           # (B, nh, T, hs)
        k = self.key(memory).view(B, S, nh, hs).transpose(1, 2)        # (B, nh, S, hs)
        v = self.value(memory).view(B, S, nh, hs).transpose(1, 2)      # (B, nh, S, hs)
        s = q @ k.transpose(-2, -1) / math.sqrt(hs)                    # (B, nh, T, S)
        s = s.masked_fill(~keep[:, None, None, :], float("-inf"))
        y = F.softmax(s, dim=-1) @ v                                   # (B, nh, T, hs)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))
