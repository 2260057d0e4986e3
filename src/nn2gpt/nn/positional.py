"""Positional encodings: how a Transformer learns *where* a token is.

Attention by itself is a set operation: permute the tokens and the outputs permute with them.
Order has to be put in from outside, and there are two places to put it:

* **added to the input** (once, before the first block):
  - `sinusoidal_encoding(T, d)` — the fixed table of "Attention Is All You Need",
    PE(pos, 2i) = sin(pos / 10000^(2i/d)),  PE(pos, 2i+1) = cos(pos / 10000^(2i/d));
    (`sinusoidal_scaled` is the paper's way of adding it: the token embeddings are first
    multiplied by √d, so a table of entries up to 1 does not drown embeddings of size ~0.02);
  - `LearnedPositions(block_size, d)` — one trainable vector per position (GPT-2).
* **inside every attention layer** (acting on the scores, so only *relative* position counts):
  - `Rotary` — RoPE (Su et al., 2021): rotate q and k by an angle proportional to the
    position, so that q_m · k_n depends only on m - n;
  - `alibi_slopes` / `alibi_bias` — ALiBi (Press et al., 2021): add -slope_h * |i - j| to the
    score of query i and key j; no learned parameters at all.

Everything here is a plain function of positions, or a tiny module holding a table.
"""

from __future__ import annotations

import math

import torch
from torch import nn

POSITIONS = ("none", "sinusoidal", "sinusoidal_scaled", "learned", "rope", "alibi")
SINUSOIDAL = ("sinusoidal", "sinusoidal_scaled")  # the two that add the fixed table


SINUSOID_LAYOUTS = ("interleaved", "halves")


