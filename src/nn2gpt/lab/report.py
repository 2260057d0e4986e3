"""Turn the lab's measurements (results.json) into REPORT.md and its PNG plots.

The report is a pure function of the results: `nn2gpt lab report --results DIR/results.json`
rewrites it without training anything. Layout: settings, the summary table, one section per
question (numbers, pictures, a paragraph chosen from the numbers), then one sample per variant.

The report travels (it is read in a repository, on a web page), so it never names a path of the
machine that wrote it: pictures are named relative to the report's folder, and the rerun command
shows the run directory by its name (`portable_command`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from nn2gpt.files import atomic_write_text, read_json
from nn2gpt.lab import budgets, explain, heads, plots, positions
from nn2gpt.lab.links import source_link

QUESTIONS = {
    "scores": "Question 1 — why the dot product? What about squared or \"inverse\" dot products?",
    "masks": "Question 2 — what if we mask the lower-left half instead of the upper-right?",
    "positions": "Question 3 — sinusoidal positions vs learned, rotary, ALiBi or none",
    "pizza": "Question 4 — \"La pizza salió del horno y sabía bien\": pizza or oven?",
}
def _is_absolute(path: str) -> bool:
    return os.path.isabs(os.path.expanduser(path)) or (len(path) > 2 and path[1] == ":" and path[2] in "\\/")


def portable_path(path: str, out_dir: str | Path) -> str:
    """`path` as the report may show it: a relative path as it is; an absolute one relative to the
    report's folder when it lies inside it, otherwise by its last component alone."""
    if not _is_absolute(path):
        return path
    p, out = Path(os.path.expanduser(path)), Path(out_dir).expanduser().absolute()
    try:
        return p.relative_to(out).as_posix() or "."
    except ValueError:
        return p.name or "."


def portable_command(command: str, out_dir: str | Path) -> str:
    """The rerun command with no machine-local path: an absolute `--out` becomes the run directory's
    name, `--data-dir` is left out (the data is checked by its sha256, so where it lies changes no
    number), and any other absolute path is shown by `portable_path`."""
    words, out = command.split(), []
    i = 0
    while i < len(words):
        w = words[i]
        flag, eq, value = w.partition("=")
        if flag == "--data-dir":
            i += 1 if eq else 2
            continue
        if flag == "--out" and eq:
            out.append(f"--out={Path(value).name if _is_absolute(value) else value}")
        elif flag == "--out" and i + 1 < len(words):
            value = words[i + 1]
            out += ["--out", Path(os.path.expanduser(value)).name if _is_absolute(value) else value]
            i += 1
        elif eq and flag.startswith("--"):
            out.append(f"{flag}={portable_path(value, out_dir)}")
        else:
            out.append(portable_path(w, out_dir))
        i += 1
    return " ".join(out)


def finals(results: dict, suite: str | None = None) -> dict[str, list[float]]:
    """variant -> final validation loss of each seed, in plan order (optionally one suite)."""
    out: dict[str, list[float]] = {}
    for v in results["variants"]:
        if suite is None or suite in v["suites"]:
            vals = [r["final_val"] for r in results["runs"] if r["variant"] == v["name"]]
            if vals:
                out[v["name"]] = vals
    return out


