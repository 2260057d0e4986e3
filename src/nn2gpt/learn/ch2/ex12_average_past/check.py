"""12_average_past: its check (`nn2gpt learn check average_past`) and its trace example
(`nn2gpt learn trace average_past`).
"""

from __future__ import annotations

import torch

from nn2gpt.learn.ch2.common import WHAT, arr, batch, no_future
from nn2gpt.learn.checking import compare, need, untouched


def check(module) -> None:
    fn = need(module, "average_past", "average_past(x)")
    for seed, shape in enumerate([(2, 6, 3), (1, 1, 4), (3, 9, 2)]):
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        got = arr(untouched(fn, "average_past", "x", x.clone()), "out", shape)
        csum = x.cumsum(1)
        count = torch.arange(1, shape[1] + 1, dtype=x.dtype)[None, :, None]
        later = x.flip(1).cumsum(1).flip(1)                                           # sum of x[t:]
        past = torch.cat([x[:, :1], csum[:, :-1] / count[:, :-1]], 1)                # x[:, :t] averaged, t >= 1
        compare(got, (csum / count).numpy(), "out", [
            (x.mean(1, keepdim=True).expand_as(x).numpy() if shape[1] > 1 else None,
             "every position averages ALL T positions: position t sees the future; keep t and before (tril)"),
            ((later / count.flip(1)).numpy() if shape[1] > 1 else None,
             "the mask is on the wrong side: position t averages t and the positions AFTER it (triu, not tril)"),
            (csum.numpy() if shape[1] > 1 else None, "it is the sum of the past, not the mean: divide each row of "
                                                     "the weights by its sum, so it sums to 1"),
            (past.numpy() if shape[1] > 1 else None, "position t leaves itself out: average x[0..t], t included")],
            f" for x {shape}")
    x = torch.randn(2, 7, 3, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    no_future(fn, x, "average_past")


def example():
    x = batch()[3]
    return f"average_past(x): {WHAT}", lambda m: need(m, "average_past", "average_past(x)")(x.clone())
