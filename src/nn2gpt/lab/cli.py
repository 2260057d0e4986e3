"""`nn2gpt lab`: answer the attention questions with experiments.

    nn2gpt lab run [--suite scores|masks|positions|heads|all] [--budget SECONDS] [--seeds N] [--out DIR]
    nn2gpt lab run --long                             (2000 steps per run, into runs/lab-long)
    nn2gpt lab report --results DIR/results.json [--long LONG/results.json]
                                                      (rewrite the report without training; with --long,
                                                       both budgets side by side)

Heavy imports (numpy, torch, matplotlib) happen inside the functions so `--help` stays fast.
"""

from __future__ import annotations

import argparse

from nn2gpt.cli import Number, Parser, positive
from nn2gpt.errors import UserError
from nn2gpt.lab.plan import SUITE_NAMES

DEFAULT_BUDGET = 25.0  # CPU seconds of the baseline per run (~490 steps): 75 runs, 2 at a time, about 25 minutes on 2 cores
DEFAULT_SEEDS = 3
LONG_STEPS = 2000  # --long: the default chapter-2 model's own step count, about 4x the default budget


def _parser() -> Parser:
    p = Parser(prog="nn2gpt lab", description="The attention lab: train one char GPT per variant and seed "
               "under the same budget, then write a report with tables, plots and explanations.")
    sub = p.add_subparsers(dest="action", required=True, parser_class=Parser)
    run = sub.add_parser("run", help="train every variant of the chosen suites and write the report")
    run.add_argument("--suite", default="all", choices=[*SUITE_NAMES, "all"],
                     help="which question to run (default: all of them)")
    seconds = Number(float, 0, strict=True, what="number of seconds")
    run.add_argument("--budget", type=seconds, default=DEFAULT_BUDGET,
                     help=f"CPU seconds of training per run, measured on the baseline and turned once into "
                          f"a step count that every variant and seed then uses (default {DEFAULT_BUDGET:g})")
    run.add_argument("--steps", type=positive(int), default=None,
                     help="train exactly this many steps per run instead of calibrating --budget "
                          "(the report prints the step count it used, so a rerun can match it)")
    run.add_argument("--long", action="store_true",
                     help=f"the long budget: {LONG_STEPS} steps per run (unless --steps says otherwise), "
                          f"written to runs/lab-long unless --out says otherwise; hours on 2 cores")
    run.add_argument("--seeds", type=positive(int), default=DEFAULT_SEEDS,
                     help=f"seeds per variant (0..N-1; default {DEFAULT_SEEDS})")
    run.add_argument("--variants", default=None,
                     help="comma-separated subset of the suite's variants (the baseline is always kept)")
    run.add_argument("--skip", default=None, help="comma-separated variants to leave out (e.g. the slow additive)")
    run.add_argument("--jobs", type=positive(int), default=None,
                     help="runs trained at the same time, one per core (default: the number of cores, at most 4)")
    run.add_argument("--overwrite", action="store_true", help="replace the lab report already in --out")
    run.add_argument("--out", default=None, help="directory for results.json, REPORT.md and the PNGs "
                                                 "(default runs/lab, or runs/lab-long with --long)")
    run.add_argument("--data-dir", default=None, help="directory holding the datasets")
    run.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # the tests' tiny model
    pz = sub.add_parser("pizza", help="which heads of an es-en model link a verb to its subject (pizza or oven?)",
                        description="Measure, on a trained `nn2gpt translate train --pair es-en` model and a probe "
                                    "set of 44 sentences, how often each encoder head's verb row weighs the verb's "
                                    "subject above the other noun, and where the decoder's English verb reads; "
                                    "writes pizza.md, pizza.json and pizza_heads.png.")
    pz.add_argument("--model", required=True, help="the run directory of an es-en translation model")
    pz.add_argument("--out", default=None, help="where to write pizza.md (default: MODEL/pizza)")
    rep = sub.add_parser("report", help="rewrite REPORT.md and the plots from a results.json")
    rep.add_argument("--results", required=True, help="results.json written by `nn2gpt lab run`")
    rep.add_argument("--long", default=None, help="the results.json of a --long lab: the report then shows "
                                                  "both budgets side by side and what survives the longer one")
    rep.add_argument("--out", default=None, help="where to write the report (default: next to results.json)")
    return p


def parsers() -> dict:
    from nn2gpt.cli import subcommands

    return subcommands(_parser())


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.action == "report":
        from pathlib import Path

        from nn2gpt.lab.report import write_report

        results, long = (_results(path) if path else None for path in (args.results, args.long))
        import os

        from nn2gpt.outputs import writing

        out = Path(args.out or Path(args.results).parent)
        link = os.path.relpath(Path(args.long).parent / "REPORT.md", out).replace(os.sep, "/") if args.long else None
        with writing(out, owner="lab", overwrite=True, folder=True):  # a lab's report, never into another run
            path = write_report(results, out, long=long, long_link=link)
        print(f"report: {path}")
        return 0

    if args.action == "pizza":
        return pizza(args, argv)
    from nn2gpt.lab.plan import make_plan

    names = lambda text: [v.strip() for v in text.split(",") if v.strip()] if text else None  # noqa: E731
    plan = make_plan(args.suite, args.seeds, names(args.variants), tiny=args.tiny, skip=names(args.skip))
    steps = LONG_STEPS if args.long and args.steps is None else args.steps
    out = args.out or ("runs/lab-long" if args.long else "runs/lab")
    from nn2gpt.lab.runner import run_lab

    command = " ".join(["nn2gpt lab", *argv])
    from nn2gpt.machine import cores

    jobs = args.jobs or max(1, min(4, cores()))
    path = run_lab(plan, out_dir=out, budget=args.budget, steps=steps, data_dir=args.data_dir,
                   jobs=jobs, command=command, overwrite=args.overwrite)
    print(f"report: {path}")
    return 0


def _results(path: str) -> dict:
    from nn2gpt.files import read_json

    results = read_json(path, "lab results")
    if not isinstance(results, dict) or "runs" not in results or "settings" not in results:
        raise UserError(f"{path} is not a results.json written by `nn2gpt lab run`; rerun the lab")
    return results


def pizza(args, argv: list[str]) -> int:
    from pathlib import Path

    from nn2gpt.checkpoint import load_checkpoint
    from nn2gpt.lab import pizza as measured
    from nn2gpt.lab.report import portable_command
    from nn2gpt.translate.evaluate import load_run
    from nn2gpt.translate.runconfig import pair_of

    model, tok, config = load_run(args.model)
    if pair_of(config) != "es-en":
        raise UserError(f"{args.model} translates {pair_of(config)}, not es-en; the probe sentences are Spanish: "
                        f"train one with `nn2gpt translate train --pair es-en --out runs/es-en`")
    out = Path(args.out) if args.out else Path(args.model) / "pizza"
    m = config["model"]
    step = load_checkpoint(args.model).state.get("step", "?")
    line = (f"`{Path(args.model).name}`, d_model {m['d_model']}, {m['n_layer']} layers, {m['n_head']} heads, "
            f"its checkpoint at step {step}")
    from nn2gpt.outputs import writing

    # beside the model, or into a lab's report folder (whose REPORT.md then quotes it); never over a run's files
    with writing(out, owner=("translate", "lab"), overwrite=True, folder=True):
        path = measured.write(model, tok, out, portable_command(" ".join(["nn2gpt lab", *argv]), out), line)
    print(f"wrote {path}")
    return 0
