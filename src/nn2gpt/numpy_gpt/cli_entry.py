"""`nn2gpt gpt train --engine numpy` and `nn2gpt gpt sample --engine numpy`.

`nn2gpt.gpt.cli` parses the flags and hands its argparse Namespace to `train(args)` or
`sample(args)` here. Same data pipeline (tokenizer.py, batches.py) and same run directory as
the torch engine: config.json (with "engine": "numpy"), metrics.jsonl, samples.txt and
checkpoints that either engine can load. Options that only the torch engine has are refused
with a one-line UserError rather than silently ignored.
"""

from __future__ import annotations

import os
import sys
from dataclasses import fields
from pathlib import Path

from nn2gpt.errors import UserError

# flag -> the values the numpy engine can honour (any other value is torch-only)
NUMPY_CAN = {"model": ("gpt",), "pos": ("learned", "rope"), "score": ("scaled_dot",), "mask": ("causal",),
             "device": ("auto", "cpu"), "dtype": ("auto", "float32", "fp32"), "compile": (False,),
             "window": (0,), "trace": (False,), "threads": (), "peak_tflops": (),
             "optimizer": ("adamw",), "mlp": ("gelu",), "schedule": ("cosine",), "qk_norm": (False,),
             "zero_init": (False, True), "flash": (False, True), "untie": (False, True), "softcap": (), "muon_lr": (), "cooldown": ()}
# chapter 6's model pieces (rope, untie, zero-init) are here; Muon, ReLU², QK-norm, soft-cap and WSD are torch-only
WHY_NOT = {"threads": " (numpy's BLAS picks its own threads; set OPENBLAS_NUM_THREADS instead)",
           "peak_tflops": " (the numpy engine reports no MFU)"}


def _given(args, name):
    return getattr(args, name, None)


def reject_torch_only(args) -> None:
    """UserError for every flag value the numpy engine cannot honour."""
    for name, allowed in NUMPY_CAN.items():
        value = _given(args, name)
        if value is not None and value not in allowed:
            shown = f"--{name.replace('_', '-')}" + ("" if value is True else f" {value}")
            raise UserError(f"the numpy engine does not support {shown}{WHY_NOT.get(name, '')}; use --engine torch")
    if _given(args, "dropout") and float(args.dropout) > 0:
        raise UserError(f"the numpy engine trains without dropout (got --dropout {args.dropout}); "
                        f"use --dropout 0 or --engine torch")
    if os.environ.get("WORLD_SIZE", "1") != "1":  # started by torchrun
        raise UserError("the numpy engine trains in one process only (no DDP, no torchrun); use --engine torch")


def train_config(args):
    """NumpyTrainConfig from the defaults (or, with --resume, the run's checkpoint) plus the flags given."""
    from nn2gpt.gpt.cli import check_optimization, resumed_settings
    from nn2gpt.numpy_gpt.train import NumpyTrainConfig

    names = {f.name for f in fields(NumpyTrainConfig)}
    base = resumed_settings(args, names)
    given = {k: v for k in names if (v := _given(args, k)) is not None}
    cfg = NumpyTrainConfig(**({k: v for k, v in base.items() if k not in ("resume", "overwrite", "stop_at")} | given))
    check_optimization(cfg)
    if cfg.n_embd % cfg.n_head:
        raise UserError(f"--n-embd {cfg.n_embd} is not divisible by --n-head {cfg.n_head}; "
                        f"choose sizes where it is (e.g. --n-embd {32 * cfg.n_head})")
    return cfg


def train(args) -> int:
    """Train the numpy GPT into the run directory --out (Tiny Shakespeare unless --text)."""
    from nn2gpt.numpy_gpt.train import train as train_numpy

    reject_torch_only(args)
    cfg = train_config(args)
    result = train_numpy(cfg, log=(lambda *a: None) if _given(args, "quiet") else print)
    if result.status == "diverged":
        raise UserError(result.message)
    where = f"; run saved in {cfg.out}" if cfg.out else ""
    print(f"{result.status} at step {result.step}: val loss {result.final_val_loss:.4f} "
          f"in {result.seconds:.1f} s (numpy engine){where}", file=sys.stderr)
    if cfg.out and (Path(cfg.out) / "samples.txt").is_file():
        print((Path(cfg.out) / "samples.txt").read_text(encoding="utf-8"))
    return 130 if result.status == "interrupted" else 0


def sample(args) -> int:
    """Stream --max-new-tokens tokens from a run directory's checkpoint (trained by either engine)."""
    import numpy as np

    from nn2gpt.checkpoint import load_checkpoint, require_kind
    from nn2gpt.gpt.tokenizer import tokenizer_from_json
    from nn2gpt.numpy_gpt.model import NumpyGPT
    from nn2gpt.numpy_gpt.sample import stream_text

    if (_given(args, "device") or "cpu") not in ("cpu", "auto"):
        raise UserError(f"the numpy engine runs on the CPU only (got --device {args.device}); use --engine torch")
    run = _given(args, "run") or _given(args, "out")
    if run is None:
        raise UserError("no run directory given; pass the directory `nn2gpt gpt train --out` wrote")
    ckpt = load_checkpoint(run)
    require_kind(run, ckpt.config, "gpt")
    mcfg = ckpt.config.get("model") if isinstance(ckpt.config, dict) else None
    if not isinstance(mcfg, dict):
        raise UserError(f"the checkpoint in {run} has no model config; it is damaged, retrain it")
    model = NumpyGPT(mcfg, ckpt.weights)  # UserError when the run needs a torch-only feature
    tok = tokenizer_from_json(ckpt.tokenizer, _given(args, "data_dir"))
    seed = _given(args, "seed")
    rng = np.random.default_rng(None if seed is None else int(seed))
    prompt = _given(args, "prompt") or ""
    max_new = int(_given(args, "max_new_tokens") or 500)
    if max_new < 0:
        raise UserError(f"--max-new-tokens must be >= 0 (got {max_new})")
    temperature = _given(args, "temperature")
    top_k, top_p = _given(args, "top_k"), _given(args, "top_p")
    pieces = stream_text(model, tok, prompt, max_new, 1.0 if temperature is None else float(temperature),
                         None if top_k is None else int(top_k), None if top_p is None else float(top_p), rng,
                         use_cache=not _given(args, "no_cache"))
    from nn2gpt.gpt.cli import stream_to_stdout

    return stream_to_stdout(prompt, pieces)
