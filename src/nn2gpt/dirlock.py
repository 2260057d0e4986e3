"""Readers and the deleting writer of a run directory, kept apart by a lock on the directory.

A training run saves a new checkpoint and then deletes the old one, while `gpt sample`, the
studio or `translate eval` may be loading that old one: they read `latest`, then open the files
it names a moment later. Readers take no writer's lock (nn2gpt.runlock: they must never stop a
run), so they share a second, lighter one: an `flock` on the run directory itself.

    with reading(run):                   # shared: any number of readers at once
        ...read latest, open the files...
    with deleting(run, wait=2.0) as ok:  # exclusive: only when no reader is inside
        if ok: ...remove old checkpoints...

A reader never waits long (a writer holds the directory only while it deletes). The writer
does not wait for ever either: if readers keep the run busy, it gives up after `wait` seconds
and deletes at its next save. The kernel drops a flock when its process ends, however it ends.
Where a directory cannot be locked (no read permission, a file system without flock) both
proceed unlocked: the readers of nn2gpt.checkpoint then read `latest` again when their
checkpoint vanished.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def _locked(run_dir: Path, exclusive: bool, wait: float | None):
    """Yields True when the lock is held (or locking is impossible here), False when an
    exclusive lock could not be had within `wait` seconds."""
    import fcntl

    try:  # O_DIRECTORY: a pipe given as a run must not block this open until someone writes to it
        fd = os.open(run_dir, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        yield True  # not a directory, or not one we may open: the caller's own checks speak
        return
    try:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        deadline = time.monotonic() + (wait or 0.0)
        while True:
            try:
                fcntl.flock(fd, mode | (fcntl.LOCK_NB if wait is not None else 0))
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    yield False
                    return
                time.sleep(0.005)
            except OSError:  # the file system has no flock
                break
        yield True
    finally:
        os.close(fd)  # releases the lock


def reading(path):
    """The shared lock a reader holds while it resolves and opens a checkpoint of the run at
    `path` (a run directory, or one of its `ckpt-*` directories: then its run's)."""
    path = Path(path)
    run = path.parent if path.name.startswith("ckpt-") and not (path / "latest").exists() else path
    return _locked(run, exclusive=False, wait=None)


def deleting(run_dir, wait: float):
    """The exclusive lock a writer holds while it deletes old checkpoints of `run_dir`; yields
    False if readers still held it after `wait` seconds."""
    return _locked(Path(run_dir), exclusive=True, wait=wait)
