"""The tiny settings and the checks every bad-input test shares.

Each rule of reliability has its own module here, and each walks every command the argparse
parsers define (nn2gpt.cli.command_parsers), so a flag added tomorrow is probed tomorrow.
"""

import subprocess
import sys
from pathlib import Path

from nn2gpt.cli import main

GPT_TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16", "--batch-size", "4",
            "--eval-batches", "2", "--warmup", "2", "--threads", "1", "--sample-tokens", "0", "--quiet"]
NUMPY_TINY = ["--engine", "numpy", "--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16",
              "--batch-size", "4", "--eval-batches", "2", "--warmup", "2", "--sample-tokens", "0", "--quiet"]
TRANSLATE_TINY = ["--pair", "es-en", "--d-model", "16", "--layers", "1", "--heads", "2", "--ff", "32",
                  "--vocab-size", "200", "--max-tokens", "400", "--limit", "60", "--warmup", "5", "--quiet",
                  "--device", "cpu", "--threads", "1"]
DIGITS_TINY = ["--sizes", "784,10,10", "--epochs", "1", "--limit", "200"]


def snapshot(run: Path) -> dict:
    """Every file under `run` with its bytes: "the run is untouched" is `snapshot(run) == before`."""
    return {p.relative_to(run): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


def one_line_error(argv, capsys, *needles) -> str:
    """Run `nn2gpt ARGV` in this process; it must exit 2 with one line on stderr naming each needle."""
    status = main(list(map(str, argv)))
    err = capsys.readouterr().err.strip()
    assert status == 2, f"exit {status} for {argv}: {err}"
    assert len(err.splitlines()) == 1 and ": error: " in err, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err
    return err


def nn2gpt(*args, timeout=180, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nn2gpt", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, **kw)


