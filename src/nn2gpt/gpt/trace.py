"""Seeing inside: every tensor's name and shape through one forward pass (`gpt train --trace`).

The models carry no tracing code: the tracer watches them from outside, for the one pass, and
leaves them exactly as they were.

  - every module's output: a forward hook (`blocks.0.attn.qkv  (2, 8, 384)  B,T,3C`);
  - each head's q, k, v, its weights and its output: every attention layer's `attend` (chapter
    2's CausalSelfAttention and the general nn2gpt.nn.attention.MultiHeadAttention both have
    one), wrapped so that it also forms the weights. Asking for them takes the written-out path,
    as `return_weights` does: the fused kernel never holds the (T, T) weights;
  - `x`, the embedded input, and `logits`: what the model's `embed` and `logits` return.
"""

from __future__ import annotations

import contextlib
from typing import Callable

import torch
from torch import nn

Show = Callable[[str, torch.Tensor, str], None]  # show(name, tensor, dims), e.g. ("logits", t, "B,T,V")


def trace_forward(model, idx: torch.Tensor, print_fn=print) -> torch.Tensor:
    """Run one forward pass on idx (B, T), printing every tensor's name, shape and meaning.
    Returns the logits."""
    def show(name: str, t: torch.Tensor, dims: str) -> None:
        print_fn(f"{name:<28} {str(tuple(t.shape)):<20} {dims}")

    show("idx", idx, "B,T")
    with watching(model, show), torch.no_grad():
        logits, _ = model(idx)
    return logits


@contextlib.contextmanager
def watching(model, show: Show):
    """Within the block, each forward pass of `model` hands every tensor it makes to `show`, in
    the order they are made. The hooks and wrappers go on exit, error or not."""
    cfg = model.cfg
    C = cfg.vocab_size if cfg.model == "bigram" else cfg.n_embd
    names = {C: "C", 2 * C: "2C", 3 * C: "3C", 4 * C: "4C", cfg.vocab_size: "V"}

    def hook(name):
        def on_output(module, inputs, output):
            if isinstance(output, torch.Tensor) and output.dim() in (2, 3):  # (T, C) position rows too
                lead = "B,T," if output.dim() == 3 else "T,"
                show(name, output, lead + names.get(output.size(-1), str(output.size(-1))))
        return on_output

    handles = [m.register_forward_hook(hook(n)) for n, m in model.named_modules()
               if n and not isinstance(m, (nn.Dropout, nn.ModuleList))]
    layers = {id(m) for m in model.attention_layers()}
    wrapped = [(m, "attend", _showing_heads(m.attend, n, show)) for n, m in model.named_modules() if id(m) in layers]
    if hasattr(model, "embed"):  # the bigram has no embedding step
        wrapped.append((model, "embed", _showing_result(model.embed, "x", "B,T,C", show)))
    wrapped.append((model, "logits", _showing_result(model.logits, "logits", "B,T,V", show)))
    try:
        for m, method, wrapper in wrapped:
            setattr(m, method, wrapper)  # an attribute of this module only, over its class's method
        yield
    finally:
        for h in handles:
            h.remove()
        for m, method, _ in wrapped:
            if method in vars(m):
                delattr(m, method)  # the class's method again


def _showing_result(method, name: str, dims: str, show: Show):
    def wrapped(*args, **kwargs):
        result = method(*args, **kwargs)
        show(name, result, dims)
        return result
    return wrapped


def _showing_heads(attend, layer: str, show: Show):
    """`attend` of the attention layer named `layer`, showing its q, k, v (B, nh, T, hs), the
    weights (B, nh, T, T) and each head's output (B, nh, T, hs)."""
    def wrapped(q, k, v, *args, **kwargs):
        y, weights = attend(q, k, v, *args, **(kwargs | {"need_weights": True}))
        for part, t, dims in (("q", q, "B,nh,T,hs"), ("k", k, "B,nh,T,hs"), ("v", v, "B,nh,T,hs"),
                              ("weights", weights, "B,nh,T,T"), ("heads_out", y, "B,nh,T,hs")):
            show(f"{layer}.{part}", t, dims)
        return y, weights
    return wrapped


def forward_then_unhook(model, idx: torch.Tensor, handles, undo=None) -> torch.Tensor:
    """model(idx)'s logits without gradients; the hooks `handles` are removed (and `undo()` run) even on error."""
    try:
        with torch.no_grad():
            logits, _ = model(idx)
    finally:
        for h in handles:
            h.remove()
        if undo:
            undo()
    return logits
