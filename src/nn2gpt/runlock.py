"""One writer per run directory: an OS file lock that a second training process cannot take.

Two `nn2gpt gpt train --out X` at once would interleave their saves: `latest` from one, the
weights of the other. So every command that writes a run directory holds an exclusive
`fcntl.flock` on `X/.lock` while it runs:

    with RunLock(out):         # creates `out` if needed; UserError if another process holds it
        ...train, save...

The operating system releases a flock when its process ends, however it ends (`kill -9`
included), so a crashed run never leaves a stale lock behind. The file itself is never
written: the error names the holder's PID as the kernel reports it (/proc/locks on Linux).
A command that ends before it wrote anything (a bad flag, a run that diverged before its first
save) removes the directory it created for the lock, so it leaves no empty run behind. Readers (`sample`, `eval`, `predict`) take no such lock:
every file they read is replaced atomically (nn2gpt.files, nn2gpt.checkpoint), and the
checkpoint they open stays until they have read it (nn2gpt.dirlock).
"""

from __future__ import annotations

import os
from pathlib import Path

from nn2gpt.errors import UserError
from nn2gpt.files import make_dirs

LOCK = ".lock"


class RunLock:
    """An exclusive lock on the run directory `path`, held from `__enter__` to `__exit__`."""

    def __init__(self, path, flag: str = "--out"):
        self.path, self.flag, self._fd, self._created = Path(path), flag, None, []
        self._before: set[str] | None = None  # the folder's names when it held no lock file of ours

    def __enter__(self) -> RunLock:
        import fcntl

        missing = self.path
        while not missing.parent.exists() and missing.parent != missing:
            missing = missing.parent
        self._created = [] if self.path.exists() else [self.path, *[p for p in self.path.parents
                                                                     if p == missing or missing in p.parents]]
        for _ in range(20):  # a lock file deleted under us (see below) means: try again
            make_dirs(self.path, self.flag)
            self._before = _names(self.path) if not (self.path / LOCK).exists() else None
            if not os.access(self.path, os.W_OK | os.X_OK):  # before hours of training, not at the first save
                raise UserError(f"cannot write in {self.flag} {self.path} (permission denied); "
                                f"choose a directory you may write")
            try:
                fd = os.open(self.path / LOCK, os.O_RDONLY | os.O_CREAT, 0o666)
            except FileNotFoundError:
                continue  # the directory went away between the two calls (a refused writer cleaning up)
            except OSError as e:
                self._remove_created()
                raise UserError(f"cannot write in {self.flag} {self.path} ({e.strerror}); "
                                f"choose a directory you may write") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = _holder(fd)
                os.close(fd)
                raise UserError(f"{self.path} is in use by another nn2gpt process ({holder}) that writes into it; "
                                f"wait for it to finish, or choose another {self.flag}") from None
            # A writer that gave up removes the lock file it created; whoever locked that file meanwhile
            # holds a lock on nothing. So the lock counts only if the file locked is the one at the path.
            if _same_file(fd, self.path / LOCK):
                self._fd = fd
                return self
            os.close(fd)
        raise UserError(f"could not lock {self.path}: its lock file keeps changing; try again")

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._fd is None:
            return
        if self._created and _only_lock(self.path):
            self._remove_created()  # refused, or stopped, before anything was written: leave no trace
        elif self._before is not None and (_names(self.path) or {LOCK}) - {LOCK} == self._before:
            # a folder that was there before (someone's own, refused by nn2gpt.runout): leave it as it was
            (self.path / LOCK).unlink(missing_ok=True)
        os.close(self._fd)  # closing the descriptor releases the flock
        self._fd = None

    def _remove_created(self) -> None:
        try:
            (self.path / LOCK).unlink(missing_ok=True)
            for d in self._created:  # the run directory first, then the parents this lock made for it
                d.rmdir()
        except OSError:
            pass  # not empty after all (another process wrote there): leave it


def _same_file(fd: int, path: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _names(path: Path) -> set[str] | None:
    try:
        return {p.name for p in path.iterdir()}
    except OSError:
        return None


def _only_lock(path: Path) -> bool:
    try:
        return [p.name for p in path.iterdir()] in ([LOCK], [])
    except OSError:
        return False


def _holder(fd: int) -> str:
    """'PID 1234': who holds the flock on `fd`'s file, as the kernel lists it; 'PID unknown' elsewhere."""
    st = os.fstat(fd)
    inode = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        with open("/proc/locks", encoding="ascii") as f:
            for line in f:  # "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; waiters are "1: -> FLOCK ..."
                parts = line.split()
                if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5] == inode:
                    return f"PID {parts[4]}"
    except OSError:
        pass
    return "PID unknown"
