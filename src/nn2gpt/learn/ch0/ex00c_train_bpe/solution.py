"""The BPE training loop: count every pair, merge the most frequent, count again."""

from nn2gpt.learn.ch0 import count_pairs, merge   # exercises 00a and 00b (the chapter's; yours do the same)


def train(chunks, n_merges):
    """chunks {bytes: count} -> merges [(a, b), ...], at most n_merges; merge i makes id 256 + i."""
    ids = [list(chunk) for chunk in chunks]         # each distinct chunk's bytes, 0..255
    weights = list(chunks.values())                 # how often each occurs in the text
    merges = []
    for i in range(n_merges):
        counts = {}
        for chunk, w in zip(ids, weights):
            count_pairs(chunk, counts, w)
        if not counts:
            break                                   # every chunk is one token: no pair is left
        best = min(counts, key=lambda pair: (-counts[pair], pair[0], pair[1]))   # highest count, then smallest ids
        new_id = 256 + i
        # a chunk without best's first id has nothing to merge (most have not): `in` looks, merge rebuilds
        ids = [merge(chunk, best, new_id) if best[0] in chunk else chunk for chunk in ids]
        merges.append(best)
    return merges
