"""Next-token probabilities with temperature and top-k."""

import torch
import torch.nn.functional as F


def next_token_probs(logits, temperature=1.0, top_k=None):
    """logits (B, V) -> probabilities (B, V) after temperature and top-k."""
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]         # (B, 1) the k-th largest
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return F.softmax(logits, dim=-1)
