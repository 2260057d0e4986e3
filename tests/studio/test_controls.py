"""The controls of the studio's second pass, through its API: the sampler's distribution at a clicked
position, heads turned off (checked against a model whose output projection reads nothing from those
heads), a hidden neuron's weights, the run list that never leaves --runs, and messages that name the
real folder and agree with each other."""

import copy
import json
import os
import shutil

import pytest
import torch

from nn2gpt.gpt.generate import filtered_probs
from nn2gpt.gpt.runs import load_model as load_gpt
from nn2gpt.nn.ablate import attention_layers, heads_off

TEXT = "First Citizen:\nBefore we proceed any further, hear me speak."


def zeroed(model, off: dict):
    """A copy of `model` whose output projections read nothing from the heads in `off` ({layer: [heads]}):
    the same as those heads writing zeros, done on the weights instead of through a hook."""
    clone = copy.deepcopy(model).eval()
    layers = [m for _, m in attention_layers(clone)]
    with torch.no_grad():
        for i, heads in off.items():
            for h in heads:
                hs = layers[i].proj.in_features // layers[i].n_head
                layers[i].proj.weight[:, h * hs:(h + 1) * hs] = 0
    return clone


def test_heads_off_is_a_forward_pass_with_those_heads_zeroed(runs_dir):
    model, tok, _ = load_gpt(runs_dir / "gpt")
    idx = torch.tensor([tok.encode(TEXT)[:32]])  # (1, T)
    with torch.no_grad():
        full, _ = model(idx)
        with heads_off(model, {1: [0]}):
            ablated, _ = model(idx)
        again, _ = model(idx)  # the hook is gone afterwards
        direct, _ = zeroed(model, {1: [0]})(idx)
    torch.testing.assert_close(ablated, direct)
    torch.testing.assert_close(again, full)
    assert (ablated - full).abs().max() > 1e-4  # the head did something


def test_the_next_token_distribution_follows_temperature_top_k_and_heads_off(client, runs_dir):
    model, tok, _ = load_gpt(runs_dir / "gpt")
    ids = tok.encode(TEXT)
    position = 20
    window = torch.tensor([ids[:position + 1]])
    for settings, off in (({"temperature": 0.5, "top_k": 3}, {}), ({"temperature": 1.7, "top_k": None}, {0: [1]})):
        body = {"run": "gpt", "text": TEXT, "position": position, **settings,
                "heads_off": [[l, h] for l in off for h in off[l]]}
        inspected = client.post("/api/gpt/inspect", json=body).json()
        slid = client.post("/api/gpt/next", json=body).json()
        with torch.no_grad():
            logits, _ = zeroed(model, off)(window)
        probs = filtered_probs(logits[:, -1], settings["temperature"], settings["top_k"])[0]
        probs = probs / probs.sum()
        expected = torch.topk(probs, min(10, int((probs > 0).sum())))  # only tokens the setting leaves
        for answer in (inspected, slid):
            assert [n["id"] for n in answer["next"]][:3] == expected.indices[:3].tolist()
            assert [n["p"] for n in answer["next"]] == pytest.approx(expected.values.tolist(), rel=1e-3, abs=1e-6)
            assert answer["settings"]["temperature"] == settings["temperature"]
            assert answer["following"]["id"] == ids[position + 1]  # the token that came next, marked
            assert answer["following"]["p"] == pytest.approx(float(probs[ids[position + 1]]), rel=1e-3)
        if settings["top_k"] == 3:  # three bars, no tokens of p = 0 padding them to ten
            assert len(inspected["next"]) == 3 and all(n["p"] > 0 for n in inspected["next"])
        assert inspected["off"] == body["heads_off"]


def test_greedy_and_the_end_of_the_text(client):
    a = client.post("/api/gpt/next", json={"run": "gpt", "text": "ROMEO:", "position": 5, "temperature": 0}).json()
    assert a["next"][0]["p"] == 1 and a["following"] is None


@pytest.mark.parametrize("heads,needle", [([[9, 0]], "not one of the model's 2 layers x 2 heads"),
                                          ([[0, "a"]], "not one of"), ("all", "list of [layer, head]")])
def test_bad_heads_off_are_one_line_400s(client, heads, needle):
    r = client.post("/api/gpt/next", json={"run": "gpt", "text": "ROMEO:", "position": 2, "heads_off": heads})
    assert r.status_code == 400 and needle in r.json()["error"], r.text


def test_every_head_of_a_12_by_12_model_is_shown_at_the_clicked_position(client):
    text = "The quick brown fox jumps over the lazy dog. " * 12
    a = client.post("/api/gpt/inspect", json={"run": "wide/gpt2-12x12", "text": text, "position": 70}).json()
    assert a["n_layer"] == 12 and a["n_head"] == 12 and len(a["attention"]) == 144
    assert len(a["attention"][0]["weights"]) == 64  # the block it reads
    recent = a["attention"][143]["recent"]
    assert len(recent) == len(recent[0]) == 12  # a thumbnail of the last positions, smaller for 144 heads
    assert all(sum(row) <= 1003 for row in recent)  # thousandths of weights over a row's last keys


