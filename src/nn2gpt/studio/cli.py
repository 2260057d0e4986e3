"""`nn2gpt studio`: start the local web page over the runs in --runs (flags only; see server.py)."""

from __future__ import annotations

import sys

from nn2gpt.cli import Number, Parser, Threads
from nn2gpt.errors import UserError

PORT = Number(int, 0, 65535, what="port")


def build_parser() -> Parser:
    p = Parser(prog="nn2gpt studio",
               description="A local web page that looks inside the networks you trained: draw a digit, stream a "
                           "GPT and click into its attention, translate and see cross-attention, train live.")
    p.add_argument("--runs", default="runs", help="the folder holding your run directories (default runs)")
    p.add_argument("--port", type=PORT, default=8000, help="TCP port (default 8000; 0 = any free port)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 = every interface, "
                        "and the page has no login)")
    p.add_argument("--data-dir", help="where the datasets are (default $NN2GPT_DATA, ~/.cache/nn2gpt)")
    p.add_argument("--threads", type=Threads(),
                   help="PyTorch threads for every answer (default: one, which a small model needs, and every free "
                        "core for a costly pass over a whole text and for each token of a model of GPT-2's size)")
    p.add_argument("--list", action="store_true", help="print the runs the studio finds, per chapter, and exit")
    return p


def parsers() -> dict:
    return {"": build_parser()}


def check_runs_dir(path) -> None:
    from pathlib import Path

    runs = Path(path)
    if runs.exists() and not runs.is_dir():
        raise UserError(f"--runs {runs} is not a folder; give the folder that holds your run directories")
    for parent in runs.parents:
        if parent.exists() and not parent.is_dir():
            raise UserError(f"--runs {runs} is inside {parent}, which is a file; give a folder")


def list_runs(runs_dir) -> int:
    from pathlib import Path

    from nn2gpt.studio.runs import TRAIN_ONE, find_runs

    found = find_runs(Path(runs_dir))
    for chapter, runs in found.items():
        print(f"{chapter}:")
        for r in runs:
            print(f"  {r['name']:<24} {r['summary']}")
        if not runs:
            print(f"  (none yet: `{TRAIN_ONE[chapter].format(runs=runs_dir)}`)")
    return 0


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    check_runs_dir(args.runs)
    if args.list:
        return list_runs(args.runs)
    from nn2gpt.studio.server import StudioConfig, serve

    return serve(StudioConfig(runs=args.runs, host=args.host, port=args.port, data_dir=args.data_dir,
                              threads=args.threads),
                 announce=lambda line: print(line, file=sys.stderr, flush=True))
