"""Time one `nn2gpt learn check` per exercise, as a learner runs it (a child process each).

    python bench/learn_bench.py [--repeat 3]

A workbook is created in a temporary directory with every exercise's solution in it; each
exercise is checked `--repeat` times through the same path as `nn2gpt learn check NAME` (a fresh
child Python process that imports the file and runs the check), then as `nn2gpt learn watch` checks
it (a child forked from a process that imported numpy and torch once: runner.Warm), and the best
and median wall times of each are printed. The target: under a second per check on 2 cores.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from nn2gpt.learn.exercises import all_exercises
from nn2gpt.learn.runner import Warm, check
from nn2gpt.learn.workbook import Workbook


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        book = Workbook.create(Path(tmp) / "wb")
        warm = Warm()
        print(f"{'exercise':<30} {'check: best s':>13} {'median s':>9}  {'watch: best s':>13} {'median s':>9}  result")
        for ex in all_exercises():
            (book.root / ex.file).write_text(ex.solution.read_text())
            cold, hot, status = [], [], []
            for _ in range(args.repeat):
                for times, run in ((cold, check), (hot, warm.check)):
                    start = time.perf_counter()
                    status.append(run(ex, book.root / ex.file).status)
                    times.append(time.perf_counter() - start)
            result = "passed" if set(status) == {"passed"} else ", ".join(sorted(set(status)))
            print(f"{ex.file:<30} {min(cold):13.3f} {statistics.median(cold):9.3f}  "
                  f"{min(hot):13.3f} {statistics.median(hot):9.3f}  {result}")


if __name__ == "__main__":
    main()
