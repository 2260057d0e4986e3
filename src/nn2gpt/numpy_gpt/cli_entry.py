"""`nn2gpt gpt train --engine numpy` and `nn2gpt gpt sample --engine numpy`.

`nn2gpt.gpt.cli` parses the flags and hands its argparse Namespace to `train(args)` or
`sample(args)` here. Same data pipeline (tokenizer.py, batches.py) and same run directory as
the torch engine: config.json (with "engine": "numpy"), metrics.jsonl, checkpoints that
either engine can load.
"""

from __future__ import annotations

import codecs
import json
import signal
import sys
import time
from pathlib import Path

from nn2gpt.errors import UserError

# Options only the torch engine has: flag -> (value(s) the numpy engine accepts).
TORCH_ONLY = {"pos": ("learned",), "score": ("scaled_dot",), "mask": ("causal",), "model": ("gpt",),
              "dtype": ("fp32", "float32"), "compile": (False,), "ddp": (False,), "device": ("cpu",)}


def _opt(args, name, default=None):
    value = getattr(args, name.replace("-", "_"), default)
    return default if value is None else value


def _reject_torch_only(args) -> None:
    for name, allowed in TORCH_ONLY.items():
        value = getattr(args, name, None)
        if value is not None and value not in allowed:  # None: the flag was not given
            shown = "--" + name.replace("_", "-") + ("" if isinstance(value, bool) else f" {value}")
            raise UserError(f"the numpy engine does not support {shown}; use --engine torch")
    if getattr(args, "window", None):
        raise UserError("the numpy engine does not support --window; use --engine torch")


def model_config(args, vocab_size: int) -> dict:
    """The "model" object of config.json, from the flags."""
    cfg = {"model": "gpt", "vocab_size": vocab_size, "block_size": int(_opt(args, "block_size", 64)),
           "n_layer": int(_opt(args, "n_layer", 4)), "n_head": int(_opt(args, "n_head", 4)),
           "n_embd": int(_opt(args, "n_embd", 128)), "dropout": float(_opt(args, "dropout", 0.0)),
           "bias": bool(_opt(args, "bias", True)), "pos": "learned", "score": "scaled_dot", "mask": "causal",
           "window": None}
    for key in ("block_size", "n_layer", "n_head", "n_embd"):
        if cfg[key] < 1:
            raise UserError(f"--{key.replace('_', '-')} must be at least 1, got {cfg[key]}")
    if cfg["n_embd"] % cfg["n_head"]:
        raise UserError(f"--n-embd {cfg['n_embd']} is not divisible by --n-head {cfg['n_head']}; "
                        f"pick sizes where it is (e.g. --n-embd {cfg['n_head'] * 32})")
    return cfg


def train_config(args) -> dict:
    """The "train" object of config.json: optimisation settings."""
    cfg = {"batch_size": int(_opt(args, "batch_size", 12)), "lr": float(_opt(args, "lr", 1e-3)),
           "max_iters": int(_opt(args, "max_iters", 2000)), "max_seconds": _opt(args, "max_seconds"),
           "warmup_iters": int(_opt(args, "warmup_iters", 100)), "min_lr": _opt(args, "min_lr"),
           "weight_decay": float(_opt(args, "weight_decay", 0.1)), "grad_clip": float(_opt(args, "grad_clip", 1.0)),
           "eval_interval": int(_opt(args, "eval_interval", 250)), "eval_iters": int(_opt(args, "eval_iters", 20)),
           "seed": int(_opt(args, "seed", 1337)), "tokenizer": _opt(args, "tokenizer", "char")}
    for key in ("batch_size", "max_iters", "eval_interval", "eval_iters"):
        if cfg[key] < 1:
            raise UserError(f"--{key.replace('_', '-')} must be at least 1, got {cfg[key]}")
    if not cfg["lr"] > 0:
        raise UserError(f"--lr must be positive, got {cfg['lr']}")
    return cfg


