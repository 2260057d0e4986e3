"""The tokenizer: a list of merges, applied to new text in the order they were learnt.

Ids. The first 256 ids are the 256 byte values (`byte_ids[b]` is the id of byte b: b itself
for the tokenizers we train, a permutation for GPT-2's), merge i makes id 256 + i from two
older ids, and the special tokens come after the merges.

Encoding by rank. A merge's rank is its place in the list: merge 0 was the most frequent pair
of the training text, so it is tried first. To encode a chunk, start from its bytes, and
repeatedly merge the lowest-ranked pair present (all its occurrences, left to right) until no
neighbouring pair is a merge. This reproduces training's own cut of its text: a merge only
ever makes pairs with its new id, which only later merges use, so the pair training merged
next is always the lowest-ranked pair present. Equal chunks encode alike, so each distinct
chunk is encoded once and kept (`_cache`): Tiny Shakespeare's 297,833 chunks are 15,057
distinct ones. A long chunk (`--no-split` puts the whole text in one) is merged with a heap
of (rank, place) instead, as fast.py trains, so that its cost grows as n log n, not n².

Decoding joins the bytes of the ids. Any list of ids decodes to bytes, but those bytes need
not be UTF-8: token ids cut from the middle of a text can end inside a multi-byte character
("é" is the two bytes C3 A9). `decode_bytes` returns the exact bytes; `decode` returns text,
each byte that is not part of a whole UTF-8 character replaced by U+FFFD, the replacement
character "\N{REPLACEMENT CHARACTER}" (Python's errors="replace"). For the ids of `encode(s)`,
`decode` gives `s` back, always.

Special tokens (like GPT-2's "<|endoftext|>") mark things that are not text, such as where one
document ends and the next begins. `encode(s)` reads "<|endoftext|>" in `s` as the 13
characters it is made of; only `encode(s, specials=True)` reads it as the special token, so
a text cannot smuggle a control token into a model's input unless the caller asks for it.
"""

from __future__ import annotations

import heapq

from nn2gpt.errors import UserError
from nn2gpt.tokens.pairs import Pair, merge

LONG_CHUNK = 64  # bytes: from here on the heap beats re-scanning the chunk for its best pair
CACHE_LIMIT = 1 << 18  # distinct chunks remembered; past this the cache starts again (memory stays bounded)


