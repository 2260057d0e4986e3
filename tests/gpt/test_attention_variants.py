"""Every attention variant of chapter 4 builds into a GPT, trains (forward + backward), and
sends gradient to every parameter: none is silently cut out of the computation."""

import itertools

import pytest
import torch

from nn2gpt.gpt.variants import ModelConfig, build_model
from nn2gpt.nn.masks import MASKS
from nn2gpt.nn.positional import POSITIONS
from nn2gpt.nn.scores import SCORES


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def check_variant(model_kind, score, mask, pos):
    torch.manual_seed(0)
    cfg = ModelConfig(model=model_kind, vocab_size=7, block_size=6, n_layer=1, n_head=2, n_embd=8,
                    dropout=0.1, score=score, mask=mask, pos=pos, window=2 if mask == "window" else None)
    model = build_model(cfg)
    g = torch.Generator().manual_seed(1)
    idx = torch.randint(0, 7, (3, 6), generator=g)
    targets = torch.randint(0, 7, (3, 6), generator=g)
    logits, loss = model(idx, targets)
    assert logits.shape == (3, 6, 7) and torch.isfinite(loss)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().max() > 0, f"{name} gets no gradient under {score}/{mask}/{pos}"
    out = model.generate(idx[:1, :2], 6)  # past block_size, through the KV cache when it applies
    assert out.shape == (1, 8)


@pytest.mark.parametrize("score,mask,pos", list(itertools.product(SCORES, MASKS, POSITIONS)))
def test_every_gpt_variant_trains(score, mask, pos):
    check_variant("gpt", score, mask, pos)


@pytest.mark.parametrize("kind", ["attention", "multihead"])
@pytest.mark.parametrize("score,mask,pos", [("squared", "anticausal", "rope"), ("additive", "window", "alibi"),
                                            ("cosine", "none", "sinusoidal")])
def test_the_earlier_models_take_the_variants_too(kind, score, mask, pos):
    check_variant(kind, score, mask, pos)


def test_variant_parameters_have_their_own_names():
    cfg = ModelConfig(vocab_size=7, block_size=6, n_layer=1, n_head=2, n_embd=8, score="additive")
    names = set(build_model(cfg).state_dict())
    assert {"blocks.0.attn.score.w_q", "blocks.0.attn.score.w_k", "blocks.0.attn.score.v"} <= names
    cfg = ModelConfig(vocab_size=7, block_size=6, n_layer=1, n_head=2, n_embd=8, score="cosine")
    assert build_model(cfg).state_dict()["blocks.0.attn.score.log_tau"].shape == (2,)
