"""Probe every command the way a hostile but fair user would, and count what happens.

    .venv/bin/python bench/reliability_probes.py

Trains one tiny run of each kind (gpt, numpy, translate, digits) in a temporary directory, then
runs every probe generated from the argparse parsers, in this process:
  - numbers: every numeric flag of every command with 0, -1, nan, inf, -inf, 1e999 and "x";
  - paths: every path option with a missing path, an empty directory, a file of garbage, a pipe
    and a path through a file;
  - runs of another kind: every option that reads a trained run, given each other kind of run;
  - forged checkpoints: every command that reads a model, given a copy of its run with NaN
    weights, an unknown format, a tokenizer that does not fit, an extra tensor or an edited
    meta.json, every sha256 recomputed but meta.json's own in the last case;
  - outputs into runs: every --out of a command that does not train, pointed at a run's
    `latest`, `config.json` or checkpoint (or, for a folder, at a run of another kind).
Each probe must end with exit 0, or with exit 2 and exactly one line on stderr; anything else
(a traceback, an exception, a second line, another status) is a failure and is printed. The
last two families are stricter: only a one-line refusal that leaves the run byte for byte
as it was counts. Then the families of bench/reliability_stops.py, each with its own rule:
stops (SIGTERM to every training command and every phase of the workbook's milestones),
divergence, threads, resume+overwrite, messages; and those of bench/reliability_out.py: a
foreign --out, --out = --from, forged Hugging Face folders, a full disk.
`--families stops,divergence` runs only those (a quick check of a few).
The same probes run as tests in tests/reliability/ (those also cover concurrent writers,
kill -9, a full disk, permissions and huge images); this script only counts them.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "reliability"))

from reliability_helpers import (DIGITS_TINY, GPT_TINY, NUMPY_TINY, TRANSLATE_TINY,  # noqa: E402
                                 argv_of, base_commands, forge, nan_in_first, path_options, snapshot)

from nn2gpt.cli import Number, command_parsers, main  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
import reliability_out as outs  # noqa: E402
import reliability_stops as stops  # noqa: E402

NUMBERS = ("0", "-1", "nan", "inf", "-inf", "1e999", "x")
KINDS = ("gpt", "numpy", "translate", "digits")
FAMILIES = ("numbers", "paths", "runs of another kind", "forged checkpoints", "outputs into runs",
            "stops", "divergence", "threads", "resume+overwrite", "messages",
            "foreign --out", "--out = --from", "forged HF folders", "full disk", "milestone stops")
# forge() edits: each makes a checkpoint whose checksums pass and whose content is wrong
FORGERIES = {
    "NaN weights": {"weights": nan_in_first},
    "format 99": {"meta": lambda m: m.__setitem__("format", 99)},
    "tokenizer too short": {"meta": lambda m: m["tokenizer"].update(chars=m["tokenizer"]["chars"][:10])
                            if "chars" in m["tokenizer"] else m["tokenizer"]["model"]["vocab"].update(zzqx=10**6)},
    "extra tensor": {"weights": lambda a: a.__setitem__("extra.weight", a[sorted(a)[0]][:1].copy())},
    "meta.json edited": {"meta": lambda m: m["state"].__setitem__("step", 10**6), "digest": False},
}
OUTPUTS = {"gpt attention": False, "digits show": False, "translate attention": True,
           "translate target-text": False, "lab report": True, "lab pizza": True}  # command: --out is a folder


def run(argv) -> tuple[int | str, str]:
    argv = [str(a) for a in argv]
    if argv[:1] == ["studio"] and "--list" not in argv:  # once its flags pass, a studio serves until stopped:
        argv.append("--list")                             # --list ends it right after the same checks
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            status = main([str(a) for a in argv])
    except BaseException as e:  # noqa: BLE001 - an exception is what we count
        return f"{type(e).__name__}: {e}", err.getvalue()
    return status, err.getvalue()


def ok(status, err: str) -> bool:
    lines = err.strip().splitlines()
    return status == 0 or (status == 2 and len(lines) == 1 and ": error: " in lines[0])


def main_() -> int:
    import argparse
    import os
    import shutil

    ap = argparse.ArgumentParser(description="Probe every command and count what happens (see the docstring).")
    ap.add_argument("--families", default=",".join(FAMILIES), help="comma-separated families (default: all)")
    families = [f.strip() for f in ap.parse_args().families.split(",")]
    if set(families) - set(FAMILIES):
        ap.error(f"unknown families {sorted(set(families) - set(FAMILIES))}; choose from {', '.join(FAMILIES)}")
    tmp = Path(tempfile.mkdtemp(prefix="nn2gpt-probes-"))
    runs = {k: tmp / k for k in KINDS}
    for argv in (["gpt", "train", "--out", runs["gpt"], "--max-iters", "6", "--eval-interval", "3", *GPT_TINY],
                 ["gpt", "train", "--out", runs["numpy"], "--max-iters", "6", "--eval-interval", "3", *NUMPY_TINY],
                 ["translate", "train", "--out", runs["translate"], "--epochs", "1", *TRANSLATE_TINY],
                 ["digits", "train", "--out", runs["digits"], *DIGITS_TINY]):
        assert run(argv)[0] == 0, argv
    runs["tokens"] = tmp / "tokens"  # chapter 0's tokenizer, read by `tokens show|encode|decode`
    assert run(["tokens", "train", "--out", runs["tokens"], "--vocab-size", "300", "--quiet"])[0] == 0
    sys.path.insert(0, str(ROOT / "tests"))
    from hf_tiny import gpt2_folder, marian_folder  # tiny Hugging Face folders for the two importers

    runs["hf-gpt2"] = gpt2_folder(tmp / "hf" / "gpt2")[0]
    runs["hf-marian"] = marian_folder(tmp / "hf" / "marian" / "opus-mt-es-en")[0]
    runs["translate-copy"] = tmp / "translate-copy"
    shutil.copytree(runs["translate"], runs["translate-copy"])
    (tmp / "empty-dir").mkdir()
    (tmp / "garbage").write_bytes(b"\x00\xff not what you think \x89PNG")
    os.mkfifo(tmp / "a-pipe")
    bad_paths = [tmp / "no" / "such" / "path", tmp / "empty-dir", tmp / "garbage", tmp / "a-pipe",
                 tmp / "garbage" / "inside"]
    work = tmp / "work"
    work.mkdir()
    run(argv_of("lab run", base_commands(runs, work)["lab run"]))  # lab report reads its results.json

    counts = {f: [0, 0] for f in FAMILIES if f in families}
    failures = []

    def probe(family: str, argv, untouched: Path | None = None) -> None:
        if family not in counts:
            return
        before = snapshot(untouched) if untouched else None
        status, err = run(argv)
        counts[family][0] += 1
        if untouched is None:
            good = ok(status, err)
        else:  # a one-line refusal that left the run as it was
            good = status == 2 and ok(status, err) and snapshot(untouched) == before
        if not good:
            counts[family][1] += 1
            failures.append((family, argv, status, err.strip()[-300:]))

    def judged(family: str, name: str, passed: bool, what: str) -> None:
        if family in counts:
            counts[family][0] += 1
            if not passed:
                counts[family][1] += 1
                failures.append((family, [name], "", what.strip()[-300:]))

    t0 = time.perf_counter()
    for command, parser in command_parsers().items() if {"numbers", "paths", "runs of another kind"} & {*counts} else ():
        for action in parser._actions:
            if action.option_strings and isinstance(action.type, Number):
                for value in NUMBERS:
                    probe("numbers", [*command.split(), f"{action.option_strings[-1]}={value}"])
        for action in path_options(parser):
            key = action.option_strings[-1] if action.option_strings else action.dest
            for bad in bad_paths:
                spec = base_commands(runs, work)[command]
                spec[key] = [bad, runs["translate"]] if key == "checkpoints" else bad
                probe("paths", argv_of(command, spec))
        for action in parser._actions:
            if action.dest in {"model", "run", "init_from", "lm"} and action.choices is None:
                key = action.option_strings[-1] if action.option_strings else action.dest
                for kind in KINDS:
                    spec = base_commands(runs, work)[command]
                    spec[key] = runs[kind]
                    if key == "--init-from":
                        spec["--out"] = work / "new"
                    probe("runs of another kind", argv_of(command, spec))
    copies = tmp / "copies"
    for kind in ("gpt", "numpy", "translate") if "forged checkpoints" in counts else ():
        for name, edit in FORGERIES.items():
            victim = copies / f"{kind}-{name.replace(' ', '-')}"
            shutil.copytree(runs[kind], victim)
            forge(victim, **edit)
            for command, spec in base_commands(runs, work).items():
                key = "--model" if spec.get("--model") == runs["translate" if kind == "translate" else "gpt"] else None
                if key and command != "translate average":
                    probe("forged checkpoints", argv_of(command, spec | {key: victim}), untouched=victim)
    for command, folder in OUTPUTS.items() if "outputs into runs" in counts else ():
        for kind in ("gpt", "translate", "digits"):
            victim = copies / f"out-{kind}"
            if not victim.exists():
                shutil.copytree(runs[kind], victim)
            ckpt = next(victim.glob("ckpt-*"), None)
            targets = ([victim / "latest", victim / "config.json", ckpt / "weights.safetensors"] if ckpt
                       else [victim / "weights.npz", victim / "config.json"])
            if folder:
                targets = [ckpt] if ckpt else []
                if base_commands(runs, work)[command].get("--model") not in (runs.get(kind),):
                    targets.append(victim)  # a run of another kind
            for out in targets:
                spec = base_commands(runs, work)[command] | {"--out": out}
                argv = argv_of(command, spec) + ([] if folder else ["--overwrite"])
                probe("outputs into runs", argv, untouched=victim)
    for family, probes in (("stops", lambda: stops.stop_probes(tmp, run)),
                           ("divergence", lambda: stops.divergence_probes(tmp, run)),
                           ("messages", lambda: stops.message_probes(tmp, runs, run)),
                           ("foreign --out", lambda: outs.foreign_out_probes(runs, work, run)),
                           ("--out = --from", lambda: outs.same_as_from_probes(runs, work, run)),
                           ("forged HF folders", lambda: outs.forged_hf_probes(runs, work, run)),
                           ("full disk", lambda: outs.full_disk_probes(runs, work, run)),
                           ("milestone stops", lambda: outs.milestone_stop_probes(work, run))):
        for name, passed, what in probes() if family in counts else ():
            judged(family, name, passed, what)
    for family, name, passed, what in stops.refusal_probes(runs, work, run) if {"threads", "resume+overwrite"} & {*counts} else ():
        judged(family, name, passed, what)
    total = sum(c[0] for c in counts.values())
    bad = sum(c[1] for c in counts.values())
    print(f"{'family':<22} {'probes':>7} {'failures':>9}")
    for family, (n, f) in counts.items():
        print(f"{family:<22} {n:>7} {f:>9}")
    print(f"{'total':<22} {total:>7} {bad:>9}   ({time.perf_counter() - t0:.0f} s, {len(command_parsers())} commands)")
    for family, argv, status, err in failures:
        print(f"FAIL {family}: nn2gpt {' '.join(map(str, argv))} -> {status}\n    {err}")
    shutil.rmtree(tmp, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main_())
