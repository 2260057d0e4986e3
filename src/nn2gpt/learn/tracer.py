"""The child of `nn2gpt learn trace`: one real example through the learner's file, line by line.

    python -m nn2gpt.learn.tracer FILE NAME RESULT.json PRINTED.txt TIMEOUT [--reference-too]

(`nn2gpt.learn.trace` forks this child where it can and spawns it where it cannot.) It builds the
exercise's example (nn2gpt.learn.chN.examples), imports the learner's file and calls their function
under `sys.settrace`. Python then calls `Recorder` at every line of every frame whose code is the
learner's file: before a line runs, the frame's variables are compared with what they were before
the line above ran, so what changed belongs to the line above. A variable has changed when it names
another object, or when the object it names changed in place (a tensor's version counter, an
array's bytes, a list's items: `nabla_w[-1] = ...` changes nabla_w). Nothing is written into the
learner's file and nothing in it has to call us.

A line that runs many times (a loop) is shown for its first `SHOWN` runs; of the others only the
count and the shapes they took are kept, so the record - and the terminal - stay small however long
the loop. The record, the reference's shapes and what the learner's code printed go to RESULT.json
for the parent to print (nn2gpt.learn.trace).
"""

from __future__ import annotations

import json
import linecache
import os
import signal
import sys
import traceback
from pathlib import Path

from nn2gpt.learn.shapes import describe, fingerprint

SHOWN = 3          # runs of one line shown in full; the rest are counted
MAX_ROWS = 400     # rows kept in all (the parent prints fewer)
MAX_EVENTS = 20000  # changes kept for the comparison with the reference


class TimeUp(BaseException):
    """The time limit, raised inside the learner's code; a BaseException, so `except Exception` in
    their file does not swallow it."""


class Recorder:
    """Every change of a variable in the learner's file, by line; `tracer` is what sys.settrace takes."""

    def __init__(self, path: Path):
        self.file = str(path)
        self.rows, self.events = [], []          # rows: [line, function, name, shape, text, run]
        self.runs, self.seen, self.more = {}, {}, {}
        self.frames, self.run = {}, 0

    # ---- sys.settrace's callbacks -----------------------------------------------------------------
    def tracer(self, frame, event, arg):
        code = frame.f_code
        if event != "call" or code.co_filename != self.file or code.co_name.startswith("<"):
            return None          # not the learner's, or a comprehension (its result lands in the frame)
        state = self.frames.get(id(frame))
        if state is None:        # a new call: its arguments are what the def line "assigns"
            state = self.frames[id(frame)] = {"line": def_line(self.file, code.co_firstlineno), "vars": {}}
        state["raising"] = False
        return self.local

    def local(self, frame, event, arg):
        state = self.frames.get(id(frame))
        if state is None:
            return None
        if event == "line":
            self.changes(frame, state)
            state["line"], state["raising"] = frame.f_lineno, False
        elif event == "exception":
            state["raising"] = True
        elif event == "return":
            self.changes(frame, state)
            if not state["raising"] and not (arg is None and frame.f_code.co_name == "__init__"):
                self.note(state["line"], frame.f_code.co_name, [("returns", arg)])
            del self.frames[id(frame)]
        return self.local

    # ---- what changed -----------------------------------------------------------------------------
    def changes(self, frame, state) -> None:
        now = {name: (fingerprint(value), value) for name, value in variables(frame.f_locals).items()}
        before = state["vars"]
        changed = [(name, value) for name, (fp, value) in now.items()
                   if name not in before or before[name][0] != fp]
        state["vars"] = now
        if changed:
            self.note(state["line"], frame.f_code.co_name, changed)

    def note(self, line: int, function: str, changed: list) -> None:
        """One run of `line` that changed these (name, value)s."""
        self.run += 1
        runs = self.runs[line] = self.runs.get(line, 0) + 1
        shown = runs <= SHOWN and len(self.rows) < MAX_ROWS
        for name, value in changed:
            shape, text = describe(value)
            if shown:
                self.rows.append([line, function, name, shape, text, self.run])
                self.seen.setdefault((line, name), set()).add(shape)
            else:
                more = self.more.setdefault(str(line), {"runs": 0, "new": {}})
                if shape not in self.seen.get((line, name), ()):
                    new = more["new"].setdefault(name, {"last": shape, "shapes": []})
                    new["last"] = shape
                    if shape not in new["shapes"] and len(new["shapes"]) < 50:
                        new["shapes"].append(shape)
            if len(self.events) < MAX_EVENTS:
                self.events.append([function, name, shape, len(self.rows) - 1 if shown else -1, line])
        if not shown:               # counted, its shapes kept above: the parent prints one line for them all
            self.more.setdefault(str(line), {"runs": 0, "new": {}})["runs"] += 1

    def shapes(self) -> dict:
        """(function, name) -> the shapes it took, in order: what the learner's are compared with."""
        out = {}
        for function, name, shape, _, _ in self.events:
            out.setdefault(f"{function}.{name}", []).append(shape)
        return out


def variables(local: dict) -> dict:
    """The frame's variables worth showing: `self` stands for its attributes (self.weights, self.key)."""
    found = {k: v for k, v in local.items() if k not in ("self", "__class__") and not isinstance(v, type(sys))}
    me = local.get("self")
    if me is not None:
        found.update({f"self.{k}": v for k, v in attributes(me).items()})
    return found


