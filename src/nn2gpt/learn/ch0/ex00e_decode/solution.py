"""Decoding: the bytes of the ids joined, then read as UTF-8."""


def vocabulary(merges):
    """{id: its bytes}: the 256 single bytes, then each merge's left bytes followed by its right's."""
    vocab = {i: bytes([i]) for i in range(256)}
    for i, (a, b) in enumerate(merges):
        vocab[256 + i] = vocab[a] + vocab[b]
    return vocab


def decode_bytes(ids, merges):
    """ids list[int] -> the exact bytes they stand for, whole characters or not."""
    vocab = vocabulary(merges)
    return b"".join(vocab[i] for i in ids)


def decode(ids, merges):
    """ids list[int] -> text; bytes that are not a whole UTF-8 character become U+FFFD."""
    return decode_bytes(ids, merges).decode("utf-8", errors="replace")
