"""Links from a report the lab writes to the project's own files, wherever the report is written."""

from __future__ import annotations

import os
from pathlib import Path

SOURCES = Path(__file__).resolve().parents[3]  # the checkout: docs/ and src/ side by side


def source_link(text: str, path: str, out_dir: str | Path) -> str:
    """A Markdown link from a report in `out_dir` to `path` (relative to the checkout, e.g.
    "docs/gpt.md") that works wherever the report is written (docs/lab/, docs/lab/long/, a user's
    runs/lab/): it is relative to the report's own folder. Installed without the sources, the file
    is named in plain text."""
    target = SOURCES / path
    if not target.is_file():
        return f"{text} ({path} in nn2gpt's sources)"
    rel = os.path.relpath(target, Path(out_dir).expanduser().resolve())
    return f"[{text}]({Path(rel).as_posix()})"
