"""The `nn2gpt translate` command end to end on a tiny model, and every bad input it must refuse."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nn2gpt.cli import main

TINY = ["--d-model", "32", "--layers", "1", "--heads", "2", "--ff", "64", "--vocab-size", "300",
        "--max-tokens", "600", "--limit", "200", "--warmup", "10", "--quiet", "--device", "cpu"]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("translate") / "run"
    assert main(["translate", "train", "--pair", "es-en", "--out", str(out), "--epochs", "1", *TINY]) == 0
    return out


def test_train_writes_a_complete_run_directory(run):
    for name in ("config.json", "tokenizer.json", "metrics.jsonl", "loss.png", "latest"):
        assert (run / name).is_file(), name
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["d_model"] == 32 and config["model"]["norm"] == "pre"
    assert config["train"]["pair"] == "es-en" and config["train"]["label_smoothing"] == 0.1
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("val_loss" in r for r in rows)


def test_resume_continues_from_the_saved_step(run, capsys):
    before = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert main(["translate", "train", "--pair", "es-en", "--out", str(run), "--resume", "--epochs", "2",
                 "--max-seconds", "1", "--limit", "200", "--quiet"]) == 0
    after = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert after["step"] > before["step"] and after["epoch"] >= before["epoch"]


def test_translate_eval_and_attention(run, tmp_path, capsys):
    assert main(["translate", "La pizza salió del horno y sabía bien.", "--model", str(run), "--beam", "2"]) == 0
    assert capsys.readouterr().out.strip() != ""
    assert main(["translate", "--", "train", "--model", str(run), "--beam", "1"]) == 0  # a sentence, not a command
    assert main(["translate", "eval", "--model", str(run), "--limit", "12", "--beam", "2"]) == 0
    out = capsys.readouterr().out
    assert "signature: nrefs:1|case:mixed|eff:no|tok:13a" in out and "perplexity" in out
    assert main(["translate", "attention", "La pizza salió del horno.", "--model", str(run),
                 "--out", str(tmp_path / "att"), "--beam", "1"]) == 0
    pngs = sorted(p.name for p in (tmp_path / "att").glob("*.png"))
    assert pngs == ["cross_layer0.png", "cross_mean.png", "encoder_layer0.png"]
    assert all((tmp_path / "att" / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


def _one_line_error(argv, capsys, *needles):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("nn2gpt translate: error:"), err
    for needle in needles:
        assert needle in err, err


def test_bad_inputs_give_one_line_errors(run, tmp_path, capsys):
    _one_line_error(["translate", "  ", "--model", str(run)], capsys, "empty")
    _one_line_error(["translate", "train", "--pair", "fr-en", "--out", str(tmp_path / "x")], capsys, "de-en")
    _one_line_error(["translate", "Hola.", "--model", str(tmp_path / "nothing")], capsys, "does not exist")
    _one_line_error(["translate", "hola " * 300, "--model", str(run)], capsys, "maximum")
    _one_line_error(["translate", "La pizza 这 salió.", "--model", str(run)], capsys, "never saw", "'这'")
    # typographic quotes and dots the vocabulary lacks are read as their plain forms, not refused
    from nn2gpt.translate.evaluate import load_run
    from nn2gpt.translate.lines import prepare_sentence

    model, tok, _ = load_run(run)
    assert tok.unknown_characters("\u2018\u2019\u2026") == ["\u2018", "\u2019", "\u2026"]
    assert tok.unknown_characters("'.") == []  # ...while their plain forms are known
    assert prepare_sentence(model, tok, " \u2018Hola\u2019\u2026 ") == "'Hola'..."
    assert main(["translate", "\u2018Hola\u2019, dijo\u2026", "--model", str(run), "--beam", "1"]) == 0
    _one_line_error(["translate", "attention", "Hola 这.", "--model", str(run), "--out", str(tmp_path / "a")],
                    capsys, "'这'")
    _one_line_error(["translate", "train", "--pair", "es-en", "--out", str(run), "--limit", "5"], capsys, "--resume")
    _one_line_error(["translate", "Hola.", "--model", str(tmp_path)], capsys, "no checkpoint")


def test_corrupt_model_directory_is_refused_and_left_alone(run, tmp_path, capsys):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(run, broken)
    weights = next(broken.glob("ckpt-*/weights.safetensors"))
    weights.write_bytes(weights.read_bytes()[:100])  # truncated
    _one_line_error(["translate", "Hola.", "--model", str(broken)], capsys, "corrupt")
    assert len(weights.read_bytes()) == 100  # nothing was "repaired" or deleted


def test_help_is_fast_and_does_not_import_torch():
    code = ("import sys; from nn2gpt.translate.cli import main; main(['--help']); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "attention" in r.stdout and "SENTENCE" in r.stdout


def test_resume_is_exact(tmp_path):
    """Two epochs in one go == one epoch, stop, --resume for the second (dropout on: RNG state restored)."""
    from nn2gpt.checkpoint import load_checkpoint

    flags = ["--pair", "es-en", *TINY, "--limit", "60", "--dropout", "0.2"]
    assert main(["translate", "train", "--out", str(tmp_path / "a"), "--epochs", "2", *flags]) == 0
    assert main(["translate", "train", "--out", str(tmp_path / "b"), "--epochs", "1", *flags]) == 0
    assert main(["translate", "train", "--out", str(tmp_path / "b"), "--epochs", "2", "--resume", *flags]) == 0
    a, b = load_checkpoint(tmp_path / "a"), load_checkpoint(tmp_path / "b")
    assert a.state["step"] == b.state["step"] > 0
    for name, w in a.weights.items():
        assert (w == b.weights[name]).all(), name


def test_ctrl_c_finishes_the_step_saves_and_exits_130(tmp_path):
    """SIGINT mid-training: the step in flight completes, a checkpoint is written, exit status 130,
    and --resume continues from the saved step."""
    import signal
    import time

    from nn2gpt.checkpoint import load_checkpoint

    out = tmp_path / "run"
    p = subprocess.Popen([sys.executable, "-m", "nn2gpt", "translate", "train", "--pair", "es-en", "--out", str(out),
                          "--epochs", "1000", *TINY], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics, deadline = out / "metrics.jsonl", time.time() + 120
    while p.poll() is None and time.time() < deadline and '"train_loss"' not in (
            metrics.read_text() if metrics.exists() else ""):
        time.sleep(0.2)
    assert p.poll() is None, p.communicate()[1]
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=120)
    assert p.returncode == 130, stderr
    assert "interrupted by Ctrl-C: saved step" in stdout and "Traceback" not in stderr
    saved = load_checkpoint(out).state
    assert saved["step"] >= 20
    assert main(["translate", "train", "--pair", "es-en", "--out", str(out), "--resume", "--epochs", "1000",
                 "--max-seconds", "0.001", *TINY]) == 0  # the time limit ends it after one more step
    assert load_checkpoint(out).state["step"] > saved["step"]


def test_nan_loss_stops_with_one_line_and_keeps_the_last_good_checkpoint(tmp_path, capsys, monkeypatch):
    import numpy as np

    from nn2gpt.checkpoint import load_checkpoint
    from nn2gpt.translate import train as train_mod

    out = tmp_path / "run"
    flags = ["--pair", "es-en", "--out", str(out), *TINY, "--limit", "60"]
    assert main(["translate", "train", "--epochs", "1", *flags]) == 0
    before = load_checkpoint(out)
    capsys.readouterr()
    monkeypatch.setattr(train_mod, "noam_lr", lambda *a: float("nan"))  # the first step poisons the weights
    # the next forward pass sees a NaN loss; or, with a time limit hit at once, the save must refuse
    for limit in ([], ["--max-seconds", "0.001"]):
        assert main(["translate", "train", "--epochs", "3", "--resume", *flags, *limit]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "diverged" in err and "is kept" in err and "Traceback" not in err
        after = load_checkpoint(out)
        assert after.state["step"] == before.state["step"]
        assert all(np.isfinite(w).all() for w in after.weights.values())


def test_overwrite_replaces_a_trained_run_only_when_asked(tmp_path, capsys):
    from nn2gpt.checkpoint import load_checkpoint

    out = tmp_path / "run"
    flags = ["translate", "train", "--pair", "es-en", "--out", str(out), *TINY, "--limit", "60"]
    assert main([*flags, "--epochs", "2"]) == 0
    two = load_checkpoint(out).state["step"]
    _one_line_error([*flags, "--epochs", "1"], capsys, "--resume", "--overwrite")
    assert load_checkpoint(out).state["step"] == two                  # refused: the trained run is untouched
    assert main([*flags, "--epochs", "1", "--overwrite"]) == 0
    assert 0 < load_checkpoint(out).state["step"] < two               # a fresh one-epoch run replaced it


def test_epoch_ends_save_at_most_once_a_minute(tmp_path, monkeypatch):
    """Seconds-long (GPU) epochs must not each write a checkpoint; the last epoch always saves."""
    import nn2gpt.checkpoint
    import nn2gpt.translate.train as train_module

    real_save, saved_steps = nn2gpt.checkpoint.save_checkpoint, []

    def counting_save(run_dir, weights, config, tokenizer, optimizer=None, state=None, keep=1, files=None, **kw):
        saved_steps.append(state["step"])
        return real_save(run_dir, weights, config, tokenizer, optimizer, state, keep, files, **kw)

    monkeypatch.setattr(nn2gpt.checkpoint, "save_checkpoint", counting_save)
    flags = ["translate", "train", "--pair", "es-en", *TINY, "--limit", "40", "--epochs", "3"]
    monkeypatch.setattr(train_module, "EPOCH_SAVE_GAP_S", 10**9)  # epochs far shorter than the gap
    assert main([*flags, "--out", str(tmp_path / "a")]) == 0
    assert len(saved_steps) == 1  # only the final save
    saved_steps.clear()
    assert main([*flags, "--out", str(tmp_path / "k"), "--keep", "3"]) == 0  # --keep: every epoch end counts
    assert len(saved_steps) == 3 and len(list((tmp_path / "k").glob("ckpt-*"))) == 3
    monkeypatch.setattr(train_module, "EPOCH_SAVE_GAP_S", 0)
    saved_steps.clear()
    assert main([*flags, "--out", str(tmp_path / "b")]) == 0
    assert len(saved_steps) == 3 and len(set(saved_steps)) == 3  # one per epoch, each at a later step


def test_device_cuda_without_a_gpu_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    _one_line_error(["translate", "train", "--pair", "es-en", "--out", str(tmp_path / "r"), *TINY, "--device", "cuda"],
                    capsys, "--device cpu")
    assert not (tmp_path / "r").exists()  # refused before anything was written
    _one_line_error(["translate", "train", "--pair", "es-en", "--out", str(tmp_path / "r"), *TINY, "--device", "tpu"],
                    capsys, "--device")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # one GPU, and cuda:3 asked for
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    _one_line_error(["translate", "train", "--pair", "es-en", "--out", str(tmp_path / "r"), *TINY, "--device", "cuda:3"],
                    capsys, "cuda:3", "1 GPU")


def test_init_from_starts_a_new_run_from_another_runs_weights(run, tmp_path, capsys):
    """Fine-tuning: same tokenizer and shape as the source run, and its weights as the start."""
    from nn2gpt.checkpoint import load_checkpoint

    source = load_checkpoint(run)
    out = tmp_path / "ft"
    # a learning rate so small that one step leaves the weights where they started
    assert main(["translate", "train", "--pair", "es-en", "--out", str(out), "--init-from", str(run),
                 "--epochs", "1", "--limit", "40", "--lr-factor", "1e-12", "--coordinate", "0", "--quiet"]) == 0
    tuned = load_checkpoint(out)
    assert tuned.tokenizer == source.tokenizer and tuned.config["model"] == source.config["model"]
    assert tuned.config["train"]["init_from"] == {"run": str(run), "step": source.state["step"]}
    assert tuned.state["step"] > 0
    for name, w in source.weights.items():
        assert abs(tuned.weights[name] - w).max() < 1e-6, name
    # bad input: both flags, a missing run, a run of another pair
    _one_line_error(["translate", "train", "--pair", "es-en", "--out", str(out), "--resume", "--init-from", str(run)],
                    capsys, "--init-from")
    _one_line_error(["translate", "train", "--pair", "es-en", "--out", str(tmp_path / "x"),
                     "--init-from", str(tmp_path / "nowhere")], capsys, "nowhere", "no trained model")
    _one_line_error(["translate", "train", "--pair", "es-en", "--out", str(run), "--overwrite", "--init-from", str(run)],
                    capsys, "is --init-from itself")
    assert load_checkpoint(run).state == source.state  # the source run is untouched
    _one_line_error(["translate", "train", "--pair", "de-en", "--out", str(tmp_path / "y"), "--init-from", str(run)],
                    capsys, "de-en")
    # argparse's own refusal, also one line and exit status 2
    assert main(["translate", "train", "--pair", "es-en", "--out", str(tmp_path / "z"), "--coordinate", "-3"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--coordinate" in err, err


def test_coordinate_adds_joined_pairs_and_a_resumed_run_keeps_them(tmp_path, capsys):
    """--coordinate N on the real training split; --resume rebuilds the same set and refuses another N."""
    out = tmp_path / "coord"
    # the time limit stops each call after its first step: the set of pairs is the point, not the training
    flags = ["translate", "train", "--pair", "es-en", "--out", str(out), *TINY, "--limit", "30000", "--max-seconds", "0.001"]
    assert main([*flags, "--coordinate", "50"]) == 0
    printed = capsys.readouterr().out
    assert "coordination augmentation: 50 joined pairs" in printed and "30,050 training pairs" in printed
    assert json.loads((out / "config.json").read_text())["train"]["coordinate"] == 50
    assert main([*flags, "--resume"]) == 0
    assert "30,050 training pairs" in capsys.readouterr().out
    _one_line_error([*flags, "--resume", "--coordinate", "10"], capsys, "--coordinate 50")


def test_keep_and_average_make_a_model_every_command_reads(tmp_path, capsys):
    """--keep 2 leaves one checkpoint per epoch end; `average` writes their mean as a run."""
    from nn2gpt.checkpoint import load_checkpoint

    src = tmp_path / "run"
    assert main(["translate", "train", "--pair", "es-en", "--out", str(src), "--epochs", "2", "--keep", "2", *TINY]) == 0
    ckpts = sorted(src.glob("ckpt-*"))
    assert len(ckpts) == 2
    a, b = (load_checkpoint(c) for c in ckpts)
    assert a.state["step"] < b.state["step"] and load_checkpoint(src).state == b.state
    avg = tmp_path / "avg"
    assert main(["translate", "average", *map(str, ckpts), "--out", str(avg)]) == 0
    got = load_checkpoint(avg)
    got_dir = next(avg.glob("ckpt-*")).name
    for name, w in got.weights.items():
        assert abs(w - (a.weights[name] + b.weights[name]) / 2).max() < 1e-6, name
    assert json.loads((avg / "config.json").read_text())["averaged"][1]["step"] == b.state["step"]
    capsys.readouterr()
    assert main(["translate", "La pizza salió del horno.", "--model", str(avg), "--beam", "2"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1  # 8 steps of training: the words may be few
    assert main(["translate", "eval", "--model", str(avg), "--limit", "8", "--beam", "1"]) == 0
    # bad input: resuming an average, writing over an input or a model, one checkpoint, another model
    _one_line_error(["translate", "train", "--pair", "es-en", "--out", str(avg), "--resume", "--quiet"],
                    capsys, "no optimizer state", "--init-from")
    _one_line_error(["translate", "average", *map(str, ckpts), "--out", str(src)], capsys, "holds the checkpoint")
    _one_line_error(["translate", "average", *map(str, ckpts), "--out", str(ckpts[0] / "avg")], capsys, "lies inside the checkpoint")
    _one_line_error(["translate", "average", str(src), str(ckpts[1]), "--out", str(tmp_path / "twice")],
                    capsys, "same checkpoint")
    _one_line_error(["translate", "average", *map(str, ckpts), "--out", str(avg)], capsys, "--overwrite")
    _one_line_error(["translate", "average", str(ckpts[0]), "--out", str(tmp_path / "one")], capsys, "at least two")
    other = tmp_path / "other"
    assert main(["translate", "train", "--pair", "es-en", "--out", str(other), "--epochs", "1", *TINY,
                 "--d-model", "16"]) == 0
    _one_line_error(["translate", "average", str(src), str(other), "--out", str(tmp_path / "mix")], capsys, "same model")
    assert main(["translate", "average", *map(str, ckpts), "--out", str(other), "--overwrite"]) == 0
    assert not (other / "metrics.jsonl").exists() and [d.name for d in other.glob("ckpt-*")] == [got_dir]
    assert load_checkpoint(other).weights.keys() == got.weights.keys()
