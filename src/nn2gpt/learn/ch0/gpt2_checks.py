"""Chapter 0's checks of GPT-2's two pieces around the BPE: the pre-split and the byte table.

The split is compared with chapter 0's own (nn2gpt.tokens.pairs.chunks with GPT2_SPLIT) on
Tiny Shakespeare and on a short text that holds one case of each alternative of the pattern
(contractions, accented and non-Latin letters, numbers, runs of symbols and of spaces); the
table with nn2gpt.tokens.gpt2.byte_to_unicode. A difference is named by the common mistake
that gives it (nn2gpt.learn.ch0.variants).
"""

from __future__ import annotations

from nn2gpt.learn.ch0 import variants as v
from nn2gpt.learn.ch0.checks import shakespeare
from nn2gpt.learn.checking import CheckFailed, need
from nn2gpt.tokens.gpt2 import byte_to_unicode
from nn2gpt.tokens.pairs import GPT2_SPLIT, chunks

TRICKY = ("Hello world!!  I'll   don't DON'T we've 123 4567 héllo 東京 €5 x\n\n  y\t \n   hello ...?! "
          "it's 3.14, naïve;")


def check_split(module) -> None:
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


def check_byte_table(module) -> None:
    f = need(module, "byte_to_unicode", "byte_to_unicode()")
    got = f()
    if not isinstance(got, dict):
        raise CheckFailed(f"byte_to_unicode() returned {'None' if got is None else 'a ' + type(got).__name__}, "
                          f"expected a dict {{byte value 0..255: its one-character str}}")
    if sorted(got, key=str) != sorted(range(256), key=str):
        odd = next((k for k in got if not (type(k) is int and 0 <= k < 256)), None)
        raise CheckFailed(f"byte_to_unicode() has the key {odd!r}; its keys are the 256 byte values, the ints 0..255"
                          if odd is not None else f"byte_to_unicode() has {len(got)} keys; one for each byte "
                                                  f"value 0..255")
    bad = next((b for b in range(256) if not (isinstance(got[b], str) and len(got[b]) == 1)), None)
    if bad is not None:
        raise CheckFailed(f"byte_to_unicode()[{bad}] is {got[bad]!r}; each byte is spelt as ONE character")
    want = byte_to_unicode()
    if got == want:
        return
    for wrong, message in v.BYTE_TABLE_MISTAKES:
        if got == wrong:
            raise CheckFailed(f"byte_to_unicode(): {message}")
    if len(set(got.values())) < 256:
        raise CheckFailed("byte_to_unicode() gives two bytes the same character; the table must be one-to-one, "
                          "or a file spelt with it could not be read back")
    b = next(b for b in range(256) if got[b] != want[b])
    raise CheckFailed(f"byte_to_unicode()[{b}] is {got[b]!r} (U+{ord(got[b]):04X}), expected {want[b]!r} "
                      f"(U+{ord(want[b]):04X})")
