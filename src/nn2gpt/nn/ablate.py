"""Turn attention heads off: run a model with chosen heads' outputs set to zero (an ablation).

Inside `MultiHeadAttention` each head h writes its output (B, T, hs) into columns
h*hs:(h+1)*hs of the tensor (B, T, C) that the output projection `proj` mixes back together.
Zeroing those columns on the way into `proj` removes exactly that head's contribution, and
nothing else: the other heads, the residual stream and `proj`'s bias are untouched.

The seam is a forward pre-hook on each chosen layer's `proj`, so the model runs its own code
unchanged (the GPT's blocks, the translator's encoder and decoder, the KV cache and the cached
cross-attention, which call the same `proj`). An attention layer is any module with an integer
`n_head` and an `nn.Linear` called `proj` that reads the heads side by side: the general
`MultiHeadAttention` and chapter 2's `CausalSelfAttention` both are. A model keeps that one
convention and nothing else; the layers' order is `named_modules()` order, the order of the
model's blocks and the order `nn2gpt.gpt.heatmaps.look_inside` reports their weights in.

    with heads_off(model, {0: [1], 2: [0, 3]}):   # layer 0 head 1, layer 2 heads 0 and 3
        logits, _ = model(idx)
"""

from __future__ import annotations

import contextlib

from torch import nn


def is_attention(module) -> bool:
    """An attention layer: `n_head` heads whose outputs, side by side, go through the Linear `proj`."""
    n_head, proj = getattr(module, "n_head", None), getattr(module, "proj", None)
    return isinstance(n_head, int) and isinstance(proj, nn.Linear) and proj.in_features % n_head == 0


def attention_layers(model) -> list[tuple[str, nn.Module]]:
    """Every attention layer of `model` as (its name, e.g. "blocks.0.attn", the module), in order."""
    return [(name, m) for name, m in model.named_modules() if is_attention(m)]


def _zero_heads(heads: list[int], hs: int):
    def hook(module, args):
        x = args[0].clone()  # (B, T, C): the heads side by side, before the output projection
        for h in heads:
            x[..., h * hs:(h + 1) * hs] = 0  # head h's output, gone
        return (x, *args[1:])
    return hook


@contextlib.contextmanager
def heads_off(model, off: dict[int, list[int]], layers: list[nn.Module] | None = None):
    """Within the block, heads `off[i]` of attention layer i (of `layers`, default every
    attention layer of `model` in order) output zero. The hooks are removed on exit, error or not."""
    layers = layers if layers is not None else [m for _, m in attention_layers(model)]
    handles = []
    try:
        for i, heads in off.items():
            if heads:
                layer = layers[i]
                hs = layer.proj.in_features // layer.n_head  # each head's width
                handles.append(layer.proj.register_forward_pre_hook(_zero_heads(sorted(set(heads)), hs)))
        yield
    finally:
        for h in handles:
            h.remove()
