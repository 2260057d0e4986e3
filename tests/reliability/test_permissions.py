"""Run files honour the umask, like any file a program writes.

`tempfile` makes its files 0600 and its directories 0700 whatever the umask; a model written
through it could not be read by anyone else. Every file and folder a run writes must have the
mode `open()` and `mkdir` would give: 0666 and 0777 less the umask.
"""

import os
import stat
import pytest
from in_process import run_cli
from reliability_helpers import DIGITS_TINY, GPT_TINY, NUMPY_TINY, TRANSLATE_TINY

pytestmark = pytest.mark.slow  # trains, or drives processes or a browser, for seconds: `-m 'not slow'` leaves it out

COMMANDS = {
    "gpt": ["gpt", "train", *GPT_TINY, "--max-iters", "4", "--eval-interval", "2", "--sample-tokens", "5"],
    "numpy": ["gpt", "train", *NUMPY_TINY, "--max-iters", "4", "--eval-interval", "2"],
    "translate": ["translate", "train", *TRANSLATE_TINY, "--epochs", "1"],
    "digits": ["digits", "train", *DIGITS_TINY],
}


@pytest.mark.parametrize("umask", [0o022, 0o027], ids=["umask022", "umask027"])
@pytest.mark.parametrize("kind", COMMANDS)
def test_every_file_of_a_run_honours_the_umask(kind, umask, tmp_path):
    out = tmp_path / "run"
    old = os.umask(umask)  # the run in this process, under that umask (nn2gpt.files reads it at every write)
    try:
        r = run_cli(*COMMANDS[kind], "--out", out)
    finally:
        os.umask(old)
    assert r.returncode == 0, r.stderr
    paths = [out, *out.rglob("*")]
    assert len(paths) > 4
    for path in paths:
        mode = stat.S_IMODE(path.stat().st_mode)
        want = (0o777 if path.is_dir() else 0o666) & ~umask
        assert mode == want, f"{path.relative_to(tmp_path)} is {mode:o}, the umask {umask:03o} gives {want:o}"
