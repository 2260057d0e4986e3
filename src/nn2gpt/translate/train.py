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
- Device: `--device auto` trains on a CUDA GPU when there is one, with bf16 autocast (the matrix
  products in bfloat16; weights, Adam and the loss in float32), else on the Apple GPU (mps) or
  the CPU, in float32 (nn2gpt.devices).

A run directory holds config.json, tokenizer.json, metrics.jsonl (one JSON object per line),
loss.png and the checkpoint (nn2gpt.checkpoint: safetensors weights + optimizer moments +
JSON state). `--resume` continues exactly where the last save stopped: the same batch order
(the epoch's RNG state is saved), the same dropout stream (torch's RNG states are saved).
Saves come at epoch ends (but at most one a minute: a GPU epoch can take seconds; every one
with `--keep N`, which keeps the newest N for `translate average`), every 5 minutes, at the end
and on Ctrl-C or SIGTERM, which save before exiting (status 130 or 143: nn2gpt.interrupt).

What the run holds before its first step (the checkpoint it continues or fine-tunes, the data,
the model and Adam) comes from translate/setup.py; the validation loss is `loss_on` of
translate/evaluate.py, the one `translate eval` reports. The loop, `train_loop`, is written out in the shape of
nn2gpt.gpt.train.train_loop and calls the same rules of nn2gpt.loop by the same names (`Clock`,
`stop_status`, `Ceiling`, `diverged_message`), counted in epochs:
  1. set-up: the run's checkpoint, data, tokenizer, model and Adam; the epoch's batches come from a
     generator whose state the run keeps (`epoch_batches`);
  2. one Adam step per batch at the schedule's learning rate, a metrics row every LOG_EVERY steps;
     after each step the stopping rules (Ctrl-C, --max-seconds: `stop_status`) and the periodic save;
  3. at the epoch's end, or the time limit's: the validation loss, its row, maybe a save (`Saver`).
A loss that diverges (not finite, or past twice ln(vocabulary): nn2gpt.loop.Ceiling), or weights
no longer finite or past nn2gpt.loop.WEIGHT_LIMIT when a save comes, stops the run with a
one-line "diverged" error (exit 2), keeping the last good checkpoint if there is one.
"""

from __future__ import annotations

import json
import math
import signal
import time
from pathlib import Path

from nn2gpt.errors import UserError
from nn2gpt.interrupt import StopOnCtrlC, Stopped
from nn2gpt.loop import Ceiling, Clock, Diverged, Limits, diverged_message, retry_advice, stop_status, weights_problem
from nn2gpt.optstate import torch_adam_arrays
from nn2gpt.progress import progress_bar
from nn2gpt.runlog import plot_losses, read_metrics
from nn2gpt.schedule import noam_lr
from nn2gpt.translate.evaluate import loss_on
from nn2gpt.translate.runconfig import TranslateConfig, joined_pairs, run_config
from nn2gpt.translate.setup import examples, limited, model_and_optimizer, settled_start

SAVE_EVERY_S = 300  # a checkpoint at least every 5 minutes, besides epoch ends, the time limit and Ctrl-C
EPOCH_SAVE_GAP_S = 60  # ...but not at every end of a seconds-long GPU epoch: a save writes ~3x the weights
LOG_EVERY = 20  # steps between two training-loss rows of metrics.jsonl


def label_smoothed_loss(logits, targets, eps: float, pad_id: int):
    """logits (B, T, V), targets (B, T) -> the training loss, a scalar: per target, (1 - eps) times its
    cross-entropy plus eps times the mean of -log p over the vocabulary, averaged over the non-pad targets."""
    import torch.nn.functional as F

    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=pad_id, label_smoothing=eps)


def _plot_loss(run: Path) -> None:
    plot_losses(run, read_metrics(run), labels={"train_loss": "train (label-smoothed)", "val_loss": "val (NLL)"})


def train(cfg: TranslateConfig, parts=None) -> Path:
    """Train as `cfg` says, holding the lock of its run directory throughout; `parts`
    (nn2gpt.translate.parts.Parts: the model, the loss) are chapter 3's own unless given."""
    from nn2gpt.runlock import RunLock

    with RunLock(cfg.out):
        return train_loop(cfg, parts)


