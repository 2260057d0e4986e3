"""`nn2gpt learn run lab`: the learner's answers to chapter 4's questions, trained in the lab.

Each of chapter 4's exercises that passes its check now - the squared score, the inverse score
(in the reading the learner chose: negated or reciprocal), the anticausal mask - replaces the
lab's own piece of the same name for this run, and `nn2gpt lab run` then trains those variants
against the scaled dot product with the causal mask (the baseline), at the lab's budget, with the
lab's measurements and report (REPORT.md, the tables, the plots). The lab's flags work, one run
at a time (the learner's functions live in this process). results.json names the learner's
pieces under "learn".
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from nn2gpt.errors import UserError
from nn2gpt.learn.loading import pick
from nn2gpt.learn.pieces import Pieces, learner_code

REFUSED = ("suite", "variants", "skip")
DEFAULTS = {"out": "runs/learn-lab", "seeds": 1}    # not `nn2gpt lab run`'s: one seed, the report of its own
NAMES = ("squared_score", "inverse_score", "anticausal_mask")


def parser():
    from nn2gpt.lab import cli as lab_cli
    from nn2gpt.lab.cli import LONG_STEPS

    p = lab_cli.parsers()["run"]
    p.prog = "nn2gpt learn run lab"
    p.description = ("Train your chapter-4 variants (squared score, inverse score, anticausal mask) against the "
                     "scaled dot product in the attention lab. The flags are `nn2gpt lab run`'s, less those that "
                     "choose the variants (yours are trained) or train several at once; one seed by default, and "
                     "the report goes to runs/learn-lab.")
    p.set_defaults(**DEFAULTS)
    texts = {"seeds": f"seeds per variant (0..N-1; default {DEFAULTS['seeds']})",
             "out": f"directory for results.json, REPORT.md and the PNGs (default {DEFAULTS['out']})",
             "long": f"the long budget: {LONG_STEPS} steps per run (unless --steps says otherwise); hours on 2 cores"}
    for action in p._actions:          # the help says what this milestone does, not what `lab run` would
        if action.dest in REFUSED or action.dest == "jobs":
            action.help = argparse.SUPPRESS     # parsed, to be refused by name (run), but never offered
        action.help = texts.get(action.dest, action.help)
    return p


def passed(book) -> dict[str, tuple[object, str]]:
    """{exercise name: (the learner's module, what the check said)} for chapter 4's that pass now."""
    checked = Pieces(book, NAMES)
    return {name: (checked.module(name), checked.said(name)) for name in checked.mine(NAMES)}


def changes(mine: dict) -> tuple[dict, dict, list[str], list[str]]:
    """(the learner's score functions by the lab's name, their masks by kind, the lab variants to
    train, the suites they belong to): what nn2gpt.lab.parts.Parts hands every run."""
    scores, masks, variants, suites = {}, {}, [], []
    if "squared_score" in mine:
        scores["squared"] = pick(mine["squared_score"][0], "squared_score")
    if "inverse_score" in mine:
        module, said = mine["inverse_score"]
        scores["neg_dot" if "negated" in said else "inverse"] = pick(module, "inverse_score")
    if scores:
        variants += list(scores)
        suites.append("scores")
    if "anticausal_mask" in mine:
        masks["anticausal"] = pick(mine["anticausal_mask"][0], "anticausal_mask")
        variants.append("anticausal")
        suites.append("masks")
    return scores, masks, variants, suites


def run(book, flags: list[str]) -> int:
    from nn2gpt.lab import runner
    from nn2gpt.lab.cli import LONG_STEPS
    from nn2gpt.lab.parts import Parts
    from nn2gpt.lab.plan import make_plan

    args = parser().parse_args(flags)
    given = [f"--{d}" for d in REFUSED if getattr(args, d) not in (None, "all")]
    if given or (args.jobs or 1) > 1:
        raise UserError(f"this milestone chooses the variants (yours) and trains one at a time; drop "
                        f"{', '.join(given + (['--jobs'] if (args.jobs or 1) > 1 else []))}")
    mine = passed(book)
    if not mine:
        raise UserError("none of chapter 4's exercises passes yet (squared_score, inverse_score, anticausal_mask); "
                        "`nn2gpt learn check squared_score` first")
    scores, masks, variants, suites = changes(mine)
    print(f"yours: {', '.join(mine)}; trained in the lab as {', '.join(variants)} against the baseline", flush=True)
    plan = replace(make_plan("all", args.seeds, variants, tiny=args.tiny), suites=suites)
    steps = LONG_STEPS if args.long and args.steps is None else args.steps
    learn = {"yours": list(mine), "variants": variants, "milestone": "lab"}    # results.json names them
    parts = Parts(scores=scores, masks=masks, results_extra={"learn": learn})
    # the lab as it is, through its seam (nn2gpt.lab.parts): nothing of it, or of chapter 4, is patched
    with learner_code(book, kept="the finished variants' results are kept"):
        path = runner.run_lab(plan, out_dir=args.out, budget=args.budget, steps=steps, data_dir=args.data_dir,
                              jobs=1, command=" ".join(["nn2gpt learn run lab", *flags]),
                              overwrite=args.overwrite, parts=parts)
    text = Path(path).read_text(encoding="utf-8")
    if "## Summary" in text:                                         # the lab's table, here as well
        print(text.split("## Summary", 1)[1].split("\n## ", 1)[0].strip())
    print(f"report: {path}")
    return 0
