"""What a `gpt train` run is set to, for both engines: a recipe, the flags given, and on --resume
the run's own settings.

    TrainConfig(...)                  every setting of a torch run, with its default (NUMPY_DEFAULTS: numpy's)
    settings(args, names) -> (dict, note)   the values for the engine's config (its field names
                                      `names`), and on --resume the line that says what changed
    check_optimization(cfg)           settings that parse one by one but together train wrong

A fresh run takes its recipe's values (nn2gpt.gpt.recipes; --recipe, default classic), then
every flag given. A resumed run takes the settings saved in its checkpoint and continues the
same recipe: a flag that changes any of them (--lr, --text, --batch-size, --seed, --recipe, a
size...) is refused by name, as translate refuses it. Only the settings in SAFE_ON_RESUME may
change, those that say how long to go on, how often to look, and on what machine; the command
prints one line that says which changed once the run has trained. A model imported by `nn2gpt
gpt import`, never trained here, is the exception: its first --resume fine-tunes it and may set
every setting but the weights' shape and the tokenizer. No torch here: both engines' command lines use it.
"""

from __future__ import annotations

from dataclasses import dataclass

from nn2gpt.errors import UserError
from nn2gpt.gpt.recipes import DEFAULT_RECIPE, RECIPES, recipe, recipe_of

@dataclass
class TrainConfig:
    """Every setting of a run. The sizes and rates are the CPU recipe of BENCHMARKS.md
    (bench/gpt_train_bench.py); the settings left None take the values of `recipe`, from the
    one table of them (nn2gpt.gpt.recipes: classic = chapter 2's GPT, speedrun = chapter 6's)."""

    recipe: str = DEFAULT_RECIPE  # classic | speedrun
    # model (passed into ModelConfig; chapter 4's variants too)
    model: str = "gpt"  # bigram | attention | multihead | gpt
    n_layer: int = 2  # shallow, narrow and fast: the best val loss per CPU-second we measured
    n_head: int = 4
    n_embd: int = 64
    block_size: int = 64
    dropout: float = 0.0
    bias: bool = True
    pos: str | None = None  # recipe's: learned | rope (or any of chapter 4's)
    score: str = "scaled_dot"
    mask: str = "causal"
    window: int | None = None
    mlp: str | None = None  # recipe's: gelu | relu2
    qk_norm: bool | None = None  # recipe's
    zero_init: bool | None = None  # recipe's
    untie: bool | None = None  # recipe's
    softcap: float | None = None  # recipe's (None: no cap)
    flash: bool = True  # the fused attention kernel; False = chapter 2's written-out attention (same numbers)
    # data
    text: str | None = None  # a UTF-8 file; None = Tiny Shakespeare
    tokenizer: str = "char"  # char | gpt2 | bpe (chapter 0's, trained on the training split)
    vocab_size: int | None = None  # --tokenizer bpe: its vocabulary (None: nn2gpt.gpt.tokenizer.BPE_VOCAB)
    data_dir: str | None = None
    # optimization
    batch_size: int = 32  # sequences per micro-batch per process
    grad_accum: int = 1
    lr: float = 6e-3
    min_lr: float | None = None  # end of the cosine; None = lr / 10
    warmup: int = 50
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0  # 0 = off
    optimizer: str | None = None  # recipe's: adamw | muon (Muon for the blocks' matrices, AdamW for the rest)
    muon_lr: float = 0.02  # Muon's peak rate; the schedule scales it like lr
    schedule: str | None = None  # recipe's: cosine | wsd (nn2gpt.schedule)
    cooldown: float = 0.4  # wsd: the last fraction of the budget, decaying linearly to min_lr
    max_iters: int = 2000
    max_seconds: float | None = None  # a wall-clock budget (the schedule follows it)
    stop_at: int | None = None  # stop early at this step, keeping max_iters' schedule
    # evaluation and logging
    eval_interval: int = 250
    eval_batches: int = 50
    log_interval: int = 10
    eval_off_clock: bool = False  # the clock (max_seconds, the schedule) stops while evaluating and saving
    sample_tokens: int = 500  # written to samples.txt at the end
    # machine
    seed: int = 1337
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps (nn2gpt.devices)
    dtype: str = "auto"  # auto (bf16 on a CUDA GPU, fp32 on CPU and MPS) | float32 | bfloat16
    compile: bool | None = None  # None = on for a CUDA GPU, off for CPU and MPS
    threads: int | None = None  # torch threads on CPU; None = all cores, or fewer when others are busy
    peak_tflops: float | None = None  # device peak for MFU; None = built-in estimate
    # run directory
    out: str | None = None  # None = write no files
    resume: bool = False
    overwrite: bool = False  # start afresh in an `out` that already holds a checkpoint
    progress: bool = True

    def __post_init__(self):
        for key, value in recipe(self.recipe).items():  # a setting given explicitly wins
            if getattr(self, key) is None:
                setattr(self, key, value)


