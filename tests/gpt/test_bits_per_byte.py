"""Bits per byte: a validation loss per token put on a scale that does not depend on the
vocabulary (loss x tokens / bytes / ln 2), reported by both engines in every val row."""

import json
import math

import pytest

from nn2gpt.cli import main
from nn2gpt.gpt.tokenizer import CharTokenizer, GPT2Tokenizer, bits_per_byte, bytes_per_token

TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16", "--batch-size", "4",
        "--eval-batches", "2", "--max-iters", "4", "--eval-interval", "2", "--sample-tokens", "0", "--quiet"]


def test_the_formula_against_counting_bits_by_hand():
    # 2 tokens of 3 bytes each, a loss of ln 8 nats per token = 3 bits per token = 1 bit per byte
    assert bits_per_byte(math.log(8), 3.0) == pytest.approx(1.0)
    assert bits_per_byte(math.log(2), 1.0) == pytest.approx(1.0)


def test_bytes_per_token_counts_utf8_bytes_not_characters():
    tok = CharTokenizer("añb")
    assert bytes_per_token(tok, tok.encode("aña")) == pytest.approx(4 / 3)  # ñ is two bytes


def test_gpt2_bytes_per_token_agree_with_each_tokens_own_bytes():
    text = "La pizza salió del horno y sabía bien. ROMEO: What light through yonder window breaks?"
    tok = GPT2Tokenizer()
    ids = tok.encode(text)
    by_token = sum(len(tok.decode_bytes([i])) for i in ids) / len(ids)
    assert bytes_per_token(tok, ids) == pytest.approx(by_token)
    assert bytes_per_token(tok, ids) == pytest.approx(len(text.encode("utf-8")) / len(ids))


@pytest.mark.parametrize("engine", ["torch", "numpy"])
def test_every_val_row_carries_bits_per_byte(engine, tmp_path, capsys):
    out = tmp_path / engine
    assert main(["gpt", "train", "--engine", engine, "--out", str(out), *TINY,
                 *(["--threads", "1"] if engine == "torch" else [])]) == 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    vals = [r for r in rows if "val_loss" in r]
    assert vals and all(r["val_bpb"] == pytest.approx(r["val_loss"] / math.log(2), abs=1e-4) for r in vals)  # ASCII
    assert f"{vals[-1]['val_bpb']:.4f} bits per byte" in capsys.readouterr().err
