"""One exercise of the road: what it asks, its hints, and where its stub, solution and check live.

An exercise is one file of the workbook, `NN_name.py`, numbered in the road's order (the tens
digit is the chapter's minus one: ch.1 is 01-06, ch.2 11-18). Chapter 0 comes before 01 and has
no number of its own to spare, so its files are 00a, 00b, ... (`letter`). Its stub
(the file `init` copies, with the maths in its docstring) is in `nn2gpt/learn/workbook/`, its
solution - which is also the reference the check compares with - in `nn2gpt/learn/solutions/`,
and its check is a function `check(module)` that raises `CheckFailed` with a message that
teaches (nn2gpt.learn.checking).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
STUBS, SOLUTIONS = HERE / "workbook", HERE / "solutions"


@dataclass(frozen=True)
class Exercise:
    number: int
    name: str
    chapter: int
    task: str                      # one line: what to write
    defines: tuple[str, ...]       # the names the learner's file must define
    hints: tuple[str, ...]         # from a nudge to nearly the answer; at least three
    check: str                     # "module:function" taking the learner's module
    errors: tuple[tuple[tuple[str, ...], str], ...] = field(default=())  # (words in an exception, advice)
    letter: str = ""               # chapter 0's 00a, 00b, ...: they sort before 01 and never clash with it
    # (words in a failure message, its hints): a check that names a known mistake is answered by
    # that mistake's own hints first (nn2gpt.learn.hints), then by the general ladder above
    mistake_hints: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = field(default=())

    @property
    def key(self) -> str:
        """The file's number: '03', or '00a' for chapter 0's."""
        return f"{self.number:02d}{self.letter}"

    @property
    def file(self) -> str:
        return f"{self.key}_{self.name}.py"

    @property
    def stub(self) -> Path:
        return STUBS / self.file

    @property
    def solution(self) -> Path:
        return SOLUTIONS / self.file

    def checker(self):
        module, function = self.check.split(":")
        return getattr(importlib.import_module(module), function)

    def advice(self, message: str) -> str:
        """Extra words for an exception the learner's code raised (a shape mismatch, say)."""
        for needles, text in self.errors:
            if any(n in message for n in needles):
                return text
        return ""

    def mistake(self, message: str) -> int | None:
        """Which of `mistake_hints` a failure message names (its index), None for none known."""
        for i, (needles, _) in enumerate(self.mistake_hints):
            if any(n in message for n in needles):
                return i
        return None


def load_file(path: Path, name: str | None = None):
    """Import a Python file as a fresh module (a workbook exercise or a solution)."""
    name = name or f"nn2gpt_learn_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look a module up by name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def pick(module, name: str):
    """`name` from a learner's file: a method of its `class Network` if it has one, else a function."""
    cls = getattr(module, "Network", None)
    if isinstance(cls, type) and name in vars(cls):
        return vars(cls)[name]
    return getattr(module, name, None)
