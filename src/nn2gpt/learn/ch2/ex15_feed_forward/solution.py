"""The position-wise feed-forward layer."""

import torch.nn as nn


class FeedForward(nn.Module):
    """Linear(C, 4C) -> GELU (tanh) -> Linear(4C, C), at every position: (B, T, C) -> (B, T, C)."""

    def __init__(self, n_embd):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(approximate="tanh"),
                                 nn.Linear(4 * n_embd, n_embd))

    def forward(self, x):
        return self.net(x)
