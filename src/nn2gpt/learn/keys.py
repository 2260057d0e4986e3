"""Single keys for `nn2gpt learn watch`: pressed without Enter while it waits for a save.

When stdin is a terminal, watch puts it in cbreak mode (termios): each key arrives the moment
it is pressed and is not echoed, while Ctrl-C still interrupts (cbreak keeps the terminal's
signals, unlike raw mode). The terminal's own settings come back however watching ends: `q`,
Ctrl-C, SIGTERM (nn2gpt's main turns it into an exception, which passes through the `with` like
any other), an error. When stdin is no terminal - a pipe, CI, an editor's task - there are no
keys: `source` gives None and watch polls the files exactly as it always has.

    with source(sys.stdin) as keys:        # None: not a terminal
        key = keys.wait(0.5)               # a key pressed within 0.5 s, else None

What each key does is nn2gpt.learn.actions'.
"""

from __future__ import annotations

import contextlib
import os
import select
import time

LEGEND = "keys: h hint, n next, l list, c check all, r milestone, t trace, q quit"


class Terminal:
    """Keys read one at a time from a terminal's file descriptor in cbreak mode."""

    def __init__(self, fd: int):
        self.fd, self.pending, self.gone = fd, [], False

    def wait(self, seconds: float) -> str | None:
        """The next key pressed within `seconds` (lower case), else None: time to look at the files."""
        if self.pending:                    # typed faster than the checks answered: in order
            return self.pending.pop(0)
        if self.gone:                       # the terminal hung up: watching goes on without keys
            time.sleep(seconds)
            return None
        ready, _, _ = select.select([self.fd], [], [], seconds)
        if not ready:
            return None
        data = os.read(self.fd, 64)
        if not data:
            self.gone = True
            return None
        # an arrow or function key is ESC and more: ESC [ C would otherwise read as `c`
        self.pending = list(data.split(b"\x1b")[0].decode("utf-8", errors="replace").lower())
        return self.pending.pop(0) if self.pending else None


def is_terminal(stream) -> bool:
    """Whether `stream` is a terminal that keys can come from (pytest's captured stdin is not)."""
    try:
        return os.isatty(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False


@contextlib.contextmanager
def source(stream):
    """A Terminal on `stream` (stdin) in cbreak mode, or None when it is no terminal; its settings
    are put back on leaving, whatever ends it."""
    try:
        import termios
        import tty
    except ImportError:                     # Windows: no termios, no keys
        yield None
        return
    if not is_terminal(stream):
        yield None
        return
    fd = stream.fileno()
    try:
        saved = termios.tcgetattr(fd)
        tty.setcbreak(fd, termios.TCSANOW)
    except termios.error:                   # a terminal that takes no settings: poll without keys
        yield None
        return
    try:
        yield Terminal(fd)
    finally:
        with contextlib.suppress(termios.error):
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
