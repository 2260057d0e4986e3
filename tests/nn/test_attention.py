import math

import pytest
import torch

from nn2gpt.nn import scores as S
from nn2gpt.nn.attention import KVCache, MultiHeadAttention, attention, fast_attention
from nn2gpt.nn.masks import MASKS, causal_mask, combine_masks, padding_mask, structural_mask
from nn2gpt.nn.positional import alibi_bias, alibi_slopes
from nn2gpt.nn.scores import SCORES, Score


def rand(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64)


# ------------------------------------------------------------------ masks


def allowed_by_definition(kind, i, j, w):
    return {"causal": j <= i, "anticausal": j >= i, "none": True, "window": i - w < j <= i}[kind]


@pytest.mark.parametrize("kind", MASKS)
@pytest.mark.parametrize("Tq,Tk", [(5, 5), (2, 6), (1, 4)])
def test_structural_masks_follow_their_definition(kind, Tq, Tk):
    m = structural_mask(kind, Tq, Tk, window=3)
    assert m.shape == (Tq, Tk) and m.dtype == torch.bool
    for qi in range(Tq):
        i = Tk - Tq + qi  # queries are the last Tq positions
        for j in range(Tk):
            assert bool(m[qi, j]) == allowed_by_definition(kind, i, j, 3)


def test_causal_mask_masks_the_upper_right_and_anticausal_the_lower_left():
    assert torch.equal(causal_mask(4), torch.ones(4, 4).tril().bool())
    assert torch.equal(structural_mask("anticausal", 4), torch.ones(4, 4).triu().bool())


def test_padding_combines_with_causal():
    pad = padding_mask(torch.tensor([3, 1]), 4)  # (B, Tk)
    assert pad.tolist() == [[True, True, True, False], [True, False, False, False]]
    both = combine_masks(causal_mask(4), pad[:, None, None, :])  # (B, 1, Tq, Tk)
    assert both.shape == (2, 1, 4, 4)
    assert both[0, 0, 3].tolist() == [True, True, True, False]
    assert both[1, 0, 2].tolist() == [True, False, False, False]


# ------------------------------------------------------------------ score functions, against loops


def naive_scores(name, q, k, params):
    B, nh, Tq, hs = q.shape
    Tk = k.size(2)
    out = torch.zeros(B, nh, Tq, Tk, dtype=q.dtype)
    for b in range(B):
        for h in range(nh):
            for i in range(Tq):
                for j in range(Tk):
                    x, y = q[b, h, i].tolist(), k[b, h, j].tolist()
                    d = sum(a * c for a, c in zip(x, y))
                    if name == "scaled_dot":
                        s = d / math.sqrt(hs)
                    elif name == "dot":
                        s = d
                    elif name == "squared":
                        s = sum(a * a * c * c for a, c in zip(x, y)) / math.sqrt(hs)
                    elif name == "neg_dot":
                        s = -d / math.sqrt(hs)
                    elif name == "inverse":
                        z = d / math.sqrt(hs)
                        s = z / (z * z + S.INVERSE_EPS)
                    elif name == "cosine":
                        nx, ny = math.sqrt(sum(a * a for a in x)), math.sqrt(sum(c * c for c in y))
                        s = d / (nx * ny) / math.exp(params["log_tau"][h].item())
                    elif name == "additive":
                        wq, wk, v = params["w_q"][h], params["w_k"][h], params["v"][h]
                        s = 0.0
                        for a in range(v.numel()):
                            pre = sum(x[e] * wq[e, a].item() + y[e] * wk[e, a].item() for e in range(hs))
                            s += v[a].item() * math.tanh(pre)
                    elif name == "neg_l2":
                        s = -sum((a - c) ** 2 for a, c in zip(x, y)) / math.sqrt(hs)
                    out[b, h, i, j] = s
    return out


@pytest.mark.parametrize("name", SCORES)
def test_each_score_function_matches_a_naive_loop(name):
    score = Score(name, 2, 4).double()
    with torch.no_grad():  # non-default parameter values, so the test sees them used
        for p in score.parameters():
            p.add_(rand(*p.shape, seed=3) * 0.3)
    q, k = rand(2, 2, 3, 4, seed=1), rand(2, 2, 5, 4, seed=2)
    params = dict(score.named_parameters())
    got = score(q, k)
    assert got.shape == (2, 2, 3, 5)
    assert torch.allclose(got, naive_scores(name, q, k, params), atol=1e-10)


