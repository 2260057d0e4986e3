"""Greedy decoding: the most likely token at every step."""

import torch


def greedy_decode(next_logits, bos_id, eos_id, max_len):
    """-> the list of token ids written (no bos, no eos), at most max_len of them."""
    out = [bos_id]
    for _ in range(max_len):
        token = int(torch.argmax(next_logits(out)))
        if token == eos_id:
            break
        out.append(token)
    return out[1:]
