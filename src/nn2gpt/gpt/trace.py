"""Seeing inside: every tensor's name and shape through one forward pass (`gpt train --trace`)."""

from __future__ import annotations

import torch
from torch import nn


def trace_forward(model, idx: torch.Tensor, print_fn=print) -> torch.Tensor:
    """Run one forward pass on idx (B, T), printing every tensor's name, shape and meaning.

    Module outputs come from forward hooks (`blocks.0.attn.qkv  (2, 8, 384)  B,T,3C`); the
    per-head q, k, v and the embedding sum come from the models' own trace points. Returns the
    logits. The model is left exactly as it was (hooks and tracers removed).
    """
    cfg = model.cfg
    C = cfg.vocab_size if cfg.model == "bigram" else cfg.n_embd
    names = {C: "C", 2 * C: "2C", 3 * C: "3C", 4 * C: "4C", cfg.vocab_size: "V"}

    def show(name: str, t: torch.Tensor, dims: str) -> None:
        print_fn(f"{name:<28} {str(tuple(t.shape)):<20} {dims}")

    def hook(name):
        def on_output(module, inputs, output):
            if isinstance(output, torch.Tensor) and output.dim() in (2, 3):  # (T, C) position rows too
                lead = "B,T," if output.dim() == 3 else "T,"
                show(name, output, lead + names.get(output.size(-1), str(output.size(-1))))
        return on_output

    show("idx", idx, "B,T")
    handles = [m.register_forward_hook(hook(n)) for n, m in model.named_modules()
               if n and not isinstance(m, (nn.Dropout, nn.ModuleList))]
    layers = {id(m) for m in model.attention_layers()}
    mhas = {n: m for n, m in model.named_modules() if id(m) in layers}
    for n, m in mhas.items():
        m.tracer = lambda name, t, dims, n=n: show(f"{n}.{name}", t, dims)
    model.tracer = lambda name, t, dims: show(name, t, dims)
    def untrace():
        for m in mhas.values():
            m.tracer = None
        model.tracer = None
    return forward_then_unhook(model, idx, handles, untrace)


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
