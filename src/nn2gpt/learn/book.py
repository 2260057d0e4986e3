"""The learner's workbook: a directory of exercise files and one progress file.

    nn2gpt-workbook/
        nn2gpt-progress.json     what has passed, how many hints each exercise has shown, which
                                 exercises the workbook was given, the exercise `goto` chose and
                                 each exercise's last failure (for the hint of its mistake)
        01_sigmoid.py ...        the exercises, the learner's to edit
        backups/                 what `reset` replaced, one file per reset

Commands find the workbook from `--dir`, else from the current directory or one above it
(the directory holding nn2gpt-progress.json, or half of the exercise files: a corrupt or lost
progress file is rebuilt from them, nn2gpt.learn.recover). `init` never overwrites: it refuses a
directory that already holds a workbook or any file of its own it would write, and it writes the
workbook whole or not at all (`Workbook.create`). The progress file is replaced atomically, so a
crash leaves the old progress or the new one.

The road grows: chapter 0's exercises came after chapters 1 to 5'. A workbook made before an
exercise existed is given its stub by the next command (`add_new`), beside the learner's own
files, none of which is touched; the progress file's "exercises" lists what the workbook has
been given, so that a file the learner deleted is not written again behind their back.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import os
import shutil
import tempfile
from pathlib import Path

from nn2gpt.errors import UserError
from nn2gpt.files import atomic_write_json, make_dirs, read_json
from nn2gpt.learn import recover
from nn2gpt.learn.recover import not_stubs
from nn2gpt.learn.registry import Exercise, all_exercises

PROGRESS = "nn2gpt-progress.json"
DEFAULT = "nn2gpt-workbook"
STAGING = ".nn2gpt-init-"   # init's hidden folder inside the workbook, gone when init ends
# what to do when init cannot write, by the reason
AGAIN = "and run `nn2gpt learn init {root}` again"
CANNOT_WRITE = {errno.ENOSPC: "free some disk space " + AGAIN, errno.EDQUOT: "free some disk space " + AGAIN,
                errno.EACCES: "make {root} writable " + AGAIN + ", or choose another directory",
                errno.EPERM: "make {root} writable " + AGAIN + ", or choose another directory",
                errno.EROFS: "the disk is read-only: choose a directory elsewhere",
                errno.ENOTDIR: "a part of the path is a file: choose another directory"}


def now() -> str:
    return datetime.datetime.now().isoformat(timespec="seconds")


def after(ex: Exercise, passed) -> Exercise | None:
    """The first exercise after `ex` in road order, from the start again past the last, that is
    not in `passed`; None when every one is."""
    road = all_exercises()
    i = next((k for k, e in enumerate(road) if e.name == ex.name), len(road))
    return next((e for e in road[i + 1:] + road[:i] if e.name not in passed), None)


class Workbook:
    def __init__(self, root: Path):
        self.root = Path(root)

    # ---- finding and creating ---------------------------------------------------------------
    @classmethod
    def find(cls, given: str | None) -> Workbook:
        """The workbook at `given` (--dir), else here or above; a folder of exercise files whose progress
        file is corrupt or gone is one still, its progress rebuilt (nn2gpt.learn.recover, `note`)."""
        if given is not None:
            root = Path(given)
            if not (root / PROGRESS).is_file() and recover.looks_like(root):
                return recover.rebuilt(cls(root), PROGRESS)
            if not (root / PROGRESS).is_file():
                mine = not_stubs(root)
                if mine:      # init would refuse that folder: never send the learner round in a circle
                    raise UserError(f"--dir {root} is not a workbook (no {PROGRESS} in it), and init keeps "
                                    f"{mine[0]}, which is not a stub: create one with `nn2gpt learn init NEWDIR` "
                                    f"and copy your exercise files into it")
                raise UserError(f"--dir {root} is not a workbook (no {PROGRESS} in it); create one with "
                                f"`nn2gpt learn init {root}`")
            return cls.opened(root)
        here = Path.cwd()
        for place in (here, *here.parents):
            if (place / PROGRESS).is_file():
                return cls.opened(place)
            if (place / DEFAULT / PROGRESS).is_file() and place == here:
                return cls.opened(place / DEFAULT)
            for root in (place, place / DEFAULT) if place == here else (place,):
                if not (root / PROGRESS).exists() and recover.looks_like(root):
                    return recover.rebuilt(cls(root), PROGRESS)
        raise UserError(f"no workbook here: run `nn2gpt learn init` to create {DEFAULT}/, then cd into it "
                        f"(or pass --dir)")

    note = ""   # one line about what finding the workbook did (its progress rebuilt), for the command to say

    @classmethod
    def opened(cls, root: Path) -> Workbook:
        """The workbook in `root`, its progress file rebuilt first if it cannot be read at all."""
        return recover.rebuilt(cls(root), PROGRESS) if recover.corrupt(Path(root) / PROGRESS) else cls(root)

    @classmethod
    def create(cls, root: Path) -> Workbook:
        """Write a new workbook into `root`, whole or not at all.

        The stubs are copied into a hidden folder inside `root` first, then moved into place (a
        rename: no disk space needed), and the progress file, which makes the folder a workbook,
        comes last. A full disk or a permission stops the copying before any file is in place; the
        hidden folder goes, and what init made with it (the files moved, `root` itself), so the
        folder is as it was and `init` runs again. The message names the workbook's file that could
        not be written, never the package's stub it was being copied from (the OSError of a failed
        copy names the source). An init killed halfway leaves complete stubs at most: a file that
        is its stub, or the start of it, holds nothing of the learner's, and init writes over it -
        no folder is left that init refuses ("already has 01_sigmoid.py") while every other
        command calls it "not a workbook"."""
        root = Path(root)
        if (root / PROGRESS).exists() or (not_stubs(root) and recover.looks_like(root)):   # a workbook's files
            raise UserError(f"{root} already holds a workbook; nothing was changed (continue with "
                            f"`nn2gpt learn --dir {root}`, or choose another directory)")
        clash = not_stubs(root)
        if clash:
            raise UserError(f"{root} already has {clash[0]}; nothing was changed (init never overwrites: "
                            f"choose an empty or new directory)")
        if root.exists() and not root.is_dir():
            make_dirs(root, "DIR")                      # its one line: a file, not a directory
        made = [p for p in (root, *root.parents) if not p.exists()]   # deepest first: what init creates
        target, moved, staging = root, [], None
        try:
            root.mkdir(parents=True, exist_ok=True)
            for stale in root.glob(STAGING + "*"):      # an earlier init's, killed before it could remove it
                shutil.rmtree(stale, ignore_errors=True)
            staging = Path(tempfile.mkdtemp(prefix=STAGING, dir=root))
            for ex in all_exercises():
                target = root / ex.file
                shutil.copyfile(ex.stub, staging / ex.file)
            for ex in all_exercises():
                target = root / ex.file
                os.replace(staging / ex.file, target)
                moved.append(target)
            target = root / PROGRESS
            book = cls(root)
            book.save({"format": 1, "created": now(), "passed": {}, "hints": {},
                       "exercises": [ex.name for ex in all_exercises()]})     # last: marks it a workbook
        except BaseException as e:                      # a full disk, a permission; Ctrl-C, SIGTERM
            for path in moved:                          # stubs, nothing of the learner's (recover.not_stubs)
                path.unlink(missing_ok=True)
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            for folder in made:
                with contextlib.suppress(OSError):
                    folder.rmdir()                      # only if empty: never a folder with anything in it
            if not isinstance(e, OSError):
                raise
            fix = CANNOT_WRITE.get(e.errno, "check {root} " + AGAIN).replace("{root}", str(root))
            what = "the workbook" if target == root else "the workbook's file"
            raise UserError(f"cannot write {what} {target}: {e.strerror or e}; nothing of the workbook was "
                            f"left behind: {fix}") from None
        shutil.rmtree(staging, ignore_errors=True)      # empty by now
        return book

    # ---- progress -----------------------------------------------------------------------------
    def load(self) -> dict:
        """The progress file, every field checked: "passed" and "gave_up" map exercise names to the
        time they happened, "hints" maps names to how many hints were shown (a whole number >= 0),
        "failures" to the last check's message while it has not passed and "mistake_hints" to how
        many hints for the mistake that message names were shown; "current" is the exercise `goto`
        chose. The last three came later: a progress file without them is read as having none."""
        path = self.root / PROGRESS
        data = read_json(path, "workbook progress")
        if not isinstance(data, dict) or not isinstance(data.get("passed"), dict):
            raise UserError(f"workbook progress {path} is damaged; move it aside and run "
                            f"`nn2gpt learn init` in a new directory, then copy your exercise files over")
        data.setdefault("hints", {})
        for key, ok, want in (("passed", lambda v: isinstance(v, str), "a time"),
                              ("gave_up", lambda v: isinstance(v, str), "a time"),
                              ("hints", lambda v: type(v) is int and v >= 0, "a whole number >= 0"),
                              ("failures", lambda v: isinstance(v, str), "a check's message"),
                              ("mistake_hints", lambda v: type(v) is int and v >= 0, "a whole number >= 0")):
            field = data.get(key, {})
            if not isinstance(field, dict) or not all(isinstance(k, str) and ok(v) for k, v in field.items()):
                raise UserError(f"workbook progress {path}: \"{key}\" must map exercise names to {want}; "
                                f"fix that entry or delete it (only that record is lost)")
        if not isinstance(data.get("current", ""), str):
            raise UserError(f"workbook progress {path}: \"current\" must name an exercise; delete that entry "
                            f"(the first exercise not passed is current again) or run `nn2gpt learn goto NAME`")
        given = data.get("exercises", [])
        if not isinstance(given, list) or not all(isinstance(name, str) for name in given):
            raise UserError(f"workbook progress {path}: \"exercises\" must list exercise names; delete that entry "
                            f"(the next command lists them again)")
        return data

    def save(self, data: dict) -> None:
        atomic_write_json(self.root / PROGRESS, data)

    def passed(self, ex: Exercise) -> bool:
        return ex.name in self.load()["passed"]

    def mark(self, ex: Exercise, passed: bool) -> None:
        data = self.load()
        if passed:
            data["passed"].setdefault(ex.name, now())
            for key in ("failures", "mistake_hints"):     # its mistakes are behind it: general hints again
                data.get(key, {}).pop(ex.name, None)
            if data.get("current") == ex.name:          # goto's exercise passed: on to the next not passed
                nxt = after(ex, data["passed"])
                data["current"] = nxt and nxt.name
                if nxt is None:
                    del data["current"]
        else:
            data["passed"].pop(ex.name, None)
        self.save(data)

    def current(self) -> Exercise | None:
        """The exercise `goto` chose (which `mark` moves on once it passes, to the next one after it
        not passed), else the first in road order not passed (None: all done). A chosen name this
        version does not know is passed over: the default holds."""
        data = self.load()
        chosen = next((ex for ex in all_exercises() if ex.name == data.get("current")), None)
        return chosen or next((ex for ex in all_exercises() if ex.name not in data["passed"]), None)

    def goto(self, ex: Exercise) -> None:
        """Make `ex` the current exercise, passed or not, until it passes (again)."""
        data = self.load()
        data["current"] = ex.name
        self.save(data)

    def failed(self, ex: Exercise, message: str) -> None:
        """Record a check that did not pass: no longer passed, its message kept for `hint`. A message
        naming another mistake than the last one starts that mistake's hints from the first."""
        data = self.load()
        data["passed"].pop(ex.name, None)
        before = data.setdefault("failures", {}).get(ex.name)
        if before is None or ex.mistake(before) != ex.mistake(message):
            data.get("mistake_hints", {}).pop(ex.name, None)
        data["failures"][ex.name] = message
        self.save(data)

    def gave_up(self, ex: Exercise) -> None:
        """Record that the solution was shown before a pass."""
        data = self.load()
        data.setdefault("gave_up", {}).setdefault(ex.name, now())
        self.save(data)

    def next_hint(self, ex: Exercise) -> tuple[int, str]:
        """(number, text) of the next hint; the last one repeats once all are shown."""
        data = self.load()
        shown = min(int(data["hints"].get(ex.name, 0)) + 1, len(ex.hints))
        data["hints"][ex.name] = shown
        self.save(data)
        return shown, ex.hints[shown - 1]

    # ---- files --------------------------------------------------------------------------------
    def add_new(self) -> list[str]:
        """Write the stub of each exercise this workbook has never been given; -> their file names.

        "Never given": not in the progress file's "exercises" - in a workbook made before that
        list existed, every exercise whose file is missing. Only a file that does not exist is
        written, so nothing of the learner's is touched; a workbook that cannot be written (a
        read-only copy) is left as it is, and `nn2gpt learn` names the files it lacks."""
        from nn2gpt.files import atomic_write_bytes

        data = self.load()
        names = [ex.name for ex in all_exercises()]
        given = data.get("exercises")
        if given is not None and not set(names) - set(given):
            return []
        added = []
        try:
            for ex in all_exercises():
                path = self.root / ex.file
                if (given is None or ex.name not in given) and not (path.exists() or path.is_symlink()):
                    atomic_write_bytes(path, ex.stub.read_bytes())
                    added.append(ex.file)
            self.save(data | {"exercises": [*names, *(n for n in given or [] if n not in names)]})
        except OSError:
            pass                    # what was written stays (whole stubs); the list is made next time
        return added

    def path(self, ex: Exercise) -> Path:
        path = self.root / ex.file
        if not path.is_file():
            raise UserError(f"{path} is missing; `nn2gpt learn reset {ex.name}` writes the stub again")
        return path

    def reset(self, ex: Exercise) -> Path | None:
        """Write the stub again; the learner's version goes to backups/ first. -> the backup's path."""
        path, backup = self.root / ex.file, None
        if path.exists() and not (path.is_file() and path.read_bytes() == ex.stub.read_bytes()):   # the stub: none
            make_dirs(self.root / "backups", "backups")
            stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            backup = self.root / "backups" / f"{path.stem}.{stamp}.py"
            n = 1
            while backup.exists():
                n += 1
                backup = self.root / "backups" / f"{path.stem}.{stamp}-{n}.py"
            shutil.copy2(path, backup)
        from nn2gpt.files import atomic_write_bytes

        atomic_write_bytes(path, ex.stub.read_bytes())
        self.mark(ex, False)
        return backup
