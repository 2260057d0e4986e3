"""Which runs there are under --runs, and the models, loaded once and kept in memory.

A run is recognised the way every command recognises it (`checkpoint.run_kind`): a checkpoint
whose config says gpt or translate, a digits `weights.npz`, or a lab `results.json`. Runs may
sit in sub-folders (`runs/exp1/gpt`); the folders inside a run (its checkpoints) are not runs. A
symbolic link is followed only when it leads to a folder inside --runs: a link to `/` or to a
run elsewhere is neither listed nor walked (a run name must resolve inside --runs anyway).

`Models.get` loads a run the first time it is asked for and then answers from memory. It
re-reads the run only when the run itself changed on disk (a new checkpoint, a retrained
network): the signature it compares costs a few `stat` calls, not a read. The signature, as a
string (`identity`), is also what the run list and every model answer carry: a page compares the
two to see that a run it shows was trained again, or rewritten, since it drew its numbers.

The run list's one-line summaries are read once per run and again only when the files they come
from change (their size and time): a run list is a few `stat` calls a run, however long a
metrics.jsonl grows, and of metrics.jsonl only its last lines are read.
"""

from __future__ import annotations

import json
import math
import os
import threading
import weakref
from pathlib import Path

from nn2gpt.checkpoint import has_checkpoint, latest_checkpoint_dir, refuse_kind, run_kind
from nn2gpt.errors import UserError

CHAPTERS = ("digits", "gpt", "translate", "lab")
DEPTH = 3  # runs/a/b/c at most: a folder tree of someone's home is not walked
TRAIN_ONE = {"digits": "nn2gpt digits train --out {runs}/digits",
             "gpt": "nn2gpt gpt train --out {runs}/gpt",
             "translate": "nn2gpt translate train --pair es-en --out {runs}/translate",
             "lab": "nn2gpt lab run --out {runs}/lab"}


def find_runs(runs_dir: Path) -> dict[str, list[dict]]:
    """{chapter: [{"name": "exp1/gpt", "summary": "...", "identity": "..."}]} for every run under runs_dir, sorted
    by name; the identity is the one its model answers carry (see `Models.fetch`)."""
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
                found[kind].append({"name": name, "summary": summaries.get(child, kind),
                                    "identity": identity(signature(child, kind))})
            elif kind is None and depth < DEPTH:
                walk(child, depth + 1)

    if runs_dir.is_dir():
        walk(runs_dir, 1)
    return found


class Summaries:
    """Each run's summary line, kept with the size and time of the files it was read from."""

    FILES = {"digits": ("config.json",), "lab": ("results.json",), "gpt": ("config.json", "metrics.jsonl"),
             "translate": ("config.json", "metrics.jsonl")}

    def __init__(self):
        self._kept: dict[Path, tuple[tuple, str]] = {}
        self._guard = threading.Lock()
        self.reads = 0  # how many summaries were read from their files (the tests watch it)

    def get(self, run: Path, kind: str) -> str:
        key = (kind, *(_stat(run / name) for name in self.FILES[kind]))
        with self._guard:
            kept = self._kept.get(run)
        if kept and kept[0] == key:
            return kept[1]
        try:
            line = summary(run, kind)
        except (AttributeError, TypeError, KeyError, ValueError):  # an odd config.json: still listed
            line = "?"
        with self._guard:
            self.reads += 1
            if len(self._kept) > 10_000:  # runs deleted long ago are not kept for ever
                self._kept.clear()
            self._kept[run] = (key, line)
        return line


def _stat(path: Path) -> tuple:
    try:
        st = path.stat()
    except OSError:
        return ()
    return (st.st_mtime_ns, st.st_size)


summaries = Summaries()


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
    last = last_row(run / "metrics.jsonl", "val_loss")
    if kind == "translate":
        return (f"{c.get('train', {}).get('pair', '?')}, d{m.get('d_model', '?')} x {m.get('n_layer', '?')} layers"
                + _validation(last) + _learner(c))
    shape = f"{m.get('model', '?')} {m.get('n_layer', '?')}x{m.get('n_embd', '?')}, {m.get('pos', 'learned')} positions"
    val = last.get("val_loss")
    return shape + (f", val {val:.3f}" if _finite(val) else "") + _learner(c)


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _validation(row: dict) -> str:
    """A translation run's last evaluation: ", epoch 1, val loss 5.264 (perplexity 193.2), BLEU 3.1"."""
    if not _finite(row.get("val_loss")):
        return ", no validation loss recorded"
    text = (f", epoch {row['epoch']}" if isinstance(row.get("epoch"), int) else "") + f", val loss {row['val_loss']:.3f}"
    if _finite(row.get("val_ppl")):
        text += f" (perplexity {row['val_ppl']:.1f})"
    return text + (f", BLEU {row['bleu']:.1f}" if _finite(row.get("bleu")) else "")


TAIL = 1 << 16          # metrics.jsonl is read from its end, this many bytes at a time;
LONGEST = 1 << 22       # a row longer than this (a huge sample) is stepped over, never parsed or kept whole,
READ_MOST = 1 << 28     # and no more than this is read in all