# the numpy engine's defaults where they differ from TrainConfig's (NumpyTrainConfig reads them): the baby
# GPT that chapter 5 benchmarks against torch
NUMPY_DEFAULTS = {"n_layer": 4, "n_embd": 128, "lr": 2e-3, "max_iters": 1000}


# settings a resumed run may change: its budget, how often it evaluates, logs and samples, and
# where and how fast it computes (not what)
SAFE_ON_RESUME = ("max_iters", "max_seconds", "eval_interval", "sample_tokens",
                  "device", "threads", "compile", "dtype", "peak_tflops", "data_dir", "flash")
ONCE = ("resume", "overwrite", "out", "stop_at", "progress")  # settings of one invocation, never saved as the run's
# settings read from the saved *model* config: the shape the weights have
SHAPE = ("model", "n_layer", "n_head", "n_embd", "block_size", "bias", "pos", "score", "mask", "window",
         "mlp", "qk_norm", "untie", "softcap")


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def saved_settings(out) -> tuple[dict, bool]:
    """(the settings a run in `out` was trained with, its checkpoint's copy of them; whether it
    is an imported model never trained here). A run saved before a setting existed trained with
    the classic recipe's value of it."""
    from nn2gpt.checkpoint import read_config, require_kind

    config = read_config(out)
    require_kind(out, config, "gpt")
    model = config.get("model", {})
    saved = RECIPES["classic"] | config.get("train", {}) | {k: v for k, v in model.items() if k in SHAPE}
    saved.setdefault("recipe", recipe_of(saved) or DEFAULT_RECIPE)
    return saved, "imported" in config


def settings(args, names) -> tuple[dict, str | None]:
    """(the engine config's values, the fields `names`, for the command line `args`; on --resume
    with a safe change, the line that says so, else None). See the module docstring."""
    given = {k: v for k, v in vars(args).items() if v is not None and (k in names or k == "recipe")}
    if not getattr(args, "resume", None):
        return {k: v for k, v in (recipe(given.get("recipe", DEFAULT_RECIPE)) | given).items() if k in names}, None
    out = getattr(args, "out", None)
    if not out:
        raise UserError("--resume needs --out RUN, the run directory to continue")
    saved, imported = saved_settings(out)
    # an imported model (nn2gpt gpt import) has no recipe of its own yet: its first run here is a
    # fine-tuning, free to choose everything but the weights' shape and the tokens
    free = [k for k in saved if k not in SHAPE and k != "tokenizer"] if imported else []
    asked = given if "recipe" not in given else recipe(given["recipe"]) | given  # a recipe: each of its values
    changed = []
    for key, value in asked.items():
        if key in ONCE or key == "recipe" or key not in saved or value == saved[key]:
            continue
        if key in SAFE_ON_RESUME or key in free:
            changed.append(f"{key} {value} (was {saved[key]})")
            continue
        how = _flag(key) if key in given else f"--recipe {given['recipe']}"
        raise UserError(f"{out} was trained with {key} {saved[key]}, not {value} ({how}); a resumed run continues "
                        f"its own recipe: drop {how}, or start a new --out (--resume may change only "
                        f"{', '.join(_flag(k) for k in SAFE_ON_RESUME[:5])} and the machine's settings)")
    note = f"resumed {out} with its own settings, except {', '.join(changed)}" if changed else None
    kept = {k: v for k, v in saved.items() if k not in ONCE}
    return {k: v for k, v in (kept | given).items() if k in names}, note


def check_optimization(cfg) -> None:
    """Settings that parse one by one but together would train silently wrong."""
    if cfg.min_lr is not None and cfg.min_lr > cfg.lr:
        raise UserError(f"--min-lr {cfg.min_lr:g} is above --lr {cfg.lr:g}: the cosine would climb; "
                        f"give a --min-lr between 0 and --lr")
    if cfg.lr * cfg.weight_decay >= 1:
        raise UserError(f"--weight-decay {cfg.weight_decay:g} times --lr {cfg.lr:g} is {cfg.lr * cfg.weight_decay:g}: "
                        f"each step would shrink the weights past zero; use a weight decay below {1 / cfg.lr:g}")
