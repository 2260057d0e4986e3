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
What the learner's code prints is shown before the verdict, cut to its first lines when it is
long (nn2gpt.learn.printed): printing takes time like any other work, within the time limit.
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
from nn2gpt.learn.printed import Sink, drain, pump
from nn2gpt.learn.registry import Exercise, find

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


def culprit(exc: BaseException, root: Path) -> Exercise | None:
    """The exercise whose file in workbook `root` holds the last of the learner's frames (where the
    exception was raised, or passed through last); None when that file is no exercise's, or there
    is no such frame."""
    from nn2gpt.learn.registry import all_exercises

    frames = _workbook_frames(exc, root)
    name = Path(frames[-1].filename).name if frames else None
    return next((ex for ex in all_exercises() if ex.file == name), None)


def check_here(exercise: Exercise, path: Path) -> Result:
    """Import the learner's file and run the check in this process (the child's work; tests use it)."""
    import numpy as np

    from nn2gpt.learn.loading import load_file

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
    """Check the learner's file in a child process with a time limit.

    What the child prints comes through one pipe (its stdout and stderr both), read by a thread
    into a bounded Sink as fast as it is written: the time limit counts the printing, and a
    print of hundreds of megabytes is cut to its first lines (nn2gpt.learn.printed)."""
    import threading

    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="nn2gpt-learn-") as tmp:
        out = Path(tmp) / "result.json"
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
               "MPLBACKEND": "Agg"}
        cmd = [sys.executable, "-m", "nn2gpt.learn.runner", str(path), exercise.name, str(out)]
        sink = Sink()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                cwd=path.parent, env=env)
        reader = threading.Thread(target=pump, args=(proc.stdout, sink), daemon=True)
        reader.start()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return Result("error", late(path, timeout), sink.text())
        finally:  # the time limit, or Ctrl-C/SIGTERM while waiting: the child must not outlive the check
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            reader.join(timeout=2)          # the pipe ends with the child (unless a child of its own holds it)
            proc.stdout.close()
        if not out.is_file():  # the child died without a word: killed, out of memory, os._exit in the file
            return Result("error", died(path, sink, proc.returncode), sink.text())
        data = json.loads(out.read_text(encoding="utf-8"))
        # what the learner's code printed, and its warnings, as the warm checks show them
        return Result(data["status"], data["message"], sink.text())


def late(path: Path, timeout: float) -> str:
    return (f"{path.name} did not finish within {timeout:g} s: an endless loop, or a loop over far more than it "
            f"needs? (--timeout raises the limit)")


def died(path: Path, sink: Sink, code: int) -> str:
    """The check's child ended without a verdict: how it ended (an exit status, a signal), and the
    last line it printed (sys.exit's message, a fatal error) when that was kept."""
    if code < 0:
        how = f"killed by {signal.Signals(-code).name}" if -code in signal.valid_signals() else f"signal {-code}"
    else:
        how = f"exit {code}"
    lines = [line for line in sink.text().splitlines() if line.strip()]
    last = f": {one_line(lines[-1])}" if lines and not sink.more else ""
    return f"{path.name} stopped the check before it finished ({how}{last})"


class Warm:
    """The checks of `nn2gpt learn watch`: numpy and torch imported once, then one forked child per check.

    A fresh Python spends over a second importing torch, longer than a chapter-2 check takes; a child
    forked from this process starts with the imports done. It runs what `check`'s child runs
    (`check_here`) under the same time limit, and what the learner's code prints comes through a pipe
    into the same bounded Sink. Where there is no fork (Windows), `check` is used instead.
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
            out, sink = Path(tmp) / "result.json", Sink()
            read, write = os.pipe()             # what the child prints: read here as it comes, into the sink
            pid = os.fork()
            if pid == 0:  # the child: never returns into the parent's code
                os.close(read)
                self._child(exercise, path, out, write, timeout)
            os.close(write)
            os.set_blocking(read, False)
            deadline, running, flowing = time.monotonic() + timeout, True, True
            try:
                while True:
                    flowing = flowing and drain(read, sink)
                    done, status = os.waitpid(pid, os.WNOHANG)
                    if done:
                        break
                    if abandoned is not None and abandoned():
                        return Result("error", "the check was abandoned")
                    if time.monotonic() > deadline:
                        return Result("error", late(path, timeout), sink.text())
                    _pause(read if flowing else None)
                running = False
                if flowing:                         # what it wrote last; no wait (a child of its own may hold the pipe)
                    drain(read, sink)
            finally:  # the time limit, or Ctrl-C/SIGTERM in this loop: the child must not outlive the check
                os.close(read)
                if running:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
            if not out.is_file():  # the child died without a word
                return Result("error", died(path, sink, os.waitstatus_to_exitcode(status)), sink.text())
            data = json.loads(out.read_text(encoding="utf-8"))
            return Result(data["status"], data["message"], sink.text())

    def _child(self, exercise: Exercise, path: Path, out: Path, pipe: int, timeout: float) -> None:
        code = 1
        try:
            one_stream(pipe)
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
        except SystemExit as e:      # sys.exit in the learner's code: end as a fresh Python would, message and status
            if isinstance(e.code, int) or e.code is None:
                code = e.code or 0
            else:
                print(e.code, file=sys.stderr)
        finally:
            try:
                sys.stdout.flush()
            finally:
                os._exit(code)


def _pause(fd: int | None) -> None:
    """Wait a moment for the child: until it prints (the pipe `fd` has something to read), 20 ms at most."""
    if fd is None:
        time.sleep(0.02)
    else:
        import select

        select.select([fd], [], [], 0.02)


def one_stream(fd: int) -> None:
    """The child's output, all of it into `fd` (the pipe to the parent) in the order it is written:
    file descriptors 1 and 2 (what C code writes), and Python's print and warnings through one
    line-buffered stream. Nothing is read from the terminal (input() ends at once)."""
    for target in (1, 2):
        if fd != target:
            os.dup2(fd, target)
    if fd not in (1, 2):
        os.close(fd)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdout = sys.stderr = open(1, "w", encoding="utf-8", errors="replace", buffering=1, closefd=False)


def main(argv: list[str]) -> int:
    """The child: python -m nn2gpt.learn.runner FILE NAME RESULT.json"""
    path, name, result = Path(argv[0]), argv[1], Path(argv[2])
    one_stream(1)                       # its stdout is the pipe to the parent, and its stderr the same
    sys.path.insert(0, str(path.parent))
    outcome = check_here(find(name), path)
    result.write_text(json.dumps({"status": outcome.status, "message": outcome.message}), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
