"""`nn2gpt translate`: train, evaluate, translate, and draw attention.

    nn2gpt translate train --pair es-en --out runs/es-en [--resume] [--epochs N] [--max-seconds S] ...
    nn2gpt translate eval --model runs/es-en [--split test] [--beam 4]
    nn2gpt translate average runs/es-en/ckpt-* --out runs/es-en-avg
    nn2gpt translate attention "La pizza salió del horno y sabía bien." --model runs/es-en [--out DIR]
    nn2gpt translate "La pizza salió del horno y sabía bien." --model runs/es-en [--beam 4] [--lm GPT_RUN]
    nn2gpt translate --model runs/es-en < sentences.txt > translations.txt   # or --input FILE(.gz)
    nn2gpt translate target-text --pair es-en --out en.txt   # then: nn2gpt gpt train --text en.txt ...
    nn2gpt translate import Helsinki-NLP/opus-mt-es-en --out runs/opus-es-en [--from FOLDER]

The sentence form has no subcommand: a first argument that is not one of `train`, `eval`,
`average`, `attention`, `target-text`, `import` is the sentence to translate. (To translate the word "train" itself, put `--`
first: `nn2gpt translate -- train --model RUN`.) numpy and torch are imported only inside
functions, so `--help` is instant.
"""

from __future__ import annotations

import sys

from nn2gpt.cli import FRACTION, SEED, Number, Parser, Threads, positive
from nn2gpt.errors import UserError

SUBCOMMANDS = ("train", "eval", "average", "attention", "target-text", "import")
LM_WEIGHT = 0.025  # --lm-weight's default: chosen on es-en val (BENCHMARKS.md, chapter 3, reranking)
USAGE = """usage: nn2gpt translate {train,eval,average,attention,target-text,import} ... | nn2gpt translate SENTENCE --model RUN

The encoder-decoder Transformer of "Attention Is All You Need" (chapter 3).

commands:
  train       train a model: --pair de-en (Multi30k) or es-en (Tatoeba)
  eval        sacreBLEU, loss and perplexity of a trained model on a split or on --src/--ref files
  average     one model from the mean weights of several checkpoints of a run
  attention   PNG heatmaps of encoder self-attention and decoder cross-attention
  target-text the training split's target sentences, to train a language model for --lm
  import      a real opus-mt (Marian) model into this chapter's Transformer (docs/pretrained.md)
  SENTENCE    translate one sentence (any first argument that is not a command)
  (none)      translate stdin or --input FILE line for line: nn2gpt translate --model RUN < in.txt

Run `nn2gpt translate <command> --help` for the options of each."""


def _decoding_flags(p: Parser) -> None:
    p.add_argument("--beam", type=positive(int), default=4, help="beam size; 1 = greedy (default 4)")
    p.add_argument("--alpha", type=Number(float, 0, 10), default=0.6,
                   help="length penalty exponent, 0 to 10 (default 0.6; 0 = none)")
    p.add_argument("--threads", type=Threads(), default=None,
                   help="torch CPU threads, at most the cores there are (default: torch's)")


def _lm_flags(p: Parser) -> None:
    p.add_argument("--lm", default=None, metavar="GPT_RUN",
                   help="rerank the beam with this character-level target-language model (a run of "
                        "`nn2gpt gpt train`; see `nn2gpt translate target-text` and translate/rerank.py)")
    p.add_argument("--lm-weight", type=Number(float, 0), default=None,
                   help=f"weight of the language model's log-probability (default {LM_WEIGHT}, chosen on es-en val; "
                        f"0 = plain beam search)")


def _reranker(args):
    """The Reranker asked for by --lm/--lm-weight, or None."""
    if args.lm is None:
        if args.lm_weight is not None:
            raise UserError("--lm-weight needs --lm GPT_RUN, the language model whose score it weighs")
        return None
    if args.beam < 2:
        raise UserError("--lm reranks the beam's hypotheses, and --beam 1 leaves one; give --beam 2 or more")
    from nn2gpt.translate.rerank import Reranker, TargetLM

    return Reranker(TargetLM(args.lm), LM_WEIGHT if args.lm_weight is None else args.lm_weight)


