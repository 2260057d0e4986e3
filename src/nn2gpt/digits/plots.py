"""Pictures for chapter 1: the learning curve and a grid of misclassified digits (PNG files).

matplotlib is imported inside the functions, with the Agg backend (no display needed).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from nn2gpt.files import atomic_write_bytes


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | os.PathLike) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    _pyplot().close(fig)
    return atomic_write_bytes(path, buf.getvalue())


def learning_curve(history: dict, path: str | os.PathLike, reference: dict | None = None) -> Path:
    """Accuracy per epoch (left) and cost per epoch (right) for the data that was monitored; with
    `reference` (another run's history, `nn2gpt learn run digits`'), its validation curves dashed."""
    plt = _pyplot()
    fig, (acc_ax, cost_ax) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = history["epoch"]
    for key, label in (("training_accuracy", "train"), ("evaluation_accuracy", "validation"),
                       ("test_accuracy", "test")):
        if history.get(key):
            acc_ax.plot(epochs[:len(history[key])], [100 * v for v in history[key]], marker=".", label=label)
    for key, label in (("training_cost", "train"), ("evaluation_cost", "validation")):
        if history.get(key):
            cost_ax.plot(epochs[:len(history[key])], history[key], marker=".", label=label)
    for ax, key, scale in ((acc_ax, "evaluation_accuracy", 100), (cost_ax, "evaluation_cost", 1)):
        if reference and reference.get(key):
            ax.plot(reference["epoch"][:len(reference[key])], [scale * v for v in reference[key]], "--",
                    color="0.45", label="validation, reference")
    acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    cost_ax.set(xlabel="epoch", ylabel="cost", title="cost (with the L2 term)")
    for ax in (acc_ax, cost_ax):
        if ax.lines:
            ax.legend()
        ax.grid(alpha=0.3)
    return _save(fig, path)


def misclassified_grid(images: np.ndarray, labels: np.ndarray, predicted: np.ndarray,
                       path: str | os.PathLike, max_digits: int = 48) -> Path:
    """images (n, 784), labels (n,), predicted (n,): the wrong ones, each labelled true/pred.

    One mosaic image with text on top (not one matplotlib axes per digit, which is slow).
    """
    plt = _pyplot()
    all_wrong = np.flatnonzero(predicted != labels)
    wrong = all_wrong[:max_digits]
    cols, cell = 8, 36                                   # 28 px digit + room for the label
    rows = max(1, -(-len(wrong) // cols))
    mosaic = np.zeros((rows * cell, cols * cell))        # 0 = white with the gray_r colormap
    for k, i in enumerate(wrong):
        r, c = divmod(k, cols)
        mosaic[r * cell + 8:r * cell + 36, c * cell + 4:c * cell + 32] = images[i].reshape(28, 28)
    fig, ax = plt.subplots(figsize=(cols * 1.1, rows * 1.1 + 0.4))
    ax.imshow(mosaic, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    for k, i in enumerate(wrong):
        r, c = divmod(k, cols)
        ax.text(c * cell + cell / 2, r * cell + 4, f"true {labels[i]} / pred {predicted[i]}",
                ha="center", va="center", fontsize=6, color="firebrick")
    ax.axis("off")
    shown = f" (first {len(wrong)} shown)" if len(wrong) < len(all_wrong) else ""
    ax.set_title(f"{len(all_wrong)} of {len(labels)} test digits misclassified{shown}", fontsize=9)
    return _save(fig, path)
