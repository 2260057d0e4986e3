"""`nn2gpt learn`: write each piece of the road yourself; nn2gpt checks it, then trains with it.

    nn2gpt learn init [DIR]          create the workbook (default nn2gpt-workbook/); never overwrites
    nn2gpt learn                     where am I: the current exercise, its task, the progress
    nn2gpt learn check [NAME]        check one exercise (default: the current one); exit 0 = passed
    nn2gpt learn check --all         check every exercise, one line each; exit 0 = all of them passed
    nn2gpt learn goto NAME           make NAME the current exercise (start anywhere) until it passes
    nn2gpt learn watch               re-check the current exercise every time a file is saved
    nn2gpt learn hint NAME           the next hint: for the mistake the last check named, then from a
                                     nudge to nearly the answer
    nn2gpt learn solution NAME       the reference, once passed (or with --give-up)
    nn2gpt learn reset NAME          the stub again; your version is kept in backups/
    nn2gpt learn list                every exercise, done or not, and the milestones
    nn2gpt learn trace NAME          your code on one real example (an MNIST digit, a Shakespeare
                                     batch...): every variable's shape, line by line of your file, the
                                     first that differs from the reference's marked (--reference: its)
    nn2gpt learn run tokens [...]    train your BPE on Tiny Shakespeare, then a GPT on its tokens
    nn2gpt learn run digits [...]    train the real network on MNIST with your functions
    nn2gpt learn run gpt [...]       train chapter 2's GPT, its blocks built from your modules
    nn2gpt learn run translate [...] chapter 3's Transformer with your cross-attention, then BLEU
    nn2gpt learn run lab [...]       your chapter-4 variants in the attention lab
    nn2gpt learn run numpy-gpt [...] train chapter 5's numpy GPT with your backward passes

Exit codes of check: 0 passed, 1 a wrong answer (or the stub), 2 your code raised or hung.
Of trace: 0 it ran to its end with the reference's shapes, 1 a shape differs (or the stub), 2 it
raised or hung.

In a terminal, watch also takes single keys, no Enter (nn2gpt.learn.keys reads them, .actions
does them): h the next hint for the exercise on screen, n on to the next one (after a pass), l the
list, c check every exercise, r the chapter's milestone (its command printed, not run: it trains
for minutes), t trace the exercise, q quit. From a pipe it reads no keys and only polls the files.
"""

from __future__ import annotations

import argparse
import os

from nn2gpt.cli import Number, Parser
from nn2gpt.errors import UserError
from nn2gpt.learn.verdict import MILESTONES, do_list, following, report  # noqa: F401 - commands of this file
from nn2gpt.learn.watch import do_watch  # noqa: F401 - `nn2gpt learn watch`

def build_parser() -> Parser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dir", default=argparse.SUPPRESS, metavar="DIR",
                        help="the workbook (default: found from the current directory)")
    p = Parser(prog="nn2gpt learn", parents=[common],
               description="Write each piece of the road yourself; nn2gpt checks it and trains with it. "
                           "Without a command: where you are.")
    sub = p.add_subparsers(dest="action", metavar="{init,check,goto,watch,hint,solution,reset,list,trace,run}",
                           parser_class=Parser)
    i = sub.add_parser("init", help="create a workbook (never overwrites)")
    i.add_argument("path", nargs="?", default="nn2gpt-workbook", metavar="DIR",
                   help="directory to create (default nn2gpt-workbook)")
    timeout = Number(float, 0, strict=True, what="number of seconds")
    c = sub.add_parser("check", parents=[common], help="check one exercise (default: the current one)")
    c.add_argument("name", nargs="?", help="exercise, e.g. backprop or 03_backprop")
    c.add_argument("--timeout", type=timeout, default=10.0, help="seconds your code may take (default 10)")
    c.add_argument("--all", action="store_true", help="check every exercise: one line each, then a summary")
    g = sub.add_parser("goto", parents=[common], help="make NAME the current exercise, to start anywhere")
    g.add_argument("name", help="exercise, e.g. backprop or 03_backprop")
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
    t = sub.add_parser("trace", parents=[common], help="every variable's shape, line by line, on one real example")
    t.add_argument("name", help="exercise, e.g. backprop or 03_backprop")
    t.add_argument("--reference", action="store_true", help="trace the reference solution instead of your file")
    t.add_argument("--timeout", type=timeout, default=10.0, help="seconds your code may take (default 10)")
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
    from nn2gpt.learn.book import Workbook

    book = Workbook.find(getattr(args, "dir", None))
    if book.note:               # its progress file was corrupt or gone: rebuilt from the exercise files
        print(book.note)
    added = book.add_new()      # a workbook made before these exercises existed: their stubs, beside yours
    if added:
        print(f"new exercises added to your workbook as stubs: {', '.join(added)} (none of your files was "
              f"changed)")
    action = args.action or "status"
    return globals()[f"do_{action}"](book, args)


