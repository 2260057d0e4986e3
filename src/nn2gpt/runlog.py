"""The metrics every training run keeps: metrics.jsonl (one JSON object per line) and loss.png.

Shared by chapter 2's torch engine, chapter 5's numpy engine and chapter 3's translator, so it
imports neither torch nor (until a plot is drawn) matplotlib. Rows look like
`{"step": 100, "train_loss": 2.1}` or `{"step": 100, "time": 12.3, "val_loss": 2.2}`.
"""

from __future__ import annotations

import json
from pathlib import Path

from nn2gpt.files import atomic_write, atomic_write_text

DEFAULT_LABELS = {"train_loss": "train loss", "val_loss": "val loss"}


def write_metrics(run_dir: Path, rows: list[dict]) -> None:
    atomic_write_text(Path(run_dir) / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in rows))


def read_metrics(run_dir: Path) -> list[dict]:
    """The rows of `run_dir`/metrics.jsonl; [] when there is none. A reader may look while a run
    writes (the studio does): rows stop at the first line that is not whole JSON."""
    try:
        text = (Path(run_dir) / "metrics.jsonl").read_text(encoding="utf-8")
    except OSError:
        return []
    rows = []
    for line in filter(str.strip, text.splitlines()):
        try:
            rows.append(json.loads(line))
        except ValueError:
            break
    return rows


def plot_losses(run_dir: Path, rows: list[dict], labels: dict[str, str] | None = None,
                reference: dict[int, float] | None = None) -> None:
    """loss.png: training loss per logged step (line) and validation loss per evaluation (dots);
    `reference` ({step: validation loss} of another run: a workbook milestone's) dashed beside."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = labels or DEFAULT_LABELS
    fig, ax = plt.subplots(figsize=(7, 4))
    for key, style in (("train_loss", "-"), ("val_loss", "o-")):
        pts = [(r["step"], r[key]) for r in rows if key in r]
        if pts:
            ax.plot(*zip(*pts), style, label=labels.get(key, key), markersize=3)
    if reference:
        ax.plot(*zip(*sorted(reference.items())), "--", color="0.45", label="val, reference")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    atomic_write(Path(run_dir) / "loss.png", lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
