"""Probe every command the way a hostile but fair user would, and count what happens.

    .venv/bin/python bench/reliability_probes.py

Trains one tiny run of each kind (gpt, numpy, translate, digits) in a temporary directory, then
runs every probe generated from the argparse parsers, in this process:
  - numbers: every numeric flag of every command with 0, -1, nan, inf, -inf, 1e999 and "x";
  - paths: every path option with a missing path, an empty directory, a file of garbage, a pipe
    and a path through a file;
  - runs of another kind: every option that reads a trained run, given each other kind of run.
Each probe must end with exit 0, or with exit 2 and exactly one line on stderr; anything else
(a traceback, an exception, a second line, another status) is a failure and is printed.
The same probes run as tests in tests/reliability/ (those also cover concurrent writers,
kill -9, a full disk, permissions and huge images); this script only counts them.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "reliability"))

from reliability_helpers import (DIGITS_TINY, GPT_TINY, NUMPY_TINY, TRANSLATE_TINY,  # noqa: E402
                                 argv_of, base_commands, path_options)

from nn2gpt.cli import Number, command_parsers, main  # noqa: E402

NUMBERS = ("0", "-1", "nan", "inf", "-inf", "1e999", "x")
KINDS = ("gpt", "numpy", "translate", "digits")


def run(argv) -> tuple[int | str, str]:
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            status = main([str(a) for a in argv])
    except BaseException as e:  # noqa: BLE001 - an exception is what we count
        return f"{type(e).__name__}: {e}", err.getvalue()
    return status, err.getvalue()


def ok(status, err: str) -> bool:
    lines = err.strip().splitlines()
    return status == 0 or (status == 2 and len(lines) == 1 and ": error: " in lines[0])


def main_() -> int:
    import os
    import shutil

    tmp = Path(tempfile.mkdtemp(prefix="nn2gpt-probes-"))
    runs = {k: tmp / k for k in KINDS}
    for argv in (["gpt", "train", "--out", runs["gpt"], "--max-iters", "6", "--eval-interval", "3", *GPT_TINY],
                 ["gpt", "train", "--out", runs["numpy"], "--max-iters", "6", "--eval-interval", "3", *NUMPY_TINY],
                 ["translate", "train", "--out", runs["translate"], "--epochs", "1", *TRANSLATE_TINY],
                 ["digits", "train", "--out", runs["digits"], *DIGITS_TINY]):
        assert run(argv)[0] == 0, argv
    runs["translate-copy"] = tmp / "translate-copy"
    shutil.copytree(runs["translate"], runs["translate-copy"])
    (tmp / "empty-dir").mkdir()
    (tmp / "garbage").write_bytes(b"\x00\xff not what you think \x89PNG")
    os.mkfifo(tmp / "a-pipe")
    bad_paths = [tmp / "no" / "such" / "path", tmp / "empty-dir", tmp / "garbage", tmp / "a-pipe",
                 tmp / "garbage" / "inside"]
    work = tmp / "work"
    work.mkdir()
    run(argv_of("lab run", base_commands(runs, work)["lab run"]))  # lab report reads its results.json

    counts = {"numbers": [0, 0], "paths": [0, 0], "runs of another kind": [0, 0]}
    failures = []

    def probe(family: str, argv) -> None:
        status, err = run(argv)
        counts[family][0] += 1
        if not ok(status, err):
            counts[family][1] += 1
            failures.append((family, argv, status, err.strip()[-300:]))

    t0 = time.perf_counter()
    for command, parser in command_parsers().items():
        for action in parser._actions:
            if action.option_strings and isinstance(action.type, Number):
                for value in NUMBERS:
                    probe("numbers", [*command.split(), f"{action.option_strings[-1]}={value}"])
        for action in path_options(parser):
            key = action.option_strings[-1] if action.option_strings else action.dest
            for bad in bad_paths:
                spec = base_commands(runs, work)[command]
                spec[key] = [bad, runs["translate"]] if key == "checkpoints" else bad
                probe("paths", argv_of(command, spec))
        for action in parser._actions:
            if action.dest in {"model", "run", "init_from", "lm"} and action.choices is None:
                key = action.option_strings[-1]
                for kind in KINDS:
                    spec = base_commands(runs, work)[command]
                    spec[key] = runs[kind]
                    if key == "--init-from":
                        spec["--out"] = work / "new"
                    probe("runs of another kind", argv_of(command, spec))
    total = sum(c[0] for c in counts.values())
    bad = sum(c[1] for c in counts.values())
    print(f"{'family':<22} {'probes':>7} {'failures':>9}")
    for family, (n, f) in counts.items():
        print(f"{family:<22} {n:>7} {f:>9}")
    print(f"{'total':<22} {total:>7} {bad:>9}   ({time.perf_counter() - t0:.0f} s, {len(command_parsers())} commands)")
    for family, argv, status, err in failures:
        print(f"FAIL {family}: nn2gpt {' '.join(map(str, argv))} -> {status}\n    {err}")
    shutil.rmtree(tmp, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main_())
