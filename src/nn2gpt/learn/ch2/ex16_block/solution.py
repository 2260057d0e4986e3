"""A pre-LayerNorm Transformer block."""

import torch.nn as nn

from nn2gpt.learn.ch2 import FeedForward, MultiHeadAttention


class Block(nn.Module):
    """x + sa(ln1(x)), then x + ffwd(ln2(x)): (B, T, C) -> (B, T, C)."""

    def __init__(self, n_embd, n_head, block_size):
        super().__init__()
        self.sa = MultiHeadAttention(n_embd, n_head, block_size)
        self.ffwd = FeedForward(n_embd)
        self.ln1 = nn.LayerNorm(n_embd)
        self.ln2 = nn.LayerNorm(n_embd)

    def forward(self, x):
        x = x + self.sa(self.ln1(x))
        return x + self.ffwd(self.ln2(x))
