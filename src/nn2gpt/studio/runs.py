"""Which runs there are under --runs, and the models, loaded once and kept in memory.

A run is recognised the way every command recognises it (`checkpoint.run_kind`): a checkpoint
whose config says gpt or translate, a digits `weights.npz`, or a lab `results.json`. Runs may
sit in sub-folders (`runs/exp1/gpt`); the folders inside a run (its checkpoints) are not runs. A
symbolic link is followed only when it leads to a folder inside --runs: a link to `/` or to a
run elsewhere is neither listed nor walked (a run name must resolve inside --runs anyway).

`Models.get` loads a run the first time it is asked for and then answers from memory. It
re-reads the run only when the run itself changed on disk (a new checkpoint, a retrained
network): the signature it compares costs two `stat` calls, not a read.
"""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

from nn2gpt.checkpoint import has_checkpoint, latest_checkpoint_dir, refuse_kind, run_kind
from nn2gpt.errors import UserError
from nn2gpt.runlog import read_metrics

CHAPTERS = ("digits", "gpt", "translate", "lab")
DEPTH = 3  # runs/a/b/c at most: a folder tree of someone's home is not walked
TRAIN_ONE = {"digits": "nn2gpt digits train --out {runs}/digits",
             "gpt": "nn2gpt gpt train --out {runs}/gpt",
             "translate": "nn2gpt translate train --pair es-en --out {runs}/translate",
             "lab": "nn2gpt lab run --out {runs}/lab"}


def find_runs(runs_dir: Path) -> dict[str, list[dict]]:
    """{chapter: [{"name": "exp1/gpt", "summary": "..."}]} for every run under runs_dir, sorted by name."""
    found: dict[str, list[dict]] = {c: [] for c in CHAPTERS}

    root = runs_dir.resolve()

    def inside(p: Path) -> bool:  # a symbolic link is followed only when it stays inside --runs
        return not p.is_symlink() or root in p.resolve().parents

    def walk(folder: Path, depth: int) -> None:
        try:
            children = sorted(p for p in folder.iterdir() if not p.name.startswith(".") and inside(p) and p.is_dir())
        except OSError:
            return
        for child in children:
            kind = run_kind(child)
            if kind in found:
                name = child.relative_to(runs_dir).as_posix()
                try:
                    line = summary(child, kind)
                except (AttributeError, TypeError, KeyError, ValueError):  # an odd config.json: still listed
                    line = "?"
                found[kind].append({"name": name, "summary": line})
            elif kind is None and depth < DEPTH:
                walk(child, depth + 1)

    if runs_dir.is_dir():
        walk(runs_dir, 1)
    return found


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def summary(run: Path, kind: str) -> str:
    """One short line on what the run is, from its readable files (never its weights)."""
    if kind == "digits":
        c = _read_json(run / "config.json")
        acc = c.get("test_accuracy")
        return (f"{c.get('sizes', '?')}, " + (f"test {100 * acc:.2f}%" if isinstance(acc, (int, float)) else "untested")
                + _learner(c))
    if kind == "lab":
        results = _read_json(run / "results.json")
        s = results.get("settings", {})
        return f"{s.get('steps', '?')} steps a run" + _learner(results)
    c = _read_json(run / "config.json")
    m = c.get("model", {})
    if kind == "translate":
        return (f"{c.get('train', {}).get('pair', '?')}, d{m.get('d_model', '?')} x {m.get('n_layer', '?')} layers"
                + _learner(c))
    val = [r["val_loss"] for r in read_metrics(run) if isinstance(r.get("val_loss"), (int, float))]
    shape = f"{m.get('model', '?')} {m.get('n_layer', '?')}x{m.get('n_embd', '?')}, {m.get('pos', 'learned')} positions"
    return shape + (f", val {val[-1]:.3f}" if val and math.isfinite(val[-1]) else "") + _learner(c)


def _learner(config: dict) -> str:
    """Runs trained by `nn2gpt learn run` carry "learn" in their config: say whose code trained them."""
    return ", trained with your code (nn2gpt learn)" if isinstance(config.get("learn"), dict) else ""


def signature(run: Path, kind: str) -> tuple:
    """What changes when the run is retrained: the latest checkpoint's name and time, or the weights file's."""
    try:
        if kind == "digits":
            st = (run / "weights.npz").stat()
            return (st.st_mtime_ns, st.st_size)
        ckpt = latest_checkpoint_dir(run)
        return (ckpt.name, ckpt.stat().st_mtime_ns)
    except (OSError, UserError):
        return ()


def _load(run: Path, kind: str, data_dir):
    if kind == "digits":
        from nn2gpt.digits.model import load_model

        return load_model(run)
    if kind == "gpt":
        from nn2gpt.gpt.runs import load_model

        return load_model(run, data_dir=data_dir)
    from nn2gpt.translate.evaluate import load_run

    return load_run(run)


class Models:
    """The loaded models, one per run, reloaded only when the run's signature changes.

    Each run has its own lock. It is held while the run loads (a slow load stalls no other run)
    and by every forward pass that looks inside the model (`using`): hooks that read attention
    weights are attached to the shared model for one pass, so two passes must not overlap."""

    def __init__(self, data_dir=None):
        self.data_dir = data_dir
        self._loaded: dict[Path, tuple[tuple, object]] = {}
        self._locks: dict[Path, threading.RLock] = {}
        self._guard = threading.Lock()
        self.loads = 0  # how many times a checkpoint was read (the tests and the bench watch it)

    def lock(self, run: Path) -> threading.RLock:
        with self._guard:
            return self._locks.setdefault(run, threading.RLock())

    def get(self, run: Path, want: str):
        kind = run_kind(run)
        if kind != want:
            if kind is None and not has_checkpoint(run):
                raise UserError(f"{run.name} holds no trained model; train one into it with "
                                f"`{TRAIN_ONE[want].replace('{runs}/' + want, str(run))}`")
            refuse_kind(run.name, kind, want)
        sig = signature(run, kind)
        with self.lock(run):
            cached = self._loaded.get(run)
            if cached and cached[0] == sig and sig:
                return cached[1]
            model = _load(run, kind, self.data_dir)
            self.loads += 1
            self._loaded[run] = (sig, model)
            return model
