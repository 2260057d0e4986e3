"""`nn2gpt gpt ...` as a user runs it: train, sample, bad input, a pickle posing as a checkpoint, Ctrl-C
(in a process of its own: the signal is what it tests)."""

import hashlib
import io
import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import threading

import pytest

from in_process import run_cli

from nn2gpt.checkpoint import load_checkpoint, meta_digest

TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "32", "--block-size", "16", "--batch-size", "8",
        "--eval-batches", "2", "--warmup", "2", "--threads", "1", "--quiet"]


def nn2gpt(*args):
    """`nn2gpt gpt ARGS`, in this process (in_process.run_cli); the Ctrl-C test starts a process of its own."""
    return run_cli("gpt", *args)


def snapshot(run):
    return {p.relative_to(run): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


def one_line_error(r, *words):
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nn2gpt gpt: error:"), r.stderr
    for w in words:
        assert w in lines[0], lines[0]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A trained (tiny) run directory, made through the CLI."""
    out = tmp_path_factory.mktemp("cli") / "run"
    r = nn2gpt("train", "--out", out, "--max-iters", 6, "--eval-interval", 3, "--sample-tokens", 20, *TINY)
    assert r.returncode == 0, r.stderr
    assert "done at step 6" in r.stderr
    for name in ("config.json", "metrics.jsonl", "loss.png", "samples.txt", "latest"):
        assert (out / name).is_file(), name
    return out


def test_sample_streams_from_the_prompt(run):
    r = nn2gpt("sample", "--model", run, "--prompt", "ROMEO:", "--max-new-tokens", 30, "--seed", 3, "--top-k", 5)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ROMEO:") and len(r.stdout) == len("ROMEO:") + 30 + 1
    again = nn2gpt("sample", "--model", run, "--prompt", "ROMEO:", "--max-new-tokens", 30, "--seed", 3, "--top-k", 5,
                   "--no-cache")
    assert again.stdout == r.stdout  # same seed, with and without the KV cache


def test_unknown_prompt_characters_are_named(run):
    before = snapshot(run)
    one_line_error(nn2gpt("sample", "--model", run, "--prompt", "Zoë ☃"), "'ë'", "'☃'")
    assert snapshot(run) == before


def test_truncated_checkpoint_is_a_clear_error_and_left_alone(run, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(run, broken)
    weights = broken / (broken / "latest").read_text().strip() / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    before = snapshot(broken)
    one_line_error(nn2gpt("sample", "--model", broken), "corrupt or truncated")
    one_line_error(nn2gpt("train", "--out", broken, "--resume", "--max-iters", 9), "corrupt or truncated")
    assert snapshot(broken) == before


class _CreatesMarker:
    """Unpickling this calls open(path, "w"), which creates `path`: proof that a pickle was loaded."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


def _malicious(kind, marker) -> bytes:
    if kind == "pickle":
        return pickle.dumps({"tok_emb.weight": _CreatesMarker(marker)})
    import torch

    buf = io.BytesIO()
    torch.save({"tok_emb.weight": _CreatesMarker(marker)}, buf)
    return buf.getvalue()


def _unpickle(kind, data):
    if kind == "pickle":
        return pickle.loads(data)
    import torch

    return torch.load(io.BytesIO(data), weights_only=False)


@pytest.mark.parametrize("kind", ["pickle", "torch.save"])
@pytest.mark.parametrize("name, command", [("weights.safetensors", ["sample", "--max-new-tokens", "5"]),
                                           ("optimizer.safetensors", ["train", "--resume", "--max-iters", "9"])])
def test_loading_never_unpickles(run, tmp_path, kind, name, command):
    """A pickle in place of a checkpoint file, its sha256 in meta.json updated to match (so the
    checksum does not stop it first), is refused as unreadable and never unpickled."""
    probe, marker = tmp_path / "probe", tmp_path / "marker"
    _unpickle(kind, _malicious(kind, probe))
    assert probe.exists()  # the payload is live: whatever unpickles it creates its marker
    evil = tmp_path / "evil"
    shutil.copytree(run, evil)
    ckpt = evil / (evil / "latest").read_text().strip()
    data = _malicious(kind, marker)
    (ckpt / name).write_bytes(data)
    meta = json.loads((ckpt / "meta.json").read_text())
    assert name in meta["sha256"]
    meta["sha256"][name] = hashlib.sha256(data).hexdigest()
    meta["meta_sha256"] = meta_digest(meta)
    (ckpt / "meta.json").write_text(json.dumps(meta))
    before = snapshot(evil)
    one_line_error(nn2gpt(command[0], "--model" if command[0] == "sample" else "--out", evil, *command[1:]),
                   name, "cannot be read")
    assert not marker.exists()
    assert snapshot(evil) == before


def test_missing_run_directory(tmp_path):
    one_line_error(nn2gpt("sample", "--model", tmp_path / "nope"), "does not exist")


@pytest.mark.parametrize("content, words", [("", ["empty"]), ("to be or not to be\n" * 3, ["too short"])])
def test_bad_text_leaves_the_run_intact(run, tmp_path, content, words):
    text = tmp_path / "t.txt"
    text.write_text(content, encoding="utf-8")
    before = snapshot(run)
    one_line_error(nn2gpt("train", "--text", text, "--out", run, "--overwrite", *TINY), *words)
    assert snapshot(run) == before


def test_ctrl_c_saves_and_exits_130(tmp_path):
    """Ctrl-C between two scheduled saves: the step in flight finishes, is saved, and resumes.

    --eval-interval and --max-iters are 100000, so no save is scheduled before the interrupt:
    a checkpoint can only come from the Ctrl-C. Training is known to be under way from the
    progress line on stderr counting steps; stderr is drained on a thread so that the
    child never blocks on a full pipe."""
    out, total = tmp_path / "run", 100000
    flags = [a for a in TINY if a != "--quiet"]  # the progress bar is the sign that steps are being taken
    p = subprocess.Popen([sys.executable, "-m", "nn2gpt", "gpt", "train", "--out", str(out), "--max-iters", str(total),
                          "--eval-interval", str(total), "--sample-tokens", "0", *flags], stderr=subprocess.PIPE)
    chunks, stepping = [], threading.Event()
    bar = re.compile(rb"(\d+)/%d\b" % total)  # "step 3/100000 (0%), ..." off a terminal

    def drain():
        for chunk in iter(lambda: os.read(p.stderr.fileno(), 4096), b""):
            chunks.append(chunk)
            if any(int(n) >= 1 for n in bar.findall(b"".join(chunks)[-4096:])):
                stepping.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        assert stepping.wait(90), b"".join(chunks).decode(errors="replace")
        assert not (out / "latest").exists()  # nothing scheduled has saved: only the Ctrl-C can
        p.send_signal(signal.SIGINT)
        p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    reader.join(10)
    err = b"".join(chunks).decode(errors="replace")
    assert p.returncode == 130, err
    ckpt = load_checkpoint(out, with_optimizer=True)
    step = ckpt.state["step"]
    assert 1 <= step < total and step % total != 0, step  # not a scheduled save
    assert f"interrupted by Ctrl-C at step {step}:" in err, err
    # the step in flight finished: AdamW took exactly `step` steps on every parameter
    counters = {k: v for k, v in ckpt.optimizer.items() if k.startswith("step.")}
    assert counters and len(counters) == len({k for k in ckpt.optimizer if k.startswith("exp_avg.")})
    assert all(v.size == 1 and v.item() == step for v in counters.values()), (step, counters)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "val_loss" in r] == [step]  # the one evaluation: at the interrupt
    # and the run continues from it
    r = nn2gpt("train", "--out", out, "--resume", "--max-iters", step + 3, "--quiet")
    assert r.returncode == 0, r.stderr
    assert f"done at step {step + 3}" in r.stderr
    again = load_checkpoint(out, with_optimizer=True)
    assert again.state["step"] == step + 3
    assert all(v.item() == step + 3 for k, v in again.optimizer.items() if k.endswith(".step"))
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "val_loss" in r] == [step, step + 3]
