"""`nn2gpt data`: list, fetch and verify the datasets."""

from __future__ import annotations

from nn2gpt.cli import Parser


def _parser() -> Parser:
    p = Parser(prog="nn2gpt data", description="Fetch (download if needed) and verify the datasets.")
    p.add_argument("action", choices=["fetch", "list"], help="fetch: find or download and verify; list: show files")
    p.add_argument("datasets", nargs="*", help="dataset names (default: all)")
    p.add_argument("--data-dir", help="directory holding the datasets (default: $NN2GPT_DATA, then the cache)")
    return p


def parsers() -> dict:
    return {"": _parser()}


def main(argv: list[str]) -> int:
    p = _parser()
    args = p.parse_args(argv)
    from nn2gpt.data import DATASETS, fetch_all

    names = args.datasets or list(DATASETS)
    for name in names:
        if args.action == "list":
            if name not in DATASETS:
                p.error(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
            for f in DATASETS[name].values():
                print(f"{f.path:45} {f.size:>11,} B  {f.urls[0]}")
        else:
            for fname, path in fetch_all(name, args.data_dir).items():
                print(f"ok  {path}")
    return 0
