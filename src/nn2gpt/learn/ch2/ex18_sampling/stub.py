"""Exercise 18 (chapter 2, PyTorch): sampling with temperature and top-k.

To generate, the model gives the logits of the next token, z (B, V); we turn them into
probabilities and draw one. Two knobs shape the distribution first:

    temperature T > 0:  z / T         T < 1 sharpens (towards the most likely token), T > 1 flattens
    top_k = k:          keep the k largest logits of each row, set the rest to -inf
    p = softmax(z) along V            (B, V), each row sums to 1, zero outside the top k

Write `next_token_probs(logits, temperature=1.0, top_k=None)` returning p (B, V); the draw is
then torch.multinomial(p, 1) (top_k None or >= V keeps everything). torch.topk(z, k) gives the
k largest values of each row; the k-th largest is the threshold.
"""

import torch
import torch.nn.functional as F


def next_token_probs(logits, temperature=1.0, top_k=None):
    """logits (B, V) -> probabilities (B, V) after temperature and top-k."""
    raise NotImplementedError("write next_token_probs(logits, temperature, top_k)")
