"""Muon: momentum, then the update's matrix orthogonalised by a Newton–Schulz iteration.

Adam scales every weight's step by its own gradient history. Muon (Keller Jordan, 2024) looks
at a weight MATRIX W (out, in) as a whole: it keeps Nesterov momentum M of the gradient, and
steps along the nearest semi-orthogonal matrix to M,

    M = U S V^T (its SVD)   ->   O = U V^T   (every singular value set to 1)
    W <- W (1 - lr * wd) - lr * sqrt(max(1, out/in)) * O

so that every direction the gradient points in moves by the same amount: the few large
singular directions, which dominate a plain gradient step, no longer drown the rest.

The SVD is slow; a polynomial does it. If X = U S V^T then X X^T X = U S^3 V^T, so any odd
polynomial p(X) = a X + b (X X^T) X + c (X X^T)^2 X acts on the singular values alone:
s -> a s + b s^3 + c s^5. Scale X so that every s <= 1 (divide by its Frobenius norm), then
apply p five times: with Jordan's coefficients (a, b, c) = (3.4445, -4.7750, 2.0315), chosen to
grow small s as fast as possible, every s lands in a band around 1 (about 0.68 to 1.2),
not exactly 1, which trains as well as U V^T. Only matmuls: cheap on any device.

Muon is for the hidden matrices only (muon_names); embeddings, the head, biases and gains stay
with AdamW (nn2gpt.gpt.train.make_optimizer builds the pair). torch.optim.Muon (torch >= 2.9) is the same algorithm; this hand-written
one runs the iteration in float32 (torch's runs it in bfloat16, slow and coarse on a CPU), and
tests/gpt/test_muon.py checks the two agree.

    newton_schulz(G, steps=5) -> O          (out, in) -> (out, in), singular values ~1
    Muon(params, lr, momentum, weight_decay, nesterov)
    Optimizers(adamw, muon)                 the two behind one step() / zero_grad()
    optimizer_arrays / load_optimizer_arrays   their state in a checkpoint, and back
"""

from __future__ import annotations

import math

import torch

COEFFICIENTS = (3.4445, -4.7750, 2.0315)  # (a, b, c) of s -> a s + b s^3 + c s^5


def newton_schulz(g: torch.Tensor, steps: int = 5, eps: float = 1e-7) -> torch.Tensor:
    """An approximately orthogonal matrix with g's singular vectors: U V^T for g = U S V^T."""
    a, b, c = COEFFICIENTS
    wide = g.size(0) <= g.size(1)
    x = g if wide else g.T  # (m, n) with m <= n: the Gram matrix x x^T is the small one
    x = x / x.norm().clamp(min=eps)  # every singular value <= 1 (the Frobenius norm bounds them)
    for _ in range(steps):
        gram = x @ x.T  # (m, m)
        x = a * x + (b * gram + c * gram @ gram) @ x  # (m, n): s -> a s + b s^3 + c s^5
    return x if wide else x.T  # (out, in)


class Muon(torch.optim.Optimizer):
    """Nesterov momentum, Newton–Schulz orthogonalisation, decoupled weight decay; 2-D parameters only.
    State per parameter: "momentum_buffer" (out, in)."""

    def __init__(self, params, lr: float = 0.02, momentum: float = 0.95, weight_decay: float = 0.0,
                 nesterov: bool = True, steps: int = 5):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov,
                                      steps=steps))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            mu = group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                buf = self.state[p].setdefault("momentum_buffer", torch.zeros_like(p))  # (out, in)
                buf.lerp_(p.grad, 1 - mu)  # M <- mu M + (1 - mu) G
                update = p.grad.lerp(buf, mu) if group["nesterov"] else buf  # look one step ahead
                o = newton_schulz(update, group["steps"])  # (out, in) singular values ~1
                p.mul_(1 - group["lr"] * group["weight_decay"])
                p.add_(o, alpha=-group["lr"] * math.sqrt(max(1.0, p.size(0) / p.size(1))))


def muon_names(model: torch.nn.Module) -> list[str]:
    """The hidden matrices Muon trains: every 2-D weight inside the blocks (q/k/v, the output
    projections, the MLP), not the embeddings or a head, which are lookups and a read-out."""
    return [n for n, p in model.named_parameters() if p.requires_grad and p.dim() == 2 and n.startswith("blocks.")]


class Optimizers:
    """AdamW and Muon stepped together; `param_groups` lists both, Muon's groups marked "muon"
    (their rate follows the schedule times muon_lr / lr: see nn2gpt.gpt.train)."""

    def __init__(self, adamw: torch.optim.Optimizer, muon: Muon):
        self.adamw, self.muon = adamw, muon
        for g in muon.param_groups:
            g["muon"] = True

    @property
    def param_groups(self) -> list[dict]:
        return [*self.adamw.param_groups, *self.muon.param_groups]

    def step(self) -> None:
        self.adamw.step()
        self.muon.step()

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.adamw.zero_grad(set_to_none=set_to_none)
        self.muon.zero_grad(set_to_none=set_to_none)


# ---- in a checkpoint: Adam's arrays as nn2gpt.optstate names them, plus Muon's momentum -----

def optimizer_arrays(opt, model) -> dict:
    """The optimizer's state as arrays named by parameter: Adam's (optstate) and "muon.<name>"."""
    from nn2gpt.optstate import torch_adam_arrays

    if not isinstance(opt, Optimizers):
        return torch_adam_arrays(opt, model)
    names = {id(p): n for n, p in model.named_parameters()}
    momentum = {f"muon.{names[id(p)]}": st["momentum_buffer"].cpu().numpy()
                for g in opt.muon.param_groups for p in g["params"] if (st := opt.muon.state.get(p))}
    return torch_adam_arrays(opt.adamw, model) | momentum


def load_optimizer_arrays(opt, model, arrays: dict) -> None:
    """Put optimizer_arrays' state back into an optimizer built over `model` the same way."""
    import numpy as np

    from nn2gpt.optstate import load_torch_adam

    load_torch_adam(opt.adamw if isinstance(opt, Optimizers) else opt, model, arrays)
    if isinstance(opt, Optimizers):
        for name, p in model.named_parameters():
            if f"muon.{name}" in arrays:
                opt.muon.state[p] = {"momentum_buffer": torch.from_numpy(np.array(arrays[f"muon.{name}"])).to(p.device)}
