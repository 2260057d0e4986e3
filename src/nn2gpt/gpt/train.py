"""Training a GPT (or a bigram / attention model) on a text, from Python or from the CLI.

    from nn2gpt.gpt.train import TrainConfig, train
    result = train(TrainConfig(max_seconds=60, out=None))   # no files; result.val_history

The loop, one optimizer step at a time:
  1. learning rate: linear warmup, then cosine decay to lr/10 (over max_iters, or over
     max_seconds when the budget is time);
  2. grad_accum micro-batches: forward (bf16 autocast on GPU), loss / grad_accum, backward;
  3. clip the gradient norm, AdamW step (weight decay on matrices only: decaying biases and
     LayerNorm gains only hurts);
  4. every eval_interval steps: val loss on the FIXED validation batches, checkpoint.
Stops at max_iters, at max_seconds, on Ctrl-C (finishes the step, saves, status
"interrupted"), or on a non-finite loss (status "diverged", the last good checkpoint is kept).
`resume=True` restores weights, optimizer, step and every random generator, so a resumed run
continues exactly as if it had never stopped.
"""

from __future__ import annotations

import math
import os
import time
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import torch

from nn2gpt.checkpoint import checkpoint_to_resume, save_checkpoint
from nn2gpt.data.text import read_text
from nn2gpt.devices import mixed_precision, pick_device
from nn2gpt.errors import UserError
from nn2gpt.files import atomic_write_text
from nn2gpt.gpt import ddp, runs
from nn2gpt.gpt.batches import encode_text, get_batch, split, val_batches
from nn2gpt.gpt.perf import device_peak_flops
from nn2gpt.gpt.tokenizer import make_tokenizer, tokenizer_from_json
from nn2gpt.loop import diverged_message, run_steps
from nn2gpt.optstate import load_torch_adam, torch_adam_arrays
from nn2gpt.progress import progress_bar
from nn2gpt.runlock import RunLock
from nn2gpt.schedule import cosine_lr
from nn2gpt.runlog import plot_losses, write_metrics


@dataclass
class TrainConfig:
    """Every setting of a run. The defaults are the CPU recipe of BENCHMARKS.md (bench/gpt_train_bench.py)."""

    # model (passed into GPTConfig; chapter-4 variants too)
    model: str = "gpt"  # bigram | attention | multihead | gpt
    n_layer: int = 2  # shallow, narrow and fast: the best val loss per CPU-second we measured
    n_head: int = 4
    n_embd: int = 64
    block_size: int = 64
    dropout: float = 0.0
    bias: bool = True
    pos: str = "learned"
    score: str = "scaled_dot"
    mask: str = "causal"
    window: int | None = None
    # data
    text: str | None = None  # a UTF-8 file; None = Tiny Shakespeare
    tokenizer: str = "char"  # char | gpt2
    data_dir: str | None = None
    # optimization
    batch_size: int = 32  # sequences per micro-batch per process
    grad_accum: int = 1
    lr: float = 6e-3
    min_lr: float | None = None  # end of the cosine; None = lr / 10
    warmup: int = 50
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0  # 0 = off
    max_iters: int = 2000
    max_seconds: float | None = None  # a wall-clock budget (the schedule follows it)
    stop_at: int | None = None  # stop early at this step, keeping max_iters' schedule
    # evaluation and logging
    eval_interval: int = 250
    eval_batches: int = 50
    log_interval: int = 10
    sample_tokens: int = 500  # written to samples.txt at the end
    # machine
    seed: int = 1337
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    dtype: str = "auto"  # auto (bf16 on GPU, fp32 on CPU) | float32 | bfloat16
    compile: bool | None = None  # None = on for GPU, off for CPU
    threads: int | None = None  # torch threads on CPU; None = all cores, or fewer when others are busy
    peak_tflops: float | None = None  # device peak for MFU; None = built-in estimate
    # run directory
    out: str | None = None  # None = write no files
    resume: bool = False
    overwrite: bool = False  # start afresh in an `out` that already holds a checkpoint
    progress: bool = True


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


def lr_at(cfg: TrainConfig, step: int, seconds: float) -> float:
    """Warmup for `cfg.warmup` steps, then cosine from lr to min_lr as the budget is used up (nn2gpt.schedule)."""
    return cosine_lr(step, cfg.lr, cfg.warmup, cfg.max_iters, cfg.min_lr, seconds, cfg.max_seconds)


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    fused = {"fused": True} if device.type == "cuda" else {"foreach": True}
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), **fused)


