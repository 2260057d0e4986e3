"""What chapter 2's exercises share; each one's check and trace example are its folder's check.py.

Chapter 2's checks, in PyTorch: the learner's module or function against chapter 2's pieces.

Modules are built with the learner's constructor and seeded weights; the expected output is
computed from those same weights with chapter 2's own code (nn2gpt.gpt.model.attention written
out, nn.LayerNorm, nn2gpt.nn.positional), in float64. Invariants are checked directly: position
t's output must not change when a later token changes, probabilities must sum to 1.

Chapter 2's examples for `nn2gpt learn trace`: a Tiny Shakespeare batch through the lecture's modules.

The sizes are the lecture's while it builds the pieces ("Let's build GPT"): a batch of B = 4 windows
of T = 8 characters (the 65-character vocabulary), embedded in n_embd = 32 channels, 4 heads of head
size 8 (one Head alone: head_size 16), block_size 8. The embedding table and the modules' weights
are seeded, so the learner's run and the reference's see the same numbers. Each exercise's example()
returns (what the example is, a function of the learner's module that runs it).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nn2gpt.learn.checking import CheckFailed, need
from nn2gpt.learn.example_data import char_batch


def arr(t, name: str, shape) -> np.ndarray:
    """A tensor the learner returned, as float64 numpy of exactly `shape` (else CheckFailed)."""
    if not isinstance(t, torch.Tensor):
        raise CheckFailed(f"`{name}` is a {type(t).__name__}, expected a tensor of shape {tuple(shape)}")
    if tuple(t.shape) != tuple(shape):
        raise CheckFailed(f"`{name}` is {tuple(t.shape)}, expected {tuple(shape)}")
    return t.detach().double().numpy()


def build(cls, name: str, *args):
    torch.manual_seed(0)
    try:
        module = cls(*args)
    except TypeError as e:
        if "argument" not in str(e):
            raise
        raise CheckFailed(f"{name}({', '.join(map(str, args))}) failed: {e}; keep the stub's signature") from None
    return module.double().eval()


def linear(module, name: str, attr: str, shape) -> nn.Linear:
    lin = getattr(module, attr, None)
    if not isinstance(lin, nn.Linear):
        raise CheckFailed(f"{name} has no nn.Linear `self.{attr}`; keep the names of the stub's docstring")
    if tuple(lin.weight.shape) != shape:
        raise CheckFailed(f"`self.{attr}.weight` is {tuple(lin.weight.shape)}, expected {shape}")
    return lin


def future_positions(f, x: torch.Tensor) -> list[int]:
    """Positions t whose output changes when x after t changes (they see the future)."""
    base = f(x).detach()
    seen = []
    for t in range(x.shape[1] - 1):
        y = x.clone()
        y[:, t + 1:] = torch.randn_like(y[:, t + 1:])
        if not torch.allclose(f(y)[:, t].detach(), base[:, t], atol=1e-9):
            seen.append(t)
    return seen


def no_future(f, x, what: str) -> None:
    seen = future_positions(f, x)
    if seen:
        raise CheckFailed(f"{what} sees the future: the output at positions {seen} changes when a later position "
                          f"changes; mask the keys after each query (torch.tril)")


def head_output(x, q, k, v, scale: float | None = None, mask: str = "past", dim: int = -1):
    """The reference head (and its common mistakes) from the head's own q, k, v maps."""
    from nn2gpt.gpt.model import attention

    Q, K, V = q(x)[:, None], k(x)[:, None], v(x)[:, None]                             # (B, 1, T, hs)
    if scale is None and mask == "past" and dim == -1:
        return attention(Q, K, V)[0][:, 0]                                            # chapter 2's, written out
    T = x.shape[1]
    s = Q @ K.transpose(-2, -1) * (scale if scale is not None else K.shape[-1] ** -0.5)
    keep = {"past": torch.ones(T, T).tril(), "future": torch.ones(T, T).triu(), "none": torch.ones(T, T)}[mask]
    return (F.softmax(s.masked_fill(keep == 0, float("-inf")), dim=dim) @ V)[:, 0]


B, T, C, N_HEAD, HEAD_SIZE = 4, 8, 32, 4, 16


def batch():
    """idx, targets (B, T) long, their vocabulary size V, and x (B, T, C): idx embedded."""
    x, y, V = char_batch(B, T)
    idx, targets = torch.from_numpy(x), torch.from_numpy(y)
    table = torch.randn(V, C, generator=torch.Generator().manual_seed(0))
    return idx, targets, V, table[idx]


WHAT = f"a Tiny Shakespeare batch idx ({B}, {T}), embedded as x ({B}, {T}, {C})"


def module_example(cls_name: str, *args):
    """A builder for a module exercise: construct it (seeded), then call it on x."""
    def build():
        x = batch()[3]

        def call(module):
            cls = need(module, cls_name, f"class {cls_name}(nn.Module)")
            torch.manual_seed(0)
            cls(*args)(x.clone())
        return f"{cls_name}({', '.join(map(str, args))})(x): {WHAT}", call
    return build
