"""Choosing where tensors live: `--device auto|cpu|cuda|cuda:N|mps`, shared by every command that takes it.

`auto` takes an NVIDIA GPU (CUDA) when torch sees one, else the Apple GPU (MPS, Apple silicon
under macOS), else the CPU. Asking for a GPU that is not there is bad input (a one-line error),
not a torch traceback.

The Apple GPU lacks a few things the CUDA path uses; each place that would meet one does this:
- no float64 on MPS (`has_float64`): sampling builds its float64 distribution and draws on the
  CPU (nn2gpt.gpt.generate.sample_next), the validation sum is float32 there (nn2gpt.gpt.train),
  RoPE's longer tables are computed on the CPU and moved (nn2gpt.nn.positional);
- bf16 autocast: never chosen by `--dtype auto` on MPS (float32 there); `--dtype bfloat16`
  autocasts on MPS where torch and macOS support it, else it is refused (`mixed_precision`);
- `torch.compile` stays off by default on MPS, as on the CPU (nn2gpt.gpt.setup.wrapped);
- DDP: no process-group backend carries MPS tensors, so torchrun with mps is refused (nn2gpt.gpt.ddp);
- non_blocking copies are asked for on CUDA only (nn2gpt.translate.train).
"""

from __future__ import annotations

from nn2gpt.errors import UserError

CHOICES = "auto, cpu, cuda, cuda:N or mps"


def pick_device(name: str):
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if torch.backends.mps.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {name} asked for, but torch sees no GPU; use --device cpu")
    if name.split(":")[0] == "mps" and not torch.backends.mps.is_available():
        # is_built tells the two reasons apart: a torch without MPS, or a machine without the GPU
        why = ("torch.backends.mps.is_built() says True: this torch has MPS, but this machine offers no Apple GPU"
               if torch.backends.mps.is_built() else
               "torch.backends.mps.is_built() says False: MPS exists only in torch for macOS on Apple silicon")
        raise UserError(f"--device {name} asked for, but torch sees no Apple GPU (MPS) here ({why}); "
                        f"use --device cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"unknown --device {name!r}; use {CHOICES}") from None
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise UserError(f"--device {name} asked for, but torch sees {torch.cuda.device_count()} GPU(s) "
                        f"(cuda:0 to cuda:{torch.cuda.device_count() - 1}); pick one of those")
    if device.type == "mps" and device.index not in (None, 0):
        raise UserError(f"--device {name} asked for, but a Mac has one Apple GPU, mps (mps:0); use --device mps")
    return device


def has_float64(device) -> bool:
    """Whether tensors of `device` may be float64: everywhere but the Apple GPU (MPS has no
    double-precision type; torch raises on the first float64 tensor put there)."""
    return device.type != "mps"


def mixed_precision(device, dtype: str = "auto"):
    """(autocast, uses_bf16) for training on `device`; `with autocast(): ...` wraps the forward pass.

    bf16 autocast when dtype is "bfloat16", or "auto" on a CUDA GPU that has it: matrix products
    run in bfloat16 while weights, optimizer state and the loss stay float32. On a CUDA GPU this
    also lets float32 matrix products use TF32 tensor cores. "auto" on the Apple GPU (MPS) is
    float32: bf16 there needs macOS 14 and has not been measured to help this project's models;
    "bfloat16" on MPS autocasts where torch and macOS support it and is refused by name where
    they do not (torch would otherwise only warn and train in float32)."""
    from contextlib import nullcontext

    import torch

    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    if device.type == "mps" and dtype == "bfloat16":
        if not torch.amp.is_autocast_available("mps"):
            raise UserError(f"--dtype bfloat16 on --device mps needs a torch with autocast on MPS (this is "
                            f"{torch.__version__}); use --dtype float32, or upgrade torch")
        if not torch.backends.mps.is_macos_or_newer(14, 0):
            raise UserError("--dtype bfloat16 on --device mps needs macOS 14 or newer (older macOS has no bfloat16 "
                            "on the Apple GPU); use --dtype float32")
    use = dtype == "bfloat16" or (dtype == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported())
    return ((lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if use else nullcontext), use
