"""Time one `nn2gpt learn check` per exercise, as a learner runs it (a child process each).

    python bench/learn_bench.py [--repeat 3]

A workbook is created in a temporary directory with every exercise's solution in it; each
exercise is checked `--repeat` times through the same path as `nn2gpt learn check NAME` (a child
Python process that imports the file and runs the check), and the best and median wall times
are printed. The target: under a second per check on 2 cores.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from nn2gpt.learn.exercises import all_exercises
from nn2gpt.learn.runner import check
from nn2gpt.learn.workbook import Workbook


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        book = Workbook.create(Path(tmp) / "wb")
        print(f"{'exercise':<26} {'best s':>7} {'median s':>9}  result")
        for ex in all_exercises():
            (book.root / ex.file).write_text(ex.solution.read_text())
            times, status = [], ""
            for _ in range(args.repeat):
                start = time.perf_counter()
                status = check(ex, book.root / ex.file).status
                times.append(time.perf_counter() - start)
            print(f"{ex.file:<26} {min(times):7.3f} {statistics.median(times):9.3f}  {status}")


if __name__ == "__main__":
    main()
