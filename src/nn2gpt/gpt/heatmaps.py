"""Where does each position look? Attention heatmaps of a trained model, one per layer and head.

Row t of a head's (T, T) map is the softmax over the positions token t attends to; with the
causal mask everything above the diagonal is zero. The weights come from the attention
modules themselves (their `forward(..., return_weights=True)`): a forward pre-hook asks
each module for them and a forward hook takes them out again, so the model runs unchanged.
"""

from __future__ import annotations

from pathlib import Path

import torch

from nn2gpt.errors import UserError
from nn2gpt.files import atomic_write


def attention_weights(model, idx: torch.Tensor) -> list[torch.Tensor]:
    """One forward pass on idx (1, T); the attention weights (n_head, T, T) of every layer, in order."""
    if not model.attention_layers():
        raise UserError(f"the {model.cfg.model} model has no attention to show; train --model attention, multihead or gpt")
    return look_inside(model, idx)[0]


def look_inside(model, idx: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """One forward pass on idx (1, T): (every layer's attention weights [(n_head, T, T)], logits (1, T, V)).
    A model without attention (the bigram) gives an empty list."""
    from nn2gpt.gpt.trace import forward_then_unhook
    layers = model.attention_layers()
    found: list[torch.Tensor] = []

    def ask(module, args, kwargs):
        return args, kwargs | {"return_weights": True}

    def take(module, args, kwargs, output):
        y, weights = output
        found.append(weights[0].detach())  # (nh, T, T) of the first (only) sequence
        return y

    handles = [h for m in layers for h in (m.register_forward_pre_hook(ask, with_kwargs=True),
                                           m.register_forward_hook(take, with_kwargs=True))]
    return found, forward_then_unhook(model, idx, handles)


def word_position(pieces: list[str], word: str, last: bool) -> int | None:
    """The position of the token that spells `word` (spaces aside): the first or the last one."""
    hits = [i for i, p in enumerate(pieces) if p.strip() == word]
    return (hits[-1] if last else hits[0]) if hits else None


def heads_from_to(run_dir, text: str, query: str, key: str, data_dir=None) -> list[tuple[int, int, float]]:
    """Which heads send the word `query` to the word `key`? Every (layer, head, weight) of the
    attention from `query`'s token (its last occurrence) to `key`'s (its first one before it),
    largest first: with GPT-2, `query="it", key="pizza"` asks which heads resolve the pronoun."""
    from nn2gpt.gpt.runs import load_model

    model, tok, _ = load_model(run_dir, "cpu", data_dir)
    ids = tok.encode(text)[-model.cfg.block_size:]
    pieces = [tok.decode([i]) for i in ids]
    q = word_position(pieces, query, last=True)
    k = word_position(pieces[:q] if q is not None else [], key, last=False)
    if q is None or k is None:
        missing = query if q is None else f"{key} (before {query})"
        raise UserError(f"no token of the text spells {missing!r}; its tokens are "
                        f"{' '.join(repr(p) for p in pieces[:40])}")
    maps = attention_weights(model, torch.tensor([ids]))  # [(nh, T, T)] per layer
    found = [(layer, head, float(w[head, q, k])) for layer, w in enumerate(maps) for head in range(w.shape[0])]
    return sorted(found, key=lambda r: -r[2])


def attention_heatmaps(run_dir, text: str, out: Path, data_dir=None) -> Path:
    """Save a grid of heatmaps (rows = layers, columns = heads) for `text` to the PNG `out`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nn2gpt.gpt.runs import load_model

    model, tok, _ = load_model(run_dir, "cpu", data_dir)
    ids = tok.encode(text)
    if not ids:
        raise UserError("the text is empty; give a few words to look at")
    ids = ids[-model.cfg.block_size:]  # the model sees at most block_size tokens
    labels = [tok.decode([i]).replace("\n", "\\n") for i in ids]
    maps = attention_weights(model, torch.tensor([ids]))
    n_layer, n_head = len(maps), maps[0].shape[0]
    size = max(2.5, 0.18 * len(ids))
    fig, axes = plt.subplots(n_layer, n_head, figsize=(size * n_head, size * n_layer), squeeze=False)
    for layer, weights in enumerate(maps):
        for head in range(n_head):
            ax = axes[layer][head]
            ax.imshow(weights[head].numpy(), cmap="viridis", vmin=0, vmax=1)
            ax.set_title(f"layer {layer} head {head}", fontsize=9)
            ax.set_xticks(range(len(ids)), labels, fontsize=6)
            ax.set_yticks(range(len(ids)), labels, fontsize=6)
    axes[0][0].set_ylabel("query (attends from)")
    axes[-1][0].set_xlabel("key (attends to)")
    fig.tight_layout()
    atomic_write(out, lambda tmp: fig.savefig(tmp, format="png", dpi=90))
    plt.close(fig)
    return out
