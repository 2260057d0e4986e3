"""Chapter 3 benchmark: test BLEU (greedy vs beam) and batched decoding time of a trained run.

    .venv/bin/python bench/translate_bench.py --model runs/de-en \
        --beams 1 4 [--threads 2] [--split test]

For each beam size: sacreBLEU on the split (with its signature), and the wall time of
translating every sentence of the split with batched search (sentences sorted by length,
64 per batch). Also prints what the run was: parameters, steps, epochs, training seconds,
and the machine and its load before and after (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--beams", type=int, nargs="+", default=[1, 4])
    p.add_argument("--split", default="test")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--alpha", type=float, default=0.6)
    args = p.parse_args()

    import torch

    from nn2gpt.checkpoint import load_checkpoint
    from nn2gpt.translate.evaluate import EvalConfig, evaluate

    if args.threads:
        torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    ck = load_checkpoint(args.model)
    n_params = sum(w.size for w in ck.weights.values())
    state = ck.state or {}
    print(f"run {args.model}: pair {ck.config['train']['pair']}, model {json.dumps(ck.config['model'])}")
    print(f"{n_params:,} parameters; trained {state.get('step')} steps, {state.get('epoch')} full epochs "
          f"(+{state.get('batch')} batches), {state.get('seconds', 0):.0f} s")
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, load before {load_before[0]:.2f}")
    results = []
    for beam in args.beams:
        ns = EvalConfig(model=args.model, split=args.split, beam=beam, alpha=args.alpha)
        t = time.time()
        r = evaluate(ns)
        results.append({"beam": beam, "bleu": round(r["bleu"], 2), "seconds": round(r["seconds"], 1),
                        "signature": r["signature"], "total_s": round(time.time() - t, 1)})
    print(f"load after {os.getloadavg()[0]:.2f}")
    for r in results:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
