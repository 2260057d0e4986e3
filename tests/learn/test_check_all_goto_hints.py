"""`learn check --all`, `learn goto NAME`, and the hint for the mistake the last check found."""

import json

import pytest

from nn2gpt.cli import main
from nn2gpt.learn.book import PROGRESS
from nn2gpt.learn.registry import all_exercises, find


def solve(root, name):
    ex = find(name)
    (root / ex.file).write_text(ex.solution.read_text())


def mistake(root, name, old, new):
    """The solution of `name` with one classic mistake put in (`old` replaced by `new`)."""
    ex = find(name)
    text = ex.solution.read_text()
    assert old in text, old
    (root / ex.file).write_text(text.replace(old, new))


def progress(root):
    return json.loads((root / PROGRESS).read_text())


# ---- check --all ------------------------------------------------------------------------------
def test_check_all_gives_a_line_each_a_summary_and_records_the_passes(book, capsys):
    solve(book, "sigmoid")
    solve(book, "merge")
    mistake(book, "update_mini_batch", "(eta / len(mini_batch))", "eta")
    (book / "45_cross_entropy_backward.py").unlink()
    assert main(["learn", "check", "--all"]) == 2                     # the missing file is an error
    lines = capsys.readouterr().out.strip().splitlines()
    n = len(all_exercises())
    assert len(lines) == n + 1, lines                                  # one line an exercise, then the summary
    rows = {line.split()[0]: line for line in lines[:-1]}
    assert rows["01_sigmoid.py"].split()[1] == "passed" and rows["00b_merge.py"].split()[1] == "passed"
    assert "FAILED: update_mini_batch with eta = 3.0: the step is 10 times too large" in \
        rows["04_update_mini_batch.py"]
    assert "FAILED: not written yet" in rows["03_backprop.py"]
    assert "ERROR: missing" in rows["45_cross_entropy_backward.py"]
    assert lines[-1].startswith(f"2 of {n} exercises passed; {n - 3} failed, 1 error")
    data = progress(book)
    assert set(data["passed"]) == {"sigmoid", "merge"}
    assert "10 times too large" in data["failures"]["update_mini_batch"]   # what `hint` answers first


