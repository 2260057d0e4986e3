"""The types of the command lines' numbers: each with its range, checked as argparse parses it.

    Number(int, 1)            a whole number >= 1; Number(float, 0, 1, below=True): 0 <= x < 1
    positive(float)           a finite number > 0 (NaN and inf are refused everywhere)
    Threads()                 --threads: 1 to the cores this process may use
    SEED, FRACTION            a seed 0..2**32-1; a rate such as dropout, 0 <= p < 1

No chapter here: the settings tables (nn2gpt.gpt.runconfig) and every chapter's cli use them.
"""

from __future__ import annotations

import argparse

from nn2gpt.machine import cores


class Number:
    """An argparse `type` for a finite number (int or float) in a range; NaN and inf are refused.

    `low`/`high` bound it (None = unbounded); `strict` makes the lower bound exclusive and
    `below` the upper one. The error names the range, so `--lr -1` reads
    "expected a number > 0, got '-1'". The bounds stay readable (`.low`, `.high`...) so that the
    tests can walk every flag of every command and probe it at and beyond its range.
    """

    def __init__(self, kind, low=None, high=None, strict: bool = False, below: bool = False,
                 what: str | None = None):
        self.kind, self.low, self.high, self.strict, self.below = kind, low, high, strict, below
        self.what = what or ("whole number" if kind is int else "number")

    def range_text(self) -> str:
        show = (lambda v: str(v)) if self.kind is int else (lambda v: f"{v:g}")  # ints exactly: 4294967295
        lo = None if self.low is None else f"{'>' if self.strict else '>='} {show(self.low)}"
        hi = None if self.high is None else f"{'<' if self.below else '<='} {show(self.high)}"
        if lo and hi:
            return f"{lo} and {hi}"
        return lo or hi or "(finite)"

    def accepts(self, value) -> bool:
        if value != value or value in (float("inf"), float("-inf")):
            return False
        if self.low is not None and (value < self.low or (self.strict and value == self.low)):
            return False
        return self.high is None or not (value > self.high or (self.below and value == self.high))

    def __call__(self, text: str):
        try:
            value = self.kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {self.what}, got {text!r}") from None
        if not self.accepts(value):
            raise argparse.ArgumentTypeError(f"expected a {self.what} {self.range_text()}, got {text!r}")
        return value

    def __repr__(self) -> str:  # argparse names the type in some messages
        return self.what


def positive(kind) -> Number:
    """A finite number > 0 (a whole number >= 1 for int)."""
    return Number(kind, 1) if kind is int else Number(kind, 0, strict=True)


class Threads(Number):
    """--threads: 1 to the cores this process may use. More threads than cores do not add speed,
    they wait for each other (torch's threads meet at the end of every operation): 999 threads
    on 2 cores made a 7 s run take 126 s. The error says how many cores there are."""

    def __init__(self):
        super().__init__(int, 1, cores(), what="thread count")

    def __call__(self, text: str):
        try:
            return super().__call__(text)
        except argparse.ArgumentTypeError as e:
            raise argparse.ArgumentTypeError(f"{e}: this machine lets nn2gpt use {self.high} core(s), and more "
                                             f"threads than cores only wait for each other") from None


SEED = Number(int, 0, 2**32 - 1, what="seed")  # numpy and torch both take any seed in this range
FRACTION = Number(float, 0, 1, below=True, what="rate")  # dropout: [0, 1)


