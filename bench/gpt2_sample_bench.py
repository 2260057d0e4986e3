"""Chapter 2 benchmark: tokens per second sampling GPT-2 small (124M) in chapter 2's GPT, with and
without the KV cache, on the CPU.

    .venv/bin/python bench/gpt2_sample_bench.py [--new 100] [--prompt 12] [--repeats 3] [--threads 2]
    .venv/bin/python bench/gpt2_sample_bench.py --dry      # a tiny shape, to check the script runs

The shape of `nn2gpt gpt import gpt2` (12 layers, 12 heads, n_embd 768, 1024 positions, GPT-2's
50257-token vocabulary, tied head, learned positions), with random weights: the time per token
does not depend on their values, so no download is needed. One sequence, a prompt of `--prompt`
random tokens, `model.generate(..., use_cache=True)` vs `use_cache=False`, timed alternately in
one process so both see the same machine load; the median of the repeats is reported, as new
tokens per second. Both sample the same tokens (checked).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from nn2gpt.gpt.variants import ModelConfig, build_model

GPT2_SMALL = {"vocab_size": 50257, "block_size": 1024, "n_layer": 12, "n_head": 12, "n_embd": 768}
DRY = {"vocab_size": 50257, "block_size": 64, "n_layer": 2, "n_head": 2, "n_embd": 32}


def time_generate(model, prompt, new, use_cache, seed=0):
    g = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(prompt, new, generator=g, use_cache=use_cache)
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--new", type=int, default=100, help="new tokens to sample (default 100)")
    ap.add_argument("--prompt", type=int, default=12, help="prompt tokens (default 12)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--dry", action="store_true", help="a tiny shape and 5 tokens: check that it runs, time nothing")
    args = ap.parse_args()
    shape, new, repeats = (DRY, 5, 1) if args.dry else (GPT2_SMALL, args.new, args.repeats)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model(ModelConfig(**shape, pos="learned")).eval()
    params = sum(p.numel() for p in model.parameters())
    prompt = torch.randint(0, shape["vocab_size"], (1, args.prompt), generator=torch.Generator().manual_seed(1))
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, threads {args.threads}, "
          f"{params / 1e6:.1f}M parameters, prompt {args.prompt} tokens, {new} new tokens, random weights")
    time_generate(model, prompt, 3, True)  # warm-up: allocator, kernels
    time_generate(model, prompt, 3, False)
    slow, fast = [], []
    for _ in range(repeats):
        t_fast, out_fast = time_generate(model, prompt, new, True)
        t_slow, out_slow = time_generate(model, prompt, new, False)
        assert torch.equal(out_fast, out_slow), "the cache changed the sampled tokens"
        fast.append(t_fast)
        slow.append(t_slow)
    s, f = statistics.median(slow), statistics.median(fast)
    print("| model | without cache (tokens/s) | with cache (tokens/s) | speed-up |")
    print("| --- | --- | --- | --- |")
    print(f"| {'dry run' if args.dry else 'GPT-2 124M shape'} | {new / s:.1f} | {new / f:.1f} | {s / f:.1f}x |")


if __name__ == "__main__":
    main()
