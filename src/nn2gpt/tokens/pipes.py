"""`tokens encode` and `tokens decode` as filters, line for line, like chapter 3's translate pipe.

    nn2gpt tokens encode --model gpt2 < text.txt > ids.txt      # line i: the ids of line i
    nn2gpt tokens decode --model gpt2 < ids.txt > again.txt     # the same bytes as text.txt

Line i of the output always belongs to line i of the input: a blank line encodes to a blank
line, and decodes back to one. A line is everything up to "\\n", so a "\\r" before it (a Windows
line end) is part of the line's text and comes back too: `encode | decode` returns the input
byte for byte, for any UTF-8 text that ends with a newline (a last line without one gets it).
`decode` writes the bytes of the ids as they are; ids that cut a character write its bytes
cut, never U+FFFD, so a cut made by one line is joined again by the next.
"""

from __future__ import annotations

import sys

from nn2gpt.errors import UserError


def read_lines(path) -> tuple[list[bytes], str]:
    """(the lines of `path`, or of stdin for None or "-", without their "\\n"; a name for messages)."""
    from nn2gpt.files import check_file

    if path in (None, "-"):
        data, name = sys.stdin.buffer.read(), "standard input"
    else:
        path = check_file(path, "input", "give a text file, or pipe the lines in")
        try:
            data = path.read_bytes()
        except OSError as e:
            raise UserError(f"input {path} cannot be read ({e.strerror}); check its permissions") from None
        name = str(path)
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # the newline that ends the last line starts no other
    return lines, name


def encode_lines(tok, lines: list[bytes], name: str, specials: bool = False) -> str:
    """Each line's ids, space-separated, one output line per input line."""
    out = []
    for number, raw in enumerate(lines, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise UserError(f"{name} line {number} is not UTF-8 text (byte {raw[e.start]:#04x} at column "
                            f"{e.start + 1}); convert the input to UTF-8") from None
        out.append(" ".join(map(str, tok.encode(text, specials))) + "\n")
    return "".join(out)


def decode_lines(tok, lines: list[bytes], name: str) -> bytes:
    """Each line of ids back to the bytes it was made from, one output line per input line."""
    vocab, n = tok.vocab, tok.vocab_size
    out = []
    for number, raw in enumerate(lines, start=1):
        pieces = []
        for word in raw.split():
            if not (word.isdigit() and word.isascii()):
                shown = word.decode("utf-8", errors="replace")[:30]
                raise UserError(f"{name} line {number}: {shown!r} is not a token id (a whole number 0..{n - 1}); "
                                f"give lines of ids as `nn2gpt tokens encode` writes them")
            i = int(word)
            if i >= n:
                raise UserError(f"{name} line {number}: token id {i} is outside this tokenizer's 0..{n - 1}; "
                                f"decode with the --model that encoded it")
            pieces.append(vocab[i])
        out.append(b"".join(pieces) + b"\n")
    return b"".join(out)


def write_bytes(data: bytes) -> None:
    """`data` to standard output as bytes (a cut character stays cut), named if the write fails."""
    stream = sys.stdout
    stream.flush()
    buffer = getattr(stream, "buffer", None)
    try:
        if buffer is None:
            stream.write(data.decode("utf-8", errors="replace"))
        else:
            buffer.write(data)
            buffer.flush()
    except OSError as e:
        e.filename = e.filename or "standard output"
        raise
