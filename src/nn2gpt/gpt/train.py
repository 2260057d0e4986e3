"""Training a GPT on a text: the whole loop, in this file, read top to bottom like nanoGPT's train.py.

    from nn2gpt.gpt.train import TrainConfig, train
    result = train(TrainConfig(max_seconds=60, out=None))   # no files; result.val_history

`train` holds the run's lock (a second writer into the same `out` is refused) and, under
torchrun, one process per device (DDP); `train_loop` is the rest:
  1. what the run holds before its first step (nn2gpt.gpt.setup): the checkpoint it resumes (or
     none), the text and tokenizer, the model (chapter 2's, or a variant), the optimizer, the
     fixed validation batches;
  2. one pass per optimizer step:
     a. stop? out of steps, out of time, the step asked for, or Ctrl-C or SIGTERM, which only
        set a flag, so the step in flight finishes (nn2gpt.loop.stop_status; nn2gpt.interrupt);
     b. every eval_interval steps and at the end: the val loss on the FIXED validation batches,
        then a checkpoint that resumes exactly (`Saver`; nn2gpt.checkpoint writes it
        atomically); a val loss that diverges, not finite or past twice ln(vocabulary)
        (nn2gpt.loop.Ceiling), stops the run ("diverged") before it saves;
     c. the learning rate: linear warm-up, then cosine (or WSD) to min_lr over the budget,
        max_iters or max_seconds (nn2gpt.schedule.lr_at);
     d. grad_accum micro-batches: forward (bf16 autocast on a GPU), loss / grad_accum, backward;
     e. clip the gradient norm; the optimizer's step (`make_optimizer`: AdamW, weight decay on
        matrices only, since decaying biases and LayerNorm gains only hurts; with the speedrun
        recipe the blocks' matrices take Muon's step);
     f. every log_interval steps: a metrics row (train loss, tokens/s, MFU); a training loss
        that diverges stops the run ("diverged", the last good checkpoint is kept);
  3. the last files: metrics.jsonl, loss.png, samples.txt.
`resume=True` restores weights, optimizer, step and every random generator, so a resumed run
continues exactly as if it had never stopped. The settings and their recipes: nn2gpt.gpt.runconfig.
"""

from __future__ import annotations

import time
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from nn2gpt.checkpoint import save_checkpoint
from nn2gpt.devices import has_float64, mixed_precision, pick_device
from nn2gpt.errors import UserError
from nn2gpt.files import atomic_write_text
from nn2gpt.gpt import ddp, runs
from nn2gpt.gpt.tokenizer import bits_per_byte, bytes_per_token
from nn2gpt.gpt.batches import get_batch
from nn2gpt.gpt.meter import Meter
from nn2gpt.gpt.runconfig import TrainConfig
from nn2gpt.gpt.setup import (build, checkpoint_for, fixed_val_set, fresh_state, my_share, restore,
                              text_and_tokenizer, wrapped)
from nn2gpt.interrupt import StopOnCtrlC
from nn2gpt.loop import Ceiling, Clock, diverged_message, evaluation_due, retry_advice, stop_status
from nn2gpt.machine import training_threads
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
    final_val_bpb: float = float("nan")  # the last val loss in bits per byte of the validation text


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


def train(cfg: TrainConfig, tokenizer=None, build_model=build, config_extra: dict | None = None) -> TrainResult:
    """Train as `cfg` says (see the module docstring); the histories, the model, how it ended.

    The seams the workbook's milestones train through (`nn2gpt gpt train` uses the defaults):
    `tokenizer`, a tokenizer object to train with instead of the one cfg.tokenizer makes, for a
    fresh run (nn2gpt.gpt.setup.text_and_tokenizer says what it must have; the run's config still
    records cfg.tokenizer and cfg.vocab_size, so give the ones that describe it); `build_model`,
    (cfg, tokenizer, device, dist) -> (ModelConfig, the model), in place of nn2gpt.gpt.setup.build
    (a GPT whose blocks run the learner's modules); `config_extra`, keys added to the config every
    checkpoint saves (which pieces were the learner's)."""
    t0 = time.perf_counter()
    device = pick_device(cfg.device)
    dist = ddp.setup(device.type)  # under torchrun: this process's rank among world processes
    if dist.enabled and device.type == "cuda":
        device = torch.device("cuda", dist.local_rank)
        torch.cuda.set_device(device)
    with run_lock(cfg, dist, device):
        return train_loop(cfg, t0, device, dist, tokenizer, build_model, config_extra or {})


