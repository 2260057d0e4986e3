"""00g_byte_table: its check (`nn2gpt learn check byte_table`) and its trace example
(`nn2gpt learn trace byte_table`).
"""

from __future__ import annotations

from nn2gpt.learn.ch0 import variants as v
from nn2gpt.learn.checking import CheckFailed, need
from nn2gpt.tokens.gpt2 import byte_to_unicode


def check(module) -> None:
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


def example():
    return "byte_to_unicode(): the table of all 256 bytes", lambda m: need(m, "byte_to_unicode",
                                                                            "byte_to_unicode()")()
