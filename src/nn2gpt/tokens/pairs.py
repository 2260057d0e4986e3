"""The pieces both trainers share: chunks, pair counts, one merge, and the tie-break rule.

Bytes first. `"héllo 👋".encode("utf-8")` is 11 numbers in 0..255 ("é" is 2 bytes, the emoji
4), so with the 256 byte values as the first tokens every string has an encoding: there is
no unknown character, ever. That is what "byte-level" means.

A pair is two neighbouring tokens (a, b). In `[a, a, a]` the pair (a, a) occurs twice, at
positions 0 and 1: occurrences may overlap, and the counts count them all. Merging (a, b) into
a new token z scans left to right and replaces each (a, b) it meets, then continues after it:
`[a, a, a] -> [z, a]` and `[a, a, a, a] -> [z, z]`. Both trainers and the encoder merge this way.

The pre-split. Training on the raw text would let a merge cross a word boundary: "e t" in
"the tree" could become one token, and "dog." "dog!" "dog?" three tokens that each waste
room on punctuation. GPT-2 first cuts the text into chunks with a regular expression (letters
with one leading space, numbers, runs of other symbols, whitespace) and merges only inside a
chunk, so a token is a piece of one word, one number or one run of symbols. `split=False`
(`--no-split`) keeps the whole text as one chunk.

The tie-break, ONE rule for both trainers: the pair merged next is the one with the highest
count; among pairs with equal counts, the one whose ids are smallest as a pair compared
lexicographically, (a, b) < (c, d) when a < c, or a == c and b < d. `pair_key` is that rule as
a sort key: the smallest key wins.
"""

from __future__ import annotations

from collections import Counter

# GPT-2's pre-split (Radford et al., 2019): contractions, letters, numbers, other symbols,
# whitespace. Chapter 2's GPT-2 tokenizer (nn2gpt.gpt.tokenizer) takes it from here.
GPT2_SPLIT = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
GPT2_EOT = "<|endoftext|>"
GPT2_EOT_ID = 50256

Pair = tuple[int, int]


def pair_key(pair: Pair, count: int) -> tuple[int, int, int]:
    """The order in which pairs are merged: smallest key first (highest count, then smallest ids)."""
    return (-count, pair[0], pair[1])


def split_pattern(split: bool) -> str | None:
    """The pre-split regular expression (GPT-2's), or None for no split."""
    return GPT2_SPLIT if split else None


def chunks(text: str, pattern: str | None) -> list[str]:
    """The text cut by `pattern` into the chunks merges stay inside; the whole text when None.

    The pieces always join back to the text: GPT-2's pattern matches every character (its last
    alternatives take any whitespace, the others everything else)."""
    if pattern is None:
        return [text] if text else []
    import regex  # \p{L} (any letter) needs the `regex` module; tiktoken depends on it too

    return regex.findall(pattern, text)


def chunk_counts(text: str, pattern: str | None) -> Counter:
    """{chunk's bytes: how often it occurs}. Tiny Shakespeare's 297,833 chunks are 15,057
    distinct ones, 109,448 bytes of its 1,115,394: a trainer that works on these reads a tenth."""
    return Counter(c.encode("utf-8") for c in chunks(text, pattern))


def count_pairs(ids, counts: dict | None = None, weight: int = 1) -> dict:
    """Add each neighbouring pair of `ids` to `counts` (`weight` times): overlapping ones too."""
    counts = {} if counts is None else counts
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + weight
    return counts


def merge(ids: list[int], pair: Pair, new_id: int) -> list[int]:
    """`ids` with every occurrence of `pair` replaced by `new_id`, scanning left to right."""
    out, i, n = [], 0, len(ids)
    a, b = pair
    while i < n:
        if i + 1 < n and ids[i] == a and ids[i + 1] == b:
            out.append(new_id)
            i += 2  # the second token is used up: in [a, a, a] the middle a joins the first pair only
        else:
            out.append(ids[i])
            i += 1
    return out
