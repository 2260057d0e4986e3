"""Chapter 0's checks of the BPE itself: pair counts, one merge, training, encode, decode.

Every check runs the learner's function on Tiny Shakespeare (through the project's dataset
loader, read once a check) and on a few short texts chosen to catch one mistake each ("aaa",
a tie, a character cut in two), and compares with chapter 0's own code (nn2gpt.tokens). When
the answers differ it recomputes them with each common mistake (nn2gpt.learn.ch0.variants) to
name the one made. It also holds the learner to the types the milestone relies on - a list of
Python ints, merges as (a, b) tuples - and to leaving its inputs as they were.
"""

from __future__ import annotations

import functools
import inspect

from nn2gpt.learn.ch0 import variants as v
from nn2gpt.learn.checking import CheckFailed, need, unchanged
from nn2gpt.tokens.bpe import Tokenizer
from nn2gpt.tokens.fast import train_fast
from nn2gpt.tokens.pairs import GPT2_SPLIT, chunk_counts, count_pairs, merge

NON_ASCII = "café, naïve résumé; the façade of the Zoë Brontë's château. "   # é, ï, ë, ç, â: two bytes each


@functools.lru_cache(maxsize=1)
def shakespeare() -> str:
    """Tiny Shakespeare, from the dataset loader (--data-dir, $NN2GPT_DATA, the cache, else downloaded)."""
    from nn2gpt.data.text import read_text
    from nn2gpt.errors import UserError

    try:
        return read_text(None)
    except (UserError, OSError) as e:
        raise CheckFailed(f"the check reads Tiny Shakespeare and could not ({e}); run `nn2gpt data fetch "
                          f"tinyshakespeare` once, then check again") from None


@functools.lru_cache(maxsize=1)
def trained_merges() -> tuple:
    """80 merges the chapter's trainer learns from 20,000 characters of Shakespeare and some accents."""
    return tuple(train_fast(chunk_counts(shakespeare()[:20000] + NON_ASCII * 5, GPT2_SPLIT), 80))


def shown(ids, n: int = 12) -> str:
    ids = list(ids)
    return "[" + ", ".join(map(str, ids[:n])) + (", ..." if len(ids) > n else "") + "]"


def expect_ids(value, what: str) -> list[int]:
    """A list of Python ints, or CheckFailed saying what it is instead."""
    if value is None:
        raise CheckFailed(f"{what} returned None: did you forget to return the list?")
    if type(value).__module__ == "numpy":
        raise CheckFailed(f"{what} returned a numpy {type(value).__name__}; return a plain list of Python ints "
                          f"(the milestone hands them on as token ids): [int(i) for i in ...]")
    if not isinstance(value, list):
        raise CheckFailed(f"{what} returned a {type(value).__name__}, expected a list of ints")
    bad = next((x for x in value if type(x) is not int), None)
    if bad is not None:
        raise CheckFailed(f"{what} holds {bad!r}, a {type(bad).__name__}; every entry must be an int id")
    return value


def first_difference(got, want) -> str:
    k = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    a = got[k] if k < len(got) else "nothing (yours ends there)"
    b = want[k] if k < len(want) else "nothing (it ends there)"
    return f"entry {k} is {a}, expected {b} ({len(got)} entries, expected {len(want)})"


# ---- 00a pair counts --------------------------------------------------------------------------
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


def check_pair_counts(module) -> None:
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


# ---- 00b merge --------------------------------------------------------------------------------
def check_merge(module) -> None:
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


# ---- 00c the training loop --------------------------------------------------------------------
def expect_merges(value, what: str, n: int) -> list[tuple[int, int]]:
    if not isinstance(value, list):
        raise CheckFailed(f"{what} returned {'None' if value is None else 'a ' + type(value).__name__}, expected "
                          f"the list of merges [(a, b), ...]")
    for m in value:
        if not (isinstance(m, tuple) and len(m) == 2 and all(type(i) is int for i in m)):
            raise CheckFailed(f"{what} holds the merge {m!r}; each merge is the tuple (a, b) of two int ids")
    if len(value) > n:
        raise CheckFailed(f"{what} returned {len(value)} merges; at most n_merges = {n}")
    if len(set(value)) < len(value):
        raise CheckFailed(f"{what} returned the same pair twice: after choosing the best pair, replace it in "
                          f"every chunk (ids = [merge(chunk, best, new_id) ...]) before counting again")
    return value


def check_train(module) -> None:
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


# ---- 00d encode -------------------------------------------------------------------------------
def check_encode(module) -> None:
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


# ---- 00e decode -------------------------------------------------------------------------------
def check_decode(module) -> None:
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
