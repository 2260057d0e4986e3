"""13_head: its check (`nn2gpt learn check head`) and its trace example (`nn2gpt learn trace head`)."""

from __future__ import annotations

import torch

from nn2gpt.learn.ch2.common import C, HEAD_SIZE, T, arr, build, head_output, linear, module_example, no_future
from nn2gpt.learn.checking import CheckFailed, compare, need, untouched


def check(module) -> None:
    cls = need(module, "Head", "class Head(nn.Module)")
    for seed, (B, T, C, hs, block) in enumerate([(2, 5, 8, 4, 8), (1, 1, 4, 4, 4), (3, 8, 16, 2, 8)]):
        head = build(cls, "Head", C, hs, block)
        maps = [linear(head, "Head", a, (hs, C)) for a in ("query", "key", "value")]
        for lin in maps:
            if lin.bias is not None:
                raise CheckFailed("the query, key and value maps have a bias; the head's are "
                                  "nn.Linear(..., bias=False)")
        x = torch.randn(B, T, C, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        got = arr(untouched(head, "Head", "x", x), "Head(x)", (B, T, hs))
        ref = lambda **kw: head_output(x, *maps, **kw).detach().numpy()               # noqa: E731
        compare(got, ref(), "Head(x)", [
            (ref(scale=1.0), "the scores are not scaled: multiply q @ k^T by head_size ** -0.5"),
            (ref(scale=C ** -0.5) if C != hs else None,
             "scaled by 1/sqrt(n_embd); the scores' variance is head_size, divide by sqrt(head_size)"),
            (ref(mask="future") if T > 1 else None,
             "the mask is on the wrong side: each position attends to the FUTURE (keep tril, mask above it)"),
            (ref(mask="none") if T > 1 else None, "nothing is masked: every position sees the future"),
            (ref(dim=-2) if T > 1 else None, "softmax over the wrong dimension: the weights of one query (a row, "
                                             "dim=-1) must sum to 1")], f" for x {(B, T, C)}, head_size {hs}")
    head = build(cls, "Head", 8, 4, 8)
    no_future(head, torch.randn(2, 6, 8, dtype=torch.float64), "Head")


example = module_example("Head", C, HEAD_SIZE, T)
