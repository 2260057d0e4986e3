import math

import pytest
import torch

from nn2gpt.data.text import read_text
from nn2gpt.errors import UserError
from nn2gpt.gpt.generate import Decoder, sample_next
from nn2gpt.gpt import MODELS
from nn2gpt.gpt.variants import ModelConfig, build_model, check_config
from nn2gpt.gpt.perf import flops_per_token, num_params
from nn2gpt.gpt.trace import trace_forward, watching


def tiny(**kw) -> ModelConfig:
    base = dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)
    base.update(kw)
    return ModelConfig(**base)


def model_of(seed=0, **kw):
    torch.manual_seed(seed)
    return build_model(tiny(**kw)).eval()


@pytest.mark.parametrize("kind", MODELS)
def test_a_later_token_never_changes_earlier_logits(kind):
    model = model_of(model=kind)
    idx = torch.randint(0, 11, (2, 8), generator=torch.Generator().manual_seed(1))
    for t in (0, 3, 7):
        idx2 = idx.clone()
        idx2[:, t] = (idx2[:, t] + 1) % 11
        with torch.no_grad():
            a, b = model(idx)[0], model(idx2)[0]
        assert torch.equal(a[:, :t], b[:, :t])  # the past cannot see the change
        assert not torch.allclose(a[:, t], b[:, t])  # position t itself does


def test_state_dict_is_the_contract_table():
    C, V, L, bs = 16, 11, 2, 8
    sd = model_of().state_dict()
    expected = {"tok_emb.weight": (V, C), "pos_emb.weight": (bs, C), "ln_f.weight": (C,), "ln_f.bias": (C,)}
    for i in range(L):
        p = f"blocks.{i}."
        expected |= {p + "ln1.weight": (C,), p + "ln1.bias": (C,),
                     p + "attn.qkv.weight": (3 * C, C), p + "attn.qkv.bias": (3 * C,),
                     p + "attn.proj.weight": (C, C), p + "attn.proj.bias": (C,),
                     p + "ln2.weight": (C,), p + "ln2.bias": (C,),
                     p + "mlp.fc.weight": (4 * C, C), p + "mlp.fc.bias": (4 * C,),
                     p + "mlp.proj.weight": (C, 4 * C), p + "mlp.proj.bias": (C,)}
    assert {k: tuple(v.shape) for k, v in sd.items()} == expected
    assert all(v.dtype == torch.float32 for v in sd.values())
    # no biases when bias=False; no position table unless pos=learned
    assert not any(k.endswith("bias") for k in model_of(bias=False).state_dict())
    for pos in ("none", "sinusoidal", "rope", "alibi"):
        assert set(model_of(pos=pos).state_dict()) == set(expected) - {"pos_emb.weight"}


def test_the_head_is_the_token_embedding():
    model = model_of()
    idx = torch.tensor([[1, 2, 3]])
    with torch.no_grad():
        logits, _ = model(idx)
        x = model.tok_emb(idx) + model.pos_emb.weight[:3]
        for block in model.blocks:
            x = block(x)
        ref = model.ln_f(x) @ model.tok_emb.weight.T
    assert torch.allclose(logits, ref, atol=1e-6)


def test_gpt2_initialisation():
    torch.manual_seed(0)
    model = build_model(ModelConfig(n_layer=8, n_embd=256, n_head=8))
    std = model.blocks[0].mlp.fc.weight.std().item()
    proj_std = model.blocks[0].mlp.proj.weight.std().item()
    assert std == pytest.approx(0.02, rel=0.05)
    assert proj_std == pytest.approx(0.02 / math.sqrt(16), rel=0.05)
    assert model.blocks[0].attn.qkv.bias.abs().max() == 0


def test_loss_is_mean_cross_entropy_and_starts_near_ln_vocab():
    model = model_of()
    idx = torch.randint(0, 11, (4, 8), generator=torch.Generator().manual_seed(0))
    targets = torch.roll(idx, -1, 1)
    logits, loss = model(idx, targets)
    ref = -torch.log_softmax(logits, -1).gather(-1, targets[..., None]).mean()
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6)
    assert loss.item() == pytest.approx(math.log(11), abs=0.1)  # small init: near-uniform guesses


@pytest.mark.parametrize("kind,steps", [("attention", 300), ("gpt", 150)])
def test_the_model_overfits_one_batch(kind, steps):
    torch.manual_seed(0)
    model = build_model(tiny(model=kind, n_embd=32, block_size=16))
    idx = torch.randint(0, 11, (4, 17), generator=torch.Generator().manual_seed(0))
    x, y = idx[:, :-1], idx[:, 1:]
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    for _ in range(steps):
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1  # memorised 64 random tokens (chance level: ln 11 = 2.4)


