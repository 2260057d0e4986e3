"""Exercise 32 (chapter 4): "what if the dot product is inverted?" - pick a reading.

"Inverse" has two readings, and you choose one:

  negated      s = -(q . k) / sqrt(hs)          prefer the LEAST similar key. But the query map W_q
                                               can learn to flip its own sign, so the model can undo
                                               the minus: predict how it will train.
  reciprocal   s ~ 1 / (q . k / sqrt(hs))       rewards nearly orthogonal pairs. A raw 1/s has a
                                               pole at s = 0: scores of +-1e6 that flip sign as s
                                               crosses zero. The lab uses a smooth version,
                                                   t = q . k / sqrt(hs),   s = t / (t^2 + 0.01)
                                               which is ~1/t for |t| >> 0.1, 0 at t = 0, and
                                               never larger than 5 in size.

Shapes as in exercise 31: q (B, nh, Tq, hs), k (B, nh, Tk, hs) -> s (B, nh, Tq, Tk). The check
accepts either reading (and says which it found); write in the docstring which you chose and why.
"""

import math

import torch


def inverse_score(q, k):
    """q (B, nh, Tq, hs), k (B, nh, Tk, hs) -> scores (B, nh, Tq, Tk), negated or reciprocal."""
    raise NotImplementedError("write inverse_score(q, k)")