def sinusoidal_encoding(T: int, d: int, dtype: torch.dtype = torch.float32, layout: str = "interleaved") -> torch.Tensor:
    """The (T, d) sinusoidal table of Vaswani et al.; row `pos` is added to token `pos`.

    Column 2i holds sin(pos / 10000^(2i/d)), column 2i+1 holds cos of the same angle, so each
    pair of columns is a clock ticking at its own frequency (fast in the first columns, slow in
    the last). An odd `d` simply has one more sine column than cosine columns.

    layout="halves" holds the same numbers in another column order, Marian's (the opus-mt
    models): all sines first, then all cosines, column i < ceil(d/2) = sin(angle_i) and column
    ceil(d/2) + i = cos(angle_i). A model learns with either; weights trained with one need it.
    """
    if layout not in SINUSOID_LAYOUTS:
        raise ValueError(f"unknown sinusoid layout {layout!r}; choose from {', '.join(SINUSOID_LAYOUTS)}")
    pos = torch.arange(T, dtype=torch.float64)[:, None]  # (T, 1)
    two_i = torch.arange(0, d, 2, dtype=torch.float64)  # (ceil(d/2),) the even column indices 2i
    angle = pos / 10000.0 ** (two_i / d)  # (T, ceil(d/2))
    sin, cos = torch.sin(angle), torch.cos(angle[:, : d // 2])  # (T, ceil(d/2)), (T, floor(d/2))
    if layout == "halves":
        return torch.cat([sin, cos], dim=1).to(dtype)  # (T, d)
    pe = torch.zeros(T, d, dtype=torch.float64)  # (T, d)
    pe[:, 0::2] = sin
    pe[:, 1::2] = cos
    return pe.to(dtype)  # computed in float64 so float32 tables are correctly rounded


class LearnedPositions(nn.Embedding):
    """A trainable (block_size, d) table, row `pos` added to the token at `pos` (GPT-2).

    It is an `nn.Embedding`, so its tensor is named `<attr>.weight`: in the GPT that is
    `pos_emb.weight`. It cannot say anything about positions >= block_size: it never saw them.
    """

    def __init__(self, block_size: int, d: int):
        super().__init__(block_size, d)
        nn.init.normal_(self.weight, std=0.02)


class Rotary(nn.Module):
    """Rotary position embedding (RoPE) for queries and keys of head size `hs` (even).

    Dimension pair (j, j + hs/2) of a vector at position m is rotated by the angle
    m * theta_j with theta_j = base^(-2j/hs). A rotation keeps lengths, and the dot product of
    two vectors rotated by angles a and b depends only on b - a: so q_m · k_n is a function of
    the content and of m - n only. (The paper pairs neighbours (2j, 2j+1); pairing j with
    j + hs/2 is the same thing up to a fixed permutation of dimensions, which the learned q/k
    projections absorb, and avoids a strided reshape.)

    The cos/sin tables are buffers that are not saved (`persistent=False`): they are a
    function of the shape, not learned, so state_dict() stays the same with or without RoPE.
    """

    def __init__(self, hs: int, max_len: int, base: float = 10000.0):
        super().__init__()
        if hs % 2:
            raise ValueError(f"rotary embedding needs an even head size, got {hs}")
        self.hs, self.base = hs, base
        cos, sin = self._tables(max_len)
        self.register_buffer("cos", cos, persistent=False)  # (max_len, hs/2)
        self.register_buffer("sin", sin, persistent=False)  # (max_len, hs/2)

    def _tables(self, n: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        # float64 on the CPU, then moved: the Apple GPU (MPS) has no float64, and every device then
        # gets the same rows as the tables made in __init__ (also on the CPU)
        theta = self.base ** (-torch.arange(0, self.hs, 2, dtype=torch.float64) / self.hs)  # (hs/2,)
        angle = torch.arange(n, dtype=torch.float64)[:, None] * theta  # (n, hs/2)
        return angle.cos().float().to(device), angle.sin().float().to(device)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """Rotate x (B, nh, T, hs) whose rows sit at positions offset .. offset+T-1.

        Apply it to q and to k (before they enter a KV cache, so cached keys keep their angle).
        """
        T = x.size(-2)
        cos, sin = self.cos, self.sin
        if offset + T > cos.size(0):  # longer than planned: compute the tables on the fly
            cos, sin = self._tables(offset + T, x.device)
        return apply_rotary(x, cos[offset : offset + T], sin[offset : offset + T])


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each pair (x[..., j], x[..., j + hs/2]) of x (..., T, hs) by the angle whose
    cos/sin are given per (T, hs/2)."""
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    x1, x2 = x.chunk(2, dim=-1)  # (..., T, hs/2) each
    return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)  # (..., T, hs)


def alibi_slopes(n_head: int) -> torch.Tensor:
    """ALiBi's per-head slopes (n_head,): the geometric sequence 2^(-8/n), 2^(-16/n), ..., 2^(-8).

    For a number of heads that is not a power of two the paper takes the slopes of the closest
    smaller power of two, n, and fills up with every other slope of 2n heads.
    """

    def power_of_two(n: int) -> list[float]:
        start = 2.0 ** (-8.0 / n)
        return [start ** (i + 1) for i in range(n)]

    n = 2 ** math.floor(math.log2(n_head))
    slopes = power_of_two(n)
    if n < n_head:
        slopes += power_of_two(2 * n)[0::2][: n_head - n]
    return torch.tensor(slopes)


def alibi_bias(slopes: torch.Tensor, Tq: int, Tk: int, q_offset: int = 0) -> torch.Tensor:
    """The additive score bias (nh, Tq, Tk): -slope_h * |i - j| for query i and key j.

    The paper only ever sees j <= i (causal) and writes -slope * (i - j); we use the distance
    |i - j| so that the same bias also makes sense under the anti-causal and no-mask variants.
    Query i sits at absolute position q_offset + i (incremental decoding with a KV cache).
    """
    i = torch.arange(q_offset, q_offset + Tq, device=slopes.device)[:, None]  # (Tq, 1)
    j = torch.arange(Tk, device=slopes.device)[None, :]  # (1, Tk)
    return -slopes[:, None, None] * (i - j).abs()  # (nh, Tq, Tk)
