"""Chapter 4's checks: the learner's score or mask against the lab's own (nn2gpt.nn)."""

from __future__ import annotations

import math

import torch

from nn2gpt.learn.checking import CheckFailed, compare, need, untouched
from nn2gpt.nn import masks, scores

SHAPES = [(2, 3, 5, 4), (1, 1, 1, 8), (1, 2, 7, 16)]


def _scores(fn, name: str):
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


def check_squared(module) -> None:
    fn = need(module, "squared_score", "squared_score(q, k)")
    for q, k, got in _scores(fn, "squared_score"):
        hs = q.shape[-1]
        dot = q @ k.transpose(-2, -1)
        compare(got, scores.squared(q, k).numpy(), "squared_score(q, k)", [
            ((q * q @ (k * k).transpose(-2, -1)).numpy() if hs > 1 else None,
             "not scaled: keep the 1/sqrt(hs), so that only the squaring differs from the default"),
            ((dot ** 2 / math.sqrt(hs)).numpy(), "it squares the dot product, (q.k)^2; this exercise (the lab's "
                                                 "'squared') squares every number first: (q*q) . (k*k)"),
            ((dot / math.sqrt(hs)).numpy(), "it is the plain scaled dot product: square q and k elementwise first")],
            f" for q {tuple(q.shape)}")


def check_inverse(module) -> str:
    fn = need(module, "inverse_score", "inverse_score(q, k)")
    readings = set()
    for q, k, got in _scores(fn, "inverse_score"):
        t = scores.scaled_dot(q, k)
        for name, want in (("negated", scores.neg_dot(q, k)), ("reciprocal", scores.inverse(q, k))):
            if torch.allclose(torch.from_numpy(got), want, rtol=1e-6, atol=1e-9):
                readings.add(name)
                break
        else:
            compare(got, scores.inverse(q, k).numpy(), "inverse_score(q, k)", [
                ((1 / t).numpy(), "a raw 1/t: it has a pole at t = 0 (scores of +-1e6 that flip sign); use the smooth "
                                  "t / (t*t + 0.01)"),
                ((-(q @ k.transpose(-2, -1))).numpy(), "negated but not scaled: -(q.k) / sqrt(hs)"),
                ((t / (t * t + 1)).numpy(), "t / (t*t + 1): the eps is 0.01, so it is ~1/t for |t| >> 0.1"),
                (t.numpy(), "it is the scaled dot product itself, not inverted")], f" for q {tuple(q.shape)}")
    if len(readings) > 1:
        raise CheckFailed("inverse_score changes its reading with the input; choose one: negated or reciprocal")
    return f"your reading: {readings.pop()}"


def check_anticausal(module) -> None:
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
