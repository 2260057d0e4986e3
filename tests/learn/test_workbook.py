"""The workbook commands: init never overwrites, check's exit codes, hints in order, solution
gating, reset's backup, finding the workbook, watch, and one line for code that hangs or raises."""

import json

import pytest

from nn2gpt.cli import main
from nn2gpt.learn.book import PROGRESS
from nn2gpt.learn.registry import all_exercises, find


def solve(root, name):
    ex = find(name)
    (root / ex.file).write_text(ex.solution.read_text())


def test_init_writes_every_stub_and_never_overwrites(tmp_path, capsys):
    root = tmp_path / "wb"
    assert main(["learn", "init", str(root)]) == 0
    assert (root / "01_sigmoid.py").read_text() == find("sigmoid").stub.read_text()
    (root / "01_sigmoid.py").write_text("# mine\n")
    capsys.readouterr()
    assert main(["learn", "init", str(root)]) == 2
    assert "already holds a workbook" in capsys.readouterr().err
    assert (root / "01_sigmoid.py").read_text() == "# mine\n"
    other = tmp_path / "other"                        # not a workbook, but a file init would write
    other.mkdir()
    (other / "03_backprop.py").write_text("# my own network.py\n")
    assert main(["learn", "init", str(other)]) == 2
    err = capsys.readouterr().err
    assert "already has 03_backprop.py" in err and len(err.strip().splitlines()) == 1
    assert (other / "03_backprop.py").read_text() == "# my own network.py\n" and not (other / PROGRESS).exists()


