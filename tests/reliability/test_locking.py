"""One writer per run directory: a second process that would write into it is refused.

Two trainings into one --out used to interleave their saves (the config of one, the weights of
the other). Every command that writes a run holds an OS lock on it (nn2gpt.runlock); a second
one gets one line naming the PID that holds it, exit 2, and the run stays as it was. Readers
(sample, eval, predict, the studio) take no lock and keep working.
"""

import json
import os
import subprocess
import sys
import time

import pytest
from in_process import run_cli
from reliability_helpers import DIGITS_TINY, GPT_TINY, NUMPY_TINY, TRANSLATE_TINY, nn2gpt, one_line_error, snapshot

from nn2gpt.checkpoint import load_checkpoint
from nn2gpt.runlock import RunLock

pytestmark = pytest.mark.slow  # trains, or drives processes or a browser, for seconds: `-m 'not slow'` leaves it out

# every command that writes a run directory, with what it needs besides --out (which is last)
WRITERS = {
    "gpt train": lambda runs: ["gpt", "train", "--max-iters", "4", *GPT_TINY, "--overwrite"],
    "gpt train --engine numpy": lambda runs: ["gpt", "train", "--max-iters", "4", *NUMPY_TINY, "--overwrite"],
    "gpt train --resume": lambda runs: ["gpt", "train", "--resume", "--max-iters", "9"],
    "translate train": lambda runs: ["translate", "train", "--epochs", "1", *TRANSLATE_TINY, "--overwrite"],
    "translate average": lambda runs: ["translate", "average", runs["translate"], runs["translate-copy"],
                                       "--overwrite"],
    "digits train": lambda runs: ["digits", "train", *DIGITS_TINY, "--overwrite"],
    "gpt import": lambda runs: ["gpt", "import", "--from", runs["hf-gpt2"], "--overwrite"],
    "translate import": lambda runs: ["translate", "import", "--from", runs["hf-marian"], "--overwrite"],
    "lab run": lambda runs: ["lab", "run", "--tiny", "--steps", "2", "--seeds", "1", "--suite", "masks",
                             "--jobs", "1"],
    "tokens train": lambda runs: ["tokens", "train", "--vocab-size", "300", "--overwrite"],
    "gpt export": lambda runs: ["gpt", "export", runs["gpt"], "--overwrite"],
}
KIND = {"gpt train": "gpt", "gpt train --engine numpy": "numpy", "gpt train --resume": "gpt",
        "translate train": "translate", "translate average": "translate", "digits train": "digits", "lab run": "gpt",
        "gpt import": "gpt", "translate import": "translate", "tokens train": "tokens", "gpt export": "export"}


def test_every_writing_command_is_listed():
    """A command with --out that is not a reader must be in WRITERS (so a new one is not forgotten)."""
    from nn2gpt.cli import command_parsers

    readers = {"gpt attention", "digits show", "translate attention", "translate target-text", "lab report",
               "lab pizza"}
    writers = {c for c, p in command_parsers().items() if any(a.dest == "out" for a in p._actions)} - readers
    assert writers <= {w.split(" --")[0] for w in WRITERS}, writers


@pytest.mark.parametrize("writer", WRITERS)
def test_a_second_writer_is_refused_and_changes_nothing(writer, runs, copy_of, capsys):
    run = copy_of(KIND[writer])
    if writer == "translate average":  # two checkpoints of one model: the run and a copy of it
        runs = runs | {"translate-copy": run}
        run = run.parent / "avg"
    argv = [*WRITERS[writer](runs), "--out", run]
    with RunLock(run):  # another process would hold it the same way; the error names our PID then
        before = snapshot(run)
        one_line_error(argv, capsys, "in use by another nn2gpt process", f"PID {os.getpid()}", "--out")
        assert snapshot(run) == before


def test_readers_work_while_a_run_is_locked(runs, capsys):
    with RunLock(runs["gpt"]):
        assert nn2gpt("gpt", "sample", "--model", runs["gpt"], "--max-new-tokens", "5").returncode == 0
        assert nn2gpt("gpt", "sample", "--engine", "numpy", "--model", runs["numpy"], "--max-new-tokens", "5",
                      ).returncode == 0


