"""Chapter 2's examples for `nn2gpt learn trace`: a Tiny Shakespeare batch through the lecture's modules.

The sizes are the lecture's while it builds the pieces ("Let's build GPT"): a batch of B = 4
windows of T = 8 characters (the 65-character vocabulary), embedded in n_embd = 32 channels, 4
heads of head size 8 (one Head alone: head_size 16), block_size 8. The embedding table and the
modules' weights are seeded, so the learner's run and the reference's see the same numbers.
Each builder returns (what the example is, a function of the learner's module that runs it).
"""

from __future__ import annotations

import torch

from nn2gpt.learn.checking import need
from nn2gpt.learn.example_data import char_batch

B, T, C, N_HEAD, HEAD_SIZE = 4, 8, 32, 4, 16


def batch():
    """idx, targets (B, T) long, their vocabulary size V, and x (B, T, C): idx embedded."""
    x, y, V = char_batch(B, T)
    idx, targets = torch.from_numpy(x), torch.from_numpy(y)
    table = torch.randn(V, C, generator=torch.Generator().manual_seed(0))
    return idx, targets, V, table[idx]


WHAT = f"a Tiny Shakespeare batch idx ({B}, {T}), embedded as x ({B}, {T}, {C})"


def _module(cls_name: str, *args):
    """A builder for a module exercise: construct it (seeded), then call it on x."""
    def build():
        x = batch()[3]

        def call(module):
            cls = need(module, cls_name, f"class {cls_name}(nn.Module)")
            torch.manual_seed(0)
            cls(*args)(x.clone())
        return f"{cls_name}({', '.join(map(str, args))})(x): {WHAT}", call
    return build


def bigram_loss():
    idx, targets, V, _ = batch()
    table = torch.randn(V, V, generator=torch.Generator().manual_seed(1))
    return (f"bigram_loss(table ({V}, {V}), idx, targets): a Tiny Shakespeare batch ({B}, {T})",
            lambda m: need(m, "bigram_loss", "bigram_loss(table, idx, targets)")(table.clone(), idx.clone(),
                                                                                   targets.clone()))


def average_past():
    x = batch()[3]
    return f"average_past(x): {WHAT}", lambda m: need(m, "average_past", "average_past(x)")(x.clone())


def positional_encoding():
    return (f"positional_encoding({T}, {C}): the table for the batch's T = {T} positions and n_embd = {C}",
            lambda m: need(m, "positional_encoding", "positional_encoding(T, d)")(T, C))


def sampling():
    idx, _, V, _ = batch()
    table = torch.randn(V, V, generator=torch.Generator().manual_seed(1))
    logits = table[idx[:, -1]]                      # the bigram's logits after each window's last character

    def call(module):
        need(module, "next_token_probs", "next_token_probs(logits, temperature, top_k)")(logits.clone(), 0.8, 10)
    return f"next_token_probs(logits ({B}, {V}), temperature=0.8, top_k=10): the bigram's, after each window", call


EXAMPLES = {"bigram_loss": bigram_loss, "average_past": average_past,
            "head": _module("Head", C, HEAD_SIZE, T),
            "multi_head": _module("MultiHeadAttention", C, N_HEAD, T),
            "feed_forward": _module("FeedForward", C),
            "block": _module("Block", C, N_HEAD, T),
            "positional_encoding": positional_encoding, "sampling": sampling}
