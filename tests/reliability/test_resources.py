"""Input that would exhaust the machine is refused from its header, before it is decoded.

A 12000x12000 PNG is about 150 KB on disk and 4.5 GB once decoded to float arrays. The size
of an image is read from its header first; beyond the documented limit (4096 pixels a side)
it is one line and exit 2, in little memory, and with none of Pillow's warnings on stderr.
"""

import struct
import subprocess
import sys
import zlib

import pytest

from nn2gpt.digits.image import MAX_SIDE


def png_header_only(path, width: int, height: int) -> None:
    """A PNG whose header says width x height; the pixel data is a token (enough to be opened)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
                     + chunk(b"IEND", b""))


def _predict_in_a_child(image, model):
    """Run `digits predict` in a child process; (exit status, stderr, peak memory of that child in MB)."""
    import os
    import threading

    p = subprocess.Popen([sys.executable, "-m", "nn2gpt", "digits", "predict", str(image), "--model", str(model)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = []
    reader = threading.Thread(target=lambda: err.append(p.stderr.read()), daemon=True)
    reader.start()
    _, status, usage = os.wait4(p.pid, 0)  # this child's own resource use, not the largest of all children
    reader.join(30)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, b"".join(err).decode(), usage.ru_maxrss / 1024


@pytest.mark.parametrize("width,height", [(12000, 12000), (20000, 20000), (MAX_SIDE + 1, 10), (10, 50000)])
def test_a_huge_image_is_refused_from_its_header(width, height, runs, tmp_path):
    image = tmp_path / "huge.png"
    png_header_only(image, width, height)
    assert image.stat().st_size < 1000
    status, err, peak_mb = _predict_in_a_child(image, runs["digits"])
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1, err
    assert f"{MAX_SIDE}x{MAX_SIDE}" in lines[0] and "Warning" not in err
    assert peak_mb < 1000, f"{peak_mb:.0f} MB"  # the decoded image alone would be gigabytes


def test_an_image_at_the_limit_is_read(runs, tmp_path):
    from PIL import Image, ImageDraw

    image = tmp_path / "big.png"
    im = Image.new("L", (MAX_SIDE, 600), 255)
    ImageDraw.Draw(im).line((MAX_SIDE // 2, 50, MAX_SIDE // 2, 550), fill=0, width=60)
    im.save(image)
    status, err, _ = _predict_in_a_child(image, runs["digits"])
    assert status == 0 and err.strip() == "", err
