"""The GPT page's deeper views (nn2gpt.studio.lens), each checked against a computation done here:
the logit lens against a forward pass written out block by block, one head's map against the
attention weights of the library's own heatmaps, a compared position against /api/gpt/next, and the
bars' "was" against the model with every head on."""

import math

import pytest
import torch
import torch.nn.functional as F

from nn2gpt.gpt.runs import load_model
from nn2gpt.gpt.variants import ModelConfig, build_model
from nn2gpt.studio import lens

TEXT = "ROMEO:\nBut soft, what light through yonder window breaks?\nIt is the east."


def by_hand(model, ids: list[int]) -> list[torch.Tensor]:
    """The road GPT's residual stream at the last position, written out: the embedding, then after each
    block's attention and its MLP, each read through ln_f and the tied head; softmax probabilities (V,)."""
    C, nh = model.cfg.n_embd, model.cfg.n_head
    hs, W = C // nh, len(ids)
    x = model.tok_emb.weight[ids] + model.pos_emb.weight[:W]  # (W, C)
    norm = lambda h, ln: F.layer_norm(h, (C,), ln.weight, ln.bias, 1e-5)
    read = lambda h: torch.softmax(norm(h[-1], model.ln_f) @ model.tok_emb.weight.T, -1)  # (V,)
    out = [read(x)]
    for b in model.blocks:
        q, k, v = (norm(x, b.ln1) @ b.attn.qkv.weight.T + b.attn.qkv.bias).split(C, -1)  # (W, C) each
        heads = []
        for h in range(nh):
            s = slice(h * hs, (h + 1) * hs)
            scores = q[:, s] @ k[:, s].T / math.sqrt(hs)  # (W, W)
            scores = scores.masked_fill(torch.ones(W, W, dtype=torch.bool).triu(1), float("-inf"))
            heads.append(torch.softmax(scores, -1) @ v[:, s])  # (W, hs)
        x = x + torch.cat(heads, -1) @ b.attn.proj.weight.T + b.attn.proj.bias
        out.append(read(x))
        hidden = F.gelu(norm(x, b.ln2) @ b.mlp.fc.weight.T + b.mlp.fc.bias, approximate="tanh")
        x = x + hidden @ b.mlp.proj.weight.T + b.mlp.proj.bias
        out.append(read(x))
    return out


def test_the_logit_lens_is_a_forward_pass_read_after_every_attention_and_mlp(client, runs_dir):
    model, tok, _ = load_model(runs_dir / "gpt")
    ids = tok.encode(TEXT)
    position = 40
    answer = client.post("/api/gpt/lens", json={"run": "gpt", "text": TEXT, "position": position}).json()
    assert [r["label"] for r in answer["rows"]] == ["embedding", "block 1 attention", "block 1 MLP",
                                                    "block 2 attention", "block 2 MLP"]
    with torch.no_grad():
        want = by_hand(model, ids[max(0, position - 31):position + 1])
        logits = model(torch.tensor([ids[max(0, position - 31):position + 1]]))[0][0, -1]
    assert torch.allclose(want[-1], torch.softmax(logits, -1), atol=1e-5)  # the hand-written pass is the model
    following = ids[position + 1]
    assert answer["following"]["id"] == following
    for row, probs in zip(answer["rows"], want):
        top = torch.topk(probs, 5)
        assert [t["id"] for t in row["top"]] == top.indices.tolist()
        assert [t["p"] for t in row["top"]] == pytest.approx(top.values.tolist(), rel=1e-3)
        assert row["following"]["p"] == pytest.approx(float(probs[following]), rel=1e-3)
        assert row["following"]["rank"] == int((probs > probs[following]).sum()) + 1


def test_the_lens_with_a_head_off_ends_at_the_bars_with_that_head_off(client):
    ask = {"run": "gpt", "text": TEXT, "position": 20, "heads_off": [[1, 0]]}
    last = client.post("/api/gpt/lens", json=ask).json()["rows"][-1]
    bars = client.post("/api/gpt/next", json=ask | {"temperature": 1}).json()
    full = client.post("/api/gpt/lens", json=ask | {"heads_off": []}).json()["rows"][-1]
    assert [t["id"] for t in last["top"]] == [n["id"] for n in bars["next"][:5]]
    assert [t["p"] for t in last["top"]] == pytest.approx([n["p"] for n in bars["next"][:5]], rel=1e-3)
    assert [t["p"] for t in last["top"]] != [t["p"] for t in full["top"]]  # the head did something


@pytest.mark.parametrize("cfg", [dict(pos="rope", untie=True, softcap=15.0),
                                 dict(pos="alibi", mlp="relu2", qk_norm=True),
                                 dict(model="multihead"), dict(model="attention"), dict(model="bigram")])
