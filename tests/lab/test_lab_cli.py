"""`nn2gpt lab`: a tiny lab end to end, reproducibility, and one-line errors for bad input."""

import json
import re

import pytest
from PIL import Image

from lab_shared import TINY, tiny_lab

from nn2gpt.cli import main
from nn2gpt.lab.plan import make_plan
from nn2gpt.lab.report import QUESTIONS, portable_command


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """`nn2gpt lab run TINY --out <absolute tmp dir>`: the full tiny lab, shared with test_lab_depth."""
    return tiny_lab(tmp_path_factory)


def test_the_report_is_complete(lab):
    report = (lab / "REPORT.md").read_text(encoding="utf-8")
    for title in QUESTIONS.values():
        assert f"## {title}" in report
    pictures = [line.split("](")[1].split(")")[0] for line in report.splitlines() if line.startswith("![")]
    pictures += [p.split("](")[1].rstrip(")") for line in report.splitlines() for p in line.split(" ![")[1:]]
    assert len(pictures) >= 10
    for name in pictures:
        with Image.open(lab / name) as im:  # exists and is a valid PNG
            assert im.format == "PNG"
            im.verify()
    variants = [v.name for v in make_plan("all", 1, tiny=True).variants]
    assert len(variants) == 25  # 8 scores, 3 masks, 5 positions, 9 head sizes
    table = [line for line in report.split("## Summary")[1].split("## ")[0].splitlines() if line.startswith("| ")]
    assert [row.split("|")[2].strip(" `") for row in table[2:]] == variants
    assert "docs/translate.md" in report
    results = json.loads((lab / "results.json").read_text())
    assert {r["variant"] for r in results["runs"]} == set(variants)
    assert all("generated" in r["mask"] for r in results["runs"] if "mask" in r)
    assert all(r["steps"] == 12 for r in results["runs"])


def test_report_can_be_rewritten_from_results(lab, tmp_path):
    # written beside the lab: at the same depth, its relative links to the docs are the same
    again = lab.parent / f"{lab.name}-rewritten-{tmp_path.name}"
    assert main(["lab", "report", "--results", str(lab / "results.json"), "--out", str(again)]) == 0
    assert (again / "REPORT.md").read_text() == (lab / "REPORT.md").read_text()


def test_same_seed_same_numbers(lab, tmp_path):
    args = ["lab", "run", *TINY, "--suite", "masks", "--variants", "anticausal", "--out", str(tmp_path)]
    assert main(args) == 0
    again = json.loads((tmp_path / "results.json").read_text())["runs"]
    first = {(r["variant"], r["seed"]): r for r in json.loads((lab / "results.json").read_text())["runs"]}
    assert [r["variant"] for r in again] == ["baseline", "anticausal"]
    for r in again:
        ref = first[r["variant"], r["seed"]]
        for key in ("final_val", "history", "entropy", "sample", "generated_loss", "mask"):
            assert r[key] == ref[key], key


@pytest.mark.parametrize("args, words", [
    (["--suite", "everything"], "invalid choice"),
    (["--budget", "0"], "number of seconds > 0"),
    (["--budget", "-5"], "number of seconds > 0"),
    (["--budget", "soon"], "expected a number of seconds"),
    (["--seeds", "2.5"], "expected a whole number"),
    (["--seeds", "0"], "whole number >= 1"),
    (["--steps", "-1"], "whole number >= 1"),
    (["--variants", "dot,cubic"], "unknown variant cubic"),
])
def test_bad_input_is_one_line_and_exit_2(args, words, capsys, tmp_path):
    try:
        code = main(["lab", "run", *args, "--out", str(tmp_path)])
    except SystemExit as e:  # argparse exits by itself
        code = e.code
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and words in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())  # nothing written


def test_report_of_a_missing_file_is_one_line(tmp_path, capsys):
    assert main(["lab", "report", "--results", str(tmp_path / "nope.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err


ABSOLUTE = re.compile(r"(?:^|[\s`(\['\"=])(?:/|~/|[A-Za-z]:[\\/])[\w.-]", re.M)  # a path from the root


def _no_machine_path(text: str, *paths) -> None:
    for p in paths:
        assert str(p) not in text
    assert not ABSOLUTE.findall(text), [text[max(0, m.start() - 40):m.end() + 40] for m in ABSOLUTE.finditer(text)]


def test_the_report_names_no_path_of_the_machine(lab, data_dir):
    # the lab ran with an absolute --out (a tmp dir); the report and results.json show its name only
    report = (lab / "REPORT.md").read_text(encoding="utf-8")
    _no_machine_path(report, lab, data_dir)
    assert f"`nn2gpt lab run {' '.join(TINY)} --out {lab.name}`" in report
    assert str(lab) not in (lab / "results.json").read_text(encoding="utf-8")


def test_a_report_from_absolute_paths_shows_none(lab, tmp_path, data_dir):
    results = json.loads((lab / "results.json").read_text(encoding="utf-8"))
    where = tmp_path / "deep" / "lab"
    results["settings"]["command"] = (f"nn2gpt lab run --out {where} --data-dir {data_dir} --seeds 1 "
                                      f"--data-dir={data_dir} --steps 12")
    results["attention"]["picture"] = str(where / "attention_baseline.png")
    results["learned_positions"]["picture"] = str(tmp_path / "elsewhere" / "learned_similarity.png")
    code = main(["lab", "report", "--results", str(_write(tmp_path / "results.json", results)), "--out", str(where)])
    assert code == 0
    report = (where / "REPORT.md").read_text(encoding="utf-8")
    _no_machine_path(report, tmp_path, data_dir)
    assert "`nn2gpt lab run --out lab --seeds 1 --steps 12`" in report
    assert "](attention_baseline.png)" in report and "](learned_similarity.png)" in report


def test_portable_command_keeps_relative_paths():
    assert portable_command("nn2gpt lab run --out runs/lab --steps 490", "runs/lab") == \
        "nn2gpt lab run --out runs/lab --steps 490"
    assert portable_command("nn2gpt lab run --out=/srv/x/lab2 --data-dir=/srv/data", "/srv/x/lab2") == \
        "nn2gpt lab run --out=lab2"


def _write(path, obj):
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path
