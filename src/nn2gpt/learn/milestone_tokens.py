"""`nn2gpt learn run tokens`: the learner's BPE on Tiny Shakespeare, then a GPT on its tokens.

1. Whose pieces: each of chapter 0's exercises that passes its check now is the learner's; the
   chapter's own code (nn2gpt.tokens) does the work of the others, and the first line says which.
   The learner's training loop and encode call their own count_pairs and merge where those pass.
2. The BPE: the training split (the first 90%, nn2gpt.gpt.batches.training_text) cut into chunks
   by the split, counted, and trained by the training loop to --vocab-size ids (default 512:
   the 256 bytes and 256 merges). The validation split is never seen.
3. The invariants (nn2gpt.learn.ch0.invariants): the round trip on the validation text and on
   random unicode, every id below the vocabulary size - a GPT cannot be scored without them, so
   a failure there ends the milestone (exit 1) before anything trains - and the merges and ids
   the chapter's own trainer and encoder give on the same text, said when they differ.
4. Two GPTs with the same flags of `nn2gpt gpt train` and the same budget (--max-seconds,
   default 60 s each): first one on characters, the reference (a temporary folder; a stop there
   is one line, pieces.reference_first), then one on the learner's tokens into --out (default
   runs/learn-tokens). That one is trained on the ids the learner's encode gives: chapter 2's
   `train` takes the tokenizer object itself (its `tokenizer` argument), nothing is patched. Its
   checkpoint keeps the learner's merges like any BPE run's, so `nn2gpt gpt sample` reads it.
5. One table: each model's vocabulary, bytes per token, steps, validation loss, and the number
   that compares two vocabularies, bits per byte of the validation text.

A stop (Ctrl-C, SIGTERM) while the BPE trains is one line that says no GPT was trained; one
while the learner's GPT trains is `gpt train`'s own: saved, with the table of what there is.
"""

from __future__ import annotations

import contextlib
import json
import math
import shlex
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from nn2gpt.errors import UserError

USED = ("regex_split", "pair_counts", "merge", "train_bpe", "encode", "decode", "byte_table")
DEFAULTS = {"--max-seconds": "60"}
OUT, VOCAB = "runs/learn-tokens", 512
UNCAPPED = 1_000_000  # --max-iters when none is given, so that --max-seconds is the budget
REFUSED = ("--tokenizer", "--engine", "--text", "--resume", "--trace")


def vocab_flag(flags: list[str]) -> tuple[int, list[str]]:
    """(--vocab-size's value, default VOCAB; the flags without it): it is this milestone's own flag."""
    from nn2gpt.learn.milestone_gpt import pop_flag

    size, rest = pop_flag(flags, "--vocab-size", str(VOCAB))
    if not size.isdigit() or int(size) < 257:
        raise UserError(f"--vocab-size {size}: give a whole number of at least 257 (the 256 bytes and one merge)")
    return int(size), rest


def pieces_of(checked) -> dict:
    """{what: function} the BPE is made of: the learner's where it passes, else the chapter's."""
    from nn2gpt.tokens.bpe import Tokenizer
    from nn2gpt.tokens.fast import train_fast
    from nn2gpt.tokens.gpt2 import byte_to_unicode
    from nn2gpt.tokens.pairs import GPT2_SPLIT, chunks

    tokenizers: dict = {}

    def chapters(merges):                   # one Tokenizer for one list of merges, made once
        key = tuple(map(tuple, merges))
        if key not in tokenizers:           # (setdefault would build a Tokenizer on every call)
            tokenizers[key] = Tokenizer(list(key), None)
        return tokenizers[key]

    def theirs_or(name: str, attribute: str):
        if not checked.passed(name):
            return None
        # what its stub imports from the chapter (count_pairs, merge): the learner's where they pass
        given = {attr: checked.function(piece, attr) for piece, attr in (("pair_counts", "count_pairs"),
                                                                         ("merge", "merge")) if checked.passed(piece)}
        return getattr(checked.module(name, given=given), attribute)

    return {"split": theirs_or("regex_split", "split") or (lambda text: chunks(text, GPT2_SPLIT)),
            "train": theirs_or("train_bpe", "train") or train_fast,
            "encode": theirs_or("encode", "encode") or (lambda text, merges: chapters(merges).encode(text)),
            "decode": theirs_or("decode", "decode") or (lambda ids, merges: chapters(merges).decode(ids)),
            "decode_bytes": theirs_or("decode", "decode_bytes") or (lambda ids, m: chapters(m).decode_bytes(ids)),
            "table": theirs_or("byte_table", "byte_to_unicode") or byte_to_unicode}


