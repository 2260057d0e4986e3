"""Chapter 6's model pieces in the numpy engine: rotary positions, an untied head and zero-init.
Checked against finite differences, against chapter 2's torch GPT (autograd and logits), and
through checkpoints that move both ways."""

import numpy as np
import pytest
import torch
from numpy_gpt_torch_reference import assert_finite_differences

from nn2gpt.checkpoint import load_checkpoint
from nn2gpt.gpt.variants import ModelConfig, build_model
from nn2gpt.gpt.runs import load_model
from nn2gpt.gpt.train import TrainConfig
from nn2gpt.gpt.train import train as train_torch
from nn2gpt.numpy_gpt.attention import rotate
from nn2gpt.numpy_gpt.model import NumpyGPT, init_weights, parameter_shapes
from nn2gpt.numpy_gpt.sample import stream
from nn2gpt.numpy_gpt.train import NumpyTrainConfig
from nn2gpt.numpy_gpt.train import train as train_numpy

PIECES = [("rope", False), ("learned", True), ("rope", True)]
TINY = dict(n_layer=2, n_head=2, n_embd=16, block_size=16, batch_size=4, eval_interval=3, eval_batches=2,
            sample_tokens=0, lr=3e-3, warmup=1)


def torch_model(pos, untie, seed=0):
    cfg = ModelConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8, pos=pos, untie=untie)
    torch.manual_seed(seed)
    model = build_model(cfg).double()
    with torch.no_grad():  # move gains, biases and the head away from 1, 0 and tok_emb
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return cfg, model


@pytest.mark.parametrize("pos,untie", PIECES)
def test_gradients_and_logits_match_the_torch_engine_float64(pos, untie):
    cfg, tmodel = torch_model(pos, untie)
    weights = {n: t.detach().numpy().copy() for n, t in tmodel.state_dict().items()}
    assert set(weights) == set(parameter_shapes(cfg.to_dict()))  # the same tensors, by name
    assert ("pos_emb.weight" in weights) == (pos == "learned") and ("lm_head.weight" in weights) == untie
    rng = np.random.default_rng(0)
    idx, targets = rng.integers(0, 11, (3, 8)), rng.integers(0, 11, (3, 8))
    tlogits, tloss = tmodel(torch.tensor(idx), torch.tensor(targets))
    tloss.backward()
    model = NumpyGPT(cfg.to_dict(), weights, dtype=np.float64)
    loss, grads = model.loss_and_grads(idx, targets)
    # the torch engine keeps its rotary cos/sin tables in float32 (numpy: float64), hence ~1e-8 with rope
    tol = 1e-7 if pos == "rope" else 1e-12
    assert loss == pytest.approx(tloss.item(), rel=tol)
    np.testing.assert_allclose(model.forward(idx)[0], tlogits.detach().numpy(), rtol=0, atol=tol)
    for name, p in tmodel.named_parameters():
        err = np.abs(grads[name] - p.grad.numpy()).max() / np.abs(p.grad.numpy()).max()
        assert err <= 1e-6, (name, err)


def test_rope_and_untied_head_gradients_against_finite_differences():
    """Independent of torch: nudge 3 random entries of every weight, compare with the backward."""
    cfg, tmodel = torch_model("rope", True, seed=3)
    model = NumpyGPT(cfg.to_dict(), {n: t.detach().numpy().copy() for n, t in tmodel.state_dict().items()},
                     dtype=np.float64)
    rng = np.random.default_rng(6)
    idx, targets = rng.integers(0, 11, (2, 6)), rng.integers(0, 11, (2, 6))
    assert_finite_differences(model, idx, targets, lambda name, w: rng.choice(w.size, 3, replace=False))


def test_rotation_keeps_lengths_undoes_itself_and_makes_scores_relative():
    rng = np.random.default_rng(1)
    q, k = rng.normal(size=(1, 2, 5, 8)), rng.normal(size=(1, 2, 5, 8))
    np.testing.assert_allclose(np.linalg.norm(rotate(q, 3), axis=-1), np.linalg.norm(q, axis=-1), rtol=1e-12)
    np.testing.assert_allclose(rotate(rotate(q, 3), 3, inverse=True), q, atol=1e-12)
    # q at position m, k at position n: the score depends on m - n only (shift both by 7)
    s0 = np.einsum("bhd,bhd->bh", rotate(q, 2)[:, :, 0], rotate(k, 0)[:, :, 0])
    s7 = np.einsum("bhd,bhd->bh", rotate(q, 9)[:, :, 0], rotate(k, 7)[:, :, 0])
    np.testing.assert_allclose(s0, s7, rtol=1e-10)
    assert not np.allclose(rotate(q, 1), q)


