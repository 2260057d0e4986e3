"""AdamW, the cosine learning-rate schedule with warmup, and gradient clipping, in numpy.

AdamW (Loshchilov & Hutter) keeps, for every weight, running averages of the gradient (m) and
of its square (v), and steps each weight by m / (sqrt(v) + eps): a per-weight step size. The
weight decay is *decoupled*: the weight is shrunk by lr * wd directly, not through the
gradient, and only for matrices (embeddings and Linear weights), never for biases or
LayerNorm gains, as in the torch engine.
"""

from __future__ import annotations

import math

import numpy as np

from nn2gpt.optstate import adam_arrays, read_adam
from nn2gpt.schedule import cosine_lr

__all__ = ["AdamW", "clip_grad_norm", "cosine_lr"]  # cosine_lr: the one schedule of both engines (nn2gpt.schedule)


def clip_grad_norm(grads: dict[str, np.ndarray], max_norm: float) -> float:
    """Scale all gradients together so that their global L2 norm is at most max_norm (in place).

    Returns the norm before clipping. max_norm <= 0 disables clipping.
    """
    norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))
    if max_norm > 0 and norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        for g in grads.values():
            g *= scale
    return norm


class AdamW:
    """AdamW over a dict of weights, updated in place. The state is a dict of arrays
    ("m.<name>", "v.<name>") plus the step count, so it fits a safetensors checkpoint."""

    def __init__(self, weights: dict[str, np.ndarray], betas=(0.9, 0.95), eps: float = 1e-8,
                 weight_decay: float = 0.1):
        self.weights = weights
        self.beta1, self.beta2 = betas
        self.eps, self.weight_decay = eps, weight_decay
        self.m = {n: np.zeros_like(w) for n, w in weights.items()}
        self.v = {n: np.zeros_like(w) for n, w in weights.items()}
        self.decay = {n: w.ndim >= 2 for n, w in weights.items()}  # matrices only
        self.steps = 0
        # one scratch buffer, as big as the largest weight, so a step allocates nothing
        self._scratch = np.empty(max(w.size for w in weights.values()), dtype=next(iter(weights.values())).dtype)

    def step(self, grads: dict[str, np.ndarray], lr: float) -> None:
        """One update with learning rate lr:
            m = b1 m + (1-b1) g;   v = b2 v + (1-b2) g^2
            w -= lr * wd * w                                        (decoupled decay)
            w -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)   (bias-corrected Adam step)
        """
        self.steps += 1
        b1, b2 = self.beta1, self.beta2
        c1 = 1.0 - b1 ** self.steps  # bias corrections: m and v start at 0
        c2 = 1.0 - b2 ** self.steps
        for name, w in self.weights.items():
            g, m, v = grads[name], self.m[name], self.v[name]
            tmp = self._scratch[:w.size].reshape(w.shape)
            m *= b1
            np.multiply(g, 1.0 - b1, out=tmp)
            m += tmp
            v *= b2
            np.multiply(g, g, out=tmp)
            tmp *= 1.0 - b2
            v += tmp
            if self.decay[name] and self.weight_decay:
                w *= 1.0 - lr * self.weight_decay
            np.divide(v, c2, out=tmp)
            np.sqrt(tmp, out=tmp)
            tmp += self.eps  # tmp = sqrt(v_hat) + eps
            np.divide(m, tmp, out=tmp)
            tmp *= lr / c1
            w -= tmp

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The moments, named for a checkpoint as every chapter names Adam's state (nn2gpt.optstate)."""
        return adam_arrays((n, self.m[n], self.v[n], self.steps) for n in self.weights)

    def load_state_arrays(self, arrays: dict[str, np.ndarray], steps: int) -> None:
        saved = read_adam(arrays, steps)
        if set(saved) != set(self.weights):
            from nn2gpt.errors import UserError

            raise UserError(f"the checkpoint's optimizer state is for other parameters "
                            f"({sorted(set(saved) ^ set(self.weights))[:3]}); it cannot be resumed, train a new run")
        for n in self.weights:
            self.m[n][...], self.v[n][...] = saved[n][0], saved[n][1]
        self.steps = steps
