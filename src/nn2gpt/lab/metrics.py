"""What the lab measures besides the validation loss.

* `attention_entropy`: how spread out an attention row is. A row that puts all its weight on
  one key has entropy 0; a row spread evenly over n keys has entropy log(n). Unscaled dot
  products push rows towards 0 as the head size grows ("the softmax saturates").
* `random_qk_entropy`: that effect with nothing trained: random unit-variance queries and keys.
* `sequence_loss`: the mean next-token loss of a model on a long text, window by window.
  The mask question uses it three times (see `mask_losses`).
"""

from __future__ import annotations

import math


def attention_entropy(weights) -> float:
    """Mean entropy (nats) of the attention rows in `weights` (..., Tq, Tk).

    Every row is a probability distribution over keys (masked keys have weight exactly 0).
    Entropy of a row: H = -sum_j p_j log p_j, where 0 log 0 = 0 (the limit), so masked keys
    add nothing. The result is the mean over every row of every head, layer and batch item.
    """
    import torch

    p = weights.detach().to(torch.float64)
    plogp = torch.where(p > 0, p * torch.log(p.clamp_min(1e-300)), torch.zeros_like(p))  # (..., Tq, Tk)
    return float(-plogp.sum(-1).mean())


def uniform_causal_entropy(T: int) -> float:
    """The largest possible mean entropy under a causal mask: row t spread evenly over t+1 keys."""
    return sum(math.log(t + 1) for t in range(T)) / T


def random_qk_entropy(score: str, head_sizes: list[int], T: int = 64, n_heads: int = 8, seed: int = 0) -> dict:
    """Mean attention entropy for random queries/keys with unit-variance entries, per head size.

    With q, k ~ N(0, 1) in d dimensions, q·k has variance d: its typical size grows like
    sqrt(d). Dividing by sqrt(d) (score 'scaled_dot') keeps the variance at 1 whatever d is;
    without it (score 'dot') the largest score in a row dwarfs the rest and the softmax turns
    into an argmax, whose gradient is almost zero everywhere.
    Uses the same score function and mask the GPT trains with (nn2gpt.nn.attention).
    """
    import torch

    from nn2gpt.nn.attention import attention, causal_mask
    from nn2gpt.nn.scores import Score

    out = {}
    g = torch.Generator().manual_seed(seed)
    for d in head_sizes:
        q = torch.randn(1, n_heads, T, d, generator=g)  # (B, nh, T, hs)
        k = torch.randn(1, n_heads, T, d, generator=g)  # (B, nh, T, hs)
        with torch.no_grad():
            _, weights = attention(q, k, k, causal_mask(T), score=Score(score, n_heads, d))  # (B, nh, T, T)
        out[d] = attention_entropy(weights)
    return out
