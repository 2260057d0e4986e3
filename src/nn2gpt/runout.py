"""What `--out` may hold: one rule for every command that writes a run.

Training (`gpt train` in both engines, `translate train`, `digits train`, the workbook's
milestones, the studio's live training, fine-tuning with `--resume`), importing (`gpt import`,
`translate import`), averaging, exporting (`gpt export`) and the lab all write a *run*: a
folder nn2gpt owns. Before any of them writes, `check_new_run` looks at what `--out` holds:

- nothing (a path that does not exist, or an empty folder): write there;
- a run of the same kind: replace it only with `--overwrite` (or continue it with `--resume`);
- a run of another kind: refused, with or without `--overwrite`;
- anything else, a file nn2gpt did not write (another program's `config.json`, a Hugging
  Face folder, a learner's notes): refused, with or without `--overwrite`, naming the file.
  nn2gpt replaces only what it wrote itself: `--overwrite` is a promise about runs, and a
  folder of someone else's files is not one.

A command that reads one folder and writes another (`import --from`, `export RUN`, `translate
train --init-from`) also refuses an `--out` equal to, inside or above what it reads
(`sources`): writing there would change the input while it is read, or bury the new run
inside the old one.

The replacement of a run happens only once the new one is written and verified: a save writes
the new checkpoint beside the old one and switches `latest` last (nn2gpt.checkpoint), and the
importers check every tensor before they save. So a refused or failed write leaves the old run
as it was.
"""

from __future__ import annotations

from pathlib import Path

from nn2gpt.checkpoint import (Checkpoint, describe, has_checkpoint, load_checkpoint, refuse_kind, require_kind,
                               run_kind)
from nn2gpt.errors import UserError

# what a command of ours leaves in a folder before its first save: the writer's lock
# (nn2gpt.runlock), a killed save's `.ckpt-tmp-*`, an atomic write's `.NAME.*.tmp`; and what
# a file manager adds to any folder it shows (macOS's Finder)
IGNORED = (".lock", ".DS_Store")
# what a trained run keeps beside its checkpoint that a model written over it by an import or an
# average did not make: its training curve and samples belong to the model that was replaced
TRAINING_FILES = ("metrics.jsonl", "loss.png", "curve.png", "samples.txt")


def _ours_or_ignored(name: str) -> bool:
    return name in IGNORED or name.startswith(".ckpt-tmp-") or (name.startswith(".") and name.endswith(".tmp"))


def foreign_file(out) -> Path | None:
    """The first entry of the folder `out` (sorted by name) that nn2gpt did not write, or None
    when the folder is missing or holds nothing but what a command of ours leaves behind."""
    out = Path(out)
    if not out.is_dir():
        return None
    try:
        names = sorted(p.name for p in out.iterdir())
    except OSError:
        return None  # unreadable: the writer's own check (RunLock) names the permission
    return next((out / n for n in names if not _ours_or_ignored(n)), None)


def check_sources(out, sources, flag: str = "--out") -> None:
    """UserError if `out` is, lies inside, or holds one of the folders `sources` (name, path) a
    command reads while it writes `out`."""
    target = Path(out).resolve()
    for name, src in sources:
        if src is None:
            continue
        source = Path(src).resolve()
        if target == source:
            raise UserError(f"{flag} {out} is {name} itself; writing it would replace what is being read, "
                            f"choose another {flag}")
        if source in target.parents:
            raise UserError(f"{flag} {out} lies inside {name} {src}; a run inside the folder it is made from "
                            f"would change that folder, choose a {flag} outside it")
        if target in source.parents:
            raise UserError(f"{flag} {out} holds {name} {src}; writing there could replace what is being read, "
                            f"choose a {flag} beside it")


def check_new_run(out, want: str, overwrite: bool, resume_hint: bool = True, sources=(),
                  flag: str = "--out") -> None:
    """Before a fresh run of kind `want` writes into `out` (the rule in this module's docstring):
    a typo in a command line must never throw away a model that took an hour to train, nor a
    file that was never ours."""
    if not out:
        return
    out = Path(out)
    check_sources(out, sources, flag)
    if out.exists() and not out.is_dir():
        what = "a file" if out.is_file() else "a device or a pipe"
        raise UserError(f"{flag} {out} is {what}, not a folder; give a new or empty folder for the run")
    for folder in out.resolve().parents:  # a run inside another run would be read as part of it
        if run_kind(folder) is not None:
            raise UserError(f"{flag} {out} lies inside {folder}, which holds {describe(run_kind(folder))}; a run "
                            f"is never written into another one, choose a {flag} outside it")
    kind = run_kind(out)
    if kind is None:
        foreign = foreign_file(out)
        if foreign is not None:
            raise UserError(f"{flag} {out} already holds {foreign.name}, which no nn2gpt command wrote; "
                            f"nothing was written (nn2gpt never replaces files that are not its own, even with "
                            f"--overwrite): choose a new or empty {flag}")
        return
    if kind != want:
        raise UserError(f"{flag} {out} holds {describe(kind)}, not {describe(want)}; choose another {flag}")
    if not overwrite:
        resume = "pass --resume to continue it, " if resume_hint else ""
        what = "a trained model" if want in ("gpt", "translate", "digits") else describe(want)
        raise UserError(f"{out} already holds {what}; {resume}pass --overwrite to replace it, "
                        f"or choose another {flag}")


def drop_training_files(out) -> None:
    """After an import or an average has replaced a run in `out`: remove the replaced run's
    training curve and samples, which a reader (the studio, `gpt sample`) would take for this model's."""
    for name in TRAINING_FILES:
        (Path(out) / name).unlink(missing_ok=True)


def checkpoint_to_resume(run_dir, resume: bool, overwrite: bool, want: str, sources=()) -> Checkpoint | None:
    """The checkpoint a training run of kind `want` continues from (`--resume`), or None for a
    fresh run (see check_new_run)."""
    if not resume:
        check_new_run(run_dir, want, overwrite, sources=sources)
        return None
    if run_dir is None or not has_checkpoint(run_dir):
        if run_dir and run_kind(run_dir) is not None:
            refuse_kind(run_dir, run_kind(run_dir), want)
        raise UserError(f"--resume needs a run directory with a checkpoint; {run_dir} has none "
                        f"(drop --resume to start a new run)")
    ck = load_checkpoint(run_dir, with_optimizer=True)
    require_kind(run_dir, ck.config, want)
    return ck
