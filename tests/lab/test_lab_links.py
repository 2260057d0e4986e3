"""The lab's reports link to the chapters' docs from wherever they are written."""

import re
from pathlib import Path

import pytest

from nn2gpt.files import read_json
from nn2gpt.lab.links import SOURCES
from nn2gpt.lab.report import write_report

DOCS_LAB = SOURCES / "docs" / "lab"


def _local_links(report: str) -> list[str]:
    """Every Markdown link that is neither a web address nor an anchor, pictures included."""
    return [t for t in re.findall(r"\]\(([^)\s]+)\)", report) if not re.match(r"[a-z]+:|#", t)]


@pytest.mark.parametrize("depth", ["lab", "runs/lab", "a/b/c/lab"])
def test_every_link_of_a_written_report_resolves(tmp_path, depth):
    out = tmp_path / depth
    out.mkdir(parents=True)
    results = read_json(DOCS_LAB / "results.json", "lab results")
    report = write_report(results, out).read_text(encoding="utf-8")
    links = [t for t in _local_links(report) if t.endswith(".md")]  # its pictures come from the runs
    assert any(t.endswith("docs/translate.md") for t in links) and any(t.endswith("docs/gpt.md") for t in links)
    for target in links:
        assert (out / target).resolve().exists(), f"{target} does not resolve from {depth}"


@pytest.mark.parametrize("report", ["REPORT.md", "long/REPORT.md", "pizza.md"])
def test_every_link_of_the_committed_reports_resolves(report):
    path = DOCS_LAB / report
    for target in _local_links(path.read_text(encoding="utf-8")):
        assert (path.parent / target).resolve().exists(), f"{report}: {target} is a dead link"
