"""Chapter 5 benchmark: the numpy GPT against the torch engine on this CPU.

    .venv/bin/python bench/numpy_gpt_bench.py step
    .venv/bin/python bench/numpy_gpt_bench.py train [--max-seconds 600]

step   The baby config (4 layers, 4 heads, n_embd 128, block 64, batch 12, char vocabulary 65) on
       real Tiny Shakespeare batches. One training step = forward + backward + clip + AdamW:
       numpy (nn2gpt.numpy_gpt) vs the torch engine's eager CPU step (nn2gpt.gpt.model with
       the torch engine's own AdamW set-up), same initial weights, same batches, timed in
       alternating rounds in one process so both see the same machine load. Then where the
       numpy time goes (cProfile, tottime grouped by layer) and the peak RSS of each engine,
       each measured in a fresh process that imports only its own engine.
       With OPENBLAS_NUM_THREADS=n in the environment, torch gets n threads too (a fair
       comparison on a busy machine, where 2-thread BLAS pools fight over the cores).
train  `nn2gpt gpt train --engine numpy` on Tiny Shakespeare with a wall-clock budget: the
       time at which the validation loss first reaches 2.0, and the final val loss.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BABY = {"model": "gpt", "vocab_size": 65, "block_size": 64, "n_layer": 4, "n_head": 4, "n_embd": 128,
        "dropout": 0.0, "bias": True, "pos": "learned", "score": "scaled_dot", "mask": "causal", "window": None}
BATCH = 12


def batches(n: int):
    from nn2gpt.data.text import read_text
    from nn2gpt.gpt.batches import encode_text, get_batch, split
    from nn2gpt.gpt.tokenizer import CharTokenizer

    text = read_text()
    train_ids, _ = split(encode_text(CharTokenizer.from_text(text), text), BABY["block_size"])
    rng = np.random.default_rng(0)
    return [get_batch(train_ids, BABY["block_size"], BATCH, rng) for _ in range(n)]


def numpy_stepper():
    from nn2gpt.numpy_gpt.model import NumpyGPT, init_weights
    from nn2gpt.numpy_gpt.optim import AdamW, clip_grad_norm

    model = NumpyGPT(BABY, init_weights(BABY, seed=0))
    opt = AdamW(model.weights, betas=(0.9, 0.99), weight_decay=0.1)

    def step(x, y):
        loss, grads = model.loss_and_grads(x, y)
        clip_grad_norm(grads, 1.0)
        opt.step(grads, 1e-3)
        return loss
    return step


def torch_stepper():
    import torch

    from nn2gpt.gpt.variants import ModelConfig, build_model
    from nn2gpt.gpt.runs import load_weights
    from nn2gpt.gpt.train import TrainConfig, make_optimizer
    from nn2gpt.numpy_gpt.model import init_weights

    if os.environ.get("OPENBLAS_NUM_THREADS"):  # the same thread count as numpy's BLAS
        torch.set_num_threads(int(os.environ["OPENBLAS_NUM_THREADS"]))
    model = build_model(ModelConfig(**BABY))
    load_weights(model, init_weights(BABY, seed=0))
    opt = make_optimizer(model, TrainConfig(lr=1e-3, optimizer="adamw"), torch.device("cpu"))  # the engines' shared AdamW
    model.train()

    def step(x, y):
        _, loss = model(torch.from_numpy(x), torch.from_numpy(y))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()
    return step


def time_steps(step, data) -> float:
    t = time.perf_counter()
    for x, y in data:
        step(x, y)
    return (time.perf_counter() - t) / len(data)


GROUPS = {  # cProfile function name -> the layer it belongs to
    "linear_forward": "linear (matmuls) forward", "linear_backward": "linear (matmuls) backward",
    "attention_forward": "attention core forward", "attention_backward": "attention core backward",
    "softmax": "attention core forward", "additive_causal_mask": "attention core forward",
    "self_attention_forward": "attention reshapes", "self_attention_backward": "attention reshapes",
    "split_heads": "attention reshapes", "merge_heads": "attention reshapes", "stack": "attention reshapes",
    "gelu_forward": "GELU forward", "gelu_backward": "GELU backward",
    "layer_norm_forward": "layer norm forward", "layer_norm_backward": "layer norm backward",
    "cross_entropy_forward": "cross-entropy", "cross_entropy_backward": "cross-entropy",
    "embedding_backward": "embeddings", "step": "AdamW", "clip_grad_norm": "grad clipping",
    "forward": "model forward (glue: residual adds, head matmul)", "backward": "model backward (glue: head matmul)",
}


def profile_numpy(data) -> list[tuple[str, float]]:
    step = numpy_stepper()
    prof = cProfile.Profile()
    prof.enable()
    for x, y in data:
        step(x, y)
    prof.disable()
    by_group: dict[str, float] = {}
    for (filename, _, name), row in pstats.Stats(prof).stats.items():
        if "numpy_gpt" in filename or name in ("step", "stack"):
            group = GROUPS.get(name, "other python")
        else:
            group = "numpy internals (reductions, copies)" if "numpy" in filename else "other python"
        by_group[group] = by_group.get(group, 0.0) + row[2]  # tottime: own time, not callees'
    total = sum(by_group.values())
    return sorted(((g, t / total) for g, t in by_group.items()), key=lambda r: -r[1])


def vm_hwm_mib() -> float:
    """This process's peak RSS. /proc's VmHWM, because getrusage's ru_maxrss survives fork+exec
    and would report the parent's peak for a small child."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss_mib(engine: str) -> float:
    """Peak RSS of a fresh process that imports only `engine` and runs 20 steps."""
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            f"import numpy_gpt_bench as b; d = b.batches(20); s = b.{engine}_stepper(); "
            f"[s(x, y) for x, y in d]; print(b.vm_hwm_mib(), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    mib, imported_torch = out.stdout.split()
    assert (imported_torch == "True") == (engine == "torch")
    return float(mib)