def test_translation_with_a_head_off_is_the_zeroed_model_s(client, runs_dir):
    from nn2gpt.translate.decode import translate
    from nn2gpt.translate.evaluate import load_run, next_token_log_probs
    from nn2gpt.translate.lines import prepare_sentence

    sentence = "La pizza salió del horno y sabía bien."
    full = client.post("/api/translate", json={"run": "nested/translate", "sentence": sentence, "beam": 1}).json()
    assert full["layers"] == ["encoder 1 self", "encoder 2 self", "decoder 1 self", "decoder 1 cross",
                              "decoder 2 self", "decoder 2 cross"]
    off = {3: [0]}  # decoder 1's cross-attention, head 1
    body = {"run": "nested/translate", "sentence": sentence, "beam": 1, "heads_off": [[3, 0]]}
    ablated = client.post("/api/translate", json=body).json()
    assert ablated["off"] == [[3, 0]]
    model, tok, _ = load_run(runs_dir / "nested" / "translate")
    direct = zeroed(model, off)
    src = prepare_sentence(direct, tok, sentence)
    assert ablated["translation"] == translate(direct, tok, [src], 1)[0]  # the search, through the zeroed model
    english = "The pizza came out of the oven and tasted good."
    scored = client.post("/api/translate/score", json={**body, "translation": english}).json()
    ids, logp = next_token_log_probs(direct, tok, src, prepare_sentence(direct, tok, english))
    assert scored["log_prob"] == pytest.approx(float(logp.gather(-1, ids[:, None]).sum()), abs=1e-3)
    plain = client.post("/api/translate/score", json={**body, "heads_off": [], "translation": english}).json()
    assert scored["log_prob"] != pytest.approx(plain["log_prob"], abs=1e-4)


def test_a_hidden_neuron_s_incoming_weights(client, runs_dir):
    from nn2gpt.digits.model import load_model

    net, _ = load_model(runs_dir / "digits")
    n = client.get("/api/digits/neuron?run=digits&neuron=7").json()
    assert n["weights"] == pytest.approx(net.weights[0][7].tolist(), abs=1e-4) and len(n["weights"]) == 784
    assert n["bias"] == pytest.approx(float(net.biases[0][7, 0]), abs=1e-4)
    r = client.get("/api/digits/neuron?run=digits&neuron=30")
    assert r.status_code == 400 and "from 0 to 29" in r.json()["error"]


# ---- the run list and the messages ------------------------------------------------------------

def test_the_run_list_never_follows_a_link_out_of_runs(runs_dir, tmp_path, monkeypatch):
    from nn2gpt.studio import runs

    root = tmp_path / "runs"
    shutil.copytree(runs_dir / "gpt", root / "mine")
    (root / "inner").mkdir()
    os.symlink(root / "mine", root / "inner" / "same")  # inside: listed
    os.symlink("/", root / "slash")
    os.symlink(runs_dir / "digits", root / "elsewhere")
    os.symlink(runs_dir, root / "other-runs")
    looked = []
    real = runs.run_kind
    monkeypatch.setattr(runs, "run_kind", lambda p: looked.append(p.resolve()) or real(p))
    found = runs.find_runs(root)
    assert [r["name"] for r in found["gpt"]] == ["inner/same", "mine"] and found["digits"] == []
    assert all(root.resolve() in p.parents for p in looked), looked  # nothing outside was even read


def test_an_empty_field_means_the_default_for_every_setting(client):
    def text(body):
        with client.stream("POST", "/api/gpt/generate", json={"run": "gpt", "prompt": "ROMEO:", "seed": 1, **body}) as r:
            return "".join(json.loads(line[6:]).get("text", "") for line in r.iter_lines() if line.startswith("data: "))
    assert text({"temperature": None, "top_k": None, "max_new_tokens": None}) == text({"temperature": 1.0, "max_new_tokens": 300})


def test_messages_name_the_real_folder_and_what_to_do(tmp_path, runs_dir):
    from starlette.testclient import TestClient

    from nn2gpt.studio.server import StudioConfig, make_app

    root = tmp_path / "my-runs"
    (root / "empty").mkdir(parents=True)
    shutil.copytree(runs_dir / "gpt", root / "broken")
    meta = next((root / "broken").glob("ckpt-*")) / "meta.json"
    meta.write_text("{not json")
    with TestClient(make_app(StudioConfig(runs=str(root), port=8000)), base_url="http://127.0.0.1:8000") as c:
        empty = c.post("/api/gpt/inspect", json={"run": "empty", "text": "ROMEO:", "position": 0}).json()["error"]
        assert f"--out {(root / 'empty').resolve()}" in empty and "runs/gpt" not in empty
        broken = c.post("/api/gpt/inspect", json={"run": "broken", "text": "ROMEO:", "position": 0}).json()["error"]
        assert "the command that made it" not in broken and "cannot be read" in broken, broken
        assert c.get("/api/runs").json()["train_one"]["gpt"] == f"nn2gpt gpt train --out {root}/gpt"


def test_the_translation_to_compare_is_in_the_model_s_own_language(client):
    from nn2gpt.studio.translate import SLIP

    info = client.get("/api/translate/info?run=nested/translate").json()
    assert info["source_language"] == "es" and "knew well" in info["slip"]
    assert "knew" not in SLIP["de"]  # the German sentence's own slip, not the Spanish one
