"""What chapter 4's exercises share; each one's check and trace example are its folder's check.py.

Chapter 4's checks: the learner's score or mask against the lab's own (nn2gpt.nn).

Chapter 4's examples for `nn2gpt learn trace`: the lab's score and mask inputs.

Queries and keys as the lab's attention makes them: a Tiny Shakespeare batch of B = 4 windows of T =
8 characters, embedded in 32 channels (chapter 2's example), mapped by two seeded linear layers and
split into 4 heads of size 8: q, k (4, 4, 8, 8). The mask is for those T = 8 positions. Each
exercise's example() returns (what the example is, a function of the learner's module that runs it).
"""

from __future__ import annotations

import torch

from nn2gpt.learn.ch2.common import B, C, T, batch
from nn2gpt.learn.checking import CheckFailed, need, untouched


SHAPES = [(2, 3, 5, 4), (1, 1, 1, 8), (1, 2, 7, 16)]


def check_scores(fn, name: str):
    """Yield (q, k, what the learner returned as numpy) for seeded inputs of several shapes."""
    for seed, (B, nh, T, hs) in enumerate(SHAPES):
        g = torch.Generator().manual_seed(seed)
        q, k = torch.randn(B, nh, T, hs, generator=g, dtype=torch.float64), torch.randn(B, nh, T + 2, hs, generator=g,
                                                                                        dtype=torch.float64)
        got = untouched(fn, name, "q, k", q.clone(), k.clone())
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != (B, nh, T, T + 2):
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise CheckFailed(f"`{name}(q, k)` is {shape}, expected {(B, nh, T, T + 2)} for q {tuple(q.shape)} and "
                              f"k {tuple(k.shape)}: (B, nh, Tq, Tk), one score per query and key")
        yield q, k, got.detach().double().numpy()


N_HEAD = 4


def queries_keys():
    x = batch()[3]
    g = torch.Generator().manual_seed(3)
    wq, wk = (torch.randn(C, C, generator=g) / C ** 0.5 for _ in range(2))
    heads = lambda t: t.view(B, T, N_HEAD, C // N_HEAD).transpose(1, 2)       # noqa: E731 (B, nh, T, hs)
    return heads(x @ wq.T), heads(x @ wk.T)


WHAT = f"q, k ({B}, {N_HEAD}, {T}, {C // N_HEAD}) from a Tiny Shakespeare batch ({B}, {T}) embedded in {C} channels"


def score_example(name: str):
    def build():
        q, k = queries_keys()
        return f"{name}(q, k): {WHAT}", lambda m: need(m, name, f"{name}(q, k)")(q.clone(), k.clone())
    return build
