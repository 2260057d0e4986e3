"""How long `nn2gpt --help` (and each chapter's --help) takes: the target is < 0.5 s.

    .venv/bin/python bench/startup_bench.py [--repeat 10]

Each command runs in a fresh interpreter, as a user would start it; we report the median.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = [["--help"], ["digits", "--help"], ["gpt", "--help"], ["translate", "--help"], ["lab", "--help"]]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=10)
    args = p.parse_args()
    for cmd in COMMANDS:
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            r = subprocess.run([sys.executable, "-m", "nn2gpt", *cmd], capture_output=True)
            times.append(time.perf_counter() - t)
        status = "ok" if r.returncode == 0 else f"exit {r.returncode}"
        print(f"nn2gpt {' '.join(cmd):<18} median {statistics.median(times) * 1000:6.0f} ms  "
              f"(min {min(times) * 1000:.0f} ms, {args.repeat} runs, {status})")


if __name__ == "__main__":
    main()
