"""Measuring a trained GPT from the outside: losses under another mask, its own text, its attention.

Nothing here trains or re-implements attention: the model is chapter 2's GPT, its attention
layers chapter 2's or, for a variant, `nn2gpt.nn.attention.MultiHeadAttention`, and these helpers
only *look* at them (changing the mask needs the general layer).

* `mean_loss`: the teacher-forced loss on fixed (x, y) windows.
* `masked_as(model, "causal")`: temporarily give every attention layer another mask. A mask
  has no weights, so the same trained weights can be evaluated under a different one; this is
  how the anti-causal model meets the situation of generation, where the future is unknown.
* `generate`: free-running text, one token at a time.
* `text_loss`: how surprising a text is to a (causal) model, in nats per token.
* `captured_attention`: the attention weights of every layer during one forward pass.
* `weight_on_next`: how much each head's query t puts on key t+1 (the copying shortcut).
* `with_context(model, L)`: the same weights at a longer context, for length extrapolation.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch


def attention_layers(model) -> list:
    return model.attention_layers()  # chapter 2's CausalSelfAttention or the general MultiHeadAttention


@torch.no_grad()
def mean_loss(model, batches) -> float:
    """Mean cross-entropy of `model` over (x, y) numpy batches, as the training loop measures it."""
    model.eval()
    losses = [float(model(torch.from_numpy(x), torch.from_numpy(y))[1]) for x, y in batches]
    return sum(losses) / len(losses)


@contextmanager
def masked_as(model, kind: str):
    """Within the block, every attention layer of `model` uses the structural mask `kind`."""
    layers = [m for m in attention_layers(model) if hasattr(m, "mask_kind")]  # chapter 2's layer is always causal
    if kind != "causal" and len(layers) < len(attention_layers(model)):
        raise ValueError(f"chapter 2's attention layer is causal only; build the model as a variant to mask it {kind!r}")
    saved = [(m.mask_kind, m.window) for m in layers]
    try:
        for m in layers:
            m.mask_kind = kind
        yield model
    finally:
        for m, (kind0, window0) in zip(layers, saved):
            m.mask_kind, m.window = kind0, window0


@torch.no_grad()
def generate(model, start_id: int, n_seq: int, n_tokens: int, seed: int) -> torch.Tensor:
    """`n_seq` free-running sequences (n_seq, n_tokens) of sampled token ids after `start_id`.

    Every new token is computed with the model's own mask over the (cropped) context. The model
    uses its KV cache only where that is exact (causal and window masks); a model that sees the
    future recomputes the whole context at every step, exactly as it was trained.
    """
    model.eval()
    g = torch.Generator().manual_seed(seed)
    idx = torch.full((n_seq, 1), start_id, dtype=torch.long)  # (B, 1)
    out = model.generate(idx, n_tokens, temperature=1.0, generator=g)  # (B, 1 + n_tokens)
    return out[:, 1:]  # (B, n_tokens)


@torch.no_grad()
def text_loss(model, ids: torch.Tensor, block_size: int) -> float:
    """Mean next-token loss of `model` on the texts `ids` (B, L), window by window.

    The texts are cut into consecutive windows of block_size + 1 tokens (x, and y = x shifted
    by one); every text and every model is cut the same way, so the numbers compare.
    """
    model.eval()
    total, count = 0.0, 0
    for start in range(0, ids.size(1) - 1, block_size):
        chunk = ids[:, start:start + block_size + 1]  # (B, <= T + 1)
        if chunk.size(1) < 2:
            break
        _, loss = model(chunk[:, :-1], chunk[:, 1:])  # mean over (B, t) positions
        n = chunk[:, 1:].numel()
        total, count = total + float(loss) * n, count + n
    return total / count


@contextmanager
def captured_attention(model):
    """Collect the attention weights (B, nh, T, T) of every layer while the block runs.

    Each attention layer's forward is wrapped for the duration: it asks the layer for its
    weights (`return_weights=True`, the layer's own feature), keeps them, and hands the caller
    the output it expects.
    """
    weights: list[torch.Tensor] = []
    layers = attention_layers(model)
    for m in layers:
        original = m.forward

        def wrapped(*args, _original=original, **kwargs):
            kwargs["return_weights"] = True
            y, w = _original(*args, **kwargs)
            weights.append(w.detach())
            return y

        m.forward = wrapped
    try:
        yield weights
    finally:
        for m in layers:
            del m.forward  # back to the class's forward


def weight_on_next(weights: list[torch.Tensor]) -> list[list[float]]:
    """Per layer, per head: the mean attention weight of query t on key t+1.

    `weights` holds (B, nh, T, T) per layer. Key t+1 carries the very character query t must
    predict, so a head that has learned to copy puts almost all its weight there (that is the
    superdiagonal of the attention picture). Under the causal mask the number is exactly 0.
    """
    return [w.diagonal(offset=1, dim1=-2, dim2=-1).mean(dim=(0, 2)).tolist() for w in weights]  # (nh,) per layer


def with_context(model, block_size: int):
    """The trained `model` rebuilt for windows of `block_size` tokens, same weights; None when its
    positional encoding has nothing to say beyond the context it was trained on (a learned table
    has no row for position 64 of a 64-position model).

    Sinusoids, RoPE and ALiBi are functions of the position, computed for any length, and
    'none' has nothing to extend, so those models can be scored on longer windows.
    """
    from dataclasses import replace

    from nn2gpt.gpt.variants import build_model

    if model.cfg.pos == "learned":
        return None
    longer = build_model(replace(model.cfg, block_size=block_size))
    longer.load_state_dict(model.state_dict())  # strict: every learned tensor fits, none is new
    return longer.eval()
