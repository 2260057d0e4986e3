"""What chapter 0's exercises share; each one's check and trace example are its folder's check.py.

Chapter 0's checks of the BPE itself: pair counts, one merge, training, encode, decode.

Every check runs the learner's function on Tiny Shakespeare (through the project's dataset
loader, read once a check) and on a few short texts chosen to catch one mistake each ("aaa",
a tie, a character cut in two), and compares with chapter 0's own code (nn2gpt.tokens). When
the answers differ it recomputes them with each common mistake (nn2gpt.learn.ch0.variants) to
name the one made. It also holds the learner to the types the milestone relies on - a list of
Python ints, merges as (a, b) tuples - and to leaving its inputs as they were.

Chapter 0's checks of GPT-2's two pieces around the BPE: the pre-split and the byte table.

The split is compared with chapter 0's own (nn2gpt.tokens.pairs.chunks with GPT2_SPLIT) on
Tiny Shakespeare and on a short text that holds one case of each alternative of the pattern
(contractions, accented and non-Latin letters, numbers, runs of symbols and of spaces); the
table with nn2gpt.tokens.gpt2.byte_to_unicode. A difference is named by the common mistake
that gives it (nn2gpt.learn.ch0.variants).

Chapter 0's examples for `nn2gpt learn trace`: a line of Tiny Shakespeare through the BPE pieces.

Each exercise's example() returns (what the example is, a function of the learner's module that runs
it). The line is the play's second, "Before we proceed any further, hear me speak."; the merges that
encode and decode use are the 80 the chapter's trainer learns from the start of the play (the
checks' own, nn2gpt.learn.ch0.common.trained_merges).
"""

from __future__ import annotations

import functools

from nn2gpt.learn.checking import CheckFailed
from nn2gpt.learn.example_data import line
from nn2gpt.tokens.fast import train_fast
from nn2gpt.tokens.pairs import GPT2_SPLIT, chunk_counts


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


LINE = 1            # "Before we proceed any further, hear me speak."


def line_ids() -> list[int]:
    return list(line(LINE).encode("utf-8"))


def line_merges() -> list:
    return [tuple(m) for m in trained_merges()]
