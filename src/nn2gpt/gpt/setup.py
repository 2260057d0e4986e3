"""What a GPT training run holds before its first step; nn2gpt.gpt.train takes the steps.

    ckpt = checkpoint_for(cfg, run_dir)                      # None: a fresh run
    tok, train_ids, val_ids = text_and_tokenizer(cfg, ckpt)
    model_cfg, model = build(cfg, tok, device, dist)         # then the optimizer (train.make_optimizer)
    state = restore(ckpt, model, optimizer, rng) if ckpt else fresh_state()
    fast, trained = wrapped(model, cfg, device, dist)
    share = my_share(cfg, dist, device)
    val_set = fixed_val_set(val_ids, cfg, dist, share)

Under torchrun every process runs all of it with the same seeds, so every rank starts from the
same weights and draws the same batches, of which each trains on its own rows (`my_share`).
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import torch

from nn2gpt.runout import checkpoint_to_resume
from nn2gpt.data.text import read_text
from nn2gpt.errors import UserError
from nn2gpt.gpt import runs
from nn2gpt.gpt.batches import encode_and_split, training_text, val_batches
from nn2gpt.gpt.tokenizer import make_tokenizer, tokenizer_from_json
from nn2gpt.gpt.muon import load_optimizer_arrays


def checkpoint_for(cfg, run_dir):
    """The checkpoint a resumed run continues, or None for a fresh one (nn2gpt.checkpoint decides,
    refusing a fresh run over a trained one without --overwrite). A run of another engine (numpy)
    is refused by name: its optimizer state is not the one this engine keeps."""
    ckpt = checkpoint_to_resume(run_dir, cfg.resume, cfg.overwrite, want="gpt")
    engine = ckpt.config.get("engine", "torch") if ckpt else "torch"
    if engine != "torch":
        raise UserError(f"{run_dir} was trained by the {engine} engine, whose optimizer state the torch engine "
                        f"cannot continue; resume it with --engine {engine}, or start a new --out")
    return ckpt


def text_and_tokenizer(cfg, ckpt, tokenizer=None):
    """(tokenizer, training ids, validation ids). A resumed run keeps its saved tokenizer, so
    every token keeps the id its embedding was trained under.

    `tokenizer`, when given, is used instead of making one from cfg.tokenizer: an object with
    encode(text) -> ids, decode(ids) -> text, vocab_size and to_json() (what the checkpoint
    keeps, read back by nn2gpt.gpt.tokenizer.tokenizer_from_json). `nn2gpt learn run tokens`
    passes the learner's BPE this way, so that the GPT trains on the ids the learner's encode
    gives. A trained BPE (to_json type "bpe") must have learnt from the training split alone:
    its validation ids are cut where that split ends, as for cfg.tokenizer "bpe"."""
    text = read_text(cfg.text, cfg.data_dir)
    if ckpt and tokenizer is not None:
        raise UserError(f"{cfg.out} is resumed with the tokenizer it was trained with, not another one; "
                        f"start a fresh run (--overwrite or another --out) to train with this one")
    if tokenizer is not None:
        tok = tokenizer
    elif ckpt:
        tok = tokenizer_from_json(ckpt.tokenizer, cfg.data_dir)
    else:
        tok = make_tokenizer(cfg.tokenizer, training_text(text) if cfg.tokenizer == "bpe" else text, cfg.data_dir,
                             cfg.vocab_size)
    train_ids, val_ids = encode_and_split(tok, text, cfg.block_size)
    return tok, train_ids, val_ids


def model_config(cfg, vocab_size: int):
    """The ModelConfig of a TrainConfig: the fields they share, and the tokenizer's vocabulary."""
    from nn2gpt.gpt.variants import ModelConfig

    names = {f.name for f in fields(ModelConfig)}
    shared = {k: v for k, v in vars(cfg).items() if k in names}
    if cfg.model != "gpt":  # the untied head and zero-init are the gpt model's: the earlier steps have a
        shared["untie"] = shared["zero_init"] = False  # head of their own and no residual path to start from
    return ModelConfig(**shared | {"vocab_size": vocab_size})


def build(cfg, tok, device, dist):
    """(ModelConfig, the model on `device`) from the TrainConfig fields ModelConfig shares, freshly
    initialised from cfg.seed (restore() then overwrites the weights of a resumed run)."""
    from nn2gpt.gpt.variants import build_model

    model_cfg = model_config(cfg, tok.vocab_size)
    torch.manual_seed(cfg.seed + dist.rank)  # init is the same on every rank: DDP broadcasts rank 0's
    return model_cfg, build_model(model_cfg).to(device)


def fresh_state() -> dict:
    """The training state every checkpoint keeps: steps taken, seconds of training, the metrics
    rows so far and the best validation loss."""
    return {"step": 0, "seconds": 0.0, "rows": [], "best_val_loss": float("inf")}


def restore(ckpt, model, optimizer, rng: np.random.Generator) -> dict:
    """Put a checkpoint back in place (weights, Adam's moments, the numpy and torch generators),
    so the run continues exactly as if it had never stopped; returns its training state."""
    runs.load_weights(model, ckpt.weights)
    load_optimizer_arrays(optimizer, model, ckpt.optimizer or {})
    rng.bit_generator.state = ckpt.state["numpy_rng"]
    runs.torch_rng_from_json(ckpt.state["torch_rng"])
    return {k: ckpt.state[k] for k in fresh_state()}


def wrapped(model, cfg, device, dist):
    """(the model the forward passes call, the one backward runs through): `model` compiled
    (cfg.compile; by default on a GPU only), then inside DDP under torchrun. All three share one
    set of parameters, `model`'s, which is what a checkpoint saves."""
    fast = torch.compile(model) if (cfg.compile if cfg.compile is not None else device.type == "cuda") else model
    trained = torch.nn.parallel.DistributedDataParallel(fast) if dist.enabled else fast
    return fast, trained


def my_share(cfg, dist, device):
    """A function from a global batch (numpy x, y of batch_size * world rows) to this process's
    rows of it, as tensors on its device."""
    # The same windows whatever the number of processes: each takes its rows of every global batch.
    mine = slice(dist.rank * cfg.batch_size, (dist.rank + 1) * cfg.batch_size)
    return lambda x, y: (torch.from_numpy(x[mine]).to(device), torch.from_numpy(y[mine]).to(device))


def fixed_val_set(val_ids, cfg, dist, share) -> list:
    """The validation batches, chosen once and kept on the device: every evaluation of the run
    (and of its resumed continuations) sees the same windows, so two val losses compare."""
    return [share(x, y) for x, y in val_batches(val_ids, cfg.block_size, cfg.batch_size * dist.world, cfg.eval_batches)]
