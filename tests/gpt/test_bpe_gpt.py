"""`gpt train --tokenizer bpe --vocab-size N`: chapter 0's BPE, trained on the training split
only, then the GPT on its tokens; every tool that reads a run reads its tokenizer back."""

import json
import math
import sys
from pathlib import Path

import pytest

from nn2gpt.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reliability"))
from reliability_helpers import forge  # noqa: E402

TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16", "--batch-size", "4",
        "--eval-batches", "2", "--max-iters", "4", "--eval-interval", "2", "--sample-tokens", "0", "--quiet"]
SECRET = "zqxj"  # a string only the validation part of the text holds


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    body = "To be, or not to be, that is the question.\nWhether tis nobler in the mind to suffer.\n" * 60
    tail = f"The {SECRET}{SECRET} arrows of outrageous {SECRET}.\n" * 8
    path = tmp_path_factory.mktemp("text") / "t.txt"
    path.write_text(body + tail, encoding="utf-8")
    assert len(tail) < 0.1 * len(body + tail)  # all of it in the validation split
    return path


@pytest.fixture(scope="module")
def run(text, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "bpe"
    assert main(["gpt", "train", "--tokenizer", "bpe", "--vocab-size", "300", "--text", str(text), "--out", str(out),
                 "--threads", "1", *TINY]) == 0
    return out


def _tokenizer(run):
    from nn2gpt.checkpoint import load_checkpoint
    from nn2gpt.gpt.tokenizer import tokenizer_from_json

    return tokenizer_from_json(load_checkpoint(run).tokenizer)


def test_the_merges_are_learnt_from_the_training_split_alone(run, text):
    from nn2gpt.gpt.batches import training_text
    from nn2gpt.tokens.train import train

    tok = _tokenizer(run)
    whole = text.read_text(encoding="utf-8")
    assert tok.merges == train(training_text(whole), 300)[0].merges
    learnt = {bytes(tok.vocab[i]) for i in range(256, tok.vocab_size)}
    assert not any(b"zq" in piece or b"qx" in piece for piece in learnt)  # nothing of the validation text
    with_val = train(whole, 1000)[0]  # every pair merged, those of the validation text too
    assert any(b"zq" in with_val.vocab[i] for i in range(256, with_val.vocab_size))  # it would have been learnt


def test_its_model_has_the_tokenizers_vocabulary_and_bits_per_byte_count_bytes(run, text):
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["vocab_size"] == _tokenizer(run).vocab_size == 300
    assert config["train"]["tokenizer"] == "bpe"
    from nn2gpt.gpt.batches import training_text

    whole = text.read_text(encoding="utf-8")
    val_text = whole[len(training_text(whole)):]
    tokens_per_byte = len(_tokenizer(run).encode(val_text)) / len(val_text.encode("utf-8"))
    row = [json.loads(r) for r in (run / "metrics.jsonl").read_text().splitlines() if "val_loss" in r][-1]
    assert row["val_bpb"] == pytest.approx(row["val_loss"] * tokens_per_byte / math.log(2), rel=1e-4)


@pytest.mark.parametrize("engine", ["torch", "numpy"])
def test_sample_resume_and_the_numpy_engine_read_it(run, engine, tmp_path, capsys):
    import shutil

    assert main(["gpt", "sample", "--model", str(run), "--engine", engine, "--prompt", "To be", "--max-new-tokens",
                 "8", "--seed", "1"]) == 0
    assert capsys.readouterr().out.startswith("To be")
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    if engine == "torch":
        assert main(["gpt", "train", "--out", str(copy), "--resume", "--max-iters", "6", "--quiet",
                     "--threads", "1"]) == 0
        assert _tokenizer(copy).merges == _tokenizer(run).merges


def test_the_numpy_engine_trains_one_too(text, tmp_path):
    out = tmp_path / "np"
    assert main(["gpt", "train", "--engine", "numpy", "--tokenizer", "bpe", "--vocab-size", "280", "--text", str(text),
                 "--out", str(out), *TINY]) == 0
    assert _tokenizer(out).vocab_size == 280


def test_vocab_size_without_bpe_is_one_line(capsys, tmp_path):
    assert main(["gpt", "train", "--vocab-size", "300", "--out", str(tmp_path / "x"), *TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--tokenizer bpe" in err and "drop --vocab-size" in err
    assert not (tmp_path / "x").exists()


def test_a_forged_bpe_tokenizer_in_the_checkpoint_is_one_line(run, tmp_path, capsys):
    import shutil

    bad = tmp_path / "forged"
    shutil.copytree(run, bad)
    forge(bad, meta=lambda m: m["tokenizer"]["merges"].__setitem__(0, [0, 400]))  # a token made later
    assert main(["gpt", "sample", "--model", str(bad), "--max-new-tokens", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not made before it" in err, err
