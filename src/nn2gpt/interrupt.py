"""Ctrl-C during training: finish the step, save, stop cleanly. A second Ctrl-C aborts at once.

Used by the torch and numpy training loops:

    with StopOnCtrlC() as ctrl_c:
        for step in ...:
            ...one optimizer step...
            if ctrl_c.set:
                save(); break
"""

from __future__ import annotations

import signal
import threading


class StopOnCtrlC:
    """A context manager whose `.set` turns True at the first SIGINT."""

    def __enter__(self):
        self.set, self._old = False, None
        # signal handlers can only be installed from the main thread (not e.g. in the lab's workers)
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.set:
            raise KeyboardInterrupt
        self.set = True

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
