"""The probes of stopping and refusing, for bench/reliability_probes.py (its families "stops",
"divergence", "threads", "resume+overwrite" and "messages"). Each is a generator of
(probe name, passed, what happened); `run(argv) -> (status, stderr)` runs one command in-process.

  - stops: every training command (gpt on both engines, translate, digits, the lab with 1 and 2
    jobs) started as a child and sent SIGTERM once it trains: exit 143, no traceback, and a run
    that keeps checkpoints saved one that resumes;
  - divergence: a loss that explodes, finite (numpy --lr 1e6, digits --eta 1e30 on the book's
    setting) or not: exit 2, one line saying "diverged", nothing written;
  - threads: every --threads one past the cores: exit 2, one line with the count;
  - resume+overwrite: every command with both flags, given both: exit 2, one line;
  - messages: standard output on a full disk (/dev/full), --data-dir naming a file, a full disk in
    `lab run`: one line naming the real path (never a temporary file), exit 2.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

from reliability_helpers import (DIGITS_TINY, GPT_TINY, NUMPY_TINY, TRANSLATE_TINY, argv_of, base_commands,
                                 start, terminate_when)

from nn2gpt.checkpoint import load_checkpoint
from nn2gpt.cli import Threads, command_parsers, cores

PY = [sys.executable, "-m", "nn2gpt"]


def one_error(status, err: str, *needles) -> bool:
    """Exit 2 and exactly one line of error on stderr, naming every needle."""
    lines = err.strip().splitlines()
    return status == 2 and len(lines) == 1 and ": error: " in lines[0] and all(n in lines[0] for n in needles)


def _metrics_row(out: Path) -> bool:
    path = out / "metrics.jsonl"
    return path.exists() and "train_loss" in path.read_text()


STOPS = [  # name, argv, "training has begun" given --out, how to resume (None: the command saves at its end)
    ("gpt", ["gpt", "train", *GPT_TINY, "--max-iters", "100000", "--eval-interval", "3"],
     lambda out: (out / "latest").exists(), ["gpt", "train"]),
    ("numpy", ["gpt", "train", *NUMPY_TINY, "--max-iters", "100000", "--eval-interval", "3"],
     lambda out: (out / "latest").exists(), ["gpt", "train", "--engine", "numpy"]),
    ("translate", ["translate", "train", *TRANSLATE_TINY, "--epochs", "1000"], _metrics_row,
     ["translate", "train", "--pair", "es-en", "--max-seconds", "1"]),
    ("digits", ["digits", "train", *DIGITS_TINY, "--epochs", "100000"], lambda out: out.exists(), None),
    *[(f"lab --jobs {j}", ["lab", "run", "--tiny", "--steps", "300", "--seeds", "2", "--suite", "masks", "--jobs", j],
       lambda out: (out / "results.json").exists(), None) for j in ("1", "2")],
]


def stop_probes(tmp: Path, run):
    for name, argv, training, resume in STOPS:
        out = tmp / "stop" / name.replace(" ", "")
        p = start([*PY, *argv, "--out", out])
        try:
            _, err = terminate_when(p, lambda: training(out), timeout=240)
        except AssertionError as e:
            yield f"SIGTERM {name}", False, str(e)
            continue
        passed = p.returncode == 143 and "Traceback" not in err
        if passed and resume:
            step = load_checkpoint(out).state["step"]
            status, more = run([*resume, "--out", out, "--resume", "--max-iters" if "gpt" in resume else "--epochs",
                                str(step + 2) if "gpt" in resume else "1000", "--quiet"])
            passed, err = status == 0 and load_checkpoint(out).state["step"] > step, err + more
        yield f"SIGTERM {name}", passed, f"exit {p.returncode}: {err.strip()[-300:]}"


DIVERGING = [
    ("numpy --lr 1e6", ["gpt", "train", *NUMPY_TINY, "--lr", "1e6", "--weight-decay", "0", "--max-iters", "30",
                        "--eval-interval", "10"]),
    ("gpt --lr 1e6", ["gpt", "train", *GPT_TINY, "--lr", "1e6", "--weight-decay", "0", "--max-iters", "30",
                      "--eval-interval", "10", "--optimizer", "adamw", "--grad-clip", "0"]),
    ("translate --lr-factor 1e6", ["translate", "train", *TRANSLATE_TINY, "--epochs", "2", "--lr-factor", "1e6"]),
    ("digits --eta 1e30 (the book's setting)", ["digits", "train", *DIGITS_TINY, "--sizes", "784,30,10", "--cost",
                                                "quadratic", "--init", "large", "--lmbda", "0", "--eta", "1e30"]),
    ("digits --eta 1e30 --lmbda 0", ["digits", "train", *DIGITS_TINY, "--lmbda", "0", "--eta", "1e30"]),
]


def divergence_probes(tmp: Path, run):
    for i, (name, argv) in enumerate(DIVERGING):
        out = tmp / "diverge" / str(i)
        status, err = run([*argv, "--out", out])
        yield name, one_error(status, err, "diverged") and not out.exists(), f"exit {status}: {err.strip()[-300:]}"


def refusal_probes(runs: dict, work: Path, run):
    """(family, name, passed, stderr) for --threads past the cores and --resume with --overwrite."""
    have = cores()
    for command, parser in command_parsers().items():
        flags = {o for a in parser._actions for o in a.option_strings}
        for action in parser._actions:
            if isinstance(action.type, Threads):
                status, err = run([*command.split(), action.option_strings[-1], str(have + 1)])
                yield "threads", f"{command} --threads {have + 1}", one_error(status, err, f"use {have} core"), err
        if {"--resume", "--overwrite"} <= flags:
            status, err = run([*argv_of(command, base_commands(runs, work)[command]), "--resume", "--overwrite"])
            yield "resume+overwrite", command, one_error(status, err, "exclude each other"), err


def message_probes(tmp: Path, runs: dict, run):
    if os.path.exists("/dev/full"):
        for argv in (["data", "list"], ["gpt", "sample", "--model", runs["gpt"], "--max-new-tokens", "3"]):
            with open("/dev/full", "w") as full:
                r = subprocess.run([*PY, *map(str, argv)], stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
            yield f"{' '.join(argv[:2])} > /dev/full", one_error(r.returncode, r.stderr, "standard output"), r.stderr
    (tmp / "a-file").write_text("x")
    status, err = run(["digits", "train", "--data-dir", tmp / "a-file", "--out", tmp / "msg-d"])
    yield "--data-dir FILE", one_error(status, err, "is a file, not a directory"), err

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")  # as fsync reports it: no file name
    out = tmp / "msg-lab"
    with mock.patch("nn2gpt.files.os.fsync", full_disk):
        status, err = run(["lab", "run", "--tiny", "--steps", "2", "--seeds", "1", "--suite", "masks", "--jobs", "1",
                           "--out", out])
    yield "lab run on a full disk", one_error(status, err, f"cannot use {out}/") and ".tmp" not in err, err

