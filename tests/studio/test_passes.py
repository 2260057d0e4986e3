"""The kept passes behind every click on the GPT page, and the models laid out for serving: each fast
answer is the plain computation's, and a kept pass is used only for the text, heads and model it read."""

import pytest
import torch

from nn2gpt.gpt.heatmaps import look_inside
from nn2gpt.gpt.runs import load_model as load_gpt
from nn2gpt.nn.ablate import heads_off
from nn2gpt.studio import gpt, passes, serving

SETTINGS = {"temperature": 1.0, "top_k": None, "top_p": None}


def direct(model, ids, off):
    """The plain computation: one forward pass over exactly `ids` with `off` off."""
    with heads_off(model, off):
        weights, logits = look_inside(model, torch.tensor([ids]))
    return weights, logits[0, -1]


@pytest.fixture
def wide(runs_dir):
    model, tok, _ = load_gpt(runs_dir / "wide" / "gpt2-12x12")  # 12 x 12 heads, block 64
    return model, tok


def test_one_kept_pass_answers_every_position_as_its_own_window_would(wide):
    model, _ = wide
    ids = list(range(100, 150))  # 50 tokens, inside the block
    before = passes.counts["passes"]
    for position in (49, 7, 30):
        kept, i = passes.at(model, ids, 0, position, {})
        weights, logits = direct(model, ids[:position + 1], {})
        torch.testing.assert_close(kept.logits_at(model, i), logits, atol=1e-5, rtol=1e-4)
        for l, w in enumerate(weights):
            torch.testing.assert_close(kept.weights[l][:, i, :i + 1], w[:, -1], atol=1e-6, rtol=1e-5)
    assert passes.counts["passes"] == before + 1  # one pass over the text, three clicks


def test_a_pass_with_heads_off_resumes_a_kept_one_and_equals_a_full_pass(wide):
    model, _ = wide
    ids = list(range(200, 240))
    passes.at(model, ids, 0, 39, {})  # the plain pass: every block's input kept
    resumed = passes.counts["resumed"]
    for off in ({7: [3]}, {7: [3], 10: [0, 11]}, {2: [1]}):
        kept, i = passes.at(model, ids, 0, 39, off)
        full = passes._compute(model, 0, tuple(ids), passes.off_key(off), [])  # from the embedding up
        assert torch.equal(kept.finals, full.finals)  # the same blocks on the same inputs: the same numbers
        assert all(torch.equal(a, b) for a, b in zip(kept.weights, full.weights))
        weights, logits = direct(model, ids, off)
        torch.testing.assert_close(kept.logits_at(model, i), logits, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(kept.weights[9], weights[9], atol=1e-6, rtol=1e-5)
    assert passes.counts["resumed"] == resumed + 3


def test_a_kept_pass_is_used_only_for_its_text_heads_and_model(wide, runs_dir):
    model, _ = wide
    ids = list(range(300, 330))
    count = lambda: passes.counts["passes"]
    passes.at(model, ids, 0, 10, {})
    n = count()
    passes.at(model, ids, 0, 25, {})
    assert count() == n  # another position of the same text
    passes.at(model, ids[:-1] + [7], 0, 25, {})
    assert count() == n + 1  # the text changed
    off, _ = passes.at(model, ids, 0, 25, {0: [1]})
    assert count() == n + 2 and off.off == ((0, (1,)),)  # heads off
    plain, _ = passes.at(model, ids, 0, 25, {})
    assert count() == n + 2 and plain.off == ()  # back on: the kept plain pass
    again, _, _ = load_gpt(runs_dir / "wide" / "gpt2-12x12")  # the run loaded again: a model of its own
    passes.at(again, ids, 0, 25, {})
    assert count() == n + 3


def test_passes_are_kept_within_their_memory(wide, monkeypatch):
    model, _ = wide
    passes.forget(model)
    ids = list(range(400, 420))
    monkeypatch.setattr(passes, "MEMORY", 1000)  # smaller than any pass: none is kept
    n = passes.counts["passes"]
    kept, i = passes.at(model, ids, 0, 5, {})
    passes.at(model, ids, 0, 5, {})
    assert passes.counts["passes"] == n + 2
    assert (len(kept.ids), i) == (6, 5)  # too big to keep over the whole text: the window up to the position
    torch.testing.assert_close(kept.logits_at(model, i), direct(model, ids[:6], {})[1], atol=1e-5, rtol=1e-4)
    monkeypatch.setattr(passes, "MEMORY", 2**40)
    monkeypatch.setattr(passes, "MOST", 2)
    for k in range(4):
        passes.at(model, ids[:-1] + [k], 0, 5, {})
    assert len(passes._KEPT[model]) == 2


def test_past_the_block_and_without_a_causal_mask_a_pass_reads_the_one_window(runs_dir, wide):
    from nn2gpt.gpt.variants import ModelConfig, build_model

    model, _ = wide
    ids = list(range(1000, 1100))  # 100 tokens, block 64
    kept, i = passes.at(model, ids, 100 - 64, 99, {})
    assert (kept.start, len(kept.ids), i) == (36, 64, 63)
    torch.testing.assert_close(kept.logits_at(model, i), direct(model, ids[36:], {})[1], atol=1e-5, rtol=1e-4)
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=50, block_size=16, n_layer=2, n_head=2, n_embd=16, mask="none")
    sees_all = build_model(cfg).eval()
    ids = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]
    kept, i = passes.at(sees_all, ids, 0, 4, {})
    assert len(kept.ids) == 5  # position 4 would see later tokens in a pass over the whole text
    torch.testing.assert_close(kept.logits_at(sees_all, i), direct(sees_all, ids[:5], {})[1], atol=1e-5, rtol=1e-4)