def test_the_lens_reads_every_kind_of_model_and_ends_at_its_output(cfg):
    """Chapter 4's and 6's variants and the road's earlier models: the last reading is the model's own output,
    and a GPT's readings after each MLP are the stream after each whole block."""
    torch.manual_seed(0)
    size = {"vocab_size": 30, "block_size": 16, "n_layer": 2, "n_head": 2, "n_embd": 16}
    model = build_model(ModelConfig(**size | cfg))
    model.eval()
    idx = torch.randint(0, 30, (1, 12))
    with torch.no_grad():
        found = lens.readings(model, idx)
        assert torch.allclose(found[-1][1], model(idx)[0][0, -1], atol=1e-5)
        if hasattr(model, "blocks"):
            x = model.embed(idx)
            for i, block in enumerate(model.blocks):
                x = block(x)
                assert torch.allclose(found[2 + 2 * i][1], model.head(model.ln_f(x))[0, -1], atol=1e-5)
    want = {"bigram": 1, "attention": 2, "multihead": 3}.get(model.cfg.model, 1 + 2 * 2)
    assert len(found) == want


def test_the_lens_of_a_12_layer_gpt2_sized_model(client, runs_dir):
    model, tok, _ = load_model(runs_dir / "wide" / "gpt2-12x12")
    rows = client.post("/api/gpt/lens", json={"run": "wide/gpt2-12x12", "text": TEXT, "position": 5}).json()["rows"]
    assert len(rows) == 1 + 2 * 12 and rows[-1]["label"] == "block 12 MLP"
    with torch.no_grad():
        probs = torch.softmax(model(torch.tensor([tok.encode(TEXT)[:6]]))[0][0, -1], -1)
    assert rows[-1]["top"][0]["id"] == int(probs.argmax())
    assert rows[-1]["top"][0]["p"] == pytest.approx(float(probs.max()), rel=1e-3)


def test_one_head_over_the_whole_text_is_the_library_s_own_map(client, runs_dir):
    from nn2gpt.gpt.heatmaps import attention_weights

    model, tok, _ = load_model(runs_dir / "gpt")
    ids = tok.encode(TEXT)
    got = client.post("/api/gpt/head", json={"run": "gpt", "text": TEXT, "position": 50, "layer": 1, "head": 0}).json()
    assert got["start"] == 50 + 1 - 32 and len(got["rows"]) == 32 and "".join(got["tokens"]) == tok.decode(ids[19:51])
    want = attention_weights(model, torch.tensor([ids[19:51]]))[1][0]  # (32, 32)
    for i, row in enumerate(got["rows"]):
        assert len(row) == i + 1  # the causal map: query i reads keys 0..i
        assert [w / 1000 for w in row] == pytest.approx(want[i, :i + 1].tolist(), abs=6e-4)


def test_a_second_position_has_the_bars_and_the_row_of_its_own_pass(client):
    ask = {"run": "gpt", "text": TEXT, "position": 12, "temperature": 0.7, "top_k": 5}
    got = client.post("/api/gpt/position", json=ask | {"layer": 0, "head": 1}).json()
    bars = client.post("/api/gpt/next", json=ask).json()
    inspected = client.post("/api/gpt/inspect", json=ask).json()
    assert got["next"] == bars["next"] and got["following"] == bars["following"] and len(got["next"]) == 5
    assert got["row"] == pytest.approx(inspected["attention"][1]["weights"], abs=1e-4)  # layer 1, head 2


def test_was_is_the_full_model_s_probability_of_any_token(client, runs_dir):
    from nn2gpt.studio.gpt import distribution

    model, tok, _ = load_model(runs_dir / "gpt")
    ids = tok.encode(TEXT)
    with torch.no_grad():
        logits = model(torch.tensor([ids[:31]]))[0][0, -1]
    probs = distribution(logits, {"temperature": 0.8, "top_k": None, "top_p": None})
    least = torch.argsort(probs)[:3].tolist()  # far outside any top 10
    got = client.post("/api/gpt/was", json={"run": "gpt", "text": TEXT, "position": 30, "temperature": 0.8,
                                            "ids": least}).json()
    assert got["p"] == pytest.approx(probs[least].tolist(), rel=1e-3)
    assert got["logit"] == pytest.approx(logits[least].tolist(), abs=1e-3)


