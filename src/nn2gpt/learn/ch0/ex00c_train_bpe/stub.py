"""Exercise 00c (chapter 0, tokens): the BPE training loop.

    ids = the bytes of each chunk                              (a chunk: a piece of the text, 00f)
    for i in 0, 1, ..., n_merges - 1:
        counts = every neighbouring pair of every chunk, counted   (count_pairs, 00a)
        if there is no pair left: stop                              (every chunk is one token)
        best   = the most frequent pair
        replace best by the new id 256 + i in every chunk           (merge, 00b)
        remember best: it is merge i
    return the merges, [(a, b), ...]

The input is a text already cut into chunks and counted (nn2gpt.tokens.pairs.chunk_counts):

    chunks = {b" the": 5370, b" and": 3498, b"First": 63, ...}     dict[bytes, int]

list(chunk) is a chunk's ids, and a chunk that occurs w times counts each of its pairs w times:
count_pairs(ids, counts, w). (Grouping equal chunks is what lets this loop train on Tiny
Shakespeare in seconds: 15,057 distinct chunks instead of 297,833.)

The tie-break rule - it decides the merges whenever two pairs have the same count, and it is
the chapter's (nn2gpt.tokens.pairs.pair_key): the best pair is the one with the highest count;
among equal counts, the smallest pair, (a, b) < (c, d) when a < c, or a == c and b < d. As one
key: the pair whose (-count, a, b) is smallest.

Return a list of (a, b) tuples of ints; merge i makes id 256 + i. Leave `chunks` as it is.
"""

from nn2gpt.learn.ch0 import count_pairs, merge   # exercises 00a and 00b (the chapter's; yours do the same)


def train(chunks, n_merges):
    """chunks {bytes: count} -> merges [(a, b), ...], at most n_merges; merge i makes id 256 + i."""
    raise NotImplementedError("write train(chunks, n_merges)")