def test_bigram_learns_tiny_shakespeare(data_dir):
    text = read_text(data_dir=data_dir)[:200_000]
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text])
    torch.manual_seed(0)
    model = build_model(ModelConfig(model="bigram", vocab_size=len(chars), block_size=32))
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    g = torch.Generator().manual_seed(0)
    for _ in range(60):
        ix = torch.randint(len(data) - 33, (32,), generator=g)
        x = torch.stack([data[i : i + 32] for i in ix])
        y = torch.stack([data[i + 1 : i + 33] for i in ix])
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < math.log(len(chars)) - 1.0  # ln 65 = 4.17; a bigram table reaches ~2.5


CACHE_CASES = [dict(), dict(pos="sinusoidal"), dict(pos="rope"), dict(pos="alibi", mask="window", window=3),
               dict(pos="none", score="cosine"), dict(model="attention"), dict(model="multihead"),
               dict(mask="anticausal")]


@pytest.mark.parametrize("kw", CACHE_CASES, ids=lambda kw: "-".join(map(str, kw.values())) or "default")
def test_kv_cache_gives_the_same_logits_also_past_block_size(kw):
    model = model_of(**kw)
    seq = torch.randint(0, 11, (2, 20), generator=torch.Generator().manual_seed(2))  # block_size 8
    cached, fresh = Decoder(model, use_cache=True), Decoder(model, use_cache=False)
    for t in range(3, 21):  # a prompt of 3, then one token at a time, well past the block
        a, b = cached.next_logits(seq[:, :t]), fresh.next_logits(seq[:, :t])
        assert torch.allclose(a, b, atol=1e-5), t
        with torch.no_grad():
            ref = model(seq[:, max(0, t - 8) : t])[0][:, -1]  # by definition: the last block_size tokens
        assert torch.allclose(b, ref, atol=1e-6)
    if model.cfg.mask in ("causal", "window"):
        assert cached.caches is not None and cached.caches[0].length == 8


@pytest.mark.parametrize("kw", [dict(), dict(untie=True, softcap=5.0), dict(model="bigram"), dict(mask="anticausal")],
                         ids=["gpt", "untied-softcap", "bigram", "anticausal"])
def test_next_logits_are_the_last_row_of_the_logits(kw):
    """Sampling reads only the last position's logits; a GPT computes its head for that row alone."""
    model = model_of(**kw)
    idx = torch.randint(0, 11, (2, 8), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        got, want = model.next_logits(idx), model.logits(idx)[:, -1]
    assert got.shape == (2, 11)
    torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-6)


def test_generation_with_and_without_cache_and_seeds():
    model = model_of()
    prompt = torch.tensor([[1, 2, 3]])

    def gen(seed, **kw):
        return model.generate(prompt, 30, generator=torch.Generator().manual_seed(seed), **kw)

    a = gen(0)
    assert a.shape == (1, 33) and torch.equal(a[:, :3], prompt)
    assert torch.equal(a, gen(0))  # same seed, same text
    assert torch.equal(a, gen(0, use_cache=False))  # the cache changes speed, not results
    assert not torch.equal(a, gen(1))
    streamed = list(model.stream([1, 2, 3], 30, generator=torch.Generator().manual_seed(0)))
    assert all(isinstance(t, int) for t in streamed) and streamed == a[0, 3:].tolist()


def test_top_k_1_is_greedy_argmax():
    model = model_of()
    out = model.generate(torch.tensor([[4]]), 12, top_k=1, generator=torch.Generator().manual_seed(5))
    seq = torch.tensor([[4]])
    with torch.no_grad():
        for _ in range(12):
            nxt = model(seq[:, -8:])[0][:, -1].argmax(-1, keepdim=True)
            seq = torch.cat((seq, nxt), 1)
    assert torch.equal(out, seq)
    assert torch.equal(model.generate(torch.tensor([[4]]), 12, temperature=0), seq)


def test_top_p_keeps_the_smallest_nucleus():
    logits = torch.log(torch.tensor([[0.1, 0.5, 0.15, 0.25]]))
    g = torch.Generator().manual_seed(0)
    drawn = {sample_next(logits, top_p=0.7, generator=g).item() for _ in range(300)}
    assert drawn == {1, 3}  # 0.5 + 0.25 >= 0.7: the two most likely tokens only
    drawn = {sample_next(logits, top_k=3, generator=g).item() for _ in range(300)}
    assert drawn == {1, 2, 3}
    assert {sample_next(logits, top_p=0.01, generator=g).item() for _ in range(20)} == {1}