def test_rope_kv_cache_sampling_equals_recomputing_even_past_block_size():
    cfg, tmodel = torch_model("rope", True)
    model = NumpyGPT(cfg.to_dict(), {n: t.detach().numpy() for n, t in tmodel.state_dict().items()}, np.float64)
    runs = [list(stream(model, [1, 2, 3], 20, rng=np.random.default_rng(7), use_cache=c)) for c in (True, False)]
    assert runs[0] == runs[1] and len(runs[0]) == 20  # 3 + 20 > block_size 8: the window slides


def test_zero_init_zeroes_what_the_torch_engine_zeroes():
    cfg = ModelConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8, pos="rope", untie=True,
                    zero_init=True)
    zero_torch = {n for n, p in build_model(cfg).named_parameters() if p.dim() == 2 and not p.detach().any()}
    w = init_weights(cfg.to_dict(), seed=0)
    zero_numpy = {n for n, a in w.items() if a.ndim == 2 and not a.any()}
    assert zero_numpy == zero_torch and "lm_head.weight" in zero_numpy and "blocks.1.mlp.proj.weight" in zero_numpy
    assert w["blocks.0.attn.qkv.weight"].std() == pytest.approx(0.02, rel=0.2)


def test_a_torch_run_with_the_recipe_samples_identically_in_numpy(tmp_path, capsys):
    """The default torch recipe (rope, Muon, zero-init, untied head) loads in the numpy engine."""
    from nn2gpt.cli import main

    out = tmp_path / "run"
    train_torch(TrainConfig(**TINY, max_iters=6, out=str(out), progress=False, pos="rope", optimizer="muon",
                            zero_init=True, untie=True))
    tmodel, _, config = load_model(out)
    idx = np.random.default_rng(5).integers(0, config["model"]["vocab_size"], (3, 16))
    ckpt = load_checkpoint(out)
    with torch.no_grad():
        np.testing.assert_allclose(NumpyGPT(ckpt.config["model"], ckpt.weights).forward(idx)[0],
                                   tmodel(torch.tensor(idx))[0].numpy(), rtol=0, atol=1e-5)
    args = ["gpt", "sample", "--model", str(out), "--prompt", "KING", "--max-new-tokens", "40", "--temperature", "0"]
    assert main(args + ["--engine", "torch"]) == 0
    torch_text = capsys.readouterr().out
    assert main(args + ["--engine", "numpy"]) == 0
    assert capsys.readouterr().out == torch_text and torch_text.startswith("KING")


def test_the_numpy_engine_trains_the_pieces_and_torch_loads_them(tmp_path):
    out = tmp_path / "np"
    result = train_numpy(NumpyTrainConfig(**TINY, max_iters=12, out=str(out), pos="rope", untie=True,
                                          zero_init=True), log=lambda *a: None)
    assert result.val_history[-1][2] < result.val_history[0][2]  # it learns
    tmodel, _, config = load_model(out)
    assert config["model"]["pos"] == "rope" and config["model"]["untie"] is True
    ckpt = load_checkpoint(out)
    assert "lm_head.weight" in ckpt.weights and "pos_emb.weight" not in ckpt.weights
    idx = np.random.default_rng(2).integers(0, config["model"]["vocab_size"], (2, 16))
    with torch.no_grad():
        np.testing.assert_allclose(tmodel(torch.tensor(idx))[0].numpy(),
                                   NumpyGPT(ckpt.config["model"], ckpt.weights).forward(idx)[0], atol=1e-5)


def test_an_odd_head_size_with_rope_is_a_one_line_error():
    from nn2gpt.errors import UserError

    cfg = ModelConfig(vocab_size=11, block_size=8, n_layer=1, n_head=4, n_embd=12, pos="rope").to_dict()
    with pytest.raises(UserError, match="rope needs an even head size, got n_embd/n_head = 3"):
        NumpyGPT(cfg, init_weights(cfg))


def test_switching_a_torch_only_piece_off_is_not_refused():
    from argparse import Namespace

    from nn2gpt.errors import UserError
    from nn2gpt.numpy_gpt.cli_entry import reject_torch_only

    reject_torch_only(Namespace(qk_norm=False, untie=True, zero_init=False, pos="rope"))  # nothing torch-only asked
    with pytest.raises(UserError, match="does not support --qk-norm"):
        reject_torch_only(Namespace(qk_norm=True))
