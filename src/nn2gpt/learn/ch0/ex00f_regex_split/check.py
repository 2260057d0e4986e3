"""00f_regex_split: its check (`nn2gpt learn check regex_split`) and its trace example
(`nn2gpt learn trace regex_split`).
"""

from __future__ import annotations

from nn2gpt.learn.ch0 import variants as v
from nn2gpt.learn.ch0.common import LINE, shakespeare
from nn2gpt.learn.checking import CheckFailed, need
from nn2gpt.learn.example_data import line
from nn2gpt.tokens.pairs import GPT2_SPLIT, chunks


TRICKY = ("Hello world!!  I'll   don't DON'T we've 123 4567 héllo 東京 €5 x\n\n  y\t \n   hello ...?! "
          "it's 3.14, naïve;")


def check(module) -> None:
    f = need(module, "split", "split(text)")
    for text, name in ((TRICKY, repr(TRICKY[:30]) + "..."), (shakespeare()[:5000], "Shakespeare's first lines")):
        got = f(text)
        if not isinstance(got, list) or not all(isinstance(c, str) for c in got):
            kind = type(got).__name__ if not isinstance(got, list) else \
                "list of " + type(next(c for c in got if not isinstance(c, str))).__name__
            raise CheckFailed(f"split(text) returned {'None' if got is None else 'a ' + kind}, expected a list of "
                              f"str: the chunks, regex.findall(pattern, text)")
        want = chunks(text, GPT2_SPLIT)
        if got == want:
            continue
        for pattern, flags, message in v.SPLIT_MISTAKES:
            if got == v.split_variant(pattern, flags, text):
                raise CheckFailed(f"split({name}): {message}")
        if "".join(got) != text:
            raise CheckFailed(f"split({name}): your chunks do not join back to the text; every character must be "
                              f"in one chunk (the pattern's last alternatives take any whitespace)")
        k = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        a = repr(got[k]) if k < len(got) else "nothing"
        b = repr(want[k]) if k < len(want) else "nothing"
        raise CheckFailed(f"split({name}): chunk {k} is {a}, expected {b} (after {want[max(k - 3, 0):k]})")


def example():
    return (f"split({line(LINE)!r})", lambda m: need(m, "split", "split(text)")(line(LINE)))