def test_the_rows_and_thumbnails_are_the_weights_rounded(wide):
    model, _ = wide
    ids = list(range(500, 540))
    kept, i = passes.at(model, ids, 0, 30, {})
    rows = passes.attention_at(kept, i, 12)
    assert len(rows) == 144 and [rows[13]["layer"], rows[13]["head"]] == [1, 1]
    w = kept.weights[1][1]
    assert rows[13]["weights"] == pytest.approx([round(float(x), 4) for x in w[i, :i + 1]], abs=1e-9)
    assert rows[13]["recent"] == (w[i - 11:i + 1, i - 11:i + 1] * 1000).round().int().tolist()


def test_inspect_and_the_bars_read_the_same_kept_pass(client, runs_dir):
    text = "The quick brown fox jumps over the lazy dog. " * 3
    ask = {"run": "wide/gpt2-12x12", "text": text, "position": 20, "heads_off": [[4, 2]]}
    a = client.post("/api/gpt/inspect", json=ask).json()
    n = passes.counts["passes"]
    b = client.post("/api/gpt/next", json=ask).json()
    c = client.post("/api/gpt/inspect", json=ask | {"position": 25}).json()
    assert passes.counts["passes"] == n  # a slider and a second click: no pass
    assert b["next"] == a["next"] and c["position"] == 25 and len(c["attention"][0]["weights"]) == 26
    model, tok, _ = load_gpt(runs_dir / "wide" / "gpt2-12x12")
    _, logits = direct(model, tok.encode(text)[:26], {4: [2]})
    top = torch.topk(logits.softmax(-1), 10)
    assert [x["id"] for x in c["next"]] == top.indices.tolist()


def test_a_model_laid_out_for_serving_computes_what_it_did(runs_dir):
    model, tok, _ = load_gpt(runs_dir / "wide" / "gpt2-12x12")
    idx = torch.tensor([tok.encode("ROMEO: what light")])
    with torch.no_grad():
        before = model(idx)[0]
        steps = model.generate(idx, 8, temperature=0)
    serving.prepare("gpt", (model, tok, {}))
    w = model.blocks[0].mlp.fc.weight
    assert not w.is_contiguous() and w.t().is_contiguous()  # stored column by column
    with torch.no_grad():
        torch.testing.assert_close(model(idx)[0], before, atol=1e-5, rtol=1e-4)
        assert torch.equal(model.generate(idx, 8, temperature=0), steps)  # with the KV cache, token by token


def test_a_generated_text_s_pass_is_made_as_its_stream_ends(client):
    import json

    with client.stream("POST", "/api/gpt/generate", json={"run": "wide/gpt2-12x12", "prompt": "ROMEO:",
                                                          "max_new_tokens": 12, "seed": 1}) as r:
        got = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]
    text = "".join(got[-1]["tokens"])
    n = passes.counts["passes"]
    a = client.post("/api/gpt/inspect", json={"run": "wide/gpt2-12x12", "text": text, "position": 4}).json()
    assert passes.counts["passes"] == n and a["position"] == 4  # the first click read the kept pass
    client.post("/api/gpt/inspect", json={"run": "wide/gpt2-12x12", "text": text + "!", "position": 4})
    assert passes.counts["passes"] == n + 1  # another text: a pass of its own