def _cpu_threads() -> int:
    """All cores on an idle machine, one thread when other processes keep the CPU busy.

    torch's OpenMP threads wait for each other at the end of every operation; when another
    process holds one of the cores, the thread that shares it makes all the others wait. On the
    project's 2-core box with other jobs running, 2 threads did 8 steps in 20 s, 1 thread 96 steps in 15 s.
    The test is "at least as many runnable processes as cores" (1-minute load average): a
    lower threshold also fires on the load a just-finished run of our own leaves behind.
    """
    cores = os.cpu_count() or 1
    busy = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return cores if busy < cores else 1


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
    from nn2gpt.gpt.model import GPTConfig, build_model

    if device.type == "cpu":
        torch.set_num_threads(cfg.threads or _cpu_threads())
    run_dir = Path(cfg.out) if cfg.out else None

    # ---- data, tokenizer, model: fresh or from the checkpoint --------------------------------
    ckpt = checkpoint_to_resume(run_dir, cfg.resume, cfg.overwrite, want="gpt")
    if ckpt and ckpt.config.get("engine", "torch") != "torch":
        engine = ckpt.config.get("engine", "torch")
        raise UserError(f"{run_dir} was trained by the {engine} engine, whose optimizer state the torch engine "
                        f"cannot continue; resume it with --engine {engine}, or start a new --out")
    text = read_text(cfg.text, cfg.data_dir)
    tok = tokenizer_from_json(ckpt.tokenizer, cfg.data_dir) if ckpt else make_tokenizer(cfg.tokenizer, text, cfg.data_dir)
    train_ids, val_ids = split(encode_text(tok, text), cfg.block_size)
    names = {f.name for f in fields(GPTConfig)}
    model_cfg = GPTConfig(**{k: v for k, v in vars(cfg).items() if k in names} | {"vocab_size": tok.vocab_size})
    torch.manual_seed(cfg.seed + dist.rank)  # init is the same on every rank: DDP broadcasts rank 0's
    model = build_model(model_cfg).to(device)
    optimizer = make_optimizer(model, cfg, device)
    rng = np.random.default_rng(cfg.seed)  # the same on every rank: each takes its slice of the batch
    state = {"step": 0, "seconds": 0.0, "rows": [], "best_val_loss": float("inf")}
    if ckpt:
        runs.load_weights(model, ckpt.weights)
        if "optimizer_groups" in ckpt.state:  # saved before Adam's state was named by parameter
            runs.optimizer_from_numpy(optimizer, ckpt.optimizer or {}, ckpt.state["optimizer_groups"])
        else:
            load_torch_adam(optimizer, model, ckpt.optimizer or {})
        rng.bit_generator.state = ckpt.state["numpy_rng"]
        runs.torch_rng_from_json(ckpt.state["torch_rng"])
        state = {k: ckpt.state[k] for k in state}
    # saved inside every checkpoint (config.json is its copy): nothing is written before the first save
    config = runs.run_config(model_cfg, cfg)

    autocast, _ = mixed_precision(device, cfg.dtype)
    fast = torch.compile(model) if (cfg.compile if cfg.compile is not None else device.type == "cuda") else model
    trained = torch.nn.parallel.DistributedDataParallel(fast) if dist.enabled else fast

    flops_tok = model.flops_per_token()  # for MFU
    peak = cfg.peak_tflops * 1e12 if cfg.peak_tflops else device_peak_flops(device)
    # The same windows whatever the number of processes: each takes its rows of every global batch.
    mine = slice(dist.rank * cfg.batch_size, (dist.rank + 1) * cfg.batch_size)
    val_set = [(torch.from_numpy(x[mine]).to(device), torch.from_numpy(y[mine]).to(device))
               for x, y in val_batches(val_ids, cfg.block_size, cfg.batch_size * dist.world, cfg.eval_batches)]

    @torch.no_grad()
    def evaluate() -> float:
        fast.eval()
        total = torch.zeros(2, device=device, dtype=torch.float64)  # (sum of losses, batches)
        for x, y in val_set:
            with autocast():
                total[0] += fast(x, y)[1].double()
            total[1] += 1
        fast.train()
        ddp.all_reduce_sum(total, dist)
        return float(total[0] / total[1])

    saved = ckpt is not None  # has this run a checkpoint of its own (else the files are a replaced run's)

    def save() -> None:
        nonlocal saved
        if not (run_dir and dist.is_main):
            return
        save_checkpoint(run_dir, runs.weights_to_numpy(model), config, tok.to_json(),
                        optimizer=torch_adam_arrays(optimizer, model),
                        state=state | {"numpy_rng": rng.bit_generator.state, "torch_rng": runs.torch_rng_to_json()})
        saved = True
        write_metrics(run_dir, state["rows"])

    def micro_batch():
        x, y = get_batch(train_ids, cfg.block_size, cfg.batch_size * dist.world, rng)  # the global batch
        return torch.from_numpy(x[mine]).to(device), torch.from_numpy(y[mine]).to(device)

    bar = progress_bar(cfg.max_iters, state["step"], disable=not (cfg.progress and dist.is_main))
    log = {"t": time.perf_counter(), "step": state["step"]}  # where the current log interval began
    loss_sum = torch.zeros((), device=device)

    def take_step(step: int, elapsed) -> str | None:
        """One optimizer step: the learning rate, grad_accum micro-batches, clipping, AdamW."""
        lr = lr_at(cfg, step, state["seconds"])
        for group in optimizer.param_groups:
            group["lr"] = lr
        for micro in range(cfg.grad_accum):
            x, y = micro_batch()
            # DDP all-reduces gradients in backward; skip that for all but the last micro-batch.
            sync = micro == cfg.grad_accum - 1 or not dist.enabled
            with (nullcontext() if sync else trained.no_sync()), autocast():
                _, loss = trained(x, y)
            (loss / cfg.grad_accum).backward()
            loss_sum.add_(loss.detach() / cfg.grad_accum)
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        state["step"] = step = step + 1
        bar.update(1)
        if step % cfg.log_interval == 0 or step == cfg.max_iters:
            return log_row(step, lr, elapsed)
        return None

    def log_row(step: int, lr: float, elapsed) -> str | None:
        """A metrics row: mean training loss since the last one, tokens/s, MFU."""
        train_loss = float(loss_sum) / (step - log["step"])  # the one host sync per log interval
        loss_sum.zero_()
        now = time.perf_counter()
        tok_s = (step - log["step"]) * cfg.grad_accum * cfg.batch_size * cfg.block_size / (now - log["t"])
        log.update(t=now, step=step)
        mfu = flops_tok * tok_s / peak if peak else None
        state["rows"].append({"step": step, "time": round(elapsed(), 3), "train_loss": train_loss, "lr": lr,
                              "tokens_per_s": round(tok_s * dist.world), "mfu": mfu})
        bar.set_postfix_str(f"loss {train_loss:.4f} | {tok_s * dist.world:,.0f} tok/s"
                            + (f" | MFU {100 * mfu:.1f}%" if mfu is not None else ""), refresh=False)
        if ddp.any_process(not math.isfinite(train_loss), dist, device):  # all ranks stop together
            return f"training loss is {train_loss} at step {step}"
        return None

    fast.train()
    status, message = run_steps(cfg, state, state["step"] if ckpt else None, evaluate, save, take_step,
                                on_val=lambda step, val: bar.set_postfix_str(f"val {val:.4f}", refresh=False),
                                agree=lambda flag: ddp.any_process(flag, dist, device))
    bar.close()

    if status == "diverged":
        message = diverged_message(message, run_dir, cfg)
    vals = [(r["step"], r["time"], r["val_loss"]) for r in state["rows"] if "val_loss" in r]
    if run_dir and dist.is_main and saved:
        write_metrics(run_dir, state["rows"])
        plot_losses(run_dir, state["rows"])
        if status != "diverged" and cfg.sample_tokens > 0:
            from nn2gpt.gpt.sample import sample_text

            atomic_write_text(run_dir / "samples.txt", sample_text(model, tok, "", cfg.sample_tokens, seed=cfg.seed) + "\n")
    ddp.teardown(dist)
    return TrainResult(status=status, step=state["step"], seconds=time.perf_counter() - t0, val_history=vals,
                       train_history=[(r["step"], r["train_loss"]) for r in state["rows"] if "train_loss" in r],
                       best_val_loss=state["best_val_loss"], final_val_loss=vals[-1][2] if vals else float("nan"),
                       model=model, tokenizer=tok, run_dir=run_dir, message=message)
