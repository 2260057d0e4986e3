"""Attention as pictures: which source subwords each position looks at.

For one sentence we translate it, then run the model once more with teacher forcing on its own
translation and keep the attention weights:

- `encoder_layer{i}.png`: encoder self-attention of layer i, one panel per head plus their mean.
  Row = the source subword that asks (query), column = the source subword it reads (key).
- `cross_layer{i}.png`: decoder cross-attention of layer i, per head plus the mean. Row = the
  English subword being *produced*, column = the source subword it reads.
- `cross_mean.png`: cross-attention averaged over all layers and heads, the one-picture summary.

Every row sums to 1 (a softmax); darker = more weight. The weights say where a head *reads*,
not why the model decided anything; reading them as explanations needs care.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def attention_maps(model, tok, sentence: str, beam: int = 4, alpha: float = 0.6):
    """(source labels, target labels, encoder weights [(nh, S, S)], cross weights [(nh, T, S)], translation)."""
    import torch

    from nn2gpt.translate.decode import translate
    from nn2gpt.translate.lines import prepare_sentence

    sentence = prepare_sentence(model, tok, sentence)
    translation = translate(model, tok, [sentence], beam, alpha)[0]
    src_ids = tok.encode(sentence) + [tok.eos_id]
    out_ids = tok.encode(translation, target=True)[: model.max_len - 2]
    src = torch.tensor([src_ids])  # (1, S)
    tgt_in = torch.tensor([[tok.bos_id] + out_ids])  # (1, T) what the decoder reads
    with torch.inference_mode():
        memory, src_keep, enc_w = model.encode(src, return_weights=True)  # [(1, nh, S, S)] per layer
        _, cross_w = model.decode(tgt_in, memory, src_keep, return_weights=True)  # [(1, nh, T, S)] per layer
    src_labels = [tok.id_to_token(i) for i in src_ids]
    tgt_labels = [tok.id_to_token(i) for i in out_ids] + ["</s>"]  # row t = the token produced at t
    return (src_labels, tgt_labels, [w[0].numpy() for w in enc_w], [w[0].numpy() for w in cross_w], translation)


def _heatmap(ax, weights, rows, cols, title):
    ax.imshow(weights, cmap="Blues", vmin=0.0, vmax=max(float(weights.max()), 1e-6), aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=90, fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.set_title(title, fontsize=9)


def _save_panels(path: Path, panels, rows, cols, suptitle: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nn2gpt.files import atomic_write

    n = len(panels)
    ncols = min(n, 3)
    nrows = (n + ncols - 1) // ncols
    cell = 0.28 * max(len(rows), len(cols)) + 1.5
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols, cell * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax, (title, w) in zip(axes.flat, panels):
        _heatmap(ax, w, rows, cols, title)
    fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=80))
    plt.close(fig)
    return path


@dataclass
class AttentionConfig:
    """What `nn2gpt translate attention` draws: one sentence through the model `model`."""

    sentence: str
    model: str  # a run directory of `nn2gpt translate train`
    out: str = "attention"  # the directory for the PNG files
    beam: int = 4
    alpha: float = 0.6


def draw_attention(cfg: AttentionConfig) -> list[Path]:
    """Translate cfg.sentence, write its attention PNGs into cfg.out and return their paths."""
    from nn2gpt.files import make_dirs
    from nn2gpt.translate.evaluate import load_run

    model, tok, _ = load_run(cfg.model)
    src, tgt, enc, cross, translation = attention_maps(model, tok, cfg.sentence, cfg.beam, cfg.alpha)
    out = make_dirs(cfg.out)
    print(f"{cfg.sentence.strip()}\n-> {translation}")
    paths = []
    for i, w in enumerate(enc):  # w (nh, S, S)
        panels = [(f"head {h}", w[h]) for h in range(w.shape[0])] + [("mean of heads", w.mean(0))]
        paths.append(_save_panels(out / f"encoder_layer{i}.png", panels, src, src,
                                  f"encoder self-attention, layer {i} (row = query, column = key)"))
    for i, w in enumerate(cross):  # w (nh, T, S)
        panels = [(f"head {h}", w[h]) for h in range(w.shape[0])] + [("mean of heads", w.mean(0))]
        paths.append(_save_panels(out / f"cross_layer{i}.png", panels, tgt, src,
                                  f"decoder cross-attention, layer {i} (row = token produced)"))
    mean = sum(w.mean(0) for w in cross) / len(cross)  # (T, S)
    paths.append(_save_panels(out / "cross_mean.png", [("all layers and heads", mean)], tgt, src,
                              f"cross-attention: {translation}"))
    return paths
