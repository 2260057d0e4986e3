"""The real data `nn2gpt learn trace` runs an exercise on, through the datasets' own loaders.

One example each, small enough to read in a terminal and real enough to be the road's:

    digits(n)        the first n MNIST test digits as columns (784, n) in [0, 1], labels one-hot (10, n)
    shakespeare()    Tiny Shakespeare's text; line(k) its k-th line
    char_batch(B, T) B windows of T characters of it, ids of the lecture's character tokenizer
    pairs(n)         the first n German-English test pairs of Multi30k, split into words

Each is read once per process (the trace builds its example twice: the learner's run and the
reference's). A dataset that is missing is the loaders' one line (`nn2gpt data fetch NAME`).
"""

from __future__ import annotations

import functools
import re

import numpy as np


@functools.lru_cache(maxsize=1)
def shakespeare() -> str:
    from nn2gpt.data.text import read_text

    return read_text(None)


def line(k: int) -> str:
    return shakespeare().splitlines()[k]


@functools.lru_cache(maxsize=1)
def _mnist_test():
    # the test file alone: reading all 70,000 digits takes seconds, one digit needs none of them
    from nn2gpt.data.fetch import fetch
    from nn2gpt.data.mnist import read_idx

    images = read_idx(fetch("mnist", "t10k-images-idx3-ubyte.gz"), 3)
    labels = read_idx(fetch("mnist", "t10k-labels-idx1-ubyte.gz"), 1)
    return images, labels


def digits(n: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """x (784, n) float64 in [0, 1] as load_mnist scales them, y (10, n) one-hot, the labels."""
    images, labels = _mnist_test()
    x = images[:n].reshape(n, 784).T.astype(np.float64) / 255.0
    y = np.zeros((10, n))
    y[labels[:n], np.arange(n)] = 1.0
    return x, y, [int(d) for d in labels[:n]]


def char_batch(B: int, T: int) -> tuple[np.ndarray, np.ndarray, int]:
    """x, y (B, T) int64 (y is x shifted by one), windows spread over the text; -> (x, y, vocab size)."""
    from nn2gpt.gpt.batches import windows
    from nn2gpt.gpt.tokenizer import CharTokenizer

    text = shakespeare()
    tok = CharTokenizer.from_text(text)
    data = np.asarray(tok.encode(text[:200_000]), dtype=np.int64)
    starts = np.linspace(0, len(data) - T - 1, B).round().astype(np.int64)
    x, y = windows(data, starts, T)
    return x, y, tok.vocab_size


@functools.lru_cache(maxsize=1)
def _multi30k():
    from nn2gpt.data.translation import load_multi30k

    return load_multi30k()["test"]


def words(sentence: str) -> list[str]:
    return re.findall(r"\w+|[^\w\s]", sentence.lower())


def pairs(n: int) -> tuple[list[tuple[str, str]], list[str]]:
    """The first n test pairs and one vocabulary for both sides: <pad> 0, <bos> 1, <eos> 2, then words."""
    chosen = _multi30k()[:n]
    vocab = ["<pad>", "<bos>", "<eos>", *sorted({w for pair in chosen for s in pair for w in words(s)})]
    return chosen, vocab


def padded(rows: list[list[int]], pad: int = 0) -> np.ndarray:
    """Rows of ids of different lengths as one (len(rows), longest) array, filled with `pad`."""
    out = np.full((len(rows), max(map(len, rows))), pad, dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, :len(row)] = row
    return out
