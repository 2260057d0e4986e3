"""Find a dataset file, or download it; either way, verify its sha256 before anyone reads it.

Look-up order for a file such as `mnist/train-images-idx3-ubyte.gz`:
    1. the directory given on the command line (`--data-dir`),
    2. the directory in the environment variable NN2GPT_DATA,
    3. the user cache: $XDG_CACHE_HOME/nn2gpt or ~/.cache/nn2gpt,
    4. otherwise download it (with a progress bar) into the cache, atomically.
A file whose hash does not match is never used: it is an error, with the fix in the message.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path

from nn2gpt.data.registry import DATASETS, RemoteFile
from nn2gpt.errors import UserError
from nn2gpt.files import atomic_write, sha256_file

_verified: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256, per process


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nn2gpt"


def search_dirs(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The directories searched, in order. A directory the user named must exist."""
    dirs = []
    for value, what in ((data_dir, "--data-dir"), (os.environ.get("NN2GPT_DATA"), "NN2GPT_DATA")):
        if value:
            d = Path(value).expanduser()
            if d.exists() and not d.is_dir():
                raise UserError(f"data directory {d} (from {what}) is {'a file' if d.is_file() else 'a device or a pipe'}, "
                                f"not a directory; "
                                f"give the directory that holds the datasets, or leave {what} unset to use the cache")
            if not d.is_dir():
                raise UserError(f"data directory {d} (from {what}) does not exist; "
                                f"create it, fix the path, or leave {what} unset to use the cache")
            dirs.append(d)
    dirs.append(cache_dir())
    return dirs


def file_state(path: Path) -> tuple:
    """(the file's resolved path, size, modification time): what a cache of what was read from it is kept by."""
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def sha256_of(path: Path) -> str:
    key = file_state(path)
    if key not in _verified:
        _verified[key] = sha256_file(path)
    return _verified[key]


def verify(path: Path, spec: RemoteFile) -> Path:
    size = path.stat().st_size
    if size != spec.size or sha256_of(path) != spec.sha256:
        raise UserError(
            f"{path} is corrupt or truncated ({size:,} bytes, expected {spec.size:,} with sha256 "
            f"{spec.sha256[:12]}...); delete it and run `nn2gpt data fetch` again, or download it from {spec.urls[0]}")
    return path


def _download(spec: RemoteFile, dest: Path) -> None:
    from tqdm import tqdm

    errors = []
    for url in spec.urls:
        def write(tmp: Path, url=url) -> None:
            with urllib.request.urlopen(url, timeout=30) as r, open(tmp, "wb") as f, \
                    tqdm(total=spec.size, unit="B", unit_scale=True, desc=spec.path, file=sys.stderr,
                         leave=False) as bar:
                for block in iter(lambda: r.read(1 << 16), b""):
                    f.write(block)
                    bar.update(len(block))
            h = sha256_file(tmp)
            if h != spec.sha256:
                raise ValueError(f"sha256 mismatch ({h[:12]}...)")
        try:
            atomic_write(dest, write)
            return
        except Exception as e:  # network down, 404, bad hash: try the next mirror
            errors.append(f"{url}: {e}")
    raise UserError(
        f"{spec.path} is missing and could not be downloaded ({'; '.join(errors)}); "
        f"download it by hand from {spec.urls[0]} and put it at {cache_dir() / spec.path} "
        f"(or in the directory named by NN2GPT_DATA / --data-dir)")


def fetch(dataset: str, filename: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Return a verified local path for `filename` of `dataset`, downloading it if needed."""
    try:
        spec = DATASETS[dataset][filename]
    except KeyError:
        raise UserError(f"unknown data file {dataset}/{filename}; known datasets: {', '.join(DATASETS)}") from None
    dirs = search_dirs(data_dir)
    for d in dirs:
        path = d / spec.path
        if path.is_file():
            return verify(path, spec)
    dest = dirs[-1] / spec.path
    _download(spec, dest)
    return dest


def fetch_all(dataset: str, data_dir: str | os.PathLike | None = None) -> dict[str, Path]:
    if dataset not in DATASETS:
        raise UserError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")
    return {name: fetch(dataset, name, data_dir) for name in DATASETS[dataset]}
