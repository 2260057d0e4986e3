"""Checkpoints: safetensors round trip, atomic saves, clear errors for damaged files."""

import json

import numpy as np
import pytest

from nn2gpt import checkpoint as ck
from nn2gpt.errors import UserError

CONFIG = {"model": {"model": "gpt", "vocab_size": 5}, "train": {"lr": 1e-3}, "engine": "torch"}
TOK = {"type": "char", "chars": "abcde"}


def _weights(seed):
    rng = np.random.default_rng(seed)
    return {"tok_emb.weight": rng.standard_normal((5, 4)).astype(np.float32),
            "ln_f.bias": rng.standard_normal(4).astype(np.float32)}


def test_round_trip_is_exact(tmp_path):
    w, opt = _weights(0), {"0.exp_avg": np.arange(6, dtype=np.float32).reshape(2, 3)}
    state = {"step": 7, "rng": {"numpy": {"state": 2**100 + 3}}, "losses": [1.5, 1.25]}
    ck.save_checkpoint(tmp_path, w, CONFIG, TOK, optimizer=opt, state=state)
    got = ck.load_checkpoint(tmp_path, with_optimizer=True)
    assert got.config == CONFIG and got.tokenizer == TOK and got.state == state
    for k in w:
        np.testing.assert_array_equal(got.weights[k], w[k])
        assert got.weights[k].dtype == np.float32
    np.testing.assert_array_equal(got.optimizer["0.exp_avg"], opt["0.exp_avg"])
    assert ck.load_checkpoint(tmp_path).optimizer is None  # not loaded unless asked


def test_new_save_replaces_old_and_keeps_one(tmp_path):
    ck.save_checkpoint(tmp_path, _weights(0), CONFIG, TOK, state={"step": 1})
    ck.save_checkpoint(tmp_path, _weights(1), CONFIG, TOK, state={"step": 2})
    ck.save_checkpoint(tmp_path, _weights(2), CONFIG, TOK, state={"step": 2})  # same step twice
    np.testing.assert_array_equal(ck.load_checkpoint(tmp_path).weights["ln_f.bias"], _weights(2)["ln_f.bias"])
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 1


@pytest.mark.parametrize("stage", ["arrays", "meta", "rename", "pointer"])
def test_crash_mid_save_keeps_previous_checkpoint(tmp_path, monkeypatch, stage):
    ck.save_checkpoint(tmp_path, _weights(0), CONFIG, TOK, state={"step": 1})

    def boom(*a, **k):
        raise KeyboardInterrupt("killed mid-save")

    target = {"arrays": (ck, "_save_arrays"), "meta": (json, "dump"),
              "rename": (ck.os, "rename"), "pointer": (ck, "atomic_write_text")}[stage]
    monkeypatch.setattr(*target, boom)
    with pytest.raises(KeyboardInterrupt):
        ck.save_checkpoint(tmp_path, _weights(1), CONFIG, TOK, state={"step": 2})
    monkeypatch.undo()
    got = ck.load_checkpoint(tmp_path)
    np.testing.assert_array_equal(got.weights["tok_emb.weight"], _weights(0)["tok_emb.weight"])
    assert got.state == {"step": 1}


def test_truncated_or_corrupt_files_raise_user_error(tmp_path):
    d = ck.save_checkpoint(tmp_path, _weights(0), CONFIG, TOK, state={"step": 1})
    w = d / ck.WEIGHTS
    good = w.read_bytes()
    w.write_bytes(good[: len(good) // 2])
    with pytest.raises(UserError, match="corrupt or truncated"):
        ck.load_checkpoint(tmp_path)
    w.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))  # one flipped bit
    with pytest.raises(UserError, match="corrupt"):
        ck.load_checkpoint(tmp_path)
    w.write_bytes(good)
    (d / ck.META).write_text("{not json")
    with pytest.raises(UserError, match="corrupt"):
        ck.load_checkpoint(tmp_path)


def test_missing_run_or_checkpoint_raise_user_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        ck.load_checkpoint(tmp_path / "nope")
    with pytest.raises(UserError, match="no checkpoint"):
        ck.load_checkpoint(tmp_path)
