"""The probes of what `--out` may hold and of what an import accepts, for
bench/reliability_probes.py (its families "foreign --out", "--out = --from", "forged HF folders"
and "full disk"). Each is a generator of (probe name, passed, what happened); `run(argv) ->
(status, stderr)` runs one command in-process.

  - foreign --out: every command that writes a run, given a folder that holds a file no nn2gpt
    command wrote (another program's config.json, a notes file): exit 2, one line naming the
    file, the folder byte for byte as it was -- with --overwrite too;
  - --out = --from: every command that reads one folder and writes another, with --out equal
    to, inside and above what it reads: exit 2, one line, the source as it was;
  - forged HF folders: both importers given a Hugging Face folder with NaN, inf, integer or
    boolean weights, a missing or misshapen tensor, a damaged vocab.json, a config asking for
    10**12 positions: exit 2, one line, and the good run that --overwrite would replace untouched;
  - full disk: `learn init` and every run-writing command on a 3 MiB file system filled to a
    few KB (a tmpfs, mounted when this runs as root): exit 2 and one line, no half-made
    workbook, and `learn init` run again once space is freed makes the whole workbook.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from reliability_helpers import argv_of, base_commands, snapshot

# the commands that write a run into --out (and, for the second family, what they read)
WRITERS = ("digits train", "gpt train", "translate train", "translate average", "translate import", "gpt import",
           "lab run", "learn run")
READERS = {"gpt import": "--from", "translate import": "--from", "translate average": "checkpoints"}


def _one_line(status, err: str, *needles) -> bool:
    lines = err.strip().splitlines()
    return status == 2 and len(lines) == 1 and ": error: " in lines[0] and all(n in lines[0] for n in needles)


def _spec(runs, work, command: str, out) -> list:
    spec = base_commands(runs, work)[command]
    if command == "learn run":  # its --out sits among the milestone's own flags
        rest = list(spec[""])
        rest[rest.index("--out") + 1] = out
        return argv_of(command, spec | {"": rest})
    return argv_of(command, spec | {"--out": out})


def foreign_out_probes(runs: dict, work: Path, run):
    for command in WRITERS:
        for name, text in (("config.json", '{"my": "settings"}'), ("notes.txt", "mine")):
            out = work / "foreign" / f"{command.replace(' ', '-')}-{name}"
            out.mkdir(parents=True, exist_ok=True)
            (out / name).write_text(text)
            before = snapshot(out)
            argv = _spec(runs, work, command, out)  # the base commands pass --overwrite where they take it
            status, err = run(argv)
            passed = _one_line(status, err, name) and snapshot(out) == before and \
                sorted(p.name for p in out.iterdir()) == [name]
            yield f"{command} --out FOLDER-WITH-{name}", passed, f"exit {status}: {err.strip()[-300:]}"


def same_as_from_probes(runs: dict, work: Path, run):
    for command, flag in READERS.items():
        source = work / "sources" / command.replace(" ", "-")
        if not source.exists():
            key = {"gpt import": "hf-gpt2", "translate import": "hf-marian", "translate average": "translate"}[command]
            shutil.copytree(runs[key], source)
        before = snapshot(source)
        for where, out in (("equal", source), ("inside", source / "sub"), ("above", source.parent)):
            spec = base_commands(runs, work)[command] | {"--out": out}
            spec[flag] = [source] if flag == "checkpoints" else source
            status, err = run(argv_of(command, spec))
            passed = _one_line(status, err, "--out") and snapshot(source) == before
            yield f"{command} --out {where} {flag}", passed, f"exit {status}: {err.strip()[-300:]}"
    spec = base_commands(runs, work)["translate train"] | {"--out": runs["translate-copy"] / "inside"}
    before = snapshot(runs["translate-copy"])
    status, err = run([*argv_of("translate train", spec), "--init-from", runs["translate-copy"]])
    yield "translate train --out inside --init-from", _one_line(status, err, "--init-from") and \
        snapshot(runs["translate-copy"]) == before, f"exit {status}: {err.strip()[-300:]}"


def _forgeries():
    import torch

    def first(t):
        return sorted(k for k, v in t.items() if v.is_floating_point())[0]

    def nan(t):
        t[first(t)].view(-1)[1] = float("nan")

    def inf(t):
        t[first(t)].view(-1)[0] = float("inf")

    def ints(t):
        for k in list(t):
            t[k] = t[k].to(torch.int64)

    def boolean(t):
        t[first(t)] = t[first(t)] > 0

    def missing(t):
        del t[sorted(t)[-1]]

    def misshapen(t):
        t[first(t)] = t[first(t)][:-1]

    return {"NaN weight": nan, "inf weight": inf, "int64 weights": ints, "a bool tensor": boolean,
            "a tensor missing": missing, "a tensor misshapen": misshapen}


def _vocab(edit):
    def apply(folder: Path):
        vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        edit(vocab)
        (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    return apply


def _config(key, value):
    def apply(folder: Path):
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps(config | {key: value}))
    return apply


FOLDER_EDITS = {  # importer -> {name: edit of the folder's files}
    "translate": {"vocab.json half deleted": _vocab(lambda v: [v.pop(k) for k in list(v)[3:3 + len(v) // 2]]),
                  "vocab.json one id twice": _vocab(lambda v: v.update({list(v)[5]: v[list(v)[4]]})),
                  "max_position_embeddings 10**12": _config("max_position_embeddings", 10**12)},
    "gpt": {"n_positions 10**12": _config("n_positions", 10**12), "n_embd 0": _config("n_embd", 0)},
}


def forged_hf_probes(runs: dict, work: Path, run):
    from safetensors.torch import load_file, save_file

    for importer, hf, victim_kind in (("gpt", "hf-gpt2", "gpt"), ("translate", "hf-marian", "translate")):
        edits = {name: ("tensors", e) for name, e in _forgeries().items()}
        edits |= {name: ("folder", e) for name, e in FOLDER_EDITS[importer].items()}
        for name, (what, edit) in edits.items():
            folder = work / "forged-hf" / importer / name.replace(" ", "-").replace("*", "")
            shutil.copytree(runs[hf], folder)
            if what == "tensors":
                tensors = load_file(str(folder / "model.safetensors"))
                edit(tensors)
                save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
            else:
                edit(folder)
            victim = work / "forged-hf" / f"victim-{importer}-{len(list((work / 'forged-hf').iterdir()))}"
            shutil.copytree(runs[victim_kind], victim)
            before = snapshot(victim)
            pair = ["--pair", "es-en"] if importer == "translate" else []
            status, err = run([importer, "import", "--from", folder, *pair, "--out", victim, "--overwrite"])
            passed = _one_line(status, err) and snapshot(victim) == before
            yield f"{importer} import: {name}", passed, f"exit {status}: {err.strip()[-300:]}"


def full_disk_probes(runs: dict, work: Path, run):
    """On a 3 MiB tmpfs left with a few KB free; skipped (one failing probe saying why) where it
    cannot be mounted: a probe that is not run must not count as passed."""
    disk = work / "tiny-disk"
    disk.mkdir(exist_ok=True)
    mounted = os.geteuid() == 0 and subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(disk)],
                                                  capture_output=True).returncode == 0
    if not mounted:
        yield "mount a 3 MiB tmpfs", False, "needs root and mount(8); run the probes as root"
        return
    try:
        filler = disk / "filler"
        free = lambda: shutil.disk_usage(disk).free  # noqa: E731
        with open(filler, "wb") as f:
            f.write(b"\0" * max(free() - 24 * 1024, 0))
        book = disk / "book"
        status, err = run(["learn", "init", book])
        made = sorted(p.name for p in book.iterdir()) if book.exists() else []
        yield "learn init on a full disk", _one_line(status, err, str(book)) and \
            "site-packages" not in err and "src/nn2gpt" not in err and not made, f"exit {status}: {err.strip()[-300:]} {made}"
        for command in WRITERS:
            out = disk / command.replace(" ", "-")
            status, err = run(_spec(runs, work, command, out))
            yield f"{command} --out on a full disk", _one_line(status, err), f"exit {status}: {err.strip()[-300:]}"
        filler.unlink()  # no rm -rf of what the failed init left: running init again must be enough
        status, err = run(["learn", "init", book])
        yield "learn init again once space is freed", status == 0, f"exit {status}: {err.strip()[-300:]}"
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


LEARN_GPT = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16", "--batch-size", "4",
             "--eval-batches", "2", "--warmup", "2", "--sample-tokens", "0", "--quiet", "--threads", "1"]
LEARN_TRANSLATE = ["--pair", "es-en", "--d-model", "16", "--layers", "1", "--heads", "2", "--ff", "32",
                   "--vocab-size", "200", "--max-tokens", "400", "--limit", "60", "--warmup", "5", "--quiet",
                   "--device", "cpu", "--threads", "1", "--eval-limit", "5"]


def _rows(path: Path) -> int:
    try:
        return len(path.read_text().splitlines())
    except OSError:
        return 0


def milestone_stop_probes(work: Path, run):
    """SIGTERM at every phase of each milestone of the workbook (`nn2gpt learn run NAME`): while
    chapter 2's, 3's or 1's own reference trains, and while the learner's run trains. Each must
    exit 143 with no traceback and a last line that names the stop; a stop in the reference leaves
    --out as it was and no temporary folder; none names a temporary folder."""
    import os

    from nn2gpt.cli import main

    book = work / "stops-book"
    if not book.exists():
        from nn2gpt.learn.registry import all_exercises

        assert main(["learn", "init", str(book)]) == 0
        for ex in all_exercises():
            (book / ex.file).write_text(ex.solution.read_text())
    tmp = work / "stops-tmp"
    tmp.mkdir(exist_ok=True)
    env = os.environ | {"TMPDIR": str(tmp), "NN2GPT_LEARN_WARM": "0"}
    translate_run = work / "stops-translate-yours"
    status, err = run(["learn", "--dir", book, "run", "translate", *LEARN_TRANSLATE, "--epochs", "1",
                       "--out", translate_run])  # a run of the learner's to go on with (--resume: no reference)
    ref = lambda pattern: lambda printed: any(tmp.glob(f"nn2gpt-learn-reference-*/{pattern}"))  # noqa: E731
    rows = _rows(translate_run / "metrics.jsonl")
    phases = [
        ("gpt, during the reference", ["gpt", *LEARN_GPT, "--max-iters", "100000"], ref("ref/latest"), True),
        ("gpt, during yours", ["gpt", *LEARN_GPT, "--max-iters", "400", "--eval-interval", "50"], None, False),
        ("translate, during the reference", ["translate", *LEARN_TRANSLATE, "--epochs", "100000"],
         ref("ref/metrics.jsonl"), True),
        ("translate, during yours (--resume)", ["translate", *LEARN_TRANSLATE, "--epochs", "100000", "--resume"],
         lambda printed: _rows(translate_run / "metrics.jsonl") > rows, False),
        ("digits, during the reference", ["digits", "--sizes", "784,10,10", "--epochs", "100000", "--limit", "200"],
         None, True),
        ("numpy-gpt, during yours", ["numpy-gpt", *LEARN_GPT[:-2], "--max-iters", "100000", "--eval-interval", "3"],
         None, False),
        ("lab, during yours", ["lab", "--tiny", "--steps", "300", "--seeds", "2"], None, False),
    ]
    for i, (name, argv, ready, in_reference) in enumerate(phases):
        for old in tmp.glob("nn2gpt-learn-reference-*"):  # a phase's temporary folders are its own to leave
            shutil.rmtree(old, ignore_errors=True)
        out = translate_run if "--resume" in argv else work / f"stops-{i}"
        before = snapshot(out) if out.exists() else None
        marker = {"gpt": "latest", "numpy-gpt": "latest", "lab": "results.json"}.get(argv[0])
        status, printed, err = _stopped([*stops_py(), "learn", "--dir", book, "run", *argv, "--out", out], env,
                                        ready or (lambda printed, o=out, m=marker: (o / m).exists() if m else
                                                  "training the reference first" in printed))
        said = err.strip() or printed.strip()  # chapter 3's trainer says it on standard output
        last = said.splitlines()[-1] if said else ""
        passed = status == 143 and "Traceback" not in err and "SIGTERM" in said and \
            "nn2gpt-learn-reference" not in err + printed
        if in_reference:
            passed = passed and "never started" in last and \
                (snapshot(out) == before if before is not None else not out.exists())
        passed = passed and not any(tmp.glob("nn2gpt-learn-reference-*"))
        yield f"SIGTERM learn run {name}", passed, f"exit {status}: {err.strip()[-300:]}"


def _stopped(argv, env, ready, timeout: float = 240):
    """(exit status, stdout, stderr) of `argv`, sent SIGTERM once `ready(stdout so far)`; (None, ...)
    when that moment never came."""
    import os
    import signal
    import subprocess
    import threading
    import time

    p = subprocess.Popen(list(map(str, argv)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         start_new_session=True)
    out, err = [], []
    readers = [threading.Thread(target=lambda s=s, into=into: into.extend(iter(s.readline, "")), daemon=True)
               for s, into in ((p.stdout, out), (p.stderr, err))]
    for reader in readers:
        reader.start()
    deadline = time.monotonic() + timeout
    try:
        while p.poll() is None and time.monotonic() < deadline and not ready("".join(out)):
            time.sleep(0.02)
        if p.poll() is not None or not ready("".join(out)):
            return None, "".join(out), "the moment to stop it never came: " + "".join(err)
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=timeout)
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
        for reader in readers:
            reader.join(timeout=10)
    return p.returncode, "".join(out), "".join(err)


def stops_py() -> list[str]:
    import sys

    return [sys.executable, "-m", "nn2gpt"]
