"""The single keys of `learn watch`: fed by a fake key source into the watch loop, and typed into a
pseudo-terminal whose settings must come back however watching ends."""

import argparse
import contextlib
import os
import select
import signal
import subprocess
import sys
import time
import types

import pytest

from nn2gpt.learn import keys
from nn2gpt.learn.book import Workbook
from nn2gpt.learn.cli import do_watch
from nn2gpt.learn.registry import find


def solve(root, name):
    ex = find(name)
    (root / ex.file).write_text(ex.solution.read_text())


class FakeKeys:
    """What keys.source gives on a terminal: `wait` returns the keys in order, then `q`."""

    def __init__(self, pressed):
        self.pressed, self.waits = list(pressed), 0

    def wait(self, seconds):
        self.waits += 1
        return self.pressed.pop(0) if self.pressed else "q"


def watch(book, monkeypatch, pressed, max_checks=None):
    fake = FakeKeys(pressed)
    monkeypatch.setattr(keys, "source", lambda stream: contextlib.nullcontext(fake))
    args = argparse.Namespace(poll=0.01, timeout=10.0, max_checks=max_checks)
    return do_watch(Workbook(book), args), fake


def test_each_key_does_its_part(book, capsys, monkeypatch):
    solve(book, "pair_counts")
    # 00b with the overlapping merge: `n` moves on to it, and `h` answers that mistake
    text = find("merge").solution.read_text()
    (book / "00b_merge.py").write_text(text.replace("i += 2 ", "i += 1 "))
    traced = []
    fake_trace = types.ModuleType("nn2gpt.learn.trace")
    fake_trace.trace = lambda book, exercise, reference, timeout, out: (
        traced.append((exercise.name, reference, timeout)), out.write("the trace of " + exercise.file + "\n"))
    monkeypatch.setitem(sys.modules, "nn2gpt.learn.trace", fake_trace)
    status, _ = watch(book, monkeypatch, ["n", "n", "h", "r", "t", "l", "c", "x"])
    out = capsys.readouterr().out
    assert status == 1                                                   # q: the last verdict, 00b's
    assert "00a_pair_counts.py: passed. next: 00b_merge.py" in out
    assert out.count(keys.LEGEND) >= 8                                   # under each verdict, after each key
    first, rest = out.split("00b_merge.py: FAILED", 1)                   # n: on to 00b, checked at once
    assert keys.LEGEND in first and "a merge that overlaps itself" in rest
    assert "00b_merge.py has not passed yet: `n` moves on after a pass" in rest   # the second n
    assert "hint for the mistake your last check found: When the pair matches" in rest
    assert "chapter 0's milestone: nn2gpt learn run tokens" in rest and "does not start it" in rest
    assert traced == [("merge", False, 10.0)] and "the trace of 00b_merge.py" in rest
    assert "00c_train_bpe.py" in rest and "milestones (nn2gpt learn run NAME):" in rest      # l
    assert "exercises passed" in rest                                    # c: the survey's summary
    assert rest.rstrip().endswith(keys.LEGEND)                           # x: unknown, the legend again


def test_q_ends_at_once_with_the_last_checks_status(book, capsys, monkeypatch):
    solve(book, "pair_counts")
    status, fake = watch(book, monkeypatch, [])
    assert status == 0 and fake.waits == 1


def test_max_checks_still_ends_watching_with_keys(book, capsys, monkeypatch):
    solve(book, "pair_counts")
    status, fake = watch(book, monkeypatch, ["n", "n"], max_checks=2)   # the start, then n's check of 00b
    assert status == 1 and fake.pressed == ["n"]


def test_without_a_terminal_no_key_is_read_and_no_legend_shown(book, capsys, monkeypatch):
    args = argparse.Namespace(poll=0.01, timeout=10.0, max_checks=1)
    with keys.source(sys.stdin) as term:                                # pytest's stdin is no terminal
        assert term is None
    assert do_watch(Workbook(book), args) == 1
    assert "keys:" not in capsys.readouterr().out


def test_an_escape_sequence_is_no_key(tmp_path):
    r, w = os.pipe()
    term = keys.Terminal(r)
    os.write(w, b"\x1b[C")                                               # the right arrow: not `c`
    assert term.wait(1.0) is None
    os.write(w, b"Hn")                                                   # typed fast: both, in order
    assert term.wait(1.0) == "h" and term.wait(0) == "n"
    os.close(w)
    assert term.wait(1.0) is None and term.gone                         # hung up: no more keys
    os.close(r)


# ---- a real terminal --------------------------------------------------------------------------
termios = pytest.importorskip("termios")
pty = pytest.importorskip("pty")


def read_until(fd, wanted: str, timeout: float = 120.0) -> str:
    seen, deadline = b"", time.monotonic() + timeout
    while wanted.encode() not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:                                              # the child closed the terminal
                break
    assert wanted.encode() in seen, seen.decode(errors="replace")
    return seen.decode(errors="replace")


def wait_reading(fd, proc, timeout: float = 60.0) -> tuple[int | None, str]:
    """(proc's exit status, None if it is still running after `timeout`; what it printed meanwhile):
    its terminal is read while it ends, so a write of its last lines can never wait on a full one."""
    seen, deadline = b"", time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                time.sleep(0.05)
    if proc.poll() is None:            # stuck: what its signal masks and threads say (faulthandler, on SIGABRT)
        with contextlib.suppress(OSError):
            seen += b"\n" + b"".join(line.encode() for line in open(f"/proc/{proc.pid}/status")
                                     if line.startswith(("State", "Sig", "Shd")))
        proc.send_signal(signal.SIGABRT)
        end = time.monotonic() + 3
        while time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    seen += os.read(fd, 4096)
                except OSError:
                    break
        return None, seen.decode(errors="replace")
    return proc.poll(), seen.decode(errors="replace")


@pytest.mark.parametrize("how", ["q", "SIGTERM", "Ctrl-C"])
def test_a_pseudo_terminal_takes_keys_and_gets_its_settings_back(book, how):
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    env = {**os.environ, "NN2GPT_LEARN_WARM": "0", "PYTHONFAULTHANDLER": "1"}
    import fcntl

    def own_terminal():     # setsid, then the pseudo-terminal controls the child: Ctrl-C there is its SIGINT
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        # as a terminal's shell starts a command: SIGINT caught by default, whatever this worker inherited
        # (an ignored SIGINT survives exec, and Python then never turns Ctrl-C into KeyboardInterrupt)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})

    proc = subprocess.Popen([sys.executable, "-m", "nn2gpt", "learn", "watch", "--poll", "0.05"], cwd=book,
                            stdin=slave, stdout=slave, stderr=slave, env=env, preexec_fn=own_terminal)
    try:
        read_until(master, keys.LEGEND)
        during = termios.tcgetattr(slave)
        assert not during[3] & (termios.ECHO | termios.ICANON)          # cbreak: no echo, no line editing
        os.write(master, b"h")                                           # no Enter
        read_until(master, "00a_pair_counts.py, hint 1 of")
        if how == "q":
            os.write(master, b"q")
        elif how == "Ctrl-C":
            os.write(master, b"\x03")                                    # the terminal sends SIGINT
        else:
            proc.send_signal(signal.SIGTERM)
        status, printed = wait_reading(master, proc)
        assert status == {"q": 1, "Ctrl-C": 1, "SIGTERM": 143}[how], f"exit {status}, having printed: {printed!r}"
        assert termios.tcgetattr(slave) == before
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        os.close(slave)