def test_the_studio_s_threads_are_set_for_the_whole_process(runs_dir, capsys):
    from nn2gpt.cli import main
    from nn2gpt.studio.server import StudioConfig, use_threads

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        use_threads(StudioConfig(threads=1))
        assert torch.get_num_threads() == 1 and not passes.widen  # --threads 1: every answer in one thread
        torch.set_num_threads(2)
        use_threads(StudioConfig(threads=None))  # the default: one, costly passes widened
        assert torch.get_num_threads() == 1 and passes.widen
    finally:
        torch.set_num_threads(before)
        passes.widen = False
    assert main(["studio", "--runs", str(runs_dir), "--threads", "0", "--list"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "threads" in err


def test_a_costly_pass_runs_on_the_free_cores_and_the_rest_in_one_thread(runs_dir, monkeypatch):
    from nn2gpt import machine
    from nn2gpt.gpt.runs import load_model

    model, tok, _ = load_model(runs_dir / "gpt")
    seen = []
    model.blocks[-1].register_forward_pre_hook(lambda m, a: seen.append(torch.get_num_threads()))  # every pass runs it
    ids = tok.encode("ROMEO: what light")
    before = torch.get_num_threads()
    free = {"cores": 2}
    monkeypatch.setattr(machine, "free_cores", lambda: free["cores"])
    try:
        torch.set_num_threads(1)
        monkeypatch.setattr(passes, "widen", True)
        monkeypatch.setattr(passes, "WIDE", 0.0)  # every pass counts as costly here
        passes.forget(model)
        passes.at(model, ids, 0, len(ids) - 1, {})
        assert seen == [2] and torch.get_num_threads() == 1  # widened for the pass, then one thread again
        free["cores"] = 1  # the machine busy: one thread
        passes.at(model, ids, 0, len(ids) - 1, {0: [0]})
        assert seen[-1] == 1
        free["cores"] = 2
        monkeypatch.setattr(passes, "WIDE", float("inf"))  # a cheap pass: left in one thread
        passes.at(model, ids, 0, len(ids) - 1, {0: [1]})
        assert seen[-1] == 1
        monkeypatch.setattr(passes, "WIDE", 0.0)
        monkeypatch.setattr(passes, "widen", False)  # --threads given: never widened
        passes.at(model, ids, 0, len(ids) - 1, {1: [0]})
        assert seen[-1] == 1
    finally:
        passes.forget(model)
        torch.set_num_threads(before)


def test_each_streamed_token_of_a_big_model_runs_on_the_free_cores_and_a_small_ones_in_one_thread(runs_dir,
                                                                                                   monkeypatch):
    import threading

    from nn2gpt import machine
    from nn2gpt.gpt.perf import num_params

    model, tok, _ = load_gpt(runs_dir / "gpt")
    seen = []
    model.blocks[-1].register_forward_pre_hook(lambda m, a: seen.append(torch.get_num_threads()))
    settings = {"max_new_tokens": 4, "temperature": 1.0, "top_k": None, "top_p": None, "seed": 0}
    monkeypatch.setattr(machine, "free_cores", lambda: 2)
    monkeypatch.setattr(passes, "widen", True)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert num_params(model) < passes.TOKEN_WIDE   # the small model: one thread
        list(gpt.generate_events(model, tok, "ROMEO:", dict(settings), threading.Lock()))
        assert seen and set(seen) == {1}, seen
        monkeypatch.setattr(passes, "TOKEN_WIDE", 0.0)                         # as big as GPT-2 small
        seen.clear()
        ends = list(gpt.generate_events(model, tok, "ROMEO:", dict(settings), threading.Lock()))
        assert seen[:4] == [2, 2, 2, 2], seen      # the prompt's pass and each token widened...
        assert torch.get_num_threads() == 1        # ...and one thread again once the stream has ended
        assert '"new_tokens": 4' in ends[-1]
    finally:
        passes.forget(model)
        torch.set_num_threads(before)
