"""The training loop: exact resume, deterministic validation, NaN handling, data parallelism."""

import json
import math
import os
import socket
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch

from nn2gpt.checkpoint import load_checkpoint
from nn2gpt.errors import UserError
from nn2gpt.gpt import train as train_mod
from nn2gpt.gpt.batches import encode_text, split, val_batches
from nn2gpt.gpt.train import TrainConfig, train
from nn2gpt.schedule import lr_at

# A model small enough that a dozen steps take well under a second.
TINY = dict(n_layer=1, n_head=2, n_embd=32, block_size=16, batch_size=8, eval_batches=3, warmup=2,
            lr=3e-3, progress=False, sample_tokens=0, device="cpu", threads=1)


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_resume_continues_exactly(tmp_path, data_dir):
    cfg = TrainConfig(**TINY, dropout=0.1, max_iters=8, eval_interval=3, data_dir=str(data_dir))
    straight = train(replace(cfg, out=str(tmp_path / "a")))
    half = train(replace(cfg, out=str(tmp_path / "b"), stop_at=4))
    assert half.status == "stopped" and half.step == 4
    assert load_checkpoint(tmp_path / "b").state["step"] == 4
    resumed = train(replace(cfg, out=str(tmp_path / "b"), resume=True))
    assert resumed.status == "done" and resumed.step == 8
    # dropout (torch RNG), batches (numpy RNG), AdamW moments and the schedule all carried over
    assert abs(resumed.final_val_loss - straight.final_val_loss) < 1e-6
    at = {step: v for step, _, v in resumed.val_history}  # plus the extra evaluation at the stop, step 4
    assert [at[step] for step, _, _ in straight.val_history] == pytest.approx(
        [v for _, _, v in straight.val_history], abs=1e-6)
    a, b = _weights(straight.model), _weights(resumed.model)
    assert all(torch.allclose(a[k], b[k], atol=1e-6, rtol=0) for k in a)
    rows = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "val_loss" in r] == [3, 4, 6, 8]