def _runs(results: dict, name: str) -> list[dict]:
    return [r for r in results["runs"] if r["variant"] == name]


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def summary_table(results: dict, link_prefix: str = "") -> str:
    """The Markdown table of every variant: suite, change, final val loss, attention entropy."""
    base = finals(results).get("baseline")
    rows = ["| suite | variant | what changes | seeds | final val loss (mean ± std) | vs baseline | "
            "own text, scored by baseline | attention entropy |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for v in results["variants"]:
        vals = finals(results).get(v["name"])
        if not vals:
            continue
        delta = "—" if v["name"] == "baseline" or not base else f"{_mean(vals) - _mean(base):+.3f}"
        runs = _runs(results, v["name"])
        ent = _mean([r["entropy"] for r in runs])
        own = explain.fmt([r["generated_loss"] for r in runs]) if all("generated_loss" in r for r in runs) else "—"
        rows.append(f"| {', '.join(v['suites'])} | `{v['name']}` | {v['what'].replace('|', '‖')} | {len(vals)} | {explain.fmt(vals)} | {delta} | "
                    f"{own} | {ent:.2f} |")
    return "\n".join(rows)


def _curves(results: dict, suite: str) -> dict:
    return {name: [r["history"] for r in _runs(results, name)] for name in finals(results, suite)}


def _section_scores(results: dict, out: Path) -> list[str]:
    f = finals(results, "scores")
    order = sorted(results["random_entropy"], key=lambda s: (s != "scaled_dot", s != "dot", s))  # JSON sorts keys
    rand = {s: {int(d): h for d, h in results["random_entropy"][s].items()} for s in order}
    plots.loss_curves(out / "scores_curves.png", _curves(results, "scores"), "Score functions: validation loss")
    plots.final_loss_bars(out / "scores_final.png", f, "Score functions: final validation loss")
    plots.entropy_vs_head_size(out / "entropy_head_size.png", rand, results["random_max_entropy"])
    sizes = sorted(next(iter(rand.values())))
    table = ["| head size d | " + " | ".join(str(d) for d in sizes) + " |", "| --- |" + " --- |" * len(sizes)]
    table += [f"| `{s}` | " + " | ".join(f"{rand[s][d]:.2f}" for d in sizes) + " |" for s in rand]
    trained = {n: _mean([r["entropy"] for r in _runs(results, n)]) for n in f}
    seconds = {n: _mean([r["seconds"] for r in _runs(results, n)]) for n in f}
    text = explain.q1_scores(f, rand, trained, results["random_max_entropy"], results["settings"]["head_size"],
                             seconds)
    return [f"## {QUESTIONS['scores']}", "",
            f"Mean entropy (nats) of attention rows for random q, k ~ N(0, 1), causal mask, "
            f"T = {results['random_T']} (uniform over the visible keys would be "
            f"{results['random_max_entropy']:.2f}):", "", *table, "",
            "![entropy vs head size](entropy_head_size.png)", "",
            "![score functions: validation loss](scores_curves.png)", "",
            "![score functions: final loss](scores_final.png)", "", text, ""]


def _section_masks(results: dict, out: Path) -> list[str]:
    f = finals(results, "masks")
    keys = {"teacher_forced": "teacher-forced val loss", "causal_eval": "same weights, causal mask",
            "generated": "own samples, scored by causal baseline"}
    complete = {n: [r for r in _runs(results, n) if set(keys) <= set(r.get("mask") or {})] for n in f}
    mask = {n: {k: [r["mask"][k] for r in runs] for k in keys} for n, runs in complete.items() if runs}
    lines = [f"## {QUESTIONS['masks']}", ""]
    if mask:
        plots.grouped_bars(out / "masks_three_losses.png", {n: {keys[k]: _mean(v) for k, v in m.items()}
                                                            for n, m in mask.items()},
                           "loss (nats / char)", "Three losses per mask (mean over seeds)")
        lines += ["| variant | " + " | ".join(keys.values()) + " |", "| --- | --- | --- | --- |"]
        lines += [f"| `{n}` | " + " | ".join(explain.fmt(m[k]) for k in keys) + " |" for n, m in mask.items()]
        lines += ["", "![three losses per mask](masks_three_losses.png)", ""]
    plots.loss_curves(out / "masks_curves.png", _curves(results, "masks"), "Masks: teacher-forced validation loss")
    lines += ["![masks: validation loss](masks_curves.png)", "",
              explain.q2_masks(f, mask, results["settings"]["vocab_size"]), ""]
    return lines + _copy(results, f, out)


def _copy(results: dict, f: dict, out: Path) -> list[str]:
    """Does a model that sees the future copy? Its heads' weight on key t+1, and its picture."""
    strongest = {}
    sees_ahead = {v["name"] for v in results["variants"] if v["config"].get("mask") in ("anticausal", "none")}
    for name in f:
        per_seed = [r["next_weight"] for r in _runs(results, name) if "next_weight" in r]
        if not per_seed or name not in sees_ahead:  # under a causal or window mask key t+1 is hidden: 0
            continue
        heads_mean = [[_mean([s[l][h] for s in per_seed]) for h in range(len(per_seed[0][l]))]
                      for l in range(len(per_seed[0]))]  # (n_layer, nh) mean over seeds
        w, l, h = max((w, l, h) for l, row in enumerate(heads_mean) for h, w in enumerate(row))
        strongest[name] = (w, l, h)
    if not strongest:
        return []
    lines = ["| variant | weight on key t+1, strongest head (mean over seeds) | its layer, head |",
             "| --- | --- | --- |"]
    lines += [f"| `{n}` | {w:.3f} | {l}, {h} |" for n, (w, l, h) in strongest.items()]
    tf = {n: _mean(v) for n, v in f.items()}
    lines += ["", explain.copying(strongest, tf, tf.get("baseline"), results["settings"]["model"]["block_size"]), ""]
    for name, pic in (results.get("copy_pictures") or {}).items():
        lines += [f"![attention of {name}]({portable_path(pic['picture'], out)})", ""]
    return lines


def _section_positions(results: dict, out: Path) -> list[str]:
    f = finals(results, "positions")
    m = results["settings"]["model"]
    pe = positions.pe_pictures(out, T=m["block_size"], d=m["n_embd"])  # the table the GPT adds to its input
    plots.loss_curves(out / "positions_curves.png", _curves(results, "positions"), "Positions: validation loss")
    plots.final_loss_bars(out / "positions_final.png", f, "Positional encodings: final validation loss")
    learned = []
    lp = results.get("learned_positions")
    if lp:
        learned = [f"![learned positions]({portable_path(lp['picture'], out)})", "",
                   explain.learned_positions(lp["near"], lp["far"], lp["T"]), ""]
    ctx = {n: _context_means(results, n) for n in f}
    ctx = {n: c for n, c in ctx.items() if c}
    extra = []
    if ctx:
        lengths = sorted({int(k) for c in ctx.values() for k in c})
        extra = ["| variant | " + " | ".join(f"val loss at {L}" for L in lengths) + " |",
                 "| --- |" + " --- |" * len(lengths)]
        extra += [f"| `{n}` | " + " | ".join("—" if c.get(str(L)) is None else f"{c[str(L)]:.3f}" for L in lengths)
                  + " |" for n, c in ctx.items()]
        extra += ["", explain.extrapolation(ctx, m["block_size"]), ""]
    return [f"## {QUESTIONS['positions']}", "",
            "![sinusoidal encoding](pe_matrix.png) ![similarity between positions](pe_similarity.png)", "",
            *learned,
            "![positions: validation loss](positions_curves.png)", "",
            "![positions: final loss](positions_final.png)", "",
            explain.q3_positions(f, pe["toeplitz_error"], pe["T"], pe["d"]), "", *extra]


def _context_means(results: dict, name: str) -> dict[str, float | None]:
    """Context length -> mean over seeds of the val loss there (None where it cannot be scored)."""
    per_seed = [r["contexts"] for r in _runs(results, name) if "contexts" in r]
    if not per_seed:
        return {}
    return {k: None if any(c.get(k) is None for c in per_seed) else _mean([c[k] for c in per_seed])
            for k in per_seed[0]}


def _section_pizza(results: dict, out: Path) -> list[str]:
    att = results.get("attention") or {}
    lines = [f"## {QUESTIONS['pizza']}", "",
             f"This one needs a model that reads Spanish: chapter 3 trains the translation Transformer and "
             f"`nn2gpt translate attention` draws, for every layer and head, which source words each target "
             f"word looks at — see {source_link('chapter 3', 'docs/translate.md', out)}. The answer in short: nothing in the "
             f"architecture knows about pizzas or ovens; \"sabía\" gets a query vector, \"pizza\" and \"horno\" "
             f"get key vectors, and whichever key the trained weights make most similar wins the softmax. "
             f"The model 'knows' only what training on many sentences put into those weights.", ""]
    if att:
        uni = explain.mean_std([att["uniform_entropy"]])[0]
        lines += [f"The same mechanism in this lab's char GPT (`baseline`, seed {att['seed']}), on the text "
                  f"`{att['text']}`: each row is a character looking back at earlier characters. Its mean "
                  f"attention entropy is {att['entropy']:.2f} nats against {uni:.2f} for attention spread "
                  f"evenly over the visible characters: the trained heads pick out "
                  f"about e^H ≈ {math.exp(att['entropy']):.1f} characters each. "
                  f"For any trained GPT, `nn2gpt gpt attention \"TEXT\" --model RUN` draws the same grid "
                  f"({source_link('chapter 2', 'docs/gpt.md', out)}).", "",
                  f"![attention per layer and head]({portable_path(att['picture'], out)})", ""]
    measured = out / "pizza.json"
    if measured.is_file():  # written by `nn2gpt lab pizza --out` this folder
        from nn2gpt.lab import pizza

        m = read_json(measured, "pizza measurements")
        lines += ["**Measured** on an es→en model over 44 probe sentences (`nn2gpt lab pizza`, "
                  "[every head](pizza.md)): " + pizza.verdict(m) + " " + pizza.cross_verdict(m), "",
                  "![the row of sabía in every encoder head](pizza_heads.png)", ""]
    return lines


def write_report(results: dict, out_dir: str | Path, long: dict | None = None, long_link: str | None = None) -> Path:
    """Write every plot and REPORT.md into `out_dir`; return the report's path.

    With `long` (the results of the same lab at a longer budget) the report also has a section
    that sets both budgets side by side (`long_link`: where the long lab's own report lies)."""
    out = Path(out_dir)
    s = results["settings"]
    m = s["model"]
    lines = ["# The attention lab (chapter 4)", "",
             f"Each variant changes one thing about a char GPT ({m['n_layer']} layers, {m['n_head']} heads, "
             f"{m['n_embd']} numbers per position, head size {s['head_size']}, context {m['block_size']} "
             f"characters) trained on Tiny Shakespeare for **{s['steps']} steps** (batch {s['batch_size']}), "
             f"with seeds {', '.join(map(str, s['seeds']))}. "
             f"The step count is the same for every variant: "
             + (f"it is what the baseline does in the budget of {s['budget_s']:g} s of one CPU core per run "
                f"(measured at the start), chosen so that the whole lab, {s.get('jobs', 1)} runs at a time, fits in "
                f"{s['target_minutes']} minutes on this project's 2-core machine. "
                if s.get("budget_s") else "it was given with --steps. ")
             + f"Rerun exactly with `{portable_command(s['command'], out)}` (the same seed gives the same numbers). "
             f"Validation loss: mean next-character loss in nats on fixed windows of the last 10% of the text "
             f"(lower is better; guessing uniformly among {s['vocab_size']} characters gives "
             f"{math.log(s['vocab_size']):.2f}).", "",
             f"Machine: {s['machine']}; {len(results['runs'])} training runs took {s['wall_s'] / 60:.1f} minutes "
             f"in all (started {s['started']})."
             + (f" **The lab was stopped after {len(results['runs'])} of {len(results['variants']) * len(s['seeds'])} "
                f"runs**: the 'seeds' column says how many seeds each number averages."
                if len(results["runs"]) < len(results["variants"]) * len(s["seeds"]) else ""), "",
             "## Summary", "", summary_table(results), ""]
    if long is not None:
        lines += budgets.section(results, long, long_link)
    if finals(results, "scores"):  # a lab stopped early may have no run of a suite yet
        lines += _section_scores(results, out)
    if finals(results, "heads"):  # a lab stopped early may have no run of a suite yet
        lines += heads.section(results, out)
    if finals(results, "masks"):  # a lab stopped early may have no run of a suite yet
        lines += _section_masks(results, out)
    if finals(results, "positions"):  # a lab stopped early may have no run of a suite yet
        lines += _section_positions(results, out)
    lines += _section_pizza(results, out)
    lines += ["## Samples", "",
              "200 characters from each model (seed 0, temperature 1, prompt: a newline):", ""]
    for v in results["variants"]:
        runs = _runs(results, v["name"])
        if runs:
            lines += [f"**`{v['name']}`** (val loss {runs[0]['final_val']:.3f})", "", "```",
                      runs[0]["sample"].replace("```", "'''"), "```", ""]
    return atomic_write_text(out / "REPORT.md", "\n".join(lines))
