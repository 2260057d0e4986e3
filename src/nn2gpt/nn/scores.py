"""Score functions: how much should query i care about key j?

Attention turns scores into weights with a softmax over the keys, so a score function is any
map q (B, nh, Tq, hs), k (B, nh, Tk, hs) -> scores (B, nh, Tq, Tk). Chapter 4 asks "why the dot
product?"; these are the contenders, each a pure function you can read in one line:

    scaled_dot  q·k / sqrt(hs)               Vaswani et al.; the default. Dividing by sqrt(hs)
                                             keeps the score's spread ~1 whatever the head size,
                                             so the softmax does not saturate.
    dot         q·k                          unscaled: the spread grows like sqrt(hs), the
                                             softmax turns nearly one-hot, gradients vanish.
    squared     (q∘q)·(k∘k) / sqrt(hs)       square every number first, then the dot product.
                                             Scaled by 1/sqrt(hs) like the default so only the
                                             squaring differs. Squares drop the sign: the score
                                             is always >= 0 and cannot say "unlike me".
    neg_dot     -q·k / sqrt(hs)              one reading of "inverse": prefer the *least*
                                             similar key. The learned W_q can simply flip its
                                             sign, so this should train exactly as well.
    inverse     s / (s² + eps), s = q·k/sqrt(hs)
                                             the other reading: the reciprocal 1/s. A raw 1/s
                                             has a pole at s = 0 (infinite, sign-flipping
                                             scores). s/(s²+eps) equals 1/s when |s| >> sqrt(eps),
                                             keeps its sign, is 0 at s = 0, is smooth, and is
                                             bounded by 1/(2 sqrt(eps)) = 5 for eps = 0.01.
                                             It rewards near-orthogonal pairs and is not
                                             monotonic in similarity -- which is the point.
    cosine      cos(q, k) / tau_h            lengths removed; a learned per-head temperature
                                             tau_h = exp(log_tau_h), initialised to 1/sqrt(hs)
                                             so that the scores start with the default's spread.
    additive    v_hᵀ tanh(W_q,h q + W_k,h k) Bahdanau et al. (2015): a one-hidden-layer network
                                             per head; costs (B, nh, Tq, Tk, hs) memory.
    neg_l2      -||q - k||² / sqrt(hs)       closeness instead of alignment.

`Score(name, n_head, hs)` wraps a score function with the parameters it needs (only cosine and
additive have any), so `MultiHeadAttention` holds one `score` module whatever the choice.
"""

from __future__ import annotations

import math

import torch
from torch import nn

SCORES = ("scaled_dot", "dot", "squared", "inverse", "neg_dot", "cosine", "additive", "neg_l2")
INVERSE_EPS = 1e-2  # inverse score s/(s²+eps): bounded by 1/(2*sqrt(eps)) = 5


def scaled_dot(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    return q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (B, nh, Tq, Tk)


def dot(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    return q @ k.transpose(-2, -1)  # (B, nh, Tq, Tk)


def squared(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    return (q * q) @ (k * k).transpose(-2, -1) / math.sqrt(q.size(-1))  # (B, nh, Tq, Tk)


def neg_dot(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    return -scaled_dot(q, k)  # (B, nh, Tq, Tk)


def inverse(q: torch.Tensor, k: torch.Tensor, eps: float = INVERSE_EPS) -> torch.Tensor:
    s = scaled_dot(q, k)  # (B, nh, Tq, Tk)
    return s / (s * s + eps)  # ~1/s away from 0, 0 at 0, |.| <= 1/(2 sqrt(eps))


def cosine(q: torch.Tensor, k: torch.Tensor, log_tau: torch.Tensor) -> torch.Tensor:
    """Cosine similarity divided by a per-head temperature exp(log_tau) (nh,)."""
    qn = q / q.norm(dim=-1, keepdim=True).clamp_min(1e-6)  # (B, nh, Tq, hs) unit length
    kn = k / k.norm(dim=-1, keepdim=True).clamp_min(1e-6)  # (B, nh, Tk, hs)
    return (qn @ kn.transpose(-2, -1)) * torch.exp(-log_tau)[:, None, None]  # (B, nh, Tq, Tk)


def additive(q: torch.Tensor, k: torch.Tensor, w_q: torch.Tensor, w_k: torch.Tensor,
             v: torch.Tensor) -> torch.Tensor:
    """Bahdanau's score v_hᵀ tanh(W_q,h q + W_k,h k); w_q, w_k (nh, hs, ha), v (nh, ha)."""
    qa = torch.einsum("bhid,hda->bhia", q, w_q)  # (B, nh, Tq, ha)
    ka = torch.einsum("bhjd,hda->bhja", k, w_k)  # (B, nh, Tk, ha)
    hidden = torch.tanh(qa[:, :, :, None, :] + ka[:, :, None, :, :])  # (B, nh, Tq, Tk, ha)
    return (hidden @ v[:, None, :, None]).squeeze(-1)  # (B, nh, Tq, Tk, 1) -> (B, nh, Tq, Tk)


def neg_l2(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    # ||q - k||² = ||q||² - 2 q·k + ||k||², written so that no (Tq, Tk, hs) tensor is needed
    q2 = (q * q).sum(-1)[..., :, None]  # (B, nh, Tq, 1)
    k2 = (k * k).sum(-1)[..., None, :]  # (B, nh, 1, Tk)
    return -(q2 - 2 * (q @ k.transpose(-2, -1)) + k2) / math.sqrt(q.size(-1))  # (B, nh, Tq, Tk)


_PLAIN = {"scaled_dot": scaled_dot, "dot": dot, "squared": squared, "neg_dot": neg_dot,
          "inverse": inverse, "neg_l2": neg_l2}


class Score(nn.Module):
    """The score function `name` plus whatever parameters it has, for n_head heads of size hs."""

    def __init__(self, name: str, n_head: int, hs: int):
        super().__init__()
        if name not in SCORES:
            raise ValueError(f"unknown score {name!r}; choose from {', '.join(SCORES)}")
        self.name = name
        self.fn = None  # a plain score's function in place of _PLAIN[name]: the seam the lab's `Parts` use
        if name == "cosine":
            self.log_tau = nn.Parameter(torch.full((n_head,), -0.5 * math.log(hs)))  # tau = 1/sqrt(hs)
        elif name == "additive":
            # Xavier-like scale keeps tanh's input ~N(0, 1) for unit-variance q and k
            self.w_q = nn.Parameter(torch.randn(n_head, hs, hs) / math.sqrt(2 * hs))
            self.w_k = nn.Parameter(torch.randn(n_head, hs, hs) / math.sqrt(2 * hs))
            self.v = nn.Parameter(torch.randn(n_head, hs) / math.sqrt(hs))

    def forward(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        if self.name == "cosine":
            return cosine(q, k, self.log_tau)
        if self.name == "additive":
            return additive(q, k, self.w_q, self.w_k, self.v)
        return (self.fn or _PLAIN[self.name])(q, k)

    def extra_repr(self) -> str:
        return self.name
