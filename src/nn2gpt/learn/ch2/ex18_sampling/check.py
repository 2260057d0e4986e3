"""18_sampling: its check (`nn2gpt learn check sampling`) and its trace example (`nn2gpt learn trace sampling`)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from nn2gpt.learn.ch2.common import B, arr, batch
from nn2gpt.learn.checking import CheckFailed, compare, need


def check(module) -> None:
    fn = need(module, "next_token_probs", "next_token_probs(logits, temperature, top_k)")
    for seed, (B, V, temp, k) in enumerate([(3, 10, 1.0, None), (2, 12, 0.5, 4), (1, 5, 2.0, 1), (2, 6, 0.8, 6)]):
        logits = torch.randn(B, V, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 2
        got = arr(fn(logits.clone(), temperature=temp, top_k=k), "probs", (B, V))
        z = logits / temp
        keep = torch.ones_like(z, dtype=torch.bool)
        if k is not None and k < V:
            keep = z >= torch.topk(z, k, dim=-1).values[:, -1:]
        want = F.softmax(z.masked_fill(~keep, float("-inf")), -1).numpy()
        mistakes = [(F.softmax((logits * temp).masked_fill(~keep, float("-inf")), -1).numpy() if temp != 1 else None,
                     f"the logits are multiplied by the temperature; divide: logits / {temp}"),
                    ((F.softmax(z, -1) * keep).numpy() if k is not None and k < V else None,
                     "top-k after the softmax without renormalising: the rows sum to less than 1; mask the logits "
                     "with -inf BEFORE the softmax"),
                    (F.softmax(z, 0).masked_fill(~keep, 0).numpy() if B > 1 and k is None else None,
                     "softmax over the batch dimension; it is along the vocabulary, dim=-1")]
        if k is not None and k < V:
            low = z <= torch.topk(z, k, dim=-1, largest=False).values[:, -1:]
            mistakes.append((F.softmax(z.masked_fill(~low, float("-inf")), -1).numpy(),
                             f"the {k} SMALLEST logits are kept; top-k keeps the largest"))
        compare(got, want, "probs", mistakes, f" for logits {(B, V)}, temperature {temp}, top_k {k}")
        if not np.allclose(got.sum(-1), 1.0):
            raise CheckFailed(f"the rows of probs sum to {got.sum(-1).round(4).tolist()}, not 1")


def example():
    idx, _, V, _ = batch()
    table = torch.randn(V, V, generator=torch.Generator().manual_seed(1))
    logits = table[idx[:, -1]]                      # the bigram's logits after each window's last character

    def call(module):
        need(module, "next_token_probs", "next_token_probs(logits, temperature, top_k)")(logits.clone(), 0.8, 10)
    return f"next_token_probs(logits ({B}, {V}), temperature=0.8, top_k=10): the bigram's, after each window", call
