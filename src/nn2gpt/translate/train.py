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
translate/evaluate.py, the one `translate eval` reports. The loop, one epoch at a time (the
rules of nn2gpt.loop, counted in epochs):
  1. the epoch's batches, from a generator whose state the run keeps (`_Run._epoch_batches`);
  2. one Adam step per batch (`take_step`), a metrics row every LOG_EVERY steps; after each step,
     Ctrl-C, the time limit and the periodic save are checked (`train_epoch`);
  3. at the epoch's end, or the time limit's: the validation loss, its row, maybe a save (`end_epoch`).
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
from nn2gpt.loop import Ceiling, Diverged, diverged_message, retry_advice, weights_problem
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
        return _train(cfg, parts)


def _train(cfg: TranslateConfig, parts=None) -> Path:
    """Prepare the run, then epoch by epoch: its steps, then its evaluation and maybe a save."""
    run = _Run(cfg, parts)
    # Ctrl-C sets a flag that is read between steps, so a save never sees a half-applied Adam step.
    with StopOnCtrlC() as ctrl_c:
        while run.state["epoch"] < cfg.epochs:
            stop = run.train_epoch(ctrl_c)  # None: the epoch is done; else "interrupted" | "time"
            if stop == "interrupted":
                run.save()
                run.stop_interrupted(ctrl_c)
            run.end_epoch(out_of_time=stop == "time", ctrl_c=ctrl_c)
            if ctrl_c.set:  # Ctrl-C during the evaluation or the save: that save was the last
                run.stop_interrupted(ctrl_c)
            if stop == "time":
                break
    return run.dir