def train(args) -> int:
    """Train the numpy GPT on --text (Tiny Shakespeare by default) into the run directory --out."""
    import numpy as np

    from nn2gpt.checkpoint import has_checkpoint, load_checkpoint, save_checkpoint
    from nn2gpt.data.text import read_text
    from nn2gpt.files import atomic_write_json
    from nn2gpt.gpt.batches import encode_text, get_batch, split, val_batches
    from nn2gpt.gpt.tokenizer import make_tokenizer, tokenizer_from_json
    from nn2gpt.numpy_gpt.model import NumpyGPT, check_supported, init_weights
    from nn2gpt.numpy_gpt.optim import AdamW, clip_grad_norm, cosine_lr

    _reject_torch_only(args)
    out = Path(_opt(args, "out", "runs/gpt-numpy"))
    tcfg = train_config(args)
    data_dir = _opt(args, "data_dir")
    text = read_text(_opt(args, "text"), data_dir)
    resume = bool(_opt(args, "resume", False)) and has_checkpoint(out)
    if resume:
        ckpt = load_checkpoint(out, with_optimizer=True)
        if ckpt.config.get("engine") != "numpy" or ckpt.optimizer is None:
            raise UserError(f"{out} was trained by the {ckpt.config.get('engine')} engine; resume it with that "
                            f"engine, or train the numpy engine into a new --out directory")
        tokenizer, mcfg = tokenizer_from_json(ckpt.tokenizer, data_dir), ckpt.config["model"]
    else:
        if has_checkpoint(out):
            raise UserError(f"{out} already holds a trained run; pass --resume to continue it, or choose "
                            f"another --out (nothing was overwritten)")
        tokenizer = make_tokenizer(tcfg["tokenizer"], text, data_dir)
        mcfg = model_config(args, tokenizer.vocab_size)
    check_supported(mcfg, training=True)
    train_ids, val_ids = split(encode_text(tokenizer, text), mcfg["block_size"])
    val_set = val_batches(val_ids, mcfg["block_size"], tcfg["batch_size"], tcfg["eval_iters"])

    model = NumpyGPT(mcfg, ckpt.weights if resume else init_weights(mcfg, tcfg["seed"]))
    opt = AdamW(model.weights, weight_decay=tcfg["weight_decay"])
    step, rng = 0, np.random.default_rng(tcfg["seed"])
    if resume:
        step = int(ckpt.state["step"])
        opt.load_state_arrays(ckpt.optimizer, step)
        rng.bit_generator.state = ckpt.state["rng"]
    config = {"model": mcfg, "train": tcfg, "engine": "numpy"}
    atomic_write_json(out / "config.json", config)
    n_params = sum(w.size for w in model.weights.values())
    print(f"numpy GPT, {n_params / 1e6:.2f}M parameters, {len(train_ids):,} training tokens -> {out}")

    def evaluate() -> float:
        return float(np.mean([model.forward(x, y)[1] for x, y in val_set]))

    def save() -> None:
        state = {"step": step, "rng": rng.bit_generator.state}
        save_checkpoint(out, model.weights, config, tokenizer.to_json(), opt.state_arrays(), state)

    stop = {"now": False}
    previous = signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))  # finish the step, save
    start, max_seconds = time.perf_counter(), tcfg["max_seconds"]
    try:
        with open(out / "metrics.jsonl", "a", encoding="utf-8") as metrics:
            while step < tcfg["max_iters"] and not stop["now"]:
                lr = cosine_lr(step, tcfg["lr"], tcfg["warmup_iters"], tcfg["max_iters"], tcfg["min_lr"])
                x, y = get_batch(train_ids, mcfg["block_size"], tcfg["batch_size"], rng)
                loss, grads = model.loss_and_grads(x, y)
                grad_norm = clip_grad_norm(grads, tcfg["grad_clip"])
                opt.step(grads, lr)
                step += 1
                elapsed = time.perf_counter() - start
                out_of_time = max_seconds is not None and elapsed >= float(max_seconds)
                if step % tcfg["eval_interval"] == 0 or step == tcfg["max_iters"] or out_of_time or stop["now"]:
                    val = evaluate()
                    row = {"step": step, "train_loss": loss, "val_loss": val, "lr": lr, "grad_norm": grad_norm,
                           "elapsed_s": round(elapsed, 3), "engine": "numpy"}
                    metrics.write(json.dumps(row) + "\n")
                    metrics.flush()
                    print(f"step {step:6d}  train {loss:.4f}  val {val:.4f}  lr {lr:.2e}  {elapsed:7.1f}s", flush=True)
                    save()
                if out_of_time:
                    break
    finally:
        signal.signal(signal.SIGINT, previous)
    print(f"saved {out}")
    return 0


def sample(args) -> int:
    """Stream --max-new-tokens tokens from the run directory's checkpoint (either engine's)."""
    import numpy as np

    from nn2gpt.checkpoint import load_checkpoint
    from nn2gpt.gpt.tokenizer import tokenizer_from_json
    from nn2gpt.numpy_gpt.model import NumpyGPT
    from nn2gpt.numpy_gpt.sample import stream

    run = _opt(args, "model") or _opt(args, "run") or _opt(args, "out")
    if run is None:
        raise UserError("no run directory given; pass --model RUN_DIR (a directory made by `nn2gpt gpt train`)")
    ckpt = load_checkpoint(run)
    mcfg = ckpt.config.get("model") if isinstance(ckpt.config, dict) else None
    if not isinstance(mcfg, dict):
        raise UserError(f"the checkpoint in {run} has no model config; it is damaged, retrain it")
    model = NumpyGPT(mcfg, ckpt.weights)  # UserError when the model needs a torch-only feature
    tokenizer = tokenizer_from_json(ckpt.tokenizer, _opt(args, "data_dir"))
    temperature, top_k, top_p = float(_opt(args, "temperature", 1.0)), _opt(args, "top_k"), _opt(args, "top_p")
    max_new = int(_opt(args, "max_new_tokens", 500))
    if temperature < 0:
        raise UserError(f"--temperature must be >= 0 (0 = greedy), got {temperature}")
    if top_k is not None and int(top_k) < 1:
        raise UserError(f"--top-k must be at least 1, got {top_k}")
    if top_p is not None and not 0 < float(top_p) <= 1:
        raise UserError(f"--top-p must be in (0, 1], got {top_p}")
    if max_new < 0:
        raise UserError(f"--max-new-tokens must be >= 0, got {max_new}")
    prompt = _opt(args, "prompt", "")
    prompt_ids = tokenizer.encode(prompt) if prompt else tokenizer.encode("\n")[:1] or [0]
    seed = _opt(args, "seed")
    rng = np.random.default_rng(None if seed is None else int(seed))

    write = _utf8_writer(tokenizer)
    sys.stdout.write(prompt)
    for token in stream(model, prompt_ids, max_new, temperature, None if top_k is None else int(top_k),
                        None if top_p is None else float(top_p), rng):
        sys.stdout.write(write(token))
        sys.stdout.flush()
    sys.stdout.write(write(None) + "\n")
    return 0


def _utf8_writer(tokenizer):
    """token -> text to print now. BPE tokens can split a UTF-8 character, so bytes are decoded
    incrementally and a half character waits for the next token. None flushes the rest."""
    if not hasattr(tokenizer, "decode_bytes"):
        return lambda token: "" if token is None else tokenizer.decode([token])
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    return lambda token: decoder.decode(b"", final=True) if token is None else decoder.decode(
        tokenizer.decode_bytes([token]))
