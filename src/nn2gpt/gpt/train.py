"""Training a GPT (or a bigram / attention model) on a text, from Python or from the CLI.

    from nn2gpt.gpt.train import TrainConfig, train
    result = train(TrainConfig(max_seconds=60, out=None))   # no files; result.val_history

The loop, one optimizer step at a time:
  1. learning rate: linear warmup, then cosine decay to lr/10 (over max_iters, or over
     max_seconds when the budget is time), or WSD (--schedule wsd);
  2. grad_accum micro-batches: forward (bf16 autocast on GPU), loss / grad_accum, backward;
  3. clip the gradient norm, AdamW step (weight decay on matrices only: decaying biases and
     LayerNorm gains only hurts); with --optimizer muon the blocks' matrices take Muon's step;
  4. every eval_interval steps: val loss on the FIXED validation batches, checkpoint.
Stops at max_iters, at max_seconds, on Ctrl-C or SIGTERM (finishes the step, saves, status
"interrupted"), or on a loss that diverges, not finite or past twice ln(vocabulary) (status
"diverged", nothing more is saved: the last good checkpoint is kept; nn2gpt.loop.Ceiling).
`resume=True` restores weights, optimizer, step and every random generator, so a resumed run
continues exactly as if it had never stopped.

Where each part lives: what a run holds before its first step (checkpoint, text and tokenizer,
model, the fixed validation batches) in nn2gpt.gpt.setup; the order of stopping, evaluating,
saving and stepping in nn2gpt.loop.run_steps, shared with the numpy engine; here, the recipe
(TrainConfig, lr_at, make_optimizer) and what one step, one evaluation and one save do (_Run).
"""

from __future__ import annotations

import time
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from nn2gpt.checkpoint import save_checkpoint
from nn2gpt.devices import mixed_precision, pick_device
from nn2gpt.errors import UserError
from nn2gpt.files import atomic_write_text
from nn2gpt.gpt import ddp, runs
from nn2gpt.gpt.batches import get_batch
from nn2gpt.gpt.perf import device_peak_flops, flops_per_token
from nn2gpt.gpt.runconfig import TrainConfig
from nn2gpt.gpt.setup import (build, checkpoint_for, cpu_threads, fixed_val_set, fresh_state, my_share, restore,
                              text_and_tokenizer, wrapped)
from nn2gpt.loop import Ceiling, diverged_message, retry_advice, run_steps
from nn2gpt.progress import progress_bar
from nn2gpt.runlock import RunLock
from nn2gpt.gpt.muon import Muon, Optimizers, muon_names, optimizer_arrays
from nn2gpt.schedule import lr_at
from nn2gpt.runlog import plot_losses, write_metrics


@dataclass
class TrainResult:
    status: str  # done | time | stopped | interrupted | diverged
    step: int
    seconds: float
    val_history: list[tuple[int, float, float]]  # (step, seconds since start, val loss)
    train_history: list[tuple[int, float]]  # (step, train loss)
    best_val_loss: float
    final_val_loss: float
    model: torch.nn.Module = field(repr=False)
    tokenizer: object = field(repr=False)
    run_dir: Path | None = None
    message: str = ""
    eval_seconds: float = 0.0  # with eval_off_clock: the seconds evaluating and saving took, off the clock


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig, device: torch.device):
    """AdamW with weight decay on the matrices only (see the module docstring); fused kernels on a GPU.
    With cfg.optimizer "muon", the blocks' matrices go to Muon instead (nn2gpt.gpt.muon)."""
    to_muon = set(muon_names(model)) if cfg.optimizer == "muon" else set()
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad and n not in to_muon]
    groups = [{"params": [p for _, p in named if p.dim() >= 2], "weight_decay": cfg.weight_decay},
              {"params": [p for _, p in named if p.dim() < 2], "weight_decay": 0.0}]
    fused = {"fused": True} if device.type == "cuda" else {"foreach": True}
    adamw = torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), **fused)
    if not to_muon:
        return adamw
    hidden = [p for n, p in model.named_parameters() if n in to_muon]
    return Optimizers(adamw, Muon(hidden, lr=cfg.muon_lr, weight_decay=cfg.weight_decay))


