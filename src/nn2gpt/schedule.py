"""The learning-rate schedule of chapters 2 and 5: linear warm-up, then half a cosine.

Both GPT engines (torch and numpy) train with it, so it lives here, with no torch and no numpy.
Warm-up: a freshly initialised network's gradients point in poor directions and Adam's second
moments are still near zero, so full-size steps early on can throw the weights far off; the
rate grows linearly over `warmup` steps. Cosine: large steps while the loss falls fast, ever
smaller ones to settle in a minimum at the end.
"""

from __future__ import annotations

import math


def cosine_lr(step: int, max_lr: float, warmup: int, max_steps: int, min_lr: float | None = None,
              seconds: float = 0.0, max_seconds: float | None = None) -> float:
    """Linear warmup to max_lr over `warmup` steps, then half a cosine down to min_lr (max_lr / 10
    by default) as the budget is used up. The budget is max_steps, or max_seconds of wall-clock
    time when given (whichever is further along)."""
    if step < warmup:
        return max_lr * (step + 1) / (warmup + 1)
    min_lr = max_lr / 10 if min_lr is None else min_lr
    done = (step - warmup) / max(1, max_steps - warmup)  # 0 -> 1
    if max_seconds:
        done = max(done, seconds / max_seconds)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * min(1.0, done))) * (max_lr - min_lr)
