"""`nn2gpt learn trace NAME`: every variable's shape, line by line of your own file, on one real example.

    03_backprop.py: backprop(self, x, y) with MNIST test digit 0 (a 7) as x (784, 1) ...
      13  activation = x                        activation (784, 1) float64 [0 0 0 0 ...]
      17  z = np.dot(w, activation) + b         z (30, 1) float64 [-6.927 14.64 -7.603 7.281 ...]

The learner learns by watching the shapes go by (a print of every shape after every line); this
does that for them, without a print in their file. The example is the chapter's own - an MNIST
digit and the book's network, a Tiny Shakespeare batch through the lecture-sized modules, a
Multi30k pair, the numpy GPT's pieces (nn2gpt.learn.chN.examples) - and the recording is done
in a child process, under the check's time limit (nn2gpt.learn.tracer: sys.settrace).

Without --reference the solution runs on the same example too, quietly, and the first line where
one of your variables takes a shape the reference's variable of the same name did not is marked.
A line that runs many times shows its first runs, then a count and the shapes the rest took. Code
that raises is traced up to the line that raised; that line closes the trace with the error.

Exit status: 0 ran to its end with the reference's shapes (or --reference), 1 a shape differs or
the stub is still there, 2 the code raised or did not finish.

`trace(book, exercise, ...)` is also what `nn2gpt learn watch`'s `t` key calls.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nn2gpt.errors import UserError
from nn2gpt.learn.registry import Exercise, find

FORK = hasattr(os, "fork")  # a forked child starts with the imports done; elsewhere a fresh Python
SETUP = 60.0                # seconds allowed beyond the time limit for importing torch and reading the data
MAX_PRINTED = 150           # rows of the trace printed at most
CODE = 36                   # characters of a line of code shown
PRINTED = 12                # lines of what the learner's code printed shown


def trace(book, exercise: Exercise | str, reference: bool = False, timeout: float = 10.0, out=None) -> int:
    """Trace the learner's file of `exercise` (with `reference`, the solution's) on the exercise's
    example, print it to `out` (default: sys.stdout as it is at the call), -> the exit status.
    A missing file or dataset is a UserError (its one line)."""
    out = sys.stdout if out is None else out
    ex = find(exercise) if isinstance(exercise, str) else exercise
    path = Path(ex.solution if reference else book.path(ex)).resolve()
    # the reference's code stays hidden until a pass, as `learn solution` keeps it: its shapes are shown
    hidden = reference and not (book.passed(ex) or ex.name in book.load().get("gave_up", {}))
    data, printed = run_child(ex, path, timeout, reference_too=not reference)
    if "problem" in data:
        raise UserError(data["problem"])
    lines, status = render(data, path, ex, reference, printed, 0 if hidden else CODE)
    if hidden:
        lines.append(f"(the reference's code stays hidden until {ex.file} passes; `nn2gpt learn solution "
                     f"{ex.name} --give-up` shows it)")
    for text in lines:
        print(text, file=out)
    out.flush()
    return status


def run_child(ex: Exercise, path: Path, timeout: float, reference_too: bool) -> tuple[dict, str]:
    """The child's record and what the learner's code printed; a child that died or hung, as an end."""
    with tempfile.TemporaryDirectory(prefix="nn2gpt-trace-") as tmp:
        result, printed = Path(tmp) / "trace.json", Path(tmp) / "printed.txt"
        limit = timeout + SETUP
        if FORK:
            finished = _forked(ex, path, result, printed, timeout, limit, reference_too)
        else:
            cmd = [sys.executable, "-m", "nn2gpt.learn.tracer", str(path), ex.name, str(result), str(printed),
                   repr(timeout), *(["--reference-too"] if reference_too else [])]
            env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
            try:
                subprocess.run(cmd, capture_output=True, timeout=limit, cwd=path.parent, env=env)
                finished = True
            except subprocess.TimeoutExpired:
                finished = False
        shown = printed.read_text(encoding="utf-8", errors="replace") if printed.is_file() else ""
        if result.is_file():
            return json.loads(result.read_text(encoding="utf-8")), shown
        why = (f"did not finish within {timeout:g} s (--timeout raises the limit)" if not finished
               else "stopped the trace before it finished (killed, out of memory, or os._exit in your file?)")
        return {"title": "", "rows": [], "more": {}, "events": [],
                "end": {"status": "error", "line": None, "message": f"{ex.file} {why}"}}, shown


def _forked(ex, path, result, printed, timeout, limit, reference_too) -> bool:
    """Run the child by fork; -> whether it ended by itself within `limit` seconds."""
    pid = os.fork()
    if pid == 0:                        # the child: never returns into the parent's code
        code = 1
        try:
            from nn2gpt.learn.tracer import child

            child(ex, path, result, printed, timeout, reference_too)
            code = 0
        finally:
            os._exit(code)
    deadline, running = time.monotonic() + limit, True
    try:
        while os.waitpid(pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        running = False
    finally:                            # the limit, or Ctrl-C here: the child must not outlive the trace
        if running:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    return True


def render(data: dict, path: Path, ex: Exercise, reference: bool, printed: str = "",
           width: int = CODE) -> tuple[list[str], int]:
    """The lines to print and the exit status, from the child's record; `width` characters of each
    line of code are shown (0: none)."""
    source = path.read_text(encoding="utf-8", errors="replace").splitlines()

    def code(line) -> str:
        if not width:
            return ""
        text = source[line - 1].strip() if line and 0 < line <= len(source) else ""
        if "  #" in text:             # a comment at the end of the line: the code is what fits
            text = text[:text.rindex("  #")].rstrip()
        return f"{text if len(text) <= width else text[:width - 3] + '...':<{width}}  "   # and the gap

    rows, end = data["rows"], data["end"]
    mark = None if reference else first_difference(data["events"], data.get("reference"))
    whose = " (the reference)" if reference else ""
    lines = [f"{ex.file}{whose}: {data['title']}" if data["title"] else f"{ex.file}{whose}"]
    blank = " " * (4 + 2 + (width + 2 if width else 0))   # the line number's and the code's columns
    last_of = {r[0]: i for i, r in enumerate(rows)}      # where a line's count of further runs goes
    body, marked = [], None
    for i, (line, _, name, _, text, run) in enumerate(rows):
        same_run = i > 0 and rows[i - 1][5] == run       # a second variable of the same line's run
        body.append((blank if same_run else f"{line:>4}  {code(line)}") + f"{name} {text}")
        if mark is not None and mark[0] == i:
            body[-1] = marked = body[-1] + f"  <- first shape that differs from the reference's: {mark[1]} there"
        more = data["more"].get(str(line))
        if more and more["runs"] and last_of[line] == i:
            n = more["runs"]
            body.append(f"{blank}line {line} ran {n} more time{'s' * (n > 1)}; {later_shapes(more['new'])}")
            if mark is not None and mark[0] == -1 and mark[2] == line:
                body[-1] = marked = body[-1] + (f"  <- a later run's shape is the first that differs from the "
                                                f"reference's: {mark[1]} there")
    if len(body) > MAX_PRINTED:
        shown = body[:MAX_PRINTED]
        shown.append(f"... {len(body) - MAX_PRINTED} more rows not shown")
        if marked is not None and marked not in shown:
            shown.append(marked)
        body = shown
    lines += body
    status = {"done": 0, "stub": 1, "missing": 1}.get(end["status"], 2)
    if end["status"] == "missing":
        lines.append(f"{ex.file}: {end['message']}")
    elif end["status"] != "done":
        where = f"{end['line']:>4}  {code(end['line'])}" if end.get("line") else f"{ex.file}: "
        lines.append(where + ("raised " if end["status"] == "error" and end.get("line") else "") + end["message"])
    if printed.strip():
        said = printed.rstrip().splitlines()
        lines.append(f"your code printed ({len(said)} line{'s' * (len(said) > 1)}):")
        lines += ["  " + (s if len(s) <= 160 else s[:157] + "...") for s in said[:PRINTED]]
        if len(said) > PRINTED:
            lines.append(f"  ... {len(said) - PRINTED} more")
    if not reference and data.get("reference") is not None and end["status"] not in ("missing", "stub"):
        see = f"`nn2gpt learn trace {ex.name} --reference` traces the reference"
        if mark is not None:
            lines.append(f"the first shape that differs from the reference's is marked (line {mark[2]}); {see}")
            status = max(status, 1)
        else:
            before = "" if end["status"] == "done" else " up to there"
            lines.append(f"every variable took the reference's shapes{before} (the variables of the same name); {see}")
    return lines, status


def later_shapes(new: dict) -> str:
    """What the runs not shown did: 'shapes unchanged', or each variable's new shapes."""
    if not new:
        return "shapes unchanged"
    parts = []
    for name, n in new.items():
        shapes = n["shapes"]
        parts.append(f"{name} {', '.join(shapes)}" if len(shapes) <= 3
                     else f"{name} {shapes[0]} ... {n['last']} ({len(shapes)}{'+' * (len(shapes) >= 50)} shapes)")
    return "then " + "; ".join(parts)


def first_difference(events: list, reference: dict | None):
    """The first change whose shape the reference's variable of that name did not take at that
    point: (row index or -1 when not shown, the reference's shape, line), else None. The k-th change
    of a variable is held to the reference's k-th; past the reference's last, to any of its shapes."""
    if not reference:
        return None
    count = {}
    for function, name, shape, row, line in events:
        key = f"{function}.{name}"
        theirs = reference.get(key)
        k = count[key] = count.get(key, -1) + 1
        if not theirs:
            continue
        if (shape != theirs[k]) if k < len(theirs) else (shape not in theirs):
            return row, theirs[k] if k < len(theirs) else theirs[-1], line
    return None
