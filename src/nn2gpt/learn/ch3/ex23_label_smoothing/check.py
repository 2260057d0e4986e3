"""23_label_smoothing: its check (`nn2gpt learn check label_smoothing`) and its trace example
(`nn2gpt learn trace label_smoothing`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from nn2gpt.learn.ch2.common import arr
from nn2gpt.learn.ch3.common import N, PAD, batch
from nn2gpt.learn.checking import compare, need, untouched


def check(module) -> None:
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


def example():
    src, tgt, vocab, _ = batch()
    logits = torch.randn(N, tgt.shape[1], len(vocab), generator=torch.Generator().manual_seed(2))

    def call(module):
        need(module, "label_smoothed_loss", "label_smoothed_loss(logits, targets, eps, pad_id)")(
            logits.clone(), tgt.clone(), 0.1, PAD)
    return (f"label_smoothed_loss(logits {tuple(logits.shape)}, targets {tuple(tgt.shape)}, 0.1, 0): "
            f"Multi30k's first 2 English test sentences, padded"), call
