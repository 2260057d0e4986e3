"""The key padding mask, and applying it to attention scores."""

import torch


def padding_mask(src, pad_id):
    """src (B, S) long -> (B, S) bool, True where the token is real (not pad_id)."""
    return src != pad_id


def masked_scores(scores, keep):
    """scores (B, nh, Tq, S), keep (B, S) bool -> scores with the padding keys at -inf."""
    return scores.masked_fill(~keep[:, None, None, :], float("-inf"))