def init(args) -> int:
    from nn2gpt.learn.book import Workbook
    from nn2gpt.learn.registry import all_exercises

    book = Workbook.create(args.path)
    first = all_exercises()[0]
    print(f"workbook created in {book.root}/ with {len(all_exercises())} exercises.")
    print(f"start with {book.root / first.file}: {first.task}")
    print(f"then: cd {book.root} && nn2gpt learn check   (or `nn2gpt learn watch` to re-check on every save)")
    from nn2gpt.learn import warm

    warm.start(book.root)  # imports torch in the background now, so the first check answers at once
    return 0


def do_status(book, args) -> int:
    from nn2gpt.learn import warm
    from nn2gpt.learn.registry import all_exercises

    warm.start(book.root)  # the learner is about to write and check: warm the checker meanwhile

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


def do_check(book, args) -> int:
    from nn2gpt.learn import warm
    from nn2gpt.learn.registry import find

    if args.all:
        if args.name:
            raise UserError(f"check either {args.name} or --all, not both: drop the name to check every exercise")
        from nn2gpt.learn.actions import check_all
        from nn2gpt.learn.runner import Warm, check

        if warm.enabled():    # the warm checker, as for one exercise (the first check may start it)
            check = lambda ex, path, timeout: warm.check(book.root, ex, path, timeout)  # noqa: E731
        elif hasattr(os, "fork"):   # else torch imported once here, not once for each of the exercises
            check = Warm().check
        return check_all(book, check, args.timeout)
    ex = find(args.name) if args.name else book.current()
    if ex is None:
        print("every exercise has passed; name one to check it again, e.g. nn2gpt learn check backprop")
        return 0
    # the workbook's warm checker answers in a fraction of a second (learn/warm.py); else a fresh child
    return report(book, ex, warm.check(book.root, ex, book.path(ex), args.timeout))


def do_hint(book, args) -> int:
    from nn2gpt.learn.hints import next_hint
    from nn2gpt.learn.registry import find

    print(next_hint(book, find(args.name)))     # the hint for the mistake the last check found comes first
    return 0


def do_goto(book, args) -> int:
    from nn2gpt.learn.registry import find

    ex = find(args.name)
    book.goto(ex)
    again = " (it has passed: check it again)" if book.passed(ex) else ""
    print(f"current: {ex.file} - {ex.task}{again}")
    print(f"`nn2gpt learn check` and `nn2gpt learn watch` start here; once it passes, the next exercise not "
          f"passed after it follows")
    return 0


def do_solution(book, args) -> int:
    from nn2gpt.learn.registry import find

    ex = find(args.name)
    if not book.passed(ex) and not args.give_up:
        raise UserError(f"{ex.file} has not passed yet, so its solution stays hidden; try "
                        f"`nn2gpt learn hint {ex.name}`, or add --give-up to see it anyway")
    if not book.passed(ex):
        book.gave_up(ex)
    print(ex.solution.read_text(encoding="utf-8"), end="")
    return 0


def do_reset(book, args) -> int:
    from nn2gpt.learn.registry import find

    ex = find(args.name)
    path = book.root / ex.file
    stub = path.is_file() and path.read_bytes() == ex.stub.read_bytes()
    backup = book.reset(ex)                 # no backup of a file that holds nothing of yours
    kept = f"; your version is kept in {backup}" if backup else ""
    print(f"{ex.file} is already the stub; nothing to keep, no backup written" if stub else
          f"{ex.file} is the stub again{kept}")
    return 0


def do_trace(book, args) -> int:
    from nn2gpt.learn.registry import find
    from nn2gpt.learn.trace import trace

    return trace(book, find(args.name), reference=args.reference, timeout=args.timeout)


def do_run(book, args) -> int:
    import importlib

    module = "milestone_" + args.milestone.replace("-", "_")
    return importlib.import_module(f"nn2gpt.learn.{module}").run(book, args.flags)
