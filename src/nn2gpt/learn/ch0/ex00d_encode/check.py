"""00d_encode: its check (`nn2gpt learn check encode`) and its trace example (`nn2gpt learn trace encode`)."""

from __future__ import annotations

from nn2gpt.learn.ch0 import variants as v
from nn2gpt.learn.ch0.common import (LINE, NON_ASCII, expect_ids, first_difference, line_merges, shakespeare,
                                     trained_merges)
from nn2gpt.learn.checking import CheckFailed, need, unchanged
from nn2gpt.learn.example_data import line
from nn2gpt.tokens.bpe import Tokenizer


def check(module) -> None:
    f = need(module, "encode", "encode(text, merges)")
    merges = list(trained_merges())
    ref = Tokenizer(merges, None)                       # the chapter's encode, with no pre-split
    for text in (shakespeare()[50000:51500], NON_ASCII + "東京 🙂", "", "a"):
        given = list(merges)
        got = f(text, given)
        unchanged(given, merges, "encode", "merges")
        what = f"encode({text[:20]!r}{'...' if len(text) > 20 else ''}, merges)"
        got = expect_ids(got, what)
        want = ref.encode(text)
        if got == want:
            continue
        for mistake, message in v.ENCODE_MISTAKES:
            if got == mistake(text, merges):
                raise CheckFailed(f"{what}: {message}")
        raise CheckFailed(f"{what} differs from the chapter's: {first_difference(got, want)}")


def example():
    merges = line_merges()
    return (f"encode({line(LINE)!r}, merges): 80 merges learnt from the start of the play",
            lambda m: need(m, "encode", "encode(text, merges)")(line(LINE), list(merges)))
