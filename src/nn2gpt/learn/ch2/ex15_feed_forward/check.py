"""15_feed_forward: its check (`nn2gpt learn check feed_forward`) and its trace example
(`nn2gpt learn trace feed_forward`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nn2gpt.learn.ch2.common import C, arr, build, module_example
from nn2gpt.learn.checking import CheckFailed, compare, need, untouched


def check(module) -> None:
    cls = need(module, "FeedForward", "class FeedForward(nn.Module)")
    for seed, (B, T, C) in enumerate([(2, 3, 8), (1, 1, 4)]):
        ff = build(cls, "FeedForward", C)
        lins = [m for m in ff.modules() if isinstance(m, nn.Linear)]
        if [tuple(m.weight.shape) for m in lins] != [(4 * C, C), (C, 4 * C)]:
            raise CheckFailed(f"expected two nn.Linear layers, (4C, C) then (C, 4C) = {(4 * C, C)}, {(C, 4 * C)}; "
                              f"found {[tuple(m.weight.shape) for m in lins]}")
        x = torch.randn(B, T, C, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        got = arr(untouched(ff, "FeedForward", "x", x), "FeedForward(x)", (B, T, C))
        a, b = lins
        want = lambda act: b(act(a(x))).detach().numpy()                               # noqa: E731
        compare(got, want(lambda h: F.gelu(h, approximate="tanh")), "FeedForward(x)", [
            (want(F.relu), "ReLU where GPT-2 has GELU: nn.GELU(approximate='tanh')"),
            (want(F.gelu), "the exact GELU (erf); GPT-2's is the tanh approximation, nn.GELU(approximate='tanh')"),
            (want(lambda h: h), "no nonlinearity between the two layers: they collapse into one linear map")],
            f" for x {(B, T, C)}")


example = module_example("FeedForward", C)