def last_row(path: Path, key: str) -> dict:
    """The last whole JSON row of a JSON-lines file that holds a number under `key` ({} when none), read
    backwards from the end: a run's latest evaluation costs its last lines, not the whole file."""
    try:
        f = open(path, "rb")
    except OSError:
        return {}
    with f:
        pos, carry, read, overlong = f.seek(0, os.SEEK_END), b"", 0, False
        while pos > 0 and read < READ_MOST:
            step = min(TAIL if not overlong else 16 * TAIL, pos)
            pos -= step
            f.seek(pos)
            block = f.read(step)
            read += step
            if overlong:  # inside a row too long to look at: only its start (a newline) is looked for
                cut = block.rfind(b"\n")
                if cut < 0:
                    continue
                block, overlong = block[:cut], False
            lines = (block + carry).split(b"\n")
            carry = lines.pop(0) if pos > 0 else b""  # the end of a line that starts further back
            for line in reversed(lines):
                row = _row(line, key)
                if row is not None:
                    return row
            if len(carry) > LONGEST:
                carry, overlong = b"", True
    return {}


def _row(line: bytes, key: str):
    if key.encode() not in line:
        return None
    try:
        row = json.loads(line)
    except (ValueError, RecursionError):
        return None  # a line being written, or not JSON
    return row if isinstance(row, dict) and _finite(row.get(key)) else None


def _learner(config: dict) -> str:
    """Runs trained by `nn2gpt learn run` carry "learn" in their config: say whose code trained them."""
    return ", trained with your code (nn2gpt learn)" if isinstance(config.get("learn"), dict) else ""


def signature(run: Path, kind: str) -> tuple:
    """What changes when the run is retrained or its weights rewritten: the latest checkpoint's name and
    time and its weights file's time and size, or the digits weights file's; for a lab, its results'
    and report's (a lab run again into the folder rewrites both)."""
    try:
        if kind == "lab":
            return (*_stat(run / "results.json"), *_stat(run / "REPORT.md"))
        if kind == "digits":
            st = (run / "weights.npz").stat()
            return (st.st_mtime_ns, st.st_size)
        ckpt = latest_checkpoint_dir(run)
        return (ckpt.name, ckpt.stat().st_mtime_ns, *_stat(ckpt / "weights.safetensors"))
    except (OSError, UserError):
        return ()


def identity(sig: tuple) -> str:
    """A signature as the page sees it: "ckpt-00000020.1765101234567890123.80000.1765101234567890123"."""
    return ".".join(str(part) for part in sig)


def _first(model):
    """A loaded run is (network, config) or (model, tokenizer, config): the network itself."""
    return model[0] if isinstance(model, tuple) else model


def _load(run: Path, kind: str, data_dir):
    if kind == "digits":
        from nn2gpt.digits.model import load_model

        return load_model(run)
    from nn2gpt.studio.serving import prepare  # laid out for one token at a time, and warm

    if kind == "gpt":
        from nn2gpt.gpt.runs import load_model

        return prepare(kind, load_model(run, data_dir=data_dir))
    from nn2gpt.translate.evaluate import load_run

    return prepare(kind, load_run(run))


class Models:
    """The loaded models, one per run, reloaded only when the run's signature changes.

    Each run has its own lock. It is held while the run loads (a slow load stalls no other run)
    and by every forward pass that looks inside the model (`using`): hooks that read attention
    weights are attached to the shared model for one pass, so two passes must not overlap."""

    def __init__(self, data_dir=None):
        self.data_dir = data_dir
        self._loaded: dict[Path, tuple[tuple, object]] = {}
        self._previous: dict[Path, tuple[tuple, weakref.ref]] = {}
        self._locks: dict[Path, threading.RLock] = {}
        self._guard = threading.Lock()
        self.loads = 0  # how many times a checkpoint was read (the tests and the bench watch it)

    def lock(self, run: Path) -> threading.RLock:
        with self._guard:
            return self._locks.setdefault(run, threading.RLock())

    def get(self, run: Path, want: str):
        return self.fetch(run, want)[0]

    def identity(self, run: Path, model) -> str:
        """The identity of the run's loaded `model` (or of the model whose first part `model` is): the one
        loaded now or the one it replaced; "" for a model this run no longer knows."""
        with self._guard:
            now, before = self._loaded.get(run), self._previous.get(run)
        if now and (now[1] is model or _first(now[1]) is model):
            return identity(now[0])
        if before and before[1]() is model:
            return identity(before[0])
        return ""

    def fetch(self, run: Path, want: str) -> tuple:
        """(the run's model, its identity)."""
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
                return cached[1], identity(sig)
            model = _load(run, kind, self.data_dir)
            self.loads += 1
            with self._guard:
                if cached:  # an answer still being computed with it keeps its identity (not the model itself)
                    self._previous[run] = (cached[0], weakref.ref(_first(cached[1])))
                self._loaded[run] = (sig, model)
            return model, identity(sig)
