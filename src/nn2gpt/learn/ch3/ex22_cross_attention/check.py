"""22_cross_attention: its check (`nn2gpt learn check cross_attention`) and its trace example
(`nn2gpt learn trace cross_attention`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from nn2gpt.learn.ch2.common import arr, build, linear
from nn2gpt.learn.ch3.common import D_MODEL, N_HEAD, PAD, batch, random_batch
from nn2gpt.learn.checking import CheckFailed, compare, need, untouched


def _reference(x, memory, keep, q, k, v, o, nh: int, causal: bool = False, masked: bool = True,
               scaled: bool = True):
    B, T, C = x.shape
    S, hs = memory.shape[1], C // nh
    Q = q(x).view(B, T, nh, hs).transpose(1, 2)
    K = k(memory).view(B, S, nh, hs).transpose(1, 2)
    V = v(memory).view(B, S, nh, hs).transpose(1, 2)
    mask = keep[:, None, None, :].expand(B, nh, T, S) if masked else torch.ones(B, nh, T, S, dtype=torch.bool)
    if causal:
        mask = mask & torch.ones(T, S, dtype=torch.bool).tril()
    y = F.scaled_dot_product_attention(Q, K, V, attn_mask=mask, scale=None if scaled else 1.0)
    return o(y.transpose(1, 2).reshape(B, T, C))


def check(module) -> None:
    cls = need(module, "CrossAttention", "class CrossAttention(nn.Module)")
    for seed, (B, T, S, C, nh) in enumerate([(2, 4, 6, 8, 2), (3, 5, 3, 12, 3), (1, 2, 2, 4, 1)]):
        att = build(cls, "CrossAttention", C, nh)
        q, k, v, o = (linear(att, "CrossAttention", n, (C, C)) for n in ("query", "key", "value", "proj"))
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(B, T, C, generator=g, dtype=torch.float64)
        memory = torch.randn(B, S, C, generator=g, dtype=torch.float64)
        src, _ = random_batch(seed, B, S)
        keep = src != 0
        got = untouched(att, "CrossAttention", "x, memory, keep", x.clone(), memory.clone(), keep.clone())
        if isinstance(got, torch.Tensor) and tuple(got.shape) == (B, S, C) and S != T:
            raise CheckFailed(f"CrossAttention's output is (B, S, C) = {(B, S, C)}: the queries come from the target "
                              f"x (B, T, C), the keys and values from memory")
        got = arr(got, "CrossAttention(x, memory, keep)", (B, T, C))
        ref = lambda **kw: _reference(x, memory, keep, q, k, v, o, nh, **kw).detach().numpy()   # noqa: E731
        compare(got, ref(), "CrossAttention(x, memory, keep)", [
            (ref(causal=True) if T > 1 else None, "a causal mask: cross-attention may look at the WHOLE source "
                                                  "sentence, only its padding is masked"),
            (ref(masked=False) if not keep.all() else None, "the padding keys are not masked: use keep (exercise 21)"),
            (ref(scaled=False), "the scores are not divided by sqrt(hs), hs = d_model // n_head")],
            f" for x {(B, T, C)}, memory {(B, S, C)}, n_head {nh}")
        if not keep.all():                                               # what is behind the padding does not matter
            noisy = memory.clone()
            noisy[~keep] = torch.randn_like(noisy[~keep]) * 10
            if not np.allclose(arr(att(x, noisy, keep), "CrossAttention", (B, T, C)), got):
                raise CheckFailed("the output changes when the PADDING of memory changes: mask the padding keys")


def _embedded(src, tgt, V):
    table = torch.randn(V, D_MODEL, generator=torch.Generator().manual_seed(0))
    return table[tgt], table[src]                    # x (2, T, C) the target's, memory (2, S, C) the source's


def example():
    src, tgt, vocab, _ = batch()
    x, memory = _embedded(src, tgt, len(vocab))
    keep = src != PAD

    def call(module):
        cls = need(module, "CrossAttention", "class CrossAttention(nn.Module)")
        torch.manual_seed(0)
        cls(D_MODEL, N_HEAD)(x.clone(), memory.clone(), keep.clone())
    return (f"CrossAttention({D_MODEL}, {N_HEAD})(x {tuple(x.shape)}, memory {tuple(memory.shape)}, keep): "
            f"Multi30k's first 2 test pairs, English x, German memory"), call
