"""Batches built by token count from length-sorted buckets, so little compute goes to padding.

A batch is a rectangle: every sentence is padded to the longest one in it. Mixing a 5-token
sentence with a 50-token one wastes 45 slots. So we sort the pairs by length (with a little
random jitter, so batches differ between epochs), cut the sorted list into batches whose
*padded* size stays under `max_tokens`, and shuffle the order of the batches. Short sentences
get big batches, long ones small batches, and each batch costs about the same.
"""

from __future__ import annotations

import numpy as np


def encode_pairs(tok, pairs: list[tuple[str, str]]) -> list[tuple[list[int], list[int]]]:
    """Token ids of each (source, target); the target gets <s> ... </s>, the source only </s>."""
    src = tok.encode_batch([s for s, _ in pairs])
    tgt = tok.encode_batch([t for _, t in pairs], target=True)
    return [(s + [tok.eos_id], [tok.bos_id] + t + [tok.eos_id]) for s, t in zip(src, tgt)]


def token_batches(examples, max_tokens: int, rng: np.random.Generator | None = None) -> list[list[int]]:
    """Split example indices into batches of at most `max_tokens` padded tokens (source or target side).

    With `rng` the sort gets jitter and the batch order is shuffled (training); without it the
    batches are deterministic (evaluation).
    """
    lengths = np.array([max(len(s), len(t)) for s, t in examples], dtype=np.float64)
    keys = lengths + (rng.random(len(lengths)) if rng is not None else 0.0)  # jitter < 1 token
    order = np.argsort(keys, kind="stable")
    batches, current, longest = [], [], 0
    for i in order:
        n = int(lengths[i])
        if current and max(longest, n) * (len(current) + 1) > max_tokens:
            batches.append(current)
            current, longest = [], 0
        current.append(int(i))
        longest = max(longest, n)
    if current:
        batches.append(current)
    if rng is not None:
        rng.shuffle(batches)
    return batches


def pad(seqs: list[list[int]], pad_id: int) -> np.ndarray:
    """(B, T) int64 array, right-padded with `pad_id`."""
    out = np.full((len(seqs), max(len(s) for s in seqs)), pad_id, dtype=np.int64)
    for row, s in enumerate(seqs):
        out[row, :len(s)] = s
    return out


def collate(examples, batch: list[int], pad_id: int):
    """(src (B, S), tgt_in (B, T), tgt_out (B, T)) numpy arrays; tgt_out is tgt_in shifted by one."""
    src = pad([examples[i][0] for i in batch], pad_id)
    tgt = pad([examples[i][1] for i in batch], pad_id)
    return src, tgt[:, :-1], tgt[:, 1:]  # teacher forcing: read <s> y1..y(n-1), predict y1..yn </s>
