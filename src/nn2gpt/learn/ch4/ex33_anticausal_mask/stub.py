"""Exercise 33 (chapter 4): "what if the lower-left half is masked?" - the anticausal mask.

A mask says which key j each query i may look at: a boolean (T, T), True = may attend. The
causal mask of chapter 2 keeps the lower-left triangle (j <= i, the past and the present) and
masks the upper right (the future):

    causal[i, j]     = j <= i          torch.tril(torch.ones(T, T, dtype=torch.bool))

Masking the LOWER-LEFT half instead keeps the upper right: position i sees itself and the
future,

    anticausal[i, j] = j >= i          (T, T) bool

Before you train it: the model predicts the token at i + 1 - and position i can now look at it.
What will the training loss do, and what will the model write when it has to sample?
"""

import torch


def anticausal_mask(T):
    """-> (T, T) bool, True where query i may attend to key j: j >= i."""
    raise NotImplementedError("write anticausal_mask(T)")
