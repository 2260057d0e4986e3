"""What `nn2gpt learn check --all` and the keys of `nn2gpt learn watch` do.

    check_all(book, check, timeout)   every exercise, one line each, then a summary -> exit status
    WatchKeys(...).press(key, view)   one key pressed while watching (nn2gpt.learn.keys reads it)

The keys act on the exercise in view: the one whose verdict is on the screen (the last one
checked). `n` moves on only after it has passed, to what the pass named as next (the first
exercise after it not passed), as rustlings does: skipping one that fails is `learn goto NAME`. `r`
prints the command of the chapter's milestone rather than running it: a milestone trains for
minutes, and watching would stop for as long.
"""

from __future__ import annotations

import sys

from nn2gpt.errors import UserError
from nn2gpt.learn.keys import LEGEND
from nn2gpt.learn.runner import Result


def record(book, ex, result: Result) -> None:
    """The progress after a check, as `learn check` keeps it: a pass, or the failure's message."""
    if result.status == "passed":
        book.mark(ex, True)
    else:
        book.failed(ex, result.message)


def check_all(book, check, timeout: float) -> int:
    """Check every exercise of the road with `check(ex, path, timeout)`; -> 0 if all passed, else
    the worst exit code (1 a wrong answer, 2 an error). What the code prints is not shown here:
    one line an exercise keeps the survey readable (`learn check NAME` shows it)."""
    from nn2gpt.learn.registry import all_exercises

    exercises = all_exercises()
    width = max(len(ex.file) for ex in exercises)
    counts, worst = {"passed": 0, "failed": 0, "error": 0}, 0
    for ex in exercises:
        path = book.root / ex.file
        if path.is_file():
            result = check(ex, path, timeout)
            record(book, ex, result)
        else:       # not a check of the learner's code: the progress stays as it was
            result = Result("error", f"missing; `nn2gpt learn reset {ex.name}` writes the stub")
        counts[result.status] = counts.get(result.status, 0) + 1
        worst = max(worst, result.exit_code)
        verdict = {"passed": "passed", "failed": "FAILED"}.get(result.status, "ERROR")
        print(f"  {ex.file:<{width}} {verdict}" + (f": {result.message}" if result.message else ""), flush=True)
    others = ", ".join(f"{n} {'failed' if s == 'failed' else 'errors' if n != 1 else 'error'}"
                       for s, n in counts.items() if s != "passed" and n)
    print(f"{counts['passed']} of {len(exercises)} exercises passed" + (f"; {others}" if others else "") +
          ("" if worst == 0 else "; `nn2gpt learn check NAME` checks one, `nn2gpt learn hint NAME` helps"))
    return worst


def milestone_of(chapter: int, milestones: dict) -> str | None:
    """The milestone of a chapter: the name whose description begins "ch.N:" (nn2gpt.learn.verdict.MILESTONES)."""
    return next((name for name, text in milestones.items() if text.startswith(f"ch.{chapter}:")), None)


class WatchKeys:
    """The actions of watch's keys. `check` and `timeout` are the watch's own; `listing()` prints
    `learn list`; `milestones` maps a milestone's name to its "ch.N: ..." description."""

    ACTIONS = {"h": "hint", "n": "next", "l": "show_list", "c": "check_every", "r": "milestone", "t": "trace"}

    def __init__(self, book, check, timeout: float, listing, milestones: dict):
        self.book, self.check, self.timeout = book, check, timeout
        self.print_list, self.milestones = listing, milestones

    def press(self, key: str, view):
        """Do what `key` asks for the exercise in `view` (None: none checked yet). -> the exercise
        the watch should check now (`n`), else None. Anything unknown shows the legend again."""
        name = self.ACTIONS.get(key)
        if name is None:
            if key.strip():
                print(LEGEND, flush=True)
            return None
        print(flush=True)       # a blank line: what the key shows stands apart from the verdict above
        chosen = None
        try:
            ex = view or self.book.current()
            if ex is None and name in ("hint", "next", "milestone", "trace"):
                print("every exercise has passed; `l` lists them, `c` checks them all again")
            else:
                chosen = getattr(self, name)(ex)
        except UserError as e:  # a file gone, a damaged progress file: its one line, and watching goes on
            print(e)
        if chosen is None:
            print(LEGEND)
        sys.stdout.flush()
        return chosen

    def hint(self, ex):
        from nn2gpt.learn.hints import next_hint

        print(next_hint(self.book, ex))

    def next(self, ex):
        if not self.book.passed(ex):
            print(f"{ex.file} has not passed yet: `n` moves on after a pass (to start elsewhere: "
                  f"nn2gpt learn goto NAME)")
            return None
        from nn2gpt.learn.book import after

        nxt = after(ex, self.book.load()["passed"])     # what its pass named as next
        if nxt is None:
            print("every exercise has passed; train with your code: nn2gpt learn run NAME (`r` names the chapter's)")
        return nxt

    def show_list(self, ex):
        self.print_list()

    def check_every(self, ex):
        check_all(self.book, self.check, self.timeout)

    def milestone(self, ex):
        from nn2gpt.learn.registry import all_exercises

        name = milestone_of(ex.chapter, self.milestones)
        if name is None:
            print(f"chapter {ex.chapter} has no milestone; `nn2gpt learn list` shows them all")
            return
        mine = [e for e in all_exercises() if e.chapter == ex.chapter]
        done = sum(self.book.passed(e) for e in mine)
        print(f"chapter {ex.chapter}'s milestone: nn2gpt learn run {name}  ({self.milestones[name]})")
        print(f"{done} of {len(mine)} of chapter {ex.chapter}'s exercises have passed. It trains for minutes, "
              f"so watch does not start it: run it in another terminal (or q, then the command)")

    def trace(self, ex):
        try:
            from nn2gpt.learn.trace import trace
        except ModuleNotFoundError as e:
            if e.name != "nn2gpt.learn.trace":
                raise
            print("this nn2gpt cannot trace an exercise yet")
            return
        trace(self.book, ex, reference=False, timeout=self.timeout, out=sys.stdout)