def train_loop(cfg: TrainConfig, t0: float, device, dist, tokenizer=None, build_model=build,
               config_extra: dict | None = None) -> TrainResult:
    """Steps 1 to 3 of the module docstring. Under torchrun every process runs it with the same
    seeds and trains on its own rows of every batch; only process 0 writes files."""
    # ---- 1. what the run holds before its first step (a resumed run: its checkpoint's)
    if device.type == "cpu":
        torch.set_num_threads(cfg.threads or training_threads())
    autocast, _ = mixed_precision(device, cfg.dtype)  # first: a dtype the device lacks is refused before any work
    run_dir = Path(cfg.out) if cfg.out else None
    ckpt = checkpoint_for(cfg, run_dir)  # None: a fresh run
    tok, train_ids, val_ids = text_and_tokenizer(cfg, ckpt, tokenizer)
    model_cfg, model = build_model(cfg, tok, device, dist)
    optimizer = make_optimizer(model, cfg, device)
    rng = np.random.default_rng(cfg.seed)  # the same on every process: each takes its rows of the batch
    state = restore(ckpt, model, optimizer, rng) if ckpt else fresh_state()  # step, seconds, rows, best val
    resumed_at = state["step"] if ckpt else None  # evaluated and saved already
    fast, trained = wrapped(model, cfg, device, dist)  # compiled, then DDP: the same parameters as `model`
    share = my_share(cfg, dist, device)  # this process's rows of a batch, on its device
    val_set = fixed_val_set(val_ids, cfg, dist, share)
    per_token = bytes_per_token(tok, val_ids)  # for bits per byte: comparable across vocabularies

    def agree(flag: bool) -> bool:  # true on every process when true on any: they all stop at one step
        return ddp.any_process(flag, dist, device)

    saver = Saver(run_dir if dist.is_main else None, runs.run_config(model_cfg, cfg) | (config_extra or {}), tok,
                  rng, ckpt is not None, cfg.overwrite)
    ceiling = Ceiling.uniform(tok.vocab_size)  # a loss past it has diverged
    meter = Meter(cfg, model, device, dist, state["step"], state["seconds"])
    fast.train()

    # ---- 2. the steps
    clock = Clock(state["seconds"], cfg.eval_off_clock)
    status, message = "", ""  # how the run ended: done | time | stopped | interrupted | diverged, and why
    with StopOnCtrlC() as ctrl_c:
        while True:
            step = state["step"]
            state["seconds"] = clock.elapsed()
            status = stop_status(cfg, step, state["seconds"], ctrl_c.set, agree)  # "" = go on
            if evaluation_due(cfg, step, resumed_at, last=bool(status)):
                t_eval = time.perf_counter()
                val = evaluate(fast, val_set, autocast, dist, device)
                state["rows"].append({"step": step, "time": round(state["seconds"], 3), "val_loss": val,
                                      "val_bpb": round(bits_per_byte(val, per_token), 5)})
                state["best_val_loss"] = min(state["best_val_loss"], val)
                meter.show(f"val {val:.4f}")
                problem = ceiling.problem(val, f"val loss at step {step}")
                if problem:  # the same on every process: val is averaged over all of them
                    status, message = "diverged", problem
                    break
                saver.save(model, optimizer, state)
                off = clock.stand_off(t_eval)  # with eval_off_clock: evaluating is not training time
                if off is not None:
                    state["rows"][-1]["eval_s"] = round(off, 4)
            if status:
                message = ctrl_c.name if status == "interrupted" else ""  # which signal stopped it
                break
            lr = lr_at(cfg, step, state["seconds"])
            for group in optimizer.param_groups:  # Muon's groups at its own rate, on the same schedule
                group["lr"] = lr * cfg.muon_lr / cfg.lr if group.get("muon") else lr
            for micro in range(cfg.grad_accum):
                x, y = share(*get_batch(train_ids, cfg.block_size, cfg.batch_size * dist.world, rng))  # (B, T) each
                # DDP all-reduces gradients in backward; skip that for all but the last micro-batch
                sync = micro == cfg.grad_accum - 1 or not dist.enabled
                with (nullcontext() if sync else trained.no_sync()), autocast():
                    _, loss = trained(x, y)
                (loss / cfg.grad_accum).backward()
                meter.add(loss.detach() / cfg.grad_accum)
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            state["step"] = step = step + 1
            meter.tick()
            if step % cfg.log_interval == 0 or step == cfg.max_iters:
                row = meter.row(step, lr, clock.elapsed())
                state["rows"].append(row)
                problem = ceiling.problem(row["train_loss"], f"training loss at step {step}")
                if agree(problem is not None):  # every process stops together
                    status, message = "diverged", problem or f"training loss at step {step} diverged on another process"
                    break

    # ---- 3. the last files
    meter.close()
    if status == "diverged":
        message = diverged_message(message, run_dir, cfg)
    if saver.saved and saver.run_dir:
        write_last_files(saver.run_dir, state["rows"], status, model, tok, cfg)
    ddp.teardown(dist)
    vals = [(r["step"], r["time"], r["val_loss"]) for r in state["rows"] if "val_loss" in r]
    return TrainResult(status=status, step=state["step"], seconds=time.perf_counter() - t0, val_history=vals,
                       train_history=[(r["step"], r["train_loss"]) for r in state["rows"] if "train_loss" in r],
                       best_val_loss=state["best_val_loss"], final_val_loss=vals[-1][2] if vals else float("nan"),
                       model=model, tokenizer=tok, run_dir=run_dir, message=message,
                       eval_seconds=sum(r.get("eval_s", 0.0) for r in state["rows"]),
                       final_val_bpb=bits_per_byte(vals[-1][2], per_token) if vals else float("nan"))


