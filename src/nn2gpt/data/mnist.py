"""MNIST from the original idx `.gz` files, parsed by hand.

The idx format (yann.lecun.com/exdb/mnist) is tiny: a big-endian header, then raw bytes.
    bytes 0-1   zero
    byte  2     element type (0x08 = unsigned byte)
    byte  3     number of dimensions d (1 for labels, 3 for images)
    then d big-endian uint32 sizes, then prod(sizes) bytes of data.
So the "magic number" read as one uint32 is 0x00000801 for labels and 0x00000803 for images.

Split as in Nielsen's book: the 60,000 training images become 50,000 train + 10,000
validation (the last 10,000), and the 10,000 test images stay the test set.
"""

from __future__ import annotations

import gzip
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nn2gpt.data.fetch import fetch, file_state
from nn2gpt.errors import UserError

MAGIC = {1: 0x00000801, 3: 0x00000803}


_READ: dict = {}  # (path, ndim) -> (the file's size and time, its read-only array)


def read_idx(path: str | os.PathLike, ndim: int) -> np.ndarray:
    """Parse an idx(.gz) file into a read-only uint8 array of `ndim` dimensions, checking the header.

    Decompressed once per process while the file stays the same: the studio and a workbook milestone
    load MNIST several times (60,000 images are a third of a second of gzip each time)."""
    path = Path(path)
    try:
        state = file_state(path)
    except OSError:
        return _parse_idx(path, ndim)  # which names the problem
    key = (state[0], ndim)
    if key not in _READ or _READ[key][0] != state:  # a file replaced since drops what was read from it
        _READ[key] = (state, _parse_idx(path, ndim))
    return _READ[key][1]


def _parse_idx(path: Path, ndim: int) -> np.ndarray:
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise UserError(f"{path} is not a readable idx file ({e}); delete it and fetch it again") from None
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise UserError(f"{path} is too short to be an idx file; delete it and fetch it again")
    magic = int.from_bytes(raw[:4], "big")
    if magic != MAGIC[ndim]:
        raise UserError(f"{path} has idx magic number {magic:#010x}, expected {MAGIC[ndim]:#010x}; "
                        f"it is not an MNIST {'label' if ndim == 1 else 'image'} file")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise UserError(f"{path} holds {len(raw):,} bytes but its header promises {expected:,} "
                        f"(shape {shape}); the file is truncated or corrupt, fetch it again")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


@dataclass
class Split:
    """One split. images: (n, 784) float in [0, 1], labels: (n,) int64 digits 0-9."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class MNIST:
    train: Split       # 50,000
    validation: Split  # 10,000
    test: Split        # 10,000


def load_mnist(data_dir: str | os.PathLike | None = None, dtype=np.float64) -> MNIST:
    """Load MNIST with Nielsen's 50k/10k/10k split; pixels scaled to [0, 1]."""

    def load(prefix: str) -> Split:
        images = read_idx(fetch("mnist", f"{prefix}-images-idx3-ubyte.gz", data_dir), 3)  # (n, 28, 28)
        labels = read_idx(fetch("mnist", f"{prefix}-labels-idx1-ubyte.gz", data_dir), 1)  # (n,)
        if len(images) != len(labels):
            raise UserError(f"MNIST {prefix}: {len(images)} images but {len(labels)} labels; fetch the files again")
        pixels = images.reshape(len(images), 28 * 28).astype(dtype)
        pixels /= 255.0  # in place: the numbers of `/ 255.0`, without a second copy of 60,000 images
        return Split(pixels, labels.astype(np.int64))

    train, test = load("train"), load("t10k")
    return MNIST(
        train=Split(train.images[:50_000], train.labels[:50_000]),
        validation=Split(train.images[50_000:], train.labels[50_000:]),
        test=test,
    )
