"""Chapter 6, the speedrun: which modern tricks make chapter 2's GPT train faster on the CPU.

    .venv/bin/python bench/speedrun.py [--budget 20] [--long 60] \
        [--seeds 3] [--rungs muon,relu2,...] [--peers DIR | --no-peer] [--out docs/speedrun]
    .venv/bin/python bench/speedrun.py --report      # the tables of docs/speedrun.md, from ladder.json
    .venv/bin/python bench/speedrun.py --peer-only   # nanoGPT and the record in its time again, into ladder.json

The record ladder: the baseline is gpt_train_bench's `fast` recipe (`nn2gpt gpt train --pos
rope`); each rung adds ONE idea to the current record, and the idea stays in the record only
if it lowers the median val loss at the budget (--budget seconds from process start) over
--seeds seeds. Every run is a fresh process whose clock starts when that process starts
(gpt_train_bench.timed_train: start-up, imports, reading the text all count).

Validation: the same 2400 fixed windows of the last 10% of the text (nanoGPT's split) as
gpt_train_bench, evaluated every --eval-every steps so that "time to val <= 1.88" can be read
off the curve. Evaluating is not training: those seconds are kept off the clock (the budget
and the schedule do not see them, TrainConfig.eval_off_clock), and each point's time is the
process's wall time minus the evaluations before it. The last point is the val at the budget.

Then the baseline and the final record again with the --long budget (val in 60 s), nanoGPT's
own baby recipe via gpt_train_bench.run_nanogpt, and the record with nanoGPT's training time as
its budget (nanoGPT's wall time less its evaluations, read off its log: both sides' evaluations off
the clock). Writes OUT/ladder.json and OUT/ladder.png (val loss against wall time).
"""

from __future__ import annotations

import time

T_START = time.time()  # this process's clock: before anything heavy is imported

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import gpt_train_bench as gtb  # noqa: E402

# rung -> (what it adds, the TrainConfig overrides); tried in this order on top of the record
IDEAS = {
    "muon": ("Muon for the blocks' matrices (--optimizer muon)", {"optimizer": "muon"}),
    "relu2": ("ReLU² MLP (--mlp relu2)", {"mlp": "relu2"}),
    "qk_norm": ("QK-norm (--qk-norm)", {"qk_norm": True}),
    "zero_init": ("zero-initialised output projections (--zero-init)", {"zero_init": True}),
    "untie": ("untied head (--untie)", {"untie": True}),
    "softcap": ("logit soft-cap 15 (--softcap 15)", {"softcap": 15.0}),
    "wsd": ("warm-up-stable-decay schedule (--schedule wsd)", {"schedule": "wsd"}),
}
BASELINE = gtb.FAST  # the `fast` recipe, less its 50 s budget


def run_one(cfg: dict, budget: float, seed: int, eval_every: int) -> dict:
    """In this fresh process: one run, its val curve on the process clock (evaluations excluded)."""
    import torch

    cfg, result, wall = gtb.timed_train(cfg | {"max_seconds": budget, "seed": seed, "eval_reserve": 1.2},
                                        T_START, eval_every)
    vals = result.val_history  # (step, training seconds, val)
    eval_s = result.eval_seconds
    on_clock = wall - eval_s  # the process's wall time, evaluations taken out
    last = vals[-1][1]
    curve = [(round(on_clock - (last - t), 2), step, round(v, 4)) for step, t, v in vals]
    tokens = result.step * cfg.get("batch_size", 32) * cfg.get("block_size", 64)
    return {"seed": seed, "steps": result.step, "val": round(result.final_val_loss, 4), "wall_s": round(on_clock, 2),
            "eval_s": round(eval_s, 1), "tokens_per_s": round(tokens / last), "curve": curve,
            "threads": torch.get_num_threads(), "torch": torch.__version__}


