"""21_padding_mask: its check (`nn2gpt learn check padding_mask`) and its trace example
(`nn2gpt learn trace padding_mask`).
"""

from __future__ import annotations

import numpy as np
import torch

from nn2gpt.learn.ch2.common import arr
from nn2gpt.learn.ch3.common import N, N_HEAD, PAD, batch, random_batch
from nn2gpt.learn.checking import CheckFailed, need, untouched


def check(module) -> None:
    pm = need(module, "padding_mask", "padding_mask(src, pad_id)")
    ms = need(module, "masked_scores", "masked_scores(scores, keep)")
    for seed, (B, S, pad) in enumerate([(3, 6, 0), (1, 4, 0), (4, 7, 3)]):
        src, lengths = random_batch(seed, B, S, pad=pad)
        want = src != pad
        got = untouched(pm, "padding_mask", "src, pad_id", src.clone(), pad)
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != (B, S):
            raise CheckFailed(f"`padding_mask(src, pad_id)` is {getattr(got, 'shape', type(got).__name__)}, "
                              f"expected (B, S) = {(B, S)}")
        if got.dtype != torch.bool:
            raise CheckFailed(f"`padding_mask` returns {got.dtype}; return booleans (src != pad_id)")
        if torch.equal(got, ~want) and not torch.equal(got, want):
            raise CheckFailed("`padding_mask` is True on the padding; True must mark the REAL tokens (src != pad_id)")
        if not torch.equal(got, want):
            raise CheckFailed(f"`padding_mask` is wrong for pad_id {pad}: row 0 {got[0].tolist()}, expected "
                              f"{want[0].tolist()}")
        scores = torch.randn(B, 2, 5, S, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        out = ms(scores.clone(), want.clone())
        expected = scores.masked_fill(~want[:, None, None, :], float("-inf"))
        got_s = arr(out, "masked_scores(scores, keep)", scores.shape)
        if np.array_equal(got_s, expected.numpy()):
            continue
        if np.array_equal(got_s, scores.masked_fill(~want[:, None, None, :], 0.0).numpy()):
            raise CheckFailed("the padding keys are set to 0; after the softmax exp(0) = 1 is as much weight as any "
                              "score. Fill with float('-inf')")
        if np.array_equal(got_s, scores.masked_fill(want[:, None, None, :], float("-inf")).numpy()):
            raise CheckFailed("the REAL keys are masked and the padding kept: mask where keep is False (~keep)")
        raise CheckFailed("the -inf are not where the padding keys are: a key is a column of the scores (the last "
                          "axis); view keep as keep[:, None, None, :]")


def example():
    src, tgt, _, _ = batch()
    scores = torch.randn(N, N_HEAD, tgt.shape[1], src.shape[1], generator=torch.Generator().manual_seed(1))

    def call(module):
        keep = need(module, "padding_mask", "padding_mask(src, pad_id)")(src.clone(), PAD)
        need(module, "masked_scores", "masked_scores(scores, keep)")(scores.clone(), keep)
    return (f"padding_mask(src {tuple(src.shape)}, 0), masked_scores(scores {tuple(scores.shape)}, keep): "
            f"Multi30k's first 2 German test sentences, padded"), call
