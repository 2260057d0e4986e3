"""Data-parallel training across processes (DDP), launched by torchrun.

`torchrun --nproc_per_node=N -m nn2gpt gpt train ...` starts N copies of the program with
RANK / WORLD_SIZE / LOCAL_RANK in the environment (and MASTER_ADDR/PORT; with --nnodes,
across machines too). Each process holds a full model, computes gradients on its share of
the batch, and DDP averages the gradients across processes during backward, so every copy
takes the same optimizer step. Backend: nccl between GPUs, gloo on CPU. None carries the
Apple GPU's (MPS) tensors, so torchrun with --device mps is refused (a Mac has one such GPU anyway).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from nn2gpt.errors import UserError


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(device_type: str) -> Dist:
    """Join the process group when launched by torchrun; a no-op for a single process."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return Dist()
    if device_type == "mps":  # refused before any process group: neither backend takes MPS tensors
        raise UserError("torchrun with --device mps: torch has no process-group backend for the Apple GPU (nccl is "
                        "CUDA's, gloo the CPU's); train in one process (nn2gpt gpt train ...) or give --device cpu")
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    return Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def teardown(d: Dist) -> None:
    if d.enabled:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def all_reduce_sum(tensor, d: Dist):
    """Sum `tensor` over processes in place (identity for one process)."""
    if d.enabled:
        import torch.distributed as dist

        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def any_process(flag: bool, d: Dist, device) -> bool:
    """True when `flag` is true in any process, so all stop together (else they deadlock)."""
    if not d.enabled:
        return flag
    import torch

    t = torch.tensor([1.0 if flag else 0.0], device=device)
    return bool(all_reduce_sum(t, d).item() > 0)
