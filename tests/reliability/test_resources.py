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


PEAK = """
import sys
from nn2gpt.cli import main
status = main(sys.argv[2:])
with open("/proc/self/status") as f:  # VmHWM: this program's peak resident memory, in kB
    peak = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
open(sys.argv[1], "w").write(peak)
sys.exit(status)
"""


def _predict_in_a_child(image, model, tmp_path):
    """Run `digits predict` in a fresh process; (exit status, stderr, that process's peak memory in MB).

    The peak is read by the process itself (VmHWM): the rusage of a child also counts the memory
    of the test process it was forked from."""
    r = subprocess.run([sys.executable, "-c", PEAK, str(tmp_path / "peak"), "digits", "predict", str(image),
                        "--model", str(model)], capture_output=True, text=True, timeout=120)
    return r.returncode, r.stderr, int((tmp_path / "peak").read_text()) / 1024


@pytest.mark.parametrize("width,height", [(12000, 12000), (20000, 20000), (MAX_SIDE + 1, 10), (10, 50000)])
def test_a_huge_image_is_refused_from_its_header(width, height, runs, tmp_path):
    image = tmp_path / "huge.png"
    png_header_only(image, width, height)
    assert image.stat().st_size < 1000
    status, err, peak_mb = _predict_in_a_child(image, runs["digits"], tmp_path)
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1, err
    assert f"{MAX_SIDE}x{MAX_SIDE}" in lines[0] and "Warning" not in err
    assert peak_mb < 120, f"{peak_mb:.0f} MB"  # 42 MB measured; the decoded 12000x12000 pixels alone are 144 MB


def test_an_image_at_the_limit_is_read(runs, tmp_path):
    from PIL import Image, ImageDraw

    image = tmp_path / "big.png"
    im = Image.new("L", (MAX_SIDE, 600), 255)
    ImageDraw.Draw(im).line((MAX_SIDE // 2, 50, MAX_SIDE // 2, 550), fill=0, width=60)
    im.save(image)
    status, err, _ = _predict_in_a_child(image, runs["digits"], tmp_path)
    assert status == 0 and err.strip() == "", err