def test_inverse_score_is_a_safe_sign_preserving_reciprocal():
    s = torch.tensor([-100.0, -3.0, -1e-9, 0.0, 1e-9, 0.5, 3.0, 100.0], dtype=torch.float64, requires_grad=True)
    q = s[:, None] * math.sqrt(1)  # hs = 1 so q·k/sqrt(hs) = s with k = 1
    k = torch.ones(1, 1, dtype=torch.float64)
    inv = S.inverse(q[None, None], k[None, None])[0, 0, :, 0]
    assert torch.equal(torch.sign(inv), torch.sign(s.detach()))  # sign kept, 0 -> 0
    big = s.detach().abs() >= 3
    assert torch.allclose(inv[big], 1 / s.detach()[big], rtol=2e-3)  # ~1/s away from 0
    assert inv.abs().max() <= 1 / (2 * math.sqrt(S.INVERSE_EPS)) + 1e-12  # bounded, no pole
    inv.sum().backward()
    assert torch.isfinite(s.grad).all()


# ------------------------------------------------------------------ manual == fast


def make_qkv(B=2, nh=3, Tq=6, Tk=6, hs=8):
    q = rand(B, nh, Tq, hs, seed=1).requires_grad_()
    k = rand(B, nh, Tk, hs, seed=2).requires_grad_()
    v = rand(B, nh, Tk, hs, seed=3).requires_grad_()
    return q, k, v


def grads_of(fn, q, k, v):
    out = fn(q, k, v)
    (out * rand(*out.shape, seed=9)).sum().backward()
    grads = [t.grad.clone() for t in (q, k, v)]
    for t in (q, k, v):
        t.grad = None
    return out.detach(), grads


CASES = {
    "none": dict(mask=None, bias=None, is_causal=False),
    "is_causal": dict(mask=None, bias=None, is_causal=True),
    "anticausal": dict(mask=structural_mask("anticausal", 6), bias=None, is_causal=False),
    "window+padding": dict(mask=combine_masks(structural_mask("window", 6, window=2),
                                              padding_mask(torch.tensor([6, 4]), 6)[:, None, None, :]),
                           bias=None, is_causal=False),
    "alibi+causal": dict(mask=causal_mask(6), bias=alibi_bias(alibi_slopes(3), 6, 6).double(), is_causal=False),
}


@pytest.mark.parametrize("case", CASES)
def test_manual_attention_equals_the_fast_path_outputs_and_gradients(case):
    c = CASES[case]
    mask = causal_mask(6) if c["is_causal"] else c["mask"]
    q, k, v = make_qkv()
    manual, g_manual = grads_of(lambda q, k, v: attention(q, k, v, mask, bias=c["bias"])[0], q, k, v)
    fast, g_fast = grads_of(lambda q, k, v: fast_attention(q, k, v, c["mask"], bias=c["bias"],
                                                           is_causal=c["is_causal"]), q, k, v)
    assert torch.allclose(manual, fast, atol=1e-10)
    for a, b in zip(g_manual, g_fast):
        assert torch.allclose(a, b, atol=1e-10)


def test_manual_attention_is_the_textbook_formula():
    q, k, v = make_qkv()
    mask = causal_mask(6)
    out, w = attention(q, k, v, mask)
    scores = torch.einsum("bhid,bhjd->bhij", q, k) / math.sqrt(8)
    scores = torch.where(mask, scores, torch.tensor(float("-inf"), dtype=scores.dtype))
    ref_w = scores.exp() / scores.exp().sum(-1, keepdim=True)
    assert torch.allclose(w, ref_w, atol=1e-12)
    assert torch.allclose(out, torch.einsum("bhij,bhjd->bhid", ref_w, v), atol=1e-12)


def test_rows_with_everything_masked_give_zero_and_no_nan():
    q, k, v = make_qkv()
    mask = padding_mask(torch.tensor([0, 3]), 6)[:, None, None, :]  # sequence 0 is all padding
    for fn in (lambda q, k, v: attention(q, k, v, mask)[0], lambda q, k, v: fast_attention(q, k, v, mask)):
        out, grads = grads_of(fn, q, k, v)
        assert torch.isfinite(out).all() and all(torch.isfinite(g).all() for g in grads)
        assert torch.equal(out[0], torch.zeros_like(out[0]))
    _, w = attention(q, k, v, mask)
    assert torch.equal(w[0], torch.zeros_like(w[0]))


# ------------------------------------------------------------------ MultiHeadAttention


def mha(**kw):
    torch.manual_seed(0)
    kw.setdefault("block_size", 16)
    return MultiHeadAttention(16, 4, **kw).double()


def changed_positions(layer, t, T=8):
    """Positions whose output changes when only the input at position t changes."""
    x = rand(1, T, 16, seed=5)
    x2 = x.clone()
    x2[0, t] += 1.0
    with torch.no_grad():
        diff = (layer(x2) - layer(x)).abs().amax(-1)[0]
    return [i for i in range(T) if diff[i] > 1e-12]


