"""Multi-head attention, written out in full, with a fast path and a KV cache.

The general layer: the encoder-decoder Transformer (chapter 3, self- and cross-attention with
padding masks), the attention lab (chapter 4, every score function, mask and positional
encoding) and chapter 2's models when a variant asks for it (nn2gpt.gpt.variants). Chapter 2's
own GPT has a smaller causal self-attention of its own (nn2gpt.gpt.model), the same maths.

    attention(q, k, v, mask, score, bias, dropout) -> (out, weights)   the textbook recipe
    fast_attention(q, k, v, mask, bias, dropout, is_causal) -> out     torch's fused kernel
    MultiHeadAttention(d_model, n_head, ...)                           the layer
    KVCache(max_len)                                                   for incremental decoding

Masks are boolean, True = may attend (see `nn2gpt.nn.masks`); score functions live in
`nn2gpt.nn.scores`; RoPE and ALiBi in `nn2gpt.nn.positional`.

Rows whose every key is masked (e.g. a query over a sequence that is all padding) would make
softmax(-inf, ..., -inf) = 0/0 = NaN, and one NaN poisons the whole batch's gradient. Both paths
therefore give such a row an output of exactly zero (and zero weights) without ever computing
a NaN, in the forward or the backward pass.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from nn2gpt.nn.masks import MASKS, as_4d, causal_mask, combine_masks, structural_mask  # noqa: F401
from nn2gpt.nn.positional import POSITIONS, Rotary, alibi_bias, alibi_slopes
from nn2gpt.nn.scores import SCORES, Score, scaled_dot  # noqa: F401


def rms_rows(t: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """t / sqrt(mean(t^2) + eps) over the last axis: each row gets a root mean square of 1 (QK-norm)."""
    return F.rms_norm(t, (t.size(-1),), eps=eps)  # (..., hs)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None, *,
              score: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = scaled_dot,
              bias: torch.Tensor | None = None, dropout: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention step by step. q (B, nh, Tq, hs), k and v (B, nh, Tk, hs).

    mask: boolean, broadcastable to (B, nh, Tq, Tk), True = may attend.
    bias: float, broadcastable to (B, nh, Tq, Tk), added to the scores (ALiBi).
    Returns the output (B, nh, Tq, hs) and the attention weights (B, nh, Tq, Tk) (before dropout).
    """
    scores = score(q, k)  # (B, nh, Tq, Tk) how much query i likes key j
    if bias is not None:
        scores = scores + bias  # (B, nh, Tq, Tk)
    if mask is not None:
        dead = ~mask.any(dim=-1, keepdim=True)  # (.., Tq, 1) rows where nothing may be seen
        # -inf becomes exactly 0 after the softmax; a dead row is left unmasked here (finite,
        # so no NaN) and zeroed below
        scores = scores.masked_fill(~(mask | dead), float("-inf"))  # (B, nh, Tq, Tk)
    weights = F.softmax(scores, dim=-1)  # (B, nh, Tq, Tk) each row sums to 1
    if mask is not None:
        weights = weights.masked_fill(dead, 0.0)  # (B, nh, Tq, Tk) dead rows attend to nothing
    dropped = F.dropout(weights, dropout) if dropout > 0 else weights  # (B, nh, Tq, Tk)
    return dropped @ v, weights  # (B, nh, Tq, hs), (B, nh, Tq, Tk)


def fast_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None, *,
                   bias: torch.Tensor | None = None, dropout: float = 0.0, is_causal: bool = False) -> torch.Tensor:
    """The same as `attention` with the scaled dot product, through torch's fused kernel
    (F.scaled_dot_product_attention: flash / memory-efficient attention, never materialising
    the (Tq, Tk) weights when it can avoid it). `is_causal` (with no mask and no bias) is the
    fastest case: the kernel skips the masked half instead of reading a mask tensor."""
    if is_causal and mask is None and bias is None:
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=True)  # (B, nh, T, hs)
    attn_mask, dead = None, None
    if mask is not None:
        dead = ~mask.any(dim=-1, keepdim=True)  # (.., Tq, 1)
        attn_mask = mask | dead  # a dead row sees everything here and is zeroed below
    if bias is not None:
        bias = bias.to(q.dtype)
        attn_mask = bias if attn_mask is None else bias.masked_fill(~attn_mask, float("-inf"))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout)  # (B, nh, Tq, hs)
    return out if dead is None else out.masked_fill(dead, 0.0)


