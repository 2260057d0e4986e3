"""GPT-2's byte table: one printable character for each of the 256 byte values."""


def byte_to_unicode():
    """-> {byte 0..255: a one-character str}; the printable bytes stand for themselves."""
    visible = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, moved = {}, 0
    for byte in range(256):
        if byte in visible:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + moved)         # the n-th byte that is not printable: U+0100 + n
            moved += 1
    return table
