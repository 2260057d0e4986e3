"""What chapter 5's exercises share; each one's check and trace example are its folder's check.py.

Chapter 5's checks: the learner's backward passes against chapter 5's and finite differences.

The references are chapter 5's own layers (nn2gpt.numpy_gpt.layers, attention). Each check
feeds seeded float64 inputs of several shapes, compares every returned gradient by name, names
the common mistake when one matches, and checks the gradient of L = sum(R * out) by central
differences through the reference forward (which needs no reference backward at all).

Chapter 5's examples for `nn2gpt learn trace`: the numpy GPT's pieces on a Tiny Shakespeare batch.

A batch of B = 2 windows of T = 8 characters, embedded in C = 32 channels (a seeded float64 table):
x (16, 32), one row a position. The forward passes are chapter 5's own (nn2gpt.numpy_gpt.layers,
.attention), the gradient from above a seeded dy; the learner's backward pass then gets exactly what
the chapter's training hands it: the MLP's first linear layer (32 -> 128), a LayerNorm, the GELU
between, causal attention with 4 heads of size 8, the cross-entropy of logits over the 65
characters. Each exercise's example() returns (what the example is, a function of the learner's
module that runs it).
"""

from __future__ import annotations

import numpy as np

from nn2gpt.learn.checking import CheckFailed, compare, finite_difference
from nn2gpt.learn.example_data import char_batch


def expect_tuple(result, n: int, what: str, names: str):
    if not isinstance(result, tuple) or len(result) != n:
        raise CheckFailed(f"{what} returned {type(result).__name__}, expected the tuple ({names})")
    return result


def finite_difference_check(forward, inputs: dict, name: str, got, dy):
    """Compare `got` with d/d(inputs[name]) of sum(dy * forward()) by finite differences."""
    slope = finite_difference(lambda: float(np.sum(dy * forward())), inputs[name])
    compare(got, slope, name, context=" against finite differences", rtol=1e-5, atol=1e-7)


B, T, C, N_HEAD = 2, 8, 32, 4


def inputs():
    """x (B*T, C), the next characters (B*T,), the vocabulary size, and a seeded generator."""
    idx, targets, V = char_batch(B, T)
    rng = np.random.default_rng(0)
    table = rng.normal(0, 1, (V, C))
    return table[idx.reshape(-1)], targets.reshape(-1), V, rng


WHAT = f"x ({B * T}, {C}): a Tiny Shakespeare batch ({B}, {T}) embedded in {C} channels"
