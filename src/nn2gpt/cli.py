"""The `nn2gpt` command: one subcommand per chapter.

Start-up must stay fast (`nn2gpt --help` < 0.5 s), so this module imports nothing heavy.
Each chapter has a `cli` module exposing `main(argv) -> int`, imported only when its
subcommand runs; those modules in turn import numpy/torch inside their functions.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import re
import sys

from nn2gpt.flags import FRACTION, SEED, Number, Threads, positive  # noqa: F401 - the chapters' CLIs import them here
from nn2gpt.machine import cores  # noqa: F401 - --threads' range; tests import it from here

# name -> (module with main(argv), one-line description). Order is the road.
CHAPTERS = {
    "tokens": ("nn2gpt.tokens.cli", "ch.0  how text becomes numbers: byte-level BPE from scratch (train, show, encode, decode, neighbours)"),
    "digits": ("nn2gpt.digits.cli", "ch.1  Nielsen's MNIST digit network in numpy (train, predict, show)"),
    "gpt": ("nn2gpt.gpt.cli", "ch.2  bigram -> attention -> GPT on Tiny Shakespeare (train, sample, attention)"),
    "translate": ("nn2gpt.translate.cli", "ch.3  the encoder-decoder Transformer for translation"),
    "lab": ("nn2gpt.lab.cli", "ch.4  experiments on attention: scores, masks, positions"),
    "learn": ("nn2gpt.learn.cli", "      write each piece yourself: checked, then trained on the real data (init, check, run)"),
    "studio": ("nn2gpt.studio.cli", "      a local web page that looks inside your trained runs (after make demo)"),
    "data": ("nn2gpt.data.cli", "      fetch and verify the datasets (download, sha256, cache)"),
}


# chapters 5 and 6 are not commands of their own: chapter 5 is chapter 2's `gpt train|sample` with
# another engine, chapter 6 is its training with another recipe (nn2gpt.gpt.recipes)
CH5 = "ch.5  the same GPT in numpy, backprop written by hand (gpt train|sample --engine numpy)"
CH6 = "ch.6  the speedrun: RoPE, Muon, zero-init, an untied head (gpt train --recipe speedrun)"


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr (plus a pointer to --help), exit 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        both = re.fullmatch(r"argument (\S+): not allowed with argument (\S+)", message)
        if both:  # a mutually exclusive pair, e.g. --resume (continue the run) and --overwrite (replace it)
            message = f"{both[2]} and {both[1]} exclude each other; give one of them"
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def subcommands(parser: argparse.ArgumentParser) -> dict:
    """{name: parser} of a parser's subcommands."""
    return {name: sub for action in parser._actions if isinstance(action, argparse._SubParsersAction)
            for name, sub in action.choices.items()}


def command_parsers() -> dict:
    """{"gpt train": parser, "translate": parser (the sentence form), ...} for every command of nn2gpt.

    The tests walk these to probe every flag of every command, so a new flag is covered the
    day it is added."""
    out = {}
    for name, (module, _) in CHAPTERS.items():
        for sub, parser in importlib.import_module(module).parsers().items():
            out[f"{name} {sub}".strip()] = parser
    return out


def _usage() -> str:
    lines = ["usage: nn2gpt <command> [options]", "", "The road from a neural network to GPT.", "", "commands:"]
    rows = [(name, desc) for name, (_, desc) in CHAPTERS.items()]
    rows.insert(list(CHAPTERS).index("lab") + 1, ("gpt --engine numpy", CH5))
    rows.insert(list(CHAPTERS).index("lab") + 2, ("gpt --recipe speedrun", CH6))
    lines += [f"  {name:<21} {desc}" for name, desc in rows]
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

    with _sigterm_stops(), _named_stdout():
        return _run(name, rest)