def test_val_loss_is_the_mean_over_the_fixed_batches(data_dir):
    result = train(TrainConfig(**TINY, max_iters=3, eval_interval=100, data_dir=str(data_dir)))
    text = (data_dir / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8")
    _, val = split(encode_text(result.tokenizer, text), TINY["block_size"])
    model = result.model.eval()
    with torch.no_grad():  # recomputed independently: plain cross-entropy over the same windows
        losses = [torch.nn.functional.cross_entropy(model(torch.from_numpy(x))[0].flatten(0, 1),
                                                    torch.from_numpy(y).flatten()).item()
                  for x, y in val_batches(val, TINY["block_size"], TINY["batch_size"], TINY["eval_batches"])]
    assert result.final_val_loss == pytest.approx(np.mean(losses), abs=1e-6)
    again = train(TrainConfig(**TINY, max_iters=3, eval_interval=100, data_dir=str(data_dir)))
    assert again.final_val_loss == result.final_val_loss


def test_bigram_learns_below_uniform(data_dir):
    result = train(TrainConfig(**(TINY | {"lr": 3e-2, "batch_size": 32}), model="bigram", max_iters=60,
                               eval_interval=60, data_dir=str(data_dir)))
    assert result.final_val_loss < math.log(result.tokenizer.vocab_size) - 0.5  # uniform guessing: ln 65 = 4.17


def test_lr_schedule_warmup_then_cosine():
    cfg = TrainConfig(lr=1.0, min_lr=0.1, warmup=10, max_iters=110)
    assert lr_at(cfg, 0, 0) == pytest.approx(1 / 11) and lr_at(cfg, 9, 0) == pytest.approx(10 / 11)
    assert lr_at(cfg, 10, 0) == pytest.approx(1.0)
    assert lr_at(cfg, 60, 0) == pytest.approx(0.55)  # half way down the cosine
    assert lr_at(cfg, 110, 0) == pytest.approx(0.1) and lr_at(cfg, 500, 0) == pytest.approx(0.1)
    timed = replace(cfg, max_seconds=100.0)
    assert lr_at(timed, 20, 50.0) == pytest.approx(0.55)  # the time budget is half used


def test_nan_stops_and_keeps_last_good_checkpoint(tmp_path, data_dir, monkeypatch):
    real = train_mod.lr_at
    monkeypatch.setattr(train_mod, "lr_at", lambda cfg, step, s: float("nan") if step >= 5 else real(cfg, step, s))
    result = train(TrainConfig(**TINY, max_iters=20, eval_interval=4, log_interval=1, out=str(tmp_path),
                               data_dir=str(data_dir)))
    assert result.status == "diverged" and "last good checkpoint is kept" in result.message
    ckpt = load_checkpoint(tmp_path)
    assert ckpt.state["step"] == 4
    assert all(np.isfinite(w).all() for w in ckpt.weights.values())


def test_existing_run_is_not_overwritten_without_asking(tmp_path, data_dir):
    cfg = TrainConfig(**TINY, max_iters=2, eval_interval=2, out=str(tmp_path), data_dir=str(data_dir))
    train(cfg)
    before = (tmp_path / "latest").read_text()
    with pytest.raises(UserError, match="--resume"):
        train(replace(cfg, seed=2))
    assert (tmp_path / "latest").read_text() == before
    assert train(replace(cfg, seed=2, overwrite=True)).status == "done"


def test_gpt2_tokenizer_run_and_sample(tmp_path, data_dir):
    from nn2gpt.gpt.runs import load_model
    from nn2gpt.gpt.sample import sample_text

    text = tmp_path / "t.txt"
    text.write_text("The quick brown fox jumps over the lazy dog. " * 40, encoding="utf-8")
    cfg = TrainConfig(**(TINY | {"n_embd": 16, "block_size": 8}), tokenizer="gpt2", text=str(text), max_iters=2,
                      eval_interval=2, out=str(tmp_path / "run"), data_dir=str(data_dir))
    assert train(cfg).status == "done"
    model, tok, config = load_model(tmp_path / "run", data_dir=data_dir)
    assert config["model"]["vocab_size"] == 50257 and tok.to_json() == {"type": "gpt2"}
    assert sample_text(model, tok, "The quick", 5, seed=0).startswith("The quick")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


WORKER = """
import sys, numpy as np
from nn2gpt.gpt.train import TrainConfig, train
cfg = TrainConfig(**{cfg})
r = train(cfg)
if r.model is not None and {rank} == 0:
    np.savez(sys.argv[1], val=np.array([v for _, _, v in r.val_history]),
             **{{k: v.detach().numpy() for k, v in r.model.state_dict().items()}})
"""


def test_two_process_gloo_ddp_matches_one_process(tmp_path, data_dir):
    """2 processes x batch 4 (DDP averages their gradients) == 1 process x batch 8."""
    base = TINY | dict(max_iters=4, eval_interval=2, data_dir=str(data_dir))
    single = train(TrainConfig(**base))
    port = str(_free_port())
    procs = []
    for rank in range(2):
        env = os.environ | {"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": "2",
                            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port}
        code = WORKER.format(cfg=repr(base | {"batch_size": 4}), rank=rank)
        procs.append(subprocess.Popen([sys.executable, "-c", code, str(tmp_path / f"r{rank}.npz")], env=env,
                                      stderr=subprocess.PIPE, text=True))
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    got = np.load(tmp_path / "r0.npz")
    np.testing.assert_allclose(got["val"], [v for _, _, v in single.val_history], atol=1e-5)
    for k, v in single.model.state_dict().items():
        np.testing.assert_allclose(got[k], v.numpy(), atol=1e-5, err_msg=k)


def test_bf16_autocast_trains_and_keeps_float32_weights(tmp_path, data_dir):
    """The GPU's mixed precision, exercised on the CPU: forward under bf16 autocast, the weights,
    the gradients, AdamW and the checkpoint stay float32, and the loss falls as in float32."""
    cfg = TrainConfig(**TINY, max_iters=30, eval_interval=30, data_dir=str(data_dir))
    full = train(replace(cfg, out=str(tmp_path / "fp32"), dtype="float32"))
    half = train(replace(cfg, out=str(tmp_path / "bf16"), dtype="bfloat16"))
    first = half.val_history[0][2] if half.val_history[0][0] == 0 else math.log(half.tokenizer.vocab_size)
    assert math.isfinite(half.final_val_loss) and half.final_val_loss < first - 0.3
    assert abs(half.final_val_loss - full.final_val_loss) < 0.1       # bf16 rounding, not a different model
    assert half.final_val_loss != full.final_val_loss                 # autocast really ran
    assert all(p.dtype == torch.float32 for p in half.model.parameters())
    assert all(w.dtype == np.float32 for w in load_checkpoint(tmp_path / "bf16").weights.values())


def test_a_locked_run_stops_every_ddp_process_with_one_line(tmp_path, data_dir):
    """Under torchrun only rank 0 takes the run's lock; when it is refused, every rank must stop (none may wait
    for the others forever), each with the one UserError."""
    from nn2gpt.runlock import RunLock

    out = tmp_path / "run"
    base = TINY | dict(max_iters=4, eval_interval=2, data_dir=str(data_dir), out=str(out))
    code = ("import sys\nfrom nn2gpt.errors import UserError\nfrom nn2gpt.gpt.train import TrainConfig, train\n"
            f"try:\n    train(TrainConfig(**{base!r}))\nexcept UserError as e:\n    print(e, file=sys.stderr)\n"
            "    sys.exit(2)\n")
    port = str(_free_port())
    with RunLock(out):
        procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True,
                                  env=os.environ | {"RANK": str(r), "LOCAL_RANK": str(r), "WORLD_SIZE": "2",
                                                    "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port})
                 for r in range(2)]
        errs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [2, 2], errs
    assert "in use by another nn2gpt process" in errs[0] and "refused by process 0" in errs[1], errs