class _Run:
    """A translation run in training: its model, Adam, data and the state a checkpoint keeps
    (step, epoch, the batch reached in it, the generator state its batches came from, seconds),
    and the steps _train takes: `train_epoch` (a `take_step` per batch), `end_epoch` (`evaluate`,
    `log`, maybe `save`), and `save` and `stop_interrupted` on Ctrl-C."""

    def __init__(self, cfg: TranslateConfig, parts=None):
        import torch

        from nn2gpt.translate.parts import Parts

        from nn2gpt.data.translation import load_pair
        from nn2gpt.devices import mixed_precision, pick_device

        self.cfg, self.dir = cfg, Path(cfg.out)
        self.device = pick_device(cfg.device)
        ck, start = settled_start(cfg, self.dir)  # 1. continue this run, fine-tune another, or start afresh
        torch.manual_seed(cfg.seed)
        splits = limited(load_pair(cfg.pair, cfg.data_dir), cfg.limit)  # 2. the data, the tokenizer, the config
        parts = parts or Parts()
        self.loss = parts.loss or label_smoothed_loss
        self.config, self.tok = run_config(cfg, ck, start, splits)
        self.config = self.config | parts.config_extra  # saved in every checkpoint
        self.tcfg = self.config["train"]
        splits["train"] = splits["train"] + joined_pairs(self.tcfg, splits["train"], cfg.pair)
        self.model, self.opt = model_and_optimizer(self.config, ck, start, self.device, parts)  # 3. the model and its optimizer
        self.autocast, use_bf16 = mixed_precision(self.device)  # bf16 and TF32 on a CUDA GPU, else float32
        self.state = (ck.state if ck is not None else None) or {"step": 0, "epoch": 0, "batch": 0, "epoch_rng": None,
                                                                "seconds": 0.0}
        n_params = sum(p.numel() for p in self.model.parameters())
        print(f"{cfg.pair}: {len(splits['train']):,} training pairs, vocabulary {self.tok.vocab_size:,}, "
              f"{n_params / 1e6:.2f}M parameters, on {self.device}{' (bf16 autocast)' if use_bf16 else ''}, "
              f"run directory {self.dir}")
        self.train_ex, self.val_ex = examples(self.tok, splits, self.config["model"]["max_len"])
        self.ceiling = Ceiling.uniform(self.tok.vocab_size)  # a loss past it has diverged (nn2gpt.loop)
        self._start_metrics(fresh=ck is None)
        self.started = self.last_save = time.time()
        self.seconds_before = self.state["seconds"]
        self.recent: list[float] = []  # losses since the last log line (one batch alone is noisy: lengths vary)

    def _start_metrics(self, fresh: bool) -> None:
        """Where metrics rows go until the first save, and whether that save is the run's first."""
        from nn2gpt.checkpoint import has_checkpoint

        self.fresh = fresh
        # A fresh run over a replaced one (--overwrite) keeps its metrics in memory until its first save, so
        # that the old run stays whole until then; a fresh run in a new directory writes them as they come.
        self.pending: list[dict] | None = [] if fresh and has_checkpoint(self.dir) else None
        if fresh and self.pending is None:
            (self.dir / "metrics.jsonl").unlink(missing_ok=True)

    def train_epoch(self, ctrl_c) -> str | None:
        """The epoch's remaining batches, a step each. After every step: Ctrl-C ("interrupted"), the
        time limit ("time"), and a save when the last is SAVE_EVERY_S old; None at the epoch's end."""
        batches = self._epoch_batches()
        self.model.train()
        bar = progress_bar(len(batches), self.state["batch"], f"epoch {self.state['epoch'] + 1}", "batch", self.cfg.quiet)
        try:
            for batch in batches[self.state["batch"]:]:
                loss, lr = self.take_step(batch)
                self.recent.append(loss)
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3f}", lr=f"{lr:.2e}")
                if self.state["step"] % LOG_EVERY == 0:
                    self.log({"step": self.state["step"], "epoch": self.state["epoch"], "lr": lr,
                              "train_loss": round(sum(self.recent) / len(self.recent), 4),
                              "seconds": round(self.state["seconds"], 1)})
                    self.recent.clear()
                if ctrl_c.set:
                    return "interrupted"
                if self.cfg.max_seconds is not None and time.time() - self.started >= self.cfg.max_seconds:
                    return "time"
                if time.time() - self.last_save >= SAVE_EVERY_S:
                    self.save()
        finally:  # also when a divergence error leaves the loop: the error prints on its own line
            bar.close()
        return None

    def _epoch_batches(self) -> list:
        """This epoch's batches, drawn from a generator seeded by (seed, epoch) whose starting state
        the run keeps, so a resumed epoch draws the same batches and goes on where it stopped."""
        import numpy as np

        from nn2gpt.translate.batches import token_batches

        if self.state["epoch_rng"] is None:  # a new epoch: remember how its batches were drawn
            self.state["epoch_rng"] = np.random.default_rng([self.tcfg["seed"], self.state["epoch"]]).bit_generator.state
        rng = np.random.default_rng()
        rng.bit_generator.state = self.state["epoch_rng"]
        return token_batches(self.train_ex, self.tcfg["max_tokens"], rng)

    def take_step(self, batch) -> tuple[float, float]:
        """One Adam step on one batch at the schedule's learning rate; (its label-smoothed loss, lr)."""
        import torch

        from nn2gpt.translate.batches import collate

        # non_blocking on CUDA only: on MPS an asynchronous copy from these temporary arrays can read
        # them after they are freed (silently wrong batches), and it would gain nothing there
        src, tgt_in, tgt_out = (torch.from_numpy(a).to(self.device, non_blocking=self.device.type == "cuda")
                                for a in collate(self.train_ex, batch, self.tok.pad_id))
        lr = noam_lr(self.state["step"] + 1, self.config["model"]["d_model"], self.tcfg["warmup"], self.tcfg["lr_factor"])
        for g in self.opt.param_groups:
            g["lr"] = lr
        with self.autocast():
            logits = self.model(src, tgt_in)  # (B, T, V)
        eps = self.tcfg["label_smoothing"]
        loss = self.loss(logits.float(), tgt_out, eps, self.tok.pad_id)  # scalar
        loss_value = loss.item()
        problem = self.ceiling.problem(loss_value, f"training loss at step {self.state['step'] + 1}")
        if problem:  # before the step, so the weights stay as last saved
            raise self.diverged(problem)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.state["step"] += 1
        self.state["batch"] += 1
        self.state["seconds"] = self.seconds_before + time.time() - self.started
        return loss_value, lr

    def end_epoch(self, out_of_time: bool, ctrl_c) -> None:
        """The epoch is over (or the time is): the validation loss, its row and line, and a save at the
        run's end, on Ctrl-C, with --keep, or when the last save is EPOCH_SAVE_GAP_S old."""
        state = self.state
        if not out_of_time:
            state.update(epoch=state["epoch"] + 1, batch=0, epoch_rng=None)
        val = self.evaluate()
        self.log({"step": state["step"], "epoch": state["epoch"], "val_loss": round(val, 4),
                  "val_ppl": round(math.exp(val), 2), "seconds": round(state["seconds"], 1)})
        print(f"epoch {state['epoch']}{' (time limit)' if out_of_time else ''}: step {state['step']}, "
              f"val loss {val:.3f}, perplexity {math.exp(val):.1f}, {state['seconds']:.0f} s of training")
        finished = out_of_time or state["epoch"] >= self.cfg.epochs
        # with --keep, every epoch end is saved: those are the checkpoints `translate average` is for
        if finished or ctrl_c.set or self.cfg.keep > 1 or time.time() - self.last_save >= EPOCH_SAVE_GAP_S:
            self.save()

    def evaluate(self) -> float:
        """The validation loss (NLL, without label smoothing); a non-finite one stops the run as diverged."""
        val = loss_on(self.model, self.val_ex, self.tok.pad_id, self.tcfg["max_tokens"], self.autocast)
        problem = self.ceiling.problem(val, f"validation loss at step {self.state['step']}")
        if problem:
            raise self.diverged(problem)
        return val

    def save(self) -> None:
        """A checkpoint that resumes exactly: weights, Adam's moments, torch's generators, the state.
        Weights no longer finite, or past nn2gpt.loop.WEIGHT_LIMIT, are never saved: the run stops as
        diverged instead."""
        import torch

        from nn2gpt.checkpoint import has_checkpoint, save_checkpoint
        from nn2gpt.translate.model import model_weights

        weights = model_weights(self.model)
        problem = weights_problem(weights.values(), f"at step {self.state['step']}")
        if problem:  # never save a broken model
            raise self.diverged(problem)
        arrays = torch_adam_arrays(self.opt, self.model)
        arrays["rng.torch"] = torch.get_rng_state().numpy()
        if self.device.type == "cuda":
            arrays["rng.cuda"] = torch.cuda.get_rng_state(self.device).numpy()
        if self.device.type == "mps":
            arrays["rng.mps"] = torch.mps.get_rng_state().numpy()
        # a new run's first save keeps nothing else: no checkpoint of a run it replaced may be averaged in;
        # config.json and tokenizer.json (and the held-back metrics) are written beside it after the switch
        first = {"tokenizer.json": self.tok.hf.to_str(pretty=True)} if self.fresh and hasattr(self.tok, "hf") else {}
        if self.pending is not None:
            first["metrics.jsonl"] = "".join(json.dumps(r) + "\n" for r in self.pending)
        try:
            save_checkpoint(self.dir, weights, self.config, self.tok.to_json(), arrays, dict(self.state),
                            keep=1 if self.fresh else self.cfg.keep, files=first,
                            again=retry_advice(self.fresh, self.cfg.overwrite))
        except UserError:
            if self.fresh and self.pending is None and not has_checkpoint(self.dir):  # a new run whose first
                (self.dir / "metrics.jsonl").unlink(missing_ok=True)  # save failed leaves nothing (nor a .lock)
            raise
        self.fresh, self.pending = False, None
        _plot_loss(self.dir)
        self.last_save = time.time()

    def log(self, row: dict) -> None:
        """A row of metrics.jsonl: appended at once, or held back until the first save (see _start_metrics)."""
        if self.pending is not None:
            self.pending.append(row)
            return
        with open(self.dir / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")

    def diverged(self, what: str) -> Diverged:
        return Diverged(diverged_message(what, self.dir, advice="lower --lr-factor or raise --warmup", name_kept=True))

    def stop_interrupted(self, ctrl_c) -> None:
        print(f"\ninterrupted by {ctrl_c.name}: saved step {self.state['step']} to {self.dir}; continue with --resume")
        raise Stopped(ctrl_c.signum or signal.SIGINT, told=True)  # the command line exits 130 (SIGINT) or 143 (SIGTERM)
