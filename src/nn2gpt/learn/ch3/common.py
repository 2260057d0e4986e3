"""Chapter 3's checks: padding, cross-attention, label smoothing, greedy decoding.

References: torch's own F.scaled_dot_product_attention (with a boolean key mask) for
cross-attention, F.cross_entropy(label_smoothing=eps, ignore_index=pad) for the loss (as chapter
3's training calls it), and a scripted "model" with known logits for greedy decoding.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nn2gpt.learn.ch2.checks import arr, build, linear
from nn2gpt.learn.checking import CheckFailed, compare, need, untouched


def _batch(seed: int, B: int, S: int, V: int = 20, pad: int = 0):
    """src (B, S) with rows of different lengths padded by `pad`, and their lengths."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, S + 1, (B,), generator=g)
    lengths[0] = S                                                       # one row without padding
    src = torch.randint(1, V, (B, S), generator=g)
    src[torch.arange(S)[None, :] >= lengths[:, None]] = pad
    return src, lengths


# ---- 21 padding -------------------------------------------------------------------------------
def check_padding(module) -> None:
    pm = need(module, "padding_mask", "padding_mask(src, pad_id)")
    ms = need(module, "masked_scores", "masked_scores(scores, keep)")
    for seed, (B, S, pad) in enumerate([(3, 6, 0), (1, 4, 0), (4, 7, 3)]):
        src, lengths = _batch(seed, B, S, pad=pad)
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


# ---- 22 cross-attention -----------------------------------------------------------------------
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


def check_cross(module) -> None:
    cls = need(module, "CrossAttention", "class CrossAttention(nn.Module)")
    for seed, (B, T, S, C, nh) in enumerate([(2, 4, 6, 8, 2), (3, 5, 3, 12, 3), (1, 2, 2, 4, 1)]):
        att = build(cls, "CrossAttention", C, nh)
        q, k, v, o = (linear(att, "CrossAttention", n, (C, C)) for n in ("query", "key", "value", "proj"))
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(B, T, C, generator=g, dtype=torch.float64)
        memory = torch.randn(B, S, C, generator=g, dtype=torch.float64)
        src, _ = _batch(seed, B, S)
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


# ---- 23 label smoothing -----------------------------------------------------------------------
def check_smoothing(module) -> None:
    fn = need(module, "label_smoothed_loss", "label_smoothed_loss(logits, targets, eps, pad_id)")
    for seed, (B, T, V, eps, pad) in enumerate([(2, 5, 11, 0.1, 0), (1, 1, 4, 0.2, 0), (3, 7, 30, 0.1, 2)]):
        g = torch.Generator().manual_seed(seed)
        logits = torch.randn(B, T, V, generator=g, dtype=torch.float64) * 2
        targets = torch.randint(0, V, (B, T), generator=g)
        if T > 1:
            targets[0, -1] = pad                                         # at least one padding position
        got = arr(untouched(fn, "label_smoothed_loss", "logits, targets, eps, pad_id", logits.clone(), targets.clone(),
                            eps, pad), "the loss", ())
        flat, tflat = logits.view(-1, V), targets.view(-1)
        want = F.cross_entropy(flat, tflat, label_smoothing=eps, ignore_index=pad).item()
        logp = F.log_softmax(flat, -1)
        nll, uni = -logp.gather(-1, tflat[:, None])[:, 0], -logp.mean(-1)
        real = tflat != pad
        other = -(logp.sum(-1) - logp.gather(-1, tflat[:, None])[:, 0]) / (V - 1)     # mean over the V-1 wrong
        compare(got, want, "the loss", [
            (((1 - eps) * nll + eps * uni).mean().item() if not real.all() else None,
             "the padding positions are counted: average over targets != pad_id only"),
            (nll[real].mean().item(), "no smoothing: this is the plain cross-entropy; mix in eps times the "
                                      "uniform part"),
            (((1 - eps) * nll + eps * other)[real].mean().item(),
             "eps is spread over the V - 1 wrong tokens; here (as in torch) it is spread over all V: eps / V each"),
            (((1 - eps) * nll + eps * uni)[real].sum().item() if real.sum() > 1 else None,
             "it is the sum over the positions; the loss is their mean")], f" for logits {(B, T, V)}, eps {eps}")


# ---- 24 greedy decoding -----------------------------------------------------------------------
class Scripted:
    """A 'model' whose next-token logits follow a script; it records the prefixes it was given."""

    def __init__(self, script: list[int], V: int = 8, seed: int = 0):
        self.script, self.V, self.calls = script, V, []
        self.g = torch.Generator().manual_seed(seed)

    def __call__(self, prefix):
        self.calls.append(list(prefix))
        step = len(prefix) - 1
        logits = torch.randn(self.V, generator=self.g)
        logits[self.script[min(step, len(self.script) - 1)]] = 10.0
        return logits


def check_greedy(module) -> None:
    fn = need(module, "greedy_decode", "greedy_decode(next_logits, bos_id, eos_id, max_len)")
    bos, eos = 1, 2
    cases = [([5, 3, 7, eos], 10, [5, 3, 7]), ([eos], 5, []), ([4, 4, 6, 3, 5, 7], 4, [4, 4, 6, 3]),
             ([6, 7, eos, 3], 2, [6, 7])]                                # (the model's choices, max_len, expected)
    for script, max_len, want in cases:
        model = Scripted(script)
        got = fn(model, bos, eos, max_len)
        got = got.tolist() if isinstance(got, torch.Tensor) else got
        if not isinstance(got, list) or not all(isinstance(t, int) for t in got):
            raise CheckFailed(f"greedy_decode returned {type(got).__name__}; return a list of ints")
        where = f" (the model's choices {script}, eos_id {eos}, max_len {max_len})"
        if got == want:
            if model.calls and model.calls[0] != [bos]:
                raise CheckFailed(f"the first call to next_logits got {model.calls[0]}; start from [bos_id] = [{bos}]")
            continue
        if got == [bos, *want]:
            raise CheckFailed(f"the output starts with bos_id: return the tokens written, out[1:]{where}")
        if got == [*want, eos]:
            raise CheckFailed(f"the output ends with eos_id; stop before appending it{where}")
        if len(got) > max_len:
            raise CheckFailed(f"{len(got)} tokens written, more than max_len = {max_len}{where}")
        if eos in script[:max_len] and len(got) > len(want) and got[:len(want)] == want:
            raise CheckFailed(f"it goes on after eos_id: stop at the end-of-sentence token{where}")
        if model.calls and any(len(c) == 1 for c in model.calls[1:]):
            raise CheckFailed(f"next_logits was called with [bos_id] again: pass the whole prefix written so "
                              f"far{where}")
        raise CheckFailed(f"greedy_decode gave {got}, expected {want}{where}")
