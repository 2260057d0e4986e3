"""33_anticausal_mask: its check (`nn2gpt learn check anticausal_mask`) and its trace example
(`nn2gpt learn trace anticausal_mask`).
"""

from __future__ import annotations

import torch

from nn2gpt.learn.ch2.common import T
from nn2gpt.learn.checking import CheckFailed, need
from nn2gpt.nn import masks


def check(module) -> None:
    fn = need(module, "anticausal_mask", "anticausal_mask(T)")
    for T in (5, 8, 2, 1):                          # the larger first: at T = 1 two mistakes look alike
        got = fn(T)
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != (T, T):
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise CheckFailed(f"`anticausal_mask({T})` is {shape}, expected a ({T}, {T}) boolean tensor")
        if got.dtype != torch.bool:
            raise CheckFailed(f"`anticausal_mask({T})` is {got.dtype}; return booleans, True where query i may "
                              f"attend to key j (an additive 0/-inf mask is another convention)")
        want = masks.structural_mask("anticausal", T)
        if torch.equal(got, want):
            continue
        if torch.equal(got, masks.structural_mask("causal", T)):
            raise CheckFailed("that is the causal mask (j <= i, the lower left kept); the anticausal keeps j >= i")
        if torch.equal(got, want & ~torch.eye(T, dtype=torch.bool)):
            raise CheckFailed("position i does not see itself (j > i); the anticausal mask keeps j >= i, the "
                              "diagonal included")
        if torch.equal(got, ~want):
            raise CheckFailed("True and False are swapped: True means 'may attend', on j >= i")
        past = sorted({int(i) for i, j in zip(*torch.nonzero(got & ~want, as_tuple=True))})
        raise CheckFailed(f"`anticausal_mask({T})`: queries {past} may see keys before them; keep only j >= i")


def example():
    return (f"anticausal_mask({T}): the mask of the batch's T = {T} positions",
            lambda m: need(m, "anticausal_mask", "anticausal_mask(T)")(T))
