"""What chapter 0's common mistakes give: each piece of nn2gpt.tokens with one thing wrong.

A check (nn2gpt.learn.ch0.checks) compares the learner's answer with these, and so does `learn
run tokens` with their encode, so that a wrong answer is named ("your encode merges the most
frequent pair") and not only called wrong. Each function is written the way the mistake is
usually made, so that it gives the very ids the learner's code gives.
"""

from __future__ import annotations

from nn2gpt.tokens.pairs import count_pairs, merge

INF = float("inf")


# ---- 00a count_pairs --------------------------------------------------------------------------
def counts_every_other(ids, weight=1) -> dict:
    """Only the pairs at 0, 2, 4, ...: the places a merge would use, not every place."""
    out = {}
    for i in range(0, len(ids) - 1, 2):
        out[(ids[i], ids[i + 1])] = out.get((ids[i], ids[i + 1]), 0) + weight
    return out


def counts_without_last(ids, weight=1) -> dict:
    return count_pairs(ids[:-1], None, weight)


def counts_wrapped(ids, weight=1) -> dict:
    """The pairs of a circle: the last token followed by the first as well."""
    return count_pairs(list(ids) + list(ids[:1]), None, weight) if len(ids) > 1 else {}


# ---- 00b merge --------------------------------------------------------------------------------
def merge_overlapping(ids, pair, new_id) -> list[int]:
    """A pair found at every place, the second token of one pair still free for the next."""
    out, i = [], 0
    while i < len(ids):
        out.append(new_id if i + 1 < len(ids) and (ids[i], ids[i + 1]) == tuple(pair) else ids[i])
        i += 1
    return out


def merge_losing_last(ids, pair, new_id) -> list[int]:
    """The loop stops one place early: a last token that is not merged is lost."""
    out, i = [], 0
    while i < len(ids) - 1:
        if (ids[i], ids[i + 1]) == tuple(pair):
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


# ---- 00c train --------------------------------------------------------------------------------
def train_variant(chunks: dict, n_merges: int, weighted=True, first_id=256, apply=True) -> list[tuple[int, int]]:
    """The written-out trainer (nn2gpt.tokens.naive) on {chunk's bytes: count}, with one setting
    wrong: the chunks' counts ignored, the new ids starting elsewhere, the merge never applied."""
    ids, weights, merges = [list(c) for c in chunks], list(chunks.values()), []
    for i in range(n_merges):
        counts: dict = {}
        for chunk, w in zip(ids, weights):
            count_pairs(chunk, counts, w if weighted else 1)
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p[0], p[1]))
        if apply:
            ids = [merge(chunk, best, first_id + i) for chunk in ids]
        merges.append(best)
    return merges


# ---- 00d encode -------------------------------------------------------------------------------
def _encode(ids: list[int], merges, choose) -> list[int]:
    ranks = {tuple(pair): 256 + i for i, pair in enumerate(merges)}
    while len(ids) >= 2:
        counts = count_pairs(ids)
        pair = choose(counts, ranks)
        if pair not in ranks:
            break
        ids = merge(ids, pair, ranks[pair])
    return ids


def encode_by_count(text: str, merges) -> list[int]:
    """Training's rule in encode: the most frequent pair of this text that is a merge, first."""
    return _encode(list(text.encode("utf-8")), merges, lambda c, r: max(c, key=lambda p: (p in r, c[p])))


def encode_latest_first(text: str, merges) -> list[int]:
    """The highest rank first: the merge learnt last before the ones it was made from."""
    return _encode(list(text.encode("utf-8")), merges, lambda c, r: max(c, key=lambda p: r.get(p, -1)))


def encode_code_points(text: str, merges) -> list[int]:
    """Characters' code points (ord) in place of UTF-8 bytes."""
    return _encode([ord(ch) for ch in text], merges, lambda c, r: min(c, key=lambda p: r.get(p, INF)))


