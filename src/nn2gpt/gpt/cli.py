"""`nn2gpt gpt train | sample | attention | import`: chapter 2 from the command line.

Only argparse at import time (so `--help` is instant); torch is imported by the commands.
Flags default to None so that `train --resume` can tell "given" from "not given": a resumed
run keeps its saved settings and takes only the flags you pass again.
"""

from __future__ import annotations

import argparse
import shlex

from nn2gpt.cli import FRACTION, SEED, Number, Parser, Threads, positive
from nn2gpt.errors import UserError
from nn2gpt.gpt import MODELS
from nn2gpt.gpt.recipes import DEFAULT_RECIPE, RECIPE_SETTINGS, RECIPES, WHAT, per_recipe
from nn2gpt.gpt.runconfig import NUMPY_DEFAULTS, SAFE_ON_RESUME, TrainConfig, check_optimization, settings
from nn2gpt.gpt.sampling import stream_to_stdout


def _default(name: str) -> str:
    """'default 2; 4 with --engine numpy': a setting's default, read from where it is set (TrainConfig)."""
    def shown(v):
        return f"{v:g}" if isinstance(v, float) else str(v)
    numpy = f"; {shown(NUMPY_DEFAULTS[name])} with --engine numpy" if name in NUMPY_DEFAULTS else ""
    return f"default {shown(getattr(TrainConfig, name))}{numpy}"


# flag -> (type with its range, help). The defaults live in TrainConfig and the recipes' table
# (nn2gpt.gpt.recipes); every number is range-checked here, at parse time, NaN and inf included.
TRAIN_FLAGS = {
    "n-layer": (positive(int), f"transformer blocks ({_default('n_layer')})"),
    "n-head": (positive(int), f"attention heads per block ({_default('n_head')})"),
    "n-embd": (positive(int), f"embedding width C ({_default('n_embd')})"),
    "block-size": (positive(int), f"context length T ({_default('block_size')})"),
    "vocab-size": (Number(int, 257), "with --tokenizer bpe: the tokenizer's vocabulary, 256 bytes + the merges "
                                     "learnt from the training split (default 512)"),
    "batch-size": (positive(int), f"sequences per micro-batch per process ({_default('batch_size')})"),
    "dropout": (FRACTION, f"dropout rate, 0 <= p < 1 ({_default('dropout')})"),
    "lr": (positive(float), f"peak learning rate ({_default('lr')})"),
    "min-lr": (Number(float, 0), "final learning rate of the cosine, 0 <= min-lr <= lr (default lr/10)"),
    "max-iters": (positive(int), f"optimizer steps ({_default('max_iters')})"),
    "max-seconds": (positive(float), "stop after this many seconds of training; the cosine follows the budget"),
    "warmup": (Number(int, 0), f"linear warmup steps ({_default('warmup')}; 0 = none)"),
    "grad-clip": (Number(float, 0), f"clip the gradient norm to this (0 = off; {_default('grad_clip')})"),
    "grad-accum": (positive(int), f"micro-batches per optimizer step ({_default('grad_accum')})"),
    "weight-decay": (Number(float, 0), f"AdamW weight decay on matrices ({_default('weight_decay')}; 0 = none)"),
    "eval-interval": (positive(int), f"evaluate and checkpoint every N steps ({_default('eval_interval')})"),
    "eval-batches": (positive(int), f"fixed validation batches per evaluation ({_default('eval_batches')})"),
    "seed": (SEED, f"random seed, 0 to 2**32-1 ({_default('seed')})"),
    "threads": (Threads(), "CPU threads for torch, at most the cores there are (default: all cores, fewer when "
                           "the machine is busy)"),
    "peak-tflops": (positive(float), "device peak TFLOP/s for MFU (default: built-in estimate)"),
    "sample-tokens": (Number(int, 0), f"tokens written to samples.txt at the end ({_default('sample_tokens')}; "
                                      f"0 = no sample)"),
    "window": (positive(int), "sliding-window width for --mask window"),
    # chapter 6, the speedrun (docs/speedrun.md)
    "muon-lr": (positive(float), f"Muon's peak learning rate with --optimizer muon ({_default('muon_lr')})"),
    "softcap": (positive(float), f"cap the logits smoothly: C * tanh(logits / C) ({per_recipe('softcap')})"),
    "cooldown": (Number(float, 0, 1), f"--schedule wsd: the last fraction of the budget, decaying linearly, "
                                      f"0 <= f <= 1 ({_default('cooldown')})"),
}
# the recipes' settings (and chapter 6's switches): flag -> (choices or None for on/off, help);
# each help says its value under each recipe; --no-X turns an on/off switch off.
SPEEDRUN_FLAGS = {
    "optimizer": (("adamw", "muon"), f"adamw | muon: Muon for the blocks' matrices, AdamW for the rest "
                                     f"({per_recipe('optimizer')})"),
    "mlp": (("gelu", "relu2"), f"the MLP's activation: gelu | relu2, ReLU(x)^2 ({per_recipe('mlp')})"),
    "schedule": (("cosine", "wsd"), f"learning-rate schedule: cosine | wsd, warm-up-stable-decay "
                                    f"({per_recipe('schedule')})"),
    "qk-norm": (None, f"RMS-normalise q and k per head before the attention score ({per_recipe('qk_norm')})"),
    "zero-init": (None, f"start the blocks' output projections (and an untied head) at zero ({per_recipe('zero_init')})"),
    "untie": (None, f"give the gpt model a head of its own instead of the token embedding ({per_recipe('untie')})"),
}
RECIPE_HELP = ("; ".join(f"{n}{' (default)' if n == DEFAULT_RECIPE else ''}: {WHAT[n]}" for n in RECIPES)
               + ". A recipe sets " + ", ".join("--" + k.replace("_", "-") for k in RECIPE_SETTINGS)
               + "; any of them given as well overrides its value")