def _train_parser() -> Parser:
    from nn2gpt.translate.runconfig import DEFAULTS

    p = Parser(prog="nn2gpt translate train", description="Train a translation Transformer.")
    p.add_argument("--pair", required=True, help="language pair: de-en (Multi30k) or es-en (Tatoeba)")
    p.add_argument("--out", default=None, help="run directory (default runs/translate-PAIR)")
    either = p.add_mutually_exclusive_group()  # continue the run in --out, or replace it: never both
    either.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    either.add_argument("--overwrite", action="store_true", help="replace the model already in --out")
    p.add_argument("--init-from", default=None, metavar="RUN",
                   help="fine-tune: start a new run from RUN's weights, tokenizer and model shape (fresh Adam; "
                        "a shape or --dropout flag must then match RUN's, as on --resume)")
    p.add_argument("--epochs", type=positive(int), default=10, help="epochs to train in total (default 10)")
    p.add_argument("--max-seconds", type=positive(float), default=None,
                   help="stop (and save) after this many seconds of training in this invocation")
    # Unset flags are None: a fresh run takes the DEFAULTS of translate/runconfig.py, a resumed run its saved values
    # (and refuses another value, by name).
    p.add_argument("--d-model", type=positive(int), help=f"model width (default {DEFAULTS['d_model']})")
    p.add_argument("--layers", type=positive(int), help=f"encoder and decoder layers each (default {DEFAULTS['n_layer']})")
    p.add_argument("--heads", type=positive(int), help=f"attention heads (default {DEFAULTS['n_head']})")
    p.add_argument("--ff", type=positive(int), help=f"feed-forward hidden size (default {DEFAULTS['d_ff']})")
    p.add_argument("--dropout", type=FRACTION, help=f"dropout rate, 0 <= p < 1 (default {DEFAULTS['dropout']})")
    p.add_argument("--vocab-size", type=positive(int), help=f"shared BPE vocabulary (default {DEFAULTS['vocab_size']})")
    p.add_argument("--max-tokens", type=positive(int), help=f"padded tokens per batch (default {DEFAULTS['max_tokens']})")
    p.add_argument("--warmup", type=positive(int), help=f"warm-up steps of the schedule (default {DEFAULTS['warmup']})")
    p.add_argument("--lr-factor", type=positive(float),
                   help=f"multiplies the paper's learning-rate schedule (default {DEFAULTS['lr_factor']})")
    p.add_argument("--limit", type=positive(int), default=None, help="use only the first N pairs of each split")
    p.add_argument("--coordinate", type=Number(int, 0), default=None, metavar="N",
                   help="add N training pairs joined from two with the same subject, "
                        "'X did A and did B' (see translate/augment.py; default 0 = none)")
    p.add_argument("--seed", type=SEED, help="random seed, 0 to 2**32-1 (default 0)")
    p.add_argument("--keep", type=positive(int), default=1, metavar="N",
                   help="keep the newest N checkpoints (each epoch end is then saved; also every 5 minutes), "
                        "for `translate average` (default 1)")
    p.add_argument("--threads", type=Threads(), default=None,
                   help="torch CPU threads, at most the cores there are (default: torch's)")
    p.add_argument("--device", default="auto",
                   help="auto (default: a CUDA GPU, else the Apple GPU, mps, else the CPU), cpu, cuda, cuda:N, mps")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--data-dir", default=None, help="where the datasets are (default: $NN2GPT_DATA, cache)")
    return p


def _eval_parser() -> Parser:
    p = Parser(prog="nn2gpt translate eval", description="sacreBLEU, loss and perplexity on a split.")
    p.add_argument("--model", required=True, help="run directory of a trained model")
    p.add_argument("--split", choices=("val", "test"), default="test", help="the built-in split to score (default test)")
    p.add_argument("--src", metavar="FILE", help="score these source sentences instead, one a line (plain or .gz)")
    p.add_argument("--ref", metavar="FILE", help="the reference translations of --src, line for line")
    p.add_argument("--limit", type=positive(int), default=None, help="only the first N sentence pairs")
    p.add_argument("--data-dir", default=None)
    _decoding_flags(p)
    _lm_flags(p)
    return p


