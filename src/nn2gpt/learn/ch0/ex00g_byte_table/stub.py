"""Exercise 00g (chapter 0, tokens): GPT-2's byte-to-unicode table.

GPT-2's published files (vocab.bpe, encoder.json) write tokens as text, one line a merge,
"LEFT RIGHT". A token is bytes, and bytes like the space or a newline would break that
format, so each of the 256 byte values is spelt as one printable character:

    the 188 bytes that are visible characters stand for themselves:
        '!' (33) .. '~' (126),  '¡' (161) .. '¬' (172),  '®' (174) .. 'ÿ' (255)
    the other 68 (0..32, 127..160, 173) take chr(256), chr(257), ... in byte order:
        byte 0 -> 'Ā', byte 1 -> 'ā', ..., the space (32) -> 'Ġ', byte 127 -> 'ġ', ...

So the token " the" is written "Ġthe" in GPT-2's files, and a newline is "Ċ". The table
only spells the files: underneath, GPT-2 is a byte-level BPE like ours.

Return a dict {byte value 0..255 (int): its character (a one-character str)}.
"""


def byte_to_unicode():
    """-> {byte 0..255: a one-character str}; the printable bytes stand for themselves."""
    raise NotImplementedError("write byte_to_unicode()")
