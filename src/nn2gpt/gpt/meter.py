"""The training loss, tokens/s and MFU of each log interval, and the progress bar, for
nn2gpt.gpt.train's loop (its step 2f): the loss stays on the device until a row is written, so
the loop syncs with the host once per log interval."""

from __future__ import annotations

import time

import torch

from nn2gpt.gpt.perf import device_peak_flops, flops_per_token
from nn2gpt.gpt.runconfig import TrainConfig
from nn2gpt.progress import progress_bar


class Meter:
    """The training loss, tokens/s and MFU of each log interval, and the progress bar."""

    def __init__(self, cfg: TrainConfig, model, device, dist, step: int, seconds: float = 0.0):
        self.cfg, self.world = cfg, dist.world
        self.flops_tok = flops_per_token(model)  # for MFU
        self.peak = cfg.peak_tflops * 1e12 if cfg.peak_tflops else device_peak_flops(device)
        # a budget of seconds shows as seconds ("step 132, 12 s of 60 s"), not as step 132 of a million
        self.bar = progress_bar(cfg.max_iters, step, disable=not (cfg.progress and dist.is_main),
                                seconds=cfg.max_seconds, spent=seconds)
        self.t, self.step = time.perf_counter(), step  # where the current log interval began
        self.loss_sum = torch.zeros((), device=device)  # training losses since then, summed on the device

    def add(self, loss: torch.Tensor) -> None:
        self.loss_sum.add_(loss)  # no host sync: the loss stays on the device until the row

    def tick(self) -> None:
        self.bar.update(1)

    def row(self, step: int, lr: float, seconds: float) -> dict:
        """The metrics row of the interval that ends at `step` (the one host sync per interval)."""
        cfg = self.cfg
        train_loss = float(self.loss_sum) / (step - self.step)
        self.loss_sum.zero_()
        now = time.perf_counter()
        tok_s = (step - self.step) * cfg.grad_accum * cfg.batch_size * cfg.block_size / (now - self.t)
        self.t, self.step = now, step
        mfu = self.flops_tok * tok_s / self.peak if self.peak else None
        self.show(f"loss {train_loss:.4f} | {tok_s * self.world:,.0f} tok/s"
                  + (f" | MFU {100 * mfu:.1f}%" if mfu is not None else ""))
        return {"step": step, "time": round(seconds, 3), "train_loss": train_loss, "lr": lr,
                "tokens_per_s": round(tok_s * self.world), "mfu": mfu}

    def show(self, text: str) -> None:
        self.bar.set_postfix_str(text, refresh=False)

    def close(self) -> None:
        self.bar.close()
