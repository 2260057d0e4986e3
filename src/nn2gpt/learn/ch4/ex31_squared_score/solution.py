"""The squared score: square every number, then the scaled dot product."""

import math

import torch


def squared_score(q, k):
    """q (B, nh, Tq, hs), k (B, nh, Tk, hs) -> scores (B, nh, Tq, Tk): (q*q) . (k*k) / sqrt(hs)."""
    return (q * q) @ (k * k).transpose(-2, -1) / math.sqrt(q.shape[-1])
