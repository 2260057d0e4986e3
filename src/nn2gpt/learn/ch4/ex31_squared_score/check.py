"""31_squared_score: its check (`nn2gpt learn check squared_score`) and its trace example
(`nn2gpt learn trace squared_score`).
"""

from __future__ import annotations

import math

from nn2gpt.learn.ch4.common import check_scores, score_example
from nn2gpt.learn.checking import compare, need
from nn2gpt.nn import scores


def check(module) -> None:
    fn = need(module, "squared_score", "squared_score(q, k)")
    for q, k, got in check_scores(fn, "squared_score"):
        hs = q.shape[-1]
        dot = q @ k.transpose(-2, -1)
        compare(got, scores.squared(q, k).numpy(), "squared_score(q, k)", [
            ((q * q @ (k * k).transpose(-2, -1)).numpy() if hs > 1 else None,
             "not scaled: keep the 1/sqrt(hs), so that only the squaring differs from the default"),
            ((dot ** 2 / math.sqrt(hs)).numpy(), "it squares the dot product, (q.k)^2; this exercise (the lab's "
                                                 "'squared') squares every number first: (q*q) . (k*k)"),
            ((dot / math.sqrt(hs)).numpy(), "it is the plain scaled dot product: square q and k elementwise first")],
            f" for q {tuple(q.shape)}")


example = score_example("squared_score")
