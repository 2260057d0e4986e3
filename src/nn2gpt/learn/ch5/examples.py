"""Chapter 5's examples for `nn2gpt learn trace`: the numpy GPT's pieces on a Tiny Shakespeare batch.

A batch of B = 2 windows of T = 8 characters, embedded in C = 32 channels (a seeded float64
table): x (16, 32), one row a position. The forward passes are chapter 5's own
(nn2gpt.numpy_gpt.layers, .attention), the gradient from above a seeded dy; the learner's
backward pass then gets exactly what the chapter's training hands it: the MLP's first linear
layer (32 -> 128), a LayerNorm, the GELU between, causal attention with 4 heads of size 8, the
cross-entropy of logits over the 65 characters. Each builder returns (what the example is, a
function of the learner's module that runs it).
"""

from __future__ import annotations

import numpy as np

from nn2gpt.learn.checking import need
from nn2gpt.learn.example_data import char_batch
from nn2gpt.numpy_gpt import attention, layers

B, T, C, N_HEAD = 2, 8, 32, 4


def inputs():
    """x (B*T, C), the next characters (B*T,), the vocabulary size, and a seeded generator."""
    idx, targets, V = char_batch(B, T)
    rng = np.random.default_rng(0)
    table = rng.normal(0, 1, (V, C))
    return table[idx.reshape(-1)], targets.reshape(-1), V, rng


WHAT = f"x ({B * T}, {C}): a Tiny Shakespeare batch ({B}, {T}) embedded in {C} channels"


def linear_backward():
    x, _, _, rng = inputs()
    w = rng.normal(0, C ** -0.5, (4 * C, C))
    dy = rng.normal(size=(B * T, 4 * C))
    return (f"linear_backward(dy {dy.shape}, x, w {w.shape}): the MLP's first layer on {WHAT}",
            lambda m: need(m, "linear_backward", "linear_backward(dy, x, w)")(dy.copy(), x.copy(), w.copy()))


def layer_norm():
    x, _, _, rng = inputs()
    gamma, beta, dy = np.ones(C), np.zeros(C), rng.normal(size=(B * T, C))

    def call(module):
        y, cache = need(module, "layer_norm_forward", "layer_norm_forward(x, gamma, beta, eps)")(
            x.copy(), gamma.copy(), beta.copy())
        need(module, "layer_norm_backward", "layer_norm_backward(dy, gamma, cache)")(dy.copy(), gamma.copy(), cache)
    return f"layer_norm_forward(x, gamma, beta), then layer_norm_backward(dy, gamma, cache): {WHAT}", call


def gelu_backward():
    x, _, _, rng = inputs()
    h = layers.linear_forward(x, rng.normal(0, C ** -0.5, (4 * C, C)), np.zeros(4 * C))   # the GELU's input
    dy = rng.normal(size=h.shape)
    return (f"gelu_backward(dy {dy.shape}, x {h.shape}): the MLP's hidden layer on {WHAT}",
            lambda m: need(m, "gelu_backward", "gelu_backward(dy, x)")(dy.copy(), h.copy()))


def attention_backward():
    x, _, _, rng = inputs()
    qkv = layers.linear_forward(x, rng.normal(0, C ** -0.5, (3 * C, C)), None).reshape(B, T, 3 * C)
    q, k, v = (attention.split_heads(part, N_HEAD) for part in np.split(qkv, 3, axis=-1))
    _, att = attention.attention_forward(q, k, v)
    dy = rng.normal(size=q.shape)
    return (f"attention_backward(dy, q, k, v {q.shape}, att {att.shape}): causal attention on {WHAT}",
            lambda m: need(m, "attention_backward", "attention_backward(dy, q, k, v, att)")(
                dy.copy(), q.copy(), k.copy(), v.copy(), att.copy()))


def cross_entropy_backward():
    x, targets, V, rng = inputs()
    logits = x @ rng.normal(0, C ** -0.5, (V, C)).T
    _, probs = layers.cross_entropy_forward(logits, targets)
    return (f"cross_entropy_backward(probs {probs.shape}, targets {targets.shape}): the next characters "
            f"of the batch", lambda m: need(m, "cross_entropy_backward", "cross_entropy_backward(probs, targets)")(
                probs.copy(), targets.copy()))


EXAMPLES = {"linear_backward": linear_backward, "layer_norm": layer_norm, "gelu_backward": gelu_backward,
            "attention_backward": attention_backward, "cross_entropy_backward": cross_entropy_backward}