FLASH_HELP = ("attention through torch's fused kernel (default); --no-flash runs chapter 2's written-out "
              "softmax(q k^T / sqrt(hs) + mask) v instead: the same numbers, slower")
RESUME_HELP = ("continue the run in --out with its own settings; only "
               + ", ".join("--" + k.replace("_", "-") for k in SAFE_ON_RESUME) + " may change")


def _train_parser(p) -> None:
    p.add_argument("--model", choices=MODELS, help="which step of the road (default gpt)")
    p.add_argument("--tokenizer", choices=("char", "gpt2", "bpe"),
                   help="char: characters (default); gpt2: GPT-2's BPE; bpe: chapter 0's byte-level BPE, trained "
                        "on the training split to --vocab-size tokens")
    p.add_argument("--text", help="train on this UTF-8 file (default: Tiny Shakespeare)")
    p.add_argument("--data-dir", help="where the datasets are (default $NN2GPT_DATA, ~/.cache/nn2gpt)")
    p.add_argument("--out", help="run directory for config, metrics, loss.png, checkpoints, samples")
    p.add_argument("--recipe", choices=tuple(RECIPES), help=RECIPE_HELP)
    either = p.add_mutually_exclusive_group()  # continue the run in --out, or replace it: never both
    either.add_argument("--resume", action="store_true", default=None, help=RESUME_HELP)
    either.add_argument("--overwrite", action="store_true", default=None, help="replace the model already in --out")
    for flag, (typ, help_) in TRAIN_FLAGS.items():
        p.add_argument(f"--{flag}", type=typ, help=help_)
    for flag, (choices, help_) in SPEEDRUN_FLAGS.items():
        if choices:
            p.add_argument(f"--{flag}", choices=choices, help=help_)
        else:
            p.add_argument(f"--{flag}", action=argparse.BooleanOptionalAction, default=None, help=help_)
    p.add_argument("--flash", action=argparse.BooleanOptionalAction, default=None, help=FLASH_HELP)
    p.add_argument("--device", help="auto (default: a CUDA GPU, else the Apple GPU, mps, else the CPU), cpu, cuda, "
                                    "cuda:N, mps")
    p.add_argument("--compile", action=_BoolFlag, nargs=0,
                   help="torch.compile the model (default: on a CUDA GPU only)")
    p.add_argument("--no-compile", dest="compile", action=_BoolFlag, nargs=0, help="never torch.compile")
    p.add_argument("--dtype", choices=("auto", "float32", "bfloat16"),
                   help="auto: bf16 autocast on a CUDA GPU, fp32 on CPU and mps")
    p.add_argument("--score", help="attention score function (chapter 4; default scaled_dot)")
    p.add_argument("--mask", help="causal (default) | anticausal | none | window")
    p.add_argument("--pos", help=f"positions: learned | rope | sinusoidal | sinusoidal_scaled | alibi | none "
                                 f"({per_recipe('pos')})")
    p.add_argument("--engine", choices=("torch", "numpy"), default="torch", help="torch (default) or the numpy GPT")
    p.add_argument("--trace", action="store_true", help="print every tensor's name and shape in one forward pass, then exit")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