def test_the_bars_carry_raw_logits_and_no_padding_under_top_k(client, runs_dir):
    model, tok, _ = load_model(runs_dir / "gpt")
    ids = tok.encode(TEXT)
    got = client.post("/api/gpt/next", json={"run": "gpt", "text": TEXT, "position": 30, "top_k": 3}).json()
    assert len(got["next"]) == 3
    with torch.no_grad():
        logits = model(torch.tensor([ids[:31]]))[0][0, -1]
    assert [n["logit"] for n in got["next"]] == pytest.approx(torch.topk(logits, 3).values.tolist(), abs=1e-3)


@pytest.mark.parametrize("path, body, needle", [
    ("/api/gpt/lens", {"position": 999}, "position"), ("/api/gpt/head", {"layer": 2, "head": 0}, "layer"),
    ("/api/gpt/head", {"layer": 0, "head": -1}, "head"), ("/api/gpt/position", {"layer": "0", "head": 0}, "layer"),
    ("/api/gpt/was", {"ids": [10**9]}, "ids"), ("/api/gpt/was", {"ids": "e"}, "ids"),
    ("/api/gpt/lens", {"heads_off": [[5, 5]]}, "head"), ("/api/gpt/lens", {"text": ""}, "empty")])
def test_bad_requests_are_one_line(client, path, body, needle):
    r = client.post(path, json={"run": "gpt", "text": TEXT, "position": 3} | body)
    assert r.status_code == 400 and needle in r.json()["error"] and "\n" not in r.json()["error"]


LENS_ROUTES = [("/api/gpt/lens", {}), ("/api/gpt/head", {"layer": 1, "head": 0}),
               ("/api/gpt/position", {"layer": 0, "head": 1}), ("/api/gpt/was", {"ids": [3, 5]})]


def test_every_lens_answer_carries_its_run_s_identity_and_a_retrained_run_the_new_one(client, runs_dir):
    import shutil
    import time

    from tests.studio.test_runs_change import listed

    copy = runs_dir / "gpt-lens-again"
    shutil.copytree(runs_dir / "gpt", copy)
    try:
        ask = {"run": "gpt-lens-again", "text": TEXT, "position": 9}
        before = listed(client, "gpt", "gpt-lens-again")["identity"]
        for path, body in LENS_ROUTES:
            got = client.post(path, json=ask | body).json()
            assert (got["run"], got["identity"]) == ("gpt-lens-again", before), path
        weights = copy / (copy / "latest").read_text().strip() / "weights.safetensors"
        time.sleep(0.01)
        weights.write_bytes(weights.read_bytes())  # trained again into the same folder
        after = listed(client, "gpt", "gpt-lens-again")["identity"]
        assert after != before
        for path, body in LENS_ROUTES:
            assert client.post(path, json=ask | body).json()["identity"] == after, path
    finally:
        shutil.rmtree(copy)


@pytest.mark.parametrize("run, off", [("gpt", {}), ("gpt", {1: [0]}), ("wide/gpt2-12x12", {3: [2]})])
def test_the_views_read_from_the_kept_pass_what_their_own_pass_computes(runs_dir, monkeypatch, run, off):
    model, tok, _ = load_model(runs_dir / run)
    ids = tok.encode(TEXT * 3)[:60]
    start, position = max(0, 60 - model.cfg.block_size), 59  # the gpt's block is 32: the window of the last token
    kept = (lens.lens_logits(model, ids, start, position, off), lens.head_weights(model, ids, start, position, 1, 1, off),
            lens.at_position(model, ids, start, position, off))
    monkeypatch.setattr(lens, "_kept", lambda *args: None)  # every view runs its own pass
    own = (lens.lens_logits(model, ids, start, position, off), lens.head_weights(model, ids, start, position, 1, 1, off),
           lens.at_position(model, ids, start, position, off))
    assert [label for label, _ in kept[0]] == [label for label, _ in own[0]] and len(own[0]) == 1 + 2 * model.cfg.n_layer
    for (_, a), (_, b) in zip(kept[0], own[0]):
        torch.testing.assert_close(torch.softmax(a.double(), -1), torch.softmax(b.double(), -1), atol=1e-6, rtol=0)
    torch.testing.assert_close(kept[1], own[1], atol=1e-6, rtol=0)
    assert kept[1].shape == (60 - start, 60 - start)
    for a, b in zip(kept[2][0], own[2][0]):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
    torch.testing.assert_close(torch.softmax(kept[2][1].double(), -1), torch.softmax(own[2][1].double(), -1),
                               atol=1e-6, rtol=0)