@contextlib.contextmanager
def no_gpt_yet(out):
    """A stop while the BPE trains or is checked: one line - no GPT was trained, nothing written."""
    import signal

    from nn2gpt.interrupt import NAMES, Stopped

    try:
        yield
    except KeyboardInterrupt as e:
        signum = getattr(e, "signum", signal.SIGINT)
        print(f"the BPE's training was stopped by {NAMES.get(signum, f'signal {signum}')}; no GPT was trained and "
              f"nothing was written to {out}: run `nn2gpt learn run tokens` again (same flags)", file=sys.stderr)
        raise Stopped(signum, told=True) from None


def train_bpe(book, fn: dict, head: str, vocab: int, learn: dict):
    """The learner's tokenizer trained on `head`, and the seconds its training took."""
    from nn2gpt.learn.ch0.common import expect_merges
    from nn2gpt.learn.ch0.invariants import LearnerBPE
    from nn2gpt.learn.checking import CheckFailed
    from nn2gpt.learn.pieces import learner_code
    from nn2gpt.tokens.store import from_json

    t0 = time.perf_counter()
    with learner_code(book, kept="no GPT was trained", during="while the BPE trained"):
        counts = dict(Counter(chunk.encode("utf-8") for chunk in fn["split"](head)))
        merges = fn["train"](counts, vocab - 256)
    try:
        merges = expect_merges(merges, "your train(chunks, n_merges)", vocab - 256)
    except CheckFailed as e:
        raise UserError(f"{e}: `nn2gpt learn check train_bpe`") from None
    tok = LearnerBPE(merges, fn["split"], fn["encode"], fn["decode"], fn["decode_bytes"], learn)
    from_json(tok.to_json(), "your BPE")      # the checks every saved BPE must pass, before anything trains
    return tok, time.perf_counter() - t0


def last_row(run_dir: Path) -> dict:
    """{steps, val_loss, val_bpb, bytes_per_token} of a gpt run's last evaluation ({} if none)."""
    from nn2gpt.runlog import read_metrics

    rows = read_metrics(run_dir)
    vals = [r for r in rows if "val_loss" in r and "val_bpb" in r]
    if not vals:
        return {}
    last = vals[-1]
    per_token = last["val_loss"] / (last["val_bpb"] * math.log(2)) if last["val_bpb"] else float("nan")
    return {"steps": last["step"], "val_loss": last["val_loss"], "val_bpb": last["val_bpb"], "bytes": per_token}


def table(rows: list[tuple[str, int, dict]], budget: str) -> str:
    lines = [f"bits per byte of the validation text, both GPTs with the same flags ({budget}):",
             f"  {'model':<12} {'vocabulary':>10} {'bytes/token':>12} {'steps':>6} {'val loss':>9} {'bits/byte':>10}"]
    for name, vocab, r in rows:
        if not r:
            lines.append(f"  {name:<12} {vocab:>10} {'-':>12} {'-':>6} {'-':>9} {'-':>10}   (no evaluation)")
            continue
        lines.append(f"  {name:<12} {vocab:>10} {r['bytes']:>12.2f} {r['steps']:>6} {r['val_loss']:>9.4f} "
                     f"{r['val_bpb']:>10.4f}")
    return "\n".join(lines)


