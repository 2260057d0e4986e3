"""Running a learner's exercise: in a child process, with a time limit, its errors in their terms.

    nn2gpt learn check backprop
      -> python -m nn2gpt.learn.runner WORKBOOK/03_backprop.py backprop RESULT.json   (a child)
         imports the learner's file, calls the exercise's check, writes {"status", "message"}

The child keeps the learner's code away from nn2gpt's own process: an endless loop is stopped
at the time limit, a crash takes nothing with it. Three outcomes:

    passed   the check found nothing wrong                               exit 0
    failed   the code ran but gave a wrong answer (CheckFailed), or is   exit 1
             still the stub (NotImplementedError)
    error    the code raised, or did not finish in time                  exit 2

An exception is shown as one line, trimmed to the learner's own file and line
(`03_backprop.py line 21, in backprop: ValueError: ...`): the checker's frames never appear.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from nn2gpt.learn.checking import CheckFailed
from nn2gpt.learn.exercises import Exercise, find

TIMEOUT = 10.0  # seconds a check may take; a right answer takes well under one


@dataclass
class Result:
    status: str          # "passed", "failed" or "error"
    message: str = ""
    output: str = ""     # what the learner's code printed

    @property
    def exit_code(self) -> int:
        return {"passed": 0, "failed": 1}.get(self.status, 2)


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def describe_exception(exc: BaseException, path: Path, exercise: Exercise) -> str:
    """One line for an exception, located at the last frame in the learner's file."""
    path = path.resolve()
    where = ""
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename).resolve() == path:
        where = f"{path.name} line {exc.lineno}: "
    else:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == path]
        if frames:
            where = f"{path.name} line {frames[-1].lineno}, in {frames[-1].name}: "
    text = one_line(f"{type(exc).__name__}: {exc}")
    advice = exercise.advice(str(exc))
    return f"{where}{text}" + (f" ({advice})" if advice else "")


def _workbook_frames(exc: BaseException, root: Path) -> list:
    root = Path(root).resolve()
    return [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve().parent == root]


def from_workbook(exc: BaseException, root: Path) -> bool:
    """Whether the exception was raised in (or through) the learner's code in workbook `root`."""
    return bool(_workbook_frames(exc, root))


def located(exc: BaseException, root: Path) -> str:
    """One line for an exception raised while training with the learner's code: at the last frame
    in a file of the workbook `root`, if there is one."""
    frames = _workbook_frames(exc, root)
    where = f"{Path(frames[-1].filename).name} line {frames[-1].lineno}, in {frames[-1].name}: " if frames else ""
    return where + one_line(f"{type(exc).__name__}: {exc}")


def check_here(exercise: Exercise, path: Path) -> Result:
    """Import the learner's file and run the check in this process (the child's work; tests use it)."""
    import numpy as np

    from nn2gpt.learn.exercise import load_file

    path = Path(path)
    try:
        with np.errstate(all="ignore"):
            module = load_file(path, f"workbook_{exercise.name}")
            note = exercise.checker()(module)   # a check may say something about a pass (a reading chosen)
    except NotImplementedError as e:
        return Result("failed", f"not written yet: {one_line(e) or 'a function'} (the stub still raises "
                                f"NotImplementedError; replace it by your code in {path.name})")
    except CheckFailed as e:
        return Result("failed", one_line(e))
    except (Exception, RecursionError) as e:
        mine = any(Path(f.filename).resolve() == path.resolve() for f in traceback.extract_tb(e.__traceback__))
        if mine or isinstance(e, SyntaxError):
            return Result("error", describe_exception(e, path, exercise))
        # raised in the check, not in the learner's code: their function returned something unusable
        return Result("failed", f"your code returned something the check could not use "
                                f"({one_line(f'{type(e).__name__}: {e}')}); "
                                f"compare its return value with the docstring")
    return Result("passed", note or "")


