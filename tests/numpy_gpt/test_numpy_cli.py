"""`nn2gpt gpt train|sample --engine numpy`: a tiny run end to end, and bad input."""

import json

import numpy as np
import pytest

from nn2gpt.checkpoint import latest_checkpoint_dir, load_checkpoint
from nn2gpt.cli import main

TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16", "--batch-size", "4",
        "--max-iters", "8", "--eval-interval", "4", "--eval-batches", "2", "--sample-tokens", "20", "--quiet"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("np_cli") / "run"
    assert main(["gpt", "train", "--engine", "numpy", "--out", str(out), *TINY]) == 0
    return out


def error_line(capsys):
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def test_train_writes_the_run_directory(run):
    config = json.loads((run / "config.json").read_text())
    assert config["engine"] == "numpy" and config["model"]["n_embd"] == 16 and config["train"]["max_iters"] == 8
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "val_loss" in r] == [4, 8]
    assert any("train_loss" in r for r in rows)
    ckpt = load_checkpoint(run, with_optimizer=True)
    assert ckpt.state["step"] == 8  # Adam's state named by parameter, as every chapter names it (optstate)
    assert set(ckpt.optimizer) == {f"{k}.{n}" for k in ("exp_avg", "exp_avg_sq", "step") for n in ckpt.weights}
    assert all(ckpt.optimizer[f"step.{n}"][0] == 8 for n in ckpt.weights)
    assert (run / "samples.txt").read_text().strip()


