"""One way of counting the cores, one way of reporting a finished run: both engines' last lines
have one shape (nn2gpt.machine, nn2gpt.gpt.finished)."""

import os
import re

import pytest

from nn2gpt.cli import main

TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16", "--batch-size", "4",
        "--eval-batches", "2", "--warmup", "2", "--sample-tokens", "0", "--quiet", "--max-iters", "4",
        "--eval-interval", "2"]
LINE = (r"done at step 4: val loss \d\.\d{{4}} \(best \d\.\d{{4}}\), \d\.\d{{4}} bits per byte, in [\d.]+ s{tag}; "
        r"run saved in {out}\nsample it: nn2gpt gpt sample --model {out}{flag} --prompt ROMEO:\n")


@pytest.mark.parametrize("engine, tag, flag", [("torch", "", ""), ("numpy", r" \(numpy engine\)", " --engine numpy")])
def test_both_engines_report_a_finished_run_the_same_way(tmp_path, capsys, engine, tag, flag):
    out = tmp_path / engine
    assert main(["gpt", "train", "--engine", engine, *TINY, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert re.fullmatch(LINE.format(tag=tag, out=re.escape(str(out)), flag=flag), err), err


def test_the_cores_are_counted_once_from_the_affinity(monkeypatch):
    from nn2gpt import machine

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert machine.cores() == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert machine.training_threads() == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2})
    assert machine.training_threads() == 3
    monkeypatch.setattr(os, "getloadavg", lambda: (3.5, 0.0, 0.0))
    assert machine.training_threads() == 1          # busy: one thread


def test_the_cores_free_now_leave_out_this_processs_own_work(monkeypatch):
    """free_cores: the machine's busy time less this process's, over the last second (readings faked:
    (now, the machine's busy seconds, this process's CPU seconds))."""
    from nn2gpt import machine

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(machine, "_window", {})
    readings = iter([(100.0, 0.0, 0.0), (100.1, 0.2, 0.2), (101.0, 1.8, 0.9), (102.0, 2.8, 1.9),
                     (200.0, 9.0, 9.0)])
    monkeypatch.setattr(machine, "_reading", lambda: next(readings))
    assert machine.free_cores() == 2        # no reading before: the load average's answer (idle)
    assert machine.free_cores() == 2        # 0.1 s later: too short a window, the last answer
    assert machine.free_cores() == 1        # another process kept 0.9 of a core busy: one thread
    assert machine.free_cores() == 2        # a second of this process's own work only: both cores free
    monkeypatch.setattr(os, "getloadavg", lambda: (3.5, 0.0, 0.0))
    assert machine.free_cores() == 1        # 98 s since: stale, the load average's answer again (busy)


def test_the_cores_free_now_read_from_this_machine():
    from nn2gpt import machine

    assert all(1 <= machine.free_cores() <= machine.cores() for _ in range(3))
    now, busy, own = machine._reading()
    assert busy > 0 and 0 < own <= busy + 1