def attributes(obj) -> dict:
    """An object's own attributes; for a torch module its sub-modules, parameters and buffers too."""
    plain = getattr(obj, "__dict__", {})
    found = {k: v for k, v in plain.items() if not k.startswith("_") and k != "training"}
    for kind in ("_parameters", "_buffers", "_modules"):
        found.update({k: v for k, v in (plain.get(kind) or {}).items() if v is not None})
    return found


def def_line(file: str, first: int) -> int:
    """The `def` line of a function whose code starts at `first` (below its decorators)."""
    for n in range(first, first + 20):
        text = linecache.getline(file, n).lstrip()
        if text.startswith(("def ", "async def ")):
            return n
    return first


def where(exc: BaseException, path: Path):
    """(line, function) of the last frame of the learner's file in the exception's traceback."""
    mine = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
    return (mine[-1].lineno, mine[-1].name) if mine else (None, None)


def example(exercise):
    """The exercise's example: (what it is, a function of the learner's module that runs it)."""
    return exercise.example()


def record(exercise, path: Path, timeout: float, reference_too: bool) -> dict:
    """Trace the file at `path` on the exercise's example (in this process: the child's work)."""
    import numpy as np

    from nn2gpt.errors import UserError
    from nn2gpt.learn.checking import CheckFailed
    from nn2gpt.learn.loading import load_file
    from nn2gpt.learn.runner import one_line

    path = Path(path).resolve()
    try:
        title, call = example(exercise)
    except (UserError, CheckFailed) as e:   # the data is not there: the loaders' one line
        return {"problem": one_line(e)}
    rec, end = Recorder(path), {"status": "done"}
    before = sys.gettrace()
    alarm = _arm(timeout)
    try:
        with np.errstate(all="ignore"):
            module = load_file(path, f"workbook_trace_{exercise.name}")
            sys.settrace(rec.tracer)
            try:
                call(module)
            finally:
                sys.settrace(before)
    except TimeUp as e:
        line, _ = where(e, path)
        end = {"status": "timeout", "line": line, "message": f"did not finish within {timeout:g} s: an endless "
                                                             f"loop? (--timeout raises the limit)"}
    except NotImplementedError as e:
        line, _ = where(e, path)
        end = {"status": "stub", "line": line, "message": f"not written yet: {one_line(e) or 'the stub'} (the stub "
                                                          f"still raises NotImplementedError)"}
    except CheckFailed as e:        # a name the file lacks: the check's own words
        end = {"status": "missing", "line": None, "message": one_line(e)}
    except (Exception, RecursionError) as e:
        line, _ = where(e, path)
        text = one_line(f"{type(e).__name__}: {e}")
        if line is None and not isinstance(e, SyntaxError):
            text = f"the example could not use what your code returned ({text}); compare it with the docstring"
        elif isinstance(e, SyntaxError) and e.lineno:
            line = e.lineno
        advice = exercise.advice(str(e))
        end = {"status": "error", "line": line, "message": text + (f" ({advice})" if advice else "")}
    finally:
        _disarm(alarm)
    data = {"title": title, "rows": rec.rows, "more": rec.more, "events": rec.events, "end": end}
    if reference_too:               # the same example, built again, through the solution: its shapes only
        solution = exercise.solution.resolve()
        ref = Recorder(solution)
        _, call = example(exercise)
        module = load_file(solution, f"nn2gpt_learn_trace_solution_{exercise.name}")
        sys.settrace(ref.tracer)
        try:
            with np.errstate(all="ignore"):
                call(module)
        except Exception:           # never expected; then there is nothing to compare with
            ref = None
        finally:
            sys.settrace(before)
        data["reference"] = ref.shapes() if ref is not None else None
    return data


def _arm(timeout: float):
    """The time limit inside the child: SIGALRM raises TimeUp in the learner's code (where there is
    one; elsewhere the parent's kill is the only limit)."""
    if not hasattr(signal, "setitimer"):
        return None

    def up(signum, frame):
        raise TimeUp()
    old = signal.signal(signal.SIGALRM, up)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    return old


def _disarm(old) -> None:
    if old is not None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def child(exercise, path: Path, result: Path, printed: Path, timeout: float, reference_too: bool) -> None:
    """What the child does, forked or spawned: its output to `printed`, the record to `result`."""
    stream = open(printed, "w", encoding="utf-8", buffering=1)
    os.dup2(stream.fileno(), 1)          # what C code prints, too
    sys.stdout = sys.stderr = stream
    if "torch" in sys.modules:           # forked from a process with torch: one thread, as Warm's children
        sys.modules["torch"].set_num_threads(1)
    os.chdir(Path(path).parent)
    sys.path.insert(0, str(Path(path).parent))
    data = record(exercise, path, timeout, reference_too)
    tmp = Path(str(result) + ".part")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, result)              # whole or absent: the parent never reads half a record
    stream.flush()


def main(argv: list[str]) -> int:
    from nn2gpt.learn.registry import find

    path, name, result, printed, timeout = argv[:5]
    child(find(name), Path(path), Path(result), Path(printed), float(timeout), "--reference-too" in argv[5:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
