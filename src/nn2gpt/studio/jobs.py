"""Training from the page: one run at a time, in its own process, watched by every open tab.

A job is the same `nn2gpt gpt train` (or `digits train`) command a terminal would run, started as
a child process, so it keeps every promise of the command line: it takes the run's lock, writes
its checkpoints atomically, and on Stop (SIGINT, as Ctrl-C) finishes its step, saves and exits
(as it does on a SIGTERM from elsewhere: a job that exits 130 or 143 has saved and is "stopped").
Two jobs at once are refused: on a 2-core machine each would run at half speed.

What the page sees is a list of events that only grows: the child's output lines; for a GPT the
training loss from each progress line (one every few seconds, so the curve moves from the start),
the rows of `metrics.jsonl` as each checkpoint writes them, with a short sample from that
checkpoint; for digits each epoch's validation accuracy. A tab asks for the events of one job (its
`id`) after the last one it has, so any number of tabs can watch one run, and a tab opened late
sees it all from the start.

Stop before the GPT's training loop has begun (while it loads the data and builds the model, when
Ctrl-C would end it with nothing saved) is held until the first progress line: the loop then
finishes that step, evaluates and saves, so Stop always leaves a checkpoint. A job that ends
without one says so (`saved` is false).
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unicodedata
from pathlib import Path

from nn2gpt.checkpoint import has_checkpoint
from nn2gpt.errors import UserError
from nn2gpt.runlog import read_metrics
from nn2gpt.studio import checks

POSITIONS = ("learned", "rope", "sinusoidal", "alibi", "none")  # the default of `gpt train` (classic) first
EPOCH = re.compile(r"^epoch\s+(\d+)/(\d+): validation ([\d.]+)%")
PROGRESS = re.compile(r"^step (\d+)\b")  # gpt train's progress line (step 12/2000 or step 12, 3 s of 60 s)
PROGRESS_LOSS = re.compile(r"\bloss ([\d.]+)")
IDS = itertools.count(1)
SAMPLE_CHARS = 160


class Busy(Exception):
    """A job is already running (HTTP 409)."""


def gpt_command(fields: dict) -> list[str]:
    """`gpt train` with its defaults and the page's few fields (layers, width, positions, seconds)."""
    layers = checks.number(fields, "layers", int, 1, 12, 2)
    width = checks.number(fields, "width", int, 16, 512, 64)
    if width % 4:
        raise UserError("width must be a multiple of 4 (the model has 4 heads)")
    pos = fields.get("pos", POSITIONS[0])
    if pos not in POSITIONS:
        raise UserError(f"positions must be one of {', '.join(POSITIONS)}")
    seconds = checks.number(fields, "seconds", int, 5, 3600, 60)
    return ["gpt", "train", "--n-layer", str(layers), "--n-embd", str(width), "--pos", pos,
            "--max-seconds", str(seconds), "--max-iters", "1000000", "--eval-interval", "100"]


def digits_command(fields: dict) -> list[str]:
    """The book's chapter-1 run (784-30-10, quadratic cost, eta 3.0, 30 epochs): about ten seconds on 2 cores."""
    from nn2gpt.digits.cli import BOOK

    argv = BOOK.split()[1:]  # ["digits", "train", "--sizes", "784,30,10", "--epochs", "30", ...]
    argv[argv.index("--epochs") + 1] = str(checks.number(fields, "epochs", int, 1, 30, 30))
    return argv


COMMANDS = {"gpt": gpt_command, "digits": digits_command}


class Job:
    def __init__(self, chapter: str, name: str, run: Path, argv: list[str]):
        self.chapter, self.name, self.run, self.argv = chapter, name, run, argv
        self.id = next(IDS)
        self.step: int | None = None  # the last step a progress line reported (None: still starting)
        self.stop_held = False  # Stop was pressed before the loop began; sent at the first progress line
        self.saved: bool | None = None  # once ended: is there a checkpoint to use
        self.started = time.time()
        self.events: list[dict] = []
        self.status = "running"
        self.returncode: int | None = None
        self.proc: subprocess.Popen | None = None
        self.stopping = False
        self.rows_seen = 0  # metrics.jsonl rows already sent as events
        self.exited = False  # the process has ended (the metrics watcher then stops)
        self.watcher: threading.Thread | None = None
        self._lock = threading.Lock()  # events come from two threads (output reader, metrics watcher); Stop and
        # the reader agree under it on when a held SIGINT goes

    def add(self, event: dict) -> None:
        with self._lock:
            self.events.append(event | {"n": len(self.events)})

    def public(self) -> dict:
        return {"id": self.id, "chapter": self.chapter, "name": self.name, "status": self.status,
                "returncode": self.returncode, "seconds": round(time.time() - self.started, 1),
                "command": "nn2gpt " + " ".join(self.argv), "events": len(self.events), "step": self.step,
                "stopping": self.stopping, "saved": self.saved}


def good_name(name) -> bool:
    """A run name is a folder of the runs folder, named in any script ("gpt-live-3", "تجربة", "実験-2"): 1 to 64
    letters, their marks (a vowel sign, a virama) and digits, '_', '.' or '-', starting with a letter or digit. So
    never a path ('/', '\\'), never '.' or '..', never a space or a control character."""
    if not isinstance(name, str) or not 1 <= len(name) <= 64:
        return False
    kinds = [unicodedata.category(c)[0] for c in name]  # L letter, M mark, N digit, C control, Z space ...
    return kinds[0] in "LN" and all(k in "LMN" or c in "_.-" for c, k in zip(name, kinds))


