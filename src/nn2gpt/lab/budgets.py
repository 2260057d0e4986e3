"""Two budgets side by side: which of the lab's conclusions survive four times more training.

A conclusion here is the word `explain.verdict` picks for a variant against its reference
(the baseline, or the scaled dot product of the same head size): "lower than", "higher than"
or "within the spread of". It *survives* when the long budget picks the same word, *reverses*
when the sign flips, and *fades* or *appears* when one budget sees a difference and the other
does not. Pure function of the two results.json, like the rest of the report.
"""

from __future__ import annotations

from nn2gpt.lab import explain
from nn2gpt.lab.heads import grid


def _finals(results: dict) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for r in results["runs"]:
        out.setdefault(r["variant"], []).append(r["final_val"])
    return out


def change(short: str, long: str) -> str:
    if short == long:
        return "survives"
    if "same" not in (short, long):
        return "**reverses**"
    return "**fades**" if long == "same" else "**appears**"


def references(results: dict) -> dict[str, str]:
    """variant -> the variant it is judged against: the baseline, or for the head-size suite the
    scaled dot product of the same head size (the scaled ones themselves have no reference)."""
    ref = {v["name"]: "baseline" for v in results["variants"] if "heads" not in v["suites"]}
    for short, pts in grid(results).items():
        if short != "scaled":
            ref.update({f"{short}_h{d}": f"scaled_h{d}" for d in pts})
    ref.pop("baseline", None)
    return ref


def table(short: dict, long: dict) -> list[str]:
    """One row per variant both budgets trained: both losses, both gaps to the reference, the change."""
    fs, fl = _finals(short), _finals(long)
    ss, sl = short["settings"], long["settings"]
    rows = [f"| variant | judged against | {ss['steps']} steps | gap | {sl['steps']} steps | gap | conclusion |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    ref = references(short)
    for v in short["variants"]:
        n = v["name"]
        if n not in fs:
            continue
        if n not in fl:
            rows.append(f"| `{n}` | {'`' + ref[n] + '`' if n in ref else '—'} | {explain.fmt(fs[n])} | | "
                        f"not run | | — |")
            continue
        if n not in ref or ref[n] not in fs or ref[n] not in fl:
            rows.append(f"| `{n}` | — | {explain.fmt(fs[n])} | | {explain.fmt(fl[n])} | | — |")
            continue
        r = ref[n]
        gap = lambda f: explain.mean_std(f[n])[0] - explain.mean_std(f[r])[0]  # noqa: E731
        rows.append(f"| `{n}` | `{r}` | {explain.fmt(fs[n])} | {gap(fs):+.3f} | {explain.fmt(fl[n])} | {gap(fl):+.3f} | "
                    f"{change(explain.verdict(fs[n], fs[r]), explain.verdict(fl[n], fl[r]))} |")
    return rows


def counts(short: dict, long: dict) -> dict[str, int]:
    fs, fl = _finals(short), _finals(long)
    out: dict[str, int] = {}
    for n, r in references(short).items():
        if all(x in f for x in (n, r) for f in (fs, fl)):
            c = change(explain.verdict(fs[n], fs[r]), explain.verdict(fl[n], fl[r])).strip("*")
            out[c] = out.get(c, 0) + 1
    return out


def by_question(short: dict, long: dict) -> list[str]:
    """One line per question: which of its conclusions hold at the longer budget, which do not."""
    fs, fl = _finals(short), _finals(long)
    ref = references(short)
    lines = []
    for suite, title in (("scores", "Scores"), ("heads", "Head sizes"), ("masks", "Masks"),
                         ("positions", "Positions")):
        kept, moved = [], []
        for v in short["variants"]:
            n = v["name"]
            if suite not in v["suites"] or n not in ref or not all(x in f for x in (n, ref[n]) for f in (fs, fl)):
                continue
            a, b = explain.verdict(fs[n], fs[ref[n]]), explain.verdict(fl[n], fl[ref[n]])
            word = {"lower": "lower than", "higher": "higher than", "same": "level with"}  # in loss
            (kept if a == b else moved).append(
                f"`{n}` {word[b]} `{ref[n]}`" if a == b else f"`{n}`: {word[a]} `{ref[n]}` → {word[b]}")
        if kept or moved:
            lines.append(f"- **{title}.** " + (f"Hold: {', '.join(kept)}. " if kept else "")
                         + (f"Change with training: {'; '.join(moved)}." if moved else "Nothing changes."))
    return lines


def section(short: dict, long: dict, link: str | None) -> list[str]:
    c = counts(short, long)
    ss, sl = short["settings"], long["settings"]
    said = ", ".join(f"{k} {v}" for k, v in sorted(c.items(), key=lambda kv: -kv[1]))
    return ["## Two budgets: what survives longer training", "",
            f"The same lab at {ss['steps']} steps per run ({len(ss['seeds'])} seeds) and at {sl['steps']} steps "
            f"({len(sl['seeds'])} seeds; `{sl['command']}`"
            + (f", [its own report]({link})" if link else "") + f"). Gap = mean loss minus the reference's "
            f"(negative: better than the reference). A conclusion is the word the report uses (lower, higher, "
            f"within the spread) and it *survives*, *reverses*, *fades* (the difference is gone) or *appears*. "
            f"Of {sum(c.values())} comparisons: {said}.", "",
            *table(short, long), "", *by_question(short, long), ""]
