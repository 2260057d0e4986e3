"""No traceback, whatever path a user gives and whatever the disk does.

Every path option of every command (read from the parsers) is given a path that is missing,
a directory, a file of garbage, a pipe, and a path through a file; each run ends with exit 0
or with one line and exit 2. A save that fails on a full disk says so in one line and keeps
the previous checkpoint, from which the run resumes.
"""

import errno

import pytest
from reliability_helpers import (DIGITS_TINY, GPT_TINY, NUMPY_TINY, TRANSLATE_TINY, argv_of, base_commands,
                                 one_line_error, path_options)

from nn2gpt.checkpoint import load_checkpoint
from nn2gpt.cli import command_parsers, main


def test_every_command_has_a_working_base(runs, copy_of, tmp_path, capsys):
    """The probes below start from these; each must work as given (else they probe nothing)."""
    runs = runs | {"translate-copy": copy_of("translate")}
    bases = base_commands(runs, tmp_path)
    assert set(bases) == set(command_parsers())
    # lab report reads the lab run's results.json, so the lab runs first
    for command in ["lab run", *[c for c in bases if c != "lab run"]]:
        status = main(argv_of(command, bases[command]))
        assert status == 0, (command, capsys.readouterr().err)


def _probes(tmp):
    import os

    (tmp / "empty-dir").mkdir(exist_ok=True)
    (tmp / "garbage").write_bytes(b"\x00\xff not what you think \x89PNG")
    if not (tmp / "a-pipe").exists():
        os.mkfifo(tmp / "a-pipe")  # not a regular file; unlike /dev/null, no harm if a bug replaced it
    return {"missing": tmp / "no" / "such" / "path", "a directory": tmp / "empty-dir", "garbage": tmp / "garbage",
            "a pipe": tmp / "a-pipe", "through a file": tmp / "garbage" / "inside"}


@pytest.mark.parametrize("command", sorted(command_parsers()))
def test_every_path_option_with_every_bad_path(command, runs, copy_of, tmp_path, capsys):
    parser = command_parsers()[command]
    runs = runs | {"translate-copy": copy_of("translate")}
    tried = 0
    for action in path_options(parser):
        key = action.option_strings[-1] if action.option_strings else action.dest
        for name, probe in _probes(tmp_path).items():
            spec = base_commands(runs, tmp_path)[command]
            spec[key] = [probe, runs["translate"]] if key == "checkpoints" else probe
            argv = argv_of(command, spec)
            status = main(argv)  # an exception here is a traceback for the user
            err = capsys.readouterr().err.strip()
            assert status in (0, 2), (argv, status, err)
            if status == 2:
                assert len(err.splitlines()) == 1 and ": error: " in err, (argv, err)
            tried += 1
    assert tried == 5 * len(path_options(parser))


def _full_disk_after(monkeypatch, good_saves: int):
    """From the (good_saves + 1)-th checkpoint on, writing its arrays fails with ENOSPC."""
    import nn2gpt.checkpoint as checkpoint

    real, calls = checkpoint._save_arrays, []

    def save(path, arrays):
        calls.append(path)
        if len({p.parent for p in calls}) > good_saves:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, arrays)
    monkeypatch.setattr(checkpoint, "_save_arrays", save)


@pytest.mark.parametrize("kind,argv", [
    ("gpt", ["gpt", "train", *GPT_TINY, "--max-iters", "6", "--eval-interval", "3"]),
    ("numpy", ["gpt", "train", *NUMPY_TINY, "--max-iters", "6", "--eval-interval", "3"]),
    ("translate", ["translate", "train", *TRANSLATE_TINY, "--epochs", "2", "--keep", "2"]),
])
def test_a_full_disk_during_a_save_keeps_the_previous_checkpoint(kind, argv, tmp_path, monkeypatch, capsys):
    out = tmp_path / "r"
    _full_disk_after(monkeypatch, good_saves=1)
    err = one_line_error([*argv, "--out", out], capsys, "No space left on device", "is intact", "--resume")
    first = load_checkpoint(out, with_optimizer=True)
    assert first.state["step"] > 0 and f"ckpt-{first.state['step']:08d}" in err
    assert not list(out.glob(".ckpt-tmp-*"))  # the half-written one is gone
    monkeypatch.undo()
    resume = {"translate": ["translate", "train", "--pair", "es-en", "--out", out, "--resume", "--epochs", "2",
                            "--quiet"],
              "numpy": ["gpt", "train", "--engine", "numpy", "--out", out, "--resume", "--quiet"]
              }.get(kind, ["gpt", "train", "--out", out, "--resume", "--quiet"])
    assert main(list(map(str, resume))) == 0
    assert load_checkpoint(out).state["step"] > first.state["step"]


def test_a_full_disk_when_digits_saves_keeps_the_old_model(copy_of, monkeypatch, capsys):
    import nn2gpt.digits.model as model

    run = copy_of("digits")
    before = (run / "weights.npz").read_bytes()

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
    monkeypatch.setattr(model, "atomic_write_bytes", full)
    one_line_error(["digits", "train", *DIGITS_TINY, "--out", run, "--overwrite"], capsys, "No space left on device",
                   "unchanged")
    assert (run / "weights.npz").read_bytes() == before


@pytest.mark.parametrize("device", ["cuda", "cuda:99", "tpu", "cpu:x"])
def test_a_device_that_is_not_there(device, runs, monkeypatch, capsys):
    import torch

    if device == "cuda":
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    one_line_error(["gpt", "sample", "--model", runs["gpt"], "--device", device], capsys, device)


@pytest.mark.parametrize("argv", [
    ["digits", "train", *DIGITS_TINY], ["gpt", "train", *GPT_TINY], ["gpt", "train", *NUMPY_TINY],
    ["translate", "train", *TRANSLATE_TINY], ["lab", "run", "--tiny", "--steps", "2", "--seeds", "1"],
])
def test_an_out_that_may_not_be_created_is_refused_before_training(argv, tmp_path, monkeypatch, capsys):
    """As a user without write access sees it (the tests run as root, so the refusal is injected)."""
    import pathlib

    def refuse(self, *a, **kw):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))
    monkeypatch.setattr(pathlib.Path, "mkdir", refuse)
    one_line_error([*argv, "--out", tmp_path / "ro" / "run"], capsys, "cannot create --out", "Permission denied")