class Tokenizer:
    """Byte-level BPE: `merges[i]` = (a, b) makes id 256 + i; `pattern` pre-splits the text
    (None: not at all); `specials` maps each special token's text to its id."""

    def __init__(self, merges: list[Pair], pattern: str | None, specials: dict[str, int] | None = None,
                 byte_ids: list[int] | None = None):
        self.merges = [tuple(m) for m in merges]
        self.pattern = pattern
        self.specials = dict(specials or {})
        self.byte_ids = list(range(256)) if byte_ids is None else list(byte_ids)
        vocab: list[bytes] = [b""] * 256
        for byte, i in enumerate(self.byte_ids):
            vocab[i] = bytes([byte])
        self.ranks: dict[Pair, int] = {}  # pair -> the id it merges into; a lower id is a lower rank
        for i, (a, b) in enumerate(self.merges):
            vocab.append(vocab[a] + vocab[b])
            self.ranks[(a, b)] = 256 + i
        self.n_merged = len(vocab)  # ids below this are bytes or merges; from here on, specials
        if sorted(self.specials.values()) != list(range(self.n_merged, self.n_merged + len(self.specials))):
            raise ValueError(f"special token ids must follow the merges: {self.n_merged}, {self.n_merged + 1}, ...")
        for text, i in sorted(self.specials.items(), key=lambda kv: kv[1]):
            vocab.append(text.encode("utf-8"))
        self.vocab = vocab
        self._cache: dict[str, list[int]] = {}
        self._split = _compile(pattern)
        self._special_split = _compile("|".join(_escape(s) for s in sorted(self.specials, key=len, reverse=True))
                                       ) if self.specials else None

    def to_json(self) -> dict:
        """How a GPT run keeps this tokenizer in its checkpoint (nn2gpt.tokens.store.from_json reads
        it back, with every check loading merges.txt makes). Only trained tokenizers: GPT-2's own
        merges travel as {"type": "gpt2"} (nn2gpt.gpt.tokenizer)."""
        return {"type": "bpe", "merges": [list(m) for m in self.merges], "split_pattern": self.pattern,
                "special_tokens": dict(self.specials)}

    @property
    def vocab_size(self) -> int:
        """Every id there is: 256 bytes + the merges + the special tokens."""
        return len(self.vocab)

    # encoding -------------------------------------------------------------------------------

    def encode(self, text: str, specials: bool = False) -> list[int]:
        """The ids of `text`. With `specials=True` a special token's text is that token's id;
        without, it is encoded as the ordinary characters it is made of."""
        if not (specials and self._special_split):
            return self.encode_ordinary(text)
        out, start = [], 0
        for m in self._special_split.finditer(text):
            out += self.encode_ordinary(text[start:m.start()])
            out.append(self.specials[m.group()])
            start = m.end()
        return out + self.encode_ordinary(text[start:])

    def encode_ordinary(self, text: str) -> list[int]:
        """The ids of `text`, special tokens' texts read as plain characters."""
        cache, out = self._cache, []
        extend = out.extend
        if len(cache) > CACHE_LIMIT:
            cache.clear()
        for chunk in (self._split.findall(text) if self._split else [text] if text else []):
            ids = cache.get(chunk)
            if ids is None:
                ids = cache[chunk] = self._merge_chunk(chunk.encode("utf-8"))
            extend(ids)
        return out

    def _merge_chunk(self, data: bytes) -> list[int]:
        """One chunk's bytes -> ids: merge the lowest-ranked pair present until none is a merge."""
        byte_ids = self.byte_ids
        ids = [byte_ids[b] for b in data]
        if len(ids) >= LONG_CHUNK:
            return self._merge_long(ids)
        ranks, never = self.ranks, 1 << 62
        while len(ids) > 1:
            best = min(zip(ids, ids[1:]), key=lambda pair: ranks.get(pair, never))
            new_id = ranks.get(best)
            if new_id is None:
                break  # no neighbouring pair is a merge
            ids = merge(ids, best, new_id)
        return ids

    def _merge_long(self, ids: list[int]) -> list[int]:
        """The same result for a long sequence: a heap of (rank, place) over a linked list.
        Equal ranks come out left to right, and a place merged away (or whose pair changed) is
        skipped when its entry comes up, exactly as the left-to-right merge of one pair does."""
        ranks = self.ranks
        n = len(ids)
        tok, nxt, prv = list(ids), list(range(1, n + 1)), list(range(-1, n - 1))
        nxt[-1] = -1
        heap = [(ranks[pair], p) for p, pair in enumerate(zip(ids, ids[1:])) if pair in ranks]
        heapq.heapify(heap)
        while heap:
            new_id, p = heapq.heappop(heap)  # a pair's new id is its rank: the lower, the earlier learnt
            q = nxt[p]
            if tok[p] < 0 or q < 0 or ranks.get((tok[p], tok[q])) != new_id:
                continue  # stale: p was merged away, or its pair is no longer this one
            tok[p], tok[q] = new_id, -1
            nxt[p] = r = nxt[q]
            if r >= 0:
                prv[r] = p
                if (new_id, tok[r]) in ranks:
                    heapq.heappush(heap, (ranks[(new_id, tok[r])], p))
            left = prv[p]
            if left >= 0 and (tok[left], new_id) in ranks:
                heapq.heappush(heap, (ranks[(tok[left], new_id)], left))
        return [t for t in tok if t >= 0]

    # decoding -------------------------------------------------------------------------------

    def decode_bytes(self, ids) -> bytes:
        """The exact bytes of `ids` (special tokens as their text's UTF-8), whole characters or not."""
        vocab, n = self.vocab, len(self.vocab)
        try:
            return b"".join([vocab[i] if 0 <= i < n else _bad_id(i, n) for i in map(int, ids)])
        except (TypeError, ValueError):
            raise UserError(f"token ids must be whole numbers, got {list(ids)[:10]!r}") from None

    def decode(self, ids) -> str:
        """The text of `ids`; bytes that do not form a whole UTF-8 character become U+FFFD."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def pieces(self, text: str, specials: bool = False) -> list[tuple[int, bytes]]:
        """(id, its bytes) for each token of `text`: what `nn2gpt tokens show` prints."""
        return [(i, self.vocab[i]) for i in self.encode(text, specials)]


def _bad_id(i: int, n: int):
    raise UserError(f"token id {i} is not one of this tokenizer's ids 0..{n - 1}; "
                    f"decode only ids that this tokenizer's encode gave")


def _compile(pattern: str | None):
    if not pattern:
        return None
    import regex

    return regex.compile(pattern)


def _escape(text: str) -> str:
    import regex

    return regex.escape(text)
