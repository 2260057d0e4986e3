"""The peer projects the benchmarks run beside nn2gpt: their own code, in a temporary copy.

The peers are not part of this repository. A benchmark finds them in `--peers DIR`, by default
`../shared/peers` next to the checkout (one folder per peer: `nanoGPT/`, `nielsen/`), copies the
peer it needs into a temporary directory and runs it there, so the original stays untouched.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tokenize
from pathlib import Path

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "peers"


def add_argument(ap) -> None:
    ap.add_argument("--peers", default=str(DEFAULT),
                    help="folder holding the peers' code (nanoGPT/, nielsen/); default: ../shared/peers "
                         "beside the repository")


def find(peers: str | os.PathLike, name: str, must_have: str) -> Path:
    """The folder of one peer; if it is missing, say so in one line and exit 2."""
    folder = Path(peers).expanduser() / name
    if not (folder / must_have).is_file():
        print(f"bench: the peers' code is not at {folder} (no {must_have} there); put the peers folder beside "
              f"the repository at ../shared/peers or give --peers DIR", file=sys.stderr)
        raise SystemExit(2)
    return folder


def copy(src: Path, dst: Path) -> Path:
    """Copy a peer's folder to `dst`, writable (the original may be read-only); return `dst`."""
    for root, dirs, files in os.walk(src):
        dirs[:] = [d for d in dirs if d not in (".git", "__pycache__")]
        target = dst / Path(root).relative_to(src)
        target.mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.copyfile(Path(root) / f, target / f)
    return dst


def python3_source(source: str) -> str:
    """Python 2 source -> Python 3 by the two changes allowed for Nielsen's code, and no others:
    the name `xrange` becomes `range`, and a print statement `print X` becomes `print(X)`.
    The result must compile; anything else Python 3 refuses is an error, not something to fix."""
    toks = list(tokenize.generate_tokens(io.StringIO(source).readline))
    edits = []  # ((row, col) start, (row, col) end, replacement)
    line_start = True
    for i, t in enumerate(toks):
        if t.type == tokenize.NAME and t.string == "xrange":
            edits.append((t.start, t.end, "range"))
        elif t.type == tokenize.NAME and t.string == "print" and line_start:
            j = i + 1
            while toks[j].type != tokenize.NEWLINE:
                j += 1
            body = [k for k in toks[i + 1:j] if k.type not in (tokenize.COMMENT, tokenize.NL)]
            if body and body[-1].string == ",":
                raise ValueError(f"line {t.start[0]}: `print ...,` (no newline) is more than the allowed change")
            end = body[-1].end if body else t.end
            edits.append((t.start, body[0].start if body else t.end, "print("))
            edits.append((end, end, ")"))
        line_start = t.type in (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT)
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    out = source
    for start, end, text in sorted(edits, reverse=True):
        a, b = offsets[start[0] - 1] + start[1], offsets[end[0] - 1] + end[1]
        out = out[:a] + text + out[b:]
    compile(out, "<python3_source>", "exec")
    return out