ENCODE_MISTAKES = (
    (encode_by_count, "it merges the most frequent pair of the text it encodes, as training does; encoding "
                      "applies the merges by rank: the pair present that was learnt first (merges[i] has rank i)"),
    (encode_latest_first, "it takes the pair learnt LAST first; take the lowest rank: min over the pairs of "
                          "ranks.get(pair, inf)"),
    (encode_code_points, "it starts from the characters' code points (ord); byte-level BPE starts from the "
                         "UTF-8 bytes, list(text.encode('utf-8'))"),
)


# ---- 00e decode -------------------------------------------------------------------------------
def vocabulary(merges, left_first=True) -> dict[int, bytes]:
    vocab = {i: bytes([i]) for i in range(256)}
    for i, (a, b) in enumerate(merges):
        vocab[256 + i] = vocab[a] + vocab[b] if left_first else vocab[b] + vocab[a]
    return vocab


def decode_per_token(ids, merges) -> str:
    """Each token's bytes decoded on its own, then the pieces joined."""
    vocab = vocabulary(merges)
    return "".join(vocab[i].decode("utf-8", errors="replace") for i in ids)


def decode_ignoring(ids, merges) -> str:
    vocab = vocabulary(merges)
    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="ignore")


def decode_reversed(ids, merges) -> str:
    vocab = vocabulary(merges, left_first=False)
    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")


# ---- 00f split, 00g byte table -----------------------------------------------------------------
GPT2 = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
SPLIT_MISTAKES = (  # (pattern, flags, message)
    (GPT2.replace(r"|\s+(?!\S)|\s+", r"|\s+"), 0,
     "the whitespace before a word is one chunk with all its spaces; GPT-2 leaves the last space to the word "
     "(\\s+(?!\\S) before \\s+): three spaces and 'hello' are two spaces, then ' hello'"),
    (GPT2.replace("'(?:[sdmt]|ll|ve|re)|", ""), 0,
     "the contractions are missing: \"don't\" is 'don', \"'t\"; begin with '(?:[sdmt]|ll|ve|re)|"),
    (GPT2.replace(r" ?\p{L}+", " ?[a-zA-Z]+"), 0,
     "letters are only a-z: \\p{L} is any letter, so 'héllo' and '東京' are one chunk each"),
    (GPT2.replace(r" ?\p{L}+", r"\p{L}+"), 0,
     "the space before a word is a chunk of its own; it belongs to the word that follows: ' ?\\p{L}+'"),
    (GPT2, "IGNORECASE",
     "\"DON'T\" keeps \"'T\": GPT-2's pattern is case-sensitive ('t only), do not pass IGNORECASE"),
)


def split_variant(pattern: str, flags, text: str) -> list[str]:
    import regex

    return regex.findall(pattern, text, regex.IGNORECASE if flags else 0)


def byte_table_variant(last_visible="~", start=256, by_value=False, inverted=True) -> dict[int, str]:
    visible = {*range(ord("!"), ord(last_visible) + 1), *range(ord("®"), ord("ÿ") + 1)}
    if inverted:
        visible |= set(range(ord("¡"), ord("¬") + 1))
    table, moved = {}, 0
    for byte in range(256):
        if byte in visible:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(start + (byte if by_value else moved))
            moved += 1
    return table


BYTE_TABLE_MISTAKES = (
    (byte_table_variant(last_visible="}"), "byte 126 '~' must stand for itself: the printable range ends at '~' "
                                           "included, range(ord('!'), ord('~') + 1) (an off-by-one)"),
    (byte_table_variant(start=257), "the moved bytes start one too far: the first one, byte 0, is chr(256) = "
                                    "'\u0100' (an off-by-one)"),
    (byte_table_variant(by_value=True), "byte 127 must be '\u0121', the 34th moved byte: count the moved bytes "
                                        "(moved += 1), chr(256 + moved), not chr(256 + byte)"),
    (byte_table_variant(inverted=False), "bytes 161-172 ('\u00a1' to '\u00ac') are printable and stand for "
                                         "themselves"),
)
