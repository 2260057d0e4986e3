"""The `nn2gpt` command: one subcommand per chapter.

Start-up must stay fast (`nn2gpt --help` < 0.5 s), so this module imports nothing heavy.
Each chapter has a `cli` module exposing `main(argv) -> int`, imported only when its
subcommand runs; those modules in turn import numpy/torch inside their functions.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# name -> (module with main(argv), one-line description). Order is the road.
CHAPTERS = {
    "digits": ("nn2gpt.digits.cli", "ch.1  Nielsen's MNIST digit network in numpy (train, predict, show)"),
    "gpt": ("nn2gpt.gpt.cli", "ch.2  bigram -> attention -> GPT on Tiny Shakespeare (train, sample, attention)"),
    "translate": ("nn2gpt.translate.cli", "ch.3  the encoder-decoder Transformer for translation"),
    "lab": ("nn2gpt.lab.cli", "ch.4  experiments on attention: scores, masks, positions"),
    "data": ("nn2gpt.data.cli", "      fetch and verify the datasets (download, sha256, cache)"),
}


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr (plus a pointer to --help), exit 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def number_at_least(kind, low, strict: bool = False, what: str | None = None):
    """An argparse `type` for a finite number (int or float) >= low, or > low when `strict`.

    `what` names it in the error ("number of seconds"); default "whole number" or "number"."""
    what = what or ("whole number" if kind is int else "number")

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {what}, got {text!r}") from None
        if value != value or value in (float("inf"), float("-inf")) or value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(f"expected a {what} {'>' if strict else '>='} {low}, got {text!r}")
        return value
    return parse


def _usage() -> str:
    lines = ["usage: nn2gpt <command> [options]", "", "The road from a neural network to GPT.", "", "commands:"]
    lines += [f"  {name:<10} {desc}" for name, (_, desc) in CHAPTERS.items()]
    lines += ["", "Run `nn2gpt <command> --help` for a command's options.",
              "Datasets are found via --data-dir, then $NN2GPT_DATA, then ~/.cache/nn2gpt, else downloaded."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0 if argv else 2
    if argv[0] == "--version":
        from nn2gpt import __version__

        print(f"nn2gpt {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in CHAPTERS:
        print(f"nn2gpt: error: unknown command {name!r}; choose from {', '.join(CHAPTERS)} (see nn2gpt --help)",
              file=sys.stderr)
        return 2
    from nn2gpt.errors import UserError

    try:
        module = importlib.import_module(CHAPTERS[name][0])
        return int(module.main(rest) or 0)
    except UserError as e:
        print(f"nn2gpt {name}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"nn2gpt {name}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `nn2gpt gpt sample | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
