"""00b_merge: its check (`nn2gpt learn check merge`) and its trace example (`nn2gpt learn trace merge`)."""

from __future__ import annotations

from nn2gpt.learn.ch0 import variants as v
from nn2gpt.learn.ch0.common import LINE, expect_ids, first_difference, line_ids, shakespeare
from nn2gpt.learn.checking import CheckFailed, need, unchanged
from nn2gpt.learn.example_data import line
from nn2gpt.tokens.pairs import count_pairs, merge


def shown(ids, n: int = 12) -> str:
    ids = list(ids)
    return "[" + ", ".join(map(str, ids[:n])) + (", ..." if len(ids) > n else "") + "]"


def check(module) -> None:
    f = need(module, "merge", "merge(ids, pair, new_id)")
    text = list(shakespeare()[:3000].encode("utf-8"))
    top = min((c := count_pairs(text)), key=lambda p: (-c[p], p))
    cases = [([97, 97, 97], (97, 97), 256), ([97, 97, 97, 97], (97, 97), 256), (text, top, 300),
             ([1, 2, 3], (2, 1), 256), ([7], (7, 7), 256), ([], (1, 2), 256)]
    for ids, pair, new_id in cases:
        given = list(ids)
        what = f"merge({shown(ids, 6)}, {pair}, {new_id})"
        got = f(given, pair, new_id)
        unchanged(given, ids, "merge", "ids")
        got = expect_ids(got, what)
        want = merge(ids, pair, new_id)
        if got == want:
            continue
        if got == v.merge_overlapping(ids, pair, new_id):
            raise CheckFailed(f"{what} is {shown(got)}: a merge that overlaps itself; in [a, a, a] the middle a "
                              f"joins the first pair only, [{new_id}, a]: after a merge move on by two (i += 2)")
        if got == v.merge_losing_last(ids, pair, new_id):
            raise CheckFailed(f"{what} is {shown(got)}: the last token is lost; the loop must reach i = len(ids) - 1 "
                              f"and keep a last token that is not merged")
        raise CheckFailed(f"{what}: {first_difference(got, want)}")


def example():
    ids = line_ids()
    counts = count_pairs(ids)
    pair = min(counts, key=lambda p: (-counts[p], p))              # the line's most frequent pair
    return (f"merge(ids, {pair}, 256): the most frequent pair of the bytes of {line(LINE)!r}",
            lambda m: need(m, "merge", "merge(ids, pair, new_id)")(list(ids), pair, 256))