def test_status_and_check_advance_through_the_road(book, capsys):
    assert main(["learn"]) == 0
    assert "current: 00a_pair_counts.py" in capsys.readouterr().out     # chapter 0 comes first
    assert main(["learn", "check"]) == 1
    assert "not written yet" in capsys.readouterr().out
    solve(book, "pair_counts")
    assert main(["learn", "check"]) == 0
    assert "passed. next: 00b_merge.py" in capsys.readouterr().out
    assert main(["learn"]) == 0
    assert f"1 of {len(all_exercises())}" in capsys.readouterr().out
    assert "pair_counts" in json.loads((book / PROGRESS).read_text())["passed"]
    assert main(["learn", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split()[:2] == ["00a_pair_counts.py", "passed"], listing
    assert listing[1].split()[:2] == ["00b_merge.py", "current"], listing
    width = max(len(ex.file) for ex in all_exercises())                 # 45_cross_entropy_backward.py's
    rows = listing[:len(all_exercises())]
    assert [r[2:2 + width].strip() for r in rows] == [ex.file for ex in all_exercises()]   # road order
    assert len({r.index(" ch.") for r in rows}) == 1 and all(r[2 + width] == " " for r in rows)  # aligned
    assert rows[6].split()[0] == "00g_byte_table.py" and rows[7].split()[0] == "01_sigmoid.py"


def test_next_names_the_first_exercise_after_this_one_not_passed(book, capsys):
    for name in ("backprop", "update_mini_batch", "feedforward"):
        solve(book, name)
        assert main(["learn", "check", name]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("02_feedforward.py: passed. next: 05_backprop_matrix.py - "), out   # not 03, 04: passed
    data = json.loads((book / PROGRESS).read_text())
    data["passed"] = {ex.name: "2024-01-01T00:00:00" for ex in all_exercises() if ex.name != "sigmoid"}
    (book / PROGRESS).write_text(json.dumps(data))
    solve(book, "sigmoid")
    assert main(["learn", "check", "sigmoid"]) == 0
    assert "01_sigmoid.py: passed. every exercise has passed: train with your code" in capsys.readouterr().out


def test_chapter_zeros_names_and_numbers(book, capsys):
    solve(book, "merge")
    for name in ("merge", "00b_merge", "00b", "0b", "00b_merge.py", "00B"):
        assert main(["learn", "check", name]) == 0, name
    capsys.readouterr()
    for name in ("0", "00"):                                  # seven exercises share the 0: a letter says which
        assert main(["learn", "check", name]) == 2
        assert f"no exercise named {name!r}; choose one of 00a_pair_counts, 00b_merge" in capsys.readouterr().err
    assert find("3").file == "03_backprop.py" and find("pair_counts").key == "00a"


def test_a_workbook_made_before_chapter_zero_gets_its_stubs_and_keeps_yours(book, capsys):
    """A workbook of chapters 1-5 (no chapter-0 files, no "exercises" in its progress): the next
    command writes chapter 0's stubs beside the learner's files, says so once, and records them; a
    file the learner deletes afterwards is not written again (`reset` does that)."""
    chapter_0 = [ex for ex in all_exercises() if ex.chapter == 0]
    for ex in chapter_0:
        (book / ex.file).unlink()
    data = json.loads((book / PROGRESS).read_text())
    del data["exercises"]
    data["passed"] = {"sigmoid": "2024-01-01T00:00:00"}
    (book / PROGRESS).write_text(json.dumps(data))
    (book / "01_sigmoid.py").write_text(find("sigmoid").solution.read_text() + "# mine\n")
    before = {p.name: p.read_bytes() for p in book.iterdir() if p.is_file() and p.name != PROGRESS}
    assert main(["learn"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("new exercises added to your workbook as stubs: 00a_pair_counts.py, 00b_merge.py, "), out
    assert "00g_byte_table.py (none of your files was changed)" in out and "current: 00a_pair_counts.py" in out
    assert all((book / ex.file).read_bytes() == ex.stub.read_bytes() for ex in chapter_0)
    assert all((book / name).read_bytes() == data for name, data in before.items())   # the learner's, untouched
    progress = json.loads((book / PROGRESS).read_text())
    assert progress["passed"] == {"sigmoid": "2024-01-01T00:00:00"}
    assert progress["exercises"] == [ex.name for ex in all_exercises()]
    assert main(["learn", "check", "pair_counts"]) == 1                    # the stub: an ordinary first check
    assert "new exercises" not in capsys.readouterr().out                  # said once
    (book / "00c_train_bpe.py").unlink()
    assert main(["learn"]) == 0
    assert "not in the workbook: 00c_train_bpe.py" in capsys.readouterr().out
    assert not (book / "00c_train_bpe.py").exists()


def test_names_with_or_without_the_number_and_from_another_directory(book, tmp_path, monkeypatch, capsys):
    solve(book, "backprop")
    for name in ("backprop", "03_backprop", "3", "03_backprop.py"):
        assert main(["learn", "check", name]) == 0
    monkeypatch.chdir(tmp_path)
    assert main(["learn", "check", "backprop", "--dir", str(book)]) == 0
    assert main(["learn", "--dir", str(book), "check", "backprop"]) == 0
    capsys.readouterr()
    assert main(["learn", "check", "backprop"]) == 2     # here is no workbook (it is in wb/, not nn2gpt-workbook/)
    assert "no workbook here" in capsys.readouterr().err
    assert main(["learn", "check", "nonsense", "--dir", str(book)]) == 2
    assert "no exercise named 'nonsense'" in capsys.readouterr().err


def test_no_workbook_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["learn"]) == 2
    err = capsys.readouterr().err
    assert "no workbook here" in err and len(err.strip().splitlines()) == 1
    assert main(["learn", "--dir", str(tmp_path)]) == 2
    assert "is not a workbook" in capsys.readouterr().err


def test_hints_come_in_order_and_are_remembered(book, capsys):
    hints = find("backprop").hints
    for k in range(1, len(hints) + 2):
        assert main(["learn", "hint", "backprop"]) == 0
        out = capsys.readouterr().out
        shown = min(k, len(hints))
        assert f"hint {shown} of {len(hints)}: {hints[shown - 1]}" in out
    assert json.loads((book / PROGRESS).read_text())["hints"]["backprop"] == len(hints)


def test_the_solution_only_after_a_pass_or_giving_up(book, capsys):
    assert main(["learn", "solution", "sigmoid"]) == 2
    assert "has not passed yet" in capsys.readouterr().err
    assert main(["learn", "solution", "sigmoid", "--give-up"]) == 0
    assert capsys.readouterr().out == find("sigmoid").solution.read_text()
    assert "sigmoid" in json.loads((book / PROGRESS).read_text())["gave_up"]
    solve(book, "feedforward")
    assert main(["learn", "check", "feedforward"]) == 0
    capsys.readouterr()
    assert main(["learn", "solution", "feedforward"]) == 0
    assert "def feedforward" in capsys.readouterr().out


def test_reset_keeps_the_learners_version(book, capsys):
    solve(book, "sigmoid")
    assert main(["learn", "check", "sigmoid"]) == 0
    mine = (book / "01_sigmoid.py").read_text()
    for _ in range(2):                                         # two resets: two backups, none overwritten
        assert main(["learn", "reset", "sigmoid"]) == 0
        (book / "01_sigmoid.py").write_text(mine)
    backups = sorted((book / "backups").iterdir())
    assert len(backups) == 2 and all(b.read_text() == mine for b in backups)
    assert main(["learn", "reset", "sigmoid"]) == 0
    assert (book / "01_sigmoid.py").read_text() == find("sigmoid").stub.read_text()
    assert "sigmoid" not in json.loads((book / PROGRESS).read_text())["passed"]


def test_resetting_an_untouched_stub_writes_no_backup(book, capsys):
    assert main(["learn", "reset", "sigmoid"]) == 0
    assert capsys.readouterr().out.strip() == "01_sigmoid.py is already the stub; nothing to keep, no backup written"
    assert not (book / "backups").exists()
    assert (book / "01_sigmoid.py").read_bytes() == find("sigmoid").stub.read_bytes()


def test_a_raising_function_is_one_line_exit_2(book, capsys):
    (book / "01_sigmoid.py").write_text("import numpy as np\n\n\ndef sigmoid(z):\n    return 1 / (1 + np.exp(-zz))\n"
                                       "\n\ndef sigmoid_prime(z):\n    return z\n")
    assert main(["learn", "check", "sigmoid"]) == 2
    out = capsys.readouterr().out.strip()
    assert out == ("01_sigmoid.py: ERROR: 01_sigmoid.py line 5, in sigmoid: NameError: name 'zz' is not defined. "
                   "Did you mean: 'z'?") or out.startswith("01_sigmoid.py: ERROR: 01_sigmoid.py line 5, in sigmoid: "
                                                           "NameError"), out
    assert len(out.splitlines()) == 1 and "Traceback" not in out


def test_a_hanging_function_is_one_line_exit_2(book, capsys):
    (book / "01_sigmoid.py").write_text("def sigmoid(z):\n    while True:\n        pass\n\n\ndef sigmoid_prime(z):\n"
                                       "    return z\n")
    assert main(["learn", "check", "sigmoid", "--timeout", "1"]) == 2
    out = capsys.readouterr().out.strip()
    assert out == ("01_sigmoid.py: ERROR: 01_sigmoid.py did not finish within 1 s: an endless loop, or a loop over "
                   "far more than it needs? (--timeout raises the limit)")


def test_what_the_learner_prints_is_shown(book, capsys):
    text = find("sigmoid").solution.read_text().replace("import numpy as np", "import numpy as np\nprint('hello')")
    (book / "01_sigmoid.py").write_text(text)
    assert main(["learn", "check", "sigmoid"]) == 0
    assert capsys.readouterr().out.startswith("hello\n")


def test_watch_rechecks_the_file_just_saved(book, capsys):
    import argparse
    import os

    from nn2gpt.learn.book import Workbook
    from nn2gpt.learn.cli import do_watch

    args = argparse.Namespace(poll=0.01, timeout=10.0, max_checks=1)
    assert do_watch(Workbook(book), args) == 1          # the current exercise, still the stub
    assert "00a_pair_counts.py: FAILED: not written yet" in capsys.readouterr().out
    solve(book, "backprop")
    path = book / "03_backprop.py"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    calls = iter([None, "saved"])
    import nn2gpt.learn.watch as cli

    real = cli.time.sleep

    def sleep(s):  # the first pause: the learner saves 03_backprop.py
        if next(calls, None) == "saved":
            os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
        real(0)
    cli.time.sleep = sleep
    try:
        args.max_checks = 2
        assert do_watch(Workbook(book), args) == 0
    finally:
        cli.time.sleep = real
    out = capsys.readouterr().out
    assert "00a_pair_counts.py: FAILED" in out and "03_backprop.py: passed" in out


def test_watch_says_in_one_line_that_a_file_is_gone_and_watches_on(book, capsys, monkeypatch):
    """The file on screen deleted (or renamed away) between two looks: one line, no check, no exit;
    saved again, it is checked again."""
    import argparse

    import nn2gpt.learn.watch as cli
    from nn2gpt.learn.book import Workbook
    from nn2gpt.learn.cli import do_watch

    path, text = book / "00a_pair_counts.py", find("pair_counts").solution.read_text()
    steps = iter([path.unlink, lambda: path.write_text(text)])   # what the learner does at each pause
    real = cli.time.sleep

    def sleep(s):                                 # watch's pause between two looks (0.01 s), not a check's
        if s == 0.01:
            next(steps, lambda: None)()
        real(0 if s == 0.01 else s)
    monkeypatch.setattr(cli.time, "sleep", sleep)
    args = argparse.Namespace(poll=0.01, timeout=10.0, max_checks=3)
    assert do_watch(Workbook(book), args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("00a_pair_counts.py: FAILED: not written yet"), out
    assert out[2] == ("00a_pair_counts.py: not in the workbook (deleted or renamed); still watching - save it again, "
                      "or `nn2gpt learn reset pair_counts` writes the stub"), out
    assert out[3].startswith("00a_pair_counts.py: passed"), out


def test_init_defaults_to_nn2gpt_workbook_found_from_its_parent(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["learn", "init"]) == 0
    assert (tmp_path / "nn2gpt-workbook" / PROGRESS).is_file()
    assert main(["learn"]) == 0                                    # from the directory above it
    assert f"0 of {len(all_exercises())}" in capsys.readouterr().out
    monkeypatch.chdir(tmp_path / "nn2gpt-workbook")
    assert main(["learn", "check", "sigmoid", "--timeout", "0"]) == 2   # a time limit must be > 0


def test_status_names_exercise_files_the_workbook_lacks(book, capsys):
    (book / "45_cross_entropy_backward.py").unlink()        # as in a workbook made before the exercise existed
    assert main(["learn"]) == 0
    assert "not in the workbook: 45_cross_entropy_backward.py" in capsys.readouterr().out
    assert main(["learn", "check", "cross_entropy_backward"]) == 2
    assert "is missing; `nn2gpt learn reset cross_entropy_backward` writes the stub" in capsys.readouterr().err
    assert main(["learn", "reset", "cross_entropy_backward"]) == 0
    assert (book / "45_cross_entropy_backward.py").is_file() and not (book / "backups").exists()


def test_a_pass_that_breaks_is_no_longer_counted(book, capsys):
    solve(book, "sigmoid")
    assert main(["learn", "check", "sigmoid"]) == 0
    (book / "01_sigmoid.py").write_text(find("sigmoid").solution.read_text().replace("np.exp(-z)", "np.exp(z)"))
    assert main(["learn", "check", "sigmoid"]) == 1
    assert "sigmoid" not in json.loads((book / PROGRESS).read_text())["passed"]


@pytest.mark.parametrize("field, value", [("hints", []), ("hints", {"backprop": "two"}), ("hints", {"backprop": -1}),
                                          ("gave_up", ["backprop"]), ("passed", {"sigmoid": 3})])
def test_a_damaged_progress_field_is_one_line_exit_2(book, capsys, field, value):
    data = json.loads((book / PROGRESS).read_text())
    (book / PROGRESS).write_text(json.dumps(data | {field: value}))
    assert main(["learn", "hint", "backprop"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and PROGRESS in err and f'"{field}"' in err, err


@pytest.mark.parametrize("signum, status", [("SIGTERM", 143), ("SIGINT", 1)])
def test_watch_ends_on_sigterm_with_143_and_on_ctrl_c_with_the_last_check(book, capsys, monkeypatch, signum, status):
    import signal

    import nn2gpt.learn.watch as cli
    from nn2gpt.interrupt import Stopped

    real = cli.time.sleep

    def sleep(s):  # the signal comes while watch waits for a save (0.01 s), after the first check
        if s != 0.01:
            return real(s)
        raise Stopped(getattr(signal, signum))
    monkeypatch.setattr(cli.time, "sleep", sleep)
    assert main(["learn", "watch", "--poll", "0.01"]) == status          # the stub failed: 1 on Ctrl-C
    said = capsys.readouterr()
    assert "00a_pair_counts.py: FAILED" in said.out
    assert ("interrupted by SIGTERM" in said.err) == (signum == "SIGTERM")


def full_disk_after(monkeypatch, n: int):
    """shutil.copyfile as on a disk that fills after `n` files: the next copy leaves an empty file
    and raises ENOSPC naming its source (the package's stub), as the real one does."""
    import errno
    import shutil

    real, done = shutil.copyfile, []

    def copyfile(src, dst, *args, **kw):
        if len(done) >= n:
            open(dst, "wb").close()
            raise OSError(errno.ENOSPC, "No space left on device", str(src))
        done.append(dst)
        return real(src, dst, *args, **kw)
    monkeypatch.setattr(shutil, "copyfile", copyfile)


@pytest.mark.parametrize("exists", [False, True], ids=["new", "empty"])
def test_init_on_a_full_disk_leaves_nothing_and_runs_again(tmp_path, capsys, monkeypatch, exists):
    """A disk full at the 6th stub: one line naming the workbook's file (not the package's stub),
    no half-made workbook (no 01-05, no empty 06, no folder init made), and init then succeeds."""
    root = tmp_path / "wb"
    if exists:
        root.mkdir()
    full_disk_after(monkeypatch, 5)
    assert main(["learn", "init", str(root)]) == 2
    err = capsys.readouterr().err.strip()
    sixth = all_exercises()[5].file
    assert len(err.splitlines()) == 1 and f"cannot write the workbook's file {root / sixth}: No space left" in err, err
    assert "free some disk space and run `nn2gpt learn init" in err and str(all_exercises()[5].stub) not in err
    assert (sorted(root.iterdir()) == []) if exists else not root.exists()
    monkeypatch.undo()                                  # space freed
    assert main(["learn", "init", str(root)]) == 0
    assert (root / PROGRESS).is_file() and sorted(p.name for p in root.iterdir()) == sorted(
        [PROGRESS, *(ex.file for ex in all_exercises())])


def test_init_a_progress_file_that_cannot_be_written_leaves_nothing(tmp_path, capsys, monkeypatch):
    import errno

    from nn2gpt.learn.book import Workbook

    def save(self, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.root / PROGRESS))
    monkeypatch.setattr(Workbook, "save", save)
    root = tmp_path / "wb"
    assert main(["learn", "init", str(root)]) == 2
    assert f"cannot write the workbook's file {root / PROGRESS}: No space" in capsys.readouterr().err
    assert not root.exists()


def test_what_an_interrupted_init_left_is_no_dead_end(tmp_path, capsys):
    """The stubs 01-05 and an empty 06, no progress file (an init killed halfway): init writes
    the workbook there. A folder with a file of the learner's and no progress file: --dir says
    how to go on, not to run the init that refuses it."""
    root = tmp_path / "wb"
    root.mkdir()
    for ex in all_exercises()[:5]:
        (root / ex.file).write_bytes(ex.stub.read_bytes())
    (root / all_exercises()[5].file).write_bytes(b"")
    (root / ".nn2gpt-init-x1").mkdir()                      # its hidden folder, never removed
    assert main(["learn", "--dir", str(root)]) == 2
    assert f"create one with `nn2gpt learn init {root}`" in capsys.readouterr().err
    assert main(["learn", "init", str(root)]) == 0
    assert main(["learn", "--dir", str(root)]) == 0 and not (root / ".nn2gpt-init-x1").exists()
    (root / PROGRESS).unlink()                              # the learner's work, its progress file lost:
    (root / "01_sigmoid.py").write_text("# mine\n")        # the exercise files say it is a workbook still
    capsys.readouterr()
    assert main(["learn", "init", str(root)]) == 2                  # init points the way on, not round in a circle
    assert f"already holds a workbook; nothing was changed (continue with `nn2gpt learn --dir {root}`" in \
        capsys.readouterr().err
    assert main(["learn", "--dir", str(root)]) == 0
    assert f"{PROGRESS} was missing; rebuilt from the exercise files" in capsys.readouterr().out
    assert (root / "01_sigmoid.py").read_text() == "# mine\n" and (root / PROGRESS).is_file()
    few = tmp_path / "few"                                  # one file of the learner's is no workbook
    few.mkdir()
    (few / "01_sigmoid.py").write_text("# mine\n")
    assert main(["learn", "--dir", str(few)]) == 2
    err = capsys.readouterr().err.strip()
    assert "init keeps 01_sigmoid.py" in err and "`nn2gpt learn init NEWDIR` and copy your exercise files" in err, err
    assert main(["learn", "init", str(few)]) == 2 and (few / "01_sigmoid.py").read_text() == "# mine\n"


@pytest.mark.parametrize("text", ["{\"passed\": {\"sigm", "", "[]", "{\"hints\": {}}", "\xff\xfe"],
                         ids=["cut short", "empty", "a list", "no passed", "not text"])
def test_a_corrupt_progress_file_is_rebuilt_from_the_exercise_files(book, capsys, text):
    """The corrupt file is kept aside, every exercise whose file passes its check is passed again,
    one line says so, and no exercise file is touched; the next command is an ordinary one."""
    solve(book, "sigmoid")
    solve(book, "backprop")
    (book / "02_feedforward.py").write_text(find("feedforward").solution.read_text().replace("+ b)", ")"))  # wrong
    files = {p.name: p.read_bytes() for p in book.iterdir() if p.name != PROGRESS}
    (book / PROGRESS).write_bytes(text.encode("latin-1"))
    assert main(["learn"]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert first.startswith(f"{PROGRESS} was corrupt (kept as {PROGRESS}.corrupt-") and "rebuilt from the exercise " \
        "files" in first and "2 exercises pass their checks and are marked passed again" in first, out
    assert "2 of" in out and "current: 00a_pair_counts.py" in out
    aside = [p for p in book.iterdir() if p.name.startswith(f"{PROGRESS}.corrupt-")]
    assert len(aside) == 1 and aside[0].read_bytes() == text.encode("latin-1")
    assert {p.name: p.read_bytes() for p in book.iterdir() if p.name not in (PROGRESS, aside[0].name)} == files
    progress = json.loads((book / PROGRESS).read_text())
    assert sorted(progress["passed"]) == ["backprop", "sigmoid"]
    assert progress["exercises"] == [ex.name for ex in all_exercises()]
    assert main(["learn"]) == 0 and "rebuilt" not in capsys.readouterr().out


def test_a_workbook_without_its_progress_file_is_found_and_rebuilt(book, capsys):
    solve(book, "sigmoid")
    (book / "45_cross_entropy_backward.py").unlink()          # deleted: not written again behind the learner's back
    (book / PROGRESS).unlink()
    assert main(["learn", "check", "sigmoid"]) == 0           # found from the current directory, not "no workbook here"
    out = capsys.readouterr().out
    assert out.startswith(f"{PROGRESS} was missing; rebuilt from the exercise files in {book}: 1 exercise passes "
                          f"its check and is marked passed again"), out
    assert "01_sigmoid.py: passed" in out
    assert not (book / "45_cross_entropy_backward.py").exists()
    assert not list(book.glob(f"{PROGRESS}.corrupt-*"))


def test_checking_writes_nothing_beside_the_learners_files(book, monkeypatch, capsys):
    """The learner's folder holds the learner's files: a check, a trace and a milestone's load compile the
    file without leaving a __pycache__ beside it, even where Python writes bytecode (as it does by default)."""
    import sys

    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    solve(book, "pair_counts")
    before = {p.name for p in book.iterdir()}
    assert main(["learn", "check", "pair_counts"]) == 0
    assert main(["learn", "trace", "pair_counts"]) == 0
    assert not list(book.rglob("__pycache__")), "bytecode was written into the learner's folder"
    assert {p.name for p in book.iterdir()} <= before | {PROGRESS}