def train_loop(cfg: TranslateConfig, parts=None) -> Path:
    """Steps 1 to 3 of the module docstring, top to bottom; returns the run directory."""
    import torch

    from nn2gpt.data.translation import load_pair
    from nn2gpt.devices import mixed_precision, pick_device
    from nn2gpt.translate.batches import collate
    from nn2gpt.translate.parts import Parts

    # ---- 1. what the run holds before its first step (a resumed run: its checkpoint's)
    run_dir, device = Path(cfg.out), pick_device(cfg.device)
    ck, start = settled_start(cfg, run_dir)  # continue this run, fine-tune another, or start afresh
    torch.manual_seed(cfg.seed)
    splits = limited(load_pair(cfg.pair, cfg.data_dir), cfg.limit)
    parts = parts or Parts()
    loss_of = parts.loss or label_smoothed_loss
    config, tok = run_config(cfg, ck, start, splits)
    config = config | parts.config_extra  # saved in every checkpoint
    tcfg = config["train"]
    splits["train"] = splits["train"] + joined_pairs(tcfg, splits["train"], cfg.pair)  # --coordinate
    model, opt = model_and_optimizer(config, ck, start, device, parts)
    autocast, use_bf16 = mixed_precision(device)  # bf16 and TF32 on a CUDA GPU, else float32
    state = (ck.state if ck is not None else None) or {"step": 0, "epoch": 0, "batch": 0, "epoch_rng": None,
                                                       "seconds": 0.0}
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{cfg.pair}: {len(splits['train']):,} training pairs, vocabulary {tok.vocab_size:,}, "
          f"{n_params / 1e6:.2f}M parameters, on {device}{' (bf16 autocast)' if use_bf16 else ''}, "
          f"run directory {run_dir}")
    train_ex, val_ex = examples(tok, splits, config["model"]["max_len"])
    ceiling = Ceiling.uniform(tok.vocab_size)  # a loss past it has diverged (nn2gpt.loop)
    saver = Saver(run_dir, config, tok, cfg, fresh=ck is None)
    # the limits stop_status reads: --max-seconds counts this invocation's seconds; --epochs is the loop's own
    limits = Limits(max_seconds=cfg.max_seconds)

    def diverged(problem: str) -> Diverged:
        return Diverged(diverged_message(problem, run_dir, advice="lower --lr-factor or raise --warmup", name_kept=True))

    def evaluate() -> float:
        """The validation loss (NLL, without label smoothing), held to the ceiling."""
        val = loss_on(model, val_ex, tok.pad_id, tcfg["max_tokens"], autocast)
        problem = ceiling.problem(val, f"validation loss at step {state['step']}")
        if problem:
            raise diverged(problem)
        return val

    def save() -> None:
        problem = saver.save(model, opt, state, device)
        if problem:  # weights no longer finite, or past WEIGHT_LIMIT: never saved
            raise diverged(problem)

    # ---- 2. the epochs: their steps, then their evaluation and maybe a save
    clock = Clock(state["seconds"])
    recent: list[float] = []  # losses since the last log row (one batch alone is noisy: lengths vary)
    # Ctrl-C sets a flag that is read between steps, so a save never sees a half-applied Adam step.
    with StopOnCtrlC() as ctrl_c:
        while state["epoch"] < cfg.epochs:
            batches = epoch_batches(state, tcfg["seed"], train_ex, tcfg["max_tokens"])
            model.train()
            bar = progress_bar(len(batches), state["batch"], f"epoch {state['epoch'] + 1}", "batch", cfg.quiet)
            status = ""  # "" | interrupted | time (nn2gpt.loop.stop_status)
            try:
                for batch in batches[state["batch"]:]:
                    # the learning rate, one Adam step on one batch
                    lr = noam_lr(state["step"] + 1, config["model"]["d_model"], tcfg["warmup"], tcfg["lr_factor"])
                    for g in opt.param_groups:
                        g["lr"] = lr
                    # non_blocking on CUDA only: on MPS an asynchronous copy from these temporary arrays can
                    # read them after they are freed (silently wrong batches), and it would gain nothing there
                    src, tgt_in, tgt_out = (torch.from_numpy(a).to(device, non_blocking=device.type == "cuda")
                                            for a in collate(train_ex, batch, tok.pad_id))  # (B, S), (B, T), (B, T)
                    with autocast():
                        logits = model(src, tgt_in)  # (B, T, V)
                    loss = loss_of(logits.float(), tgt_out, tcfg["label_smoothing"], tok.pad_id)  # scalar
                    loss_value = loss.item()
                    problem = ceiling.problem(loss_value, f"training loss at step {state['step'] + 1}")
                    if problem:  # before the step, so the weights stay as last saved
                        raise diverged(problem)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    state.update(step=state["step"] + 1, batch=state["batch"] + 1, seconds=clock.elapsed())
                    # logging: a row every LOG_EVERY steps, of the mean loss since the last
                    recent.append(loss_value)
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss_value:.3f}", lr=f"{lr:.2e}")
                    if state["step"] % LOG_EVERY == 0:
                        saver.log({"step": state["step"], "epoch": state["epoch"], "lr": lr,
                                   "train_loss": round(sum(recent) / len(recent), 4),
                                   "seconds": round(state["seconds"], 1)})
                        recent.clear()
                    # the stopping rules after every step: Ctrl-C, the time limit; a save every SAVE_EVERY_S
                    status = stop_status(limits, state["step"], clock.elapsed() - clock.before, ctrl_c.set)
                    if status:
                        break
                    if time.time() - saver.last_save >= SAVE_EVERY_S:
                        save()
            finally:  # also when a divergence error leaves the loop: the error prints on its own line
                bar.close()
            if status == "interrupted":
                save()
                stop_interrupted(ctrl_c, state, run_dir)
            # ---- 3. the epoch is over (or the time is): evaluate, its row and line, maybe a save
            if status != "time":
                state.update(epoch=state["epoch"] + 1, batch=0, epoch_rng=None)
            val = evaluate()
            saver.log({"step": state["step"], "epoch": state["epoch"], "val_loss": round(val, 4),
                       "val_ppl": round(math.exp(val), 2), "seconds": round(state["seconds"], 1)})
            print(f"epoch {state['epoch']}{' (time limit)' if status == 'time' else ''}: step {state['step']}, "
                  f"val loss {val:.3f}, perplexity {math.exp(val):.1f}, {state['seconds']:.0f} s of training")
            finished = status == "time" or state["epoch"] >= cfg.epochs
            # with --keep, every epoch end is saved: those are the checkpoints `translate average` is for
            if finished or ctrl_c.set or cfg.keep > 1 or time.time() - saver.last_save >= EPOCH_SAVE_GAP_S:
                save()
            if ctrl_c.set:  # Ctrl-C during the evaluation or the save: that save was the last
                stop_interrupted(ctrl_c, state, run_dir)
            if status == "time":
                break
    return run_dir


