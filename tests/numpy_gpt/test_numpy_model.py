"""The whole numpy GPT against torch autograd, the optimizer against torch.optim.AdamW, and
sampling (KV cache, top-k, top-p)."""

import numpy as np
import pytest
import torch
from numpy_gpt_torch_reference import assert_finite_differences, torch_gpt_loss

from nn2gpt.errors import UserError
from nn2gpt.numpy_gpt.model import NumpyGPT, init_weights, parameter_shapes
from nn2gpt.numpy_gpt.optim import AdamW, clip_grad_norm, cosine_lr
from nn2gpt.numpy_gpt.sample import next_token_probs, stream


def config(**kw):
    return {"model": "gpt", "vocab_size": 13, "block_size": 8, "n_layer": 2, "n_head": 2, "n_embd": 8,
            "dropout": 0.0, "bias": True, "pos": "learned", "score": "scaled_dot", "mask": "causal",
            "window": None} | kw


def random_weights(cfg, seed=0):
    """Initial weights, perturbed so LayerNorm gains and biases are not the trivial 1 and 0."""
    rng = np.random.default_rng(seed)
    return {n: w + rng.normal(0, 0.1, w.shape) for n, w in init_weights(cfg, seed, np.float64).items()}


def relative_error(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


@pytest.mark.parametrize("bias", [True, False])
def test_gradients_match_torch_autograd_float64(bias):
    cfg = config(bias=bias)
    weights = random_weights(cfg)
    rng = np.random.default_rng(1)
    idx, targets = rng.integers(0, 13, (3, 8)), rng.integers(0, 13, (3, 8))
    model = NumpyGPT(cfg, weights, dtype=np.float64)
    loss, grads = model.loss_and_grads(idx, targets)

    tw = {n: torch.tensor(w, requires_grad=True) for n, w in weights.items()}
    logits, tloss = torch_gpt_loss(tw, cfg, torch.tensor(idx), torch.tensor(targets))
    tloss.backward()
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    np.testing.assert_allclose(model.forward(idx)[0], logits.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert list(grads) == list(parameter_shapes(cfg))
    for name, g in grads.items():
        assert relative_error(g, tw[name].grad.numpy()) <= 1e-6, name


def test_a_shorter_sequence_leaves_unused_positions_without_gradient():
    cfg = config()
    model = NumpyGPT(cfg, random_weights(cfg), dtype=np.float64)
    _, grads = model.loss_and_grads(np.zeros((2, 5), dtype=np.int64), np.ones((2, 5), dtype=np.int64))
    assert np.all(grads["pos_emb.weight"][5:] == 0) and np.any(grads["pos_emb.weight"][:5] != 0)


def test_adamw_matches_torch_and_decays_matrices_only():
    cfg = config()
    weights = random_weights(cfg)
    rng = np.random.default_rng(2)
    tw = {n: torch.tensor(w.copy(), requires_grad=True) for n, w in weights.items()}
    groups = [{"params": [t for n, t in tw.items() if t.ndim >= 2], "weight_decay": 0.1},
              {"params": [t for n, t in tw.items() if t.ndim < 2], "weight_decay": 0.0}]
    topt = torch.optim.AdamW(groups, lr=1e-2, betas=(0.9, 0.95), eps=1e-8)
    opt = AdamW(weights, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    for step in range(4):
        grads = {n: rng.standard_normal(w.shape) for n, w in weights.items()}
        for n, t in tw.items():
            t.grad = torch.tensor(grads[n])
        lr = 1e-2 * (step + 1) / 4
        for g in topt.param_groups:
            g["lr"] = lr
        topt.step()
        opt.step(grads, lr)
    for n in weights:
        np.testing.assert_allclose(weights[n], tw[n].detach().numpy(), rtol=1e-10, atol=1e-12)


def test_clip_grad_norm_matches_torch():
    rng = np.random.default_rng(3)
    grads = {"a": rng.standard_normal((4, 3)), "b": rng.standard_normal(5)}
    tgrads = [torch.tensor(g.copy(), requires_grad=False) for g in grads.values()]
    params = [torch.zeros_like(t, requires_grad=True) for t in tgrads]
    for p, g in zip(params, tgrads):
        p.grad = g
    tnorm = torch.nn.utils.clip_grad_norm_(params, 1.0)
    norm = clip_grad_norm(grads, 1.0)
    assert norm == pytest.approx(tnorm.item(), rel=1e-12)
    for g, p in zip(grads.values(), params):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-9)


def test_cosine_schedule():
    lrs = [cosine_lr(s, 1.0, warmup=9, max_steps=109) for s in range(120)]
    assert lrs[0] == pytest.approx(0.1) and lrs[8] == pytest.approx(0.9)  # linear warmup
    assert lrs[9] == pytest.approx(1.0) and lrs[59] == pytest.approx(0.1 + 0.9 * 0.5)  # half way down
    assert lrs[109] == pytest.approx(0.1) and lrs[119] == pytest.approx(0.1)  # floor = max / 10
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))  # never rises after warmup
    # with a time budget the cosine follows the clock once it is further along than the steps
    assert cosine_lr(20, 1.0, 9, 109, seconds=50, max_seconds=100) == pytest.approx(0.55)