def _average_parser() -> Parser:
    p = Parser(prog="nn2gpt translate average",
               description="Average the weights of checkpoints of one run (as the paper does, section 6.1).")
    p.add_argument("checkpoints", nargs="+", metavar="CKPT",
                   help="run directories (their latest checkpoint) or ckpt-* directories of a run")
    p.add_argument("--out", required=True, help="run directory for the averaged model")
    p.add_argument("--overwrite", action="store_true", help="replace the model already in --out")
    return p


def _attention_parser() -> Parser:
    p = Parser(prog="nn2gpt translate attention", description="Save attention heatmaps (PNG) for one sentence.")
    p.add_argument("sentence")
    p.add_argument("--model", required=True, help="run directory of a trained model")
    p.add_argument("--out", default="attention", help="directory for the PNG files (default ./attention)")
    _decoding_flags(p)
    return p


def _sentence_parser() -> Parser:
    p = Parser(prog="nn2gpt translate", usage="nn2gpt translate [SENTENCE] --model RUN [--beam N] [--input FILE]",
               description="Translate one sentence; without one, every line of --input or of standard input "
                           "(one sentence a line, the output line for line).")
    p.add_argument("sentence", nargs="?", help="the sentence (default: read lines from --input or stdin)")
    p.add_argument("--input", metavar="FILE", help="translate this file, one sentence a line (plain or .gz; - = stdin)")
    p.add_argument("--model", required=True, help="run directory of a trained model")
    _decoding_flags(p)
    _lm_flags(p)
    return p


def _target_text_parser() -> Parser:
    p = Parser(prog="nn2gpt translate target-text",
               description="Write the target side of a pair's training split, one sentence per line: the text "
                           "for a target-language model (`nn2gpt gpt train --text FILE`) to rerank with --lm.")
    p.add_argument("--pair", required=True, help="language pair: de-en or es-en")
    p.add_argument("--out", required=True, help="the text file to write")
    p.add_argument("--overwrite", action="store_true", help="replace the file if it exists")
    p.add_argument("--data-dir", default=None)
    return p


def _import_parser() -> Parser:
    p = Parser(prog="nn2gpt translate import",
               description="Import an opus-mt (Marian) translation model from the Hugging Face Hub (safetensors "
                           "only; cached where huggingface_hub caches) or from a folder, into a run directory.")
    p.add_argument("name", nargs="?", help="the Hub repository, e.g. Helsinki-NLP/opus-mt-es-en")
    p.add_argument("--from", dest="from_dir", metavar="FOLDER",
                   help="read a folder copied by hand instead (config.json, model.safetensors, source.spm, "
                        "target.spm, vocab.json)")
    p.add_argument("--out", required=True, help="run directory to write")
    p.add_argument("--pair", default=None, help="the language pair, e.g. es-en (default: from the name opus-mt-SRC-TGT)")
    p.add_argument("--overwrite", action="store_true", help="replace the model already in --out")
    return p


def parsers() -> dict:
    """Each command's parser by name; "" is the sentence form (`nn2gpt translate SENTENCE ...`)."""
    return {"train": _train_parser(), "eval": _eval_parser(), "average": _average_parser(),
            "attention": _attention_parser(), "target-text": _target_text_parser(), "import": _import_parser(),
            "": _sentence_parser()}


def _config(cls, args):
    """The library's config dataclass `cls` from the parsed flags of the same names."""
    from dataclasses import fields

    return cls(**{f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)})


def _threads(n) -> None:
    if n:
        import torch

        torch.set_num_threads(n)


