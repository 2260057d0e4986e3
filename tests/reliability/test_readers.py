"""A reader racing a trainer loads a complete checkpoint, every time.

A run that trains saves a new checkpoint and deletes the old one; `gpt sample`, `translate` or
the studio may be opening the old one at that moment. They must never be told that the run is
damaged ("the checkpoint is incomplete, retrain or restore it") nor fail on a vanished file:
nn2gpt.dirlock keeps a checkpoint on disk while a reader may be opening it. Here a real trainer
saves every step (`--eval-interval 1`) while each loader loads the run 200 times.
"""

import subprocess
import sys
import time

import pytest
from reliability_helpers import GPT_TINY, NUMPY_TINY

from nn2gpt.checkpoint import has_checkpoint
from nn2gpt.errors import UserError

READS = 200
SWITCHES = 10  # and at least as many saves while they read


def _torch_loader(run):
    from nn2gpt.gpt.runs import load_model

    load_model(run)


def _numpy_loader(run):
    """What `gpt sample --engine numpy` reads: the checkpoint, its tokenizer, the numpy model."""
    from nn2gpt.checkpoint import load_checkpoint, require_vocab
    from nn2gpt.gpt.tokenizer import tokenizer_from_json
    from nn2gpt.numpy_gpt.model import NumpyGPT

    ck = load_checkpoint(run)
    require_vocab(run, ck.config, tokenizer_from_json(ck.tokenizer))
    NumpyGPT(ck.config["model"], ck.weights)


def _studio_loader():
    from nn2gpt.studio.runs import Models

    models = Models()
    return lambda run: models.get(run, "gpt")


@pytest.fixture
def training(tmp_path):
    """start(flags) -> the run directory of a trainer that saves every step until the test ends."""
    procs = []

    def start(flags):
        run = tmp_path / "live"
        proc = subprocess.Popen([sys.executable, "-m", "nn2gpt", "gpt", "train", "--out", str(run), *flags,
                                 "--eval-interval", "1", "--eval-batches", "1", "--max-iters", "1000000",
                                 "--max-seconds", "120"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        deadline = time.monotonic() + 60
        while not has_checkpoint(run):
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the trainer wrote no checkpoint in 60 s"
            time.sleep(0.05)
        return run, proc

    yield start
    for proc in procs:  # the reads are over and nothing the trainer would still save is read: stop it at once
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


@pytest.mark.parametrize("engine,loader", [("torch", "torch"), ("torch", "studio"), ("numpy", "numpy")])
def test_readers_racing_a_trainer_never_fail(engine, loader, training):
    run, proc = training(GPT_TINY if engine == "torch" else NUMPY_TINY)
    load = {"torch": _torch_loader, "numpy": _numpy_loader, "studio": _studio_loader()}[loader]
    steps, failures, reads = set(), [], 0
    deadline = time.monotonic() + 60
    while reads < READS or (len(steps) < SWITCHES and time.monotonic() < deadline):  # many reads, many saves
        try:
            load(run)
        except (UserError, OSError) as e:
            failures.append(str(e))
        reads += 1
        steps.add((run / "latest").read_text())
    assert proc.poll() is None, "the trainer stopped before the reads ended: they did not race it"
    assert failures == [], f"{len(failures)} of {reads} reads failed, e.g. {failures[0]}"
    assert len(steps) >= SWITCHES, f"the trainer switched checkpoints only {len(steps)} times while we read"
