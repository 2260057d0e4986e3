"""What a translation run holds before its first step; nn2gpt.translate.train takes the steps.

    ck, start = settled_start(cfg, run)          # continue this run, fine-tune another, or start afresh
    splits = limited(load_pair(cfg.pair, cfg.data_dir), cfg.limit)
    config, tok = run_config(cfg, ck, start, splits)                # nn2gpt.translate.runconfig
    splits["train"] += joined_pairs(config["train"], splits["train"], cfg.pair)   # --coordinate
    model, opt = model_and_optimizer(config, ck, start, device)
    train_ex, val_ex = examples(tok, splits, config["model"]["max_len"])
"""

from __future__ import annotations

from pathlib import Path

from nn2gpt.errors import UserError
from nn2gpt.optstate import load_torch_adam
from nn2gpt.translate.runconfig import TranslateConfig, settle_flags, starting_point


def settled_start(cfg: TranslateConfig, run: Path):
    """starting_point's (checkpoint to continue, checkpoint to fine-tune from), with every unset flag
    settled from it (settle_flags) and the model's shape checked."""
    ck, start = starting_point(cfg, run)
    settle_flags(cfg, ck.config if ck else start.config if start else None,
                  ("model", "train") if ck else ("model",), "--resume" if ck else "--init-from")
    if cfg.d_model % cfg.heads:
        raise UserError(f"--d-model {cfg.d_model} must be divisible by --heads {cfg.heads}")
    return ck, start


def limited(splits: dict, limit: int | None) -> dict:
    """The first `limit` pairs of each split (--limit), or all of them."""
    return {k: v[:limit] for k, v in splits.items()} if limit else splits


def model_and_optimizer(config: dict, ck, start, device, parts=None):
    """The Transformer (its saved or source weights, if any) and Adam (its saved moments and RNG on
    --resume); `parts` (nn2gpt.translate.parts.Parts) may build another model of the same weights."""
    import torch

    from nn2gpt.translate.parts import Parts

    model = (parts or Parts()).build(config["model"])
    if ck is not None or start is not None:
        weights = {k: torch.from_numpy(v) for k, v in (ck or start).weights.items()}
        missing, extra = model.state_dict().keys() - weights.keys(), weights.keys() - model.state_dict().keys()
        if missing or extra:  # every tensor named, none left over, as every reader of a run checks
            names = ", ".join(sorted(missing)[:3] + sorted(extra)[:3])
            raise UserError(f"{'--resume' if ck is not None else '--init-from'} run's weights do not fit its "
                            f"Transformer ({len(missing)} missing, {len(extra)} left over: {names}); "
                            f"the run is damaged or not a translation run of this version")
        model.load_state_dict(weights)
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=0.0, betas=(0.9, 0.98), eps=1e-9)
    if ck is not None:
        load_torch_adam(opt, model, ck.optimizer)
        torch.set_rng_state(torch.from_numpy(ck.optimizer["rng.torch"].copy()))
        if device.type == "cuda" and "rng.cuda" in ck.optimizer:  # GPU dropout draws from the GPU's generator
            torch.cuda.set_rng_state(torch.from_numpy(ck.optimizer["rng.cuda"].copy()), device)
        if device.type == "mps" and "rng.mps" in ck.optimizer:  # so does the Apple GPU's
            torch.mps.set_rng_state(torch.from_numpy(ck.optimizer["rng.mps"].copy()))
    return model, opt


def examples(tok, splits: dict, max_len: int):
    """(training examples, validation examples) as token ids; training pairs longer than the model's
    positions (max_len) are left out."""
    from nn2gpt.translate.batches import encode_pairs

    train_ex = encode_pairs(tok, splits["train"])
    val_ex = encode_pairs(tok, splits["val"])
    return [e for e in train_ex if len(e[0]) <= max_len and len(e[1]) <= max_len], val_ex
