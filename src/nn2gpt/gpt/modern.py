"""Chapter 6's small architecture tricks, each one formula (the optimizer, Muon, is in muon.py).

The modern GPT speedruns (modded-nanogpt's record ladder) train GPT-2 faster with a handful of
changes to the 2019 recipe. These are the ones that are a line of maths each; `ModelConfig`
(nn2gpt.gpt.variants, which fits them into chapter 2's classes) switches them on one by one
(zero-init and the untied head are the speedrun recipe's, nn2gpt.gpt.recipes; the others are
off in both recipes), and bench/speedrun.py measures each.

    relu_squared(x)      ReLU(x)^2 in the MLP instead of GELU             ModelConfig.mlp = "relu2"
    rms_rows(t)          each row divided by its root mean square         ModelConfig.qk_norm
                         (in nn2gpt.nn.attention, the layer that applies it)
    softcap(z, cap)      cap * tanh(z / cap) on the logits                ModelConfig.softcap
    zero_out(model)      output projections start at zero                 ModelConfig.zero_init

Why each might help (whether it does at chapter 2's size is measured in docs/speedrun.md):
- ReLU²: as cheap as ReLU, smooth where it is non-zero, and sparse; So et al. (Primer, 2021)
  found it beat GELU per step in Transformers.
- QK-norm: the attention logits are q·k/sqrt(hs); with q and k of unit RMS they are bounded by
  sqrt(hs), so no head can saturate its softmax early with a large learning rate.
- Soft-cap: tanh keeps every logit inside (-cap, cap) smoothly, so the model cannot win a
  little loss by blowing single logits up; the gradient is unchanged near zero.
- Zero-init: with every block's output projection zero, each block starts as the identity and
  the network begins as "embedding -> head", a bigram model, then grows the blocks' writes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nn2gpt.nn.attention import rms_rows  # noqa: F401  QK-norm: RMSNorm without a gain, per head

MLPS = ("gelu", "relu2")


def relu_squared(x: torch.Tensor) -> torch.Tensor:
    """max(x, 0)^2, elementwise; its derivative 2 max(x, 0) is continuous (unlike ReLU's)."""
    return F.relu(x).square()  # same shape as x


class ReLUSquared(nn.Module):
    def forward(self, x):
        return relu_squared(x)


def activation(name: str) -> nn.Module:
    """The MLP's non-linearity by name (MLPS)."""
    return nn.GELU(approximate="tanh") if name == "gelu" else ReLUSquared()


def softcap(z: torch.Tensor, cap: float) -> torch.Tensor:
    """cap * tanh(z / cap): about z for |z| << cap, never beyond ±cap (Gemma 2's logit cap)."""
    return cap * torch.tanh(z / cap)  # same shape as z, inside (-cap, cap)


def zero_out(model: nn.Module) -> None:
    """Zero every projection that writes into the residual stream (attn.proj, mlp.proj) and an
    untied head: each block then starts as the identity map."""
    for name, p in model.named_parameters():
        if name.endswith(("attn.proj.weight", "mlp.proj.weight")) or name == "lm_head.weight":
            nn.init.zeros_(p)
