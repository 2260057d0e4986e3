"""What a translation run is: its settings, where it starts from, and the config its checkpoints carry.

`nn2gpt translate train`'s flags arrive as a TranslateConfig. Before training, three questions:
  - where does it start? afresh, from its own last checkpoint (--resume), or from another run's
    weights (--init-from, fine-tuning) — `starting_point`;
  - what are its settings? a flag left unset takes the recipe (DEFAULTS) in a fresh run, the saved
    value in a resumed one; a flag that contradicts a saved value is refused by name — `settle_flags`;
  - what config and tokenizer will every checkpoint carry? — `run_config`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nn2gpt.errors import UserError

# The measured CPU recipe (BENCHMARKS.md, chapter 3: 38.85 BLEU de-en after 30 minutes on 2 cores):
# 2.16M parameters, a short warm-up and a gentler factor than the paper's 4000 / 1.0, which suit
# its 65M-parameter model trained for 100k steps.
DEFAULTS = {"d_model": 128, "n_layer": 3, "n_head": 4, "d_ff": 512, "dropout": 0.1, "vocab_size": 6000,
            "max_tokens": 2048, "warmup": 400, "lr_factor": 0.7, "max_len": 256, "label_smoothing": 0.1}


# flag (argparse dest) -> where a run keeps it: ("model" | "train", key). A fresh run takes the flag or the
# default; --resume takes the saved value and refuses a different one; --init-from takes the model's.
RUN_FLAGS = {"d_model": ("model", "d_model"), "layers": ("model", "n_layer"), "heads": ("model", "n_head"),
             "ff": ("model", "d_ff"), "dropout": ("model", "dropout"), "vocab_size": ("model", "vocab_size"),
             "max_tokens": ("train", "max_tokens"), "warmup": ("train", "warmup"), "lr_factor": ("train", "lr_factor"),
             "seed": ("train", "seed"), "limit": ("train", "limit")}
DEFAULT_OF = {"layers": "n_layer", "heads": "n_head", "ff": "d_ff", "seed": None, "limit": None}


_MISSING = object()  # a key an older run's config does not have


def settle_flags(cfg, saved: dict | None, which: tuple[str, ...], why: str) -> None:
    """Fill each unset flag of RUN_FLAGS; with a `saved` config, its value for the sections `which`.

    A flag given with another value than the saved one is refused by name: resuming a 128-wide
    model with --d-model 512 would otherwise be silently ignored. A fine-tuning run (--init-from)
    keeps its source's shape but may change --dropout."""
    for dest, (section, key) in RUN_FLAGS.items():
        given = getattr(cfg, dest)
        if saved is not None and section in which:
            have = saved.get(section, {}).get(key, _MISSING)
            if key == "vocab_size":  # the BPE may learn fewer pieces than asked: compare with what was asked
                have = saved.get("train", {}).get("vocab_size_asked", _MISSING)
            may_change = why == "--init-from" and dest == "dropout"
            if given is not None and have is not _MISSING and given != have and not may_change:
                flag = "--" + dest.replace("_", "-")
                if why == "--resume":
                    fix = f"drop {flag} (a resumed run keeps it), or start a new --out"
                else:
                    fix = f"drop {flag}: a fine-tuned model keeps the shape of --init-from"
                raise UserError(f"{cfg.out if why == '--resume' else cfg.init_from} was trained with "
                                f"{flag} {have}, not {given}; {fix}")
            if given is None:
                given = None if have is _MISSING else have
            setattr(cfg, dest, given)
        if getattr(cfg, dest) is None:
            default_key = DEFAULT_OF.get(dest, dest)
            if default_key:
                setattr(cfg, dest, DEFAULTS[default_key])
            elif dest == "seed":
                cfg.seed = 0


@dataclass
class TranslateConfig:
    """Every setting of a translation run (`nn2gpt translate train`'s flags). A model or schedule
    setting left None takes the recipe's value (DEFAULTS) in a fresh run, the saved one in a
    resumed run, and the source run's model shape with `init_from` (see settle_flags)."""

    pair: str  # de-en (Multi30k) | es-en (Tatoeba)
    out: str  # the run directory
    resume: bool = False
    overwrite: bool = False
    init_from: str | None = None  # fine-tune from this run's weights, tokenizer and shape
    epochs: int = 10
    max_seconds: float | None = None  # stop (and save) after this many seconds of this invocation
    d_model: int | None = None
    layers: int | None = None
    heads: int | None = None
    ff: int | None = None
    dropout: float | None = None
    vocab_size: int | None = None
    max_tokens: int | None = None
    warmup: int | None = None
    lr_factor: float | None = None
    limit: int | None = None  # only the first N pairs of each split
    coordinate: int | None = None  # joined pairs to add (augment.py)
    seed: int | None = None
    keep: int = 1  # checkpoints kept (for `translate average`)
    device: str = "auto"
    quiet: bool = False
    data_dir: str | None = None