class Jobs:
    """The one job that may run, and the last one that ran."""

    def __init__(self, runs_dir: Path, data_dir=None):
        self.runs_dir, self.data_dir = runs_dir, data_dir
        self.job: Job | None = None
        self._lock = threading.Lock()

    def start(self, chapter: str, name: str, fields: dict) -> Job:
        if not isinstance(chapter, str) or chapter not in COMMANDS:
            raise UserError(f"the page trains {' or '.join(COMMANDS)} runs, not {chapter!r}")
        if not good_name(name):
            raise UserError("the run name must be 1 to 64 letters or digits (of any script), '.', '_' or '-', "
                            "starting with a letter or digit")
        run = self.runs_dir / name
        if os.path.lexists(run):  # a dangling symbolic link too: training must not write through it
            raise UserError(f"{name} already exists in {self.runs_dir}; choose another name")
        argv = COMMANDS[chapter](fields if isinstance(fields, dict) else {}) + ["--out", str(run)]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        if self.data_dir:
            env["NN2GPT_DATA"] = str(self.data_dir)
        with self._lock:
            if self.job and self.job.status == "running":
                raise Busy(f"{self.job.name} is still training ({self.job.public()['seconds']:.0f} s so far); "
                           f"stop it or wait for it: two runs at once would each train at half speed")
            job = Job(chapter, name, run, argv)
            # its own session: a Ctrl-C in the studio's terminal reaches the studio only, which then
            # stops the run with one SIGINT (a second one would cut its final save short)
            job.proc = subprocess.Popen([sys.executable, "-m", "nn2gpt", *argv], stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, env=env,
                                        bufsize=1, errors="replace", start_new_session=True)
            self.job = job
        job.add({"type": "start", **job.public()})
        reader = threading.Thread(target=self._read, args=(job,), daemon=True)
        if chapter == "gpt":
            job.watcher = threading.Thread(target=self._watch_metrics, args=(job,), daemon=True)
            job.watcher.start()
        reader.start()
        return job

    def stop(self) -> dict:
        """SIGINT, once, as Ctrl-C: the run finishes its step, saves its checkpoint and exits."""
        job = self.job
        if not job or job.status != "running":
            raise UserError("no training run is running")
        with job._lock:  # against the reader seeing the first step at this very moment
            if not job.stopping:
                job.stopping = True
                if job.chapter == "gpt" and job.step is None:
                    job.stop_held = True  # Ctrl-C now would end it before its first save: wait for the loop
                else:
                    job.proc.send_signal(signal.SIGINT)
        return job.public()

    def shutdown(self, wait: float = 30.0) -> None:
        """The server is going: the run saves (one SIGINT), or is killed after `wait` seconds."""
        job = self.job
        if job and job.status == "running":
            if not job.stopping:
                job.stopping = True
                job.proc.send_signal(signal.SIGINT)
            try:
                job.proc.wait(wait)
            except subprocess.TimeoutExpired:
                job.proc.kill()

    # ---- watching ---------------------------------------------------------------------------
    def _read(self, job: Job) -> None:
        for line in job.proc.stdout:
            line = line.rstrip("\n")
            job.add({"type": "log", "line": line})
            m = EPOCH.match(line) if job.chapter == "digits" else None
            if m:
                job.add({"type": "metric", "epoch": int(m[1]), "epochs": int(m[2]), "accuracy": float(m[3])})
            m = PROGRESS.match(line) if job.chapter == "gpt" else None
            if m:
                self._progress(job, int(m[1]), PROGRESS_LOSS.search(line))
        job.returncode = job.proc.wait()
        job.exited = True
        if job.chapter == "gpt":
            job.watcher.join()  # the watcher stops, then the last rows are read once
            self._new_rows(job)
        stopped = job.returncode in (130, 143)  # Stop (SIGINT), or a SIGTERM from elsewhere; `saved` says what it kept
        job.saved = has_checkpoint(job.run) if job.chapter == "gpt" else (job.run / "weights.npz").is_file()
        job.status = "stopped" if stopped else "finished" if job.returncode == 0 else "failed"
        job.add({"type": "end", **job.public()})

    def _progress(self, job: Job, step: int, loss) -> None:
        """A progress line: the loop runs (a held Stop goes now), and its training loss is a point."""
        with job._lock:
            job.step = step
            if job.stop_held:
                job.stop_held = False
                job.proc.send_signal(signal.SIGINT)
        if loss:
            job.add({"type": "metric", "step": step, "train_loss": float(loss[1]), "live": True})

    def _watch_metrics(self, job: Job) -> None:
        while not job.exited:
            self._new_rows(job)
            time.sleep(0.5)

    def _new_rows(self, job: Job) -> None:
        rows = read_metrics(job.run)
        seen = job.rows_seen
        if len(rows) <= seen:
            return
        job.rows_seen = len(rows)
        for row in rows[seen:]:
            job.add({"type": "metric", **row})
        if any("val_loss" in r for r in rows[seen:]):
            sample = self._sample(job.run)
            if sample:
                job.add({"type": "sample", "step": rows[-1].get("step"), "text": sample})

    def _sample(self, run: Path) -> str | None:
        """A short sample from the checkpoint just written (read-only, one thread of the server)."""
        from nn2gpt.gpt.runs import load_model
        from nn2gpt.gpt.sample import sample_text

        try:
            model, tok, _ = load_model(run, data_dir=self.data_dir)
            return sample_text(model, tok, "", SAMPLE_CHARS, seed=0)
        except (UserError, OSError, RuntimeError):
            return None  # a checkpoint being replaced right now: the next one will do

    def events_after(self, n: int, job_id: int | None = None) -> list[dict] | None:
        """The events of the current job after the n-th; None when `job_id` names a job that is gone."""
        job = self.job
        if job_id is not None and (job is None or job.id != job_id):
            return None
        return job.events[n:] if job else []
