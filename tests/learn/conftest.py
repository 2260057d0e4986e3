"""What every workbook test starts from."""

import pytest

from nn2gpt.cli import main


@pytest.fixture
def book(tmp_path, monkeypatch, capsys):
    root = tmp_path / "wb"
    assert main(["learn", "init", str(root)]) == 0
    monkeypatch.chdir(root)
    capsys.readouterr()
    return root


@pytest.fixture
def stop_when():
    """`run(argv, ready, cwd, env)`: `nn2gpt ARGV` in a child process, sent SIGTERM as soon as
    `ready(printed)` is true (what it has printed so far, or a file it has written): the moment
    comes from the run itself, not from a guess of how long its start takes. -> (exit status,
    stdout, stderr). The child and all it started are killed at the end, however the test ends."""
    import os
    import signal
    import subprocess
    import sys
    import threading
    import time

    children = []

    def run(argv, ready, cwd, env=None, timeout=180):
        p = subprocess.Popen([sys.executable, "-m", "nn2gpt", *map(str, argv)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=cwd, env=env, start_new_session=True)
        children.append(p)
        out, err = [], []
        readers = [threading.Thread(target=lambda s=s, into=into: into.extend(iter(s.readline, "")), daemon=True)
                   for s, into in ((p.stdout, out), (p.stderr, err))]
        for reader in readers:
            reader.start()
        deadline = time.monotonic() + timeout
        while p.poll() is None and not ready("".join(out)) and time.monotonic() < deadline:
            time.sleep(0.02)
        if p.poll() is not None or not ready("".join(out)):
            p.kill()
            p.wait()
            raise AssertionError(f"the moment to stop it never came (exit {p.returncode}): {''.join(out + err)}")
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=timeout)
        for reader in readers:
            reader.join(timeout=10)
        return p.returncode, "".join(out), "".join(err)

    yield run
    for p in children:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