def test_the_lens_routes_read_one_kept_pass_and_run_no_forward_pass_again(app, client, monkeypatch):
    from nn2gpt.studio import passes

    model = app.state.studio.model("gpt", "gpt")[0]
    calls = []

    def counted(module, name):
        forward = module.forward
        monkeypatch.setattr(module, "forward", lambda *a, **k: calls.append(name) or forward(*a, **k))

    counted(model, "model")
    for i, block in enumerate(model.blocks):
        counted(block, f"block {i}")
    text = TEXT.replace("ROMEO", "TYBALT")  # a text no earlier test read
    for off, blocks in (([[1, 0]], ["block 0", "block 1"]), ([], ["block 1"])):  # no head off: resumed at block 2
        ask = {"run": "gpt", "text": text, "position": 30, "heads_off": off}
        n = passes.counts["passes"]
        first = [client.post(path, json=ask | body).json() for path, body in LENS_ROUTES if path != "/api/gpt/was"]
        assert calls == blocks and passes.counts["passes"] == n + 1  # one pass for the lens, the map and the bars
        calls.clear()
        again = [client.post(path, json=ask | body).json() for path, body in LENS_ROUTES if path != "/api/gpt/was"]
        assert calls == [] and passes.counts["passes"] == n + 1 and again == first
    was = client.post("/api/gpt/was", json={"run": "gpt", "text": text, "position": 30, "ids": [3, 5]}).json()
    assert calls == [] and passes.counts["passes"] == n + 1  # the bars with every head on: the same plain pass
    tok = app.state.studio.model("gpt", "gpt")[1]
    with torch.no_grad():
        probs = torch.softmax(model(torch.tensor([tok.encode(text)[:31]]))[0][0, -1], -1)
    assert was["p"] == pytest.approx(probs[[3, 5]].tolist(), rel=1e-3)


def test_a_costly_pass_with_heads_off_stops_at_the_clicked_position(runs_dir, monkeypatch):
    """At GPT-2's size a click with a head off recomputes tokens 0..p only: what a causal model's row p reads."""
    from nn2gpt.studio import passes

    model, _, _ = load_model(runs_dir / "wide" / "gpt2-12x12")
    ids = list(range(600, 660))  # 60 tokens, block 64
    off = {2: [3]}
    whole, _ = passes.at(model, ids, 0, 20, off)
    assert len(whole.ids) == 60  # a small model: the pass over the whole text answers every later click
    monkeypatch.setattr(passes, "WHOLE", 0)  # as costly as GPT-2's size
    assert passes._cost(model, 0, 256) > 0
    passes.forget(model)
    plain, _ = passes.at(model, ids, 0, 59, {})
    n, resumed = passes.counts["passes"], passes.counts["resumed"]
    short, i = passes.at(model, ids, 0, 20, off | {5: [1]})
    assert (len(short.ids), i, passes.counts["passes"], passes.counts["resumed"]) == (21, 20, n + 1, resumed + 1)
    full = passes._compute(model, 0, tuple(ids), passes.off_key(off | {5: [1]}), [])  # the whole text, from the embedding
    torch.testing.assert_close(short.logits_at(model, i), full.logits_at(model, i), atol=1e-6, rtol=0)
    for a, b in zip(short.weights, full.weights):
        torch.testing.assert_close(a, b[:, :21, :21], atol=1e-6, rtol=0)
    assert passes.at(model, ids, 0, 12, off | {5: [1]})[0] is short and passes.counts["passes"] == n + 2
    longer, i = passes.at(model, ids, 0, 40, off | {5: [1]})  # past what it covers: a pass of its own
    assert (len(longer.ids), i, passes.counts["passes"]) == (41, 40, n + 3)
    torch.testing.assert_close(longer.logits_at(model, i), full.logits_at(model, i), atol=1e-6, rtol=0)
    kept = passes._KEPT[model]
    assert passes.held(kept) < sum(p.nbytes() for p in kept)  # the lower layers are the plain pass's own
    monkeypatch.setattr(passes, "WHOLE", passes._cost(model, 11, 60))  # one block over the text is cheap enough
    more = off | {5: [1], 11: [0]}
    top, i = passes.at(model, ids, 0, 30, more)  # from the plain pass, 10 blocks: costly, so up to 30, resumed
    # from the pass up to 40 (the same heads off below block 12): block 12 alone
    assert (len(top.ids), passes.counts["resumed"]) == (31, resumed + 3)
    assert top.inputs[10] is not longer.inputs[10] and top.inputs[10].data_ptr() == longer.inputs[10].data_ptr()
    full = passes._compute(model, 0, tuple(ids), passes.off_key(more), [])
    torch.testing.assert_close(top.logits_at(model, i), full.logits_at(model, i), atol=1e-6, rtol=0)
    for p in passes._KEPT[model]:  # every kept pass holds a row for each token it says it covers
        assert all(x.shape[0] == len(p.ids) for x in [*p.inputs, p.finals]) and p.weights[-1].shape[-1] == len(p.ids)
