"""Progress: a bar on a terminal, a few plain lines in a log file."""

import io
import subprocess
import sys

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


def test_a_logged_training_run_of_2000_steps_writes_a_few_lines(tmp_path):
    r = subprocess.run([sys.executable, "-m", "nn2gpt", "gpt", "train", "--out", str(tmp_path / "r"), "--n-layer", "1",
                        "--n-head", "2", "--n-embd", "16", "--block-size", "16", "--batch-size", "4",
                        "--eval-batches", "2", "--max-iters", "2000", "--eval-interval", "1000", "--threads", "1",
                        "--sample-tokens", "0"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert len(r.stderr.encode()) < 3000, r.stderr
    assert "step 1/2000" in r.stderr and "step 2000/2000 (100%)" in r.stderr and "\r" not in r.stderr
