"""Benchmark: the default attention lab, end to end, and what each variant costs per step.

    .venv/bin/python bench/lab.py --out runs/lab [lab run flags]

Runs `nn2gpt lab run` with the given flags (default: all suites, 3 seeds, the default budget),
then prints the total wall time against the 30-minute target, the machine load before and
after (the machine is shared), and, from results.json, the seconds per training step of every
variant relative to the baseline (all runs train the same number of steps, so this is the cost
of the score function / mask / positional encoding itself, plus the fixed evaluation work).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

from nn2gpt.cli import main


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(argv: list[str]) -> int:
    out = Path(argv[argv.index("--out") + 1]) if "--out" in argv else Path("runs/lab")
    print(f"before: {load()}")
    t0 = time.perf_counter()
    code = main(["lab", "run", *argv])
    wall = time.perf_counter() - t0
    print(f"after:  {load()}")
    if code != 0:
        return code
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    s = results["settings"]
    print(f"\nlab: {len(results['runs'])} runs of {s['steps']} steps, {s.get('jobs', 1)} at a time: "
          f"{wall / 60:.1f} min wall (target <= 30 min)")
    per_step = {}
    for r in results["runs"]:
        per_step.setdefault(r["variant"], []).append(r["seconds"] / r["steps"])
    base = statistics.fmean(per_step["baseline"])
    print(f"\n{'variant':<12} {'ms/step':>8} {'x baseline':>10}   (training + evaluation, 1 thread)")
    for name, xs in per_step.items():
        m = statistics.fmean(xs)
        print(f"{name:<12} {1000 * m:8.1f} {m / base:10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
