"""Stopping a training run politely: finish the step, save, exit. A second signal aborts at once.

Two signals ask for it. SIGINT is Ctrl-C in a terminal (and the studio's Stop button); SIGTERM
is what `kill PID`, a container stop or a cluster's preemption sends, and the only polite stop
for a run started in the background of a script (the shell makes such a child ignore SIGINT).
The torch and numpy training loops, and the translation loop, read a flag between steps:

    with StopOnCtrlC() as stop:
        for step in ...:
            ...one optimizer step...
            if stop.set:
                save(); break

and then the command exits with `stop.status`: 128 + the signal's number, as a shell reports a
process the signal ended (130 for SIGINT, 143 for SIGTERM). Outside such a loop (loading data,
chapter 1's short runs, the lab between two runs) `cli.main` turns SIGTERM into `Stopped`, the
same exception Ctrl-C raises (KeyboardInterrupt), so every command ends with one line, its
lock released and nothing half-written.
"""

from __future__ import annotations

import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)
NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


def exit_status(signum: int) -> int:
    """The exit status of a command a signal stopped: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + int(signum)


def signal_named(name: str) -> int:
    """The signal called `name` (a value of NAMES, as a stopped run's message says it); SIGINT if none."""
    return next((s for s, n in NAMES.items() if n == name), signal.SIGINT)


def status_of(name: str) -> int:
    """The exit status of a run whose loop stopped on the signal called `name`: 130 or 143."""
    return exit_status(signal_named(name))


def stopped_how(status: str, message: str) -> str:
    """A run's status for its last line: "interrupted by SIGTERM" for a stopped one, else as it is."""
    return f"{status} by {message}" if status == "interrupted" and message else status


class Stopped(KeyboardInterrupt):
    """A stop signal ended a command; the command line exits with `.status`, and prints one line
    saying so unless the command has printed its own (`told`: "saved step 40 to runs/x ...")."""

    def __init__(self, signum: int = signal.SIGINT, told: bool = False):
        super().__init__(NAMES.get(signum, f"signal {signum}"))
        self.signum, self.status, self.told = signum, exit_status(signum), told


def raise_stopped(signum, frame) -> None:
    """A signal handler: end the command now, as Ctrl-C does (cli.main installs it for SIGTERM)."""
    raise Stopped(signum)


class StopOnCtrlC:
    """A context manager whose `.set` turns True at the first SIGINT or SIGTERM; `.signum`,
    `.name` and `.status` say which one came and how the command should exit."""

    def __enter__(self):
        self.set, self.signum, self._old = False, None, {}
        # signal handlers can only be installed from the main thread (not e.g. in the lab's workers)
        if threading.current_thread() is threading.main_thread():
            self._old = {s: signal.signal(s, self._handle) for s in SIGNALS}
        return self

    def _handle(self, signum, frame):
        if self.set:
            raise Stopped(signum)
        self.set, self.signum = True, signum

    @property
    def name(self) -> str:
        return NAMES.get(self.signum, "Ctrl-C")

    @property
    def status(self) -> int:
        return exit_status(self.signum or signal.SIGINT)

    def __exit__(self, *exc):
        for s, old in self._old.items():
            signal.signal(s, old)
        self._old = {}
