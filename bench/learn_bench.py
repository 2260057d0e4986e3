"""Time one check per exercise: as `nn2gpt learn check` answers it, cold and warm, and as `watch` does.

    python bench/learn_bench.py [--repeat 3]

A workbook is created in a temporary directory with every exercise's solution in it. Each exercise
is checked `--repeat` times in three ways, and the best and median wall times of each are printed:

  cold    the whole command `nn2gpt learn check NAME` with NN2GPT_LEARN_WARM=0: a fresh child
          Python imports numpy (and torch), then the learner's file, and runs the check
  warm    the whole command `nn2gpt learn check NAME` with the workbook's warm checker running
          (learn/warm.py: numpy and torch imported once; a forked child per check)
  watch   what `nn2gpt learn watch` does per saved file: a child forked from its own warm process

The target: under a second a check on 2 cores. The warm checker's own start (its imports, paid once
by the first check or in the background after `learn init`) is timed once and printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nn2gpt.learn import warm as checker
from nn2gpt.learn.book import Workbook
from nn2gpt.learn.registry import all_exercises
from nn2gpt.learn.runner import Warm


def command(name: str, book: Path, warm: bool) -> tuple[float, str]:
    env = {**os.environ, "NN2GPT_LEARN_WARM": "1" if warm else "0"}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "nn2gpt", "learn", "check", name, "--dir", str(book)],
                          capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    return seconds, "passed" if proc.returncode == 0 else proc.stdout.strip()[-200:]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    os.environ["NN2GPT_LEARN_WARM"] = "1"
    with tempfile.TemporaryDirectory() as tmp:
        book = Workbook.create(Path(tmp) / "wb")
        for ex in all_exercises():
            (book.root / ex.file).write_text(ex.solution.read_text())
        first = all_exercises()[0]
        start = time.perf_counter()
        result = checker.check(book.root, first, book.root / first.file, 10.0)   # starts the checker
        print(f"the warm checker's start and first check: {time.perf_counter() - start:.2f} s ({result.status})")
        watch = Warm()
        try:
            print(f"{'exercise':<28} {'cold: best':>10} {'median':>7}  {'warm: best':>10} {'median':>7}  "
                  f"{'watch: best':>11} {'median':>7}  result")
            for ex in all_exercises():
                times = {"cold": [], "warm": [], "watch": []}
                status = set()
                for _ in range(args.repeat):
                    for kind in ("cold", "warm"):
                        seconds, said = command(ex.name, book.root, kind == "warm")
                        times[kind].append(seconds)
                        status.add(said)
                    start = time.perf_counter()
                    status.add(watch.check(ex, book.root / ex.file).status)
                    times["watch"].append(time.perf_counter() - start)
                cells = "  ".join(f"{min(t):10.3f} {statistics.median(t):7.3f}" for t in times.values())
                print(f"{ex.file:<28} {cells}  {', '.join(sorted(status))}", flush=True)
        finally:
            checker.stop(book.root)


if __name__ == "__main__":
    main()
