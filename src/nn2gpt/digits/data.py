"""The digits, in the two shapes a learner meets them.

The book's `mnist_loader.load_data_wrapper()` hands `Network` Python lists of tuples:
    training_data: [(x, y), ...]  x (784, 1) pixels in [0, 1], y (10, 1) one-hot
    test_data:     [(x, d), ...]  x (784, 1), d an int 0-9
`book_format` builds exactly that, so the book's code and ours read the same.

Internally `Network` keeps one matrix per split (`to_matrices`): images X (n, 784), one row per
example, and labels (n,). A mini-batch is then a slice X[idx] (m, 784), whose transpose is the
book's (784, m) matrix of columns: no Python loop over examples, no copying of columns.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


def one_hot(labels: np.ndarray, n_classes: int = 10, dtype=np.float64) -> np.ndarray:
    """labels (n,) ints -> (n, n_classes) rows with a single 1.0 at the label."""
    out = np.zeros((len(labels), n_classes), dtype=dtype)
    out[np.arange(len(labels)), labels] = 1.0
    return out


def book_format(images: np.ndarray, labels: np.ndarray, vector_labels: bool) -> list[tuple]:
    """(n, 784), (n,) -> the book's list of (x (784, 1), y) tuples; y (10, 1) one-hot if
    `vector_labels` (training data) else the int label (validation and test data)."""
    ys = one_hot(labels, dtype=images.dtype)[:, :, None] if vector_labels else labels
    return [(x.reshape(-1, 1), y if vector_labels else int(y)) for x, y in zip(images, ys)]


def to_matrices(data: Any, n_in: int, n_out: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Accept what a learner might pass and return X (n, n_in) of `dtype` and labels (n,) int.

    Accepted: an `nn2gpt.data.mnist.Split` (.images, .labels); a pair of arrays (X, labels);
    or the book's list of (x, y) tuples with x (n_in, 1) and y (n_out, 1) one-hot or an int.
    """
    if hasattr(data, "images") and hasattr(data, "labels"):
        X, labels = data.images, data.labels
    elif isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], np.ndarray) and data[0].ndim == 2:
        X, labels = data
    else:
        data = list(data)
        if not data:
            raise ValueError("no examples given")
        X = np.stack([np.asarray(x).reshape(-1) for x, _ in data])
        labels = np.array([int(np.argmax(y)) if np.ndim(y) else int(y) for _, y in data])
    X, labels = np.asarray(X, dtype=dtype), np.asarray(labels).astype(np.int64).reshape(-1)
    if X.ndim != 2 or X.shape[1] != n_in or len(X) != len(labels):
        raise ValueError(f"expected images (n, {n_in}) and labels (n,), got {X.shape} and {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_out):
        raise ValueError(f"labels must be in 0..{n_out - 1}")
    return np.ascontiguousarray(X), labels


def trace_loading(mnist, print_fn: Callable[[str], None] = print) -> None:
    """Print the shapes a learner should picture when the data is loaded."""
    print_fn("data loading:")
    for name in ("train", "validation", "test"):
        split = getattr(mnist, name)
        print_fn(f"  {name:<10} images {split.images.shape} {split.images.dtype}, labels {split.labels.shape} "
                 f"{split.labels.dtype}")
    x, d = mnist.train.images[0], int(mnist.train.labels[0])
    print_fn(f"  one example, the book's way: x = image.reshape(784, 1) {x.reshape(-1, 1).shape}, "
             f"y = one_hot({d}) {(10, 1)}")