def run(book, flags: list[str]) -> int:
    from nn2gpt.data.text import read_text
    from nn2gpt.gpt import cli as gpt_cli
    from nn2gpt.gpt.batches import training_text
    from nn2gpt.learn.ch0.invariants import invariants, spelt
    from nn2gpt.learn.milestone_gpt import flag_value, split_out
    from nn2gpt.learn.pieces import Pieces, learner_code, listing, quietly, reference_first
    from nn2gpt.runout import check_new_run

    if any(f in ("-h", "--help") for f in flags):
        print("nn2gpt learn run tokens [--vocab-size N] [flags of `nn2gpt gpt train`]: your BPE trained on Tiny "
              f"Shakespeare to N ids (default {VOCAB}), checked, then a GPT on its tokens beside one on characters; "
              f"defaults --out {OUT} {' '.join(f'{k} {v}' for k, v in DEFAULTS.items())}")
        return gpt_cli.main(["train", "--help"])
    refused = sorted({f.split("=")[0] for f in flags} & set(REFUSED))
    if refused:
        raise UserError(f"this milestone trains your BPE on Tiny Shakespeare and a GPT of each kind, afresh; drop "
                        f"{', '.join(refused)}")
    vocab, flags = vocab_flag(flags)
    out, mine_flags, ref_flags = split_out(flags, OUT)
    given = {f.split("=")[0] for f in flags}
    extra = [x for k, v in DEFAULTS.items() if k not in given for x in (k, v)]
    if "--max-iters" not in given:     # the budget is the seconds: as many steps as each model takes in them
        extra += ["--max-iters", str(UNCAPPED)]
    check_new_run(out, "gpt", "--overwrite" in flags)       # refused now, not after the BPE has trained
    checked = Pieces(book, USED)
    mine, theirs = checked.mine(USED), checked.theirs(USED)
    print(listing(mine, theirs, "the chapter's"), flush=True)
    fn = pieces_of(checked)
    learn = {"yours": mine, "chapter": theirs, "milestone": "tokens"}

    with no_gpt_yet(out):
        text = read_text(None, flag_value(flags, "--data-dir"))
        head = training_text(text)
        print(f"training the BPE on the training split ({len(head.encode('utf-8')):,} bytes) to {vocab} ids ...",
              flush=True)
        tok, seconds = train_bpe(book, fn, head, vocab, learn)
        print(f"{len(tok.merges)} merges in {seconds:.1f} s; the first ones, spelt as GPT-2's files spell them: "
              + " ".join(spelt(tok.decode_bytes([256 + i]), fn["table"]()) for i in range(min(8, len(tok.merges)))))
        with learner_code(book, kept="no GPT was trained", during="while the BPE was checked"):
            rows = invariants(tok, text, head)
    for what, problem, _ in rows:
        print(f"  {'ok' if not problem else 'NO':<3} {what}" + (f": {problem}" if problem else ""))
    if any(problem and not soft for _, problem, soft in rows):
        print("a tokenizer that does not give its text back cannot be scored in bits per byte: no GPT was trained; "
              "fix the piece named above and run again", file=sys.stderr)
        return 1

    budget = ", ".join(f"{k} {flag_value([*extra, *flags], k)}" for k in ("--max-seconds", "--max-iters")
                       if k in given or k == "--max-seconds") + " each"
    with reference_first("tokens", out), tempfile.TemporaryDirectory(prefix="nn2gpt-learn-reference-") as tmp:
        print("training a GPT on characters first (the same flags and budget) ...", flush=True)
        ref = Path(tmp) / "ref"
        status = quietly(gpt_cli.main, ["train", "--tokenizer", "char", *extra, *ref_flags, "--out", str(ref),
                                        "--quiet", "--sample-tokens", "0"])
        if status != 0:                 # a flag refused (a stop is raised): the BPE's GPT does not start
            return status
        chars = (json.loads((ref / "config.json").read_text())["model"]["vocab_size"], last_row(ref))
    print(f"training a GPT on your tokens into {out} ...", flush=True)
    from nn2gpt.gpt.train import train
    from nn2gpt.interrupt import status_of, stopped_how

    args = gpt_cli.parsers()["train"].parse_args(["--tokenizer", "bpe", "--vocab-size", str(tok.vocab_size),
                                                 *extra, *mine_flags, "--out", out])
    with learner_code(book, kept="the last checkpoint, if any, is kept"):
        result = train(gpt_cli.train_config_from_args(args), tokenizer=tok)
    if result.status == "diverged":
        raise UserError(result.message)
    print(table([("characters", chars[0], chars[1]), ("your BPE", tok.vocab_size, last_row(Path(out)))], budget))
    if result.status == "interrupted":
        print(f"your GPT was {stopped_how(result.status, result.message)} at step {result.step} and saved in {out}; "
              f"the character GPT trained to its end, so the two rows are not the same budget", file=sys.stderr)
        return status_of(result.message)
    print(f"sample it: nn2gpt gpt sample --model {shlex.quote(str(out))}")
    return 0
