"""Characters against subwords, compared fairly: one GPT, one wall budget, five vocabularies.

    .venv/bin/python bench/bpb_bench.py [--budget 60] [--seeds 1]

Trains chapter 2's default GPT (the classic recipe, its default size) on Tiny Shakespeare for
`--budget` seconds of training (evaluations off the clock) with each tokenizer: characters (65),
chapter 0's BPE at 512, 1024 and 4096 tokens (trained on the training split first; that time is
reported apart), and GPT-2's 50,257. A loss per token cannot be compared across these, so the
table reads bits per byte of the validation text (val loss x tokens / bytes / ln 2), with what
explains it: bytes per token (how much text one prediction covers, so how much text a window of
block_size tokens sees) against the vocabulary (how many rows the embedding and the head have to
learn, from how few examples each).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOKENIZERS = [("char", {}), ("bpe 512", {"tokenizer": "bpe", "vocab_size": 512}),
              ("bpe 1024", {"tokenizer": "bpe", "vocab_size": 1024}),
              ("bpe 4096", {"tokenizer": "bpe", "vocab_size": 4096}), ("gpt2", {"tokenizer": "gpt2"})]


def one(settings: dict, budget: float, seed: int, out: Path) -> dict:
    """One run in a fresh process (its own torch threads and caches), timed from its start."""
    code = ("import json, sys; from nn2gpt.gpt.train import TrainConfig, train; "
            "r = train(TrainConfig(**json.loads(sys.argv[1]))); print(json.dumps({'step': r.step}))")
    cfg = settings | {"out": str(out), "max_seconds": budget, "max_iters": 10**6, "eval_interval": 250,
                      "eval_off_clock": True, "seed": seed, "sample_tokens": 0, "progress": False}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, json.dumps(cfg)], check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    val = [r for r in rows if "val_loss" in r][-1]
    config = json.loads((out / "config.json").read_text())
    return {"val_loss": val["val_loss"], "val_bpb": val["val_bpb"], "step": val["step"],
            "vocab": config["model"]["vocab_size"], "wall": wall,
            "bytes_per_token": val["val_loss"] / val["val_bpb"] / 0.6931471805599453}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=60.0, help="seconds of training per run (default 60)")
    ap.add_argument("--seeds", type=int, default=1, help="runs per tokenizer (default 1); medians are shown")
    args = ap.parse_args()
    import torch

    print(f"machine: {os.uname().machine}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, torch "
          f"{torch.__version__}, load average {os.getloadavg()[0]:.2f} at start; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"chapter 2's default GPT, {args.budget:g} s of training each (evaluations off the clock), "
          f"{args.seeds} seed(s)\n")
    print(f"| tokenizer | vocabulary | bytes per token | steps | val loss (per token) | **bits per byte** | wall s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory(prefix="nn2gpt-bpb-") as tmp:
        for name, flags in TOKENIZERS:
            runs = [one(flags, args.budget, 1337 + s, Path(tmp) / f"{name.replace(' ', '-')}-{s}")
                    for s in range(args.seeds)]
            med = {k: statistics.median(r[k] for r in runs) for k in ("val_loss", "val_bpb", "step", "wall",
                                                                       "bytes_per_token")}
            print(f"| {name} | {runs[0]['vocab']:,} | {med['bytes_per_token']:.2f} | {med['step']:,.0f} | "
                  f"{med['val_loss']:.4f} | **{med['val_bpb']:.4f}** | {med['wall']:.0f} |", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
