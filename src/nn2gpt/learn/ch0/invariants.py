"""The learner's BPE as one tokenizer, and what any tokenizer must keep (`learn run tokens`).

`LearnerBPE` puts chapter 0's pieces together the way nn2gpt.tokens.bpe.Tokenizer does: the
text cut into chunks by `split` (00f), each chunk encoded on its own by `encode` (00d; each
distinct chunk once, then remembered), ids decoded by `decode` / `decode_bytes` (00e). It has
what chapter 2's training asks of a tokenizer - encode, decode, decode_bytes, vocab_size,
to_json - so the GPT trains on the ids the learner's own encode gives, and its checkpoint keeps
the learner's merges as any BPE run's (nn2gpt.tokens.store.from_json reads them back).

`invariants` are the properties tiktoken's own tests hold its encoders to, and two that say
whether the learner's pieces are the chapter's: the round trip decode(encode(s)) == s, on the
validation text and on random unicode; every id a whole number below the vocabulary size; the
merges the chapter's trainer learns from the same text; the ids the chapter's encoder gives with
the same merges. A failure is named where it is a known mistake (nn2gpt.learn.ch0.variants).
"""

from __future__ import annotations

import random

from nn2gpt.learn.ch0.variants import ENCODE_MISTAKES, vocabulary
from nn2gpt.tokens.pairs import GPT2_SPLIT, chunk_counts, chunks

# code points to draw random text from: ASCII and its whitespace, Latin, Greek, Cyrillic, the
# combining accents, Hangul, CJK, emoji (1 to 4 bytes each in UTF-8)
RANGES = ((0x20, 0x7E), (0x09, 0x0D), (0xA0, 0x24F), (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x4FF),
          (0xAC00, 0xACFF), (0x4E00, 0x4FFF), (0x1F300, 0x1F64F))


class LearnerBPE:
    """A tokenizer from functions with the exercises' signatures: split(text) -> chunks,
    encode(text, merges), decode(ids, merges), decode_bytes(ids, merges)."""

    def __init__(self, merges, split, encode, decode, decode_bytes, learn: dict):
        self.merges = [tuple(m) for m in merges]
        self._split, self._encode, self._decode, self._decode_bytes = split, encode, decode, decode_bytes
        self.learn = learn
        self._cache: dict[str, list[int]] = {}

    @property
    def vocab_size(self) -> int:
        return 256 + len(self.merges)

    def chunks(self, text: str) -> list[str]:
        return self._split(text)

    def encode(self, text: str) -> list[int]:
        out, cache = [], self._cache
        for chunk in self._split(text):
            ids = cache.get(chunk)
            if ids is None:    # a chunk occurs many times: Tiny Shakespeare's 297,833 are 15,057 distinct ones
                ids = cache[chunk] = list(self._encode(chunk, list(self.merges)))
            out.extend(ids)
        return out

    def decode(self, ids) -> str:
        return self._decode([int(i) for i in ids], list(self.merges))

    def decode_bytes(self, ids) -> bytes:
        return self._decode_bytes([int(i) for i in ids], list(self.merges))

    def to_json(self) -> dict:
        """A BPE run's tokenizer (Tokenizer.to_json), and whose pieces made it."""
        return {"type": "bpe", "merges": [list(m) for m in self.merges], "split_pattern": GPT2_SPLIT,
                "special_tokens": {}, "learn": self.learn}


