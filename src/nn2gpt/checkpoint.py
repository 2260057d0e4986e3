"""Checkpoints that are safe to load and safe to write.

Safe to load: weights and optimizer state are safetensors (raw arrays plus a JSON header),
everything else is plain JSON. Nothing here ever unpickles, so a checkpoint from a stranger
cannot run code on your machine.

Safe to write: a kill at any moment leaves the previous checkpoint loadable. A run directory
looks like this::

    run/
      latest                 one line: the name of the current checkpoint directory
      config.json            a readable copy of the checkpoint's config, written after each save
      ckpt-00000500/
        weights.safetensors  model weights, float32 numpy arrays
        optimizer.safetensors  (optional) optimizer moments, for --resume
        meta.json            config, tokenizer, training state, sha256 of each file

A save writes a *new* directory under a temporary name, fsyncs every file, renames the
directory to `ckpt-<step>` (atomic), then atomically replaces `latest` (one small file written
by `os.replace`). Only then are older checkpoints deleted (all but the newest `keep`). Until
`latest` changes, loaders see the old checkpoint; afterwards, the new one, complete.

Safe to read while a run trains: readers take no writer's lock, but each load holds a *shared*
`flock` on the run directory from reading `latest` to opening the last file, and the writer
deletes old checkpoints only under an *exclusive* one (nn2gpt.dirlock). So a checkpoint
disappears only when no reader can be opening it; when readers keep the run busy for longer
than a moment, the old checkpoints simply go at the next save. A reader that still finds its
checkpoint gone (a file system without flock) reads `latest` again and loads the new one.

Trust nothing unchecked. The sha256 of each array file is in meta.json, and meta.json has its
own (`meta_sha256`, over everything else in it: config, tokenizer, state), so a file damaged
later (a truncated copy, a flipped byte) is named. Its `format` must be one this code knows.
Format 1 (the first release) had no `meta_sha256`; such a checkpoint still loads, guarded by
the checks every load makes whatever its format: every weight finite, and (in the loaders of
each chapter) the tokenizer, the config and every tensor's shape agreeing with each other.
A checksum catches accidents, not forgeries (anyone can recompute one): those checks are what
keeps a hand-edited checkpoint from ending in a traceback or in silent nonsense.

The config that counts is the one inside the checkpoint (meta.json): it changes together with
the weights, in the same rename. `config.json` beside it is a copy for people and is written
only after the switch, so a new run started with --overwrite and killed before its first save
leaves the old run whole: its checkpoint, its config, its metrics. A save that fails (a full
disk, a permission) is one UserError that says the previous checkpoint is intact.

This module imports only numpy, json and safetensors.numpy, so the numpy GPT (chapter 5)
reads and writes the same files as the PyTorch one.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nn2gpt.dirlock import deleting, reading
from nn2gpt.errors import UserError
from nn2gpt.files import atomic_write_json, atomic_write_text, dir_mode, file_mode, sha256_file

LATEST = "latest"
WEIGHTS = "weights.safetensors"
OPTIMIZER = "optimizer.safetensors"
META = "meta.json"
FORMAT = 2  # bump when the layout changes; 2: meta.json carries its own sha256
FORMATS = (1, 2)  # the formats this code reads
READER_WAIT = 1.0  # seconds a save waits for readers to finish before it leaves old checkpoints to the next


@dataclass
class Checkpoint:
    config: dict
    tokenizer: dict
    weights: dict[str, np.ndarray]
    optimizer: dict[str, np.ndarray] | None
    state: dict | None


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


def meta_digest(meta: dict) -> str:
    """The sha256 of meta.json's content, `meta_sha256` left out (key order and spacing fixed)."""
    body = {k: v for k, v in meta.items() if k != "meta_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


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


def latest_checkpoint_dir(run_dir) -> Path:
    """The directory `latest` points to; UserError when there is none."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        what = "a file" if run_dir.is_file() else "a device or a pipe"
        raise UserError(f"{run_dir} is {what}, not a run directory; give the directory a training run wrote")
    if not run_dir.is_dir():
        raise UserError(f"run directory {run_dir} does not exist; check the path, or train a model into it first")
    pointer = run_dir / LATEST
    if not pointer.is_file():
        if run_kind(run_dir) is not None:
            refuse_kind(run_dir, run_kind(run_dir), None)
        raise UserError(f"{run_dir} holds no checkpoint (no `{LATEST}` file); train first, or point to a run directory")
    for _ in range(50):  # a name read just before a save switched and deleted it: read `latest` again
        name = _read_pointer(pointer)
        ckpt = run_dir / name
        if name.startswith("ckpt-") and "/" not in name and ckpt.is_dir():
            return ckpt
        if _read_pointer(pointer) == name:
            break
    shown = name if len(name) <= 80 else f"{len(name)} characters that are no checkpoint's name"
    raise UserError(f"{pointer} points to {shown!r}, which is not a checkpoint directory; "
                    f"the run is damaged, retrain or restore it from a copy")


def _read_pointer(pointer: Path) -> str:
    try:
        return pointer.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def has_checkpoint(run_dir) -> bool:
    return (Path(run_dir) / LATEST).is_file()


def _load_arrays(path: Path, expected_sha: str | None) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    if not path.is_file():
        raise UserError(f"checkpoint file {path} is missing; the checkpoint is incomplete, retrain or restore it")
    if sha256_file(path) != expected_sha:
        raise UserError(f"checkpoint file {path} is corrupt or truncated (sha256 mismatch); retrain or restore it")
    try:
        arrays = load_file(str(path))
    except Exception as e:  # safetensors raises its own error types for malformed headers
        raise UserError(f"checkpoint file {path} cannot be read ({e}); it is corrupt, retrain or restore it") from None
    for name, a in arrays.items():
        if a.dtype.kind in "fc" and not np.isfinite(a).all():
            raise UserError(f"checkpoint file {path} holds non-finite numbers ({name} has NaN or inf): the run "
                            f"diverged or the file was altered; retrain it or restore a copy")
    return arrays


def checkpoint_dir(path) -> Path:
    """A checkpoint directory (`run/ckpt-00000500`) itself, or the latest checkpoint of a run."""
    path = Path(path)
    is_one = path.name.startswith("ckpt-") and path.is_dir() and not (path / LATEST).exists()
    return path if is_one else latest_checkpoint_dir(path)


def _read_meta(ckpt: Path) -> dict:
    meta_path = ckpt / META
    if not meta_path.is_file():
        raise UserError(f"{meta_path} is missing; the checkpoint is incomplete, retrain or restore it")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        fmt, config, tokenizer, sha = meta["format"], meta["config"], meta["tokenizer"], meta["sha256"]
        if not (isinstance(config, dict) and isinstance(tokenizer, dict) and isinstance(sha, dict)
                and isinstance(sha.get(WEIGHTS), str)):
            raise TypeError("config, tokenizer and sha256 must be objects, with the weights' sha256")
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, RecursionError) as e:
        raise UserError(f"{meta_path} is corrupt ({type(e).__name__}: {str(e)[:120]}); retrain or restore "
                        f"the checkpoint") from None
    if fmt not in FORMATS or isinstance(fmt, bool):
        raise UserError(f"{meta_path} says checkpoint format {str(fmt)[:20]!r}, which this nn2gpt does not read "
                        f"(it reads {', '.join(map(str, FORMATS))}); load it with the nn2gpt that wrote it, or retrain")
    if fmt >= 2 and meta.get("meta_sha256") != meta_digest(meta):
        raise UserError(f"{meta_path} is corrupt or was edited (its sha256 does not match); retrain or restore "
                        f"the checkpoint")
    return meta


def _read(path, read):
    """`read(checkpoint directory)` under the readers' lock. If the checkpoint vanished meanwhile
    (a save replaced it where the lock is not available), `latest` names a newer one: read that."""
    for attempt in range(50):
        with reading(path):
            ckpt = checkpoint_dir(path)
            try:
                return read(ckpt)
            except (UserError, OSError):
                if ckpt.is_dir() or ckpt == Path(path) or attempt == 49:
                    raise
        time.sleep(0.01)


def read_config(run_dir) -> dict:
    """The config of the latest checkpoint of `run_dir` (the one its weights were trained with)."""
    return _read(run_dir, lambda ckpt: _read_meta(ckpt)["config"])


def load_checkpoint(run_dir, with_optimizer: bool = False) -> Checkpoint:
    """Load the latest checkpoint of `run_dir` (weights as float32 numpy arrays); `run_dir` may
    also be one checkpoint directory (`run/ckpt-00000500`), to load that one. Every file is
    checked against its sha256 and every number must be finite (UserError otherwise)."""
    def read(ckpt: Path) -> Checkpoint:
        meta = _read_meta(ckpt)
        sha = meta["sha256"]
        weights = _load_arrays(ckpt / WEIGHTS, sha[WEIGHTS])
        optimizer = None
        if with_optimizer and OPTIMIZER in sha:
            optimizer = _load_arrays(ckpt / OPTIMIZER, sha[OPTIMIZER])
        return Checkpoint(config=meta["config"], tokenizer=meta["tokenizer"], weights=weights,
                          optimizer=optimizer, state=meta.get("state"))

    return _read(run_dir, read)


def require_vocab(run_dir, config: dict, tokenizer) -> None:
    """UserError unless the checkpoint's tokenizer and its model have one vocabulary size: a
    tokenizer cut short would otherwise decode a sampled id it lacks into an IndexError."""
    want = (config.get("model") or {}).get("vocab_size")
    if want != tokenizer.vocab_size:
        raise UserError(f"the checkpoint in {run_dir} disagrees with itself: its tokenizer has "
                        f"{tokenizer.vocab_size} tokens, its model {want}; retrain it or restore a copy")


# what each kind of run directory holds, and the command that makes and reads it
KINDS = {"translate": ("a translation model", "nn2gpt translate"), "gpt": ("a chapter-2 GPT", "nn2gpt gpt"),
         "digits": ("a digits network", "nn2gpt digits"), "lab": ("a lab report", "nn2gpt lab"),
         "export": ("a GPT exported for transformers", "nn2gpt gpt export"),
         "tokens": ("a tokenizer", "nn2gpt tokens")}
EXPORT_MARK = "nn2gpt-export.json"  # what `gpt export` writes beside the Hugging Face files it makes


def config_kind(config) -> str | None:
    """"gpt" or "translate" from a checkpoint's config (its "model"), None if neither."""
    from nn2gpt.gpt import MODELS

    model = (config.get("model") or {}).get("model") if isinstance(config, dict) else None
    return "translate" if model == "transformer" else "gpt" if model in MODELS else None


def run_kind(path) -> str | None:
    """What the directory `path` holds: "gpt" or "translate" (a checkpoint), "digits" (weights.npz),
    "lab" (results.json), "export" (a Hugging Face folder `gpt export` wrote), "tokens" (a tokenizer), or None (nothing of ours: empty, missing, or someone else's files)."""
    path = Path(path)
    if has_checkpoint(path):
        try:
            return config_kind(read_config(path)) or "unknown"
        except UserError:
            return "unknown"
    if (path / "weights.npz").is_file():
        return "digits"
    if (path / "results.json").is_file():
        return "lab"
    if (path / EXPORT_MARK).is_file():
        return "export"
    if (path / "merges.txt").is_file() and (path / "tokenizer.json").is_file():
        return "tokens"  # written by `nn2gpt tokens train` (nn2gpt.tokens.store)
    return None


def describe(kind: str | None) -> str:
    return KINDS.get(kind, ("a run of unknown kind", ""))[0]


def require_kind(run_dir, config: dict, want: str) -> None:
    """UserError unless the checkpoint config `config` of `run_dir` is of kind `want` ("gpt" or
    "translate"): a translation run given to `gpt sample` says so, not "unknown model 'transformer'"."""
    kind = config_kind(config)
    if kind != want:
        refuse_kind(run_dir, kind, want)


def refuse_kind(run_dir, kind: str | None, want: str | None):
    """UserError: `run_dir` holds a run of `kind`, where one of `want` (None: any checkpoint) belongs."""
    wanted = describe(want) if want else "a run with a checkpoint"
    fix = f"a directory of `{KINDS[want][1]}`" if want else "a run of `nn2gpt gpt` or `nn2gpt translate`"
    if kind not in KINDS:  # a damaged meta.json, or a checkpoint of a model we do not know: no command reads it
        raise UserError(f"{run_dir} holds a checkpoint whose meta.json cannot be read as one of ours, not {wanted}; "
                        f"retrain it, or give {fix}")
    raise UserError(f"{run_dir} holds {describe(kind)}, not {wanted}; use it with `{KINDS[kind][1]}`, or give {fix}")
