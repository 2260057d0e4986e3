"""A run directory, and moving a model and its optimizer between torch and checkpoint files.

    run/
      config.json     a copy of the checkpoint's config: {"model": {...}, "train": {...}, "engine": "torch"}
      metrics.jsonl   one JSON object per log line: step, time, train_loss | val_loss, lr, ...
      loss.png        train and val loss curves
      samples.txt     text the trained model wrote
      latest, ckpt-*/ the checkpoint (see nn2gpt.checkpoint)

Checkpoints hold numpy arrays (safetensors) and JSON only, so the model's state_dict, the
optimizer's state and the random generators' states are converted here, both ways.
"""

from __future__ import annotations

import base64
from dataclasses import asdict

import numpy as np
import torch

from nn2gpt.checkpoint import load_checkpoint, require_kind, require_vocab
from nn2gpt.errors import UserError
from nn2gpt.gpt.tokenizer import tokenizer_from_json


# ---- model weights --------------------------------------------------------------------------

def weights_to_numpy(model: torch.nn.Module) -> dict[str, np.ndarray]:
    """The state_dict as float32 numpy arrays, each tensor once.

    A tied output head (lm_head.weight IS tok_emb.weight) appears twice in a state_dict; only
    the first name is kept, as the checkpoint contract says.
    """
    out, seen = {}, set()
    for name, t in model.state_dict().items():
        key = (t.data_ptr(), t.shape, t.stride())
        if key in seen:
            continue
        seen.add(key)
        out[name] = t.detach().to("cpu", torch.float32).numpy().copy()
    return out


def load_weights(model: torch.nn.Module, weights: dict[str, np.ndarray], where: str = "checkpoint") -> None:
    """Copy `weights` into `model`; a missing name is fine only if it is tied to a loaded one."""
    own = model.state_dict()
    unexpected = sorted(set(weights) - set(own))
    loaded_ptrs = {own[k].data_ptr() for k in weights if k in own}
    missing = sorted(k for k in set(own) - set(weights) if own[k].data_ptr() not in loaded_ptrs)
    if unexpected or missing:
        raise UserError(f"the {where} does not fit this model (missing {missing[:5]}, unexpected {unexpected[:5]}); "
                        f"was it saved by another version or model type?")
    for k, arr in weights.items():
        if tuple(arr.shape) != tuple(own[k].shape):
            raise UserError(f"the {where} has {k} of shape {arr.shape}, the model expects {tuple(own[k].shape)}")
    model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in weights.items()}, strict=False)


# ---- RNG state ------------------------------------------------------------------------------

def torch_rng_to_json() -> str:
    return base64.b64encode(torch.get_rng_state().numpy().tobytes()).decode("ascii")


def torch_rng_from_json(s: str) -> None:
    torch.set_rng_state(torch.frombuffer(bytearray(base64.b64decode(s)), dtype=torch.uint8))


# ---- loading a trained model ----------------------------------------------------------------

def load_model(run_dir, device: str = "cpu", data_dir=None):
    """(model in eval mode, tokenizer, config) from the latest checkpoint of `run_dir`."""
    from nn2gpt.gpt.variants import build_model, config_from_saved

    ckpt = load_checkpoint(run_dir)
    require_kind(run_dir, ckpt.config, "gpt")
    try:
        cfg = config_from_saved(ckpt.config["model"])
    except (KeyError, TypeError, ValueError) as e:
        raise UserError(f"the model config in {run_dir} is not understood ({e}); retrain the run") from None
    tok = tokenizer_from_json(ckpt.tokenizer, data_dir)
    require_vocab(run_dir, ckpt.config, tok)
    model = build_model(cfg)
    load_weights(model, ckpt.weights, where=f"checkpoint in {run_dir}")
    return model.to(device).eval(), tok, ckpt.config


# ---- the files a run writes -----------------------------------------------------------------

def run_config(model_cfg, train_cfg, engine: str = "torch") -> dict:
    """The config a checkpoint carries (and config.json copies): model, training and engine."""
    return {"model": asdict(model_cfg), "train": asdict(train_cfg), "engine": engine}
