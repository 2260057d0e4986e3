"""Chapter 2 CPU benchmark: time to a val loss on Tiny Shakespeare (char-level), speedrun style.

    flock /tmp/nn2gpt-bench.lock .venv/bin/python bench/gpt_train_bench.py [--recipes baby,default,fast,best102]

Each recipe runs in a fresh process, and its clock starts when that process starts (Python
start-up, imports, reading and encoding the text and the final evaluation all count), as
when nanoGPT's numbers were taken. Validation is the last 10% of the text (nanoGPT's split),
scored on the same 2400 fixed windows as nanoGPT's eval_iters = 200 batches of 12, once at the
end (evaluating is not training).

Recipes:
- baby:    nanoGPT's README "baby GPT" recipe run by OUR code (4 layers, 4 heads, n_embd 128,
           block 64, batch 12, 2000 iters, lr 1e-3 cosine to 1e-4, warmup 100, dropout 0,
           beta2 0.99, weight decay 0.1). The same-run baseline.
- default: TrainConfig's defaults (what `nn2gpt gpt train` runs): 2 layers x 64, learned
           positions, batch 32, lr 6e-3, cosine over the 50 s budget.
- fast:    the recipe tuned for time to val loss <= 1.88 (the target: <= 50 s): the default
           model with rotary positions (RoPE).
- best102: the lowest val loss in 102 s of wall time (the fast model, cosine over the budget).
nanoGPT itself, on this machine: 1.886 after 2000 iters in 102 s (the peer figure in BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

T_START = time.time()

BABY = dict(n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12, max_iters=2000, lr=1e-3, min_lr=1e-4,
            warmup=100, dropout=0.0, beta2=0.99, weight_decay=0.1)
# Measured on the 2-core box (see BENCHMARKS.md). DEFAULT is TrainConfig's own defaults (2x64,
# learned positions, batch 32, lr 6e-3 cosine to lr/10, warmup 50), with no step limit: the
# cosine then runs over the wall budget (max_seconds), whatever the machine's speed.
# Why shallow and narrow: at this size a step of 32 x 64 tokens costs about 20 ms per layer on 2
# cores, mostly operator overhead, and in 50 s more steps of a 2-layer model beat fewer steps of a
# deeper one (sweep in BENCHMARKS.md). RoPE lowers the loss at equal steps.
DEFAULT = dict(max_iters=10**6)
FAST = DEFAULT | {"pos": "rope"}
RECIPES = {"baby": BABY, "default": DEFAULT | {"max_seconds": 50.0}, "fast": FAST | {"max_seconds": 50.0},
           "best102": FAST | {"max_seconds": 102.0}}
# All cores, always: train()'s busy-machine rule (one thread when the load average reaches the
# core count) would otherwise fire on the load the previous recipe of this series leaves behind.
EVAL = dict(eval_batches=200, log_interval=50, progress=False, sample_tokens=0, device="cpu", threads=os.cpu_count())
TARGET = 1.88


def run_one(name: str, overrides: dict) -> dict:
    """In this (fresh) process: train the recipe, evaluate once at the end, time it all."""
    import torch

    from nn2gpt.gpt.train import TrainConfig, train

    cfg = RECIPES[name] | overrides
    if "max_seconds" in cfg:  # what is left of the wall budget after start-up, minus the final evaluation
        cfg["max_seconds"] = cfg["max_seconds"] - (time.time() - T_START) - cfg.pop("eval_reserve", 4.0)
    batch = cfg.get("batch_size", TrainConfig.batch_size)
    cfg["eval_batches"] = int(cfg.get("eval_batches", EVAL["eval_batches"]) * 12 / batch)  # 200 x 12 windows
    result = train(TrainConfig(**(EVAL | cfg | {"eval_interval": 10**9, "eval_batches": cfg["eval_batches"]})))
    wall = time.time() - T_START
    from nn2gpt.gpt.sample import sample_text  # after the clock stopped: a sample for README.md

    sample = sample_text(result.model, result.tokenizer, "ROMEO:", 300, temperature=0.8, seed=0)
    return {"recipe": name, "config": cfg, "steps": result.step, "val_loss": round(result.final_val_loss, 4),
            "wall_s": round(wall, 1), "train_s": round(result.seconds, 1), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "sample": sample}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipes", default="baby,default,fast,best102")
    ap.add_argument("--set", default="{}", help='JSON overrides for every recipe, e.g. \'{"lr": 2e-3}\'')
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one recipe in this process
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, json.loads(args.set))), flush=True)
        return
    print(f"# {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, load before: {os.getloadavg()[0]:.2f}")
    rows = []
    for name in args.recipes.split(","):
        out = subprocess.run([sys.executable, __file__, "--one", name, "--set", args.set], capture_output=True,
                             text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        hit = "yes" if r["val_loss"] <= TARGET else "no"
        print(f"{name:8} val {r['val_loss']:.4f} (<= {TARGET}: {hit}) after {r['steps']} steps, "
              f"{r['wall_s']:.1f} s wall ({r['train_s']:.1f} s in train())", flush=True)
    by = {r["recipe"]: r for r in rows}
    if "baby" in by and "fast" in by:
        print(f"wall-time ratio baby / fast: {by['baby']['wall_s'] / by['fast']['wall_s']:.2f}x; "
              f"nanoGPT (102 s, BENCHMARKS.md) / fast: {102 / by['fast']['wall_s']:.2f}x")
    print(f"# load after: {os.getloadavg()[0]:.2f}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
