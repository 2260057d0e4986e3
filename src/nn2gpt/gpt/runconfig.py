"""What a `gpt train` run is set to, for both engines: a recipe, the flags given, and on --resume
the run's own settings.

    TrainConfig(...)                  every setting, declared once (`setting`): its default, flag, help,
                                      the numpy engine's default, what --resume may do with it; the
                                      flags, NumpyTrainConfig and SAFE_ON_RESUME are derived from it
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

from dataclasses import dataclass, field, fields

from nn2gpt.errors import UserError
from nn2gpt.flags import FRACTION, SEED, Number, Threads, positive
from nn2gpt.gpt import MODELS
from nn2gpt.gpt.recipes import DEFAULT_RECIPE, RECIPES, SIZES, recipe, recipe_of

RECIPE = "recipe's"  # a setting's default is the recipe's value (nn2gpt.gpt.recipes)
NOT_NUMPY = "not numpy's"  # a setting the numpy engine does not have


def setting(default, flag=None, help: str = "", *, numpy=None, resume: str = "fixed", torch_only: bool = False):
    """One setting of a run, declared once: its default, its flag, its help, the numpy engine's
    default, and what --resume may do with it. Everything else is derived from these.

    flag:    how `--the-name` parses: an argparse type with its range (nn2gpt.flags), a tuple of
             choices, "switch" for --x / --no-x, or None for a setting with no flag of this kind
             (set by the command itself: --resume, --compile, the progress bar ...)
    help:    the flag's help; "{default}" is filled with the default (and the numpy engine's,
             where it differs), "{recipes}" with the value under each recipe
    numpy:   the numpy engine's default where it differs (chapter 5 benchmarks a 4 x 128 baby GPT)
    resume:  "fixed" (a resumed run keeps its own value), "safe" (--resume may change it: how long
             to go on, how often to look, and on what machine), "once" (one invocation's, never
             saved as the run's)
    torch_only: the numpy engine has no such setting (it refuses the flag in its own words)"""
    return field(default=default, metadata={"flag": flag, "help": help, "numpy": numpy, "resume": resume,
                                            "torch_only": torch_only})


@dataclass
class TrainConfig:
    """Every setting of a run. The sizes and rates are the CPU recipe of BENCHMARKS.md
    (bench/gpt_train_bench.py); the settings left None take the values of `recipe`, from the
    one table of them (nn2gpt.gpt.recipes: classic = chapter 2's GPT, speedrun = chapter 6's)."""

    recipe: str = setting(DEFAULT_RECIPE)  # classic | speedrun (its flag: gpt/cli.py, with the recipes' help)
    # model (passed into ModelConfig; chapter 4's variants too)
    model: str = setting("gpt", MODELS, "which step of the road (default gpt)", torch_only=True)
    # the sizes: each engine's one default, nn2gpt.gpt.recipes.SIZES
    n_layer: int = setting(SIZES["torch"]["n_layer"], positive(int), "transformer blocks ({default})",
                           numpy=SIZES["numpy"]["n_layer"])
    n_head: int = setting(SIZES["torch"]["n_head"], positive(int), "attention heads per block ({default})",
                          numpy=SIZES["numpy"]["n_head"])
    n_embd: int = setting(SIZES["torch"]["n_embd"], positive(int), "embedding width C ({default})",
                          numpy=SIZES["numpy"]["n_embd"])
    block_size: int = setting(SIZES["torch"]["block_size"], positive(int), "context length T ({default})",
                              numpy=SIZES["numpy"]["block_size"])
    dropout: float = setting(0.0, FRACTION, "dropout rate, 0 <= p < 1 ({default})")
    bias: bool = setting(True)
    pos: str | None = setting(None, str, "positions: learned | rope | sinusoidal | sinusoidal_scaled | alibi | none "
                                         "({recipes})", numpy=RECIPE)
    score: str = setting("scaled_dot", str, "attention score function (chapter 4; default scaled_dot)",
                         torch_only=True)
    mask: str = setting("causal", str, "causal (default) | anticausal | none | window", torch_only=True)
    window: int | None = setting(None, positive(int), "sliding-window width for --mask window", torch_only=True)
    mlp: str | None = setting(None, ("gelu", "relu2"), "the MLP's activation: gelu | relu2, ReLU(x)^2 ({recipes})",
                              torch_only=True)
    qk_norm: bool | None = setting(None, "switch", "RMS-normalise q and k per head before the attention score "
                                                   "({recipes})", torch_only=True)
    zero_init: bool | None = setting(None, "switch", "start the blocks' output projections (and an untied head) at "
                                                     "zero ({recipes})", numpy=RECIPE)
    untie: bool | None = setting(None, "switch", "give the gpt model a head of its own instead of the token "
                                                 "embedding ({recipes})", numpy=RECIPE)
    softcap: float | None = setting(None, positive(float), "cap the logits smoothly: C * tanh(logits / C) "
                                                           "({recipes})", torch_only=True)
    # data
    text: str | None = setting(None, str, "train on this UTF-8 file (default: Tiny Shakespeare)")
    tokenizer: str = setting("char", ("char", "gpt2", "bpe"),
                             "char: characters (default); gpt2: GPT-2's BPE; bpe: chapter 0's byte-level BPE, "
                             "trained on the training split to --vocab-size tokens")
    vocab_size: int | None = setting(None, Number(int, 257),  # None: nn2gpt.gpt.tokenizer.BPE_VOCAB
                                     "with --tokenizer bpe: the tokenizer's vocabulary, 256 bytes + the merges "
                                     "learnt from the training split (default 512)")
    # optimization
    batch_size: int = setting(32, positive(int), "sequences per micro-batch per process ({default})")
    grad_accum: int = setting(1, positive(int), "micro-batches per optimizer step ({default})")
    lr: float = setting(6e-3, positive(float), "peak learning rate ({default})", numpy=2e-3)
    min_lr: float | None = setting(None, Number(float, 0), "final learning rate of the cosine, 0 <= min-lr <= lr "
                                                           "(default lr/10)")
    warmup: int = setting(50, Number(int, 0), "linear warmup steps ({default}; 0 = none)")
    weight_decay: float = setting(0.1, Number(float, 0), "AdamW weight decay on matrices ({default}; 0 = none)")
    beta1: float = setting(0.9)
    beta2: float = setting(0.99)
    grad_clip: float = setting(1.0, Number(float, 0), "clip the gradient norm to this (0 = off; {default})")
    optimizer: str | None = setting(None, ("adamw", "muon"), "adamw | muon: Muon for the blocks' matrices, AdamW "
                                                             "for the rest ({recipes})", torch_only=True)
    muon_lr: float = setting(0.02, positive(float), "Muon's peak learning rate with --optimizer muon ({default})",
                             torch_only=True)  # the schedule scales it like lr
    schedule: str | None = setting(None, ("cosine", "wsd"), "learning-rate schedule: cosine | wsd, "
                                                            "warm-up-stable-decay ({recipes})", torch_only=True)
    cooldown: float = setting(0.4, Number(float, 0, 1), "--schedule wsd: the last fraction of the budget, decaying "
                                                        "linearly, 0 <= f <= 1 ({default})", torch_only=True)
    max_iters: int = setting(2000, positive(int), "optimizer steps ({default})", numpy=1000, resume="safe")
    max_seconds: float | None = setting(None, positive(float), "stop after this many seconds of training; the "
                                                               "cosine follows the budget", resume="safe")
    stop_at: int | None = setting(None, resume="once")  # stop early at this step, keeping max_iters' schedule
    # evaluation and logging
    eval_interval: int = setting(250, positive(int), "evaluate and checkpoint every N steps ({default})",
                                 resume="safe")
    eval_batches: int = setting(50, positive(int), "fixed validation batches per evaluation ({default})")
    log_interval: int = setting(10)
    eval_off_clock: bool = setting(False, torch_only=True)  # the clock stops while evaluating and saving
    sample_tokens: int = setting(500, Number(int, 0), "tokens written to samples.txt at the end ({default}; "
                                                      "0 = no sample)", resume="safe")
    # machine: where and how fast it computes, not what
    seed: int = setting(1337, SEED, "random seed, 0 to 2**32-1 ({default})")
    device: str = setting("auto", str, "auto (default: a CUDA GPU, else the Apple GPU, mps, else the CPU), cpu, "
                                       "cuda, cuda:N, mps", resume="safe", torch_only=True)
    threads: int | None = setting(None, Threads(), "CPU threads for torch, at most the cores there are (default: "
                                                   "all cores, fewer when the machine is busy)", resume="safe",
                                  torch_only=True)
    compile: bool | None = setting(None, resume="safe", torch_only=True)  # None = on for a CUDA GPU (--compile)
    dtype: str = setting("auto", ("auto", "float32", "bfloat16"), "auto: bf16 autocast on a CUDA GPU, fp32 on CPU "
                                                                  "and mps", resume="safe", torch_only=True)
    peak_tflops: float | None = setting(None, positive(float), "device peak TFLOP/s for MFU (default: built-in "
                                                               "estimate)", resume="safe", torch_only=True)
    data_dir: str | None = setting(None, str, "where the datasets are (default $NN2GPT_DATA, ~/.cache/nn2gpt)",
                                   resume="safe")
    flash: bool = setting(True, "switch", "attention through torch's fused kernel (default); --no-flash runs "
                                          "chapter 2's written-out softmax(q k^T / sqrt(hs) + mask) v instead: "
                                          "the same numbers, slower", resume="safe", torch_only=True)
    # run directory
    out: str | None = setting(None, str, "run directory for config, metrics, loss.png, checkpoints, samples",
                              resume="once")  # None = write no files
    resume: bool = setting(False, resume="once")
    overwrite: bool = setting(False, resume="once")  # start afresh in an `out` that already holds a checkpoint
    progress: bool = setting(True, resume="once", torch_only=True)

    def __post_init__(self):
        for key, value in recipe(self.recipe).items():  # a setting given explicitly wins
            if getattr(self, key) is None:
                setattr(self, key, value)


SETTINGS = {f.name: f for f in fields(TrainConfig)}
# the numpy engine's defaults where they differ from TrainConfig's (the baby GPT chapter 5 benchmarks)
NUMPY_DEFAULTS = {n: f.metadata["numpy"] for n, f in SETTINGS.items()
                  if f.metadata["numpy"] not in (None, RECIPE, f.default)}
# settings a resumed run may change: its budget, how often it evaluates, logs and samples, and
# where and how fast it computes (not what)
SAFE_ON_RESUME = tuple(n for n, f in SETTINGS.items() if f.metadata["resume"] == "safe")
ONCE = tuple(n for n, f in SETTINGS.items() if f.metadata["resume"] == "once")  # never saved as the run's
# settings read from the saved *model* config: the shape the weights have
SHAPE = ("model", "n_layer", "n_head", "n_embd", "block_size", "bias", "pos", "score", "mask", "window",
         "mlp", "qk_norm", "untie", "softcap")


def numpy_fields() -> list[tuple[str, str, object]]:
    """(name, type, default) of each setting the numpy engine has, its default the engine's own:
    the numpy engine's config (nn2gpt.numpy_gpt.train.NumpyTrainConfig) is made of these."""
    out = []
    for name, f in SETTINGS.items():
        if f.metadata["torch_only"]:
            continue
        default = f.metadata["numpy"]
        default = RECIPES[DEFAULT_RECIPE][name] if default == RECIPE else f.default if default is None else default
        out.append((name, f.type, field(default=default)))
    return out


def help_text(name: str) -> str:
    """The help of setting `name`'s flag, its defaults filled in (see `setting`)."""
    from nn2gpt.gpt.recipes import per_recipe

    def shown(v):
        return f"{v:g}" if isinstance(v, float) else str(v)
    f = SETTINGS[name]
    numpy = f"; {shown(NUMPY_DEFAULTS[name])} with --engine numpy" if name in NUMPY_DEFAULTS else ""
    default = f"default {shown(f.default)}{numpy}"
    return f.metadata["help"].replace("{default}", default).replace("{recipes}", per_recipe(name) if
                                                                    name in RECIPES[DEFAULT_RECIPE] else "")


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
