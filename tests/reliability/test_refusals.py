"""Smaller promises of the training commands: flags that cannot go together, more threads than
cores, a first save that fails, and errors that name the real path (not a temporary file, not nothing)."""

import errno
import os
import subprocess
import sys

import pytest
from reliability_helpers import (GPT_TINY, NUMPY_TINY, TRANSLATE_TINY, argv_of, base_commands, one_line_error,
                                 snapshot)

from nn2gpt.cli import Threads, command_parsers, cores


def _with(parser, *flags) -> bool:
    options = {o for a in parser._actions for o in a.option_strings}
    return all(f in options for f in flags)


def test_resume_and_overwrite_together_are_refused_by_every_command_that_has_both(runs, tmp_path, capsys):
    both = [c for c, p in command_parsers().items() if _with(p, "--resume", "--overwrite")]
    assert {"gpt train", "translate train"} <= set(both)
    for command in both:
        spec = base_commands({**runs, "translate-copy": runs["translate"]}, tmp_path)[command]
        argv = [*argv_of(command, spec), "--resume", "--overwrite"]
        one_line_error(argv, capsys, "--resume", "--overwrite", "exclude each other; give one of them")
    one_line_error(["gpt", "train", "--engine", "numpy", "--out", tmp_path / "x", "--overwrite", "--resume"], capsys,
                   "exclude each other")
    assert not (tmp_path / "x").exists()


def test_more_threads_than_cores_are_refused_with_the_count(capsys):
    have = len(os.sched_getaffinity(0))
    assert cores() == have
    flags = [(c, a.option_strings[-1]) for c, p in command_parsers().items() for a in p._actions
             if isinstance(a.type, Threads)]
    assert {"gpt train", "translate train", "translate eval", "translate"} <= {c for c, _ in flags}
    assert {c for c, p in command_parsers().items() if _with(p, "--threads")} == {c for c, _ in flags}
    for command, flag in flags:
        one_line_error([*command.split(), flag, str(have + 1)], capsys, f"<= {have}", f"use {have} core(s)")
        one_line_error([*command.split(), flag, "999"], capsys, "999", f"use {have} core(s)")


def _full_disk(monkeypatch):
    """Every checkpoint write fails with ENOSPC."""
    from nn2gpt.checkpoint import save as checkpoint  # where the arrays are written

    def full(path, arrays):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
    monkeypatch.setattr(checkpoint, "_save_arrays", full)


@pytest.mark.parametrize("argv", [
    ["gpt", "train", *GPT_TINY, "--max-iters", "2"],
    ["gpt", "train", *NUMPY_TINY, "--max-iters", "2"],
    ["translate", "train", *TRANSLATE_TINY, "--epochs", "1"],
], ids=["gpt", "numpy", "translate"])
def test_a_new_run_whose_first_save_fails_leaves_nothing_behind(argv, tmp_path, monkeypatch, capsys):
    """No directory, no .lock, no metrics.jsonl: as if it had never started."""
    _full_disk(monkeypatch)
    out = tmp_path / "new" / "run"
    one_line_error([*argv, "--out", out], capsys, "No space left on device", "nothing was saved before")
    assert not (tmp_path / "new").exists(), sorted(p.name for p in (tmp_path / "new").rglob("*"))


@pytest.mark.parametrize("kind,argv", [
    ("gpt", ["gpt", "train", *GPT_TINY, "--max-iters", "2"]),
    ("numpy", ["gpt", "train", *NUMPY_TINY, "--max-iters", "2"]),
    ("translate", ["translate", "train", *TRANSLATE_TINY, "--epochs", "1"]),
])
def test_a_failed_first_save_of_an_overwrite_run_does_not_advise_resume(kind, argv, copy_of, monkeypatch, capsys):
    """--resume would continue the run being replaced: the way to try again is --overwrite."""
    run = copy_of(kind)
    before = snapshot(run)
    _full_disk(monkeypatch)
    err = one_line_error([*argv, "--out", run, "--overwrite"], capsys, "No space left on device", "is intact",
                         "then run again with --overwrite")
    assert "--resume" not in err
    assert snapshot(run) == before


def test_an_atomic_write_that_fails_names_the_file_not_its_temporary_copy(tmp_path):
    from nn2gpt.files import atomic_write

    target = tmp_path / "results.json"

    def full(tmp):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp))
    with pytest.raises(OSError) as e:
        atomic_write(target, full)
    assert e.value.errno == errno.ENOSPC and e.value.filename == str(target)
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_in_lab_run_names_the_file_it_writes(tmp_path, monkeypatch, capsys):
    import nn2gpt.files as files

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")  # as fsync reports it: no file name
    monkeypatch.setattr(files.os, "fsync", full)
    out = tmp_path / "lab"
    err = one_line_error(["lab", "run", "--tiny", "--steps", "2", "--seeds", "1", "--suite", "masks", "--jobs", "1",
                          "--out", out], capsys, f"cannot use {out}/", ": No space left on device")
    assert ".tmp" not in err  # the picture or results.json, by its own name


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_standard_output_on_a_full_disk_is_named():
    r = subprocess.run(f"{sys.executable} -m nn2gpt data list > /dev/full", shell=True, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == [
        "nn2gpt data: error: cannot use standard output: No space left on device; free some disk space and run again"]


def test_a_data_dir_that_is_a_file_is_called_a_file(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    one_line_error(["digits", "train", "--data-dir", tmp_path / "f", "--out", tmp_path / "d"], capsys,
                   "is a file, not a directory")
    assert not (tmp_path / "d").exists()
