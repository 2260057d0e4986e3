"""Checkpoints: safetensors round trip, atomic saves, clear errors for damaged files."""

import json

import numpy as np
import pytest

from nn2gpt import checkpoint as ck
from nn2gpt.checkpoint import load as loading, save as saving
from nn2gpt.errors import UserError
from nn2gpt.translate.average import average_checkpoints

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


def test_keep_leaves_the_newest_checkpoints_and_each_loads_by_its_directory(tmp_path):
    for step in range(1, 6):
        ck.save_checkpoint(tmp_path, _weights(step), CONFIG, TOK, state={"step": step}, keep=3)
    dirs = sorted(p.name for p in tmp_path.iterdir() if p.is_dir())
    assert dirs == ["ckpt-00000003", "ckpt-00000004", "ckpt-00000005"]
    assert ck.load_checkpoint(tmp_path).state["step"] == 5  # `latest` still rules the run directory
    got = ck.load_checkpoint(tmp_path / "ckpt-00000004")
    assert got.state["step"] == 4
    np.testing.assert_array_equal(got.weights["ln_f.bias"], _weights(4)["ln_f.bias"])
    ck.save_checkpoint(tmp_path, _weights(6), CONFIG, TOK, state={"step": 6})  # keep=1 again: only the new one
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["ckpt-00000006"]


def test_a_leftover_checkpoint_from_a_replaced_run_goes_even_when_its_step_is_higher(tmp_path):
    ck.save_checkpoint(tmp_path, _weights(0), CONFIG, TOK, state={"step": 900})  # the run --overwrite replaces
    ck.save_checkpoint(tmp_path, _weights(1), CONFIG, TOK, state={"step": 10}, keep=5)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["ckpt-00000010"]


def test_a_fresh_run_with_keep_1_first_drops_everything_of_a_replaced_run(tmp_path):
    for step in (4, 8, 12):  # the run that --overwrite replaces
        ck.save_checkpoint(tmp_path, _weights(step), CONFIG, TOK, state={"step": step}, keep=3)
    ck.save_checkpoint(tmp_path, _weights(0), CONFIG, TOK, state={"step": 6}, keep=1)  # the new run's first save
    ck.save_checkpoint(tmp_path, _weights(1), CONFIG, TOK, state={"step": 9}, keep=3)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["ckpt-00000006", "ckpt-00000009"]


