"""`nn2gpt gpt train --engine numpy` and `nn2gpt gpt sample --engine numpy`.

`nn2gpt.gpt.cli` parses the flags and hands its argparse Namespace to `train(args)` or
`sample(args)` here (this module never imports it back: the settings come from
nn2gpt.gpt.runconfig, what this engine can do from nn2gpt.numpy_gpt.model.CAN). Same data pipeline (tokenizer.py, batches.py) and same run directory as
the torch engine: config.json (with "engine": "numpy"), metrics.jsonl, samples.txt and
checkpoints that either engine can load. Options that only the torch engine has are refused
with a one-line UserError rather than silently ignored.
"""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path

from nn2gpt.errors import UserError


def _given(args, name):
    return getattr(args, name, None)

def reject_torch_only(args) -> None:
    """UserError for the first flag whose value the numpy engine cannot honour (numpy_gpt.model.CAN)."""
    from nn2gpt.numpy_gpt.model import WHY_NOT, unsupported

    bad = unsupported({k: v for k, v in vars(args).items() if v is not None})
    if bad:
        name, value = bad
        shown = f"--{name.replace('_', '-')}" + ("" if value is True else f" {value}")
        raise UserError(f"the numpy engine does not support {shown}{WHY_NOT.get(name, '')}; use --engine torch")
    if getattr(args, "dropout", None) and float(args.dropout) > 0:
        raise UserError(f"the numpy engine trains without dropout (got --dropout {args.dropout}); "
                        f"use --dropout 0 or --engine torch")
    if os.environ.get("WORLD_SIZE", "1") != "1":  # started by torchrun
        raise UserError("the numpy engine trains in one process only (no DDP, no torchrun); use --engine torch")


def train_config(args):
    """NumpyTrainConfig from the recipe (or, with --resume, the run's checkpoint) plus the flags given."""
    from nn2gpt.gpt.recipes import RECIPE_SETTINGS
    from nn2gpt.gpt.runconfig import check_optimization, settings
    from nn2gpt.numpy_gpt.model import unsupported
    from nn2gpt.numpy_gpt.train import NumpyTrainConfig

    names = {f.name for f in fields(NumpyTrainConfig)}
    merged, args.resume_note = settings(args, names | set(RECIPE_SETTINGS))
    bad = unsupported(merged, RECIPE_SETTINGS)  # a recipe's value no flag gave: --recipe speedrun's Muon
    if bad:
        key, value = bad
        raise UserError(f"the numpy engine does not support {key} {value} (recipe {merged.get('recipe')}); "
                        f"use --engine torch, or give --{key.replace('_', '-')} another value")
    cfg = NumpyTrainConfig(**{k: v for k, v in merged.items() if k in names})
    check_optimization(cfg)
    if cfg.n_embd % cfg.n_head:
        raise UserError(f"--n-embd {cfg.n_embd} is not divisible by --n-head {cfg.n_head}; "
                        f"choose sizes where it is (e.g. --n-embd {32 * cfg.n_head})")
    return cfg


def train(args, **seams) -> int:
    """Train the numpy GPT into the run directory --out (Tiny Shakespeare unless --text); `seams`
    go to nn2gpt.numpy_gpt.train.train as they are (the workbook's milestone)."""
    from nn2gpt.gpt.finished import report
    from nn2gpt.numpy_gpt.train import train as train_numpy

    reject_torch_only(args)
    cfg = train_config(args)
    result = train_numpy(cfg, log=(lambda *a: None) if _given(args, "quiet") else print, **seams)
    if result.status != "diverged" and cfg.out and (Path(cfg.out) / "samples.txt").is_file():
        print((Path(cfg.out) / "samples.txt").read_text(encoding="utf-8"))
    return report(result, cfg.out, cfg.text, engine="numpy", resume_note=args.resume_note)


def sample(args) -> int:
    """Stream --max-new-tokens tokens from a run directory's checkpoint (trained by either engine)."""
    import numpy as np

    from nn2gpt.checkpoint import load_checkpoint, require_kind, require_vocab
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
    tok = tokenizer_from_json(ckpt.tokenizer, _given(args, "data_dir"))
    require_vocab(run, ckpt.config, tok)
    model = NumpyGPT(mcfg, ckpt.weights)  # UserError when the run needs a torch-only feature
    seed = _given(args, "seed")
    rng = np.random.default_rng(None if seed is None else int(seed))
    prompt = _given(args, "prompt") or ""
    max_new = _given(args, "max_new_tokens")
    max_new = 500 if max_new is None else int(max_new)  # 0 asks for no tokens, not the default
    if max_new < 0:
        raise UserError(f"--max-new-tokens must be >= 0 (got {max_new})")
    temperature = _given(args, "temperature")
    top_k, top_p = _given(args, "top_k"), _given(args, "top_p")
    pieces = stream_text(model, tok, prompt, max_new, 1.0 if temperature is None else float(temperature),
                         None if top_k is None else int(top_k), None if top_p is None else float(top_p), rng,
                         use_cache=not _given(args, "no_cache"))
    from nn2gpt.gpt.sampling import stream_to_stdout

    return stream_to_stdout(prompt, pieces)
