r"""Exercise 00e (chapter 0, tokens): decode ids back into bytes, and into text.

Every id stands for some bytes:

    vocab[i]       = bytes([i])                 for i = 0..255
    vocab[256 + i] = vocab[a] + vocab[b]        for merges[i] = (a, b): the left token's bytes first

(in merge order: a merge is made of tokens made before it). Then

    decode_bytes(ids, merges) = the bytes vocab[i] of every id, joined           -> bytes
    decode(ids, merges)       = those bytes read as UTF-8, errors="replace"      -> str

Two things to get right. Decode the JOINED bytes, not each token on its own: a character can
be split between two tokens ("é" is C3 A9, and C3 may be one token, A9 the next). And ids cut
from the middle of a text can end inside a character: [99, 97, 102, 195] is "caf" and the
first byte of "é". decode must still give text - "caf\ufffd", the cut byte as U+FFFD, the
replacement character (errors="replace"; "ignore" would drop it without a trace) - and
decode_bytes the exact bytes, b"caf\xc3": it never decodes at all.

Types: ids list[int], merges list of (a, b). For the ids of encode(s), decode gives s back.
"""


def decode_bytes(ids, merges):
    """ids list[int] -> the exact bytes they stand for, whole characters or not."""
    raise NotImplementedError("write decode_bytes(ids, merges)")


def decode(ids, merges):
    """ids list[int] -> text; bytes that are not a whole UTF-8 character become U+FFFD."""
    raise NotImplementedError("write decode(ids, merges)")
