"""Reading a checkpoint, and checking every file of it (the format: nn2gpt.checkpoint).

`latest` names the checkpoint to read; meta.json, checked against its own sha256, gives the
config, the tokenizer, the state and the sha256 of each array file; each array file is checked
against it, and every number must be finite. A damaged or foreign file is one UserError that
names it and says what to do. Reads take the run's *shared* lock (nn2gpt.dirlock.reading), and
a checkpoint that vanished all the same (a save replaced it) is read again from `latest`.

The names of a checkpoint's files and its formats are declared here, for the writer
(nn2gpt.checkpoint.save) and the reader alike.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nn2gpt.dirlock import reading
from nn2gpt.errors import UserError
from nn2gpt.files import sha256_file
from nn2gpt.runkinds import config_kind, folder_kind, refuse_kind

LATEST = "latest"
WEIGHTS = "weights.safetensors"
OPTIMIZER = "optimizer.safetensors"
META = "meta.json"
FORMAT = 2  # bump when the layout changes; 2: meta.json carries its own sha256
FORMATS = (1, 2)  # the formats this code reads


@dataclass
class Checkpoint:
    config: dict
    tokenizer: dict
    weights: dict[str, np.ndarray]
    optimizer: dict[str, np.ndarray] | None
    state: dict | None


def meta_digest(meta: dict) -> str:
    """The sha256 of meta.json's content, `meta_sha256` left out (key order and spacing fixed)."""
    body = {k: v for k, v in meta.items() if k != "meta_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


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
        if folder_kind(run_dir) is not None:  # another command's folder: say which
            refuse_kind(run_dir, folder_kind(run_dir), None)
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


def run_kind(path) -> str | None:
    """What the directory `path` holds: "gpt" or "translate" (a checkpoint, by its config;
    "unknown" if that cannot be read as ours), else what nn2gpt.runkinds.folder_kind finds:
    "digits", "lab", "export", "tokens", or None (nothing of ours: empty, missing, or someone
    else's files)."""
    path = Path(path)
    if has_checkpoint(path):
        try:
            return config_kind(read_config(path)) or "unknown"
        except UserError:
            return "unknown"
    return folder_kind(path)
