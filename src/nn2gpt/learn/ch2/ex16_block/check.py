"""16_block: its check (`nn2gpt learn check block`) and its trace example (`nn2gpt learn trace block`)."""

from __future__ import annotations

import torch
from torch import nn

from nn2gpt.learn.ch2.common import C, N_HEAD, T, arr, build, module_example, no_future
from nn2gpt.learn.checking import CheckFailed, compare, need, untouched


def check(module) -> None:
    cls = need(module, "Block", "class Block(nn.Module)")
    for seed, (B, T, C, nh) in enumerate([(2, 5, 8, 2), (1, 4, 4, 1)]):
        block = build(cls, "Block", C, nh, 8)
        parts = {}
        for name, kind in (("sa", nn.Module), ("ffwd", nn.Module), ("ln1", nn.LayerNorm), ("ln2", nn.LayerNorm)):
            parts[name] = getattr(block, name, None)
            if not isinstance(parts[name], kind):
                raise CheckFailed(f"Block has no {kind.__name__} `self.{name}`; keep the names of the stub's docstring")
        with torch.no_grad():                    # make the two LayerNorms differ, so swapping them shows
            parts["ln1"].weight.uniform_(0.5, 1.5)
            parts["ln2"].weight.uniform_(-1.5, -0.5)
        x = torch.randn(B, T, C, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        sa, ff, ln1, ln2 = parts["sa"], parts["ffwd"], parts["ln1"], parts["ln2"]
        x1 = x + sa(ln1(x))
        post = ln1(x + sa(x))
        mistakes = [
            (ln2(post + ff(post)), "LayerNorm after the sum (post-LN): GPT-2 normalises the INPUT of each sub-layer, "
                                   "x + sa(ln1(x))"),
            (ff(ln2(sa(ln1(x)))), "no residuals: each line adds to the stream, x = x + sa(ln1(x))"),
            (x1 + ff(ln2(x)), "the feed-forward sees the block's input, not the stream after attention: "
                              "x = x + sa(ln1(x)) first, then x + ffwd(ln2(x))"),
            (x1 + ff(ln1(x1)), "ln1 is used twice: the feed-forward's input goes through ln2")]
        got = arr(untouched(block, "Block", "x", x), "Block(x)", (B, T, C))
        compare(got, (x1 + ff(ln2(x1))).detach().numpy(), "Block(x)",
                [(m.detach().numpy(), text) for m, text in mistakes], f" for x {(B, T, C)}")
        no_future(block, x, "Block")


example = module_example("Block", C, N_HEAD, T)