class _NamedStream:
    """A text stream whose failed writes name it: `> /dev/full` reports "standard output", where
    the OSError alone names no file at all."""

    def __init__(self, stream, name: str):
        self._stream, self._name = stream, name

    def _named(self, method, *args):
        try:
            return method(*args)
        except OSError as e:
            e.filename = e.filename or self._name
            raise

    def write(self, text: str) -> int:
        return self._named(self._stream.write, text)

    def flush(self) -> None:
        return self._named(self._stream.flush)

    def __getattr__(self, attr):  # isatty, fileno, encoding...: the stream's own
        return getattr(self._stream, attr)


@contextlib.contextmanager
def _named_stdout():
    real = sys.stdout
    sys.stdout = _NamedStream(real, "standard output")
    try:
        yield
    finally:
        if isinstance(sys.stdout, _NamedStream):
            sys.stdout = real


@contextlib.contextmanager
def _sigterm_stops():
    """While a command runs, SIGTERM ends it as Ctrl-C does (nn2gpt.interrupt): its locks are
    released and its one line printed, where Python's default would end it without a word."""
    import signal
    import threading

    from nn2gpt.interrupt import raise_stopped

    old = signal.signal(signal.SIGTERM, raise_stopped) if threading.current_thread() is threading.main_thread() else None
    try:
        yield
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)


def _run(name: str, rest: list[str]) -> int:
    """Run one command; every way it can fail becomes one line on stderr and an exit status."""
    from nn2gpt.errors import UserError

    try:
        module = importlib.import_module(CHAPTERS[name][0])
        status = int(module.main(rest) or 0)
        sys.stdout.flush()  # a full disk under a redirected stdout is reported here, not at exit
        return status
    except SystemExit as e:  # argparse's own exits (--help, a bad flag): a status, also when called in-process
        return e.code if isinstance(e.code, int) else 0 if e.code is None else 2
    except UserError as e:
        print(f"nn2gpt {name}: error: {one_line(str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM (interrupt.Stopped)
        if not getattr(e, "told", False):
            print(f"nn2gpt {name}: interrupted" + (f" by {e}" if str(e) else ""), file=sys.stderr)
        return getattr(e, "status", 130)
    except MemoryError:
        print(f"nn2gpt {name}: error: out of memory; choose a smaller model, batch or input", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `nn2gpt gpt sample | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:  # the last line of defence; the commands name their own files where they can
        if e.filename == "standard output":  # `> /dev/full`: write no more to it (nor at exit)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print(f"nn2gpt {name}: error: {one_line(describe_os_error(e))}", file=sys.stderr)
        return 2
    except RuntimeError as e:  # torch reports a failed allocation as a RuntimeError
        text = str(e)
        if not any(sign in text for sign in ("can't allocate memory", "out of memory", "Cannot allocate memory")):
            raise
        detail = re.sub(r"\[enforce fail at [^\]]*\]\s*", "", text.splitlines()[0]).strip()
        print(f"nn2gpt {name}: error: out of memory ({detail[:200]}); choose a smaller model, batch or input",
              file=sys.stderr)
        return 2


def one_line(message: str) -> str:
    """An error message as one line, whatever it quotes (a path with a newline in it, say)."""
    return message.replace("\r", "\\r").replace("\n", "\\n")


def describe_os_error(e: OSError) -> str:
    """One line for a failed file operation: what failed, on which path, and what to do."""
    import errno

    where = f" {e.filename}" if e.filename else ""
    fix = {errno.ENOSPC: "free some disk space and run again",
           errno.EDQUOT: "free some disk space and run again",
           errno.EACCES: "choose a path you may write, or fix its permissions",
           errno.EPERM: "choose a path you may write, or fix its permissions",
           errno.EROFS: "the file system is read-only; choose a path elsewhere",
           errno.ENOTDIR: "a part of the path is a file, not a directory; fix the path",
           errno.EISDIR: "the path is a directory; give a file",
           errno.ENOENT: "check the path"}.get(e.errno, "check the path and try again")
    return f"cannot use{where}: {e.strerror or e}; {fix}"


if __name__ == "__main__":
    raise SystemExit(main())
