"""What a check's code printed: its first lines kept, the rest counted and thrown away.

A `print` left in a function the check calls sixty times can write hundreds of megabytes. Held
in memory and written to the terminal, that is a minute of scrolling for a check that passed,
and the time limit never sees it. So the check's child writes into a pipe, whatever writes (a
print, a warning, C code on file descriptor 1), and the parent feeds what it reads to a `Sink`:
the first LINES lines (at most KEEP bytes) are kept, the rest only counted, and the learner sees

    the lines kept
    … 598 MB more (60 lines), not shown

Reading the pipe as fast as it fills keeps the child from blocking on it, so the printing itself
is what costs time: the time limit counts it like any other work of the learner's code.
"""

from __future__ import annotations

import os

KEEP = 16_000      # bytes of output shown at most
LINES = 200        # lines of output shown at most
CHUNK = 1 << 16    # bytes read from the pipe at a time


def size(n: int) -> str:
    """A number of bytes as a person reads it: 812 bytes, 41 kB, 598 MB, 1.2 GB."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            value = n / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{n} byte" + ("" if n == 1 else "s")


class Sink:
    """The kept start of a stream of bytes, and how much came after it; never more than `keep` held."""

    def __init__(self, keep: int = KEEP, lines: int = LINES):
        self.keep, self.lines = keep, lines
        self.kept, self.newlines = bytearray(), 0
        self.more = self.more_lines = 0          # what was not kept: bytes, and the line ends among them

    def write(self, data: bytes) -> None:
        if not self.more:                        # still keeping: up to the byte cap, and up to the LINES-th newline
            piece = data[:self.keep - len(self.kept)]
            cut = len(piece)
            at = -1
            for _ in range(self.lines - self.newlines):
                at = piece.find(b"\n", at + 1)
                if at < 0:
                    break
            else:
                cut = at + 1                     # the last line kept ends here
            self.kept += piece[:cut]
            self.newlines += piece.count(b"\n", 0, cut)
            data = data[cut:]
        if data:
            self.more += len(data)
            self.more_lines += data.count(b"\n")

    def text(self) -> str:
        shown = self.kept.decode("utf-8", errors="replace")
        if not self.more:
            return shown
        lines = f" ({self.more_lines:,} line{'' if self.more_lines == 1 else 's'})" if self.more_lines else ""
        end = "" if not shown or shown.endswith("\n") else "\n"
        return f"{shown}{end}… {size(self.more)} more{lines}, not shown\n"


def drain(fd: int, sink: Sink) -> bool:
    """Read what the (non-blocking) pipe `fd` holds into `sink`; False once its writer has closed it."""
    while True:
        try:
            data = os.read(fd, CHUNK)
        except BlockingIOError:
            return True
        if not data:
            return False
        sink.write(data)


def pump(stream, sink: Sink) -> None:
    """Read a (blocking) binary stream into `sink` until it ends: a reader thread's work."""
    for data in iter(lambda: stream.read1(CHUNK), b""):
        sink.write(data)
