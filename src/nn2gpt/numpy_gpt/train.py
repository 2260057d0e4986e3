"""Training the numpy GPT: the torch engine's loop (nn2gpt.gpt.train), written out again in numpy.

    from nn2gpt.numpy_gpt.train import NumpyTrainConfig, train
    result = train(NumpyTrainConfig(max_seconds=60, out="runs/np"))

The loop in `_train` has the torch engine's shape and calls the same rules by the same names
(nn2gpt.loop: stop_status, evaluation_due, Ceiling, Clock). One optimizer step: learning rate
from the warmup + cosine schedule; grad_accum micro-batches of forward + hand-written backward,
gradients averaged; clip the global norm; AdamW. Every
eval_interval steps: val loss on the same FIXED validation windows as the torch engine, and a
checkpoint in the shared format. Stops at max_iters, max_seconds, stop_at, Ctrl-C (finishes
the step and saves; SIGTERM too) or a loss that diverges, not finite or past twice ln(vocabulary)
(nn2gpt.loop.Ceiling; the last good checkpoint is kept).
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, make_dataclass
from pathlib import Path

import numpy as np

from nn2gpt.checkpoint import save_checkpoint
from nn2gpt.runout import checkpoint_to_resume
from nn2gpt.data.text import read_text
from nn2gpt.errors import UserError
from nn2gpt.files import atomic_write_text
from nn2gpt.gpt.batches import encode_and_split, get_batch, training_text, val_batches
from nn2gpt.gpt.runconfig import numpy_fields
from nn2gpt.gpt.tokenizer import bits_per_byte, bytes_per_token, make_tokenizer, tokenizer_from_json
from nn2gpt.interrupt import StopOnCtrlC
from nn2gpt.loop import Ceiling, Clock, diverged_message, evaluation_due, retry_advice, stop_status
from nn2gpt.numpy_gpt.model import NumpyGPT, check_supported, init_weights
from nn2gpt.numpy_gpt.optim import AdamW, clip_grad_norm
from nn2gpt.numpy_gpt.sample import stream_text
from nn2gpt.runlock import RunLock
from nn2gpt.runlog import plot_losses, write_metrics
from nn2gpt.schedule import lr_at


def _model_config(self, vocab_size: int) -> dict:
    return {"model": "gpt", "vocab_size": vocab_size, "block_size": self.block_size, "n_layer": self.n_layer,
            "n_head": self.n_head, "n_embd": self.n_embd, "dropout": self.dropout, "bias": self.bias,
            "pos": self.pos, "score": "scaled_dot", "mask": "causal", "window": None, "untie": self.untie,
            "zero_init": self.zero_init}


# The torch engine's settings (nn2gpt.gpt.runconfig.TrainConfig) that the numpy engine has, under
# the same names, each declared there once: the defaults are the same, except the numpy engine's
# own (NUMPY_DEFAULTS: the baby GPT that chapter 5 benchmarks against torch, 4 x 128, lr 2e-3),
# and the recipe's settings are the classic one's values (nn2gpt.gpt.recipes).
NumpyTrainConfig = make_dataclass("NumpyTrainConfig", numpy_fields(), namespace={
    "model_config": _model_config, "__module__": __name__,
    "__doc__": "Every setting of a numpy-engine run: TrainConfig's that this engine has (see above)."})


@dataclass
class NumpyTrainResult:
    status: str  # done | time | stopped | interrupted | diverged
    step: int
    seconds: float
    val_history: list[tuple[int, float, float]]  # (step, seconds, val loss)
    final_val_loss: float
    best_val_loss: float
    model: NumpyGPT = field(repr=False)
    message: str = ""
    final_val_bpb: float = float("nan")  # the last val loss in bits per byte of the validation text


def train(cfg: NumpyTrainConfig, log=print, layers=None, config_extra: dict | None = None) -> NumpyTrainResult:
    """Train as `cfg` says (see the module docstring), holding the lock of `cfg.out` throughout.

    The seams the workbook's milestone trains through (`gpt train --engine numpy` uses the
    defaults): `layers`, the passes the model applies (nn2gpt.numpy_gpt.model.Layers: the
    learner's backward passes in chapter 5's places); `config_extra`, keys added to the config
    every checkpoint saves."""
    # a diverging run overflows to inf and NaN, which the loop detects and reports in one line; numpy's
    # own warnings about it would only add lines to stderr
    with RunLock(cfg.out) if cfg.out else nullcontext(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _train(cfg, log, layers, config_extra or {})


def _train(cfg: NumpyTrainConfig, log, layers=None, config_extra: dict | None = None) -> NumpyTrainResult:
    t0 = time.perf_counter()
    run_dir = Path(cfg.out) if cfg.out else None
    ckpt = checkpoint_to_resume(run_dir, cfg.resume, cfg.overwrite, want="gpt")
    if ckpt:
        if ckpt.config.get("engine") != "numpy" or not ckpt.optimizer:
            raise UserError(f"{run_dir} was trained by the {ckpt.config.get('engine')} engine, whose optimizer "
                            f"state the numpy engine cannot continue; resume it with --engine "
                            f"{ckpt.config.get('engine')}, or start a new --out")
    text = read_text(cfg.text, cfg.data_dir)
    tok = tokenizer_from_json(ckpt.tokenizer, cfg.data_dir) if ckpt else \
        make_tokenizer(cfg.tokenizer, training_text(text) if cfg.tokenizer == "bpe" else text, cfg.data_dir,
                       cfg.vocab_size)
    mcfg = ckpt.config["model"] if ckpt else cfg.model_config(tok.vocab_size)
    check_supported(mcfg, training=True)
    train_ids, val_ids = encode_and_split(tok, text, mcfg["block_size"])
    val_set = val_batches(val_ids, mcfg["block_size"], cfg.batch_size, cfg.eval_batches)
    per_token = bytes_per_token(tok, val_ids)  # for bits per byte: comparable across vocabularies
    model = NumpyGPT(mcfg, ckpt.weights if ckpt else init_weights(mcfg, cfg.seed), layers=layers)
    opt = AdamW(model.weights, betas=(cfg.beta1, cfg.beta2), weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed)
    state = {"step": 0, "seconds": 0.0, "rows": [], "best_val_loss": float("inf")}
    if ckpt:
        state = {k: ckpt.state[k] for k in state}
        opt.load_state_arrays(ckpt.optimizer, state["step"])
        rng.bit_generator.state = ckpt.state["numpy_rng"]
    config = {"model": mcfg, "train": asdict(cfg), "engine": "numpy"} | (config_extra or {})  # in every checkpoint
    saved = ckpt is not None

    def evaluate() -> float:  # the mean loss over the FIXED validation windows
        return float(np.mean([model.forward(x, y, for_backward=False)[1] for x, y in val_set]))

    def save() -> None:
        nonlocal saved
        if run_dir:
            extra = {"numpy_rng": rng.bit_generator.state}
            save_checkpoint(run_dir, model.weights, config, tok.to_json(), opt.state_arrays(), state | extra,
                            again=retry_advice(not saved, cfg.overwrite))
            saved = True
            write_metrics(run_dir, state["rows"])

    n_params = sum(w.size for w in model.weights.values())
    log(f"numpy GPT: {n_params / 1e6:.2f}M parameters, {len(train_ids):,} training tokens"
        + (f" -> {run_dir}" if run_dir else ""))
    ceiling = Ceiling.uniform(tok.vocab_size)  # a loss past it has diverged (nn2gpt.loop)
    resumed_at = state["step"] if ckpt else None  # evaluated and saved already
    interval = {"t": time.perf_counter(), "step": state["step"], "loss_sum": 0.0}  # the current log interval

    # ---- the steps: nn2gpt.gpt.train's loop, the same rules under the same names (nn2gpt.loop)
    clock = Clock(state["seconds"])
    status, message = "", ""  # how the run ended: done | time | stopped | interrupted | diverged, and why
    with StopOnCtrlC() as ctrl_c:
        while True:
            step = state["step"]
            state["seconds"] = clock.elapsed()
            status = stop_status(cfg, step, state["seconds"], ctrl_c.set)  # "" = go on
            if evaluation_due(cfg, step, resumed_at, last=bool(status)):
                val = evaluate()
                state["rows"].append({"step": step, "time": round(state["seconds"], 3), "val_loss": val,
                                      "val_bpb": round(bits_per_byte(val, per_token), 5)})
                state["best_val_loss"] = min(state["best_val_loss"], val)
                log(f"step {step:6d}  val loss {val:.4f}  ({state['seconds']:.1f} s)")
                problem = ceiling.problem(val, f"val loss at step {step}")
                if problem:
                    status, message = "diverged", problem
                    break
                save()
            if status:
                message = ctrl_c.name if status == "interrupted" else ""  # which signal stopped it
                break
            lr = lr_at(cfg, step, state["seconds"])
            loss, grads = _accumulated_grads(model, train_ids, mcfg["block_size"], cfg, rng)  # forward + backward
            interval["loss_sum"] += loss
            clip_grad_norm(grads, cfg.grad_clip)
            opt.step(grads, lr)
            state["step"] = step = step + 1
            if step % cfg.log_interval == 0 or step == cfg.max_iters:
                now, n = time.perf_counter(), step - interval["step"]
                train_loss = interval["loss_sum"] / n
                tok_s = n * cfg.grad_accum * cfg.batch_size * mcfg["block_size"] / (now - interval["t"])
                interval.update(t=now, step=step, loss_sum=0.0)
                state["rows"].append({"step": step, "time": round(clock.elapsed(), 3), "train_loss": train_loss,
                                      "lr": lr, "tokens_per_s": round(tok_s)})
                problem = ceiling.problem(train_loss, f"training loss at step {step}")
                if problem:
                    status, message = "diverged", problem
                    break

    # ---- the last files
    if status == "diverged":
        message = diverged_message(message, run_dir, cfg)
    if run_dir and saved:
        write_metrics(run_dir, state["rows"])
        plot_losses(run_dir, state["rows"])
        if status != "diverged" and cfg.sample_tokens > 0:
            sample = "".join(stream_text(model, tok, "", cfg.sample_tokens, rng=np.random.default_rng(cfg.seed)))
            atomic_write_text(run_dir / "samples.txt", sample + "\n")
    vals = [(r["step"], r["time"], r["val_loss"]) for r in state["rows"] if "val_loss" in r]
    return NumpyTrainResult(status=status, step=state["step"], seconds=time.perf_counter() - t0, val_history=vals,
                            final_val_loss=vals[-1][2] if vals else float("nan"),
                            best_val_loss=state["best_val_loss"], model=model, message=message,
                            final_val_bpb=bits_per_byte(vals[-1][2], per_token) if vals else float("nan"))


def _accumulated_grads(model: NumpyGPT, train_ids, block_size: int, cfg: NumpyTrainConfig, rng):
    """Mean loss and mean gradients over cfg.grad_accum random micro-batches."""
    total_loss, total = 0.0, None
    for _ in range(cfg.grad_accum):
        x, y = get_batch(train_ids, block_size, cfg.batch_size, rng)
        loss, grads = model.loss_and_grads(x, y)
        total_loss += loss / cfg.grad_accum
        if total is None:
            total = grads
        else:
            for name, g in grads.items():
                total[name] += g
    if cfg.grad_accum > 1:
        for g in total.values():
            g /= cfg.grad_accum
    return total_loss, total