def test_causal_blocks_the_future_and_anticausal_lets_it_flow_backwards():
    assert changed_positions(mha(mask="causal"), 4) == [4, 5, 6, 7]  # only later positions see it
    assert changed_positions(mha(mask="anticausal"), 4) == [0, 1, 2, 3, 4]  # only earlier ones do
    assert changed_positions(mha(mask="window", window=2), 4) == [4, 5]
    assert changed_positions(mha(mask="none"), 4) == list(range(8))
    assert changed_positions(mha(mask="causal", pos="rope"), 3) == [3, 4, 5, 6, 7]
    assert changed_positions(mha(mask="anticausal", pos="alibi", score="squared"), 3) == [0, 1, 2, 3]


def test_padding_positions_receive_exactly_zero_attention():
    layer = mha(mask="none")
    x = rand(2, 5, 16)
    pad = padding_mask(torch.tensor([5, 2]), 5)  # (B, Tk)
    _, w = layer(x, mask=pad, return_weights=True)
    assert w.shape == (2, 4, 5, 5)
    assert torch.equal(w[1, :, :, 2:], torch.zeros_like(w[1, :, :, 2:]))
    assert torch.allclose(w.sum(-1), torch.ones(2, 4, 5, dtype=torch.float64))


@pytest.mark.parametrize("pos", ["none", "rope", "alibi"])
@pytest.mark.parametrize("mask", MASKS)
def test_module_fast_path_equals_manual_path(pos, mask):
    layer = mha(mask=mask, window=3 if mask == "window" else None, pos=pos)
    x = rand(2, 7, 16)
    fast = layer(x)  # scaled_dot, no weights requested -> fused kernel
    manual, w = layer(x, return_weights=True)  # weights requested -> written-out path
    assert torch.allclose(fast, manual, atol=1e-10)


@pytest.mark.parametrize("pos", ["none", "rope", "alibi"])
@pytest.mark.parametrize("mask,score", [("causal", "scaled_dot"), ("window", "cosine"), ("causal", "additive")])
def test_kv_cache_gives_the_same_outputs_as_the_full_sequence(pos, mask, score):
    layer = mha(mask=mask, window=3 if mask == "window" else None, pos=pos, score=score)
    x = rand(2, 9, 16)
    with torch.no_grad():
        full = layer(x)
        cache = KVCache(16)
        parts = [layer(x[:, :4], kv_cache=cache)]  # a prompt of 4, then one token at a time
        parts += [layer(x[:, t : t + 1], kv_cache=cache) for t in range(4, 9)]
    assert cache.length == 9
    assert torch.allclose(torch.cat(parts, 1), full, atol=1e-10)


def test_cross_attention_with_key_padding():
    layer = mha(cross=True, mask="none")
    assert {"q.weight", "kv.weight", "proj.weight"} <= set(dict(layer.named_parameters()))
    x, ctx = rand(2, 3, 16, seed=1), rand(2, 5, 16, seed=2).requires_grad_()
    pad = padding_mask(torch.tensor([5, 3]), 5)
    y, w = layer(x, context=ctx, mask=pad, return_weights=True)
    assert y.shape == (2, 3, 16) and w.shape == (2, 4, 3, 5)
    assert torch.equal(w[1, :, :, 3:], torch.zeros_like(w[1, :, :, 3:]))
    assert torch.allclose(layer(x, context=ctx, mask=pad), y, atol=1e-10)  # fast path agrees
    y.sum().backward()
    assert ctx.grad[1, 3:].abs().max() == 0 and ctx.grad[1, :3].abs().max() > 0  # padding gets no gradient


@pytest.mark.parametrize("score", SCORES)
def test_gradients_reach_every_parameter_for_every_score(score):
    layer = mha(score=score, pos="rope")
    layer(rand(2, 6, 16)).pow(2).sum().backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and p.grad.abs().max() > 0, name


def test_dropout_only_in_training():
    layer = mha(dropout=0.5, mask="causal")
    x = rand(1, 6, 16)
    layer.eval()
    a, b = layer(x), layer(x)
    assert torch.equal(a, b)
    layer.train()
    assert not torch.allclose(layer(x), a)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="choose from"):
        MultiHeadAttention(16, 4, score="cubic")
    with pytest.raises(ValueError, match="choose from"):
        MultiHeadAttention(16, 4, mask="diagonal")
    with pytest.raises(ValueError, match="window"):
        MultiHeadAttention(16, 4, mask="window")
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(15, 4)
