"""`nn2gpt tokens show TEXT`: the pieces a tokenizer cuts a text into, with their ids and bytes.

    $ nn2gpt tokens show "Hello wörld 👋" --model gpt2
       id  bytes
    15496  'Hello'
      266  ' w'
    30570  'ör'
      335  'ld'
    50169  ' \\xf0\\x9f\\x91'
      233  '\\x8b'
    6 tokens for 17 bytes: 0.35 tokens per byte

On a terminal each piece gets its own background colour, in the table and in the text shown
above it, so where one token ends and the next begins can be seen at a glance (NO_COLOR, or a
pipe or a file, gives plain text). A token can hold part of a character: the emoji is 4 bytes,
F0 9F 91 8B, and GPT-2 cuts it after the third, shown as bytes: the space and three of them in
token 50169, the last in token 233.

Tokens per byte is the measure of a tokenizer on a text: the fewer, the more text fits in a
model's context (GPT-2 gives 0.30 on Tiny Shakespeare, one token for 3.3 bytes).
"""

from __future__ import annotations

import codecs
import os

from nn2gpt.tokens.store import escape

# background colours that keep black text readable, taken in turn (ANSI 256-colour codes)
COLOURS = (153, 222, 157, 217, 189, 229, 159, 223)


def _paint(text: str, k: int) -> str:
    return f"\x1b[48;5;{COLOURS[k % len(COLOURS)]}m\x1b[38;5;16m{text}\x1b[0m"


def show_lines(tok, text: str, specials: bool = False, colour: bool = False) -> list[str]:
    """The lines `tokens show` prints: the coloured text (on a terminal), the table, the count."""
    pieces = tok.pieces(text, specials)
    lines = []
    if colour and pieces:  # the text as it reads, each token's part in its colour
        utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        parts = [utf8.decode(data) for _, data in pieces]  # a cut character shows with the token that ends it
        parts[-1] += utf8.decode(b"", final=True)
        lines.append("".join(_paint(part.replace("\n", "\\n"), k) for k, part in enumerate(parts)))
    width = max([len(str(i)) for i, _ in pieces] + [2])
    lines.append(f"{'id':>{width}}  bytes")
    for k, (i, data) in enumerate(pieces):
        shown = escape(data)
        lines.append(f"{i:>{width}}  {_paint(shown, k) if colour else shown}")
    n_bytes = len(text.encode("utf-8"))
    rate = f"{len(pieces) / n_bytes:.2f} tokens per byte" if n_bytes else "no bytes"
    lines.append(f"{len(pieces)} token{'s' * (len(pieces) != 1)} for {n_bytes} byte{'s' * (n_bytes != 1)}: {rate}")
    return lines


def wants_colour(stream) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    return not os.environ.get("NO_COLOR") and hasattr(stream, "isatty") and stream.isatty()
