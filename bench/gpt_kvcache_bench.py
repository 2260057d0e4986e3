"""Chapter 2 benchmark: sampling with the KV cache against sampling without it, on the CPU.

    .venv/bin/python bench/gpt_kvcache_bench.py [--new 500] [--repeats 3]

The baby GPT's width (4 layers, 4 heads, n_embd 128, char vocabulary 65), random weights (the
speed does not depend on their values), one sequence, `model.generate(..., use_cache=True)` vs
`use_cache=False`, timed alternately in one process so both see the same machine load; the
median of the repeats is reported. Both produce the same tokens (checked).

Two block sizes, because the cache only pays off while the sequence fits in the block:
  block 1024   the 12-token prompt plus 500 new tokens fit: each cached step costs one position.
  block 64     the baby config: after 52 steps the window slides every step, and an *exact* cache
               (same logits as without it) must be rebuilt from the cropped context each time,
               so the cache can only save the first ~52 steps.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from nn2gpt.gpt.variants import ModelConfig, build_model


def time_generate(model, prompt, new, use_cache, seed=0):
    g = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    out = model.generate(prompt, new, generator=g, use_cache=use_cache)
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--new", type=int, default=500, help="new tokens to sample")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (one sequence: latency-bound)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, threads {args.threads}")
    print("| block_size | new tokens | without cache (s) | with cache (s) | speed-up |")
    print("| --- | --- | --- | --- | --- |")
    for block in (1024, 64):
        torch.manual_seed(0)
        cfg = ModelConfig(vocab_size=65, block_size=block, n_layer=4, n_head=4, n_embd=128)
        model = build_model(cfg).eval()
        prompt = torch.randint(0, 65, (1, 12), generator=torch.Generator().manual_seed(1))
        time_generate(model, prompt, 20, True)  # warm-up: allocator, kernels
        time_generate(model, prompt, 20, False)
        slow, fast = [], []
        for _ in range(args.repeats):
            t_fast, out_fast = time_generate(model, prompt, args.new, True)
            t_slow, out_slow = time_generate(model, prompt, args.new, False)
            assert torch.equal(out_fast, out_slow), "the cache changed the sampled tokens"
            fast.append(t_fast)
            slow.append(t_slow)
        s, f = statistics.median(slow), statistics.median(fast)
        print(f"| {block} | {args.new} | {s:.2f} | {f:.2f} | {s / f:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
