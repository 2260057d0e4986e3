"""A new run damages nothing of the old one before it has something better.

`--overwrite` used to rewrite config.json before the first new checkpoint existed, so a new run
that failed or was killed early left a run whose config no longer matched its weights. Now the
config lives in the checkpoint (config.json is its copy, written after the switch), and the old
run stays whole — samples, evaluates and resumes — until the new run's first save.
"""

import signal
import subprocess
import sys
import threading
import time

import pytest
from in_process import run_cli
from reliability_helpers import DIGITS_TINY, GPT_TINY, NUMPY_TINY, TRANSLATE_TINY, one_line_error, snapshot

from nn2gpt.checkpoint import load_checkpoint

pytestmark = pytest.mark.slow  # trains, or drives processes or a browser, for seconds: `-m 'not slow'` leaves it out

# kind -> (a command that starts a long new run of another shape, where and what it prints once it trains);
# long enough that its first save is a minute away (translate saves an epoch end at most once a minute)
LONG_RUNS = {
    "gpt": (["gpt", "train", *GPT_TINY[:-1], "--n-embd", "32", "--max-iters", "100000", "--eval-interval", "100000"],
            "stderr", "/100000"),
    "numpy": (["gpt", "train", *NUMPY_TINY[:-1], "--n-embd", "32", "--max-iters", "100000",
               "--eval-interval", "100000"], "stdout", "parameters"),
    "translate": (["translate", "train", *TRANSLATE_TINY[:-5], "--d-model", "32", "--epochs", "100000",
                   "--device", "cpu", "--threads", "1"], "stderr", "epoch 1"),
}
CHECK = {  # a command that reads the run, and must still work on the old one
    "gpt": lambda run: ["gpt", "sample", "--model", run, "--max-new-tokens", "5"],
    "numpy": lambda run: ["gpt", "sample", "--engine", "numpy", "--model", run, "--max-new-tokens", "5"],
    "translate": lambda run: ["translate", "Hola.", "--model", run, "--beam", "1"],
}
RESUME = {
    "gpt": lambda run: ["gpt", "train", "--out", run, "--resume", "--max-iters", "8"],
    "numpy": lambda run: ["gpt", "train", "--engine", "numpy", "--out", run, "--resume", "--max-iters", "8"],
    "translate": lambda run: ["translate", "train", "--pair", "es-en", "--out", run, "--resume", "--epochs", "2",
                              "--quiet"],
}


def _wait_for(stream, sign: str, seconds: float = 90) -> str:
    """Read `stream` on a thread until `sign` shows up (the process's training loop has begun)."""
    seen, found = [], threading.Event()

    def read():
        tail = ""
        for chunk in iter(lambda: stream.read(1), ""):
            seen.append(chunk)
            tail = (tail + chunk)[-len(sign):]
            if tail == sign:
                found.set()
    threading.Thread(target=read, daemon=True).start()
    assert found.wait(seconds), "".join(seen)[-2000:]
    return "".join(seen)


@pytest.mark.parametrize("kind", LONG_RUNS)
def test_a_killed_overwrite_leaves_the_old_run_whole(kind, copy_of):
    run = copy_of(kind)
    before = snapshot(run)
    old_step = load_checkpoint(run).state["step"]
    argv, stream, sign = LONG_RUNS[kind]
    p = subprocess.Popen([sys.executable, "-m", "nn2gpt", *argv, "--out", str(run), "--overwrite"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(getattr(p, stream), sign)
    threading.Thread(target=(p.stderr if stream == "stdout" else p.stdout).read, daemon=True).start()
    time.sleep(0.5)  # well inside its first steps, far before its first save
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    assert snapshot(run) == before  # config.json, metrics, checkpoint: not one byte changed
    r = run_cli(*CHECK[kind](run))  # reading and resuming need no process of their own; the kill above did
    assert r.returncode == 0, r.stderr
    r = run_cli(*RESUME[kind](run))
    assert r.returncode == 0, r.stderr
    assert load_checkpoint(run).state["step"] > old_step


@pytest.mark.parametrize("kind,argv,needle", [
    ("gpt", ["gpt", "train", *GPT_TINY, "--n-embd", "30", "--n-head", "4"], "divisible"),
    ("gpt", ["gpt", "train", *GPT_TINY, "--text", "/nonexistent.txt"], "does not exist"),
    ("numpy", ["gpt", "train", *NUMPY_TINY, "--n-embd", "30", "--n-head", "4"], "divisible"),
    ("translate", ["translate", "train", *TRANSLATE_TINY, "--d-model", "30", "--heads", "4"], "divisible"),
    ("translate", ["translate", "train", *TRANSLATE_TINY, "--device", "cuda:99"], "cuda:99"),
])
def test_a_failed_overwrite_leaves_the_old_run_whole(kind, argv, needle, copy_of, capsys):
    run = copy_of(kind)
    before = snapshot(run)
    one_line_error([*argv, "--out", run, "--overwrite"], capsys, needle)
    assert snapshot(run) == before


def test_the_new_config_arrives_with_the_new_checkpoint(copy_of, capsys):
    import json

    run = copy_of("gpt")
    from nn2gpt.cli import main

    assert main(["gpt", "train", *GPT_TINY, "--n-embd", "32", "--max-iters", "3", "--out", str(run),
                 "--overwrite"]) == 0
    ck = load_checkpoint(run)
    assert ck.config["model"]["n_embd"] == 32 and json.loads((run / "config.json").read_text()) == ck.config
    assert len(list(run.glob("ckpt-*"))) == 1  # nothing of the replaced run is left to resume from


def test_digits_train_needs_overwrite_to_replace_a_model(copy_of, capsys):
    from nn2gpt.cli import main

    run = copy_of("digits")
    before = snapshot(run)
    one_line_error(["digits", "train", *DIGITS_TINY, "--out", run], capsys, "already holds a trained model",
                   "--overwrite")
    assert snapshot(run) == before
    assert main(["digits", "train", *DIGITS_TINY, "--sizes", "784,12,10", "--out", str(run), "--overwrite"]) == 0
    from nn2gpt.digits.model import load_model

    assert load_model(run)[0].sizes == [784, 12, 10]


def test_digits_weights_carry_their_config(copy_of):
    """A kill between the two writes of a save (weights, then config.json) leaves the new model whole."""
    from nn2gpt.digits.model import load_model, save_model
    from nn2gpt.digits.network import Network

    run = copy_of("digits")
    old_config = (run / "config.json").read_bytes()
    net = Network([784, 7, 10], seed=3)
    save_model(net, run)
    (run / "config.json").write_bytes(old_config)  # as if killed right after the weights were replaced
    loaded, config = load_model(run)
    assert loaded.sizes == [784, 7, 10] and config["sizes"] == [784, 7, 10]
    assert all((a == b).all() for a, b in zip(loaded.weights, net.weights))
