"""`nn2gpt learn`: write each piece of the road yourself; nn2gpt checks it, then trains with it.

    nn2gpt learn init [DIR]          create the workbook (default nn2gpt-workbook/); never overwrites
    nn2gpt learn                     where am I: the current exercise, its task, the progress
    nn2gpt learn check [NAME]        check one exercise (default: the current one); exit 0 = passed
    nn2gpt learn watch               re-check the current exercise every time a file is saved
    nn2gpt learn hint NAME           the next hint, from a nudge to nearly the answer
    nn2gpt learn solution NAME       the reference, once passed (or with --give-up)
    nn2gpt learn reset NAME          the stub again; your version is kept in backups/
    nn2gpt learn list                every exercise, done or not, and the milestones
    nn2gpt learn run tokens [...]    train your BPE on Tiny Shakespeare, then a GPT on its tokens
    nn2gpt learn run digits [...]    train the real network on MNIST with your functions
    nn2gpt learn run gpt [...]       train chapter 2's GPT, its blocks built from your modules
    nn2gpt learn run translate [...] chapter 3's Transformer with your cross-attention, then BLEU
    nn2gpt learn run lab [...]       your chapter-4 variants in the attention lab
    nn2gpt learn run numpy-gpt [...] train chapter 5's numpy GPT with your backward passes

Exit codes of check: 0 passed, 1 a wrong answer (or the stub), 2 your code raised or hung.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from nn2gpt.cli import Number, Parser
from nn2gpt.errors import UserError

MILESTONES = {"tokens": "ch.0: your BPE trained on Tiny Shakespeare, a GPT on its tokens beside a character one",
              "digits": "ch.1: the book's 784-30-10 network on MNIST, trained with your functions",
              "gpt": "ch.2: the char GPT on Tiny Shakespeare, its blocks built from your modules",
              "translate": "ch.3: a few minutes of de-en with your cross-attention, then BLEU with your greedy search",
              "lab": "ch.4: your squared / inverse score and anticausal mask against the scaled dot product",
              "numpy-gpt": "ch.5: the numpy GPT on Tiny Shakespeare, trained with your backward passes"}


def build_parser() -> Parser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dir", default=argparse.SUPPRESS, metavar="DIR",
                        help="the workbook (default: found from the current directory)")
    p = Parser(prog="nn2gpt learn", parents=[common],
               description="Write each piece of the road yourself; nn2gpt checks it and trains with it. "
                           "Without a command: where you are.")
    sub = p.add_subparsers(dest="action", metavar="{init,check,watch,hint,solution,reset,list,run}",
                           parser_class=Parser)
    i = sub.add_parser("init", help="create a workbook (never overwrites)")
    i.add_argument("path", nargs="?", default="nn2gpt-workbook", metavar="DIR",
                   help="directory to create (default nn2gpt-workbook)")
    timeout = Number(float, 0, strict=True, what="number of seconds")
    c = sub.add_parser("check", parents=[common], help="check one exercise (default: the current one)")
    c.add_argument("name", nargs="?", help="exercise, e.g. backprop or 03_backprop")
    c.add_argument("--timeout", type=timeout, default=10.0, help="seconds your code may take (default 10)")
    w = sub.add_parser("watch", parents=[common], help="re-check on every save (Ctrl-C to stop)")
    w.add_argument("--poll", type=timeout, default=0.5, help="seconds between looks at the files (default 0.5)")
    w.add_argument("--timeout", type=timeout, default=10.0, help="seconds your code may take (default 10)")
    w.add_argument("--max-checks", type=Number(int, 1), metavar="N",
                   help="stop after N checks, exit status of the last (default: until Ctrl-C)")
    for name, text in (("hint", "the next hint for an exercise"), ("reset", "the stub again (yours goes to backups/)")):
        s = sub.add_parser(name, parents=[common], help=text)
        s.add_argument("name", help="exercise, e.g. backprop or 03_backprop")
    s = sub.add_parser("solution", parents=[common], help="the reference solution, once passed")
    s.add_argument("name", help="exercise, e.g. backprop or 03_backprop")
    s.add_argument("--give-up", action="store_true", help="show it although you have not passed")
    sub.add_parser("list", parents=[common], help="every exercise, done or not")
    r = sub.add_parser("run", parents=[common], help="a milestone: the real training with your functions",
                       description="Milestones: " + "; ".join(f"{k}: {v}" for k, v in MILESTONES.items()) +
                                   ". Flags after NAME are the chapter command's (learn run digits --help).")
    r.add_argument("milestone", choices=list(MILESTONES), metavar="NAME", help=", ".join(MILESTONES))
    r.add_argument("flags", nargs=argparse.REMAINDER, help="the chapter command's flags, e.g. --epochs 1")
    return p


def parsers() -> dict:
    from nn2gpt.cli import subcommands

    p = build_parser()
    return {"": p, **subcommands(p)}


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.action == "init":
        return init(args)
    from nn2gpt.learn.workbook import Workbook

    book = Workbook.find(getattr(args, "dir", None))
    added = book.add_new()      # a workbook made before these exercises existed: their stubs, beside yours
    if added:
        print(f"new exercises added to your workbook as stubs: {', '.join(added)} (none of your files was "
              f"changed)")
    action = args.action or "status"
    return globals()[f"do_{action}"](book, args)


def init(args) -> int:
    from nn2gpt.learn.exercises import all_exercises
    from nn2gpt.learn.workbook import Workbook

    book = Workbook.create(args.path)
    first = all_exercises()[0]
    print(f"workbook created in {book.root}/ with {len(all_exercises())} exercises.")
    print(f"start with {book.root / first.file}: {first.task}")
    print(f"then: cd {book.root} && nn2gpt learn check   (or `nn2gpt learn watch` to re-check on every save)")
    from nn2gpt.learn import server

    server.start(book.root)  # imports torch in the background now, so the first check answers at once
    return 0


def do_status(book, args) -> int:
    from nn2gpt.learn import server
    from nn2gpt.learn.exercises import all_exercises

    server.start(book.root)  # the learner is about to write and check: warm the checker meanwhile

    exercises, done = all_exercises(), book.load()["passed"]
    ex = book.current()
    print(f"workbook {book.root}: {sum(e.name in done for e in exercises)} of {len(exercises)} exercises passed")
    missing = [e for e in exercises if not (book.root / e.file).exists()]
    if missing:  # a workbook made before these exercises existed, or a file deleted
        print(f"not in the workbook: {', '.join(e.file for e in missing)}; `nn2gpt learn reset NAME` writes a stub")
    if ex is None:
        print(f"every exercise has passed; train with your code: nn2gpt learn run NAME ({', '.join(MILESTONES)})")
        return 0
    print(f"current: {ex.file} - {ex.task}")
    print(f"edit {book.root / ex.file}, then `nn2gpt learn check` (or `nn2gpt learn watch`); "
          f"stuck? `nn2gpt learn hint {ex.name}`")
    return 0


def report(book, ex, result) -> int:
    """Print a check's outcome, record a pass, return the exit code."""
    if result.output.strip():
        print(result.output.rstrip())
    if result.status == "passed":
        first = not book.passed(ex)
        book.mark(ex, True)
        nxt = book.current()
        note = f" ({result.message})" if result.message else ""
        print(f"{ex.file}: passed{note}" + (f". next: {nxt.file} - {nxt.task}" if first and nxt else ""))
        return 0
    if book.passed(ex):  # it passed before and does not now: the progress says so
        book.mark(ex, False)
    print(f"{ex.file}: {'FAILED' if result.status == 'failed' else 'ERROR'}: {result.message}")
    return result.exit_code


