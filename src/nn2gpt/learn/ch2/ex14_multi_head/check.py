"""14_multi_head: its check (`nn2gpt learn check multi_head`) and its trace example
(`nn2gpt learn trace multi_head`).
"""

from __future__ import annotations

import torch
from torch import nn

from nn2gpt.learn.ch2.common import C, N_HEAD, T, arr, build, head_output, linear, module_example
from nn2gpt.learn.checking import CheckFailed, compare, need, untouched


def check(module) -> None:
    cls = need(module, "MultiHeadAttention", "class MultiHeadAttention(nn.Module)")
    for seed, (B, T, C, nh) in enumerate([(2, 5, 8, 2), (1, 3, 12, 3), (2, 1, 4, 1)]):
        mha = build(cls, "MultiHeadAttention", C, nh, 8)
        heads = getattr(mha, "heads", None)
        if not isinstance(heads, nn.ModuleList) or len(heads) != nh:
            raise CheckFailed(f"`self.heads` must be an nn.ModuleList of {nh} heads (n_head = {nh})")
        maps = [[linear(h, f"heads[{i}]", a, (C // nh, C)) for a in ("query", "key", "value")]
                for i, h in enumerate(heads)]
        proj = linear(mha, "MultiHeadAttention", "proj", (C, C))
        x = torch.randn(B, T, C, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        cat = torch.cat([head_output(x, *m) for m in maps], dim=-1)                    # (B, T, C)
        got = untouched(mha, "MultiHeadAttention", "x", x)
        if isinstance(got, torch.Tensor) and tuple(got.shape) == (B, nh * T, C // nh) and nh > 1:
            raise CheckFailed(f"MultiHeadAttention(x) is {tuple(got.shape)}: the heads are concatenated along the "
                              f"time dimension; torch.cat(..., dim=-1) puts them side by side in the channels")
        got = arr(got, "MultiHeadAttention(x)", (B, T, C))
        compare(got, proj(cat).detach().numpy(), "MultiHeadAttention(x)", [
            (cat.detach().numpy(), "the projection is missing: return self.proj(torch.cat(...))")],
            f" for x {(B, T, C)}, n_head {nh}")


example = module_example("MultiHeadAttention", C, N_HEAD, T)