def _start(out, *extra):
    return subprocess.Popen([sys.executable, "-m", "nn2gpt", "gpt", "train", "--out", str(out), *GPT_TINY,
                             "--max-iters", "100000", "--max-seconds", "4", "--eval-interval", "20", *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("overwrite", [False, True])
def test_two_trainings_at_once_one_wins_and_the_survivor_resumes(overwrite, copy_of, tmp_path):
    out = copy_of("gpt") if overwrite else tmp_path / "race"
    extra = ["--overwrite"] if overwrite else []
    first, second = _start(out, *extra), _start(out, *extra)
    results = [(p, p.communicate(timeout=120)[1]) for p in (first, second)]
    codes = sorted(p.returncode for p, _ in results)
    assert codes == [0, 2], results
    (winner, _), (loser, err) = sorted(results, key=lambda r: r[0].returncode)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f"in use by another nn2gpt process (PID {winner.pid})" in lines[0], err
    # the run is the winner's alone: its config and checkpoint agree, and it resumes
    ck = load_checkpoint(out)
    assert json.loads((out / "config.json").read_text()) == ck.config
    step = ck.state["step"]
    r = run_cli("gpt", "train", "--out", out, "--resume", "--max-iters", step + 3, "--max-seconds", 600)
    assert r.returncode == 0, r.stderr
    assert load_checkpoint(out).state["step"] == step + 3


def test_the_lock_goes_with_its_process(tmp_path):
    """kill -9 leaves no stale lock: the operating system drops it with the process."""
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom nn2gpt.runlock import RunLock\n"
                               f"with RunLock({str(tmp_path / 'r')!r}):\n    print('held', flush=True)\n"
                               "    time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    from nn2gpt.errors import UserError

    with pytest.raises(UserError, match=f"PID {holder.pid}"):
        with RunLock(tmp_path / "r"):
            pass
    holder.kill()
    holder.wait()
    deadline = time.time() + 10
    while True:
        try:
            with RunLock(tmp_path / "r"):
                break
        except UserError:
            assert time.time() < deadline, "the lock outlived its process"
            time.sleep(0.1)


def test_a_lock_file_removed_under_a_waiting_writer_is_not_a_lock(tmp_path, monkeypatch):
    """A refused writer removes the directory it made, lock file included; a writer that locked that
    file in the meantime holds a lock on nothing, and must take the lock again on the new file."""
    import fcntl

    import nn2gpt.runlock as runlock
    from nn2gpt.errors import UserError

    run = tmp_path / "r"
    run.mkdir()
    (run / ".lock").touch()
    real, calls = fcntl.flock, []

    def flock_after_a_cleanup(fd, op):
        if not calls:  # between our open() and our flock(), another process removes the lock file
            (run / ".lock").unlink()
        calls.append(fd)
        return real(fd, op)
    monkeypatch.setattr(fcntl, "flock", flock_after_a_cleanup)
    with runlock.RunLock(run) as held:
        assert len(calls) >= 2  # it noticed, and locked again
        assert runlock._same_file(held._fd, run / ".lock")
        monkeypatch.setattr(fcntl, "flock", real)
        with pytest.raises(UserError, match="in use by another nn2gpt process"):
            with runlock.RunLock(run):
                pass


def test_a_run_the_user_may_not_write_is_refused_before_training(copy_of, monkeypatch, capsys):
    """As a user without write access to an existing run sees it: refused at once, not at the first save
    after an hour of training (the tests run as root, for whom every directory is writable: the
    permission check itself is made to say no)."""
    import nn2gpt.runlock as runlock

    run = copy_of("gpt")
    before = snapshot(run)
    real = os.access
    monkeypatch.setattr(runlock.os, "access", lambda path, mode: False if str(path) == str(run) else real(path, mode))
    one_line_error(["gpt", "train", "--out", run, "--resume", "--max-iters", "50"], capsys,
                   "cannot write in --out", "permission denied")
    assert snapshot(run) == before
