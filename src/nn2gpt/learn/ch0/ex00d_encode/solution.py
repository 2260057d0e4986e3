"""Encoding: a text's UTF-8 bytes, then the merges applied by rank."""

from nn2gpt.learn.ch0 import count_pairs, merge   # exercises 00a and 00b (the chapter's; yours do the same)


def encode(text, merges):
    """text str, merges [(a, b), ...] (merge i makes id 256 + i) -> the ids, list[int]."""
    ranks = {pair: 256 + i for i, pair in enumerate(merges)}    # pair -> its new id; a lower id was learnt earlier
    ids = list(text.encode("utf-8"))
    while len(ids) >= 2:
        counts = count_pairs(ids)
        pair = min(counts, key=lambda p: ranks.get(p, float("inf")))
        if pair not in ranks:
            break                                               # no neighbouring pair is a merge
        ids = merge(ids, pair, ranks[pair])
    return ids
