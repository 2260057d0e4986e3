"""The repository's texts: every command a reader copies works from a clean clone, every link
between our own files resolves."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEXTS = sorted([ROOT / "README.md", ROOT / "BENCHMARKS.md", *(ROOT / "docs").rglob("*.md")])
MACHINE_LOCAL = re.compile(r"flock |/tmp/|/work/|/root/|/home/\w|\.lock\b")


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_machine_local_path_or_lock_in_a_text(path):
    bad = [f"{i}: {line.strip()}" for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
           if MACHINE_LOCAL.search(line) and "RUN/.lock" not in line]
    assert not bad, "a reader of a clean clone cannot follow these lines:\n" + "\n".join(bad)


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_to_our_own_files_and_anchors_resolves(path):
    text = path.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        file, _, anchor = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        assert dest.exists(), f"{path.name}: dead link {target}"
        if anchor and dest.suffix == ".md":
            headings = [_slug(h) for h in re.findall(r"^#+ (.+)$", dest.read_text(encoding="utf-8"), re.M)]
            assert anchor in headings, f"{path.name}: {target} names no heading of {dest.name}"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    s = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return s.replace(" ", "-")
