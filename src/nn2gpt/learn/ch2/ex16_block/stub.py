"""Exercise 16 (chapter 2, PyTorch): a pre-LayerNorm Transformer block with residuals.

    x = x + self.sa(self.ln1(x))        communicate: attention over the past     (B, T, C)
    x = x + self.ffwd(self.ln2(x))      compute: the feed-forward, per position  (B, T, C)

Two ideas. The residual "x + ...": each sub-layer ADDS to a stream that runs straight from the
embeddings to the output, so the gradient flows back along it undiminished and a deep stack
trains. LayerNorm BEFORE each sub-layer (GPT-2's "pre-LN"; the 2017 paper normalised after the
sum): each sub-layer sees normalised input, and the stream itself is never normalised.

Keep the names: self.sa = MultiHeadAttention(n_embd, n_head, block_size),
self.ffwd = FeedForward(n_embd), self.ln1, self.ln2 = nn.LayerNorm(n_embd).
"""

import torch.nn as nn

from nn2gpt.learn.ch2 import FeedForward, MultiHeadAttention  # the reference's; yours do the same


class Block(nn.Module):
    """x + sa(ln1(x)), then x + ffwd(ln2(x)): (B, T, C) -> (B, T, C)."""

    def __init__(self, n_embd, n_head, block_size):
        super().__init__()
        raise NotImplementedError("write Block.__init__ (sa, ffwd, ln1, ln2)")

    def forward(self, x):
        raise NotImplementedError("write Block.forward(x)")
