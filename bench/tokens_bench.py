"""Chapter 0 benchmark: BPE training (ours vs minbpe) and GPT-2 encoding (ours vs tiktoken vs HF tokenizers).

    .venv/bin/python bench/tokens_bench.py [--repeats 3] [--budget 120] [--peers DIR] [--quick]

Run it with the machine to itself: it times things, in one run, side by side.

Training. minbpe (Karpathy's, found in --peers, default ../shared/peers beside the repository)
runs from a temporary copy, in a subprocess that puts the copy on sys.path: BasicTokenizer (no
pre-split) beside our `--no-split`, RegexTokenizer given GPT-2's split pattern (its default is
GPT-4's) beside our default split, on minbpe's own tests/taylorswift.txt to 512 tokens and on
Tiny Shakespeare to 4,096. minbpe's verbose log, one line per merge, is stamped with the time
inside its process, so its time to any number of merges is known; a run that passes --budget
seconds is stopped there and its pace extrapolated to all the merges. Our two trainers are
timed the same way (from the call to the k-th merge, the pre-split included). "At the same
merges" compares both sides' time to the number of merges minbpe reached. The merge lists are
compared: minbpe breaks ties by the pair seen first, we by the smallest ids (nn2gpt.tokens.pairs),
so they agree up to the first tie at the top and may differ after it; the report gives the
length of the common start and how many learnt tokens (as bytes) both lists share.

Encoding. All of Tiny Shakespeare with GPT-2's merges: our Tokenizer (nn2gpt.tokens.gpt2) from
an empty chunk cache ("cold") and with the cache of the run before ("warm"), tiktoken's
encode_ordinary, and HF tokenizers' ByteLevelBPETokenizer from the same two files, interleaved,
each --repeats times; the ids of all of them are checked equal first. Medians throughout.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # one thread for HF, as for the others

import peers  # noqa: E402 - bench/peers.py, beside this file

from nn2gpt.data import fetch  # noqa: E402
from nn2gpt.gpt.tokenizer import GPT2_SPLIT  # noqa: E402
from nn2gpt.tokens.train import train  # noqa: E402

# run inside the subprocess: minbpe's own training, each line it prints stamped with the time
RUNNER = r'''
import sys, time
sys.path.insert(0, sys.argv[1])
from minbpe import BasicTokenizer, RegexTokenizer

class Stamped:
    def __init__(self, out):
        self.out, self.t0, self.line = out, time.perf_counter(), ""
    def write(self, s):
        self.line += s
        while "\n" in self.line:
            head, self.line = self.line.split("\n", 1)
            self.out.write(f"{time.perf_counter() - self.t0:.6f} {head}\n")
            self.out.flush()
    def flush(self):
        self.out.flush()

text = open(sys.argv[2], encoding="utf-8").read()
tok = BasicTokenizer() if sys.argv[3] == "basic" else RegexTokenizer(pattern=sys.argv[5])
sys.stdout = Stamped(sys.stdout)
tok.train(text, int(sys.argv[4]), verbose=True)
print("DONE")
'''
MERGE_LINE = re.compile(r"^(\d+\.\d+) merge (\d+)/\d+: \((\d+), (\d+)\) -> (\d+)")


def minbpe_train(copy: Path, text_path: Path, kind: str, vocab_size: int, budget: float):
    """(seconds to each merge, the merges, finished?) of one minbpe training, stopped after `budget` s."""
    p = subprocess.Popen([sys.executable, "-c", RUNNER, str(copy), str(text_path), kind, str(vocab_size),
                          GPT2_SPLIT], stdout=subprocess.PIPE, text=True)
    try:
        out, _ = p.communicate(timeout=budget)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    stamps, merges = [], []
    for line in out.splitlines():
        m = MERGE_LINE.match(line)
        if m:
            stamps.append(float(m[1]))
            merges.append((int(m[3]), int(m[4])))
    return stamps, merges, out.rstrip().endswith("DONE")


def ours_train(text: str, vocab_size: int, split: bool, trainer: str):
    """(seconds to each merge, the merges) of our trainer."""
    stamps: list[float] = []
    t0 = time.perf_counter()
    tok, _ = train(text, vocab_size, split, trainer=trainer, progress=lambda i: stamps.append(time.perf_counter() - t0))
    return stamps, tok.merges


def learnt_bytes(merges) -> list[bytes]:
    vocab = [bytes([b]) for b in range(256)]
    for a, b in merges:
        vocab.append(vocab[a] + vocab[b])
    return vocab[256:]


def agreement(ours, theirs) -> str:
    k = min(len(ours), len(theirs))
    same_start = next((i for i in range(k) if ours[i] != theirs[i]), k)
    shared = len(set(learnt_bytes(ours[:k])) & set(learnt_bytes(theirs[:k])))
    return f"the first {same_start} of {k} merges identical, {shared} of {k} learnt tokens shared"


def bench_training(args, copy: Path, name: str, text_path: Path, vocab_size: int) -> None:
    text = text_path.read_text(encoding="utf-8")
    wanted = vocab_size - 256
    print(f"\n## training on {name} ({len(text.encode()):,} bytes) to {vocab_size} tokens ({wanted} merges)")
    naive_too = vocab_size <= 512  # the written-out trainer is minbpe's algorithm: minutes, not hours, only here
    for kind, split, label in (("basic", False, "no split (BasicTokenizer / --no-split)"),
                               ("regex", True, "GPT-2 split (RegexTokenizer(GPT2) / default)")):
        theirs = [minbpe_train(copy, text_path, kind, vocab_size, args.budget) for _ in range(args.minbpe_repeats)]
        done = all(t[2] for t in theirs)
        reached = min(len(t[0]) for t in theirs)
        if reached == 0:
            print(f"{label}: minbpe made no merge in {args.budget:.0f} s; give a larger --budget")
            continue
        their_total = statistics.median(t[0][reached - 1] for t in theirs)
        fast = [ours_train(text, vocab_size, split, "fast") for _ in range(args.repeats)]
        fast_total = statistics.median(f[0][-1] for f in fast)
        fast_at = statistics.median(f[0][reached - 1] for f in fast)
        print(f"{label}:")
        if done:
            print(f"  minbpe  {their_total:8.2f} s for {reached} merges ({reached / their_total:,.1f} merges/s), "
                  f"median of {len(theirs)}")
        else:
            pace = reached / their_total
            print(f"  minbpe  stopped after {args.budget:.0f} s: {reached} of {wanted} merges in {their_total:.2f} s "
                  f"({pace:,.1f} merges/s); all {wanted} at that pace: {wanted / pace:,.0f} s "
                  f"(an upper bound: later merges read a shorter text)")
        made = len(fast[0][1])
        print(f"  ours    {fast_total:8.2f} s for {made} merges ({made / fast_total:,.0f} merges/s), "
              f"fast trainer, median of {len(fast)}")
        print(f"  at the same {reached} merges: minbpe {their_total:.2f} s, ours {fast_at:.3f} s: "
              f"ours {their_total / fast_at:,.0f}x faster")
        if naive_too:
            naive = [ours_train(text, vocab_size, split, "naive") for _ in range(args.minbpe_repeats)]
            naive_total = statistics.median(n[0][-1] for n in naive)
            assert naive[0][1] == fast[0][1], "the two trainers disagree"
            print(f"  ours    {naive_total:8.2f} s naive trainer (the same merges as fast: checked), "
                  f"median of {len(naive)}; fast is {naive_total / fast_total:,.0f}x faster")
        print(f"  merges: {agreement(fast[0][1], theirs[0][1])}")


def bench_encoding(args) -> None:
    from nn2gpt.gpt.tokenizer import GPT2Tokenizer
    from nn2gpt.tokens.gpt2 import load_gpt2

    text = fetch("tinyshakespeare", "input.txt").read_text(encoding="utf-8")
    ours, tik = load_gpt2(), GPT2Tokenizer()
    coders = {"ours (cold cache)": lambda: (ours._cache.clear(), ours.encode(text))[1],
              "ours (warm cache)": lambda: ours.encode(text),
              "tiktoken": lambda: tik.encode(text)}
    try:
        from tokenizers import ByteLevelBPETokenizer

        hf = ByteLevelBPETokenizer(str(fetch("gpt2", "encoder.json")), str(fetch("gpt2", "vocab.bpe")))
        coders["HF tokenizers"] = lambda: hf.encode(text).ids
    except ImportError:
        print("HF tokenizers is not installed: its column is left out")
    print(f"\n## encoding all of Tiny Shakespeare ({len(text.encode()):,} bytes) with GPT-2's merges")
    reference = tik.encode(text)
    for name, code in coders.items():
        assert code() == reference, f"{name} gives other ids than tiktoken"
    print(f"ids checked equal to tiktoken's for all ({len(reference):,} tokens)")
    times: dict[str, list[float]] = {name: [] for name in coders}
    for _ in range(args.repeats * 2 + 1):
        for name, code in coders.items():  # interleaved: a busy moment hits all of them alike
            t = time.perf_counter()
            code()
            times[name].append(time.perf_counter() - t)
    base = statistics.median(times["tiktoken"])
    for name, ts in times.items():
        m = statistics.median(ts)
        print(f"  {name:18} {m:7.3f} s  ({m / base:5.2f}x tiktoken's time), median of {len(ts)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="runs of each of our trainings (encoding: 2x+1)")
    ap.add_argument("--minbpe-repeats", type=int, default=3, help="runs of each minbpe training that finishes")
    ap.add_argument("--budget", type=float, default=120.0, help="seconds a minbpe training may run (default 120)")
    ap.add_argument("--quick", action="store_true", help="taylorswift only, one run each: a check, not a measure")
    peers.add_argument(ap)
    args = ap.parse_args()
    if args.quick:
        args.repeats = args.minbpe_repeats = 1
    folder = peers.find(args.peers, "minbpe", "minbpe/regex.py")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f} at start; {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC")
    with tempfile.TemporaryDirectory() as tmp:
        copy = peers.copy(folder, Path(tmp) / "minbpe")
        bench_training(args, copy, "taylorswift.txt", copy / "tests" / "taylorswift.txt", 512)
        if not args.quick:
            shakespeare = fetch("tinyshakespeare", "input.txt")
            saved, args.minbpe_repeats = args.minbpe_repeats, 1  # a budgeted run is one run
            bench_training(args, copy, "Tiny Shakespeare", shakespeare, 4096)
            args.minbpe_repeats = saved
    bench_encoding(args)
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