class KVCache:
    """Keys and values of the positions seen so far, for one self-attention layer.

    Generating token t+1 only needs the query of the newest position; the keys and values of
    positions 0..t do not change (the mask is causal), so they are kept instead of recomputed.
    The buffers are allocated once (max_len positions) and filled in place. Inference only
    (the in-place writes are not meant for autograd).
    """

    def __init__(self, max_len: int):
        self.max_len, self.length = max_len, 0
        self.k: torch.Tensor | None = None
        self.v: torch.Tensor | None = None

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Add k, v (B, nh, T, hs) of the newest T positions; return all keys/values so far."""
        B, nh, T, hs = k.shape
        if self.k is None or self.k.shape[0] != B:
            self.k = k.new_empty(B, nh, self.max_len, hs)  # (B, nh, max_len, hs)
            self.v = v.new_empty(B, nh, self.max_len, hs)
        if self.length + T > self.max_len:
            raise ValueError(f"KV cache full: {self.length} + {T} positions > max_len {self.max_len}")
        self.k[:, :, self.length : self.length + T] = k
        self.v[:, :, self.length : self.length + T] = v
        self.length += T
        return self.k[:, :, : self.length], self.v[:, :, : self.length]  # (B, nh, length, hs) views

    def reset(self) -> None:
        self.length = 0


class MultiHeadAttention(nn.Module):
    """n_head attention heads of size d_model / n_head side by side, then an output projection.

    Self-attention (`cross=False`): one fused Linear `qkv` (3C, C) makes q, k and v of x in a
    single matmul; rows [0:C] are q, [C:2C] k, [2C:3C] v, head h = rows h*hs:(h+1)*hs of each.
    Cross-attention (`cross=True`, chapter 3): `q` (C, C) on x, `kv` (2C, C) on the context.
    `proj` (C, C) mixes the heads back together.

    score:  a name from nn2gpt.nn.scores.SCORES        mask: causal | anticausal | none | window
    window: width w for mask="window"                  pos: only rope and alibi act here
    block_size: longest sequence planned for (RoPE table; KV cache length)
    flash: the fused kernel where it applies; False = always written out
    """

    def __init__(self, d_model: int, n_head: int, dropout: float = 0.0, bias: bool = True,
                 score: str = "scaled_dot", mask: str = "causal", window: int | None = None,
                 pos: str = "none", cross: bool = False, block_size: int = 1024, qk_norm: bool = False,
                 flash: bool = True):
        super().__init__()
        if d_model % n_head:
            raise ValueError(f"d_model {d_model} is not divisible by n_head {n_head}")
        if mask not in MASKS:
            raise ValueError(f"unknown mask {mask!r}; choose from {', '.join(MASKS)}")
        if pos not in POSITIONS:
            raise ValueError(f"unknown positional encoding {pos!r}; choose from {', '.join(POSITIONS)}")
        if mask == "window" and (window is None or window < 1):
            raise ValueError(f"mask='window' needs window >= 1, got {window}")
        if cross and pos in ("rope", "alibi"):
            raise ValueError("rope/alibi relate positions of one sequence; cross-attention cannot use them")
        self.n_head, self.hs, self.cross = n_head, d_model // n_head, cross
        self.mask_kind, self.window, self.pos, self.block_size = mask, window, pos, block_size
        self.qk_norm = qk_norm  # q and k of unit RMS per head (nn2gpt.gpt.modern.rms_rows) before RoPE
        self.flash = flash  # False: always the written-out `attention` (the same numbers, slower)
        if cross:
            self.q = nn.Linear(d_model, d_model, bias=bias)
            self.kv = nn.Linear(d_model, 2 * d_model, bias=bias)
        else:
            self.qkv = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.proj = nn.Linear(d_model, d_model, bias=bias)
        self.score = Score(score, n_head, self.hs)
        self.structural_mask = structural_mask  # (kind, Tq, Tk, window, device) -> (Tq, Tk): the lab's seam
        self.rotary = Rotary(self.hs, block_size) if pos == "rope" else None
        if pos == "alibi":
            self.register_buffer("slopes", alibi_slopes(n_head), persistent=False)  # (nh,)
        self.dropout = dropout
        self.resid_drop = nn.Dropout(dropout)

    def _heads(self, t: torch.Tensor) -> torch.Tensor:
        B, T, C = t.shape
        return t.view(B, T, self.n_head, self.hs).transpose(1, 2)  # (B, T, C) -> (B, nh, T, hs)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None, mask: torch.Tensor | None = None,
                kv_cache: KVCache | None = None, return_weights: bool = False):
        """x (B, Tq, C); context (B, Tk, C) for cross-attention.

        mask: an *extra* boolean mask (True = may attend) ANDed with the layer's own structural
        mask: (B, Tk) key padding, (B, Tq, Tk), or (B, 1|nh, Tq, Tk).
        kv_cache: a KVCache; x then holds only the newest positions (self-attention only).
        Returns y (B, Tq, C), or (y, weights (B, nh, Tq, Tk)) when return_weights is True.
        """
        B, Tq, C = x.shape
        if self.cross:
            if context is None:
                raise ValueError("cross-attention needs a context tensor (B, Tk, C)")
            if kv_cache is not None:
                raise ValueError("the KV cache is for self-attention; cross-attention keys do not grow")
            q = self._heads(self.q(x))  # (B, nh, Tq, hs)
            k, v = self.kv(context).split(C, dim=2)  # (B, Tk, C) each
            k, v = self._heads(k), self._heads(v)  # (B, nh, Tk, hs)
        else:
            q, k, v = self.qkv(x).split(C, dim=2)  # (B, Tq, C) each
            q, k, v = self._heads(q), self._heads(k), self._heads(v)  # (B, nh, Tq, hs)
        offset = kv_cache.length if kv_cache is not None else 0  # absolute position of x[:, 0]
        if self.qk_norm:
            q, k = rms_rows(q), rms_rows(k)  # (B, nh, T, hs) each row of unit RMS
        if self.rotary is not None:
            q, k = self.rotary(q, offset), self.rotary(k, offset)  # (B, nh, Tq, hs) rotated
        if kv_cache is not None:
            k, v = kv_cache.append(k, v)  # (B, nh, Tk, hs) all positions so far
        y, weights = self.attend(q, k, v, mask, need_weights=return_weights)  # (B, nh, Tq, hs), weights or None
        y = y.transpose(1, 2).reshape(B, Tq, C)  # (B, Tq, C) heads side by side again
        y = self.resid_drop(self.proj(y))  # (B, Tq, C)
        return (y, weights) if return_weights else y

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None, *,
               need_weights: bool = False):
        """Every head's output (B, nh, Tq, hs) from q (B, nh, Tq, hs) and k, v (B, nh, Tk, hs), under the
        layer's structural mask and the extra `mask` (see forward), and the weights (B, nh, Tq, Tk):
        None from the fused kernel, which is taken when the score is the standard one and nobody
        wants the weights."""
        Tq, Tk = q.size(2), k.size(2)
        use_fast = self.flash and self.score.name == "scaled_dot" and not need_weights
        # plain causal self-attention over a whole sequence: the kernel masks by itself, no tensor
        is_causal = use_fast and self.mask_kind == "causal" and Tq == Tk and mask is None and self.pos != "alibi"
        newest_only = self.mask_kind == "causal" and Tq == 1  # one new query may see every key
        structural = None
        if self.mask_kind != "none" and not is_causal and not newest_only:
            structural = self.structural_mask(self.mask_kind, Tq, Tk, self.window, device=q.device)  # (Tq, Tk)
        full_mask = combine_masks(structural, None if mask is None else as_4d(mask))  # (.., Tq, Tk)
        bias = alibi_bias(self.slopes, Tq, Tk, Tk - Tq) if self.pos == "alibi" else None  # (nh, Tq, Tk)
        p = self.dropout if self.training else 0.0
        if use_fast:
            return fast_attention(q, k, v, full_mask, bias=bias, dropout=p, is_causal=is_causal), None
        return attention(q, k, v, full_mask, score=self.score, bias=bias, dropout=p)  # written out in full