def starting_point(cfg: TranslateConfig, run: Path):
    """(the checkpoint a resumed run continues, the checkpoint a fine-tuning run starts from): at most one."""
    from nn2gpt.checkpoint import has_checkpoint, load_checkpoint, refuse_kind, run_kind
    from nn2gpt.runout import checkpoint_to_resume

    if cfg.resume and cfg.init_from:
        raise UserError("--resume and --init-from exclude each other: --resume continues this run, "
                        "--init-from starts a new one from another run's weights")
    ck = checkpoint_to_resume(run, cfg.resume, cfg.overwrite, want="translate",
                              sources=[("--init-from", cfg.init_from)])
    start = None
    if cfg.init_from:
        if not has_checkpoint(cfg.init_from) and run_kind(cfg.init_from) is not None:
            refuse_kind(cfg.init_from, run_kind(cfg.init_from), "translate")
        if not has_checkpoint(cfg.init_from):
            raise UserError(f"--init-from {cfg.init_from} holds no trained model; point it to the run directory "
                            f"of a `nn2gpt translate train --pair {cfg.pair}` run")
        start = load_checkpoint(cfg.init_from)
        start_pair = start.config.get("train", {}).get("pair")
        if start.config.get("model", {}).get("model") != "transformer" or start_pair != cfg.pair:
            raise UserError(f"--init-from {cfg.init_from} is not a {cfg.pair} translation run; "
                            f"point it to a run of `nn2gpt translate train --pair {cfg.pair}`")
    if ck is not None:
        saved = ck.config["train"]
        if ck.optimizer is None:
            raise UserError(f"--resume: {run} holds no optimizer state (an averaged model?); "
                            f"fine-tune it with --init-from {run} --out NEW_RUN instead")
        if saved["pair"] != cfg.pair:
            raise UserError(f"--resume: {run} was trained on {saved['pair']}, not {cfg.pair}; "
                            f"drop --pair or pick another --out")
        if cfg.coordinate is not None and cfg.coordinate != saved.get("coordinate", 0):
            raise UserError(f"--resume: {run} was trained with --coordinate {saved.get('coordinate', 0)}; "
                            f"a resumed run keeps its training data (drop --coordinate, or fine-tune with --init-from)")
    return ck, start


def run_config(cfg: TranslateConfig, ck, start, splits: dict):
    """(the config every checkpoint of the run carries, the tokenizer): the saved ones on --resume, the
    source run's tokenizer and shape on --init-from, else a BPE learnt on the training pairs."""
    from nn2gpt.translate.bpe import train_bpe
    from nn2gpt.translate.spm import tokenizer_from_json

    if ck is not None:
        return ck.config, tokenizer_from_json(ck.tokenizer)
    if start is not None:  # fine-tuning: the source's tokenizer and shape, and the dropout asked for
        tok, model_cfg = tokenizer_from_json(start.tokenizer), dict(start.config["model"], dropout=cfg.dropout)
    else:
        tok = train_bpe((s for pair in splits["train"] for s in pair), cfg.vocab_size)
        model_cfg = {"model": "transformer", "vocab_size": tok.vocab_size, "d_model": cfg.d_model,
                     "n_layer": cfg.layers, "n_head": cfg.heads, "d_ff": cfg.ff, "dropout": cfg.dropout,
                     "max_len": DEFAULTS["max_len"], "norm": "pre", "pad_id": tok.pad_id,
                     "bos_id": tok.bos_id, "eos_id": tok.eos_id}
    config = {"model": model_cfg, "engine": "torch",
              "train": {"pair": cfg.pair, "max_tokens": cfg.max_tokens, "warmup": cfg.warmup,
                        "lr_factor": cfg.lr_factor, "label_smoothing": DEFAULTS["label_smoothing"],
                        "adam": [0.9, 0.98, 1e-9], "seed": cfg.seed, "limit": cfg.limit,
                        "coordinate": cfg.coordinate or 0, "vocab_size_asked": cfg.vocab_size}}
    if start is not None:
        config["train"]["init_from"] = {"run": str(cfg.init_from), "step": start.state["step"]}
    return config, tok


def pair_of(config) -> str | None:
    """The language pair ("es-en") a checkpoint's config was trained on; None if it does not say."""
    train = config.get("train") if isinstance(config, dict) else None
    pair = train.get("pair") if isinstance(train, dict) else None
    return pair if isinstance(pair, str) else None


def joined_pairs(tcfg: dict, train_pairs: list, pair: str) -> list:
    """The --coordinate augmentation (augment.py), after the BPE: the tokenizer learns from real sentences only."""
    if not tcfg.get("coordinate"):
        return []
    from nn2gpt.translate.augment import coordinated_pairs

    extra = coordinated_pairs(train_pairs, tcfg["coordinate"], pair.split("-")[0], tcfg["seed"])
    print(f"coordination augmentation: {len(extra):,} joined pairs, e.g. {extra[0][0]!r}" if extra else
          "coordination augmentation: no two training pairs share a subject; nothing added")
    return extra
