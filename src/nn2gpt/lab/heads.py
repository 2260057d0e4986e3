"""The head-size question, trained: scaled vs unscaled dot product (and squared) at head sizes
8, 32 and 128 with the same total width (16 heads of 8, 4 of 32, one of 128).

The entropy table of random queries and keys predicts that the unscaled dot product saturates
the softmax more and more as the head size grows; this section says whether a *trained* model
pays for it. Pure function of results.json, like the rest of the report.
"""

from __future__ import annotations

from pathlib import Path

from nn2gpt.lab import explain, plots
from nn2gpt.lab.plan import HEAD_SCORES

TITLE = "Question 1b — the scale √d, trained at head sizes 8, 32 and 128"


def grid(results: dict) -> dict[str, dict[int, list[float]]]:
    """score ('scaled', 'dot', 'squared') -> head size -> final val loss per seed."""
    out: dict[str, dict[int, list[float]]] = {}
    for v in results["variants"]:
        short = v["name"].split("_h")[0]
        if "heads" not in v["suites"] or short not in HEAD_SCORES or "_h" not in v["name"]:
            continue
        vals = [r["final_val"] for r in results["runs"] if r["variant"] == v["name"]]
        if vals:
            out.setdefault(short, {})[v["config"]["n_embd"] // v["config"]["n_head"]] = vals
    return out


def _entropy(results: dict, short: str, d: int) -> float:
    names = [v["name"] for v in results["variants"] if v["name"] == f"{short}_h{d}"]
    ents = [r["entropy"] for r in results["runs"] if r["variant"] in names]
    return sum(ents) / len(ents) if ents else float("nan")


def words(g: dict[str, dict[int, list[float]]]) -> str:
    """What the trained grid says, computed from it."""
    scaled = g.get("scaled", {})
    out = []
    for other, label in (("dot", "unscaled q·k"), ("squared", "the squared score")):
        pts = g.get(other, {})
        common = [d for d in sorted(pts) if d in scaled]
        if not common:
            continue
        parts = [f"at d = {d} it is {explain.compare(pts[d], scaled[d])} q·k/√d" for d in common]
        gaps = [explain.mean_std(pts[d])[0] - explain.mean_std(scaled[d])[0] for d in common]
        trend = ("the gap grows with the head size" if gaps[-1] > gaps[0] + 0.01 else
                 "the gap shrinks as the head size grows" if gaps[-1] < gaps[0] - 0.01 else
                 "the gap does not change with the head size")
        out.append(f"**{label}**: " + "; ".join(parts) + f" — {trend} "
                   f"({gaps[0]:+.3f} nats at d = {common[0]}, {gaps[-1]:+.3f} at d = {common[-1]}).")
    if scaled:
        best = min(scaled, key=lambda d: explain.mean_std(scaled[d])[0])
        out.append(f"Among the scaled models, head size {best} trains best ({explain.fmt(scaled[best])}).")
    out.append("Why the scale matters more for larger heads: q·k sums d products, so without 1/√d its typical "
               "size grows like √d, the softmax starts closer to an arg-max and its gradient is smaller. "
               "A trained network can shrink its query and key weights to undo part of that, which is why a "
               "trained gap can be smaller than the random-q,k entropy table suggests.")
    return "\n\n".join(out)


def section(results: dict, out: Path) -> list[str]:
    g = grid(results)
    if not g:
        return []
    plots.loss_vs_head_size(out / "heads_final.png", g, "Trained: final validation loss against head size")
    sizes = sorted({d for pts in g.values() for d in pts})
    width = next(v["config"]["n_embd"] for v in results["variants"] if "heads" in v["suites"] and "_h" in v["name"])
    table = ["| score | " + " | ".join(f"d = {d} ({width // d} head{'s' if width > d else ''})" for d in sizes) + " |",
             "| --- |" + " --- |" * len(sizes)]
    for short, pts in g.items():
        table.append(f"| `{HEAD_SCORES[short]}` | " + " | ".join(
            f"{explain.fmt(pts[d])} (H = {_entropy(results, short, d):.2f})" if d in pts else "—" for d in sizes) + " |")
    return [f"## {TITLE}", "",
            f"Final validation loss (mean ± std over seeds) and, in brackets, the mean entropy H of the trained "
            f"attention rows in nats; every model has width {width} (so these nine compare with each other, "
            f"not with the 64-wide baseline), the same steps and the same batches.", "", *table, "",
            "![final loss against head size](heads_final.png)", "", words(g), ""]
