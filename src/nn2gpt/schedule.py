"""Every learning-rate schedule of the book: linear warm-up, then half a cosine (or WSD), and the
Transformer paper's (chapter 3).

Both GPT engines (torch and numpy) and the translator train with it, so it lives here, with no
torch and no numpy.
Warm-up: a freshly initialised network's gradients point in poor directions and Adam's second
moments are still near zero, so full-size steps early on can throw the weights far off; the
rate grows linearly over `warmup` steps. Cosine: large steps while the loss falls fast, ever
smaller ones to settle in a minimum at the end.

WSD (warm-up, stable, decay; chapter 6, `--schedule wsd`): the same warm-up, then the full rate
for most of the budget, then a straight line down to min_lr over the last `cooldown` fraction.
The loss falls little while the rate is high and a lot in the cool-down; holding the peak
longer explores further before settling (Hu et al., MiniCPM 2024; modded-nanogpt's schedule).

    lr_at(cfg, step, seconds)           a GPT run's rate: cfg.schedule, cfg.lr, cfg.warmup, ...
    noam_lr(step, d_model, warmup, factor)   the Transformer paper's (chapter 3)
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
    done = _done(step, warmup, max_steps, seconds, max_seconds)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * done)) * (max_lr - min_lr)


def _done(step: int, warmup: int, max_steps: int, seconds: float, max_seconds: float | None) -> float:
    """How much of the budget after the warm-up is used up, 0 -> 1 (steps or seconds, the further)."""
    done = (step - warmup) / max(1, max_steps - warmup)
    if max_seconds:
        done = max(done, seconds / max_seconds)
    return min(1.0, done)


def wsd_lr(step: int, max_lr: float, warmup: int, max_steps: int, min_lr: float | None = None,
           seconds: float = 0.0, max_seconds: float | None = None, cooldown: float = 0.4) -> float:
    """Linear warmup to max_lr, max_lr until 1 - cooldown of the budget is used, then linear down
    to min_lr (max_lr / 10 by default) at its end."""
    if step < warmup:
        return max_lr * (step + 1) / (warmup + 1)
    min_lr = max_lr / 10 if min_lr is None else min_lr
    left = 1.0 - _done(step, warmup, max_steps, seconds, max_seconds)  # 1 -> 0
    return min_lr + min(1.0, left / cooldown) * (max_lr - min_lr) if cooldown > 0 else max_lr


SCHEDULES = ("cosine", "wsd")


def lr_at(cfg, step: int, seconds: float = 0.0) -> float:
    """The rate of a GPT run (either engine's config) at `step`, `seconds` into its budget:
    warm-up for cfg.warmup steps, then cfg.schedule (SCHEDULES; the numpy engine has no
    schedule setting: cosine) from cfg.lr to cfg.min_lr over cfg.max_iters or cfg.max_seconds."""
    args = (step, cfg.lr, cfg.warmup, cfg.max_iters, cfg.min_lr, seconds, cfg.max_seconds)
    if getattr(cfg, "schedule", "cosine") == "wsd":
        return wsd_lr(*args, cooldown=cfg.cooldown)
    return cosine_lr(*args)


def noam_lr(step: int, d_model: int, warmup: int, factor: float) -> float:
    """The Transformer paper's schedule (eq. 3; chapter 3): linear warm-up, then 1/sqrt(step);
    `step` counts from 1."""
    step = max(step, 1)
    return factor * d_model ** -0.5 * min(step ** -0.5, step * warmup ** -1.5)
