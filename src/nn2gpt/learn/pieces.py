"""What a milestone trains with: the learner's piece where it passes its check now, else the reference.

Every milestone (`nn2gpt learn run NAME`) starts the same way: check the exercises it could use,
take the learner's file of each that passes and the solution (the reference) for the rest, say
which is which, and, while training, turn an exception raised in the learner's code into one
line at their file and line. This module is that one place:

    pieces = Pieces(book, ["sigmoid", "backprop"])     # checks both now (one torch import, if any)
    pieces.mine(["sigmoid", "backprop"])               # -> ["sigmoid"] if only it passes
    pieces.module("backprop")                          # the learner's module, or the solution's
    with reference_first("gpt", out):                  # a stop here: one line, the learner's run not started
        quietly(gpt_main, [...the reference's flags...])
    with learner_code(book, kept="..."):               # the chapter's own train(), given the pieces
        ...train...                                   # through its seams: nothing of it is patched
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from nn2gpt.errors import UserError
from nn2gpt.learn.loading import load_file, pick
from nn2gpt.learn.registry import find


class Pieces:
    """The check results of the named exercises in workbook `book`, taken once, now."""

    def __init__(self, book, names):
        from nn2gpt.learn.runner import Warm, check

        self.book, self.results = book, {}
        todo = [(name, find(name), book.root / find(name).file) for name in dict.fromkeys(names)]
        todo = [(name, ex, path) for name, ex, path in todo if path.is_file()]
        torch = any(ex.chapter in (2, 3, 4) for _, ex, _ in todo)
        # several checks: import numpy (and torch) once and fork a child for each, where there is fork
        run = Warm(torch=torch).check if len(todo) > 1 and hasattr(os, "fork") else check
        for name, ex, path in todo:
            self.results[name] = run(ex, path)

    def passed(self, name: str) -> bool:
        result = self.results.get(name)
        return result is not None and result.status == "passed"

    def said(self, name: str) -> str:
        """What the check said on passing (a reading the learner chose, say)."""
        return self.results[name].message if self.passed(name) else ""

    def mine(self, names) -> list[str]:
        return [name for name in names if self.passed(name)]

    def theirs(self, names) -> list[str]:
        return [name for name in names if not self.passed(name)]

    def module(self, name: str, reference: bool = True, given: dict | None = None):
        """The learner's module if the exercise passes; else the solution's (or None, reference=False).
        `given` {name: piece}: what its imports of earlier pieces from the chapter get (loading.load_file)."""
        if self.passed(name):
            return load_file(self.book.root / find(name).file, f"workbook_run_{name}", given)
        return load_file(find(name).solution, f"reference_run_{name}", given) if reference else None

    def function(self, name: str, attribute: str, reference: bool = True, given: dict | None = None):
        """`attribute` (a function, a class, a method of the file's Network) of `module(name)`."""
        module = self.module(name, reference, given)
        return None if module is None else pick(module, attribute)


def listing(mine, theirs, whose: str = "the reference's", unused: dict[str, str] | None = None) -> str:
    """The milestone's first line - whose code trains - and a line for each passed exercise the run
    has no place for."""
    text = f"yours: {', '.join(mine) or 'none yet'}; {whose}: {', '.join(theirs) or 'none'}"
    return text + "".join(f"\n{name}: checked, not part of this run ({why})" for name, why in (unused or {}).items())


def quietly(main, argv: list[str]) -> int:
    """Run a chapter's command with nothing printed (the reference's run, trained before the learner's);
    if it fails - a flag refused - print its last line and return its status. A stop (Ctrl-C,
    SIGTERM), whether its loop saved and returned 130 or 143 or it raised, is raised as
    `interrupt.Stopped` with nothing printed: the run's own last line would point to its temporary
    directory, gone by then, and `reference_first` says what the stop means for the milestone."""
    import io
    import sys

    from nn2gpt.interrupt import SIGNALS, Stopped, exit_status

    said = io.StringIO()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(said):
            status = main(argv)
    except SystemExit as e:             # a flag argparse refused: its message is in `said`
        status = e.code if isinstance(e.code, int) else 2
    stops = {exit_status(s): s for s in SIGNALS}
    if status in stops:                 # its loop stopped at the signal, saved and returned
        raise Stopped(stops[status])
    if status != 0:
        lines = [line for line in said.getvalue().splitlines() if line.strip()]
        print(lines[-1] if lines else f"the reference run stopped (exit {status})", file=sys.stderr)
    return status


@contextlib.contextmanager
def reference_first(milestone: str, out):
    """The part of `nn2gpt learn run MILESTONE` before the learner's run: the reference trained (and
    scored) from the same seed. A stop in it - Ctrl-C or SIGTERM, in its training loop or around
    it - ends the milestone with one line: the reference was stopped, the learner's run never
    started, so nothing was written to `out` (a run there is as it was), and the command to run
    again; exit 130 or 143, as every stopped trainer. Nothing of the reference is kept: it lives
    in a temporary directory, and its numbers mean nothing without the learner's beside them."""
    import signal
    import sys

    from nn2gpt.interrupt import NAMES, Stopped

    try:
        yield
    except KeyboardInterrupt as e:
        signum = getattr(e, "signum", signal.SIGINT)
        print(f"the reference run was stopped by {NAMES.get(signum, f'signal {signum}')}; your run was never "
              f"started and nothing was written to {out}: run `nn2gpt learn run {milestone}` again (same flags) "
              f"to train both", file=sys.stderr)
        raise Stopped(signum, told=True) from None


def raised(book, e: BaseException, kept: str, during: str = "during training", yours=()) -> str:
    """The one line for an exception met while training with the learner's code: the file, line and
    exercise it was raised in, and what to do. That exercise passes its check (a milestone only
    uses those), so "check it" would send the learner round in a circle: its code met a case the
    check does not try, and the fix is at that line. An exception raised in nn2gpt's own code
    with no frame of the learner's is something one of `yours` returned that training cannot use."""
    from nn2gpt.learn.runner import culprit, from_workbook, located

    where = located(e, book.root)
    ex = culprit(e, book.root)
    if ex is not None:
        return (f"your code raised {during}, in exercise {ex.name} ({where}); {kept}: its check passed, but "
                f"this run met a case the check does not try: fix {ex.file} there, then run again")
    if from_workbook(e, Path(book.root)):               # a file of the learner's that is no exercise
        return f"your code raised {during} ({where}); {kept}: fix it there, then run again"
    names = f" ({', '.join(yours)})" if yours else ""
    return (f"something your code returned broke the training ({where}, raised in nn2gpt's code, not in your "
            f"files); {kept}: compare what your functions{names} return with their docstrings - the type, the "
            f"dtype and the shape")


@contextlib.contextmanager
def learner_code(book, kept: str = "the last checkpoint, if any, is kept", during: str = "during training"):
    """Training with the learner's code: an exception raised in (or through) a workbook file becomes
    one line at their file, line and exercise, saying what was kept (`raised`); any other exception
    is left as it is."""
    from nn2gpt.learn.runner import from_workbook

    try:
        yield
    except Exception as e:
        if not from_workbook(e, Path(book.root)):
            raise
        raise UserError(raised(book, e, kept, during)) from None