# -------------------------------------------------------------------- the calls behind it


@contextmanager
def run_lock(cfg: TrainConfig, dist, device):
    """Hold the lock of cfg.out (nn2gpt.runlock) from start to end, so a second training run into
    the same directory is refused instead of mixing the two. Under torchrun process 0 takes it,
    and a refusal stops every process, not only process 0."""
    with ExitStack() as held:
        refused = None
        if cfg.out and dist.is_main:
            try:
                held.enter_context(RunLock(cfg.out))
            except UserError as e:
                refused = e
        if ddp.any_process(refused is not None, dist, device):
            ddp.teardown(dist)
            raise refused or UserError(f"{cfg.out}: refused by process 0 (see its error)")
        yield


@torch.no_grad()
def evaluate(model, val_set, autocast, dist, device) -> float:
    """The mean loss over the fixed validation batches, averaged over every process's rows."""
    model.eval()
    # float64 where the device has it; MPS has none, and a float32 sum of eval_batches losses is
    # still accurate far past the 4 decimals a val loss is read at
    wide = torch.float64 if has_float64(device) else torch.float32
    total = torch.zeros(2, device=device, dtype=wide)  # (sum of losses, batches)
    for x, y in val_set:
        with autocast():
            total[0] += model(x, y)[1].to(total.dtype)
        total[1] += 1
    model.train()
    ddp.all_reduce_sum(total, dist)
    return float(total[0] / total[1])


class Saver:
    """Checkpoints of one run (nothing without a run directory): `save` writes one that resumes
    exactly (weights, the optimizer's state, the training state, both random generators) and
    metrics.jsonl; `saved` says whether the run has a checkpoint of its own yet (else the files in
    the directory are a replaced run's)."""

    def __init__(self, run_dir, config: dict, tok, rng, saved: bool, overwrite: bool):
        self.run_dir, self.config, self.tok, self.rng, self.saved = run_dir, config, tok, rng, saved
        self.overwrite = overwrite

    def save(self, model, optimizer, state: dict) -> None:
        if self.run_dir is None:
            return
        state = state | {"numpy_rng": self.rng.bit_generator.state, "torch_rng": runs.torch_rng_to_json()}
        save_checkpoint(self.run_dir, runs.weights_to_numpy(model), self.config, self.tok.to_json(),
                        optimizer=optimizer_arrays(optimizer, model), state=state,
                        again=retry_advice(not self.saved, self.overwrite))
        self.saved = True
        write_metrics(self.run_dir, state["rows"])


def write_last_files(run_dir: Path, rows: list, status: str, model, tok, cfg: TrainConfig) -> None:
    """metrics.jsonl with every row, loss.png, and (unless the run diverged) samples.txt."""
    write_metrics(run_dir, rows)
    plot_losses(run_dir, rows)
    if status != "diverged" and cfg.sample_tokens > 0:
        from nn2gpt.gpt.sample import sample_text

        text = sample_text(model, tok, "", cfg.sample_tokens, seed=cfg.seed)
        atomic_write_text(run_dir / "samples.txt", text + "\n")
