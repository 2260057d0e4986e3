import gzip
import shutil
import subprocess
import sys

import numpy as np
import pytest

from nn2gpt.data import DATASETS, fetch
from nn2gpt.data.mnist import load_mnist, read_idx
from nn2gpt.errors import UserError


def test_every_file_in_shared_matches_registry(data_dir):
    for name, files in DATASETS.items():
        for fname in files:
            assert fetch(name, fname).is_relative_to(data_dir)


def test_missing_file_names_file_url_and_place(tmp_path, monkeypatch):
    monkeypatch.setenv("NN2GPT_DATA", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # no network: make every download fail fast
    monkeypatch.setattr("urllib.request.urlopen", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    with pytest.raises(UserError) as e:
        fetch("tinyshakespeare", "input.txt")
    msg = str(e.value)
    assert "tinyshakespeare/input.txt" in msg and "https://" in msg and str(tmp_path / "cache") in msg
    assert not (tmp_path / "cache" / "tinyshakespeare" / "input.txt").exists()  # nothing half-written


def test_download_writes_verified_file_into_cache(tmp_path, monkeypatch, data_dir):
    """A fake server returning the real bytes: the file lands in the cache, verified."""
    import io

    monkeypatch.delenv("NN2GPT_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    payload = (data_dir / "mnist/t10k-labels-idx1-ubyte.gz").read_bytes()

    class Resp(io.BytesIO):
        def __exit__(self, *a):
            return False

    monkeypatch.setattr("urllib.request.urlopen", lambda url, timeout: Resp(payload))
    path = fetch("mnist", "t10k-labels-idx1-ubyte.gz")
    assert path == tmp_path / "nn2gpt/mnist/t10k-labels-idx1-ubyte.gz"
    assert path.read_bytes() == payload


def test_download_with_wrong_bytes_is_refused(tmp_path, monkeypatch):
    import io

    monkeypatch.delenv("NN2GPT_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    class Resp(io.BytesIO):
        def __exit__(self, *a):
            return False

    monkeypatch.setattr("urllib.request.urlopen", lambda url, timeout: Resp(b"not mnist"))
    with pytest.raises(UserError, match="could not be downloaded"):
        fetch("mnist", "t10k-labels-idx1-ubyte.gz")
    assert not list((tmp_path / "nn2gpt").rglob("*.gz"))


def test_truncated_copy_is_refused(tmp_path, monkeypatch, data_dir):
    src = data_dir / "mnist/t10k-labels-idx1-ubyte.gz"
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / src.name).write_bytes(src.read_bytes()[:-100])
    monkeypatch.setenv("NN2GPT_DATA", str(tmp_path))
    with pytest.raises(UserError, match="corrupt or truncated"):
        fetch("mnist", src.name)


def test_missing_data_directory(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        fetch("mnist", "t10k-labels-idx1-ubyte.gz", data_dir=tmp_path / "nope")


def test_mnist_split_and_counts():
    m = load_mnist(dtype=np.float32)
    assert m.train.images.shape == (50_000, 784) and m.validation.images.shape == (10_000, 784)
    assert m.test.images.shape == (10_000, 784)
    assert 0.0 <= m.train.images.min() and m.train.images.max() == 1.0
    assert m.train.labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]  # MANIFEST.md
    assert m.test.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(m.test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_idx_wrong_magic_and_truncation(tmp_path, data_dir):
    raw = gzip.decompress((data_dir / "mnist/t10k-labels-idx1-ubyte.gz").read_bytes())
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + raw[4:]))
    with pytest.raises(UserError, match="magic"):
        read_idx(bad, 1)
    bad.write_bytes(gzip.compress(raw[:-5]))
    with pytest.raises(UserError, match="truncated"):
        read_idx(bad, 1)
    bad.write_bytes(b"garbage, not gzip")
    with pytest.raises(UserError, match="not a readable idx"):
        read_idx(bad, 1)
    good = tmp_path / "good"
    good.write_bytes(raw)
    assert read_idx(good, 1).shape == (10_000,)


def test_an_idx_file_is_decompressed_once_per_process_and_again_once_it_changed(tmp_path, data_dir):
    import os

    raw = gzip.decompress((data_dir / "mnist/t10k-labels-idx1-ubyte.gz").read_bytes())
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(raw))
    first = read_idx(path, 1)
    assert read_idx(path, 1) is first, "the same file was parsed again"
    assert not first.flags.writeable, "a shared array must not be changed by one of its readers"
    changed = bytearray(raw)
    changed[8] = (changed[8] + 1) % 10  # another first label
    path.write_bytes(gzip.compress(bytes(changed)))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    again = read_idx(path, 1)
    assert again is not first and again[0] == changed[8], "a file that changed was not read again"


def test_cli_help_is_fast_and_lists_chapters():
    out = subprocess.run([sys.executable, "-m", "nn2gpt", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for name in ("digits", "gpt", "translate", "lab"):
        assert name in out.stdout
    # fast = no heavy import (the 0.5 s target is measured in bench/, not by a timed test, which a busy machine fails)
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "nn2gpt", "--help"],
                         capture_output=True, text=True)
    assert "torch" not in out.stderr and "numpy" not in out.stderr


def test_cli_unknown_command_one_line():
    out = subprocess.run([sys.executable, "-m", "nn2gpt", "frobnicate"], capture_output=True, text=True)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1


def test_cli_data_fetch_and_bad_dir(tmp_path):
    out = subprocess.run([sys.executable, "-m", "nn2gpt", "data", "fetch", "mnist"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.count("ok") == 4
    out = subprocess.run([sys.executable, "-m", "nn2gpt", "data", "fetch", "mnist", "--data-dir", str(tmp_path / "x")],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "does not exist" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