def test_saving_one_step_again_and_again_orders_by_step_then_repeat(tmp_path):
    for i in range(12):  # ckpt-00000500, then -1, -2, ..., -11: "-10" must count after "-9"
        ck.save_checkpoint(tmp_path, _weights(i), CONFIG, TOK, state={"step": 500}, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["ckpt-00000500-10", "ckpt-00000500-11"]
    np.testing.assert_array_equal(ck.load_checkpoint(tmp_path).weights["ln_f.bias"], _weights(11)["ln_f.bias"])
    ck.save_checkpoint(tmp_path, _weights(20), CONFIG, TOK, state={"step": 500})  # keep=1: the newest stays
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == ["ckpt-00000500-12"]


def test_average_checkpoints_is_the_element_wise_mean(tmp_path):
    runs = [tmp_path / f"r{i}" for i in range(3)]
    for i, run in enumerate(runs):
        ck.save_checkpoint(run, _weights(i), CONFIG, TOK, optimizer={"m": np.ones(2, np.float32)},
                           state={"step": 10 * (i + 1)})
    avg = average_checkpoints(runs)
    for name in _weights(0):
        mean = sum(_weights(i)[name].astype(np.float64) for i in range(3)) / 3  # the naive reference
        np.testing.assert_allclose(avg.weights[name], mean, rtol=1e-6, atol=1e-7)
        assert avg.weights[name].dtype == np.float32
    assert avg.optimizer is None and avg.config == CONFIG and avg.tokenizer == TOK
    assert avg.state["step"] == 30 and [a["step"] for a in avg.state["averaged"]] == [10, 20, 30]


def test_average_checkpoints_refuses_other_models_and_a_single_one(tmp_path):
    ck.save_checkpoint(tmp_path / "a", _weights(0), CONFIG, TOK, state={"step": 1})
    ck.save_checkpoint(tmp_path / "b", _weights(1), CONFIG, {"type": "char", "chars": "abcdf"}, state={"step": 1})
    wide = {"tok_emb.weight": np.zeros((5, 8), np.float32), "ln_f.bias": np.zeros(8, np.float32)}
    ck.save_checkpoint(tmp_path / "c", wide, CONFIG, TOK, state={"step": 1})
    with pytest.raises(UserError, match="same model"):
        average_checkpoints([tmp_path / "a", tmp_path / "b"])
    with pytest.raises(UserError, match="other weights"):
        average_checkpoints([tmp_path / "a", tmp_path / "c"])
    with pytest.raises(UserError, match="at least two"):
        average_checkpoints([tmp_path / "a"])
    with pytest.raises(UserError, match="does not exist"):
        average_checkpoints([tmp_path / "a", tmp_path / "nowhere"])
    with pytest.raises(UserError, match="same checkpoint"):  # a run and its own latest checkpoint
        average_checkpoints([tmp_path / "a", ck.latest_checkpoint_dir(tmp_path / "a")])


@pytest.mark.parametrize("stage", ["arrays", "meta", "rename", "pointer"])
def test_crash_mid_save_keeps_previous_checkpoint(tmp_path, monkeypatch, stage):
    ck.save_checkpoint(tmp_path, _weights(0), CONFIG, TOK, state={"step": 1})

    def boom(*a, **k):
        raise KeyboardInterrupt("killed mid-save")

    target = {"arrays": (saving, "_save_arrays"), "meta": (json, "dump"),
              "rename": (saving.os, "rename"), "pointer": (saving, "atomic_write_text")}[stage]
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


def test_leftovers_of_a_killed_save_go_at_the_next_save(tmp_path):
    ck.save_checkpoint(tmp_path, _weights(0), CONFIG, TOK, state={"step": 1})
    for name in (".latest.abc123.tmp", ".config.json.xyz.tmp"):  # what a kill inside atomic_write leaves
        (tmp_path / name).write_text("half")
    (tmp_path / ".ckpt-tmp-dead").mkdir()
    ck.save_checkpoint(tmp_path, _weights(1), CONFIG, TOK, state={"step": 2})
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_failed_switch_leaves_no_orphan_checkpoint(tmp_path, monkeypatch):
    ck.save_checkpoint(tmp_path, _weights(0), CONFIG, TOK, state={"step": 1})

    def full(path, text):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(saving, "atomic_write_text", full)
    with pytest.raises(UserError, match="ckpt-00000001, is intact"):
        ck.save_checkpoint(tmp_path, _weights(1), CONFIG, TOK, state={"step": 2})
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["ckpt-00000001"]


def test_a_checkpoint_a_reader_holds_is_deleted_only_at_a_later_save(tmp_path, monkeypatch):
    from nn2gpt.dirlock import reading

    monkeypatch.setattr(saving, "READER_WAIT", 0.05)
    ck.save_checkpoint(tmp_path, _weights(0), CONFIG, TOK, state={"step": 1})
    with reading(tmp_path):  # a reader between reading `latest` and opening its files
        ck.save_checkpoint(tmp_path, _weights(1), CONFIG, TOK, state={"step": 2})
        assert (tmp_path / "ckpt-00000001" / ck.WEIGHTS).is_file()
    assert ck.load_checkpoint(tmp_path).state == {"step": 2}
    ck.save_checkpoint(tmp_path, _weights(2), CONFIG, TOK, state={"step": 3})
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["ckpt-00000003"]


def test_a_reader_whose_checkpoint_vanished_loads_the_next_one(tmp_path, monkeypatch):
    """Where directories cannot be locked, a checkpoint may go while a reader opens it: it reads `latest` again."""
    import shutil

    monkeypatch.setattr(saving, "READER_WAIT", 0.05)
    ck.save_checkpoint(tmp_path, _weights(0), CONFIG, TOK, state={"step": 1})
    real = loading._read_meta

    def meanwhile_a_save(ckpt):  # the trainer saves step 2 and deletes step 1 just after `latest` was read
        meta = real(ckpt)
        if ckpt.name == "ckpt-00000001":
            ck.save_checkpoint(tmp_path, _weights(1), CONFIG, TOK, state={"step": 2})
            shutil.rmtree(ckpt, ignore_errors=True)
        return meta

    monkeypatch.setattr(loading, "_read_meta", meanwhile_a_save)
    assert ck.load_checkpoint(tmp_path).state == {"step": 2}


def test_a_pipe_given_as_a_run_is_refused_without_waiting_for_a_writer(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe")  # opening it for reading would block until someone writes to it
    with pytest.raises(UserError, match="not a run directory"):
        ck.load_checkpoint(tmp_path / "pipe")
