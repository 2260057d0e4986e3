"""A loaded model made ready to answer: its weight matrices laid out for one token at a time, and warm.

The studio asks a model for one token at a time (generation, a translation's beam search). Each
Linear layer's weight (out, in) is then read whole for one matrix-vector product, and PyTorch's
CPU kernel reads a matrix stored column by column (the transpose of an (in, out) block) about
half as fast again as the same matrix stored row by row. `prepare` stores every Linear and
Embedding weight so, in place: the values and the model's code are unchanged, the products over
whole texts run as fast as before, and the numbers differ at most in the last bits of a sum.
It also copies the weights out of the checkpoint's file mapping (no page faults on a first
request) and runs one short pass, so that a first request does not pay PyTorch's first call.
The answers run in `nn2gpt studio --threads` PyTorch threads (default: one, and the free cores for a
costly pass over a whole text or a big model's token, `passes.threads`; StudioConfig.threads).
"""

from __future__ import annotations

def column_major(model):
    """Every Linear and Embedding weight stored as the transpose of a contiguous (in, out) block."""
    from torch import nn

    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)) and m.weight.dim() == 2 and m.weight.is_contiguous():
            m.weight.data = m.weight.data.t().contiguous().t()  # the same (out, in) values, stored by column
    return model


def warm_gpt(model) -> None:
    """One pass over two tokens and one step with the KV cache, in eval mode."""
    import torch

    model.eval()
    with torch.inference_mode():
        idx = torch.zeros(1, min(2, model.cfg.block_size), dtype=torch.long)
        caches = model.new_caches()
        model.logits(idx, caches)
        if caches and caches[0].length < model.cfg.block_size:
            model.logits(idx[:, :1], caches)


def prepare(kind: str, loaded):
    """A freshly loaded gpt or translate run, (model, tokenizer, config), ready to serve."""
    if kind in ("gpt", "translate"):
        column_major(loaded[0]).eval()
        if kind == "gpt":
            warm_gpt(loaded[0])
    return loaded