def do_check(book, args) -> int:
    from nn2gpt.learn import server
    from nn2gpt.learn.exercises import find

    ex = find(args.name) if args.name else book.current()
    if ex is None:
        print("every exercise has passed; name one to check it again, e.g. nn2gpt learn check backprop")
        return 0
    # the workbook's warm checker answers in a fraction of a second (learn/server.py); else a fresh child
    return report(book, ex, server.check(book.root, ex, book.path(ex), args.timeout))


def do_watch(book, args) -> int:
    """Check the current exercise, then again whenever an exercise file changes (mtime polling)."""
    from nn2gpt.learn.exercises import all_exercises, find
    from nn2gpt.learn.runner import Warm, check

    if hasattr(os, "fork"):  # torch imported once: each check then answers without its second of imports
        check = Warm().check

    def stamps():
        return {ex.name: (book.root / ex.file).stat().st_mtime_ns for ex in all_exercises()
                if (book.root / ex.file).is_file()}

    seen, last, n = None, None, 0
    print(f"watching {book.root} (every {args.poll:g} s; Ctrl-C to stop)", flush=True)
    try:
        while args.max_checks is None or n < args.max_checks:
            now = stamps()
            if now != seen:
                changed = [k for k in now if seen is None or now[k] != seen.get(k)]
                # the file just saved; at the start (or several at once, a `git checkout`), the current one
                target = find(changed[0]) if seen is not None and len(changed) == 1 else book.current()
                if target is not None:
                    last = report(book, target, check(target, book.path(target), args.timeout))
                    sys.stdout.flush()
                elif seen is None:
                    print("every exercise has passed; saving a file checks it again")
                seen, n = now, n + 1
            if args.max_checks is None or n < args.max_checks:
                time.sleep(args.poll)
    except KeyboardInterrupt as e:  # Ctrl-C is how watching ends (exit as the last check); SIGTERM is not
        if getattr(e, "signum", signal.SIGINT) != signal.SIGINT:
            raise                       # interrupt.Stopped: one line from nn2gpt's main, exit 143
        print()
    return 0 if last in (None, 0) else last