def test_a_few_training_steps_lower_the_loss():
    cfg = config(vocab_size=5, n_embd=16, n_head=4)
    model = NumpyGPT(cfg, init_weights(cfg, seed=0))
    opt = AdamW(model.weights)
    idx = np.tile(np.arange(5), (4, 2))[:, :8]  # a repeating pattern 0 1 2 3 4 0 1 2
    targets = (idx + 1) % 5
    losses = []
    for _ in range(30):
        loss, grads = model.loss_and_grads(idx, targets)
        clip_grad_norm(grads, 1.0)
        opt.step(grads, 1e-2)
        losses.append(loss)
    assert losses[0] == pytest.approx(np.log(5), abs=0.1)  # starts near uniform guessing
    assert losses[-1] < 0.5 * losses[0]


def test_kv_cache_sampling_equals_recomputing_even_past_block_size():
    cfg = config()
    model = NumpyGPT(cfg, random_weights(cfg), dtype=np.float64)
    runs = [list(stream(model, [1, 2, 3], 20, rng=np.random.default_rng(7), use_cache=c)) for c in (True, False)]
    assert runs[0] == runs[1] and len(runs[0]) == 20  # 3 + 20 > block_size 8: the window slides


def test_greedy_top_k_1_and_tiny_top_p_agree():
    cfg = config()
    model = NumpyGPT(cfg, random_weights(cfg), dtype=np.float64)
    greedy = list(stream(model, [4], 10, temperature=0))
    assert list(stream(model, [4], 10, top_k=1, rng=np.random.default_rng(0))) == greedy
    assert list(stream(model, [4], 10, top_p=1e-9, rng=np.random.default_rng(1))) == greedy


def test_next_token_probs_filters():
    logits = np.log(np.array([0.1, 0.4, 0.2, 0.3]))
    np.testing.assert_allclose(next_token_probs(logits), [0.1, 0.4, 0.2, 0.3])
    np.testing.assert_allclose(next_token_probs(logits, top_k=2), [0, 4 / 7, 0, 3 / 7])
    np.testing.assert_allclose(next_token_probs(logits, top_p=0.6), [0, 4 / 7, 0, 3 / 7])  # 0.4 < 0.6 <= 0.7
    np.testing.assert_allclose(next_token_probs(logits, top_p=0.75), [0, 4 / 9, 2 / 9, 3 / 9])
    sharp = next_token_probs(logits, temperature=0.5)
    np.testing.assert_allclose(sharp, np.array([0.01, 0.16, 0.04, 0.09]) / 0.30)


@pytest.mark.parametrize("key,value", [("pos", "alibi"), ("score", "cosine"), ("mask", "none"), ("model", "bigram")])
def test_torch_only_configs_are_refused(key, value):
    with pytest.raises(UserError, match="numpy engine does not support .*--engine torch"):
        NumpyGPT(config(**{key: value}), init_weights(config()))


def test_weights_that_do_not_fit_are_refused():
    weights = init_weights(config())
    weights["tok_emb.weight"] = weights["tok_emb.weight"][:5]
    with pytest.raises(UserError, match="do not fit"):
        NumpyGPT(config(), weights)


def test_evaluation_keeps_no_activations_and_gives_the_same_loss():
    cfg = config()
    model = NumpyGPT(cfg, random_weights(cfg), dtype=np.float64)
    idx = np.random.default_rng(4).integers(0, 13, (2, 8))
    _, loss, cache = model.forward(idx, idx, for_backward=True)
    _, eval_loss, no_cache = model.forward(idx, idx, for_backward=False)
    assert eval_loss == loss and no_cache is None and len(cache[-1]) == cfg["n_layer"]


def test_whole_model_gradients_against_finite_differences():
    """Independent of torch: nudge 3 random entries of every weight, compare with the backward."""
    cfg = config(n_layer=1)
    model = NumpyGPT(cfg, random_weights(cfg), dtype=np.float64)
    rng = np.random.default_rng(6)
    idx, targets = rng.integers(0, 13, (2, 6)), rng.integers(0, 13, (2, 6))

    def entries(name, w):  # 3 random entries; for tok_emb a used row and maybe-unused ones
        if name == "tok_emb.weight":
            return [idx[0, 0] * w.shape[1], 12 * w.shape[1] + 1, 5]
        return rng.choice(w.size, 3, replace=False)

    assert_finite_differences(model, idx, targets, entries)
