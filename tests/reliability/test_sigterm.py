"""SIGTERM (`kill`, a container stop, a cluster's preemption) stops every training command as
Ctrl-C does: the step in flight finishes, one checkpoint is saved, one line says so, and the
command exits 143 (130 for Ctrl-C; nn2gpt.interrupt). The saved run then resumes.

Each test starts the trainer as a child process, waits until it is training (a checkpoint, a
metrics row or a progress line), sends SIGTERM and reads what it left.
"""

import json
import os
import re
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest
from reliability_helpers import DIGITS_TINY, GPT_TINY, NUMPY_TINY, TRANSLATE_TINY, start, terminate_when

from nn2gpt.checkpoint import load_checkpoint
from nn2gpt.cli import main

pytestmark = pytest.mark.slow  # trains, or drives processes or a browser, for seconds: `-m 'not slow'` leaves it out

PY = [sys.executable, "-m", "nn2gpt"]


def saved_rows(out: Path) -> list[dict]:
    path = out / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize("engine", [GPT_TINY, NUMPY_TINY], ids=["torch", "numpy"])
def test_gpt_train_saves_on_sigterm_exits_143_and_resumes(engine, tmp_path):
    out = tmp_path / "run"
    p = start([*PY, "gpt", "train", "--out", out, *engine, "--max-iters", "100000", "--eval-interval", "3"])
    _, err = terminate_when(p, lambda: (out / "latest").exists())
    assert p.returncode == 143, err
    step = load_checkpoint(out, with_optimizer=True).state["step"]
    assert re.search(rf"^interrupted by SIGTERM at step {step}: val loss", err, re.M), err
    assert "Traceback" not in err
    assert saved_rows(out)[-1] == {**saved_rows(out)[-1], "step": step}  # the final row: that step's evaluation
    assert main(["gpt", "train", "--out", str(out), "--resume", "--max-iters", str(step + 2),
                 *(["--engine", "numpy"] if "numpy" in engine else []), "--quiet"]) == 0
    assert load_checkpoint(out).state["step"] == step + 2


def test_gpt_train_under_torchrun_stops_every_process_at_one_step(tmp_path):
    """torchrun passes its SIGTERM to every worker; they agree on the step, process 0 saves it."""
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists():
        pytest.skip("torchrun is not installed beside this Python")
    out = tmp_path / "ddp"
    p = start([torchrun, "--standalone", "--nproc_per_node", "2", "-m", "nn2gpt", "gpt", "train", "--out", out,
               *GPT_TINY, "--device", "cpu", "--max-iters", "100000", "--eval-interval", "3"],
              env=os.environ | {"OMP_NUM_THREADS": "1"})
    _, err = terminate_when(p, lambda: (out / "latest").exists(), timeout=180)
    step = load_checkpoint(out, with_optimizer=True).state["step"]
    # both processes stop at the same step, the one saved; a process whose own SIGTERM came after the
    # processes agreed to stop ends as "done" at that step
    said = re.findall(r"^(?:interrupted by SIGTERM|done) at step (\d+):", err, re.M)
    assert said == [str(step), str(step)] and f"interrupted by SIGTERM at step {step}:" in err, err
    assert main(["gpt", "train", "--out", str(out), "--resume", "--max-iters", str(step + 2), "--quiet"]) == 0
    assert load_checkpoint(out).state["step"] == step + 2


def test_translate_train_saves_on_sigterm_exits_143_and_resumes(tmp_path):
    out = tmp_path / "run"
    p = start([*PY, "translate", "train", "--out", out, *TRANSLATE_TINY, "--epochs", "1000"])
    stdout, err = terminate_when(p, lambda: any("train_loss" in r for r in saved_rows(out)))
    assert p.returncode == 143, err
    state = load_checkpoint(out).state
    step = state["step"]
    assert f"interrupted by SIGTERM: saved step {step} to {out}; continue with --resume" in stdout
    assert err.strip() == "" or "Traceback" not in err
    # on to the end of the epoch after the one it stopped in: at least one whole epoch of the tiny run
    assert main(["translate", "train", "--pair", "es-en", "--out", str(out), "--resume",
                 "--epochs", str(state["epoch"] + 2), "--quiet"]) == 0
    assert load_checkpoint(out).state["step"] > step


def test_digits_train_saves_on_sigterm_between_two_mini_batches(tmp_path):
    """Chapter 1 saves once, at the end; a stop ends training after the mini-batch in flight and
    saves the weights as they are (no resume: the run is a finished model that predicts)."""
    out = tmp_path / "d"
    p = start([*PY, "digits", "train", "--out", out, *DIGITS_TINY, "--epochs", "100000"])
    lines = []

    def epoch_done():
        lines.append(os.read(p.stdout.fileno(), 65536).decode())  # the first epoch's line
        return "epoch" in "".join(lines) and "validation" in "".join(lines)
    stdout, err = terminate_when(p, epoch_done)
    assert p.returncode == 143, err
    said = [line for line in ("".join(lines) + stdout).splitlines() if line.startswith("interrupted")]
    assert len(said) == 1 and re.match(r"interrupted by SIGTERM after \d+ full epoch\(s\), [\d.]+ s: the weights as "
                                       r"they were saved in .*; test accuracy [\d.]+%$", said[0]), said
    assert "Traceback" not in err and (out / "weights.npz").exists()
    from nn2gpt.digits.model import load_model

    net, meta = load_model(out)
    assert meta["train"]["stopped_by"] == "SIGTERM" and net.sizes == [784, 10, 10]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_lab_run_stops_on_sigterm_keeping_the_finished_runs(jobs, tmp_path):
    out = tmp_path / "lab"
    p = start([*PY, "lab", "run", "--tiny", "--steps", "150", "--seeds", "2", "--suite", "masks", "--jobs", jobs,
               "--out", out])
    signalled = []

    def training():  # the first run is in results.json: the signal goes now
        if (out / "results.json").exists():
            signalled.append(time.time())
        return bool(signalled)
    _, err = terminate_when(p, training, timeout=240)
    assert p.returncode == 143, err
    assert time.time() - signalled[0] < 100  # it stopped, without hanging on its workers
    assert err.strip().splitlines()[-1] == "nn2gpt lab: interrupted by SIGTERM", err
    assert "Traceback" not in err and "Exception in thread" not in err, err  # nor from the pool's own thread
    runs = json.loads((out / "results.json").read_text())["runs"]
    assert runs and all(r["status"] != "interrupted" for r in runs)
    assert len(runs) < 6  # 3 variants x 2 seeds: the lab did not train on to the end
    assert not (out / "REPORT.md").exists()


def test_a_studio_job_stopped_by_sigterm_is_stopped_not_failed(tmp_path, data_dir):
    from nn2gpt.studio.jobs import Jobs

    jobs = Jobs(tmp_path, data_dir)
    job = jobs.start("gpt", "live", {"layers": 1, "width": 16, "seconds": 600})
    deadline = time.time() + 120
    while time.time() < deadline and not any(e["type"] == "metric" for e in job.events):
        time.sleep(0.2)
    job.proc.send_signal(signal.SIGTERM)  # from outside the studio: `kill`, a container stop
    job.proc.wait(120)
    while job.status == "running" and time.time() < deadline + 60:
        time.sleep(0.1)
    assert (job.status, job.returncode) == ("stopped", 143), [e.get("line") for e in job.events]
    assert load_checkpoint(tmp_path / "live").state["step"] > 0
    shutil.rmtree(tmp_path / "live")