def test_sample_streams_the_prompt_and_is_reproducible(run, capsys):
    args = ["gpt", "sample", "--engine", "numpy", "--model", str(run), "--prompt", "ROMEO:", "--max-new-tokens",
            "30", "--seed", "4", "--top-k", "10", "--top-p", "0.95", "--temperature", "0.8"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert first.startswith("ROMEO:") and len(first) == len("ROMEO:") + 30 + 1
    assert main(args) == 0
    assert capsys.readouterr().out == first
    assert main(args + ["--no-cache"]) == 0  # the KV cache changes the speed, not the text
    assert capsys.readouterr().out == first


def test_resume_continues_the_run(run, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    assert main(["gpt", "train", "--engine", "numpy", "--out", str(copy), "--resume", "--max-iters", "12",
                 "--quiet"]) == 0
    assert load_checkpoint(copy).state["step"] == 12
    assert json.loads((copy / "config.json").read_text())["model"]["n_embd"] == 16  # kept from the run


N = 8  # steps of the straight run; the split run stops at N // 2 (a scheduled evaluation) and resumes


@pytest.fixture(scope="module")
def straight_and_split(tmp_path_factory):
    """The same tiny numpy run twice: straight to N, and stopped at N/2 then resumed to N.
    (stop_at keeps max_iters, hence the cosine schedule, the same in both.)"""
    from nn2gpt.numpy_gpt.train import NumpyTrainConfig, train

    base = dict(n_layer=1, n_head=2, n_embd=16, block_size=16, batch_size=4, warmup=2, max_iters=N,
                eval_interval=N // 2, eval_batches=2, log_interval=2, sample_tokens=20)
    quiet = lambda *a: None  # noqa: E731
    root = tmp_path_factory.mktemp("np_resume")
    straight, split = root / "straight", root / "split"
    assert train(NumpyTrainConfig(**base, out=str(straight)), log=quiet).status == "done"
    first = train(NumpyTrainConfig(**base, out=str(split), stop_at=N // 2), log=quiet)
    assert first.status == "stopped" and first.step == N // 2
    half = load_checkpoint(split, with_optimizer=True)
    assert train(NumpyTrainConfig(**base, out=str(split), resume=True), log=quiet).step == N
    return straight, split, half


def metrics_rows(run):
    """metrics.jsonl without its wall-clock fields."""
    return [{k: v for k, v in json.loads(line).items() if k not in ("time", "tokens_per_s")}
            for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_stop_and_resume_is_bit_identical_to_a_straight_run(straight_and_split):
    straight, split, half = straight_and_split
    a, b = load_checkpoint(straight, with_optimizer=True), load_checkpoint(split, with_optimizer=True)
    assert a.state["step"] == b.state["step"] == N and half.state["step"] == N // 2
    for mine, theirs in ((a.weights, b.weights), (a.optimizer, b.optimizer)):  # weights, AdamW m and v
        assert mine and set(mine) == set(theirs)
        for k in mine:
            assert mine[k].dtype == theirs[k].dtype and np.array_equal(mine[k], theirs[k]), k
    # the second half did train: the resumed run moved away from its half-way checkpoint
    assert not np.array_equal(half.weights["tok_emb.weight"], b.weights["tok_emb.weight"])
    assert not np.array_equal(half.optimizer["exp_avg.tok_emb.weight"], b.optimizer["exp_avg.tok_emb.weight"])
    assert a.state["numpy_rng"] == b.state["numpy_rng"] and a.state["best_val_loss"] == b.state["best_val_loss"]
    assert (straight / "samples.txt").read_text() == (split / "samples.txt").read_text()
    # every training-loss row, each from the same steps' losses, and the final evaluation
    train_rows = [r for r in metrics_rows(split) if "train_loss" in r]
    assert [r["step"] for r in train_rows] == list(range(2, N + 1, 2))
    assert train_rows == [r for r in metrics_rows(straight) if "train_loss" in r]
    assert metrics_rows(split)[-1] == metrics_rows(straight)[-1] and "val_loss" in metrics_rows(split)[-1]


def test_stop_and_resume_writes_the_straight_runs_metrics(straight_and_split):
    straight, split, _ = straight_and_split
    assert metrics_rows(split) == metrics_rows(straight)
    assert [r["step"] for r in metrics_rows(split) if "val_loss" in r] == [N // 2, N]


@pytest.mark.parametrize("flags,message", [
    (["--pos", "alibi"], "numpy engine does not support --pos alibi; use --engine torch"),
    (["--score", "cosine"], "numpy engine does not support --score cosine; use --engine torch"),
    (["--dtype", "bfloat16"], "numpy engine does not support --dtype bfloat16"),
    (["--compile"], "numpy engine does not support --compile"),
    (["--model", "bigram"], "numpy engine does not support --model bigram"),
    (["--dropout", "0.2"], "trains without dropout"),
    (["--threads", "1"], "OPENBLAS_NUM_THREADS"),
    (["--n-embd", "30", "--n-head", "4"], "not divisible"),
    (["--lr", "0"], "--lr: expected a number > 0, got '0'"),
    (["--text", "/nonexistent.txt"], "does not exist"),
])
def test_bad_train_flags_are_one_line_errors(flags, message, tmp_path, capsys):
    assert main(["gpt", "train", "--engine", "numpy", "--out", str(tmp_path / "r"), *flags]) == 2
    assert message in error_line(capsys)
    assert not (tmp_path / "r").exists()  # refused before anything was written


def test_torchrun_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["gpt", "train", "--engine", "numpy", "--out", str(tmp_path / "r")]) == 2
    assert "no DDP" in error_line(capsys) and not (tmp_path / "r").exists()


def test_bad_sample_input_is_a_one_line_error_and_keeps_the_run(run, tmp_path, capsys):
    base = ["gpt", "sample", "--engine", "numpy", "--model", str(run)]
    assert main(base + ["--prompt", "caf\u00e9 \u20ac"]) == 2
    assert "vocabulary lacks" in error_line(capsys)
    assert main(base + ["--top-p", "1.5"]) == 2
    assert "--top-p" in error_line(capsys)
    assert main(base + ["--temperature", "-1"]) == 2
    assert "temperature" in error_line(capsys)
    assert main(["gpt", "sample", "--engine", "numpy", "--model", str(tmp_path / "none")]) == 2
    assert "does not exist" in error_line(capsys)
    assert load_checkpoint(run).state["step"] == 8  # nothing above touched the run


def test_a_corrupt_checkpoint_is_a_one_line_error(run, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    weights = latest_checkpoint_dir(copy) / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])  # truncated
    assert main(["gpt", "sample", "--engine", "numpy", "--model", str(copy)]) == 2
    assert "corrupt or truncated" in error_line(capsys)


def test_gpt2_tokenizer_run_streams_utf8(tmp_path, capsys):
    out, text = tmp_path / "g2", tmp_path / "text.txt"
    text.write_text("Sing, goddess, the anger of Peleus' son Achilles and its devastation. " * 30, encoding="utf-8")
    flags = ["--text", str(text), "--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "8", "--batch-size", "2",
             "--max-iters", "2", "--eval-interval", "2", "--eval-batches", "1", "--sample-tokens", "5", "--quiet"]
    assert main(["gpt", "train", "--engine", "numpy", "--tokenizer", "gpt2", "--out", str(out), *flags]) == 0
    assert load_checkpoint(out).weights["tok_emb.weight"].shape == (50257, 16)
    capsys.readouterr()
    assert main(["gpt", "sample", "--engine", "numpy", "--model", str(out), "--prompt", "Héllo wörld",
                 "--max-new-tokens", "12", "--seed", "0"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Héllo wörld") and len(text) > len("Héllo wörld")


def test_a_new_run_never_silently_replaces_a_trained_one(run, capsys):
    before = {p.name: p.read_bytes() for p in latest_checkpoint_dir(run).iterdir()}
    assert main(["gpt", "train", "--engine", "numpy", "--out", str(run), *TINY]) == 2
    assert "--overwrite" in error_line(capsys)
    assert {p.name: p.read_bytes() for p in latest_checkpoint_dir(run).iterdir()} == before