def do_hint(book, args) -> int:
    from nn2gpt.learn.exercises import find

    ex = find(args.name)
    k, text = book.next_hint(ex)
    print(f"{ex.file}, hint {k} of {len(ex.hints)}: {text}")
    if k == len(ex.hints):
        print(f"(that was the last hint; `nn2gpt learn solution {ex.name} --give-up` shows the reference)")
    return 0


def do_solution(book, args) -> int:
    from nn2gpt.learn.exercises import find

    ex = find(args.name)
    if not book.passed(ex) and not args.give_up:
        raise UserError(f"{ex.file} has not passed yet, so its solution stays hidden; try "
                        f"`nn2gpt learn hint {ex.name}`, or add --give-up to see it anyway")
    if not book.passed(ex):
        book.gave_up(ex)
    print(ex.solution.read_text(encoding="utf-8"), end="")
    return 0


def do_reset(book, args) -> int:
    from nn2gpt.learn.exercises import find

    ex = find(args.name)
    backup = book.reset(ex)
    kept = f"; your version is kept in {backup}" if backup else ""
    print(f"{ex.file} is the stub again{kept}")
    return 0


def do_list(book, args) -> int:
    from nn2gpt.learn.exercises import all_exercises

    data = book.load()
    current = book.current()
    width = max(len(ex.file) for ex in all_exercises())     # one column for every name: the rows stay aligned
    for ex in all_exercises():
        mark = "passed" if ex.name in data["passed"] else ("current" if ex is current else "")
        print(f"  {ex.file:<{width}} {mark:<8} ch.{ex.chapter}  {ex.task}")
    print("milestones (nn2gpt learn run NAME):")
    for name, text in MILESTONES.items():
        print(f"  {name:<{width}} {text}")
    return 0


def do_run(book, args) -> int:
    import importlib

    module = "milestone_" + args.milestone.replace("-", "_")
    return importlib.import_module(f"nn2gpt.learn.{module}").run(book, args.flags)
