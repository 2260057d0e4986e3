"""`nn2gpt ARGV` run in the test's own process, answered as `subprocess.run` answers.

A command-line test that spawns `python -m nn2gpt` pays for Python, numpy and torch to start
again each time. Where the process boundary is not what a test is about (signals, locks
between processes, torchrun, a clean import are), `run_cli` calls `nn2gpt.cli.main` itself, with
stdout and stderr caught, and returns the same CompletedProcess: exit status, stdout, stderr.
"""

from __future__ import annotations

import io
import subprocess
from contextlib import redirect_stderr, redirect_stdout

from nn2gpt.cli import main


def run_cli(*argv) -> subprocess.CompletedProcess:
    args = [str(a) for a in argv]
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as e:  # argparse's own errors and --help exit; so would a command
            code = e.code if isinstance(e.code, int) else 0 if e.code is None else 1
    return subprocess.CompletedProcess(["nn2gpt", *args], code, out.getvalue(), err.getvalue())