def spawn(cfg: dict, budget: float, seed: int, eval_every: int) -> dict:
    args = [sys.executable, __file__, "--one", json.dumps(cfg), "--budget", str(budget), "--seed", str(seed),
            "--eval-every", str(eval_every)]
    out = subprocess.run(args, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"bench: a run failed: {(out.stderr.strip().splitlines() or ['no output'])[-1]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def time_to(curve, target: float = gtb.TARGET) -> float | None:
    return next((t for t, _, v in curve if v <= target), None)


def summary(runs: list[dict], budget: float) -> dict:
    """Medians over the seeds; a seed that never reaches the target counts as never."""
    hits = [time_to(r["curve"]) for r in runs]
    ordered = sorted(h if h is not None else float("inf") for h in hits)
    median_hit = ordered[len(ordered) // 2]
    return {"val": round(statistics.median(r["val"] for r in runs), 4), "budget": budget,
            "time_to_target": None if median_hit == float("inf") else round(median_hit, 1),
            "hits": sum(h is not None for h in hits), "tokens_per_s": round(statistics.median(r["tokens_per_s"] for r in runs)),
            "wall_s": round(statistics.median(r["wall_s"] for r in runs), 1), "runs": runs}


def command(cfg: dict, budget: float) -> str:
    """The shortest `nn2gpt gpt train` line that runs `cfg`: a recipe (none for the default,
    classic) and the flags whose value differs from it. A config without the pieces named is
    read as the ladder's start, the classic ones (ladder.json files written before recipes say
    nothing about them)."""
    from nn2gpt.gpt.recipes import DEFAULT_RECIPE, RECIPES

    full = gtb.CLASSIC_PIECES | cfg
    lines = []
    for name, values in RECIPES.items():  # the default first: it wins a tie
        flags = [] if name == DEFAULT_RECIPE else [f"--recipe {name}"]
        for key, base in values.items():
            value = full.get(key, base)
            if value == base:
                continue
            flag = "--" + key.replace("_", "-")
            flags.append(flag if value is True else f"--no-{flag[2:]}" if value is False else f"{flag} {value:g}"
                         if isinstance(value, float) else f"{flag} {value}")
        lines.append(flags)
    return " ".join(["nn2gpt gpt train", *min(lines, key=len), f"--max-seconds {budget:g}"])


def series(cfg: dict, budget: float, seeds: int, eval_every: int, name: str) -> dict:
    runs = [spawn(cfg, budget, seed, eval_every) for seed in range(1337, 1337 + seeds)]
    s = summary(runs, budget) | {"name": name, "config": cfg, "command": command(cfg, budget)}
    hit = f"{s['time_to_target']:.1f} s" if s["time_to_target"] is not None else f"not in {budget:g} s"
    print(f"{name:22} val {s['val']:.4f} at {budget:g} s, to {gtb.TARGET}: {hit} ({s['hits']}/{seeds} seeds), "
          f"{s['tokens_per_s']:,} tok/s", flush=True)
    return s


def plot(ladder: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for s in ladder:
        run = sorted(s["runs"], key=lambda r: r["val"])[len(s["runs"]) // 2]  # the median seed
        ts, vs = [p[0] for p in run["curve"]], [p[2] for p in run["curve"]]
        ax.plot(ts, vs, label=f"{s['name']} ({s['val']:.3f})", lw=2 if s.get("kept") else 1,
                ls="-" if s.get("kept", True) else ":")
    ax.axhline(gtb.TARGET, color="grey", lw=0.8, ls="--")
    ax.set(xlabel="wall time from process start, evaluations excluded (s)", ylabel="val loss (2400 fixed windows)",
           ylim=(1.5, 2.6), title="chapter 6 speedrun: val loss against wall time (median seed)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def report(data: dict) -> list[str]:
    """The markdown tables of docs/speedrun.md from ladder.json."""
    def hit(s):
        return f"{s['time_to_target']:.1f} s ({s['hits']}/{len(s['runs'])})" if s["time_to_target"] else \
            f"not in {s['budget']:g} s ({s['hits']}/{len(s['runs'])})"

    lines = [f"| rung | what changed | kept | time to {gtb.TARGET} | val at {data['ladder'][0]['budget']:g} s | "
             f"gain | tokens/s | command |", "| --- | --- | :-: | ---: | ---: | ---: | ---: | --- |"]
    for s in data["ladder"]:
        kept = "yes" if s.get("kept") else "no"
        gain = f"{s['gain']:+.4f}" if "gain" in s else "—"
        lines.append(f"| {s['name']} | {s.get('what', 'the fast recipe')} | {kept} | {hit(s)} | {s['val']:.4f} | "
                     f"{gain} | {s['tokens_per_s']:,} | `{command(s['config'], s['budget'])}` |")
    if data["long"]:
        lines += ["", f"| run | val | wall (s) | time to {gtb.TARGET} | tokens/s | command |",
                  "| --- | ---: | ---: | ---: | ---: | --- |"]
        lines += [f"| {s['name']} | {s['val']:.4f} | {s['wall_s']:.1f} | {hit(s)} | {s['tokens_per_s']:,} | "
                  f"`{command(s['config'], s['budget'])}` |" for s in data["long"]]
    peer = data.get("nanogpt")
    if peer:
        timed = (f"{peer['train_s']:.1f} ({peer['wall_s']:.1f} less {peer['eval_s']:.1f} of evaluation)"
                 if "train_s" in peer else f"{peer['wall_s']:.1f}")
        lines.append(f"| nanoGPT baby (its own code) | {peer['val_loss']:.4f} | {timed} | — | — | "
                     f"`{peer['config']}` |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--budget", type=float, default=20.0, help="seconds per ladder run, from process start")
    ap.add_argument("--long", type=float, default=60.0, help="the budget of the long runs (0 = none)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--eval-every", type=int, default=50, help="steps between evaluations")
    ap.add_argument("--rungs", default=",".join(IDEAS), help=f"ideas to try in order (of {', '.join(IDEAS)})")
    ap.add_argument("--no-peer", action="store_true", help="skip nanoGPT")
    ap.add_argument("--peer-only", action="store_true",
                    help="keep OUT/ladder.json's ladder and long runs; run nanoGPT and the record in its time again")
    ap.add_argument("--out", default="docs/speedrun", help="where ladder.json and ladder.png go")
    import peers

    peers.add_argument(ap)
    ap.add_argument("--report", action="store_true", help="print the markdown tables of OUT/ladder.json and exit")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: one run in this process
    ap.add_argument("--seed", type=int, default=1337, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(json.loads(args.one), args.budget, args.seed, args.eval_every)), flush=True)
        return
    if args.report:
        print("\n".join(report(json.loads((Path(args.out) / "ladder.json").read_text()))))
        return
    rungs = [r.strip() for r in args.rungs.split(",") if r.strip()]
    if any(r not in IDEAS for r in rungs):
        raise SystemExit(f"bench: unknown rung; choose from {', '.join(IDEAS)}")
    nanogpt = None if args.no_peer else peers.find(args.peers, "nanoGPT", "train.py")
    print(f"# {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, {os.cpu_count()} cores, "
          f"load before: {os.getloadavg()[0]:.2f}", flush=True)
    out = Path(args.out)
    if args.peer_only:  # the ladder and the long runs as measured; nanoGPT and the record in its time again
        data = json.loads((out / "ladder.json").read_text())
        ladder, long = data["ladder"], [s for s in data["long"] if s["name"] != "record in nanoGPT's time"]
        best = [s for s in ladder if s.get("kept")][-1]
        rungs = []
    else:
        record = series(dict(BASELINE), args.budget, args.seeds, args.eval_every, "baseline (fast)")
        record["kept"], ladder, best = True, [record], record
        long = []
    for name in rungs:
        what, overrides = IDEAS[name]
        s = series(best["config"] | overrides, args.budget, args.seeds, args.eval_every, f"+ {name}")
        s["what"], s["kept"] = what, s["val"] < best["val"]
        s["gain"] = round(best["val"] - s["val"], 4)
        ladder.append(s)
        if s["kept"]:
            best = s
    out.mkdir(parents=True, exist_ok=True)
    peer = None

    def save() -> None:  # after every phase, so that an interrupted series keeps what it measured
        (out / "ladder.json").write_text(json.dumps({"ladder": ladder, "long": long, "nanogpt": peer,
                                                     "load_after": os.getloadavg()[0]}, indent=1) + "\n")
        plot(ladder, out / "ladder.png")

    save()
    if args.long and not args.peer_only:
        every = args.eval_every * 5
        long = [series(dict(BASELINE), args.long, args.seeds, every, f"baseline {args.long:g} s"),
                series(best["config"], args.long, args.seeds, every, f"record {args.long:g} s")]
    save()
    if nanogpt:
        peer = gtb.run_nanogpt(nanogpt)
        # both sides with their evaluations off the clock: ours as everywhere in this ladder,
        # nanoGPT's by its own log (gpt_train_bench.nanogpt_eval_seconds)
        peer_train_s = round(peer["wall_s"] - peer["eval_s"], 1)
        peer["train_s"] = peer_train_s
        print(f"nanogpt                val {peer['val_loss']:.4f} in {peer['wall_s']:.1f} s "
              f"({peer_train_s:.1f} s without its {peer['eval_s']:.1f} s of evaluation)", flush=True)
        at_peer = series(best["config"], peer_train_s, 1, args.eval_every * 5, "record in nanoGPT's time")
        long.append(at_peer)
        print(f"record / nanoGPT: {at_peer['wall_s'] / peer_train_s:.2f}x the time (evaluations off the clock "
              f"for both), val {at_peer['val'] - peer['val_loss']:+.4f}", flush=True)
    save()
    print(f"# wrote {out / 'ladder.json'} and {out / 'ladder.png'}; load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
