"""00e_decode: its check (`nn2gpt learn check decode`) and its trace example (`nn2gpt learn trace decode`)."""

from __future__ import annotations

from nn2gpt.learn.ch0 import variants as v
from nn2gpt.learn.ch0.common import LINE, NON_ASCII, line_merges, shakespeare, trained_merges
from nn2gpt.learn.checking import CheckFailed, need, unchanged
from nn2gpt.learn.example_data import line
from nn2gpt.tokens.bpe import Tokenizer
from nn2gpt.tokens.pairs import GPT2_SPLIT


def check(module) -> None:
    fd, fb = need(module, "decode", "decode(ids, merges)"), need(module, "decode_bytes", "decode_bytes(ids, merges)")
    merges = list(trained_merges())
    ref = Tokenizer(merges, None)
    text = shakespeare()[60000:61000] + NON_ASCII + "🙂 東京"
    # 🙂 is 4 bytes and 4 tokens (no merge learnt it); "é" is the 2 bytes C3 A9, cut here after C3
    for part, name in ((ref.encode(text), "the ids of a text"),
                       ([99, 97, 102, 0xC3], "[99, 97, 102, 195], 'café' cut inside its é")):
        given_ids, given_merges = list(part), list(merges)
        b = fb(given_ids, given_merges)
        unchanged(given_merges, merges, "decode_bytes", "merges")
        unchanged(given_ids, part, "decode_bytes", "ids")
        want = ref.decode_bytes(part)
        if not isinstance(b, bytes):
            raise CheckFailed(f"decode_bytes({name}) returned a {type(b).__name__}, expected bytes: b''.join(...)")
        if b != want:
            if b == want.decode("utf-8", errors="replace").encode("utf-8"):
                raise CheckFailed(f"decode_bytes({name}) is not the exact bytes: a cut character came back as "
                                  f"U+FFFD's bytes EF BF BD; decode_bytes never decodes, it joins the tokens' bytes")
            if b == b"".join(v.vocabulary(merges, left_first=False)[i] for i in part):
                raise CheckFailed(f"decode_bytes({name}): merge (a, b)'s bytes are a's followed by b's, "
                                  f"vocab[a] + vocab[b]; yours puts b first")
            raise CheckFailed(f"decode_bytes({name}) is {b[:40]!r}..., expected {want[:40]!r}...")
        given_ids, given_merges = list(part), list(merges)
        s = fd(given_ids, given_merges)
        unchanged(given_merges, merges, "decode", "merges")
        unchanged(given_ids, part, "decode", "ids")
        want_text = ref.decode(part)
        if not isinstance(s, str):
            raise CheckFailed(f"decode({name}) returned a {type(s).__name__}, expected a str")
        if s == want_text:
            continue
        if s == v.decode_ignoring(part, merges):
            raise CheckFailed(f"decode({name}) drops the cut UTF-8 bytes; they must show as U+FFFD, "
                              f"errors='replace', so that the reader sees something is missing")
        if s == v.decode_per_token(part, merges):
            raise CheckFailed(f"decode({name}): each token is decoded on its own, so a character split between "
                              f"two tokens becomes two U+FFFD; join all the bytes first, then decode once")
        if s == v.decode_reversed(part, merges):
            raise CheckFailed(f"decode({name}): merge (a, b)'s bytes are a's followed by b's, vocab[a] + vocab[b]")
        k = next((i for i, (x, y) in enumerate(zip(s, want_text)) if x != y), min(len(s), len(want_text)))
        raise CheckFailed(f"decode({name}) differs from the text at character {k}: {s[k:k + 20]!r}, expected "
                          f"{want_text[k:k + 20]!r}")


def example():
    from nn2gpt.tokens.bpe import Tokenizer

    merges = line_merges()
    ids = Tokenizer(merges, GPT2_SPLIT).encode(line(LINE))

    def call(module):
        need(module, "decode_bytes", "decode_bytes(ids, merges)")(list(ids), list(merges))
        need(module, "decode", "decode(ids, merges)")(list(ids), list(merges))
    return f"decode_bytes(ids, merges), decode(ids, merges): the {len(ids)} ids of {line(LINE)!r}", call
