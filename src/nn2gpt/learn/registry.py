"""The road's exercises: each one folder, found by listing the chapters' packages; finding one by name.

An exercise is one file of the learner's workbook, `NN_name.py`, numbered in the road's order
(the tens digit is the chapter's minus one: ch.1 is 01-06, ch.2 11-18). Chapter 0 comes before
01 and has no number of its own to spare, so its files are 00a, 00b, ... (`letter`). Everything
of one exercise lies in one folder of its chapter's package, named after that file:

    ch1/ex03_backprop/
        exercise.toml   what it asks, its hints, the mistakes it names (and their hints), its docs row
        stub.py         what `learn init` copies to 03_backprop.py, the maths in its docstring
        solution.py     the reference the check compares with (`learn solution`)
        check.py        check(module), raising CheckFailed with a message that teaches
                        (nn2gpt.learn.checking), and example(), the real input `learn trace` runs

The number, letter and name are the folder's name, the chapter is its package's: they are never
written twice, and an exercise is added by adding its folder.
"""

from __future__ import annotations

import functools
import importlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
FOLDER = re.compile(r"ex(\d\d)([a-z]?)_([a-z][a-z0-9_]*)")
KEYS = {"task", "defines", "you_write", "checked_against", "hints", "errors", "mistake_hints", "mistakes"}


@dataclass(frozen=True)
class Exercise:
    number: int
    name: str
    chapter: int
    folder: Path                   # chN/exNN_name/: its data, stub, solution and check
    task: str                      # one line: what to write
    defines: tuple[str, ...]       # the names the learner's file must define
    hints: tuple[str, ...]         # from a nudge to nearly the answer; at least three
    errors: tuple[tuple[tuple[str, ...], str], ...] = field(default=())  # (words in an exception, advice)
    letter: str = ""               # chapter 0's 00a, 00b, ...: they sort before 01 and never clash with it
    # (words in a failure message, its hints): a check that names a known mistake is answered by
    # that mistake's own hints first (nn2gpt.learn.hints), then by the general ladder above
    mistake_hints: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = field(default=())
    # (what it is, [(text of the solution, replaced by)], words its check's message must hold)
    mistakes: tuple[tuple[str, tuple[tuple[str, str], ...], str], ...] = field(default=())
    you_write: str = ""            # its row of the chapter's table in docs/learn.md
    checked_against: str = ""

    @property
    def key(self) -> str:
        """The file's number: '03', or '00a' for chapter 0's."""
        return f"{self.number:02d}{self.letter}"

    @property
    def file(self) -> str:
        return f"{self.key}_{self.name}.py"

    @property
    def stub(self) -> Path:
        return self.folder / "stub.py"

    @property
    def solution(self) -> Path:
        return self.folder / "solution.py"

    @property
    def check_module(self) -> str:
        """The module of its check and example: nn2gpt.learn.ch1.ex03_backprop.check."""
        return f"nn2gpt.learn.ch{self.chapter}.{self.folder.name}.check"

    def checker(self):
        return importlib.import_module(self.check_module).check

    def example(self):
        """(what the example is, a function of the learner's module that runs it), for `learn trace`."""
        return importlib.import_module(self.check_module).example()

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


def read(folder: Path) -> Exercise:
    """The exercise of one folder, chN/exNN_name/ with its exercise.toml."""
    found = FOLDER.fullmatch(folder.name)
    if not found or not re.fullmatch(r"ch\d", folder.parent.name):
        raise ValueError(f"{folder}: an exercise's folder is chN/exNN_name (chapter 0's exNNx_name)")
    data = tomllib.loads((folder / "exercise.toml").read_text(encoding="utf-8"))
    if set(data) - KEYS:
        raise ValueError(f"{folder / 'exercise.toml'}: unknown keys {sorted(set(data) - KEYS)}")
    return Exercise(
        number=int(found[1]), letter=found[2], name=found[3], chapter=int(folder.parent.name[2:]), folder=folder,
        task=data["task"], defines=tuple(data["defines"]), hints=tuple(data["hints"]),
        errors=tuple((tuple(e["words"]), e["advice"]) for e in data.get("errors", ())),
        mistake_hints=tuple((tuple(m["words"]), tuple(m["hints"])) for m in data.get("mistake_hints", ())),
        mistakes=tuple((m["what"], tuple((old, new) for old, new in m["edits"]), m["says"])
                       for m in data.get("mistakes", ())),
        you_write=data["you_write"], checked_against=data.get("checked_against", ""))


@functools.cache
def _road() -> tuple[Exercise, ...]:
    folders = sorted(HERE.glob("ch[0-9]/ex*"), key=lambda f: f.name)
    return tuple(read(f) for f in folders if f.is_dir())


def all_exercises() -> list[Exercise]:
    """Every exercise, in the road's order: by its number (00a ... 00g, 01, ... 45)."""
    return list(_road())


def find(name: str) -> Exercise:
    """An exercise by its file name with or without the number: '03_backprop', 'backprop', '3';
    chapter 0's by its number with the letter: '00a_pair_counts', 'pair_counts', '00a', '0a'."""
    from nn2gpt.errors import UserError

    key = name.strip().removesuffix(".py").lower()
    for ex in all_exercises():
        # a bare 0 would be all seven of chapter 0's: their numbers count only with the letter
        numbers = (ex.key, f"{ex.number}{ex.letter}")
        if key in (ex.name, ex.file.removesuffix(".py"), *numbers):
            return ex
    names = ", ".join(ex.file.removesuffix(".py") for ex in all_exercises())
    raise UserError(f"no exercise named {name!r}; choose one of {names} (`nn2gpt learn list`)")
