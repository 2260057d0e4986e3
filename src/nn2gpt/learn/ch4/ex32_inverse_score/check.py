"""32_inverse_score: its check (`nn2gpt learn check inverse_score`) and its trace example
(`nn2gpt learn trace inverse_score`).
"""

from __future__ import annotations

import torch

from nn2gpt.learn.ch4.common import check_scores, score_example
from nn2gpt.learn.checking import CheckFailed, compare, need
from nn2gpt.nn import scores


def check(module) -> str:
    fn = need(module, "inverse_score", "inverse_score(q, k)")
    readings = set()
    for q, k, got in check_scores(fn, "inverse_score"):
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


example = score_example("inverse_score")
