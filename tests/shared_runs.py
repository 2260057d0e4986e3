"""Trained runs made once for the whole test run, however many pytest-xdist workers share it.

A `scope="session"` fixture is made once per worker: with `make test`'s workers, every worker
would train the same tiny runs again. `once(tmp_path_factory, name, make)` makes them in a
folder every worker of this test run sees (the workers' common parent folder), under a lock:
the first worker to ask calls `make(folder)`, the others wait for it and read what it made.
A run that a test damages is copied first (the `copy_of` fixtures), never changed in place.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path


def shared_root(tmp_path_factory) -> Path:
    """The folder every worker of this test run shares (the run's own base folder without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def once(tmp_path_factory, name: str, make) -> Path:
    """`root/name`, made by `make(root/name)` the first time any worker asks; a failed `make`
    leaves nothing behind, so the next worker to ask fails the same way instead of reading half a run."""
    root = shared_root(tmp_path_factory) / "shared-runs"
    root.mkdir(parents=True, exist_ok=True)
    folder, done = root / name, root / f"{name}.done"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the others wait here until the first has made it
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            try:
                make(folder)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            done.touch()
    return folder
