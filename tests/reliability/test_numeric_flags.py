"""Every number on every command line is range-checked at parse time, NaN and inf included.

A flag that parses but means nothing (`--grad-accum 0` trains nothing; a negative `--min-lr`
climbs the loss) must be refused with one line naming the flag and its range, exit 2. The
list of flags is read from the parsers themselves, so a new flag is probed the day it exists.
"""

import re

import pytest

from nn2gpt.cli import Number, command_parsers

from reliability_helpers import GPT_TINY, NUMPY_TINY, one_line_error

PROBES = ("0", "-1", "nan", "inf", "-inf", "1e999", "x")


def numeric_flags():
    for command, parser in command_parsers().items():
        for action in parser._actions:
            if action.option_strings and (action.type in (int, float) or isinstance(action.type, Number)):
                yield command, action


FLAGS = list(numeric_flags())


def test_the_walk_finds_the_flags_of_every_chapter():
    commands = {c for c, _ in FLAGS}
    assert {"digits train", "gpt train", "gpt sample", "translate train", "translate eval", "translate",
            "lab run"} <= commands
    assert len(FLAGS) >= 60


@pytest.mark.parametrize("command,action", FLAGS, ids=[f"{c}:{a.option_strings[0]}" for c, a in FLAGS])
def test_every_numeric_flag_has_a_range(command, action):
    assert isinstance(action.type, Number), f"{command} {action.option_strings[0]} is a bare {action.type}"
    assert action.type.low is not None, "every number needs a lower bound"


@pytest.mark.parametrize("command,action", FLAGS, ids=[f"{c}:{a.option_strings[0]}" for c, a in FLAGS])
def test_out_of_range_values_are_one_line_errors(command, action, capsys):
    flag, kind = action.option_strings[-1], action.type.kind
    for probe in PROBES:
        try:
            value = kind(probe)
        except (ValueError, OverflowError):
            value = None
        if value is not None and action.type.accepts(value):
            # accepted: a zero must say what it means in --help ("0 = off", "0 <= p < 1", ...)
            if value == 0:
                assert re.search(r"\b0 (=|<=|to)", action.help or ""), f"{command} {flag} 0 is undocumented"
            continue
        err = one_line_error([*command.split(), f"{flag}={probe}"], capsys, flag, probe)
        assert "expected a" in err


def test_the_range_is_named_in_the_error(capsys):
    one_line_error(["gpt", "train", "--grad-accum", "0"], capsys, "--grad-accum", ">= 1")
    one_line_error(["gpt", "train", "--min-lr=-1e-3"], capsys, "--min-lr", ">= 0")
    one_line_error(["gpt", "train", "--dropout", "1"], capsys, "--dropout", "< 1")
    one_line_error(["gpt", "sample", "--top-p", "0", "--model", "x"], capsys, "--top-p", "> 0 and <= 1")


@pytest.mark.parametrize("flags,needles", [
    (["--min-lr", "0.1", "--lr", "0.01"], ("--min-lr 0.1 is above --lr 0.01",)),
    (["--weight-decay", "1000"], ("--weight-decay 1000", "below")),
])
@pytest.mark.parametrize("engine", ["torch", "numpy"])
def test_flags_that_together_would_train_wrong(flags, needles, engine, tmp_path, capsys):
    out = tmp_path / "r"
    tiny = NUMPY_TINY[2:] if engine == "numpy" else GPT_TINY
    one_line_error(["gpt", "train", "--engine", engine, "--out", out, "--max-iters", "2", *tiny, *flags],
                   capsys, *needles)
    assert not out.exists()  # refused before anything was written