def train(cfg: TrainConfig) -> TrainResult:
    """Train as `cfg` says; see the module docstring. Returns the histories and the model.

    The process that writes `cfg.out` holds its lock (nn2gpt.runlock) from start to end, so a
    second training run into the same directory is refused instead of mixing the two."""
    t0 = time.perf_counter()
    device = pick_device(cfg.device)
    dist = ddp.setup(device.type)
    if dist.enabled and device.type == "cuda":
        device = torch.device("cuda", dist.local_rank)
        torch.cuda.set_device(device)
    with ExitStack() as held:
        refused = None
        if cfg.out and dist.is_main:  # under torchrun, rank 0 alone writes the run
            try:
                held.enter_context(RunLock(cfg.out))
            except UserError as e:
                refused = e
        if ddp.any_process(refused is not None, dist, device):  # every rank stops, not only rank 0
            ddp.teardown(dist)
            raise refused or UserError(f"{cfg.out}: refused by process 0 (see its error)")
        return _train(cfg, t0, device, dist)


def _train(cfg: TrainConfig, t0: float, device, dist) -> TrainResult:
    """Prepare the run (nn2gpt.gpt.setup), take its steps in the shared loop, write its last files."""
    if device.type == "cpu":
        torch.set_num_threads(cfg.threads or cpu_threads())
    run = _Run(cfg, device, dist)
    status, message = run_steps(cfg, run.state, run.resumed_at, run.evaluate, run.save, run.take_step,
                                on_val=run.show_val, agree=run.agree, ceiling=run.ceiling)
    return run.finish(status, message, t0)