def check(exercise: Exercise, path: Path, timeout: float = TIMEOUT) -> Result:
    """Check the learner's file in a child process with a time limit."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="nn2gpt-learn-") as tmp:
        out = Path(tmp) / "result.json"
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
               "MPLBACKEND": "Agg"}
        cmd = [sys.executable, "-m", "nn2gpt.learn.runner", str(path), exercise.name, str(out)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=path.parent, env=env)
        except subprocess.TimeoutExpired as e:
            printed = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
            return Result("error", f"{path.name} did not finish within {timeout:g} s: an endless loop, or a loop "
                                   f"over far more than it needs? (--timeout raises the limit)", printed)
        if not out.is_file():  # the child died without a word: killed, out of memory, os._exit in the file
            tail = one_line(proc.stderr.strip().splitlines()[-1]) if proc.stderr.strip() else f"exit {proc.returncode}"
            return Result("error", f"{path.name} stopped the check before it finished ({tail})", proc.stdout)
        data = json.loads(out.read_text(encoding="utf-8"))
        # what the learner's code printed, and its warnings (stderr), as the warm checks show them
        return Result(data["status"], data["message"], proc.stdout + proc.stderr)


class Warm:
    """The checks of `nn2gpt learn watch`: numpy and torch imported once, then one forked child per check.

    A fresh Python spends over a second importing torch, longer than a chapter-2 check takes; a child
    forked from this process starts with the imports done. It runs what `check`'s child runs
    (`check_here`) under the same time limit, and what the learner's code prints goes to a file that
    is shown afterwards. Where there is no fork (Windows), `check` is used instead.
    """

    def __init__(self, torch: bool = True):
        import numpy  # noqa: F401  imported here once, before any fork

        self.torch = None
        if torch:  # chapters 1 and 5 are numpy alone: their checks need no torch
            import torch as module
            self.torch = module

    def check(self, exercise: Exercise, path: Path, timeout: float = TIMEOUT, abandoned=None) -> Result:
        """The verdict of a forked child; `abandoned()`, if given, is asked while waiting: when it
        says True (the asker has gone, Ctrl-C), the child is killed and the check ends at once."""
        path = Path(path)
        with tempfile.TemporaryDirectory(prefix="nn2gpt-learn-") as tmp:
            out, printed = Path(tmp) / "result.json", Path(tmp) / "printed.txt"
            pid = os.fork()
            if pid == 0:  # the child: never returns into the parent's code
                self._child(exercise, path, out, printed, timeout)
            deadline, running = time.monotonic() + timeout, True
            try:
                while os.waitpid(pid, os.WNOHANG) == (0, 0):
                    if abandoned is not None and abandoned():
                        return Result("error", "the check was abandoned")
                    if time.monotonic() > deadline:
                        return Result("error", f"{path.name} did not finish within {timeout:g} s: an endless loop, "
                                               f"or a loop over far more than it needs? (--timeout raises the limit)",
                                      _read(printed))
                    time.sleep(0.02)
                running = False
            finally:  # the time limit, or Ctrl-C/SIGTERM in this loop: the child must not outlive the check
                if running:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
            if not out.is_file():  # the child died without a word
                return Result("error", f"{path.name} stopped the check before it finished", _read(printed))
            data = json.loads(out.read_text(encoding="utf-8"))
            return Result(data["status"], data["message"], _read(printed))

    def _child(self, exercise: Exercise, path: Path, out: Path, printed: Path, timeout: float) -> None:
        code = 1
        try:
            stream = open(printed, "w", encoding="utf-8", buffering=1)
            os.dup2(stream.fileno(), 1)  # what C code writes, too
            sys.stdout = sys.stderr = stream
            if self.torch is not None:
                self.torch.set_num_threads(1)  # as the fresh child's OMP_NUM_THREADS=1
            # the parent kills a child at the time limit; should the parent itself be killed first, the
            # alarm ends the child a little later: no check outlives its time limit by much
            signal.alarm(int(timeout) + 5)
            os.chdir(path.parent)
            sys.path.insert(0, str(path.parent))
            outcome = check_here(exercise, path)
            out.write_text(json.dumps({"status": outcome.status, "message": outcome.message}), encoding="utf-8")
            code = 0
        finally:
            try:
                sys.stdout.flush()
            finally:
                os._exit(code)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""


def main(argv: list[str]) -> int:
    """The child: python -m nn2gpt.learn.runner FILE NAME RESULT.json"""
    path, name, result = Path(argv[0]), argv[1], Path(argv[2])
    sys.path.insert(0, str(path.parent))
    outcome = check_here(find(name), path)
    result.write_text(json.dumps({"status": outcome.status, "message": outcome.message}), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
