"""Writing a checkpoint, atomically (the format and its promises: nn2gpt.checkpoint).

A save writes a *new* directory under a temporary name, fsyncs every file, renames it to
`ckpt-<step>` (atomic), then atomically replaces `latest`; only then are older checkpoints
deleted, under the run's exclusive lock (nn2gpt.dirlock.deleting), and `config.json` and the
other files beside it written. A kill at any moment leaves the previous checkpoint loadable; a
failed write (a full disk, a permission) is one UserError that says it is intact.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from nn2gpt.checkpoint.load import (FORMAT, LATEST, META, OPTIMIZER, WEIGHTS, has_checkpoint, latest_checkpoint_dir,
                                    meta_digest)
from nn2gpt.dirlock import deleting
from nn2gpt.errors import UserError
from nn2gpt.files import atomic_write_json, atomic_write_text, dir_mode, file_mode, sha256_file

READER_WAIT = 1.0  # seconds a save waits for readers to finish before it leaves old checkpoints to the next


def _fsync_dir(path: Path) -> None:
    """Make a rename inside `path` durable (POSIX; a no-op where directories can't be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    from safetensors.numpy import save_file

    # safetensors wants C-contiguous arrays; copies only when needed.
    try:
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(path))
    except Exception as e:  # safetensors reports a full disk as its own SafetensorError, not an OSError
        if type(e).__name__ != "SafetensorError":
            raise
        full = "No space left" in str(e) or "os error 28" in str(e)
        raise OSError(errno.ENOSPC if full else errno.EIO, "No space left on device" if full else str(e),
                      str(path)) from None
    os.chmod(path, file_mode())  # safetensors creates its files 0600, whatever the umask
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def save_checkpoint(run_dir, weights: dict[str, np.ndarray], config: dict, tokenizer: dict,
                    optimizer: dict[str, np.ndarray] | None = None, state: dict | None = None,
                    keep: int = 1, files: dict[str, str] | None = None, again: str | None = None) -> Path:
    """Write a checkpoint into `run_dir` atomically and return its directory.

    `state` (JSON) carries whatever resume needs: step, RNG states, best val loss...
    The checkpoint is named after `state["step"]` when there is one. The newest `keep`
    checkpoints stay on disk (for `nn2gpt translate average`); older ones are deleted. The first save
    of a new run should keep 1, so that nothing of a run it replaces (--overwrite) survives.
    After the switch, `config.json` and the text `files` ({name: text}) are written beside it.
    A failed write is a UserError; the previous checkpoint is then still the one `latest` names.
    `again` says how to retry in that error (default: run again, with --resume if there is a checkpoint).
    """
    run_dir = Path(run_dir)
    step = int((state or {}).get("step", 0))
    _remove_leftovers(run_dir)
    try:
        final = _write_checkpoint(run_dir, step, weights, config, tokenizer, optimizer, state)
    except OSError as e:
        kept = (f"the previous checkpoint, {latest_checkpoint_dir(run_dir).name}, is intact"
                if has_checkpoint(run_dir) else "nothing was saved before")
        again = again or ("run again with --resume" if has_checkpoint(run_dir) else "run again")
        raise UserError(f"could not save the checkpoint of step {step} in {run_dir} ({e.strerror or e}); {kept}; "
                        f"free some disk space or fix the permissions, then {again}") from None
    # Only now is it safe to drop the old ones: all but the newest keep - 1 before this one. One
    # that sorts after this save is left over from a run that --overwrite replaced, and goes too.
    others = sorted((d for d in _checkpoint_dirs(run_dir) if d != final), key=_order)
    older = [d for d in others if _order(d) < _order(final)]
    stale = older[:max(len(older) - (keep - 1), 0)] + [d for d in others if _order(d) > _order(final)]
    _remove(run_dir, stale)
    try:
        atomic_write_json(run_dir / "config.json", config)
        for name, text in (files or {}).items():
            atomic_write_text(run_dir / name, text)
    except OSError as e:
        raise UserError(f"saved checkpoint {final.name}, but could not write beside it in {run_dir} "
                        f"({e.strerror or e}); free some disk space, then {again or 'run again with --resume'}") from None
    return final


def _write_checkpoint(run_dir: Path, step: int, weights, config, tokenizer, optimizer, state) -> Path:
    """The new checkpoint directory, complete and durable, and `latest` switched to it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=run_dir, prefix=".ckpt-tmp-"))
    try:
        os.chmod(tmp, dir_mode())  # mkdtemp makes it 0700: honour the umask like any mkdir
        files = {WEIGHTS: weights} | ({OPTIMIZER: optimizer} if optimizer is not None else {})
        for name, arrays in files.items():
            _save_arrays(tmp / name, arrays)
        meta = {"format": FORMAT, "config": config, "tokenizer": tokenizer, "state": state,
                "sha256": {name: sha256_file(tmp / name) for name in files}}
        meta = json.loads(json.dumps(meta))  # the digest is of what a reader will load (tuples are lists...)
        meta["meta_sha256"] = meta_digest(meta)
        with open(tmp / META, "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=2, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        _fsync_dir(tmp)
        # saving a step again (e.g. Ctrl-C right after a save) adds a suffix: ckpt-00000500-1, -2...
        again = [_order(d)[1] for d in _checkpoint_dirs(run_dir) if _order(d)[0] == step]
        final = run_dir / (f"ckpt-{step:08d}-{max(again) + 1}" if again else f"ckpt-{step:08d}")
        os.rename(tmp, final)  # atomic: the directory appears complete or not at all
        _fsync_dir(run_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        atomic_write_text(run_dir / LATEST, final.name + "\n")  # the switch: one atomic os.replace
    except BaseException:
        shutil.rmtree(final, ignore_errors=True)  # never switched to: no orphan ckpt-N stays behind
        raise
    _fsync_dir(run_dir)
    return final


def _remove_leftovers(run_dir: Path) -> None:
    """What a killed save left: a half-written `.ckpt-tmp-*` directory, a `.latest.*.tmp` or
    another atomic write's temporary file. Only the run's writer saves (it holds the run's lock,
    nn2gpt.runlock), so any of these in its directory belongs to a process that is gone."""
    if not run_dir.is_dir():
        return
    for leftover in run_dir.glob(".ckpt-tmp-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in run_dir.glob(".*.tmp"):
        if leftover.is_file():
            leftover.unlink(missing_ok=True)


def _remove(run_dir: Path, stale: list[Path]) -> None:
    """Delete the checkpoints `stale` once no reader holds the run (see the module's docstring);
    if readers keep it busy for READER_WAIT seconds, leave them for the next save."""
    if not stale:
        return
    with deleting(run_dir, wait=READER_WAIT) as held:
        if held:
            for old in stale:
                shutil.rmtree(old, ignore_errors=True)


def _checkpoint_dirs(run_dir: Path) -> list[Path]:
    return [d for d in run_dir.iterdir() if d.is_dir() and d.name.startswith("ckpt-")]


def _order(ckpt: Path) -> tuple[int, int]:
    """"ckpt-00000500-2" -> (500, 2): the order in which a run wrote its checkpoints."""
    step, _, again = ckpt.name.removeprefix("ckpt-").partition("-")
    try:
        return int(step), int(again or 0)
    except ValueError:
        return -1, -1  # not a name we write: the oldest of all
