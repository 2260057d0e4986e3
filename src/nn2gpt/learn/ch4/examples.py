"""Chapter 4's examples for `nn2gpt learn trace`: the lab's score and mask inputs.

Queries and keys as the lab's attention makes them: a Tiny Shakespeare batch of B = 4 windows of
T = 8 characters, embedded in 32 channels (chapter 2's example), mapped by two seeded linear
layers and split into 4 heads of size 8: q, k (4, 4, 8, 8). The mask is for those T = 8
positions. Each builder returns (what the example is, a function of the learner's module that runs it).
"""

from __future__ import annotations

import torch

from nn2gpt.learn.ch2.examples import B, C, T, batch
from nn2gpt.learn.checking import need

N_HEAD = 4


def queries_keys():
    x = batch()[3]
    g = torch.Generator().manual_seed(3)
    wq, wk = (torch.randn(C, C, generator=g) / C ** 0.5 for _ in range(2))
    heads = lambda t: t.view(B, T, N_HEAD, C // N_HEAD).transpose(1, 2)       # noqa: E731 (B, nh, T, hs)
    return heads(x @ wq.T), heads(x @ wk.T)


WHAT = f"q, k ({B}, {N_HEAD}, {T}, {C // N_HEAD}) from a Tiny Shakespeare batch ({B}, {T}) embedded in {C} channels"


def _score(name: str):
    def build():
        q, k = queries_keys()
        return f"{name}(q, k): {WHAT}", lambda m: need(m, name, f"{name}(q, k)")(q.clone(), k.clone())
    return build


def anticausal_mask():
    return (f"anticausal_mask({T}): the mask of the batch's T = {T} positions",
            lambda m: need(m, "anticausal_mask", "anticausal_mask(T)")(T))


EXAMPLES = {"squared_score": _score("squared_score"), "inverse_score": _score("inverse_score"),
            "anticausal_mask": anticausal_mask}
