"""Counting the neighbouring pairs of a list of ids."""


def count_pairs(ids, counts=None, weight=1):
    """ids list[int] -> {(a, b): how often b follows a}, added into `counts` (weight each time) if given."""
    counts = {} if counts is None else counts
    for i in range(len(ids) - 1):              # a pair starts at every place but the last
        pair = (ids[i], ids[i + 1])
        counts[pair] = counts.get(pair, 0) + weight
    return counts
