"""The lab's pictures: small PNGs (about 30-80 kB each) that a Markdown report can embed.

Every function takes plain numbers (lists, dicts, numpy arrays), writes one PNG atomically
and returns its path. matplotlib is imported inside the functions with the Agg backend, so
nothing needs a display and `nn2gpt --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path

from nn2gpt.files import atomic_write

DPI = 90


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    plt = _pyplot()
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=DPI, format="png"))
    plt.close(fig)
    return Path(path)


def loss_curves(path: Path, curves: dict[str, list[list[tuple[int, float]]]], title: str) -> Path:
    """Validation loss against training step: the mean over seeds as a line, min..max shaded.

    `curves` maps variant name -> one [(step, val_loss), ...] list per seed.
    """
    import numpy as np

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, per_seed in curves.items():
        n = min(len(c) for c in per_seed)  # seeds can log a different number of points
        if n == 0:
            continue
        steps = np.array([s for s, _ in per_seed[0][:n]])
        losses = np.array([[v for _, v in c[:n]] for c in per_seed])  # (seeds, points)
        line, = ax.plot(steps, losses.mean(0), label=name, lw=1.6)
        if len(per_seed) > 1:
            ax.fill_between(steps, losses.min(0), losses.max(0), color=line.get_color(), alpha=0.15)
    ax.set_xlabel("training step")
    ax.set_ylabel("validation loss (nats / char)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    return _save(fig, path)


def final_loss_bars(path: Path, finals: dict[str, list[float]], title: str) -> Path:
    """Final validation loss per variant: bar = mean over seeds, whisker = std, dots = seeds."""
    import numpy as np

    plt = _pyplot()
    names = list(finals)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    means = [float(np.mean(finals[n])) for n in names]
    stds = [float(np.std(finals[n])) for n in names]
    x = np.arange(len(names))
    ax.bar(x, means, yerr=stds, capsize=4, color="#8fb3d9", edgecolor="#335")
    for i, n in enumerate(names):
        ax.plot([i] * len(finals[n]), finals[n], "k.", ms=4)
    ax.set_xticks(x, names, rotation=20, ha="right", fontsize=9)
    ax.set_ylabel("final validation loss")
    ax.set_ylim(max(0.0, min(means) - 0.3), max(m + s for m, s in zip(means, stds)) + 0.15)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def entropy_vs_head_size(path: Path, by_score: dict[str, dict[int, float]], max_entropy: float) -> Path:
    """Mean attention entropy of random q, k against head size, one line per score function."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for score, points in by_score.items():
        sizes = sorted(points)
        ax.plot(sizes, [points[d] for d in sizes], "o-", label=score)
    ax.axhline(max_entropy, color="gray", ls="--", lw=1, label="uniform (largest possible)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("head size d (numbers per query/key)")
    ax.set_ylabel("mean entropy of attention rows (nats)")
    ax.set_ylim(bottom=0)
    ax.set_title("Random q, k ~ N(0, 1): does the softmax saturate?")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def grouped_bars(path: Path, groups: dict[str, dict[str, float]], ylabel: str, title: str) -> Path:
    """One group of bars per variant, one bar per measurement (e.g. the three mask losses)."""
    import numpy as np

    plt = _pyplot()
    names = list(groups)
    measures = list(next(iter(groups.values())))
    width = 0.8 / len(measures)
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    for j, m in enumerate(measures):
        xs = np.arange(len(names)) + (j - (len(measures) - 1) / 2) * width
        vals = [groups[n][m] for n in names]
        bars = ax.bar(xs, vals, width, label=m)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks(np.arange(len(names)), names)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def matrix_heatmap(path: Path, matrix, title: str, xlabel: str, ylabel: str, cmap: str = "RdBu_r",
                   centered: bool = True) -> Path:
    """A matrix as a heatmap with a colour bar (the positional-encoding pictures)."""
    import numpy as np

    plt = _pyplot()
    m = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    lim = float(np.abs(m).max()) or 1.0
    kw = {"vmin": -lim, "vmax": lim} if centered else {}
    im = ax.imshow(m, aspect="auto", cmap=cmap, interpolation="nearest", **kw)
    fig.colorbar(im, ax=ax)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return _save(fig, path)


def attention_grid(path: Path, weights, chars: str, title: str) -> Path:
    """Attention weights (n_layer, n_head, T, T) as a grid of heatmaps labelled with characters.

    Row = the position that is looking (query), column = the position looked at (key).
    """
    import numpy as np

    plt = _pyplot()
    w = np.asarray(weights)
    L, H, T, _ = w.shape
    labels = [repr(c)[1:-1] if c in "\n\t" else c for c in chars]
    fig, axes = plt.subplots(L, H, figsize=(2.6 * H + 0.5, 2.6 * L + 0.9), squeeze=False)
    for layer in range(L):
        for head in range(H):
            ax = axes[layer][head]
            # each panel scaled to its own largest weight, so diffuse heads still show their pattern
            ax.imshow(w[layer, head], cmap="viridis", vmin=0, vmax=float(w[layer, head].max()) or 1.0,
                      interpolation="nearest")
            ax.set_title(f"layer {layer} head {head}", fontsize=8)
            ax.set_xticks(range(T), labels, fontsize=6)
            ax.set_yticks(range(T), labels, fontsize=6)
    fig.suptitle(title + "\n(row: the character looking; column: the character looked at; "
                 "each panel scaled to its own maximum)", fontsize=9)
    return _save(fig, path)


def loss_vs_head_size(path: Path, by_score: dict[str, dict[int, list[float]]], title: str) -> Path:
    """Final validation loss against head size (same total width), one line per score function:
    the mean over seeds, with the seed-to-seed standard deviation as error bars."""
    import numpy as np

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for score, points in by_score.items():
        sizes = sorted(points)
        ax.errorbar(sizes, [float(np.mean(points[d])) for d in sizes], yerr=[float(np.std(points[d])) for d in sizes],
                    fmt="o-", capsize=3, label=score)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("head size d (the total width stays the same: fewer, larger heads)")
    ax.set_ylabel("final validation loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)