def random_texts(n: int = 200, seed: int = 0) -> list[str]:
    """n strings of 0 to 40 characters drawn from RANGES, the same ones every run."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        lo, hi = rng.choice(RANGES), rng.choice(RANGES)
        out.append("".join(chr(rng.randint(*rng.choice((lo, hi)))) for _ in range(rng.randint(0, 40))))
    return out


def spelt(data: bytes, table: dict) -> str:
    return "".join(table[b] for b in data)


def first_merge_apart(mine, theirs, counted: dict) -> str:
    """Where two merge lists part, and why if it is a tie: the two pairs' counts in the text
    `counted` ({chunk's bytes: count}) after the merges they share."""
    from nn2gpt.tokens.bpe import Tokenizer
    from nn2gpt.tokens.pairs import count_pairs

    k = next((i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b), min(len(mine), len(theirs)))
    if k == len(mine) or k == len(theirs):
        return f"yours are {len(mine)} merges, the chapter's trainer's {len(theirs)}"
    said = (f"merge {k} is {mine[k]} {vocabulary(mine)[256 + k]!r}, the chapter's trainer's is {theirs[k]} "
            f"{vocabulary(theirs)[256 + k]!r}")
    shared, counts = Tokenizer(mine[:k], None), {}
    for chunk, n in counted.items():                # the text as the first k merges left it
        count_pairs(shared.encode_ordinary(chunk.decode("utf-8", errors="replace")), counts, n)
    if counts.get(mine[k]) == counts.get(theirs[k]):
        return (f"{said}: ties broken another way, both occur {counts.get(mine[k], 0):,} times there, and among "
                f"equal counts the smallest pair wins: `nn2gpt learn check train_bpe`")
    return f"{said}: `nn2gpt learn check train_bpe`"


def invariants(tok: LearnerBPE, text: str, head: str) -> list[tuple[str, str, bool]]:
    """(what was checked, "" or what is wrong, whether a GPT can be trained and scored anyway) for
    the tokenizer `tok` trained on `head`, the training split of `text`."""
    from nn2gpt.tokens.fast import train_fast

    val, n, rows = text[len(head):], tok.vocab_size, []
    ids = tok.encode(val)
    bad = next((i for i in ids if type(i) is not int or not 0 <= i < n), None)
    rows.append((f"every id of the validation text is an int in 0..{n - 1}",
                 "" if bad is None else f"your encode gives {bad!r}: `nn2gpt learn check encode`", False))
    back = tok.decode(ids) if bad is None else None
    where = next((i for i, (a, b) in enumerate(zip(back, val)) if a != b), min(len(back), len(val))) \
        if back is not None and back != val else None
    rows.append((f"decode(encode(s)) == s on the validation text ({len(val):,} characters)",
                 "" if where is None and bad is None else
                 "not checked: the ids are not valid" if bad is not None else
                 f"from character {where} it gives {back[where:where + 20]!r} for {val[where:where + 20]!r}: "
                 f"`nn2gpt learn check encode` and `check decode`", False))
    texts = random_texts()
    wrong = next((s for s in texts if tok.decode(tok.encode(s)) != s), None)
    rows.append((f"decode(encode(s)) == s on {len(texts)} random unicode strings",
                 "" if wrong is None else f"not for {wrong!r}, which comes back as {tok.decode(tok.encode(wrong))!r}",
                 False))
    counted = chunk_counts(head, GPT2_SPLIT)
    chapters = train_fast(counted, n - 256)
    problem = ""
    if tok.merges != chapters:
        whole = train_fast(chunk_counts(text, GPT2_SPLIT), n - 256)
        problem = ("they are the merges of the WHOLE text, the validation split's too: train on the training split "
                   "alone, or the GPT is scored on text its tokenizer has already seen" if tok.merges == whole
                   else first_merge_apart(tok.merges, chapters, counted))
    rows.append(("the merges are the chapter's trainer's on the same text", problem, True))
    rows.append(("the ids are the chapter's encoder's, with the same merges", encode_problem(tok, val, ids), True))
    return rows


def encode_problem(tok: LearnerBPE, val: str, ids: list[int]) -> str:
    """"" when `ids` are what the chapter's Tokenizer gives `val` with tok's merges; else why not."""
    from nn2gpt.tokens.bpe import Tokenizer

    mine, theirs = tok.chunks(val), chunks(val, GPT2_SPLIT)
    if mine != theirs:
        return "your split cuts the validation text otherwise than GPT-2's pattern: `nn2gpt learn check regex_split`"
    if ids == Tokenizer(tok.merges, GPT2_SPLIT).encode(val):
        return ""
    for mistake, message in ENCODE_MISTAKES:
        seen: dict[str, list[int]] = {}
        if ids == [i for c in mine for i in (seen[c] if c in seen else seen.setdefault(c, mistake(c, tok.merges)))]:
            return f"your encode: {message}"
    return "your encode gives other ids: `nn2gpt learn check encode`"