# -------------------------------------------------------------------- the calls behind it


def epoch_batches(state: dict, seed: int, train_ex, max_tokens: int) -> list:
    """This epoch's batches, drawn from a generator seeded by (seed, epoch) whose starting state
    the run keeps (state["epoch_rng"]), so a resumed epoch draws the same batches and goes on where
    it stopped."""
    import numpy as np

    from nn2gpt.translate.batches import token_batches

    if state["epoch_rng"] is None:  # a new epoch: remember how its batches were drawn
        state["epoch_rng"] = np.random.default_rng([seed, state["epoch"]]).bit_generator.state
    rng = np.random.default_rng()
    rng.bit_generator.state = state["epoch_rng"]
    return token_batches(train_ex, max_tokens, rng)


class Saver:
    """The files of one run: `save` writes a checkpoint that resumes exactly (weights, Adam's
    moments, torch's generators, the state); `log` appends a row to metrics.jsonl. A fresh run over
    a replaced one (--overwrite) keeps its rows in memory until its first save, so that the old run
    stays whole until then; a fresh run in a new directory writes them as they come."""

    def __init__(self, run_dir: Path, config: dict, tok, cfg: TranslateConfig, fresh: bool):
        from nn2gpt.checkpoint import has_checkpoint

        self.dir, self.config, self.tok, self.cfg, self.fresh = run_dir, config, tok, cfg, fresh
        self.pending: list[dict] | None = [] if fresh and has_checkpoint(run_dir) else None
        if fresh and self.pending is None:
            (run_dir / "metrics.jsonl").unlink(missing_ok=True)
        self.last_save = time.time()

    def save(self, model, opt, state: dict, device) -> str | None:
        """Save, or say what is wrong with weights that must not be saved (not finite, or past
        nn2gpt.loop.WEIGHT_LIMIT): then nothing is written."""
        import torch

        from nn2gpt.checkpoint import has_checkpoint, save_checkpoint
        from nn2gpt.translate.model import model_weights

        weights = model_weights(model)
        problem = weights_problem(weights.values(), f"at step {state['step']}")
        if problem:
            return problem
        arrays = torch_adam_arrays(opt, model)
        arrays["rng.torch"] = torch.get_rng_state().numpy()
        if device.type == "cuda":
            arrays["rng.cuda"] = torch.cuda.get_rng_state(device).numpy()
        if device.type == "mps":
            arrays["rng.mps"] = torch.mps.get_rng_state().numpy()
        # a new run's first save keeps nothing else: no checkpoint of a run it replaced may be averaged in;
        # config.json and tokenizer.json (and the held-back metrics) are written beside it after the switch
        first = {"tokenizer.json": self.tok.hf.to_str(pretty=True)} if self.fresh and hasattr(self.tok, "hf") else {}
        if self.pending is not None:
            first["metrics.jsonl"] = "".join(json.dumps(r) + "\n" for r in self.pending)
        try:
            save_checkpoint(self.dir, weights, self.config, self.tok.to_json(), arrays, dict(state),
                            keep=1 if self.fresh else self.cfg.keep, files=first,
                            again=retry_advice(self.fresh, self.cfg.overwrite))
        except UserError:
            if self.fresh and self.pending is None and not has_checkpoint(self.dir):  # a new run whose first
                (self.dir / "metrics.jsonl").unlink(missing_ok=True)  # save failed leaves nothing (nor a .lock)
            raise
        self.fresh, self.pending = False, None
        _plot_loss(self.dir)
        self.last_save = time.time()
        return None

    def log(self, row: dict) -> None:
        """A row of metrics.jsonl: appended at once, or held back until the first save."""
        if self.pending is not None:
            self.pending.append(row)
            return
        with open(self.dir / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")


def stop_interrupted(ctrl_c, state: dict, run_dir: Path) -> None:
    print(f"\ninterrupted by {ctrl_c.name}: saved step {state['step']} to {run_dir}; continue with --resume")
    raise Stopped(ctrl_c.signum or signal.SIGINT, told=True)  # the command line exits 130 (SIGINT) or 143 (SIGTERM)
