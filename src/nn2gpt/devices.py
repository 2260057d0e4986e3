"""Choosing where tensors live: `--device auto|cpu|cuda|cuda:N`, shared by every training command.

`auto` takes the GPU when torch sees one, else the CPU. Asking for a GPU that is not there is
bad input (a one-line error), not a CUDA traceback.
"""

from __future__ import annotations

from nn2gpt.errors import UserError


def pick_device(name: str):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {name} asked for, but torch sees no GPU; use --device cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"unknown --device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise UserError(f"--device {name} asked for, but torch sees {torch.cuda.device_count()} GPU(s) "
                        f"(cuda:0 to cuda:{torch.cuda.device_count() - 1}); pick one of those")
    return device


def mixed_precision(device, dtype: str = "auto"):
    """(autocast, uses_bf16) for training on `device`; `with autocast(): ...` wraps the forward pass.

    bf16 autocast when dtype is "bfloat16", or "auto" on a GPU that has it: matrix products run
    in bfloat16 while weights, optimizer state and the loss stay float32. On a GPU this also lets
    float32 matrix products use TF32 tensor cores."""
    from contextlib import nullcontext

    import torch

    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    use = dtype == "bfloat16" or (dtype == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported())
    return ((lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if use else nullcontext), use
