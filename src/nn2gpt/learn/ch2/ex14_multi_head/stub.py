"""Exercise 14 (chapter 2, PyTorch): multi-head attention.

n_head heads run side by side, each of head size hs = n_embd // n_head, each free to look for
something else (one for the previous vowel, one for the start of the word ...). Their outputs
are concatenated along the channels and mixed by one more linear layer:

    outs = [head(x) for head in self.heads]          n_head tensors (B, T, hs)
    cat  = torch.cat(outs, dim=-1)                   (B, T, n_head * hs) = (B, T, n_embd)
    out  = self.proj(cat)                            nn.Linear(n_embd, n_embd), (B, T, n_embd)

Keep the names: self.heads = nn.ModuleList([Head(n_embd, hs, block_size) ...]), self.proj.
`Head` below is the reference's (exercise 13's solution); yours behaves the same.
"""

import torch
import torch.nn as nn

from nn2gpt.learn.ch2 import Head  # the reference Head; yours from 13_head.py does the same


class MultiHeadAttention(nn.Module):
    """n_head heads of size n_embd // n_head, concatenated, then projected: (B, T, C) -> (B, T, C)."""

    def __init__(self, n_embd, n_head, block_size):
        super().__init__()
        raise NotImplementedError("write MultiHeadAttention.__init__ (heads, proj)")

    def forward(self, x):
        raise NotImplementedError("write MultiHeadAttention.forward(x)")
