"""00c_train_bpe: its check (`nn2gpt learn check train_bpe`) and its trace example (`nn2gpt learn trace train_bpe`)."""

from __future__ import annotations

from nn2gpt.learn.ch0 import variants as v
from nn2gpt.learn.ch0.common import expect_merges, first_difference, shakespeare
from nn2gpt.learn.checking import CheckFailed, need, unchanged
from nn2gpt.learn.example_data import line
from nn2gpt.tokens.fast import train_fast
from nn2gpt.tokens.pairs import GPT2_SPLIT, chunk_counts


def check(module) -> None:
    f = need(module, "train", "train(chunks, n_merges)")
    tie = {b"cdcd": 1, b"abab": 1}
    given = dict(tie)
    got = f(given, 2)
    unchanged(given, tie, "train", "chunks")
    got = expect_merges(got, "train({b'cdcd': 1, b'abab': 1}, 2)", 2)
    if got[:1] == [(99, 100)]:
        raise CheckFailed("ties broken another way: (97, 98) 'ab' and (99, 100) 'cd' both occur twice, and among "
                          "equal counts the smallest pair wins: the smallest key (-count, a, b), "
                          "nn2gpt.tokens.pairs.pair_key")
    one = expect_merges(f({b"ab": 3}, 5), "train({b'ab': 3}, 5)", 5)
    if one != [(97, 98)]:
        raise CheckFailed(f"train({{b'ab': 3}}, 5) is {one}, expected [(97, 98)]: after that merge the chunk is one "
                          f"token and no pair is left; stop there (fewer merges than asked)")
    chunks, n = chunk_counts(shakespeare()[:10000], GPT2_SPLIT), 40
    got = expect_merges(f(dict(chunks), n), f"train(chunks, {n})", n)
    want = train_fast(chunks, n)
    if got == want:
        return
    for wrong, message in ((v.train_variant(chunks, n, weighted=False), "each chunk's pairs are counted once; "
                            "weight them by the chunk's count (a chunk found 5 times adds 5 for each pair)"),
                           (v.train_variant(chunks, n, first_id=257), "merge i must make id 256 + i (the first "
                            "new id is 256, right after the bytes 0..255): an off-by-one")):
        if got == wrong:
            raise CheckFailed(f"train on Shakespeare's chunks: {message}")
    raise CheckFailed(f"train on Shakespeare's chunks: merge {first_difference(got, want)}; each merge is the pair "
                      f"with the highest count, ties to the smallest (a, b)")


def example():
    text = "\n".join(line(k) for k in range(5))
    chunks = dict(chunk_counts(text, GPT2_SPLIT))
    return (f"train(chunks, 8): the {len(chunks)} chunks of Tiny Shakespeare's first 5 lines, 8 merges",
            lambda m: need(m, "train", "train(chunks, n_merges)")(dict(chunks), 8))
