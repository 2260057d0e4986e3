"""`nn2gpt gpt ...` as a user runs it: train, sample, bad input, Ctrl-C."""

import os
import signal
import subprocess
import sys
import time

import pytest

from nn2gpt.checkpoint import load_checkpoint

TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "32", "--block-size", "16", "--batch-size", "8",
        "--eval-batches", "2", "--warmup", "2", "--threads", "1", "--quiet"]


def nn2gpt(*args, timeout=120, **kw):
    return subprocess.run([sys.executable, "-m", "nn2gpt", "gpt", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, **kw)


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
    out = tmp_path / "run"
    p = subprocess.Popen([sys.executable, "-m", "nn2gpt", "gpt", "train", "--out", str(out), "--max-iters", "100000",
                          "--eval-interval", "5", "--sample-tokens", "0", *TINY], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 90
    while not (out / "latest").exists() and time.time() < deadline and p.poll() is None:
        time.sleep(0.2)
    assert (out / "latest").exists(), "no checkpoint appeared"
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert "interrupted" in err
    step = load_checkpoint(out).state["step"]
    assert step >= 5 and (out / "metrics.jsonl").is_file()
