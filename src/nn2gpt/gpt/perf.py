"""How fast is training, against how fast the hardware could go? (tokens/s and MFU)

MFU, model FLOPs utilization, is the share of the device's peak arithmetic that training
actually uses: tokens/s x FLOPs per token (`flops_per_token(model)`, 6N + 12*L*C*T)
divided by the peak FLOP/s found here.
"""

from __future__ import annotations

import re

# Dense bf16 tensor-core peaks from the vendors' datasheets, FLOP/s.
GPU_PEAKS = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L4": 121e12, "A10": 125e12, "4090": 165e12}


def num_params(model) -> int:
    """The model's parameters, a tied head counted once (parameters() yields a shared tensor once)."""
    return sum(p.numel() for p in model.parameters())


def flops_per_token(model, T: int | None = None) -> float:
    """Training FLOPs (forward + backward) per token of `model` at context length T (default block_size).

    6N for the weights (2 per multiply-add forward, 4 backward; PaLM appendix B), N without
    the position table (a lookup, no matmul), plus 12·L·C·T for attention's q·k and w·v,
    which no weight counts (L attention layers). Divide tokens/s × this by the peak FLOP/s
    to get MFU. (The bigram's table is a lookup, counted as the one-hot matmul it stands for.)
    """
    cfg = model.cfg
    T = cfg.block_size if T is None else T
    pos = getattr(model, "pos_emb", None)
    n = num_params(model) - (pos.weight.numel() if pos is not None else 0)
    return 6 * n + 12 * len(model.attention_layers()) * cfg.n_embd * T


def cpu_peak_flops(n_threads: int) -> float:
    """A documented estimate of a CPU's fp32 peak: threads x FLOPs/cycle x clock.

    FLOPs/cycle per core: AVX-512 with 2 FMA units = 2 x 16 lanes x 2 = 64; AVX2 + FMA = 32;
    otherwise 16. The clock is read from /proc/cpuinfo (bogomips / 2 is the base clock on
    x86). On this project's 2-core AMD EPYC (Zen 3, 2.45 GHz, AVX2): 2 x 32 x 2.45e9 = 157 GFLOP/s.
    """
    flags, ghz = "", 2.5
    try:
        info = open("/proc/cpuinfo", encoding="utf-8").read()
        flags = (re.search(r"^flags\s*:(.*)$", info, re.M) or [None, ""])[1]
        bogo = re.search(r"^bogomips\s*:\s*([\d.]+)", info, re.M)
        if bogo:
            ghz = float(bogo.group(1)) / 2000
    except OSError:
        pass
    words = set(flags.split())
    per_cycle = 64 if "avx512f" in words else 32 if {"avx2", "fma"} <= words else 16
    return n_threads * per_cycle * ghz * 1e9


def device_peak_flops(device) -> float | None:
    """Peak FLOP/s of `device` (a torch.device), or None when unknown (then pass --peak-tflops)."""
    import torch

    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        return next((peak for key, peak in GPU_PEAKS.items() if key in name), None)
    if device.type == "cpu":
        from nn2gpt.machine import cores

        return cpu_peak_flops(min(torch.get_num_threads(), cores()))
    return None
