"""Files a run writes and reads: atomically, with the user's permissions, with clear errors.

Atomic: write to a temporary file in the *same directory*, flush it to disk, then
`os.replace` it over the target. `os.replace` is atomic on POSIX and Windows, so readers see
either the old file or the new one, never a mix.

Permissions: `tempfile` creates its files 0600 and its directories 0700 whatever the umask, so
a model trained by one user could not be read by another. Everything written here gets the
mode a plain `open()` or `mkdir` would have given it: 0666 or 0777 less the umask.

Errors: a path that is missing, a directory where a file is wanted (or the other way round),
or a device, each gets its own one-line message (`check_file`, `make_dirs`).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable


def _umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)  # elsewhere: the classic read-by-setting (not thread-safe, so a fallback)
    os.umask(old)
    return old


def file_mode() -> int:
    return 0o666 & ~_umask()


def dir_mode() -> int:
    return 0o777 & ~_umask()


def make_dirs(path: str | os.PathLike, flag: str = "--out") -> Path:
    """mkdir -p `path`, or a one-line UserError naming `flag` and why it cannot be a directory."""
    from nn2gpt.errors import UserError

    path = Path(path)
    if path.exists() and not path.is_dir():
        what = "a file" if path.is_file() else "a device or a pipe"
        raise UserError(f"{flag} {path} is {what}, not a directory; choose another {flag}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        why = "a part of it is a file" if isinstance(e, (NotADirectoryError, FileExistsError)) else e.strerror or e
        raise UserError(f"cannot create {flag} {path} ({why}); choose a directory you may write") from None
    return path


def check_file(path: str | os.PathLike, what: str, fix: str) -> Path:
    """`path` as a Path if it is a regular file; else a UserError saying what it is instead."""
    from nn2gpt.errors import UserError

    path = Path(path)
    if path.is_file():
        return path
    if path.is_dir():
        raise UserError(f"{what} {path} is a directory, not a file; {fix}")
    if path.exists():
        raise UserError(f"{what} {path} is not a regular file (a device or a pipe?); {fix}")
    raise UserError(f"{what} {path} does not exist; {fix}")


def sha256_file(path: str | os.PathLike) -> str:
    """The sha256 of a file's bytes, read a megabyte at a time (datasets and checkpoints)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp_path)` to produce the file, then move it atomically onto `path`."""
    path = Path(path)
    if path.exists() and not path.is_file():  # never rename over a directory, a device or a pipe
        from nn2gpt.errors import UserError

        what = "a directory" if path.is_dir() else "not a regular file (a device or a pipe?)"
        raise UserError(f"cannot write {path}: it is {what}; give the path of a file to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        tmp = Path(tmp)
        os.fchmod(fd, file_mode())
        os.close(fd)
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        if isinstance(e, OSError) and e.errno and (e.filename is None or tmp is None or str(e.filename) == str(tmp)):
            # name the file being written (a full disk, a permission), never its temporary copy
            raise type(e)(e.errno, e.strerror, str(path)) from None
        raise
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def read_json(path: str | os.PathLike, what: str = "file") -> Any:
    """Read JSON, turning a missing or broken file into a one-line UserError."""
    from nn2gpt.errors import UserError

    path = check_file(path, what, "check the path")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UserError(f"{what} {path} is not valid JSON ({e}); it is corrupt, re-create it") from None
