"""Chapter 2's own model (nn2gpt.gpt.model): the written-out attention against the fused kernel,
and the road's classes against the same model built with chapter 4's general layer."""

import pytest
import torch

from nn2gpt.gpt import MODELS, model as ch2
from nn2gpt.gpt.generate import Decoder
from nn2gpt.gpt.variants import ROAD, VARIANTS, ModelConfig, build_model
from nn2gpt.nn.attention import MultiHeadAttention


def tiny(**kw):
    return dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16) | kw


def built(cls, cfg, seed=0):
    torch.manual_seed(seed)
    return cls(cfg)


def test_the_default_config_builds_chapter_2s_own_classes():
    for kind in MODELS:
        model = build_model(ModelConfig(**tiny(model=kind)))
        assert type(model) is ROAD[kind]
        assert not any(isinstance(m, MultiHeadAttention) for m in model.modules())
    assert type(build_model(ModelConfig(**tiny(pos="rope")))) is VARIANTS["gpt"]


@pytest.mark.parametrize("kind", ["attention", "multihead", "gpt"])
def test_written_out_attention_gives_the_fused_kernels_numbers(kind):
    """--no-flash runs `attention` as written; same seed, same weights, same loss and gradients."""
    x = torch.randint(0, 11, (3, 8), generator=torch.Generator().manual_seed(1))
    y = torch.randint(0, 11, (3, 8), generator=torch.Generator().manual_seed(2))
    runs = []
    for flash in (True, False):
        model = built(ROAD[kind], ch2.GPTConfig(**tiny(model=kind, flash=flash))).double()
        assert all(layer.flash is flash for layer in model.attention_layers())
        logits, loss = model(x, y)
        loss.backward()
        runs.append((logits, loss, [p.grad for p in model.parameters()]))
    (l1, loss1, g1), (l2, loss2, g2) = runs
    assert torch.allclose(l1, l2, atol=1e-12) and torch.allclose(loss1, loss2, atol=1e-12)
    assert all(torch.allclose(a, b, atol=1e-10) for a, b in zip(g1, g2))


def test_written_out_attention_is_softmax_of_scaled_scores_under_the_causal_mask():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, 1, 3, 4, generator=g, dtype=torch.float64) for _ in range(3))
    out, w = ch2.attention(q, k, v)
    s = (q[0, 0] @ k[0, 0].T) / 2.0  # √hs = 2
    row1 = torch.softmax(s[1, :2], dim=0)  # query 1 sees keys 0 and 1 only
    assert torch.allclose(w[0, 0, 1, :2], row1) and w[0, 0, 1, 2] == 0 and w[0, 0, 0, 0] == 1
    assert torch.allclose(out[0, 0, 1], row1 @ v[0, 0, :2])
    # the last query of a cache: one query over every key, nothing masked
    last, w_last = ch2.attention(q[:, :, 2:], k, v)
    assert torch.allclose(last, out[:, :, 2:]) and torch.allclose(ch2.fast_attention(q[:, :, 1:], k, v), out[:, :, 1:])


@pytest.mark.parametrize("kind", ["attention", "multihead", "gpt"])
def test_chapter_4s_general_layer_gives_the_same_model(kind):
    """The variants' class, at chapter 2's choices, draws the same weights under the same tensor
    names and computes the same logits: a checkpoint loads into either."""
    cfg = ModelConfig(**tiny(model=kind))
    plain, general = built(ROAD[kind], cfg), built(VARIANTS[kind], cfg)
    assert any(isinstance(m, MultiHeadAttention) for m in general.modules())
    sd1, sd2 = plain.state_dict(), general.state_dict()
    assert list(sd1) == list(sd2) and all(torch.equal(sd1[n], sd2[n]) for n in sd1)
    x = torch.randint(0, 11, (2, 8), generator=torch.Generator().manual_seed(3))
    assert torch.allclose(plain.eval()(x)[0], general.eval()(x)[0], atol=1e-6)


def test_the_kv_cache_gives_the_recomputed_logits_on_both_paths():
    for flash in (True, False):
        model = built(ch2.GPT, ch2.GPTConfig(**tiny(flash=flash))).eval()
        seq = torch.randint(0, 11, (1, 6), generator=torch.Generator().manual_seed(4))
        cached, fresh = Decoder(model, use_cache=True), Decoder(model, use_cache=False)
        for t in range(3, 7):
            assert torch.allclose(cached.next_logits(seq[:, :t]), fresh.next_logits(seq[:, :t]), atol=1e-5)


def test_training_with_the_written_out_attention_follows_the_fused_one(data_dir):
    """`gpt train --no-flash` trains through `attention` as written: the same run, step for step
    (float32 sums in another order: equal to rounding)."""
    from nn2gpt.gpt.train import TrainConfig, train

    tiny = dict(n_layer=1, n_head=2, n_embd=16, block_size=16, batch_size=4, eval_batches=2, max_iters=6,
                eval_interval=3, progress=False, sample_tokens=0, device="cpu", threads=1, data_dir=str(data_dir))
    fused, written = train(TrainConfig(**tiny)), train(TrainConfig(**tiny, flash=False))
    assert type(fused.model) is ch2.GPT  # the default recipe trains chapter 2's own class, no variant
    assert all(layer.flash is False for layer in written.model.attention_layers())
    assert [s for s, _, _ in written.val_history] == [3, 6]
    for (_, _, a), (_, _, b) in zip(fused.val_history, written.val_history):
        assert abs(a - b) < 1e-4
