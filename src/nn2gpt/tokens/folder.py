"""Which folder a tokenizer is written to (`--out`) and read from (`--model`), by the project's rules.

`--out` of `nn2gpt tokens train` is a folder nn2gpt owns, like a training run (nn2gpt.runout):

- a new or empty folder (nothing in it but what our own writers leave: a lock, a temporary
  file) is written;
- a folder holding a tokenizer of `nn2gpt tokens train` is replaced only with --overwrite;
- a run of another chapter, a folder inside one, or a folder holding any file nn2gpt did not
  write is refused, with or without --overwrite: --overwrite is a promise about our files only.

The writer holds the folder's lock (nn2gpt.runlock) from the check to the last write, so two
trainings into one --out cannot interleave. `--model gpt2` names GPT-2's tokenizer (a folder
called gpt2 is then `./gpt2`); any other `--model` is a folder written by `nn2gpt tokens train`.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from nn2gpt.errors import UserError
from nn2gpt.tokens.store import META, load

GPT2 = "gpt2"


def check_out(out, overwrite: bool) -> None:
    """UserError when the project's rule for `--out` (nn2gpt.runout) forbids writing a tokenizer there."""
    from nn2gpt.runout import check_new_run

    check_new_run(out, "tokens", overwrite, resume_hint=False)


@contextmanager
def writing(out, overwrite: bool):
    """Check `out`, then hold its lock while the body trains and saves (checked again under the lock)."""
    from nn2gpt.runlock import RunLock

    check_out(out, overwrite)
    with RunLock(out):
        check_out(out, overwrite)  # another writer may have saved between the first check and the lock
        yield Path(out)


def open_model(name: str, data_dir=None):
    """The tokenizer `--model` names: gpt2, or a folder of `nn2gpt tokens train` (checked)."""
    if name == GPT2:
        from nn2gpt.tokens.gpt2 import load_gpt2

        return load_gpt2(data_dir)
    from nn2gpt.checkpoint import describe, run_kind

    path = Path(name)
    fix = "give a folder written by `nn2gpt tokens train`, or gpt2 for GPT-2's tokenizer"
    if not path.exists():
        raise UserError(f"--model {path} does not exist; {fix}")
    if not path.is_dir():
        what = "a file" if path.is_file() else "a device or a pipe"
        raise UserError(f"--model {path} is {what}, not a tokenizer folder; {fix}")
    kind = run_kind(path)
    if kind not in (None, "tokens"):
        raise UserError(f"--model {path} holds {describe(kind)}, not a tokenizer; {fix}")
    if not (path / META).exists():
        raise UserError(f"--model {path} holds no {META}, so it is not a tokenizer; {fix}")
    if not os.access(path / META, os.R_OK):
        raise UserError(f"--model {path / META} cannot be read (permission denied); fix its permissions")
    return load(path)
