"""Progress: a bar on a terminal, a few plain lines in a log file."""

import io
import re
from in_process import run_cli

from nn2gpt.progress import PlainProgress, progress_bar


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_off_a_terminal_a_line_at_the_start_then_every_few_seconds_and_at_the_end(monkeypatch):
    import nn2gpt.progress as progress

    clock = iter(range(10**6))  # one second per call of the clock
    monkeypatch.setattr(progress.time, "perf_counter", lambda: float(next(clock)))
    log = io.StringIO()
    bar = progress_bar(100, desc="epoch 1", unit="batch", every=30, stream=log)
    assert isinstance(bar, PlainProgress)
    for i in range(100):
        bar.set_postfix(loss=f"{1 / (i + 1):.3f}")
        bar.update(1)
    bar.close()
    bar.close()
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("epoch 1: batch 1/100 (1%)")
    assert lines[-1].startswith("epoch 1: batch 100/100 (100%)") and lines[-1].endswith("loss 0.010")
    assert len(lines) == 2 + 99 // 30  # the first, one per 30 s, the last; a second close adds none


def test_on_a_terminal_the_bar_and_when_quiet_nothing():
    from tqdm import tqdm

    assert isinstance(progress_bar(10, stream=Terminal()), tqdm)
    quiet = io.StringIO()
    bar = progress_bar(10, disable=True, stream=quiet)
    bar.update(5)
    bar.close()
    assert quiet.getvalue() == ""


def test_a_logged_training_run_of_200_steps_writes_a_few_lines(tmp_path):
    r = run_cli("gpt", "train", "--out", tmp_path / "r", "--n-layer", "1", "--n-head", "2", "--n-embd", "16",
                "--block-size", "16", "--batch-size", "4", "--eval-batches", "2", "--max-iters", "200",
                "--eval-interval", "100", "--threads", "1", "--sample-tokens", "0")  # stderr is no terminal
    assert r.returncode == 0, r.stderr
    # a few lines and the run's path twice; a line per step, or per 5 steps (some 35 bytes each), is more
    assert len(r.stderr.encode()) < 1000, r.stderr
    assert "step 1/200" in r.stderr and "step 200/200 (100%)" in r.stderr and "\r" not in r.stderr


def test_a_budget_of_seconds_reads_the_clock_not_a_share_of_a_million_steps(monkeypatch):
    import nn2gpt.progress as progress

    clock = iter(range(10**6))
    monkeypatch.setattr(progress.time, "perf_counter", lambda: float(next(clock)))
    log = io.StringIO()
    bar = progress_bar(1_000_000, initial=10, every=3, stream=log, seconds=60, spent=6)  # resumed after 6 s
    for _ in range(12):
        bar.update(1)
    bar.close()
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("step 11, 7 s of 60 s (12%), ")  # 6 s before, 1 s now
    assert lines[-1].startswith("step 22, 19 s of 60 s (32%), ")
    assert all("/1000000" not in line for line in lines)
    steps = io.StringIO()  # a step budget that ends first still counts: the share is the larger one
    bar = progress_bar(20, every=100, stream=steps, seconds=3600)
    bar.update(10)
    assert "step 10, 1 s of 3600 s (50%)" in steps.getvalue()


def test_on_a_terminal_a_budget_of_seconds_is_a_bar_without_a_step_total():
    term = Terminal()
    bar = progress_bar(1_000_000, stream=term, seconds=60)
    bar.update(3)
    bar.close()
    assert bar.total is None and "60 s budget" in term.getvalue() and "1000000" not in term.getvalue()


def test_a_logged_run_with_a_budget_of_seconds_shows_the_seconds(tmp_path):
    r = run_cli("gpt", "train", "--out", tmp_path / "r", "--n-layer", "1", "--n-head", "2", "--n-embd", "16",
                "--block-size", "16", "--batch-size", "4", "--eval-batches", "2", "--max-iters", "1000000",
                "--max-seconds", "2", "--threads", "1", "--sample-tokens", "0")
    assert r.returncode == 0, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.startswith("step ")]
    assert lines and all(re.match(r"step \d+, \d+ s of 2 s \(\d+%\)", line) for line in lines), r.stderr
    assert lines[-1].startswith("step ") and re.search(r"of 2 s \((9\d|100)%\)", lines[-1]), r.stderr
    assert "/1000000" not in r.stderr and "\r" not in r.stderr
