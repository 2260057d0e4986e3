"""`nn2gpt learn watch`: check the current exercise, then again whenever an exercise file is saved.

The files are polled (their modification times, every --poll seconds); in a terminal, between
two looks, a single key does something (nn2gpt.learn.keys reads it, nn2gpt.learn.actions does
it). From a pipe, no key is read and watch only polls.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from nn2gpt.learn.verdict import MILESTONES, do_list, report


def do_watch(book, args) -> int:
    """Check the current exercise, then again whenever an exercise file changes (mtime polling);
    in a terminal, between two looks at the files, a key (nn2gpt.learn.keys, .actions)."""
    from nn2gpt.learn import keys
    from nn2gpt.learn.actions import WatchKeys
    from nn2gpt.learn.registry import all_exercises, find
    from nn2gpt.learn.runner import Warm, check

    if hasattr(os, "fork"):  # torch imported once: each check then answers without its second of imports
        check = Warm().check

    def stamps():
        return {ex.name: (book.root / ex.file).stat().st_mtime_ns for ex in all_exercises()
                if (book.root / ex.file).is_file()}

    seen, last, n, view, chosen = None, None, 0, None, None
    print(f"watching {book.root} (every {args.poll:g} s; Ctrl-C to stop)", flush=True)
    try:
        with keys.source(sys.stdin) as term:        # None when stdin is no terminal: no keys, polling only
            press = WatchKeys(book, check, args.timeout, lambda: do_list(book, args), MILESTONES).press
            while args.max_checks is None or n < args.max_checks:
                now = stamps()
                if chosen is not None or now != seen:
                    if chosen is not None:      # `n`: the next exercise; a save meanwhile is seen next round
                        target, chosen = chosen, None
                    else:
                        changed = [k for k in now if seen is None or now[k] != seen.get(k)]
                        gone = [k for k in seen or () if k not in now]      # deleted, or renamed away
                        # the file just saved; at the start (or several at once, a `git checkout`), the current one
                        target = find(changed[0]) if seen is not None and len(changed) == 1 else \
                            None if gone and not changed else book.current()
                        if target is not None and target.name not in now:   # the one to check has no file
                            gone, target = [*dict.fromkeys([*gone, target.name])], None
                        if target is None and seen is None and not gone:
                            print("every exercise has passed; saving a file checks it again")
                        if gone:                        # one line, and on watching: saving it again checks it
                            print(f"{', '.join(find(k).file for k in gone)}: not in the workbook (deleted or "
                                  f"renamed); still watching - save it again, or `nn2gpt learn reset {gone[0]}` "
                                  f"writes the stub")
                        seen = now
                    if target is not None:
                        view = target
                        last = report(book, target, check(target, book.path(target), args.timeout))
                    if term is not None and (target is not None or n == 0):
                        print(keys.LEGEND)
                    sys.stdout.flush()
                    n += 1
                if args.max_checks is None or n < args.max_checks:
                    if term is None:
                        time.sleep(args.poll)
                        continue
                    key = term.wait(args.poll)
                    if key == "q":
                        break
                    chosen = press(key, view) if key else None
    except KeyboardInterrupt as e:  # Ctrl-C is how watching ends (exit as the last check); SIGTERM is not
        if getattr(e, "signum", signal.SIGINT) != signal.SIGINT:
            raise                       # interrupt.Stopped: one line from nn2gpt's main, exit 143
        print()
    return 0 if last in (None, 0) else last
