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
    from nn2gpt.checkpoint import save as checkpoint  # where the arrays are written

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


def test_safetensors_own_full_disk_error_keeps_the_previous_checkpoint(tmp_path, monkeypatch, capsys):
    """safetensors reports a full disk as SafetensorError, not OSError: it must read the same."""
    import safetensors.numpy
    from safetensors import SafetensorError

    real, calls = safetensors.numpy.save_file, []

    def save_file(arrays, path, *a, **kw):
        calls.append(path)
        if len(calls) > 2:  # the weights and the optimizer of the first checkpoint get written
            raise SafetensorError("Error while serializing: IoError(Os { code: 28, kind: StorageFull, "
                                  "message: \"No space left on device\" })")
        return real(arrays, path, *a, **kw)
    monkeypatch.setattr(safetensors.numpy, "save_file", save_file)
    out = tmp_path / "r"
    one_line_error(["gpt", "train", *GPT_TINY, "--max-iters", "6", "--eval-interval", "3", "--out", out], capsys,
                   "No space left on device", "ckpt-00000003, is intact", "--resume")
    assert load_checkpoint(out).state["step"] == 3


def test_a_full_disk_at_the_first_save_says_run_again_without_resume(tmp_path, monkeypatch, capsys):
    _full_disk_after(monkeypatch, good_saves=0)
    err = one_line_error(["gpt", "train", *GPT_TINY, "--max-iters", "4", "--eval-interval", "2",
                          "--out", tmp_path / "r"], capsys, "nothing was saved before", "then run again")
    assert "--resume" not in err


@pytest.mark.parametrize("flags", [["--temperature", "1e-38"], ["--temperature", "1e-320"], ["--top-p", "1e-300"],
                                   ["--top-k", "1"], ["--temperature", "1e-30", "--top-p", "1e-300"]])
@pytest.mark.parametrize("engine", ["torch", "numpy"])
def test_extreme_sampling_values_sample_the_most_likely_token(flags, engine, runs, capsys):
    """As the temperature goes to 0 (or top-p, top-k to one token), sampling becomes greedy, without NaN."""
    base = ["gpt", "sample", "--engine", engine, "--model", str(runs["gpt"]), "--prompt", "To be",
            "--max-new-tokens", "20", "--seed", "1"]
    assert main([*base, "--temperature", "0"]) == 0
    greedy = capsys.readouterr().out
    assert main([*base, *flags]) == 0
    assert capsys.readouterr().out == greedy


def test_a_path_with_a_newline_is_still_one_line(tmp_path, capsys):
    one_line_error(["gpt", "train", "--text", tmp_path / "two\nlines.txt", "--out", tmp_path / "o"], capsys,
                   "two\\nlines.txt", "does not exist")


INPUTS = {"model", "run", "text", "results", "init_from", "lm", "image", "checkpoints"}


@pytest.mark.parametrize("command", sorted(c for c, p in command_parsers().items()
                                           if any(a.dest in INPUTS for a in p._actions)))
def test_every_input_path_that_is_not_a_run_or_file_is_refused(command, runs, copy_of, tmp_path, capsys):
    """Stricter than the walk above: a path that is read must exist and be of the right kind (exit 2)."""
    parser = command_parsers()[command]
    runs = runs | {"translate-copy": copy_of("translate")}
    for action in (a for a in path_options(parser) if a.dest in INPUTS):
        key = action.option_strings[-1] if action.option_strings else action.dest
        (tmp_path / "empty-dir").mkdir(exist_ok=True)
        (tmp_path / "garbage").write_bytes(b"\x00\xff not what you think")
        for probe in (tmp_path / "missing", tmp_path / "empty-dir", tmp_path / "garbage", tmp_path / "garbage" / "x"):
            spec = base_commands(runs, tmp_path)[command]
            spec[key] = [probe, runs["translate"]] if key == "checkpoints" else probe
            one_line_error(argv_of(command, spec), capsys)
