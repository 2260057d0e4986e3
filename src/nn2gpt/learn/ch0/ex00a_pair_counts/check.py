"""00a_pair_counts: its check (`nn2gpt learn check pair_counts`) and its trace example
(`nn2gpt learn trace pair_counts`).
"""

from __future__ import annotations

import inspect

from nn2gpt.learn.ch0 import variants as v
from nn2gpt.learn.ch0.common import LINE, line_ids, shakespeare
from nn2gpt.learn.checking import CheckFailed, need, unchanged
from nn2gpt.learn.example_data import line
from nn2gpt.tokens.pairs import count_pairs


def expect_counts(value, what: str) -> dict:
    if not isinstance(value, dict):
        raise CheckFailed(f"{what} returned {'None' if value is None else 'a ' + type(value).__name__}, expected "
                          f"the dict {{(a, b): count}}: did you return counts?")
    for key, n in value.items():
        if not (isinstance(key, tuple) and len(key) == 2 and all(type(i) is int for i in key)):
            raise CheckFailed(f"{what} has the key {key!r}; each key is a pair of ids, the tuple (a, b)")
        if type(n) is not int:
            raise CheckFailed(f"{what} counts {key} as {n!r}; each count is an int")
    return value


def check(module) -> None:
    f = need(module, "count_pairs", "count_pairs(ids, counts=None, weight=1)")
    try:
        inspect.signature(f).bind([], {}, 1)
    except TypeError:
        raise CheckFailed("count_pairs must take (ids, counts=None, weight=1): the training loop adds every "
                          "chunk's pairs into one dict, each `weight` times (the chunk's count)") from None
    except ValueError:
        pass                                            # a builtin without a signature: call it and see
    ids = list(shakespeare()[:3000].encode("utf-8"))
    given = list(ids)
    got = expect_counts(f(given), "count_pairs(ids)")
    unchanged(given, ids, "count_pairs", "ids")
    want = count_pairs(ids)
    if got != want:
        for wrong, message in ((v.counts_every_other(ids), "only every other place is counted; a pair starts at "
                                "EVERY place i, overlapping ones too: (a, a) occurs twice in [a, a, a]"),
                               (v.counts_without_last(ids), "the last pair (ids[-2], ids[-1]) is missing: there "
                                "are len(ids) - 1 pairs"),
                               (v.counts_wrapped(ids), "it counts a pair of the last token and the first one; "
                                "the ids are a line, not a circle")):
            if got == wrong:
                raise CheckFailed(f"count_pairs(ids) on Shakespeare's bytes: {message}")
        pair = next(p for p in sorted(set(got) | set(want)) if got.get(p) != want.get(p))
        raise CheckFailed(f"count_pairs(ids) on Shakespeare's bytes counts {pair} {got.get(pair, 0)} times, "
                          f"expected {want.get(pair, 0)}")
    three = expect_counts(f([97, 97, 97]), "count_pairs([97, 97, 97])")
    if three != {(97, 97): 2}:
        raise CheckFailed(f"count_pairs([97, 97, 97]) is {three}, expected {{(97, 97): 2}}: both places count")
    start = {(1, 2): 5, (97, 98): 1}
    counts, more = dict(start), list(b"abcab")
    result = f(more, counts, 3)
    if counts == start and result == count_pairs(more, None, 3):
        raise CheckFailed("count_pairs(ids, counts, 3) did not add into the `counts` it was given: start from "
                          "them when they are given (counts = {} only when counts is None)")
    expect_counts(result, "count_pairs(ids, counts, weight)")
    if result is not counts:
        raise CheckFailed("count_pairs(ids, counts, weight) returned another dict; add into `counts` and return it")
    if counts == count_pairs(more, dict(start), 1):
        raise CheckFailed("count_pairs(ids, counts, 3) added 1 for each pair; each occurrence adds `weight` "
                          "(a chunk found 3 times in the text counts its pairs 3 times)")
    if counts != count_pairs(more, dict(start), 3):
        raise CheckFailed(f"count_pairs(list(b'abcab'), {start}, 3) gives {counts}, expected "
                          f"{count_pairs(more, dict(start), 3)}")


def example():
    ids = line_ids()
    return (f"count_pairs(ids) for the {len(ids)} bytes of Tiny Shakespeare's line {line(LINE)!r}",
            lambda m: need(m, "count_pairs", "count_pairs(ids, counts=None, weight=1)")(list(ids)))
