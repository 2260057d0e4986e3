"""The tiny lab that several lab test modules read: all 25 variants, made once for the whole test run.

Made through `nn2gpt lab run` with an absolute --out (tests/shared_runs.py `once` shares it between
pytest-xdist workers); tests only read it, and copy what they change.
"""

from __future__ import annotations

from pathlib import Path

from shared_runs import once

from nn2gpt.cli import main

TINY = ["--tiny", "--steps", "12", "--seeds", "1", "--jobs", "1"]


def _make(out: Path) -> None:
    assert main(["lab", "run", *TINY, "--out", str(out)]) == 0


def tiny_lab(tmp_path_factory) -> Path:
    """The folder of the full tiny lab (REPORT.md, results.json, its pictures)."""
    return once(tmp_path_factory, "lab-tiny-all", _make)
