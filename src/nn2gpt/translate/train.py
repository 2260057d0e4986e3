"""Training the translation Transformer: the recipe of "Attention Is All You Need", section 5.

- Loss: cross-entropy with label smoothing 0.1 (the target distribution puts 0.9 on the right
  token and spreads 0.1 over the vocabulary; it hurts perplexity, helps BLEU), padding ignored.
- Optimizer: Adam(beta1 0.9, beta2 0.98, eps 1e-9).
- Learning rate: lr = factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5): a linear
  warm-up for `warmup` steps, then decay as 1/sqrt(step). The paper uses warmup 4000 with
  post-LN; our pre-LN blocks are stable with a much shorter warm-up, which matters when a
  whole run is a few thousand steps on a CPU.
- Batches by token count (see batches.py).
- `--coordinate N` adds N training pairs joined from two that share a subject (augment.py).
- `--init-from RUN` fine-tunes: a new run starts from RUN's weights, tokenizer and model shape,
  with a fresh Adam and the schedule from step 0 (so give it a short warm-up and a low factor).
- Device: `--device auto` trains on the GPU when there is one, with bf16 autocast (the matrix
  products in bfloat16; weights, Adam and the loss in float32), else on the CPU in float32.

A run directory holds config.json, tokenizer.json, metrics.jsonl (one JSON object per line),
loss.png and the checkpoint (nn2gpt.checkpoint: safetensors weights + optimizer moments +
JSON state). `--resume` continues exactly where the last save stopped: the same batch order
(the epoch's RNG state is saved), the same dropout stream (torch's RNG states are saved).
Saves come at epoch ends (but at most one a minute: a GPU epoch can take seconds; every one
with `--keep N`, which keeps the newest N for `translate average`), every 5 minutes, at the end
and on Ctrl-C, which saves before exiting.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from nn2gpt.errors import UserError
from nn2gpt.interrupt import StopOnCtrlC
from nn2gpt.optstate import load_torch_adam, torch_adam_arrays
from nn2gpt.runlog import plot_losses, read_metrics
from nn2gpt.translate.runconfig import TranslateConfig, joined_pairs, run_config, settle_flags, starting_point

SAVE_EVERY_S = 300  # a checkpoint at least every 5 minutes, besides epoch ends, the time limit and Ctrl-C
EPOCH_SAVE_GAP_S = 60  # ...but not at every end of a seconds-long GPU epoch: a save writes ~3x the weights


def lr_at(step: int, d_model: int, warmup: int, factor: float) -> float:
    """The paper's schedule (eq. 3); `step` counts from 1."""
    step = max(step, 1)
    return factor * d_model ** -0.5 * min(step ** -0.5, step * warmup ** -1.5)


def _limit(splits: dict, limit: int | None) -> dict:
    return {k: v[:limit] for k, v in splits.items()} if limit else splits


def loss_on(model, examples, pad_id: int, max_tokens: int, autocast=None) -> float:
    """Mean per-token negative log likelihood (no label smoothing) over `examples`."""
    from contextlib import nullcontext

    import torch
    import torch.nn.functional as F

    from nn2gpt.translate.batches import collate, token_batches

    device = next(model.parameters()).device
    model.eval()
    total, count = 0.0, 0
    with torch.inference_mode():
        for batch in token_batches(examples, max_tokens):
            src, tgt_in, tgt_out = (torch.from_numpy(a).to(device) for a in collate(examples, batch, pad_id))
            with (autocast or nullcontext)():
                logits = model(src, tgt_in)  # (B, T, V)
            total += F.cross_entropy(logits.flatten(0, 1).float(), tgt_out.flatten(), ignore_index=pad_id,
                                     reduction="sum").item()
            count += int((tgt_out != pad_id).sum())
    return total / max(count, 1)


def _plot_loss(run: Path) -> None:
    plot_losses(run, read_metrics(run), labels={"train_loss": "train (label-smoothed)", "val_loss": "val (NLL)"})

def train(cfg: TranslateConfig) -> Path:
    """Train as `cfg` says, holding the lock of its run directory throughout."""
    from nn2gpt.runlock import RunLock

    with RunLock(cfg.out):
        return _train(cfg)