def test_sampling_leaves_training_mode_alone():
    model = model_of().train()
    model.generate(torch.tensor([[1]]), 3)
    assert model.training


def test_trace_prints_every_tensor_with_its_shape():
    model = model_of()
    lines = []
    idx = torch.tensor([[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]])
    logits = trace_forward(model, idx, print_fn=lines.append)
    with torch.no_grad():
        assert torch.allclose(logits, model(idx)[0], atol=1e-6)  # tracing changes nothing
    text = "\n".join(lines)
    for name, shape, dims in [("blocks.0.attn.qkv", (2, 5, 48), "B,T,3C"), ("blocks.1.attn.q", (2, 2, 5, 8), "B,nh,T,hs"),
                              ("blocks.0.attn.weights", (2, 2, 5, 5), "B,nh,T,T"),
                              ("blocks.1.mlp.fc", (2, 5, 64), "B,T,4C"), ("ln_f", (2, 5, 16), "B,T,C"),
                              ("logits", (2, 5, 11), "B,T,V")]:
        assert any(line.split()[0] == name and str(shape) in line and line.endswith(dims) for line in lines), name
    assert "pos_emb" in text
    assert not any(m._forward_hooks for m in model.modules())  # hooks removed afterwards
    assert not any(name in vars(m) for m in model.modules() for name in ("attend", "embed", "logits"))  # unwrapped


@pytest.mark.parametrize("kw", [{}, {"pos": "rope", "qk_norm": True}], ids=["chapter 2", "general layer"])
def test_the_trace_sees_each_layers_own_q_k_v_and_weights(kw):
    """The trace watches from outside: its weights are those the layer itself returns
    (return_weights), its q, k, v the ones they come from, and the fast path is back afterwards."""
    model, idx = model_of(**kw), torch.tensor([[1, 2, 3, 4, 5]])
    seen = {}
    with watching(model, lambda name, t, dims: seen.setdefault(name, t)), torch.no_grad():
        model(idx)
    layer = model.attention_layers()[0]
    with torch.no_grad():
        _, weights = layer(model.blocks[0].ln1(model.embed(idx)), return_weights=True)
    assert torch.equal(seen["blocks.0.attn.weights"], weights)
    q, k = seen["blocks.0.attn.q"], seen["blocks.0.attn.k"]
    scores = layer.score(q, k) if hasattr(layer, "score") else q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    assert torch.allclose(torch.softmax(scores.masked_fill(torch.ones(5, 5).triu(1).bool(), float("-inf")), -1),
                          weights, atol=1e-6)
    assert torch.allclose(seen["blocks.0.attn.heads_out"], weights @ seen["blocks.0.attn.v"], atol=1e-6)
    calls = []
    real = layer.attend
    layer.attend = lambda *a, **k: calls.append(k) or real(*a, **k)
    with torch.no_grad():
        model(idx)
    del layer.attend
    assert calls[0] == {"need_weights": False}  # untraced, nobody asks for the weights: the fused kernel


def test_num_params_and_flops_per_token():
    model = model_of()
    n = sum(p.numel() for p in model.parameters())
    assert num_params(model) == n
    C, L, T = 16, 2, 8
    assert flops_per_token(model) == 6 * (n - 8 * C) + 12 * L * C * T
    # weights count: 12 C^2 per layer plus embeddings, LayerNorms and biases
    assert n == 11 * C + 8 * C + L * (12 * C * C + 13 * C) + 2 * C


@pytest.mark.parametrize("field,value,hint", [("score", "cubic", "scaled_dot"), ("mask", "diag", "anticausal"),
                                              ("pos", "abs", "rope"), ("model", "rnn", "bigram"),
                                              ("n_head", 3, "divisible"), ("window", None, "window"),
                                              ("dropout", 1.0, "dropout")])
def test_bad_config_is_a_user_error_listing_the_choices(field, value, hint):
    kw = {"mask": "window"} if field == "window" else {}
    kw[field] = value
    with pytest.raises(UserError, match=hint):
        check_config(tiny(**kw))


def test_config_round_trips_through_a_dict():
    cfg = tiny(pos="rope", score="squared")
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(UserError, match="unknown model config key"):
        ModelConfig.from_dict({**cfg.to_dict(), "n_layers": 3})
