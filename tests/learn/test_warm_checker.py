"""The warm checker (learn/warm.py): `learn check` asks it, it gives the fresh child's verdict,
it starts once per workbook, and it ends when idle, when told, when its workbook is gone and when
nn2gpt's checking code changes. Each test stops every checker it started."""

import os
import shutil
import subprocess
import sys
import threading
import time

import pytest

from nn2gpt.cli import main
from nn2gpt.learn import warm as checker
from nn2gpt.learn.registry import find
from nn2gpt.learn.runner import check

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the warm checker needs fork (POSIX)")


@pytest.fixture
def warm_on(monkeypatch, book, tmp_path):
    monkeypatch.setenv("NN2GPT_LEARN_WARM", "1")
    yield book
    checker.stop(book)
    for root in (book, tmp_path / "gone"):      # the checkers' files of this test's workbooks
        for f in checker.places(root):
            f.unlink(missing_ok=True)


def wait_for(condition, seconds=60.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def running(book) -> bool:
    return checker._holds(checker.places(book)[1])


def test_check_starts_the_checker_and_the_next_check_is_answered_by_it(warm_on, capsys):
    book = warm_on
    ex = find("sigmoid")
    assert checker.ask(book, ex, book / ex.file, 5) is None            # none yet
    assert main(["learn", "check", "sigmoid"]) == 1                   # the stub; the checker started for it
    assert "not written yet" in capsys.readouterr().out
    assert running(book)
    answer, fresh = checker.ask(book, ex, book / ex.file, 5), check(ex, book / ex.file)
    assert answer is not None and (answer.status, answer.message) == (fresh.status, fresh.message)
    (book / ex.file).write_text(ex.solution.read_text())
    assert main(["learn", "check", "sigmoid"]) == 0                   # the file as it is now, not as it was
    assert "01_sigmoid.py: passed" in capsys.readouterr().out


@pytest.fixture(scope="module")
def one_checker(tmp_path_factory):
    """A workbook of this module's and its checker, started once: the verdict cases below are asked
    of it one after another (each starting one would import torch again), and every case after the
    endless loop shows that the loop killed the check's child, not the checker."""
    book = tmp_path_factory.mktemp("verdicts") / "wb"
    assert main(["learn", "init", str(book)]) == 0
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NN2GPT_LEARN_WARM", "1")
        proc = checker.start(book)
        wait_for(lambda: checker.places(book)[0].exists())
    yield book, proc
    checker.stop(book)
    proc.wait(timeout=30)
    for f in checker.places(book):
        f.unlink(missing_ok=True)


@pytest.mark.parametrize("body, verdict", [("    while True:\n        pass\n", "error"),
                                           ("    raise ValueError('mine')\n", "error"),
                                           ("    print('said'); return 1 / (1 + np.exp(-z))\n", "passed"),
                                           ("    import warnings; warnings.warn('careful'); return 1 / (1 + np.exp(-z))\n",
                                            "passed")])
def test_the_checker_gives_the_fresh_childs_verdict(one_checker, monkeypatch, body, verdict):
    book, proc = one_checker
    monkeypatch.setenv("NN2GPT_LEARN_WARM", "1")
    assert proc.poll() is None and running(book)                       # the one checker, still serving
    ex = find("sigmoid")
    text = ex.solution.read_text()
    line = next(li for li in text.splitlines(keepends=True) if "np.exp(-z)" in li and "return" in li)
    (book / ex.file).write_text(text.replace(line, body, 1))
    limit = 1 if "while True" in body else 60  # a hang is cut at 1 s; the rest finish, however busy the machine
    warm, fresh = checker.ask(book, ex, book / ex.file, limit), check(ex, book / ex.file, limit)
    assert warm is not None and warm.status == fresh.status == verdict
    assert (warm.message, warm.output) == (fresh.message, fresh.output)
    assert ("said" in warm.output) == ("print" in body) and ("careful" in warm.output) == ("warn" in body)
    assert checker.ask(book, ex, book / ex.file, limit) is not None    # a hang killed the child, not the checker
    assert proc.poll() is None


def test_one_checker_a_workbook_and_stop_ends_it(warm_on):
    book = warm_on
    first = checker.start(book)
    wait_for(lambda: checker.places(book)[0].exists())
    assert checker.start(book) is None                                 # one runs: no second
    sock, lock = checker.places(book)
    second = subprocess.Popen([sys.executable, "-m", "nn2gpt.learn.warm", str(book)])
    assert second.wait(timeout=30) == 0 and first.poll() is None      # it found the lock taken and left
    assert checker.stop(book) and first.wait(timeout=10) == 0
    assert not sock.exists() and not running(book)
    assert checker.ask(book, find("sigmoid"), book / find("sigmoid").file, 5) is None


def test_it_ends_when_idle_and_when_its_workbook_is_gone(warm_on, monkeypatch, tmp_path):
    book = warm_on
    monkeypatch.setenv("NN2GPT_LEARN_IDLE", "1")
    idle = checker.start(book)
    assert idle.wait(timeout=60) == 0 and not checker.places(book)[0].exists()
    monkeypatch.setenv("NN2GPT_LEARN_IDLE", "900")
    other = tmp_path / "gone"
    assert main(["learn", "init", str(other)]) == 0                   # init starts one in the background
    wait_for(lambda: checker.places(other)[0].exists())
    shutil.rmtree(other)
    wait_for(lambda: not running(other), seconds=30)                  # it looks every few seconds


def test_it_ends_when_its_workbook_is_replaced_by_a_folder_of_the_same_name(warm_on, tmp_path):
    """The workbook deleted and made again under its name: still a folder there, but another one."""
    other = tmp_path / "gone"
    assert main(["learn", "init", str(other)]) == 0
    wait_for(lambda: checker.places(other)[0].exists())
    shutil.rmtree(other)
    other.mkdir()                                                     # the same name, at once
    (other / "01_sigmoid.py").write_text(find("sigmoid").stub.read_text())
    wait_for(lambda: not running(other), seconds=30)


def test_a_checker_with_older_code_is_not_asked(warm_on, monkeypatch, capsys):
    book = warm_on
    proc = checker.start(book)
    wait_for(lambda: checker.places(book)[0].exists())
    monkeypatch.setattr(checker, "code_version", lambda: "changed")   # as after an upgrade of nn2gpt
    ex = find("sigmoid")
    assert checker.ask(book, ex, book / ex.file, 5) is None            # it refuses, and ends
    assert proc.wait(timeout=10) == 0
    assert main(["learn", "check", "sigmoid"]) == 1                    # a new checker (or a fresh child) answers
    assert "not written yet" in capsys.readouterr().out


def test_off_means_no_checker(book, monkeypatch, capsys):
    monkeypatch.setenv("NN2GPT_LEARN_WARM", "0")
    assert main(["learn", "check", "sigmoid"]) == 1 and "not written yet" in capsys.readouterr().out
    assert not any(f.exists() for f in checker.places(book))          # no checker, nor its files


def test_the_checkers_folder_is_private(warm_on):
    sock, _ = checker.places(warm_on)
    assert sock.parent.stat().st_mode & 0o077 == 0 and len(str(sock)) < 100


HANG = "    while True:\n        pass\n"


def children(pid: int) -> list[int]:
    """The processes `pid` has started that are alive (a checker's: the children forked for checks)."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in found]


def hanging_sigmoid(book):
    ex = find("sigmoid")
    text = ex.solution.read_text()
    line = next(li for li in text.splitlines(keepends=True) if "np.exp(-z)" in li and "return" in li)
    (book / ex.file).write_text(text.replace(line, HANG, 1))
    return ex


def test_a_check_whose_asker_has_gone_is_stopped(warm_on):
    """Ctrl-C on `learn check` closes its socket: the checker kills that check's child at once
    instead of letting it run to the time limit, and the next check is answered."""
    book = warm_on
    ex = hanging_sigmoid(book)
    proc = checker.start(book)
    wait_for(lambda: checker.places(book)[0].exists())
    asker = subprocess.Popen([sys.executable, "-c", "import sys; from pathlib import Path; "
                              "from nn2gpt.learn import warm as checker; from nn2gpt.learn.registry import find; "
                              "checker.ask(Path(sys.argv[1]), find('sigmoid'), Path(sys.argv[2]), 60)",
                              str(book), str(book / ex.file)], env={**os.environ, "NN2GPT_LEARN_WARM": "1"})
    wait_for(lambda: children(proc.pid))                             # the check's child is forked
    time.sleep(2)                                                    # and has read the hanging file: it loops
    asker.kill()
    asker.wait()
    (book / ex.file).write_text(ex.solution.read_text())
    start = time.monotonic()
    answer = checker.ask(book, ex, book / ex.file, 60)
    assert answer is not None and answer.status == "passed"
    assert time.monotonic() - start < 20                             # not after the abandoned check's 60 s


def test_a_killed_checker_leaves_no_lock_and_no_check_behind(warm_on):
    """The checker killed (SIGKILL, out of memory) during a hanging check: its lock is free at once
    (the forked child does not hold it), and the orphaned child ends at its alarm, time limit + 5 s."""
    book = warm_on
    ex = hanging_sigmoid(book)
    proc = checker.start(book)
    wait_for(lambda: checker.places(book)[0].exists())
    threading.Thread(target=checker.ask, args=(book, ex, book / ex.file, 1), daemon=True).start()
    wait_for(lambda: children(proc.pid), seconds=10)                 # the child is looping now
    looping = children(proc.pid)
    proc.kill()
    proc.wait()
    assert not running(book)
    assert looping, "no check child was found"
    for pid in looping:
        wait_for(lambda: not os.path.exists(f"/proc/{pid}") or "Z" in open(f"/proc/{pid}/stat").read().split()[2],
                 seconds=15)
