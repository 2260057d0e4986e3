"""The road's exercises, in order, and finding one by name.

Each chapter's package lists its own (nn2gpt.learn.ch0, ch1, ... ch5); an exercise is described by
nn2gpt.learn.exercise.Exercise.
"""

from __future__ import annotations

from nn2gpt.learn.ch0 import EXERCISES as ch0
from nn2gpt.learn.ch1 import EXERCISES as ch1
from nn2gpt.learn.ch2 import EXERCISES as ch2
from nn2gpt.learn.ch3 import EXERCISES as ch3
from nn2gpt.learn.ch4 import EXERCISES as ch4
from nn2gpt.learn.ch5 import EXERCISES as ch5
from nn2gpt.learn.exercise import Exercise


def all_exercises() -> list[Exercise]:
    return [*ch0, *ch1, *ch2, *ch3, *ch4, *ch5]


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
