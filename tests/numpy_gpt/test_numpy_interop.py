"""The numpy engine against chapter 2's torch GPT (nn2gpt.gpt.model): same gradients, same
logits, and checkpoints that move both ways."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from nn2gpt.checkpoint import load_checkpoint
from nn2gpt.gpt.variants import ModelConfig, build_model
from nn2gpt.gpt.runs import load_model, weights_to_numpy
from nn2gpt.gpt.train import TrainConfig
from nn2gpt.schedule import lr_at
from nn2gpt.gpt.train import train as train_torch
from nn2gpt.numpy_gpt.model import NumpyGPT
from nn2gpt.numpy_gpt.optim import cosine_lr
from nn2gpt.numpy_gpt.train import NumpyTrainConfig
from nn2gpt.numpy_gpt.train import train as train_numpy

TINY = dict(n_layer=2, n_head=2, n_embd=16, block_size=16, batch_size=4, eval_interval=3, eval_batches=2,
            sample_tokens=20, lr=3e-3, warmup=1)


@pytest.mark.parametrize("bias", [True, False])
def test_gradients_match_the_torch_engine_float64(bias):
    cfg = ModelConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8, bias=bias)
    torch.manual_seed(0)
    tmodel = build_model(cfg).double()
    with torch.no_grad():  # move LayerNorm gains and biases away from the trivial 1 and 0
        for p in tmodel.parameters():
            p.add_(0.1 * torch.randn_like(p))
    weights = {n: t.detach().numpy().copy() for n, t in tmodel.state_dict().items()}
    rng = np.random.default_rng(0)
    idx, targets = rng.integers(0, 11, (3, 8)), rng.integers(0, 11, (3, 8))
    _, tloss = tmodel(torch.tensor(idx), torch.tensor(targets))
    tloss.backward()
    loss, grads = NumpyGPT(cfg.to_dict(), weights, dtype=np.float64).loss_and_grads(idx, targets)
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    tgrads = {n: p.grad.numpy() for n, p in tmodel.named_parameters()}
    assert set(grads) == set(tgrads)
    for name, g in grads.items():
        err = np.abs(g - tgrads[name]).max() / np.abs(tgrads[name]).max()
        assert err <= 1e-6, (name, err)


def test_schedule_is_the_torch_engines():
    cfg = TrainConfig(lr=1e-3, warmup=10, max_iters=100, max_seconds=30)
    for step, seconds in [(0, 0), (5, 1), (10, 2), (40, 3), (50, 20), (99, 29), (150, 40)]:
        assert cosine_lr(step, 1e-3, 10, 100, None, seconds, 30) == pytest.approx(lr_at(cfg, step, seconds))


@pytest.fixture(scope="module")
def torch_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("torch_run")
    train_torch(TrainConfig(**TINY, max_iters=6, out=str(out), progress=False))
    return out


@pytest.fixture(scope="module")
def numpy_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("numpy_run")
    train_numpy(NumpyTrainConfig(**TINY, max_iters=6, out=str(out)), log=lambda *a: None)
    return out


def _batch(vocab_size, block_size):
    return np.random.default_rng(5).integers(0, vocab_size, (3, block_size))


def test_a_torch_trained_checkpoint_gives_the_same_logits_in_numpy(torch_run):
    tmodel, _, config = load_model(torch_run)
    assert config["engine"] == "torch"
    idx = _batch(config["model"]["vocab_size"], config["model"]["block_size"])
    with torch.no_grad():
        expected = tmodel(torch.tensor(idx))[0].numpy()
    ckpt = load_checkpoint(torch_run)
    logits = NumpyGPT(ckpt.config["model"], ckpt.weights).forward(idx)[0]  # float32
    assert logits.dtype == np.float32
    np.testing.assert_allclose(logits, expected, rtol=0, atol=1e-5)


def test_a_numpy_trained_checkpoint_loads_in_torch_with_the_same_logits(numpy_run):
    tmodel, tok, config = load_model(numpy_run)  # the torch engine's own loader
    assert config["engine"] == "numpy" and (numpy_run / "metrics.jsonl").is_file()
    assert (numpy_run / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    idx = _batch(config["model"]["vocab_size"], config["model"]["block_size"])
    ckpt = load_checkpoint(numpy_run)
    logits = NumpyGPT(ckpt.config["model"], ckpt.weights).forward(idx)[0]
    with torch.no_grad():
        np.testing.assert_allclose(tmodel(torch.tensor(idx))[0].numpy(), logits, rtol=0, atol=1e-5)
    # and the weights survive a second trip unchanged: torch -> numpy arrays
    back = weights_to_numpy(tmodel)
    assert set(back) == set(ckpt.weights)
    for n in back:
        np.testing.assert_array_equal(back[n], ckpt.weights[n])


def test_importing_the_numpy_engine_does_not_import_torch():
    code = ("import sys, nn2gpt.numpy_gpt, nn2gpt.numpy_gpt.model, nn2gpt.numpy_gpt.train, "
            "nn2gpt.numpy_gpt.cli_entry, nn2gpt.numpy_gpt.sample; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_samples_a_torch_run_with_the_numpy_engine_greedy_text_identical(torch_run, capsys):
    from nn2gpt.cli import main

    args = ["gpt", "sample", "--model", str(torch_run), "--prompt", "KING", "--max-new-tokens", "40",
            "--temperature", "0"]
    assert main(args + ["--engine", "torch"]) == 0
    torch_text = capsys.readouterr().out
    assert main(args + ["--engine", "numpy"]) == 0
    assert capsys.readouterr().out == torch_text and torch_text.startswith("KING")


def test_the_numpy_engine_will_not_resume_a_torch_run(torch_run, capsys):
    from nn2gpt.cli import main

    step = load_checkpoint(torch_run).state["step"]
    assert main(["gpt", "train", "--engine", "numpy", "--out", str(torch_run), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "trained by the torch engine" in err and "--engine torch" in err
    assert load_checkpoint(torch_run).state["step"] == step  # untouched