def main(argv: list[str], parts=None) -> int:
    """`nn2gpt translate ...`; `parts` (nn2gpt.translate.parts.Parts, the workbook's milestone) go
    to train() as they are."""
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    command = argv[0]
    if command == "train":
        args = _train_parser().parse_args(argv[1:])
        from nn2gpt.data.translation import PAIRS
        if args.pair not in PAIRS:
            raise UserError(f"unknown language pair {args.pair!r}; choose from {', '.join(PAIRS)}")
        args.out = args.out or f"runs/translate-{args.pair}"
        _threads(args.threads)
        from nn2gpt.translate.runconfig import TranslateConfig
        from nn2gpt.translate.train import train

        train(_config(TranslateConfig, args), parts)
        return 0
    if command == "eval":
        args = _eval_parser().parse_args(argv[1:])
        _threads(args.threads)
        from nn2gpt.translate.evaluate import EvalConfig, evaluate

        evaluate(_config(EvalConfig, args), _reranker(args))
        return 0
    if command == "average":
        args = _average_parser().parse_args(argv[1:])
        from nn2gpt.translate.average import write_average

        out = write_average(args.checkpoints, args.out, args.overwrite)
        print(f"averaged {len(args.checkpoints)} checkpoints into {out}")
        return 0
    if command == "attention":
        args = _attention_parser().parse_args(argv[1:])
        _threads(args.threads)
        from nn2gpt.outputs import writing
        from nn2gpt.translate.pictures import AttentionConfig, draw_attention

        with writing(args.out, owner="translate", overwrite=True, folder=True):  # never over a run's own files
            paths = draw_attention(_config(AttentionConfig, args))
        for path in paths:
            print(path)
        return 0
    if command == "target-text":
        args = _target_text_parser().parse_args(argv[1:])
        from nn2gpt.data.translation import PAIRS, load_pair
        from nn2gpt.files import atomic_write_text
        from nn2gpt.outputs import writing

        if args.pair not in PAIRS:
            raise UserError(f"unknown language pair {args.pair!r}; choose from {', '.join(PAIRS)}")
        with writing(args.out, owner=None, overwrite=args.overwrite):  # never into a run
            targets = [t for _, t in load_pair(args.pair, args.data_dir)["train"]]
            try:
                atomic_write_text(args.out, "\n".join(targets) + "\n")
            except OSError as e:
                raise UserError(f"cannot write {args.out} ({e.strerror}); give --out a file path you can write") from None
        print(f"wrote {len(targets):,} target sentences to {args.out}; train a language model on them with "
              f"`nn2gpt gpt train --text {args.out} --tokenizer char --out RUN`")
        return 0
    if command == "import":
        args = _import_parser().parse_args(argv[1:])
        if (args.name is None) == (args.from_dir is None):
            raise UserError("give a Hub repository (e.g. Helsinki-NLP/opus-mt-es-en) or --from FOLDER, one of the two")
        from nn2gpt.translate.marian import import_marian

        out = import_marian(args.name, args.out, args.from_dir, args.pair, args.overwrite)
        print(f"imported {args.name or args.from_dir} into {out}; translate with: "
              f"nn2gpt translate \"SENTENCE\" --model {out}")
        return 0
    if command == "--":  # `-- SENTENCE [options]`: the sentence may look like a command or a flag
        if len(argv) < 2:
            raise UserError("no sentence after `--`; write `nn2gpt translate -- \"SENTENCE\" --model RUN`")
        argv = [*argv[2:], "--", argv[1]]
    args = _sentence_parser().parse_args(argv)
    _threads(args.threads)
    from nn2gpt.translate.evaluate import load_run, translate_one

    if args.sentence is not None and args.input is not None:
        raise UserError("give a sentence or --input FILE, not both")
    if args.sentence is None and args.input is None and sys.stdin.isatty():
        raise UserError("no sentence given; pass one, or pipe lines in: nn2gpt translate --model RUN < sentences.txt")
    reranker = _reranker(args)
    model, tok, _ = load_run(args.model)
    if args.sentence is None:
        from nn2gpt.translate.lines import translate_stream

        translate_stream(model, tok, args.input, args.beam, args.alpha, reranker)
        return 0
    print(translate_one(model, tok, args.sentence, args.beam, args.alpha, reranker))
    sys.stdout.flush()
    return 0
