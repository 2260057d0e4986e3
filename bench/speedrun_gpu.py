"""Chapter 6 on one GPU: nanoGPT's own Shakespeare config against our recipe at the same size.

    NN2GPT_DATA=DIR python bench/speedrun_gpu.py [--peers DIR] [--budget 80] [--out OUT]
    NN2GPT_DATA=DIR python bench/speedrun_gpu.py --dry      # the same plumbing on a CPU, tiny, ~1 min

1. nanoGPT's train.py with config/train_shakespeare_char.py, as its README runs it on a GPU
   (6 layers x 384, 6 heads, block 256, batch 64, dropout 0.2, lr 1e-3, torch.compile), in a
   temporary copy of the peer (bench/peers.py) with Tiny Shakespeare as its input.txt. Timed from
   the start of its process; every "step N: ... val loss V" line is stamped with the wall time
   at which it was printed, so its curve is val against time from process start, its own
   evaluations included (as in the figure it is known by: best val 1.4657 at step 1750, 80.6 s on
   an H100). It is stopped at --budget seconds.
2. Our recipes at the same size (RECIPES: the speedrun recipe, with dropout 0.2 and two learning
   rates), each in a fresh process on the clock of gpt_train_bench.timed_train (process start),
   evaluated every EVAL_EVERY steps on 2400 fixed windows of 256 with the clock stopped, so "time
   to val <= 1.47" is read off the curve; bf16 autocast and torch.compile are on by default on a GPU.

Prints one line per run and writes OUT/speedrun_gpu.json (every curve). Never part of the tests.
"""

from __future__ import annotations

import time

T_START = time.time()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import gpt_train_bench as gtb  # noqa: E402
import peers  # noqa: E402

TARGET = 1.47
EVAL_EVERY = 250
SIZE = dict(n_layer=6, n_head=6, n_embd=384, block_size=256, batch_size=64, dropout=0.2, warmup=100,
            max_iters=10**6, eval_reserve=2.0, recipe="speedrun")
RECIPES = {"speedrun lr 6e-3": SIZE, "lr 2e-3": SIZE | {"lr": 2e-3}}
DRY = dict(n_layer=1, n_head=2, n_embd=32, block_size=32, batch_size=8)  # --dry: a CPU check of the plumbing
NANOGPT_DRY = ["--device=cpu", "--compile=False", "--n_layer=1", "--n_head=2", "--n_embd=32", "--block_size=32",
               "--batch_size=8", "--eval_iters=5", "--eval_interval=20", "--max_iters=60", "--lr_decay_iters=60"]


def run_nanogpt(folder: Path, budget: float, dry: bool) -> dict:
    """nanoGPT's train.py in a temporary copy; its eval lines stamped with the time from its start."""
    from nn2gpt.data.fetch import fetch

    text = fetch("tinyshakespeare", "input.txt")
    with tempfile.TemporaryDirectory(prefix="nanogpt-") as tmp:
        root = peers.copy(folder, Path(tmp) / "nanoGPT")
        shutil.copyfile(text, root / "data" / "shakespeare_char" / "input.txt")
        subprocess.run([sys.executable, "data/shakespeare_char/prepare.py"], cwd=root, check=True, capture_output=True)
        args = [sys.executable, "-u", "train.py", "config/train_shakespeare_char.py", "--out_dir=out-gpu",
                *(NANOGPT_DRY if dry else [])]
        start, curve, log = time.time(), [], []
        proc = subprocess.Popen(args, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            for line in proc.stdout:
                log.append(line.rstrip())
                m = re.match(r"step (\d+): train loss [\d.]+, val loss ([\d.]+)", line)
                if m:
                    curve.append((round(time.time() - start, 1), int(m[1]), float(m[2])))
                if time.time() - start > budget:
                    break
        finally:
            proc.kill()
            proc.wait()
    if not curve:
        raise SystemExit(f"bench: nanoGPT printed no evaluation: {log[-1:] or ['no output']}")
    return {"name": "nanoGPT train_shakespeare_char", "curve": curve, "log_tail": log[-5:]}


def run_one(cfg: dict, budget: float, dry: bool) -> dict:
    """In this fresh process: one of our recipes, its curve on the process clock (evaluations excluded)."""
    device = "cpu" if dry else "cuda"
    cfg = cfg | (DRY if dry else {}) | {"max_seconds": budget, "device": device, "threads": os.cpu_count()}
    cfg, result, wall = gtb.timed_train(cfg, T_START, 20 if dry else EVAL_EVERY)
    on_clock, last = wall - result.eval_seconds, result.val_history[-1][1]
    curve = [(round(on_clock - (last - t), 1), step, round(v, 4)) for step, t, v in result.val_history]
    return {"steps": result.step, "curve": curve, "wall_s": round(on_clock, 1), "eval_s": round(result.eval_seconds, 1)}


def described(name: str, r: dict, budget: float) -> str:
    hit = next((f"{t:.1f} s (step {s})" for t, s, v in r["curve"] if v <= TARGET), f"not in {budget:g} s")
    t, s, v = min(r["curve"], key=lambda c: c[2])
    return f"{name:32} best val {v:.4f} at {t:.1f} s (step {s}); val <= {TARGET}: {hit}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--budget", type=float, default=80.0, help="seconds from process start, for every run")
    ap.add_argument("--out", default=os.environ.get("OUT", "."), help="where speedrun_gpu.json goes")
    ap.add_argument("--dry", action="store_true", help="a tiny CPU run of the same plumbing")
    peers.add_argument(ap)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(json.loads(args.one), args.budget, args.dry)), flush=True)
        return
    folder = peers.find(args.peers, "nanoGPT", "train.py")
    budget = 8.0 if args.dry else args.budget
    print(f"# {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, budget {budget:g} s", flush=True)
    rows = [run_nanogpt(folder, budget, args.dry)]
    print(described(rows[0]["name"], rows[0], budget), flush=True)
    for name, cfg in RECIPES.items():
        cmd = [sys.executable, __file__, "--one", json.dumps(cfg), "--budget", str(budget)] + (["--dry"] if args.dry else [])
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode:
            print(f"{name}: failed: {(out.stderr.strip().splitlines() or ['no output'])[-1]}", flush=True)
            continue
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]) | {"name": name, "config": cfg})
        print(described(name, rows[-1], budget), flush=True)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "speedrun_gpu.json").write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