class _BoolFlag(argparse.Action):
    """--compile sets True, --no-compile sets False; absent stays None (= automatic)."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, not option_string.startswith("--no-"))


def _build_parser():
    parser = Parser(prog="nn2gpt gpt", description="Chapter 2: from a bigram model to GPT, in PyTorch.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    _train_parser(sub.add_parser("train", help="train a model on a text"))
    s = sub.add_parser("sample", help="write text with a trained model, streaming it")
    s.add_argument("--model", dest="run", required=True, help="the run directory of a trained model")
    s.add_argument("--prompt", default="", help="text to continue (default: start from a newline)")
    s.add_argument("--max-new-tokens", type=Number(int, 0), default=500, help="tokens to write (default 500; 0 = none)")
    s.add_argument("--temperature", type=Number(float, 0), default=1.0, help="0 = greedy; <1 safer, >1 wilder")
    s.add_argument("--top-k", type=positive(int), help="sample among the k most likely tokens")
    s.add_argument("--top-p", type=Number(float, 0, 1, strict=True),
                   help="sample among the most likely tokens holding this much probability (0 < p <= 1)")
    s.add_argument("--seed", type=SEED, help="for a reproducible sample (0 to 2**32-1)")
    s.add_argument("--no-cache", action="store_true", help="recompute the whole context every token (slow)")
    s.add_argument("--device", default="cpu", help="cpu (default), auto, cuda, cuda:N, mps")
    s.add_argument("--data-dir")
    s.add_argument("--engine", choices=("torch", "numpy"), default="torch")
    a = sub.add_parser("attention", help="save per-layer, per-head attention heatmaps of a text (PNG)")
    a.add_argument("text", help="the text to look at (a few dozen characters read best)")
    a.add_argument("--model", dest="run", required=True, help="the run directory of a trained model")
    a.add_argument("--out", help="PNG file (default: RUN/attention.png)")
    a.add_argument("--overwrite", action="store_true", help="replace the PNG if it exists")
    a.add_argument("--query", metavar="WORD", help="with --key: print the heads that send WORD's token to --key's, "
                                                  "strongest first, instead of drawing (e.g. --query it --key pizza)")
    a.add_argument("--key", metavar="WORD", help="the earlier word that --query's token may look at")
    a.add_argument("--top", type=positive(int), default=10, help="with --query/--key: how many heads (default 10)")
    a.add_argument("--data-dir")
    i = sub.add_parser("import", help="GPT-2's weights (gpt2 .. gpt2-xl, safetensors only) into chapter 2's GPT")
    i.add_argument("name", nargs="?", help="gpt2, gpt2-medium, gpt2-large, gpt2-xl, or a Hub repository of a GPT-2")
    i.add_argument("--from", dest="from_dir", metavar="FOLDER",
                   help="read a folder copied by hand instead (config.json and model.safetensors)")
    i.add_argument("--out", required=True, help="run directory to write")
    i.add_argument("--overwrite", action="store_true", help="replace the model already in --out")
    i.add_argument("--data-dir", help="where GPT-2's tokenizer files are (default $NN2GPT_DATA, ~/.cache/nn2gpt)")
    e = sub.add_parser("export", help="a trained GPT as a Hugging Face GPT-2 folder transformers loads")
    e.add_argument("run", help="the run directory of a chapter-2 GPT (learned positions, tied or untied head)")
    e.add_argument("--out", required=True, help="the folder to write: new or empty, or an export to replace")
    e.add_argument("--overwrite", action="store_true", help="replace the export already in --out")
    e.add_argument("--data-dir", help="where GPT-2's tokenizer files are (default $NN2GPT_DATA, ~/.cache/nn2gpt)")
    return parser


def parsers() -> dict:
    """Each subcommand's parser by name (for the tests that walk every flag of every command)."""
    from nn2gpt.cli import subcommands

    return subcommands(_build_parser())


def train_config_from_args(args):
    """TrainConfig from the recipe (or the resumed run's checkpoint) plus the flags given (nn2gpt.gpt.runconfig)."""
    from dataclasses import fields

    merged, args.resume_note = settings(args, {f.name for f in fields(TrainConfig)})
    for flag in ("untie", "zero_init"):  # pieces of the gpt model (its head, its residual blocks)
        if getattr(args, flag, None) and merged.get("model", "gpt") != "gpt":
            raise UserError(f"--{flag.replace('_', '-')} is an option of the gpt model, not of --model "
                            f"{merged['model']}; drop it")
    merged["progress"] = not args.quiet
    cfg = TrainConfig(**merged)
    check_optimization(cfg)
    return cfg


