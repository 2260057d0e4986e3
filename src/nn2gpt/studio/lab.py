"""The lab page: the lab's report, and a toy for "why the dot product?".

The report is the REPORT.md that `nn2gpt lab run` wrote, turned into HTML (Python-Markdown), its
pictures served from the same run folder. The toy draws random queries and keys q, k ~ N(0, 1)
of shape (T, hs) and scores them with the lab's own score functions (`nn.scores.Score`, at their
initial parameters), then shows softmax(scores) row by row and each row's entropy. Entropy in
nats: log T when a query spreads its attention evenly over T keys, 0 when it reads one key only.
Unscaled `dot` grows like sqrt(hs), so as the head size grows its rows turn one-hot: the
saturation that dividing by sqrt(hs) prevents.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from urllib.parse import quote

from nn2gpt.errors import UserError
from nn2gpt.studio import checks

TOY_SCORES = ("scaled_dot", "dot", "squared", "inverse", "cosine", "neg_dot")
PICTURE = re.compile(r"^[\w.-]+\.png$")


SAFE_LINK = re.compile(r"^(#|https?://|[\w./-]+$)")  # in-page, the web, or a file beside the report


def _markdown():
    """Python-Markdown that treats any HTML in the report as text, and keeps only safe links."""
    import markdown
    from markdown.treeprocessors import Treeprocessor

    class SafeLinks(Treeprocessor):
        def run(self, root):
            for node in root.iter():
                for attr in ("href", "src"):
                    value = node.get(attr)
                    if value is not None and (not SAFE_LINK.match(value) or ".." in value):
                        node.set(attr, "#")  # javascript:, data: and paths out of the run go nowhere

    md = markdown.Markdown(extensions=["tables", "fenced_code"])
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    md.treeprocessors.register(SafeLinks(md), "safe_links", 0)
    return md


def _inside(run: Path, file_name: str) -> Path | None:
    """run/file_name when it is a plain file of the run itself (no symbolic link, no sub-folder)."""
    path = run / file_name
    if path.is_symlink() or not path.is_file() or path.resolve().parent != run.resolve():
        return None
    return path


def report_html(run: Path, name: str) -> str:
    path = _inside(run, "REPORT.md")
    if path is None:
        raise UserError(f"{name} has results but no REPORT.md; write it with "
                        f"`nn2gpt lab report --results {run}/results.json --out {run}`")
    body = _markdown().convert(path.read_text(encoding="utf-8", errors="replace"))
    link = f"api/lab/file?run={quote(name)}&name="
    return re.sub(r'<img alt="([^"]*)" src="([\w.-]+\.png)"',
                  lambda m: f'<img alt="{m[1]}" src="{link}{quote(m[2])}"', body)


def picture(run: Path, file_name: str) -> Path:
    """A .png of the lab run `run` (by its bare file name only)."""
    path = _inside(run, file_name) if isinstance(file_name, str) and PICTURE.match(file_name) else None
    if path is None:
        raise UserError(f"the lab run has no picture {file_name!r}")
    return path


def toy(score: str, head_size: int, T: int = 8, seed: int = 0) -> dict:
    """softmax rows and their entropies for random q, k (T, hs) under one score function."""
    import torch

    from nn2gpt.nn.scores import Score

    if score not in TOY_SCORES:
        raise UserError(f"score must be one of {', '.join(TOY_SCORES)}")
    asked = {"head_size": head_size, "T": T, "seed": seed}
    head_size, T, seed = (checks.number(asked, k, int, low, high) for k, low, high in
                          (("head_size", 1, 1024), ("T", 2, 32), ("seed", 0, 2**31)))
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(1, 1, T, head_size, generator=g)  # (B, nh, T, hs)
    k = torch.randn(1, 1, T, head_size, generator=g)  # (B, nh, T, hs)
    with torch.no_grad():
        scores = Score(score, 1, head_size)(q, k)[0, 0].double()  # (T, T) rows = queries, columns = keys
    weights = scores.softmax(-1)  # (T, T), each row sums to 1
    entropy = -(weights * weights.clamp_min(1e-300).log()).sum(-1)  # (T,) nats
    return {"weights": weights.round(decimals=4).tolist(), "entropy": entropy.round(decimals=4).tolist(),
            "mean_entropy": round(float(entropy.mean()), 4), "uniform": round(math.log(T), 4),
            "score_spread": round(float(scores.std()), 4)}
