"""Multi-head attention: heads side by side, concatenated, projected."""

import torch
import torch.nn as nn

from nn2gpt.learn.ch2 import Head


class MultiHeadAttention(nn.Module):
    """n_head heads of size n_embd // n_head, concatenated, then projected: (B, T, C) -> (B, T, C)."""

    def __init__(self, n_embd, n_head, block_size):
        super().__init__()
        self.heads = nn.ModuleList([Head(n_embd, n_embd // n_head, block_size) for _ in range(n_head)])
        self.proj = nn.Linear(n_embd, n_embd)

    def forward(self, x):
        return self.proj(torch.cat([h(x) for h in self.heads], dim=-1))
