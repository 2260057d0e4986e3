"""A workbook whose progress file is corrupt or gone: rebuilt from its exercise files.

The progress file is written atomically, so nn2gpt itself never leaves half of one; but an editor,
a sync tool or a disk can. Without it, every command used to say "no workbook here", and `init`
refused the folder because of the learner's own files: a dead end with the work still there. The
exercise files are what the workbook is, so they decide:

    a folder holding at least half of the road's exercise files is a workbook (`looks_like`)
    a corrupt progress file is kept aside, as nn2gpt-progress.json.corrupt-YYYYMMDD-HHMMSS
    every exercise file that is not its stub is checked now, and each that passes is passed again
    the new progress file lists every exercise as given: no stub is written beside the learner's
    files behind their back (`learn reset NAME` writes one)

Nothing of the learner's is touched; what is lost is the count of hints shown. One line says what
was done (`rebuild`'s answer), and the next command finds an ordinary workbook. The same files
tell `init` what it may write over (`not_stubs`): a stub, or the start of one, holds nothing of
the learner's.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

from nn2gpt.learn.registry import all_exercises


def not_stubs(root: Path) -> list[str]:
    """The exercise files in `root` init would not write over: those holding anything but their
    stub or the start of it (what a copy cut short, or an init killed halfway, leaves)."""
    found = []
    for ex in all_exercises():
        path = Path(root) / ex.file
        if not (path.exists() or path.is_symlink()):
            continue
        try:
            if path.is_file() and not path.is_symlink() and ex.stub.read_bytes().startswith(path.read_bytes()):
                continue
        except OSError:
            pass                                        # unreadable: not known to be a stub, so kept
        found.append(ex.file)
    return found


def looks_like(root: Path) -> bool:
    """Whether `root` holds at least half of the road's exercise files: a workbook, whatever became of
    its progress file (a folder with one file of the same name, a network.py of its own, is not)."""
    present = sum((Path(root) / ex.file).is_file() for ex in all_exercises())
    return 2 * present >= len(all_exercises())


def corrupt(path: Path) -> bool:
    """Whether the progress file at `path` cannot be read as one at all: not JSON, or JSON without
    the "passed" record every progress file has. (A field of the wrong kind is the learner's to fix,
    and `Workbook.load` names it: only that record is lost.)"""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return True
    except OSError:
        return False                                # unreadable, not corrupt: reading it names the problem
    return not isinstance(data, dict) or not isinstance(data.get("passed"), dict)


def set_aside(path: Path) -> Path:
    """Move the corrupt progress file out of the way, never over an earlier one; -> where it went."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    aside, n = path.with_name(f"{path.name}.corrupt-{stamp}"), 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    os.replace(path, aside)
    return aside


def passing(root: Path) -> list[str]:
    """The exercises whose file in `root` passes its check now (a stub, or a file that is not there,
    is not checked: it cannot pass). One torch import for all, where there is fork."""
    from nn2gpt.learn.runner import Warm, check

    todo = []
    for ex in all_exercises():
        path = Path(root) / ex.file
        try:
            if path.is_file() and path.read_bytes() != ex.stub.read_bytes():
                todo.append((ex, path))
        except OSError:
            pass                                    # unreadable: it cannot be checked, so it is not passed
    run = check
    if len(todo) > 1 and hasattr(os, "fork"):
        run = Warm(torch=any(ex.chapter in (2, 3, 4) for ex, _ in todo)).check
    return [ex.name for ex, path in todo if run(ex, path).status == "passed"]


def rebuild(path: Path, created: str) -> tuple[dict, str]:
    """(the new progress of the workbook whose progress file is `path`, the one line that says so);
    a corrupt file there is set aside first. The caller saves it."""
    aside = set_aside(path) if path.exists() else None
    passed = passing(path.parent)
    data = {"format": 1, "created": created, "passed": {name: created for name in passed}, "hints": {},
            "exercises": [ex.name for ex in all_exercises()]}
    what = f"was corrupt (kept as {aside.name})" if aside else "was missing"
    n = len(passed)
    again = ("none of your exercises passes its check yet" if not n else
             "1 exercise passes its check and is marked passed again" if n == 1 else
             f"{n} exercises pass their checks and are marked passed again")
    return data, f"{path.name} {what}; rebuilt from the exercise files in {path.parent}: {again} (no file was changed)"


def rebuilt(book, name: str):
    """`book` (a Workbook) with its progress file `name` made again and saved, `book.note` the line
    that says so; a workbook that cannot be written is one line, exit 2."""
    from nn2gpt.errors import UserError

    path = book.root / name
    try:
        data, book.note = rebuild(path, datetime.datetime.now().isoformat(timespec="seconds"))
        book.save(data)
    except OSError as e:
        raise UserError(f"{path} is corrupt or missing and cannot be rebuilt ({e.strerror or e}): make "
                        f"{book.root} writable, then run the command again") from None
    return book
