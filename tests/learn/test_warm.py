"""`learn watch` checks in a child forked from a warm process: the same verdicts as `learn check`'s
fresh child, for a pass, a mistake, a raise, a hang and what the learner prints."""

import pytest

from nn2gpt.learn.registry import find
from nn2gpt.learn.runner import Warm, check

SIGMOID = "return 1.0 / (1.0 + np.exp(-z))"
CASES = {  # the body of the learner's sigmoid, and the verdict both checks must give
    "passes": (SIGMOID, "passed"),
    "wrong": ("return 1.0 / (1.0 + np.exp(z))", "failed"),
    "raises": ("return 1.0 / (1.0 + np.exp(-zz))", "error"),
    "hangs": ("while True:\n        pass", "error"),
    "prints": ("print('hello from sigmoid')\n    " + SIGMOID, "passed"),
}


@pytest.fixture(scope="module")
def warm():
    return Warm()


@pytest.mark.parametrize("case", CASES)
def test_warm_and_fresh_children_agree(tmp_path, warm, case):
    ex = find("sigmoid")
    body, verdict = CASES[case]
    text = ex.solution.read_text()
    assert SIGMOID in text
    path = tmp_path / ex.file
    path.write_text(text.replace(SIGMOID, body, 1))
    limit = 1 if case == "hangs" else 3           # a hang is cut at its limit: 1 s is as good as 3 to see it
    fresh, forked = check(ex, path, timeout=limit), warm.check(ex, path, timeout=limit)
    assert (forked.status, forked.message, forked.output) == (fresh.status, fresh.message, fresh.output)
    assert forked.status == verdict
    assert ("hello from sigmoid" in forked.output) == (case == "prints")


@pytest.mark.parametrize("name", ["head", "block"])
def test_a_torch_exercise_passes_and_fails_alike(tmp_path, warm, name):
    ex = find(name)
    path = tmp_path / ex.file
    path.write_text(ex.solution.read_text())
    slow = 120  # a torch check takes well under a second; this one runs beside the rest of the suite
    assert warm.check(ex, path, timeout=slow).status == check(ex, path, timeout=slow).status == "passed"
    path.write_text(ex.stub.read_text())
    fresh, forked = check(ex, path, timeout=slow), warm.check(ex, path, timeout=slow)
    assert forked.status == fresh.status == "failed" and forked.message == fresh.message


@pytest.mark.parametrize("signum", ["SIGTERM", "SIGINT"])
def test_a_stop_during_a_check_kills_the_child(tmp_path, warm, monkeypatch, signum):
    """Ctrl-C or SIGTERM while the child runs the learner's endless loop: the child is killed and reaped."""
    import os
    import signal

    from nn2gpt.interrupt import Stopped
    from nn2gpt.learn import runner

    ex = find("sigmoid")
    path = tmp_path / ex.file
    path.write_text(ex.solution.read_text().replace(SIGMOID, CASES["hangs"][0], 1))
    pids, real_fork = [], os.fork

    def fork():
        pid = real_fork()
        pids.append(pid)
        return pid

    def pause(fd):                               # the signal comes while the parent waits for the child
        raise Stopped(getattr(signal, signum))
    monkeypatch.setattr(runner.os, "fork", fork)
    monkeypatch.setattr(runner, "_pause", pause)
    try:
        with pytest.raises(Stopped):
            warm.check(ex, path, timeout=30)
        with pytest.raises(ChildProcessError):   # gone and reaped: no orphan left looping
            os.waitpid(pids[0], os.WNOHANG)
    finally:
        if pids and os.path.exists(f"/proc/{pids[0]}"):
            os.kill(pids[0], signal.SIGKILL)


@pytest.mark.parametrize("body, verdict, limit", [("print('x' * 1_000_000)\n    " + SIGMOID, "passed", 4),
                                                  ("while True:\n        print('y' * 1000)", "error", 2)],
                         ids=["a megabyte a call", "an endless print"])
def test_what_the_code_prints_is_cut_and_counts_against_the_time_limit(tmp_path, warm, body, verdict, limit):
    """A print in a function the check calls some sixty times: both children cut it to its first
    lines and say how much more there was; neither parent holds more than the cap. A print that
    never ends is stopped by the time limit like any endless loop (2 s: megabytes by then)."""
    import time

    from nn2gpt.learn.printed import KEEP

    ex = find("sigmoid")
    path = tmp_path / ex.file
    path.write_text(ex.solution.read_text().replace(SIGMOID, body, 1))
    for run in (check, warm.check):
        start = time.monotonic()
        result = run(ex, path, timeout=limit)
        assert time.monotonic() - start < 10
        assert result.status == verdict, result
        assert len(result.output) < KEEP + 200 and result.output.endswith(", not shown\n"), result.output[-200:]
        last = result.output.splitlines()[-1]
        assert last.startswith("… ") and (" MB more" in last or " GB more" in last), last
        if verdict == "error":
            assert f"did not finish within {limit} s" in result.message


def test_the_sink_keeps_the_first_lines_and_counts_the_rest():
    from nn2gpt.learn.printed import Sink

    sink = Sink(keep=1000, lines=3)
    for i in range(10):
        sink.write(f"line {i}\n".encode())
    assert sink.text() == "line 0\nline 1\nline 2\n… 49 bytes more (7 lines), not shown\n"
    sink = Sink(keep=10, lines=100)
    sink.write(b"a" * 25)
    assert sink.text() == "aaaaaaaaaa\n… 15 bytes more, not shown\n"
    sink = Sink()
    sink.write(b"short\n")
    assert sink.text() == "short\n"
    sink = Sink(keep=10, lines=5)
    for _ in range(1000):
        sink.write(b"z" * 600_000)
    assert sink.text().endswith("… 600 MB more, not shown\n") and len(sink.kept) == 10


def test_a_child_that_exits_without_a_verdict_says_how_alike(tmp_path, warm):
    """sys.exit inside the learner's function: no verdict, and both children say how it ended."""
    ex = find("sigmoid")
    path = tmp_path / ex.file
    path.write_text(ex.solution.read_text().replace(SIGMOID, "import sys; sys.exit('bye')", 1))
    fresh, forked = check(ex, path, timeout=5), warm.check(ex, path, timeout=5)
    assert fresh.status == forked.status == "error"
    assert fresh.message == forked.message == "01_sigmoid.py stopped the check before it finished (exit 1: bye)"