def test_check_all_exits_0_only_when_every_exercise_passed(book, capsys):
    for ex in all_exercises():
        solve(book, ex.name)
    assert main(["learn", "check", "--all"]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == f"{len(all_exercises())} of {len(all_exercises())} exercises passed"
    assert set(progress(book)["passed"]) == {ex.name for ex in all_exercises()}
    mistake(book, "sigmoid", "np.exp(-z)", "np.exp(z)")               # one breaks: it is no longer counted
    assert main(["learn", "check", "--all"]) == 1
    assert "sigmoid" not in progress(book)["passed"]


def test_check_all_with_a_name_is_one_line_exit_2(book, capsys):
    assert main(["learn", "check", "backprop", "--all"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not both" in err, err


# ---- goto -------------------------------------------------------------------------------------
def test_goto_makes_the_current_exercise_until_it_passes(book, capsys):
    assert main(["learn", "goto", "backprop"]) == 0
    assert "current: 03_backprop.py" in capsys.readouterr().out
    assert progress(book)["current"] == "backprop"
    assert main(["learn"]) == 0
    assert "current: 03_backprop.py" in capsys.readouterr().out
    assert main(["learn", "check"]) == 1                              # check without a name: the chosen one
    assert "03_backprop.py: FAILED: not written yet" in capsys.readouterr().out
    solve(book, "backprop")
    assert main(["learn", "check"]) == 0
    assert "03_backprop.py: passed. next: 04_update_mini_batch.py" in capsys.readouterr().out
    assert main(["learn"]) == 0                                       # on along the road from there
    assert "current: 04_update_mini_batch.py" in capsys.readouterr().out
    solve(book, "update_mini_batch")
    solve(book, "backprop_matrix")                                    # passed out of turn: skipped over
    assert main(["learn", "check", "backprop_matrix"]) == 0
    assert main(["learn", "check"]) == 0
    assert "next: 06_cross_entropy.py" in capsys.readouterr().out
    assert main(["learn", "list"]) == 0
    rows = {r.split()[0]: r.split()[1] for r in capsys.readouterr().out.splitlines() if r.startswith("  ")}
    assert rows["06_cross_entropy.py"] == "current" and rows["00a_pair_counts.py"] not in ("passed", "current")


def test_goto_an_exercise_that_passed_checks_it_again_then_moves_on(book, capsys):
    solve(book, "pair_counts")
    assert main(["learn", "check"]) == 0
    assert main(["learn", "goto", "00a"]) == 0
    assert "it has passed" in capsys.readouterr().out
    assert main(["learn", "list"]) == 0                               # the list says which is current
    row = next(line for line in capsys.readouterr().out.splitlines() if "00a_pair_counts.py" in line)
    assert row.split()[1] == "current", row
    assert main(["learn", "check"]) == 0                              # the chosen one, passed again
    assert "00a_pair_counts.py: passed. next: 00b_merge.py" in capsys.readouterr().out
    assert "current" in progress(book) and progress(book)["current"] == "merge"


def test_after_the_last_exercise_goto_wraps_to_the_first_not_passed(book, capsys):
    last = all_exercises()[-1]
    assert main(["learn", "goto", last.name]) == 0
    solve(book, last.name)
    assert main(["learn", "check"]) == 0
    assert f"next: {all_exercises()[0].file}" in capsys.readouterr().out


def test_a_progress_file_without_or_with_an_unknown_current_keeps_the_default(book, capsys):
    data = progress(book)
    assert "current" not in data and "failures" not in data          # what older workbooks have
    (book / PROGRESS).write_text(json.dumps(data | {"current": "a_renamed_exercise"}))
    assert main(["learn"]) == 0
    assert "current: 00a_pair_counts.py" in capsys.readouterr().out


@pytest.mark.parametrize("field, value", [("current", 3), ("failures", {"backprop": 1}),
                                          ("mistake_hints", {"backprop": -1})])
def test_a_damaged_new_field_is_one_line_exit_2(book, capsys, field, value):
    (book / PROGRESS).write_text(json.dumps(progress(book) | {field: value}))
    assert main(["learn"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and PROGRESS in err and f'"{field}"' in err, err


# ---- the hint for the mistake the last check found -------------------------------------------
@pytest.mark.parametrize("name, old, new, words", [
    ("update_mini_batch", "(eta / len(mini_batch))", "eta", "m times one example's"),
    ("backprop", " * sigmoid_prime(z)  # BP2", "  # BP2", "through each layer's sigmoid"),
    ("sigmoid", "np.exp(-z)", "np.exp(z)", "its mirror image"),
    ("merge", "i += 2 ", "i += 1 ", "both used up"),
])
def test_the_hint_for_the_mistake_comes_first_then_the_ladder(book, capsys, name, old, new, words):
    ex = find(name)
    mistake(book, name, old, new)
    assert main(["learn", "check", name]) == 1
    capsys.readouterr()
    ladder = ex.mistake_hints[ex.mistake(progress(book)["failures"][name])][1]
    said = []
    for _ in range(len(ladder) + 1):
        assert main(["learn", "hint", name]) == 0
        said.append(capsys.readouterr().out)
    assert "for the mistake your last check found" in said[0] and words in said[0], said[0]
    assert all(h in s for h, s in zip(ladder, said))
    assert f"hint 1 of {len(ex.hints)}: {ex.hints[0]}" in said[-1]   # then the general ladder, from its start


def test_the_general_ladder_without_a_known_mistake_and_after_a_pass(book, capsys):
    ex = find("update_mini_batch")
    assert main(["learn", "check", "update_mini_batch"]) == 1        # the stub: no mistake named
    assert main(["learn", "hint", "update_mini_batch"]) == 0
    assert f"hint 1 of {len(ex.hints)}" in capsys.readouterr().out
    mistake(book, "update_mini_batch", "(eta / len(mini_batch))", "eta")
    assert main(["learn", "check", "update_mini_batch"]) == 1
    assert main(["learn", "hint", "update_mini_batch"]) == 0
    assert "for the mistake" in capsys.readouterr().out
    mistake(book, "update_mini_batch", "- (eta / len(mini_batch))", "+ (eta / len(mini_batch))")
    assert main(["learn", "check", "update_mini_batch"]) == 1        # another mistake: its own hint, first
    assert main(["learn", "hint", "update_mini_batch"]) == 0
    assert "gradient descent steps the other way" in capsys.readouterr().out
    solve(book, "update_mini_batch")
    assert main(["learn", "check", "update_mini_batch"]) == 0
    assert main(["learn", "hint", "update_mini_batch"]) == 0         # passed: the ladder goes on where it was
    assert f"hint 2 of {len(ex.hints)}" in capsys.readouterr().out
    assert "update_mini_batch" not in progress(book).get("failures", {})


def test_every_mistake_hint_names_words_its_chapter_can_say():
    """A hint whose words no check message holds would never be shown: each must be in the
    text of its exercise's check or its chapter's shared ones (or their variants), and chapters
    0, 1 and 2 have some."""
    for ex in all_exercises():
        shared = [p for p in ex.folder.parent.glob("*.py") if p.name != "__init__.py"]
        text = "\n".join(p.read_text() for p in [ex.folder / "check.py", *shared])
        for needles, ladder in ex.mistake_hints:
            assert ladder and all(isinstance(h, str) and h for h in ladder), ex.name
            assert any(n in text for n in needles), (ex.name, needles)
    for chapter in (0, 1, 2):
        assert sum(bool(ex.mistake_hints) for ex in all_exercises() if ex.chapter == chapter) >= 2, chapter
