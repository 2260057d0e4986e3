"""The BPE trainer written out: count every pair, merge the most frequent, count again.

    ids = the bytes of each chunk
    repeat until there are vocab_size tokens (or no pair is left):
        counts = every neighbouring pair in every chunk, counted
        (a, b) = the pair with the highest count (ties: the smallest ids, pairs.pair_key)
        z = the next free id (256, 257, ...)
        replace (a, b) by z in every chunk

Each merge reads the whole text again, so k merges over n bytes cost about k * n steps:
seconds for a few hundred kilobytes and a few hundred merges, hours for Tiny Shakespeare at
4,096 tokens. `fast.py` finds the very same merges without reading what a merge did not touch.
"""

from __future__ import annotations

from nn2gpt.tokens.pairs import Pair, count_pairs, merge, pair_key


def train_naive(chunks: list[bytes], n_merges: int, progress=None) -> list[Pair]:
    """The first `n_merges` merges of `chunks` (fewer when the chunks run out of pairs), in order.

    Merge i makes token 256 + i. `chunks` is every chunk as it occurs, repeats included: this
    trainer does not even group equal chunks. `progress(i)` is called after merge i."""
    ids = [list(chunk) for chunk in chunks]
    merges: list[Pair] = []
    for i in range(n_merges):
        counts: dict = {}
        for chunk in ids:
            count_pairs(chunk, counts)
        if not counts:
            break  # every chunk is one token: nothing is left to merge
        best = min(counts, key=lambda pair: pair_key(pair, counts[pair]))
        new_id = 256 + i
        ids = [merge(chunk, best, new_id) if len(chunk) > 1 else chunk for chunk in ids]
        merges.append(best)
        if progress is not None:
            progress(i + 1)
    return merges
