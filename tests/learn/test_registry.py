"""The exercises are their folders: the registry finds each one by listing the chapters' packages,
reads its data from its exercise.toml, and the docs' tables are that data."""

import re
from pathlib import Path

import pytest

from nn2gpt.learn.registry import HERE, all_exercises, read

DOCS = Path(__file__).resolve().parents[2] / "docs" / "learn.md"
FILES = {"exercise.toml", "stub.py", "solution.py", "check.py"}


def table_rows(chapter: int) -> str:
    """The rows of a chapter's table in docs/learn.md, as its exercises' data says."""
    rows = []
    for ex in all_exercises():
        if ex.chapter == chapter:
            rows.append(f"| `{ex.file}` | {ex.you_write} |" + (f" {ex.checked_against} |" if ex.checked_against else ""))
    return "\n".join(rows)


@pytest.mark.parametrize("chapter", range(6))
def test_the_docs_table_of_each_chapter_is_its_exercises_data(chapter):
    rows = table_rows(chapter)
    assert rows and rows in DOCS.read_text(encoding="utf-8"), f"docs/learn.md should hold, in one piece:\n{rows}"


def test_the_docs_name_no_exercise_that_is_not_one():
    listed = re.findall(r"^\| `(\d\d[a-z]?_\w+\.py)` \|", DOCS.read_text(encoding="utf-8"), re.M)
    assert listed == [ex.file for ex in all_exercises()]


def test_every_folder_of_a_chapter_is_an_exercise_with_its_four_files():
    folders = [f for f in HERE.glob("ch[0-9]/*") if f.is_dir() and f.name != "__pycache__"]
    assert sorted(f.name for f in folders) == sorted(ex.folder.name for ex in all_exercises())
    for ex in all_exercises():
        assert {f.name for f in ex.folder.iterdir() if f.name != "__pycache__"} == FILES, ex.folder


def test_the_road_is_in_order_and_no_name_or_number_is_taken_twice():
    road = all_exercises()
    assert len(road) == 33
    assert [ex.key for ex in road] == sorted(ex.key for ex in road)
    assert len({ex.name for ex in road}) == len({ex.key for ex in road}) == len(road)
    for ex in road:      # the tens digit is the chapter's minus one; chapter 0's are 00a, 00b, ...
        assert (ex.number, bool(ex.letter)) == (0, True) if ex.chapter == 0 else ex.number // 10 + 1 == ex.chapter
        assert ex.defines and ex.task and ex.you_write, ex.name


def test_a_folder_with_a_wrong_name_or_an_unknown_key_is_refused(tmp_path):
    good = (all_exercises()[0].folder / "exercise.toml").read_text(encoding="utf-8")
    wrong = tmp_path / "ch0" / "ex0a_pair_counts"
    wrong.mkdir(parents=True)
    (wrong / "exercise.toml").write_text(good, encoding="utf-8")
    with pytest.raises(ValueError, match="chN/exNN_name"):
        read(wrong)
    right = tmp_path / "ch0" / "ex00a_pair_counts"
    right.mkdir()
    (right / "exercise.toml").write_text('hint = "a typo of hints"\n' + good, encoding="utf-8")
    with pytest.raises(ValueError, match=r"unknown keys \['hint'\]"):
        read(right)
    (right / "exercise.toml").write_text(good, encoding="utf-8")
    assert read(right).name == "pair_counts" and read(right).key == "00a"
