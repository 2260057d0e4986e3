"""The model options of chapter 3's Transformer (translate/model.py) that Marian's models use:
each computes the formula it names, and a config without them builds the recipe's model."""

import math

import pytest
import torch

from nn2gpt.nn.positional import sinusoidal_encoding
from nn2gpt.translate.model import EncoderLayer, FeedForward, Transformer, build_model

CFG = {"model": "transformer", "vocab_size": 40, "d_model": 16, "n_layer": 2, "n_head": 2, "d_ff": 32,
       "dropout": 0.0, "max_len": 32, "pad_id": 0, "bos_id": 2, "eos_id": 3}


def _randomised(model):
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
    return model.eval()


def test_post_ln_is_layernorm_after_the_residual_and_has_no_final_norm():
    torch.manual_seed(0)
    layer = _randomised(EncoderLayer(16, 2, 32, 0.0, post=True))
    x, keep = torch.randn(2, 5, 16), torch.ones(2, 5, dtype=torch.bool)
    h = layer.ln1(x + layer.self_attn(x, mask=keep))  # LN(x + sublayer(x)), the 2017 paper
    assert torch.allclose(layer(x, keep), layer.ln2(h + layer.ff(h)), atol=1e-6)
    pre = EncoderLayer(16, 2, 32, 0.0, post=False)
    pre.load_state_dict(layer.state_dict())
    assert not torch.allclose(pre.eval()(x, keep), layer(x, keep), atol=1e-3)
    names = build_model(CFG | {"norm": "post"}).state_dict()
    assert not any(k.startswith(("ln_enc", "ln_dec")) for k in names)
    assert "ln_enc.weight" in build_model(CFG).state_dict()


def test_silu_feed_forward():
    ff = _randomised(FeedForward(8, 16, 0.0, "silu"))
    x = torch.randn(3, 8)
    z = ff.fc(x)
    assert torch.allclose(ff(x), ff.proj(z * torch.sigmoid(z)), atol=1e-6)  # SiLU(z) = z·σ(z)
    relu = FeedForward(8, 16, 0.0)
    relu.load_state_dict(ff.state_dict())
    assert torch.allclose(relu(x), ff.proj(torch.relu(z)), atol=1e-6)


def _marian_positions(T: int, dim: int) -> torch.Tensor:
    """The encoder's sinusoid table of a tiny random MarianMTModel (transformers, the dev extra)."""
    from transformers import MarianConfig, MarianMTModel

    cfg = MarianConfig(vocab_size=12, d_model=dim, encoder_layers=1, decoder_layers=1, encoder_attention_heads=1,
                       decoder_attention_heads=1, encoder_ffn_dim=4, decoder_ffn_dim=4, max_position_embeddings=T,
                       pad_token_id=11, decoder_start_token_id=11, eos_token_id=0)
    return MarianMTModel(cfg).state_dict()["model.encoder.embed_positions.weight"]


def test_the_halves_layout_holds_the_same_sinusoids_sines_first():
    T, d = 20, 10
    inter, halves = sinusoidal_encoding(T, d), sinusoidal_encoding(T, d, layout="halves")
    assert torch.equal(halves[:, : d // 2], inter[:, 0::2]) and torch.equal(halves[:, d // 2:], inter[:, 1::2])
    assert halves[7, 1] == pytest.approx(math.sin(7 / 10000 ** (2 / d)), abs=1e-7)
    assert halves[7, d // 2 + 1] == pytest.approx(math.cos(7 / 10000 ** (2 / d)), abs=1e-7)
    for dim in (10, 9):  # the table a real (tiny) MarianMTModel holds, through its public state_dict
        marian = _marian_positions(T, dim)
        assert marian.shape == (T, dim) and marian.abs().max() > 0.5
        assert (sinusoidal_encoding(T, dim, layout="halves") - marian).abs().max() < 1e-6
    with pytest.raises(ValueError, match="layout"):
        sinusoidal_encoding(T, d, layout="spiral")


def test_embedding_scale_and_logits_bias():
    ids = torch.tensor([[2, 5, 7, 3]])
    scaled, plain = build_model(CFG), build_model(CFG | {"scale_embed": False})
    plain.load_state_dict(scaled.state_dict())
    assert torch.allclose(scaled._embed(ids) - scaled.pe[:4], (plain._embed(ids) - plain.pe[:4]) * 4.0, atol=1e-5)  # √16
    biased = _randomised(build_model(CFG | {"logits_bias": True}))
    assert biased.logits_bias.shape == (40,)
    unbiased = build_model(CFG)
    unbiased.load_state_dict({k: v for k, v in biased.state_dict().items() if k != "logits_bias"})
    src = torch.tensor([[5, 6, 3]])
    assert torch.allclose(biased(src, ids) - biased.logits_bias, unbiased.eval()(src, ids), atol=1e-5)


def test_a_config_without_options_builds_the_recipe():
    m = build_model(CFG)
    assert isinstance(m, Transformer) and m.embed_scale == 4.0 and m.logits_bias is None
    assert torch.equal(m.pe, sinusoidal_encoding(32, 16))
    assert m.encoder[0].post is False and m.encoder[0].ff.act is torch.relu
    with pytest.raises(KeyError):
        build_model(CFG | {"norm": "sandwich"})
