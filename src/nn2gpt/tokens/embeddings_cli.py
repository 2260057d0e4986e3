"""`nn2gpt tokens neighbours`: a token's nearest tokens in a GPT's embeddings, and a map of them all.

    nn2gpt tokens neighbours e --model runs/gpt                  # the 10 tokens whose rows of wte point most like e's
    nn2gpt tokens neighbours " the" --model runs/gpt2 -k 20      # GPT-2's words start with their space
    nn2gpt tokens neighbours --id 464 --model runs/gpt2 --map the.png

`add_parser(sub)` adds the command to an argparse subparsers object, `parser()` makes it a parser
of its own, and `run(args)` does the work. Only argparse at import time (so `--help` is instant);
numpy, torch and matplotlib are imported by `run`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nn2gpt.cli import Number, Parser
from nn2gpt.errors import UserError

HELP = "a token's nearest tokens by cosine similarity in a GPT run's embeddings wte; --map draws all of them"
DESCRIPTION = ("The k tokens whose rows of the run's token-embedding matrix wte (V, C) point most nearly the "
               "same way as TOKEN's, by cosine similarity; --map FILE.png draws every row on its first two "
               "principal components.")
ALL_LABELS = 128  # a vocabulary up to this size has every point of the map labelled
LABELS = 60  # otherwise this many, besides the token and its neighbours


def _flags(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("token", nargs="?", metavar="TOKEN",
                   help="the token, as text; it must be one token of the run's tokenizer (GPT-2's words start "
                        "with their space: ' the')")
    p.add_argument("--id", type=Number(int, 0, what="token id"), default=None, metavar="N",
                   help="the token by its id instead, 0 to V-1")
    p.add_argument("--model", required=True, metavar="RUN", help="a run of `nn2gpt gpt train` or `nn2gpt gpt import`")
    p.add_argument("-k", type=Number(int, 1, what="neighbour count"), default=10,
                   help="how many neighbours, 1 to V-1 (default 10)")
    p.add_argument("--map", default=None, metavar="FILE.png",
                   help="also draw every token's row of wte on its first two principal components, as a PNG")
    p.add_argument("--overwrite", action="store_true", help="replace --map if it exists")
    p.add_argument("--data-dir", default=None, help="where the gpt2 dataset is (default: $NN2GPT_DATA, cache)")
    return p


def add_parser(sub) -> argparse.ArgumentParser:
    """Add `neighbours` to the subparsers object `sub` (what `add_subparsers()` returns)."""
    return _flags(sub.add_parser("neighbours", help=HELP, description=DESCRIPTION))


def parser() -> Parser:
    """`nn2gpt tokens neighbours` as a parser of its own (a bad flag is one line, exit 2)."""
    return _flags(Parser(prog="nn2gpt tokens neighbours", description=DESCRIPTION))


def run(args) -> int:
    """Print the token and its k nearest neighbours, aligned; with --map, write the PCA map."""
    from nn2gpt.outputs import check_output, writing
    from nn2gpt.tokens import embeddings as emb

    if args.token is not None and args.id is not None:
        raise UserError(f"give the token as text ({args.token!r}) or as --id {args.id}, not both")
    if args.token is None and args.id is None:
        raise UserError(f"give the token to look at: as text (nn2gpt tokens neighbours e --model {args.model}) "
                        f"or by its id (--id N)")
    if args.map is not None:
        if not str(args.map).lower().endswith(".png"):
            raise UserError(f"--map {args.map} does not end in .png; the map is a PNG picture, name it FILE.png")
        check_output(args.map, "gpt", args.overwrite, flag="--map")  # a bad path fails before the weights load
    if args.model == "gpt2" and not Path("gpt2").exists():
        raise UserError("--model gpt2 names GPT-2's tokenizer in the other tokens commands; neighbours reads a "
                        "GPT's weights: import them with `nn2gpt gpt import gpt2 --out runs/gpt2`, then give "
                        "--model runs/gpt2")
    e = emb.load_embeddings(args.model, args.data_dir)
    V, C = e.E.shape
    if args.id is not None:
        i = emb.check_id(e.E, args.id, "--id")
    else:
        i = emb.one_token(e.tok, args.token, f"give the token by its id: --id N (0 to {V - 1:,})")
    if args.k > V - 1:
        raise UserError(f"-k {args.k} is more than the {V - 1:,} other tokens of {args.model}; "
                        f"give -k from 1 to {V - 1:,}")
    near = emb.neighbours(e.E, i, args.k)
    for line in neighbour_lines(e, i, near):
        print(line)
    if args.map is not None:
        m = emb.pca_2d(e.E)
        with writing(args.map, owner="gpt", overwrite=args.overwrite, flag="--map") as out:
            save_map(out, e, m, i, [j for j, _ in near])
        print(f"wrote {out}: {emb.shapes_line(e.E, m)}")
    return 0


def neighbour_lines(e, i: int, near: list[tuple[int, float]]) -> list[str]:
    """The token, then one aligned line per neighbour: rank, token, id, cosine."""
    from nn2gpt.tokens.embeddings import display, token_text, width

    V, C = e.E.shape
    rows = [(display(token_text(e.tok, j)), j, s) for j, s in near]
    wide = max(width(text) for text, _, _ in rows)
    digits, ranks = len(str(V - 1)), len(str(len(rows)))
    lines = [f"{display(token_text(e.tok, i))} is token {i} of {V:,} in {e.run}, a row of wte ({V:,}, {C:,})",
             f"its {len(rows)} nearest by cosine similarity (1: the same direction, 0: unrelated, -1: opposite):"]
    lines += [f"  {rank:>{ranks}}  {text}{' ' * (wide - width(text))}  id {j:>{digits}}  {s:+.3f}"
              for rank, (text, j, s) in enumerate(rows, 1)]
    return lines


def labelled(V: int) -> list[int]:
    """The ids whose points carry a label: all of a small vocabulary; of a larger one, the first
    LABELS ids from 256 on (in a byte-level BPE, GPT-2's included, its first merges: the most
    frequent pairs of the text it was trained on), or an even sample when it has no id 256."""
    import numpy as np

    if V <= ALL_LABELS:
        return list(range(V))
    if V > 256:
        return list(range(256, min(V, 256 + LABELS)))
    return sorted({int(j) for j in np.linspace(0, V - 1, LABELS)})


def save_map(out, e, m, i: int, near: list[int]) -> None:
    """Draw the map `m` of e.E's rows as the PNG `out`: every token a dot, token `i` and its
    neighbours `near` in colour and labelled, and a readable subset of the rest labelled."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nn2gpt.files import atomic_write
    from nn2gpt.tokens.embeddings import display, shapes_line, token_text

    V = e.E.shape[0]
    xy = m.coords  # (V, 2)
    fig, ax = plt.subplots(figsize=(8, 8))
    ax.scatter(xy[:, 0], xy[:, 1], s=14 if V <= 2000 else 3, color="#8fb0d8", alpha=0.8 if V <= 2000 else 0.35,
               linewidths=0)
    ax.scatter(xy[near, 0], xy[near, 1], s=36, color="#2f6db5", zorder=3, label="its neighbours by cosine")
    ax.scatter(xy[i, 0], xy[i, 1], s=70, color="#a3422c", zorder=4, label=f"{display(token_text(e.tok, i))} (id {i})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a glyph the font lacks (GPT-2 has CJK tokens) is drawn as a box, once
        for j in sorted(set(labelled(V)) - {i, *near}):
            ax.annotate(display(token_text(e.tok, j)), xy[j], fontsize=7, color="#5f6b7a", xytext=(2, 2),
                        textcoords="offset points")
        for j in near:
            ax.annotate(display(token_text(e.tok, j)), xy[j], fontsize=8, color="#1f2933", xytext=(3, 3),
                        textcoords="offset points", zorder=5)
        ax.annotate(display(token_text(e.tok, i)), xy[i], fontsize=10, color="#a3422c", weight="bold",
                    xytext=(4, 4), textcoords="offset points", zorder=6)
        ax.set_title(shapes_line(e.E, m), fontsize=10)
        ax.set_xlabel(f"PC1 ({100 * m.explained[0]:.1f}% of the variance)")
        ax.set_ylabel(f"PC2 ({100 * m.explained[1]:.1f}%)")
        ax.legend(loc="best", fontsize=8, frameon=False)
        ax.grid(color="#eef0f3", linewidth=0.6)
        fig.tight_layout()
        atomic_write(out, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)
