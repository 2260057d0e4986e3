"""`learn watch` checks in a child forked from a warm process: the same verdicts as `learn check`'s
fresh child, for a pass, a mistake, a raise, a hang and what the learner prints."""

import pytest

from nn2gpt.learn.exercises import find
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
    fresh, forked = check(ex, path, timeout=3), warm.check(ex, path, timeout=3)
    assert (forked.status, forked.message, forked.output) == (fresh.status, fresh.message, fresh.output)
    assert forked.status == verdict
    assert ("hello from sigmoid" in forked.output) == (case == "prints")


@pytest.mark.parametrize("name", ["head", "block"])
def test_a_torch_exercise_passes_and_fails_alike(tmp_path, warm, name):
    ex = find(name)
    path = tmp_path / ex.file
    path.write_text(ex.solution.read_text())
    assert warm.check(ex, path).status == check(ex, path).status == "passed"
    path.write_text(ex.stub.read_text())
    fresh, forked = check(ex, path), warm.check(ex, path)
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

    def sleep(s):
        raise Stopped(getattr(signal, signum))
    monkeypatch.setattr(runner.os, "fork", fork)
    monkeypatch.setattr(runner.time, "sleep", sleep)
    try:
        with pytest.raises(Stopped):
            warm.check(ex, path, timeout=30)
        with pytest.raises(ChildProcessError):   # gone and reaped: no orphan left looping
            os.waitpid(pids[0], os.WNOHANG)
    finally:
        if pids and os.path.exists(f"/proc/{pids[0]}"):
            os.kill(pids[0], signal.SIGKILL)