class _Run:
    """One run of the torch engine: what it holds (the model, AdamW, the data, the state a
    checkpoint keeps) and the three things nn2gpt.loop.run_steps asks of it, whose order the loop
    owns: `evaluate` (the val loss), `save` (a checkpoint), `take_step` (one optimizer step).
    Under torchrun every process holds one; only process 0 writes files."""

    def __init__(self, cfg: TrainConfig, device, dist):
        self.cfg, self.device, self.dist = cfg, device, dist
        self.run_dir = Path(cfg.out) if cfg.out else None
        ckpt = checkpoint_for(cfg, self.run_dir)  # data, tokenizer, model: fresh or from the checkpoint
        self.tok, self.train_ids, val_ids = text_and_tokenizer(cfg, ckpt)
        model_cfg, self.model = build(cfg, self.tok, device, dist)
        self.optimizer = make_optimizer(self.model, cfg, device)
        self.ceiling = Ceiling.uniform(self.tok.vocab_size)  # a loss past it has diverged (nn2gpt.loop)
        self.rng = np.random.default_rng(cfg.seed)  # the same on every rank: each takes its slice of the batch
        self.state = restore(ckpt, self.model, self.optimizer, self.rng) if ckpt else fresh_state()
        self.resumed_at = self.state["step"] if ckpt else None  # evaluated and saved already
        # saved inside every checkpoint (config.json is its copy): nothing is written before the first save
        self.config = runs.run_config(model_cfg, cfg)
        self.autocast, _ = mixed_precision(device, cfg.dtype)
        self.fast, self.trained = wrapped(self.model, cfg, device, dist)
        self.flops_tok = flops_per_token(self.model)  # for MFU
        self.peak = cfg.peak_tflops * 1e12 if cfg.peak_tflops else device_peak_flops(device)
        self.share = my_share(cfg, dist, device)
        self.val_set = fixed_val_set(val_ids, cfg, dist, self.share)
        self.saved = ckpt is not None  # has this run a checkpoint of its own (else the files are a replaced run's)
        self.bar = progress_bar(cfg.max_iters, self.state["step"], disable=not (cfg.progress and dist.is_main))
        self.log = {"t": time.perf_counter(), "step": self.state["step"]}  # where the current log interval began
        self.loss_sum = torch.zeros((), device=device)  # training losses since then, summed on the device
        self.fast.train()

    @torch.no_grad()
    def evaluate(self) -> float:
        """The mean loss over the fixed validation batches, averaged over every process's rows."""
        self.fast.eval()
        total = torch.zeros(2, device=self.device, dtype=torch.float64)  # (sum of losses, batches)
        for x, y in self.val_set:
            with self.autocast():
                total[0] += self.fast(x, y)[1].double()
            total[1] += 1
        self.fast.train()
        ddp.all_reduce_sum(total, self.dist)
        return float(total[0] / total[1])

    def save(self) -> None:
        """A checkpoint that resumes exactly (weights, Adam, state, both generators), and metrics.jsonl."""
        if not (self.run_dir and self.dist.is_main):
            return
        state = self.state | {"numpy_rng": self.rng.bit_generator.state, "torch_rng": runs.torch_rng_to_json()}
        save_checkpoint(self.run_dir, runs.weights_to_numpy(self.model), self.config, self.tok.to_json(),
                        optimizer=optimizer_arrays(self.optimizer, self.model), state=state,
                        again=retry_advice(not self.saved, self.cfg.overwrite))
        self.saved = True
        write_metrics(self.run_dir, self.state["rows"])

    def take_step(self, step: int, elapsed) -> str | None:
        """One optimizer step: the learning rate, grad_accum micro-batches, clipping, AdamW."""
        cfg = self.cfg
        lr = lr_at(cfg, step, self.state["seconds"])
        for group in self.optimizer.param_groups:  # Muon's groups at its own rate, on the same schedule
            group["lr"] = lr * cfg.muon_lr / cfg.lr if group.get("muon") else lr
        for micro in range(cfg.grad_accum):
            x, y = self.share(*get_batch(self.train_ids, cfg.block_size, cfg.batch_size * self.dist.world, self.rng))
            # DDP all-reduces gradients in backward; skip that for all but the last micro-batch.
            sync = micro == cfg.grad_accum - 1 or not self.dist.enabled
            with (nullcontext() if sync else self.trained.no_sync()), self.autocast():
                _, loss = self.trained(x, y)
            (loss / cfg.grad_accum).backward()
            self.loss_sum.add_(loss.detach() / cfg.grad_accum)
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.state["step"] = step = step + 1
        self.bar.update(1)
        if step % cfg.log_interval == 0 or step == cfg.max_iters:
            return self.log_row(step, lr, elapsed)
        return None

    def log_row(self, step: int, lr: float, elapsed) -> str | None:
        """A metrics row: mean training loss since the last one, tokens/s, MFU; a message if the loss is not finite."""
        cfg, dist, log = self.cfg, self.dist, self.log
        train_loss = float(self.loss_sum) / (step - log["step"])  # the one host sync per log interval
        self.loss_sum.zero_()
        now = time.perf_counter()
        tok_s = (step - log["step"]) * cfg.grad_accum * cfg.batch_size * cfg.block_size / (now - log["t"])
        log.update(t=now, step=step)
        mfu = self.flops_tok * tok_s / self.peak if self.peak else None
        self.state["rows"].append({"step": step, "time": round(elapsed(), 3), "train_loss": train_loss, "lr": lr,
                                   "tokens_per_s": round(tok_s * dist.world), "mfu": mfu})
        self.bar.set_postfix_str(f"loss {train_loss:.4f} | {tok_s * dist.world:,.0f} tok/s"
                                 + (f" | MFU {100 * mfu:.1f}%" if mfu is not None else ""), refresh=False)
        problem = self.ceiling.problem(train_loss, f"training loss at step {step}")
        if self.agree(problem is not None):  # all ranks stop together
            return problem or f"training loss at step {step} diverged on another process"
        return None

    def show_val(self, step: int, val: float) -> None:
        self.bar.set_postfix_str(f"val {val:.4f}", refresh=False)

    def agree(self, flag: bool) -> bool:
        """True on every process when `flag` is true on any (nn2gpt.gpt.ddp.any_process)."""
        return ddp.any_process(flag, self.dist, self.device)

    def finish(self, status: str, message: str, t0: float) -> TrainResult:
        """After the loop: the one-line message of a diverged run, the last files, the result."""
        self.bar.close()
        if status == "diverged":
            message = diverged_message(message, self.run_dir, self.cfg)
        rows = self.state["rows"]
        if self.run_dir and self.dist.is_main and self.saved:
            self._write_last_files(status)
        ddp.teardown(self.dist)
        vals = [(r["step"], r["time"], r["val_loss"]) for r in rows if "val_loss" in r]
        return TrainResult(status=status, step=self.state["step"], seconds=time.perf_counter() - t0, val_history=vals,
                           train_history=[(r["step"], r["train_loss"]) for r in rows if "train_loss" in r],
                           best_val_loss=self.state["best_val_loss"], final_val_loss=vals[-1][2] if vals else float("nan"),
                           model=self.model, tokenizer=self.tok, run_dir=self.run_dir, message=message,
                           eval_seconds=sum(r.get("eval_s", 0.0) for r in rows))

    def _write_last_files(self, status: str) -> None:
        """metrics.jsonl with every row, loss.png, and (unless the run diverged) samples.txt."""
        write_metrics(self.run_dir, self.state["rows"])
        plot_losses(self.run_dir, self.state["rows"])
        if status != "diverged" and self.cfg.sample_tokens > 0:
            from nn2gpt.gpt.sample import sample_text

            text = sample_text(self.model, self.tok, "", self.cfg.sample_tokens, seed=self.cfg.seed)
            atomic_write_text(self.run_dir / "samples.txt", text + "\n")