def _numpy_engine():
    try:
        from nn2gpt.numpy_gpt import cli_entry
    except ImportError:
        raise UserError("the numpy engine is not available in this installation; use --engine torch") from None
    return cli_entry


def cmd_train(args) -> int:
    if args.engine == "numpy":
        return int(_numpy_engine().train(args) or 0)
    cfg = train_config_from_args(args)
    if args.trace:
        return _trace(cfg)
    from nn2gpt.gpt.finished import report
    from nn2gpt.gpt.train import train

    result = train(cfg)
    return report(result, result.run_dir, cfg.text, resume_note=args.resume_note)


def _trace(cfg) -> int:
    """Build the model as configured and print the shapes of one forward pass on real text."""
    import torch

    from nn2gpt.data.text import read_text
    from nn2gpt.gpt.setup import model_config
    from nn2gpt.gpt.variants import build_model
    from nn2gpt.gpt.trace import trace_forward
    from nn2gpt.gpt.tokenizer import make_tokenizer

    text = read_text(cfg.text, cfg.data_dir)
    tok = make_tokenizer(cfg.tokenizer, text, cfg.data_dir, cfg.vocab_size if cfg.tokenizer == "bpe" else None)
    model = build_model(model_config(cfg, tok.vocab_size))
    T = min(cfg.block_size, 8)
    idx = torch.tensor([tok.encode(text[:200])[:T], tok.encode(text[200:400])[:T]])  # (B=2, T)
    print(f"one forward pass of the {cfg.model} model on B=2 sequences of T={T} tokens:")
    trace_forward(model, idx)
    return 0


def cmd_sample(args) -> int:
    if args.engine == "numpy":
        args.model = args.run
        return int(_numpy_engine().sample(args) or 0)
    from nn2gpt.checkpoint import latest_checkpoint_dir

    latest_checkpoint_dir(args.run)  # a missing run fails fast, before torch is imported
    from nn2gpt.devices import pick_device
    from nn2gpt.gpt.runs import load_model
    from nn2gpt.gpt.sample import stream_text

    model, tok, _ = load_model(args.run, pick_device(args.device), args.data_dir)
    pieces = stream_text(model, tok, args.prompt, args.max_new_tokens, temperature=args.temperature,
                         top_k=args.top_k, top_p=args.top_p, seed=args.seed, use_cache=not args.no_cache)
    return stream_to_stdout(args.prompt, pieces)


def cmd_attention(args) -> int:
    from pathlib import Path

    from nn2gpt.gpt.heatmaps import attention_heatmaps, heads_from_to
    from nn2gpt.outputs import writing

    if (args.query is None) != (args.key is None):
        raise UserError("--query and --key go together: the word that looks, and the earlier word it may look at")
    if args.query is not None:
        rows = heads_from_to(args.run, args.text, args.query, args.key, args.data_dir)
        print(f"attention from {args.query!r} to {args.key!r}, strongest first (layer and head count from 0):")
        for layer, head, w in rows[:args.top]:
            print(f"  layer {layer:2d} head {head:2d}  {w:.3f}")
        return 0
    out = Path(args.out) if args.out else Path(args.run) / "attention.png"
    with writing(out, owner="gpt", overwrite=args.overwrite):  # never over a run's own files
        attention_heatmaps(args.run, args.text, out, args.data_dir)
    print(f"wrote {out}")
    return 0


def cmd_import(args) -> int:
    if (args.name is None) == (args.from_dir is None):
        raise UserError("give a model name (gpt2, gpt2-medium, gpt2-large, gpt2-xl) or --from FOLDER, one of the two")
    from nn2gpt.gpt.pretrained import import_gpt2

    out = import_gpt2(args.name, args.out, args.from_dir, args.overwrite, args.data_dir)
    print(f"imported {args.name or args.from_dir} into {out}; sample it: nn2gpt gpt sample --model "
          f"{shlex.quote(str(out))} --prompt {shlex.quote('The pizza came out of the oven and')}")
    return 0


def cmd_export(args) -> int:
    from nn2gpt.gpt.export import export_gpt

    out = export_gpt(args.run, args.out, args.overwrite, args.data_dir)
    print(f"exported {args.run} to {out}; load it with "
          f"transformers.GPT2LMHeadModel.from_pretrained({str(out)!r})")
    return 0


def main(argv: list[str]) -> int:
    args = _build_parser().parse_args(argv)
    return {"train": cmd_train, "sample": cmd_sample, "attention": cmd_attention, "import": cmd_import,
            "export": cmd_export}[args.command](args)
