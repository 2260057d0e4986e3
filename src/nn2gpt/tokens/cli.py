"""`nn2gpt tokens`: how text becomes numbers, byte-level BPE from the command line.

    nn2gpt tokens train --vocab-size 4096 --out runs/tok [--text FILE] [--no-split] [--special TOK ...]
    nn2gpt tokens show "Hello, world!" --model runs/tok          # or --model gpt2
    nn2gpt tokens encode --model gpt2 [FILE] > ids.txt           # one line of ids per line of text
    nn2gpt tokens decode --model gpt2 [FILE] > text.txt          # and back, byte for byte

Only argparse at import time, so `--help` is instant; the work is in the modules it calls.
"""

from __future__ import annotations

import sys

from nn2gpt.cli import Number, Parser
from nn2gpt.errors import UserError

USAGE = """usage: nn2gpt tokens {train,show,encode,decode,neighbours} ...

How text becomes numbers: byte-level byte-pair encoding, written from scratch.

commands:
  train    learn merges from a text: --vocab-size N --out DIR [--text FILE] [--no-split] [--special TOK ...]
  show     the pieces of a text, with their ids and bytes: show TEXT --model DIR|gpt2
  encode   text -> ids, line for line: encode --model DIR|gpt2 [FILE]
  decode   ids -> text, line for line: decode --model DIR|gpt2 [FILE]
  neighbours  a GPT run's nearest tokens by cosine, and a 2-D map: neighbours TOKEN --model RUN [--map FILE.png]

Run `nn2gpt tokens <command> --help` for the options of each."""

MODEL_HELP = "a folder of `nn2gpt tokens train`, or gpt2 for GPT-2's tokenizer (a folder named gpt2: ./gpt2)"
SPECIALS_HELP = ("read a special token's text in the input as that special token (default: as the ordinary "
                 "characters it is made of)")


def _train_parser() -> Parser:
    p = Parser(prog="nn2gpt tokens train", description="Learn byte-pair merges from a text and save the tokenizer.")
    p.add_argument("--text", default=None, metavar="FILE", help="a UTF-8 text file (default: Tiny Shakespeare)")
    p.add_argument("--vocab-size", type=Number(int, 256, what="vocabulary size"), required=True, metavar="N",
                   help="ids in all, >= 256: the 256 bytes, the merges, then the --special tokens")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for merges.txt and tokenizer.json")
    p.add_argument("--overwrite", action="store_true", help="replace the tokenizer already in --out")
    p.add_argument("--no-split", dest="split", action="store_false",
                   help="merge across the whole text (default: inside GPT-2's pre-split chunks only)")
    p.add_argument("--special", action="extend", nargs="+", default=[], metavar="TOK",
                   help="special tokens, e.g. '<|endoftext|>': the last ids, cut out of the training text")
    p.add_argument("--trainer", choices=("fast", "naive"), default="fast",
                   help="fast (default): incremental counts; naive: every pair counted again after each merge "
                        "(the same merges, slowly)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--data-dir", default=None, help="where the datasets are (default: $NN2GPT_DATA, cache)")
    return p


def _model_flags(p: Parser) -> Parser:
    p.add_argument("--model", required=True, help=MODEL_HELP)
    p.add_argument("--data-dir", default=None, help="where the gpt2 dataset is (default: $NN2GPT_DATA, cache)")
    return p


def _show_parser() -> Parser:
    p = Parser(prog="nn2gpt tokens show", description="Show the tokens of a text: id, bytes, tokens per byte.")
    # dest "string", not "text": `--text` names a file elsewhere, this is the text itself
    p.add_argument("string", metavar="TEXT", help="the text to cut into tokens")
    p.add_argument("--specials", action="store_true", help=SPECIALS_HELP)
    return _model_flags(p)


def _encode_parser() -> Parser:
    p = Parser(prog="nn2gpt tokens encode",
               description="Write each input line's token ids, space-separated, one output line per input line.")
    p.add_argument("file", nargs="?", metavar="FILE", help="a UTF-8 text file (default: standard input; - = stdin)")
    p.add_argument("--specials", action="store_true", help=SPECIALS_HELP)
    return _model_flags(p)


def _decode_parser() -> Parser:
    p = Parser(prog="nn2gpt tokens decode",
               description="Turn lines of token ids (as `tokens encode` writes them) back into the exact text.")
    p.add_argument("file", nargs="?", metavar="FILE", help="lines of ids (default: standard input; - = stdin)")
    return _model_flags(p)


def parsers() -> dict:
    from nn2gpt.tokens import embeddings_cli

    return {"train": _train_parser(), "show": _show_parser(), "encode": _encode_parser(), "decode": _decode_parser(),
            "neighbours": embeddings_cli.parser()}


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in parsers():
        raise UserError(f"unknown command {command!r}; choose from train, show, encode, decode, neighbours "
                        f"(see nn2gpt tokens --help)")
    args = parsers()[command].parse_args(rest)
    if command == "train":
        return _train(args)
    if command == "neighbours":
        from nn2gpt.tokens.embeddings_cli import run

        return run(args)
    from nn2gpt.tokens.folder import open_model

    if command in ("encode", "decode") and args.file is None and sys.stdin.isatty():
        raise UserError(f"nothing to {command}: give FILE, or pipe the lines in: "
                        f"nn2gpt tokens {command} --model {args.model} < FILE")
    tok = open_model(args.model, args.data_dir)
    if command == "show":
        from nn2gpt.tokens.show import show_lines, wants_colour

        print("\n".join(show_lines(tok, args.string, args.specials, wants_colour(sys.stdout))))
        return 0
    from nn2gpt.tokens import pipes

    lines, name = pipes.read_lines(args.file)
    if command == "encode":
        sys.stdout.write(pipes.encode_lines(tok, lines, name, args.specials))
    else:
        pipes.write_bytes(pipes.decode_lines(tok, lines, name))
    return 0


def _train(args) -> int:
    import time

    from nn2gpt.data.text import read_text
    from nn2gpt.progress import progress_bar
    from nn2gpt.tokens.folder import writing
    from nn2gpt.tokens.store import save
    from nn2gpt.tokens.train import check_request, train

    check_request(args.vocab_size, args.special, args.trainer)  # before the text is read
    text = read_text(args.text, args.data_dir)  # empty, not UTF-8, missing: one line each
    with writing(args.out, args.overwrite) as out:
        wanted = args.vocab_size - 256 - len(args.special)
        bar = progress_bar(wanted, desc="merges", unit="merge", disable=args.quiet or not sys.stderr.isatty())
        start = time.perf_counter()
        tok, note = train(text, args.vocab_size, args.split, args.special, args.trainer,
                          progress=lambda i: bar.update(i - bar.n))
        seconds = time.perf_counter() - start
        bar.close()
        source = args.text or "Tiny Shakespeare"
        save(tok, out, {"text": str(source), "bytes": len(text.encode("utf-8")), "trainer": args.trainer,
                        "seconds": round(seconds, 3)})
    if note:
        print(f"nn2gpt tokens: note: {note}; saved", file=sys.stderr)
    rate = f", {len(tok.merges) / seconds:,.0f} merges/s" if seconds > 0 and tok.merges else ""
    print(f"trained {len(tok.merges):,} merges ({tok.vocab_size:,} ids) in {seconds:.2f} s{rate} with the "
          f"{args.trainer} trainer; saved {out / 'merges.txt'} and {out / 'tokenizer.json'}")
    print(f"see it cut a text: nn2gpt tokens show \"To be, or not to be\" --model {out}")
    return 0