def bench_step(rounds: int, per_round: int) -> None:
    import torch

    data = batches(per_round)
    steppers = {"numpy": numpy_stepper(), "torch": torch_stepper()}
    for s in steppers.values():  # warm up (allocations, BLAS thread pools)
        time_steps(s, data[:5])
    times = {name: [] for name in steppers}
    for _ in range(rounds):
        for name, s in steppers.items():
            times[name].append(time_steps(s, data))
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"baby config, batch {BATCH}: one training step (median of {rounds} rounds x {per_round} steps)")
    print(f"  numpy  {1e3 * med['numpy']:7.2f} ms   (rounds: {', '.join(f'{1e3 * t:.1f}' for t in times['numpy'])})")
    print(f"  torch  {1e3 * med['torch']:7.2f} ms   (rounds: {', '.join(f'{1e3 * t:.1f}' for t in times['torch'])}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads)")
    print(f"  ratio numpy / torch = {med['numpy'] / med['torch']:.2f}x (target <= 2x)")
    print("where the numpy step's time goes (cProfile, own time):")
    for group, share in profile_numpy(data):
        print(f"  {100 * share:5.1f}%  {group}")
    print(f"peak RSS (fresh process, 20 steps): numpy {peak_rss_mib('numpy'):.0f} MiB, "
          f"torch {peak_rss_mib('torch'):.0f} MiB")


def bench_train(args) -> None:
    """Run `nn2gpt gpt train --engine numpy` (through its Python entry, to also read the CPU time
    at each evaluation: on a shared machine wall-clock time includes other people's work)."""
    from nn2gpt.numpy_gpt.train import NumpyTrainConfig, train

    out = Path(tempfile.mkdtemp(prefix="numpy-gpt-bench-")) / "run"
    flags = {"batch_size": args.batch_size, "lr": args.lr, "warmup": 50, "max_iters": 100000,
             "max_seconds": args.max_seconds, "eval_interval": args.eval_interval, "eval_batches": 20,
             "sample_tokens": 200}
    print("nn2gpt gpt train --engine numpy --out RUN " + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in flags.items()))
    cpu_at_eval = {}

    def log(line: str) -> None:
        print(line, flush=True)
        if line.startswith("step"):
            cpu_at_eval[int(line.split()[1])] = time.process_time()

    cpu0 = time.process_time()
    result = train(NumpyTrainConfig(out=str(out), **flags), log=log)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    vals = [r for r in rows if "val_loss" in r]
    hit = next((r for r in vals if r["val_loss"] <= 2.0), None)
    print(f"{result.status}: {vals[-1]['step']} steps in {vals[-1]['time']:.0f} s of training "
          f"({time.process_time() - cpu0:.0f} s CPU time of this process)")
    if hit:
        print(f"time to val loss <= 2.0: {hit['time']:.0f} s wall, {cpu_at_eval[hit['step']] - cpu0:.0f} s CPU "
              f"(step {hit['step']}, val {hit['val_loss']:.4f})")
    else:
        print("val loss 2.0 not reached")
    print(f"final val loss {vals[-1]['val_loss']:.4f}; run in {out}")
    print((out / "samples.txt").read_text(encoding="utf-8"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    s = sub.add_parser("step")
    s.add_argument("--rounds", type=int, default=7)
    s.add_argument("--per-round", type=int, default=20)
    t = sub.add_parser("train")
    t.add_argument("--max-seconds", type=float, default=600)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--lr", type=float, default=3e-3)
    t.add_argument("--eval-interval", type=int, default=100)
    args = p.parse_args()
    print(f"{platform.machine()} {os.cpu_count()} cores, numpy {np.__version__}, python {platform.python_version()}; "
          f"load average before: {os.getloadavg()[0]:.2f}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    bench_step(args.rounds, args.per_round) if args.what == "step" else bench_train(args)
    print(f"load average after: {os.getloadavg()[0]:.2f}; peak RSS of this process "
          f"{vm_hwm_mib():.0f} MiB")


if __name__ == "__main__":
    main()
