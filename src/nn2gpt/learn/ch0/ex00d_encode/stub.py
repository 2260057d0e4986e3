"""Exercise 00d (chapter 0, tokens): encode a text with the merges, by rank.

The merges are a list: merges[i] = (a, b) makes the id 256 + i, and i is its RANK, the order
in which training learnt it. To encode a text:

    ids = list(text.encode("utf-8"))                     the bytes, 0..255 (not ord(): bytes)
    repeat:
        among the neighbouring pairs of ids, take the one with the LOWEST rank
        if none of them is a merge: stop
        merge it everywhere (merge, 00b) into its id 256 + rank

This gives the text exactly the tokens training's own text got: a merge only makes pairs with
its new id, which only later merges use, so the pair learnt first is always the one to apply
first. Note what it is not: training's rule. Training merges the most FREQUENT pair; encoding
never counts anything - the text being encoded may be one line, and its own frequencies mean
nothing.

    merges = [(104, 101), (256, 108)]            "he" is 256, then "hel" is 257
    encode("hello", merges)  ->  [257, 108, 111]

Types: text str, merges list of (a, b) -> list[int]. Leave `merges` as it is.
"""

from nn2gpt.learn.ch0 import count_pairs, merge   # exercises 00a and 00b (the chapter's; yours do the same)


def encode(text, merges):
    """text str, merges [(a, b), ...] (merge i makes id 256 + i) -> the ids, list[int]."""
    raise NotImplementedError("write encode(text, merges)")
