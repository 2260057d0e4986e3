"""11_bigram_loss: its check (`nn2gpt learn check bigram_loss`) and its trace example
(`nn2gpt learn trace bigram_loss`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from nn2gpt.learn.ch2.common import B, T, arr, batch
from nn2gpt.learn.checking import compare, need, untouched


def check(module) -> None:
    fn = need(module, "bigram_loss", "bigram_loss(table, idx, targets)")
    for seed, (B, T, V) in enumerate([(4, 8, 65), (1, 1, 3), (2, 5, 10)]):
        g = torch.Generator().manual_seed(seed)
        table = torch.randn(V, V, generator=g, dtype=torch.float64)
        idx, targets = torch.randint(0, V, (B, T), generator=g), torch.randint(0, V, (B, T), generator=g)
        got = arr(untouched(fn, "bigram_loss", "table, idx, targets", table.clone(), idx.clone(), targets.clone()),
                  "the loss", ())
        logp = F.log_softmax(table[idx], dim=-1)                                     # (B, T, V)
        want = -logp.gather(-1, targets[..., None]).mean().item()
        compare(got, want, "the loss", [
            (-logp.gather(-1, targets[..., None]).sum().item() if B * T > 1 else None,
             "it is the SUM over the positions; the loss is their mean"),
            (-F.log_softmax(table[targets], -1).gather(-1, idx[..., None]).mean().item(),
             "it predicts idx from targets: the logits are table[idx], the row of the CURRENT token"),
            (-F.log_softmax(F.softmax(table[idx], -1), -1).gather(-1, targets[..., None]).mean().item(),
             "softmax applied twice: F.cross_entropy takes raw logits and applies the softmax itself")],
            f" for B, T, V = {B}, {T}, {V}")
    zero = arr(fn(torch.zeros(65, 65), torch.zeros(2, 3, dtype=torch.long), torch.ones(2, 3, dtype=torch.long)),
               "the loss", ())
    compare(zero, math.log(65), "the loss", context=" of an all-zero table (ln V: every token equally likely)",
            rtol=1e-5)


def example():
    idx, targets, V, _ = batch()
    table = torch.randn(V, V, generator=torch.Generator().manual_seed(1))
    return (f"bigram_loss(table ({V}, {V}), idx, targets): a Tiny Shakespeare batch ({B}, {T})",
            lambda m: need(m, "bigram_loss", "bigram_loss(table, idx, targets)")(table.clone(), idx.clone(),
                                                                                   targets.clone()))
