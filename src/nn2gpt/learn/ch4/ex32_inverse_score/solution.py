"""The inverse score, read as the smooth reciprocal t / (t^2 + 0.01) of the scaled dot product."""

import math

import torch


def inverse_score(q, k):
    """q (B, nh, Tq, hs), k (B, nh, Tk, hs) -> scores (B, nh, Tq, Tk), negated or reciprocal."""
    t = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    return t / (t * t + 0.01)
