"""Where a command that does not train may write: never over a run.

`gpt attention`, `digits show`, `translate attention`, `translate target-text`, `lab report` and
`lab pizza` write pictures, reports and text wherever `--out` says. A run directory is not a
folder like any other: `latest`, `config.json`, `ckpt-*/` are what the next `gpt sample` reads,
and a trainer may be writing them this very moment. So every such `--out` goes through
`writing`:

    with writing(out, owner="gpt", overwrite=args.overwrite):
        ...compute, then write `out`...

and these rules hold in one place:

- Inside a run directory, only a command of that run's kind writes (a GPT's attention picture
  into its GPT run; never a lab report into a GPT run, never a text file into a translation
  model), and only while it holds the run's lock (nn2gpt.runlock): not while a trainer saves
  there.
- Even then it never writes over the run's own files: `latest`, `config.json`, `metrics.jsonl`,
  `tokenizer.json`, the weights, any `ckpt-*` or hidden file.
- A file that exists is replaced only with `--overwrite`. A directory output (`folder=True`) is
  the command's own folder of pictures and reports, which it rewrites each time.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from pathlib import Path

from nn2gpt.errors import UserError

# the files a training run writes into its directory; ckpt-* and hidden ones are the run's too
RUN_FILES = {"latest", "config.json", "metrics.jsonl", "samples.txt", "loss.png", "curve.png", "tokenizer.json",
             "weights.npz", "results.json", "meta.json"}


def enclosing_run(path: Path) -> tuple[Path, str] | None:
    """(run directory, its kind) for the nearest directory at or above `path` that is a run."""
    from nn2gpt.checkpoint import run_kind

    for folder in (path, *path.parents):
        if folder.is_dir():
            kind = run_kind(folder)
            if kind is not None:
                return folder, kind
    return None


def check_output(path, owner: str | tuple | None, overwrite: bool, folder: bool = False, flag: str = "--out"):
    """The run `path` lies in (a RunLock to hold while writing), or None; UserError when the
    rules of this module's docstring forbid writing `path`. `owner` is the kind of run the
    command belongs to ("gpt", "translate", "digits", "lab"), or a tuple of them; None: none."""
    from nn2gpt.checkpoint import describe
    from nn2gpt.runlock import RunLock

    path = Path(path).resolve()
    if not folder and path.is_dir():
        raise UserError(f"cannot write {flag} {path}: it is a directory; give the name of a file to write")
    if not folder and path.exists() and not path.is_file():
        raise UserError(f"cannot write {flag} {path}: it is not a regular file (a device or a pipe?); "
                        f"give the path of a file to write")
    found = enclosing_run(path if folder else path.parent)
    if found is not None:
        run, run_kind = found
        if run_kind not in ((owner,) if isinstance(owner, str) else owner or ()):
            raise UserError(f"{flag} {path} lies inside {run}, which holds {describe(run_kind)}; "
                            f"this command never writes into one, choose a path outside it")
        inside = path.relative_to(run).parts
        if inside and (inside[0] in RUN_FILES or inside[0].startswith(("ckpt-", "."))):
            raise UserError(f"{flag} {path} is the run's own {inside[0]} in {run}; writing there would damage "
                            f"the run, choose another name")
    if not folder and path.exists() and not overwrite:
        raise UserError(f"{flag} {path} already exists; pass --overwrite to replace it, or choose another {flag}")
    return None if found is None else RunLock(found[0], flag)


@contextmanager
def writing(path, owner: str | tuple | None, overwrite: bool, folder: bool = False, flag: str = "--out"):
    """Check `path` (check_output), then hold the lock of the run it lies in while the body writes."""
    lock = check_output(path, owner, overwrite, folder, flag)
    with lock or nullcontext():
        if lock is not None:  # checked again under the lock: a trainer may have saved meanwhile
            check_output(path, owner, overwrite, folder, flag)
        yield Path(path)