def _model_and_optimizer(config: dict, ck, start, device):
    """The Transformer (its saved or source weights, if any) and Adam (its saved moments and RNG on --resume)."""
    import torch

    from nn2gpt.translate.model import build_model

    model = build_model(config["model"])
    if ck is not None or start is not None:
        model.load_state_dict({k: torch.from_numpy(v) for k, v in (ck or start).weights.items()}, strict=False)
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=0.0, betas=(0.9, 0.98), eps=1e-9)
    if ck is not None:
        load_torch_adam(opt, model, ck.optimizer)
        torch.set_rng_state(torch.from_numpy(ck.optimizer["rng.torch"].copy()))
        if device.type == "cuda" and "rng.cuda" in ck.optimizer:  # GPU dropout draws from the GPU's generator
            torch.cuda.set_rng_state(torch.from_numpy(ck.optimizer["rng.cuda"].copy()), device)
    return model, opt


def _train(cfg: TranslateConfig) -> Path:
    import numpy as np
    import torch
    import torch.nn.functional as F

    from nn2gpt.checkpoint import has_checkpoint, latest_checkpoint_dir, save_checkpoint
    from nn2gpt.data.translation import load_pair
    from nn2gpt.devices import mixed_precision, pick_device
    from nn2gpt.progress import progress_bar
    from nn2gpt.translate.batches import collate, encode_pairs, token_batches
    from nn2gpt.translate.model import model_weights

    run = Path(cfg.out)
    device = pick_device(cfg.device)
    ck, start = starting_point(cfg, run)  # 1. continue this run, fine-tune another, or start afresh
    settle_flags(cfg, ck.config if ck else start.config if start else None,
                  ("model", "train") if ck else ("model",), "--resume" if ck else "--init-from")
    if cfg.d_model % cfg.heads:
        raise UserError(f"--d-model {cfg.d_model} must be divisible by --heads {cfg.heads}")
    torch.manual_seed(cfg.seed)
    splits = _limit(load_pair(cfg.pair, cfg.data_dir), cfg.limit)  # 2. the data, the tokenizer, the config
    config, tok = run_config(cfg, ck, start, splits)
    tcfg = config["train"]
    splits["train"] = splits["train"] + joined_pairs(tcfg, splits["train"], cfg.pair)
    model, opt = _model_and_optimizer(config, ck, start, device)  # 3. the model and its optimizer
    state = ck.state if ck is not None else None
    autocast, use_bf16 = mixed_precision(device)  # bf16 autocast and TF32 on a GPU, float32 on the CPU
    state = state or {"step": 0, "epoch": 0, "batch": 0, "epoch_rng": None, "seconds": 0.0}
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{cfg.pair}: {len(splits['train']):,} training pairs, vocabulary {tok.vocab_size:,}, "
          f"{n_params / 1e6:.2f}M parameters, on {device}{' (bf16 autocast)' if use_bf16 else ''}, run directory {run}")

    train_ex = encode_pairs(tok, splits["train"])
    val_ex = encode_pairs(tok, splits["val"])
    too_long = config["model"]["max_len"]
    train_ex = [e for e in train_ex if len(e[0]) <= too_long and len(e[1]) <= too_long]

    def diverged(what: str) -> UserError:
        kept = (f"the last good checkpoint, {latest_checkpoint_dir(run).name}, is kept"
                if has_checkpoint(run) else "nothing was saved")
        return UserError(f"{what}: training diverged and stopped ({kept}); lower --lr-factor or raise --warmup")

    fresh = ck is None
    # A fresh run over a replaced one (--overwrite) keeps its metrics in memory until its first save, so
    # that the old run stays whole until then; a fresh run in a new directory writes them as they come.
    pending: list[dict] | None = [] if fresh and has_checkpoint(run) else None
    if fresh and pending is None:
        (run / "metrics.jsonl").unlink(missing_ok=True)

    def save(reason: str) -> None:
        nonlocal fresh, pending
        if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):  # never save a broken model
            raise diverged(f"the weights are no longer finite at step {state['step']}")
        arrays = torch_adam_arrays(opt, model)
        arrays["rng.torch"] = torch.get_rng_state().numpy()
        if device.type == "cuda":
            arrays["rng.cuda"] = torch.cuda.get_rng_state(device).numpy()
        # a new run's first save keeps nothing else: no checkpoint of a run it replaced may be averaged in;
        # config.json and tokenizer.json (and the held-back metrics) are written beside it after the switch
        first = {"tokenizer.json": tok.hf.to_str(pretty=True)} if fresh else {}
        if pending is not None:
            first["metrics.jsonl"] = "".join(json.dumps(r) + "\n" for r in pending)
        save_checkpoint(run, model_weights(model), config, tok.to_json(), arrays, dict(state),
                        keep=1 if fresh else cfg.keep, files=first)
        fresh, pending = False, None
        _plot_loss(run)

    def stop_interrupted() -> None:
        print(f"\ninterrupted: saved step {state['step']} to {run}; continue with --resume")
        raise KeyboardInterrupt  # the command line turns it into exit status 130

    def log(row: dict) -> None:
        if pending is not None:
            pending.append(row)
            return
        with open(run / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")

    started, last_save = time.time(), time.time()
    seconds_before = state["seconds"]
    out_of_time = interrupted = False
    recent: list[float] = []  # losses since the last log line (one batch alone is noisy: lengths vary)
    # Ctrl-C sets a flag that is read between steps, so a save never sees a half-applied Adam step.
    with StopOnCtrlC() as ctrl_c:
        while state["epoch"] < cfg.epochs and not (out_of_time or interrupted):
            rng = np.random.default_rng()
            if state["epoch_rng"] is None:  # a new epoch: remember how its batches were drawn
                state["epoch_rng"] = np.random.default_rng([tcfg["seed"], state["epoch"]]).bit_generator.state
            rng.bit_generator.state = state["epoch_rng"]
            batches = token_batches(train_ex, tcfg["max_tokens"], rng)
            model.train()
            bar = progress_bar(len(batches), state["batch"], f"epoch {state['epoch'] + 1}", "batch", cfg.quiet)
            try:
                for batch in batches[state["batch"]:]:
                    src, tgt_in, tgt_out = (torch.from_numpy(a).to(device, non_blocking=True)
                                            for a in collate(train_ex, batch, tok.pad_id))
                    lr = lr_at(state["step"] + 1, config["model"]["d_model"], tcfg["warmup"], tcfg["lr_factor"])
                    for g in opt.param_groups:
                        g["lr"] = lr
                    with autocast():
                        logits = model(src, tgt_in)  # (B, T, V)
                    loss = F.cross_entropy(logits.flatten(0, 1).float(), tgt_out.flatten(), ignore_index=tok.pad_id,
                                           label_smoothing=tcfg["label_smoothing"])
                    loss_value = loss.item()
                    if not math.isfinite(loss_value):  # before the step, so the weights stay as last saved
                        raise diverged(f"training loss is {loss_value} at step {state['step'] + 1}")
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    state["step"] += 1
                    state["batch"] += 1
                    state["seconds"] = seconds_before + time.time() - started
                    recent.append(loss_value)
                    bar.update(1)
                    bar.set_postfix(loss=f"{recent[-1]:.3f}", lr=f"{lr:.2e}")
                    if state["step"] % 20 == 0:
                        log({"step": state["step"], "epoch": state["epoch"], "lr": lr,
                             "train_loss": round(sum(recent) / len(recent), 4), "seconds": round(state["seconds"], 1)})
                        recent.clear()
                    if ctrl_c.set:
                        interrupted = True
                        break
                    if cfg.max_seconds is not None and time.time() - started >= cfg.max_seconds:
                        out_of_time = True
                        break
                    if time.time() - last_save >= SAVE_EVERY_S:
                        save("periodic")
                        last_save = time.time()
            finally:  # also when a divergence error leaves the loop: the error prints on its own line
                bar.close()
            if interrupted:
                save("interrupted")
                stop_interrupted()
            if not out_of_time:
                state.update(epoch=state["epoch"] + 1, batch=0, epoch_rng=None)
            val = loss_on(model, val_ex, tok.pad_id, tcfg["max_tokens"], autocast)
            if not math.isfinite(val):
                raise diverged(f"validation loss is {val} at step {state['step']}")
            log({"step": state["step"], "epoch": state["epoch"], "val_loss": round(val, 4),
                 "val_ppl": round(math.exp(val), 2), "seconds": round(state["seconds"], 1)})
            print(f"epoch {state['epoch']}{' (time limit)' if out_of_time else ''}: step {state['step']}, "
                  f"val loss {val:.3f}, perplexity {math.exp(val):.1f}, {state['seconds']:.0f} s of training")
            finished = out_of_time or state["epoch"] >= cfg.epochs
            # with --keep, every epoch end is saved: those are the checkpoints `translate average` is for
            if finished or ctrl_c.set or cfg.keep > 1 or time.time() - last_save >= EPOCH_SAVE_GAP_S:
                save("epoch")
                last_save = time.time()
            if ctrl_c.set:  # Ctrl-C during the evaluation or the save: that save was the last
                stop_interrupted()
    return run
