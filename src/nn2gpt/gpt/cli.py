"""`nn2gpt gpt train | sample | attention | import`: chapter 2 from the command line.

Only argparse at import time (so `--help` is instant); torch is imported by the commands.
Flags default to None so that `train --resume` can tell "given" from "not given": a resumed
run keeps its saved settings and takes only the flags you pass again.
"""

from __future__ import annotations

import argparse
import shlex

from nn2gpt.cli import SEED, Number, Parser, positive
from nn2gpt.errors import UserError
from nn2gpt.gpt.recipes import DEFAULT_RECIPE, RECIPE_SETTINGS, RECIPES, WHAT
from nn2gpt.gpt.runconfig import SAFE_ON_RESUME, SETTINGS, TrainConfig, check_optimization, help_text, settings
from nn2gpt.gpt.sampling import stream_to_stdout


RECIPE_HELP = ("; ".join(f"{n}{' (default)' if n == DEFAULT_RECIPE else ''}: {WHAT[n]}" for n in RECIPES)
               + ". A recipe sets " + ", ".join("--" + k.replace("_", "-") for k in RECIPE_SETTINGS)
               + "; any of them given as well overrides its value")
RESUME_HELP = ("continue the run in --out with its own settings; only "
               + ", ".join("--" + k.replace("_", "-") for k in SAFE_ON_RESUME) + " may change")


def _train_parser(p) -> None:
    """`gpt train`'s flags: one for each setting that has one, made from its declaration
    (nn2gpt.gpt.runconfig.TrainConfig: type and range, choices or an on/off switch, help), and
    the few that belong to the command: --recipe, --resume / --overwrite, --compile, --engine,
    --trace, --quiet. Every number is range-checked at parse time, NaN and inf included."""
    p.add_argument("--recipe", choices=tuple(RECIPES), help=RECIPE_HELP)
    either = p.add_mutually_exclusive_group()  # continue the run in --out, or replace it: never both
    either.add_argument("--resume", action="store_true", default=None, help=RESUME_HELP)
    either.add_argument("--overwrite", action="store_true", default=None, help="replace the model already in --out")
    for name, f in SETTINGS.items():
        kind, flag, text = f.metadata["flag"], "--" + name.replace("_", "-"), help_text(name)
        if kind is None:
            continue
        if kind == "switch":  # --x / --no-x; absent stays None, "not given"
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=text)
        elif isinstance(kind, tuple):
            p.add_argument(flag, choices=kind, help=text)
        else:
            p.add_argument(flag, type=None if kind is str else kind, help=text)
    p.add_argument("--compile", action=_BoolFlag, nargs=0,
                   help="torch.compile the model (default: on a CUDA GPU only)")
    p.add_argument("--no-compile", dest="compile", action=_BoolFlag, nargs=0, help="never torch.compile")
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


def cmd_train(args, **seams) -> int:
    """`gpt train`; `seams` go to the engine's train() as they are (the workbook's milestones)."""
    if args.engine == "numpy":
        return int(_numpy_engine().train(args, **seams) or 0)
    cfg = train_config_from_args(args)
    if args.trace:
        return _trace(cfg)
    from nn2gpt.gpt.finished import report
    from nn2gpt.gpt.train import train

    result = train(cfg, **seams)
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


def main(argv: list[str], **seams) -> int:
    """`nn2gpt gpt ...`; `seams` (train only) are nn2gpt.gpt.train.train's keyword arguments."""
    args = _build_parser().parse_args(argv)
    if seams:
        return cmd_train(args, **seams) if args.command == "train" else 2
    return {"train": cmd_train, "sample": cmd_sample, "attention": cmd_attention, "import": cmd_import,
            "export": cmd_export}[args.command](args)
