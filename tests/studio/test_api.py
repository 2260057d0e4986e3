"""The studio's JSON API, on tiny runs made in the test, each answer checked against the library's
own path (the command line's functions, or the model run directly)."""

import json
import math
import shutil

import numpy as np
import pytest
import torch

from nn2gpt.gpt.runs import load_model as load_gpt


def seven(side=140) -> np.ndarray:
    """A 7 drawn as a person would: a bar at the top and a stroke down to the lower left (0 = ink, 255 = paper)."""
    g = np.full((side, side), 255.0)
    for t in np.linspace(0, 1, 400):
        for x, y in ((30 + 80 * t, 30), (110 - 50 * t, 30 + 90 * t)):
            g[int(y) - 5:int(y) + 5, int(x) - 5:int(x) + 5] = 0
    return g


def canvas(gray) -> dict:
    h, w = gray.shape
    return {"width": w, "height": h, "pixels": gray.astype(int).ravel().tolist()}


def error(response, status=400) -> str:
    assert response.status_code == status, response.text
    message = response.json()["error"]
    assert "\n" not in message and "Traceback" not in message
    return message


# ---- runs -------------------------------------------------------------------------------------

def test_every_chapter_s_runs_are_found_nested_ones_too(runs_dir, tmp_path):
    """A runs folder of its own (other tests add runs to the shared one): exactly its runs are listed,
    nested ones too, and one added later appears on the next request."""
    from starlette.testclient import TestClient

    from nn2gpt.studio.server import StudioConfig, make_app

    own = tmp_path / "runs"
    for name in ("digits", "gpt", "nested/translate", "lab"):
        shutil.copytree(runs_dir / name, own / name)
    with TestClient(make_app(StudioConfig(runs=str(own), port=8000)), base_url="http://127.0.0.1:8000") as c:
        runs = c.get("/api/runs").json()["runs"]
        assert [r["name"] for r in runs["digits"]] == ["digits"]
        assert [r["name"] for r in runs["gpt"]] == ["gpt"]
        assert [r["name"] for r in runs["translate"]] == ["nested/translate"]
        assert [r["name"] for r in runs["lab"]] == ["lab"]
        assert "test" in runs["digits"][0]["summary"] and "val" in runs["gpt"][0]["summary"]
        shutil.copytree(runs_dir / "gpt", own / "deeper" / "still" / "gpt")
        assert [r["name"] for r in c.get("/api/runs").json()["runs"]["gpt"]] == ["deeper/still/gpt", "gpt"]


def test_the_page_and_its_assets_are_served_by_the_package(client):
    page = client.get("/")
    assert page.status_code == 200 and "nn2gpt studio" in page.text
    from nn2gpt.studio.server import STATIC

    assets = sorted(p.name for p in STATIC.iterdir())  # every file the page is made of
    assert {"app.js", "runs.js", "strip.js", "lens.js", "gpt.js", "studio.css"} <= set(assets)
    for asset in assets:
        assert client.get(f"/static/{asset}").status_code == 200
    assert "http://" not in page.text and "https://" not in page.text  # nothing fetched from elsewhere


# ---- digits -----------------------------------------------------------------------------------

def test_a_drawn_seven_goes_the_way_of_digits_predict(client, runs_dir, tmp_path):
    from PIL import Image

    from nn2gpt.digits.image import load_digit
    from nn2gpt.digits.model import load_model

    gray = seven()
    answer = client.post("/api/digits/predict", json={"run": "digits", **canvas(gray)}).json()
    assert answer["digit"] == 7
    assert len(answer["input"]) == 784 and [len(h) for h in answer["hidden"]] == [30]
    assert math.isclose(sum(answer["probabilities"]), 1, abs_tol=1e-3)
    # the command line's path: the same drawing as a PNG file through load_digit and feedforward
    Image.fromarray(gray.astype(np.uint8)).save(tmp_path / "seven.png")
    net, _ = load_model(runs_dir / "digits")
    x = load_digit(tmp_path / "seven.png")
    np.testing.assert_allclose(answer["input"], x, atol=1e-3)
    out = net.feedforward(x.reshape(784, 1).astype(net.dtype))[:, 0]
    np.testing.assert_allclose(answer["probabilities"], out / out.sum(), atol=1e-4)


def test_a_blank_or_malformed_canvas_is_a_clear_400(client):
    blank = np.full((40, 40), 255.0)
    assert "blank" in error(client.post("/api/digits/predict", json={"run": "digits", **canvas(blank)}))
    bad = canvas(seven(40))
    assert "pixels" in error(client.post("/api/digits/predict", json={"run": "digits", **bad, "pixels": bad["pixels"][:-1]}))
    assert "0 to 255" in error(client.post("/api/digits/predict", json={"run": "digits", **bad,
                                                                      "pixels": [999] * 1600}))
    assert "side" in error(client.post("/api/digits/predict", json={"run": "digits", "width": 600, "height": 8,
                                                                  "pixels": []}))
    body = json.dumps({"run": "digits", **bad, "pixels": [float("nan")] * 1600})  # Python's JSON writes NaN
    assert "0 to 255" in error(client.post("/api/digits/predict", content=body, headers={"Content-Type": "application/json"}))


def test_the_gallery_lists_exactly_the_misclassified_test_digits(client, runs_dir):
    from nn2gpt.data.mnist import load_mnist
    from nn2gpt.digits.model import load_model

    g = client.get("/api/digits/misclassified?run=digits").json()
    net, _ = load_model(runs_dir / "digits")
    test = load_mnist(dtype=np.float32).test
    predicted = np.argmax(net.predict(test.images), axis=1)
    assert g["wrong"] == int(np.sum(predicted != test.labels)) and g["total"] == 10_000
    for item in g["items"]:
        assert item["label"] != item["predicted"] == predicted[item["index"]]
        assert item["label"] == test.labels[item["index"]] and len(item["pixels"]) == 784


# ---- gpt --------------------------------------------------------------------------------------

def events(response) -> list[dict]:
    return [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]


def test_generate_streams_what_gpt_sample_writes(client, runs_dir):
    from nn2gpt.gpt.sample import sample_text

    with client.stream("POST", "/api/gpt/generate", json={"run": "gpt", "prompt": "ROMEO:", "max_new_tokens": 40,
                                                          "temperature": 0.9, "top_k": 20, "seed": 3}) as r:
        got = events(r)
    assert got[0]["type"] == "model" and got[0]["run"] == "gpt"  # the model that writes it, first
    assert got[1] == {"type": "start", "prompt": "ROMEO:"} and got[-1]["type"] == "end"
    pieces = [e["text"] for e in got if e["type"] == "piece"]
    assert len(pieces) == 40  # one event per sampled token, as it comes
    model, tok, _ = load_gpt(runs_dir / "gpt")
    assert "ROMEO:" + "".join(pieces) == sample_text(model, tok, "ROMEO:", 40, temperature=0.9, top_k=20, seed=3)
    assert "".join(got[-1]["tokens"]) == "ROMEO:" + "".join(pieces)


def test_inspect_gives_the_model_s_own_distribution_and_attention_rows(client, runs_dir):
    from nn2gpt.gpt.heatmaps import attention_weights

    text = "First Citizen:\nBefore we proceed any further, hear me speak."  # longer than block_size 32
    model, tok, _ = load_gpt(runs_dir / "gpt")
    for position in (5, 40):
        a = client.post("/api/gpt/inspect", json={"run": "gpt", "text": text, "position": position}).json()
        start = max(0, position + 1 - 32)
        assert a["start"] == start and len(a["attention"]) == 2 * 2 == a["n_layer"] * a["n_head"]
        idx = torch.tensor([tok.encode(text)[start:position + 1]])
        with torch.no_grad():
            probs = model(idx)[0][0, -1].softmax(-1)
        top = torch.topk(probs, 10)
        assert [n["token"] for n in a["next"]] == [tok.decode([int(i)]) for i in top.indices]
        np.testing.assert_allclose([n["p"] for n in a["next"]], top.values.numpy(), atol=1e-4)
        direct = attention_weights(model, idx)
        for row in a["attention"]:
            assert len(row["weights"]) == position + 1 - start and math.isclose(sum(row["weights"]), 1, abs_tol=2e-3)
            np.testing.assert_allclose(row["weights"], direct[row["layer"]][row["head"], -1].numpy(), atol=1e-4)


def test_shapes_are_what_trace_prints(client, runs_dir):
    from nn2gpt.gpt.trace import trace_forward

    rows = client.post("/api/gpt/shapes", json={"run": "gpt", "text": "ROMEO:"}).json()["rows"]
    model, tok, _ = load_gpt(runs_dir / "gpt")
    lines = []
    trace_forward(model, torch.tensor([tok.encode("ROMEO:")]), print_fn=lines.append)
    assert [" ".join((r["name"], r["shape"], r["dims"])) for r in rows] == [" ".join(line.split()) for line in lines]
    assert rows[0] == {"name": "idx", "shape": "(1, 6)", "dims": "B,T"}
    assert any(r["shape"] == "(1, 6, 16)" and r["dims"] == "B,T,C" for r in rows)


@pytest.mark.parametrize("body,needle", [
    ({"run": "nope"}, "no run"), ({"run": "../gpt"}, "not a run name"), ({"run": "/etc"}, "not a run name"),
    ({"run": "digits"}, "digits network"), ({"run": "gpt", "prompt": ""}, "empty"),
    ({"run": "gpt", "prompt": "x" * 100_000}, "100,000 characters"), ({"run": "gpt", "prompt": "日本"}, "vocabulary lacks"),
    ({"run": "gpt", "prompt": "a", "temperature": -1}, "temperature"), ({"run": "gpt", "prompt": "a", "top_p": 2}, "top p"),
    ({"run": "gpt", "prompt": "a", "max_new_tokens": 10**6}, "max new tokens"), ({}, "no run was chosen")])
def test_bad_generate_requests_are_one_line_400s(client, body, needle):
    assert needle in error(client.post("/api/gpt/generate", json=body))


def test_bad_inspect_requests_and_a_corrupt_checkpoint(client, runs_dir):
    assert "position" in error(client.post("/api/gpt/inspect", json={"run": "gpt", "text": "abc", "position": 3}))
    assert "JSON" in error(client.post("/api/gpt/inspect", content=b"{not json", headers={"Content-Type": "application/json"}))
    broken = runs_dir / "broken-gpt"
    shutil.copytree(runs_dir / "gpt", broken)
    latest = (broken / "latest").read_text().strip()
    (broken / latest / "weights.safetensors").write_bytes(b"\x00garbage")
    try:
        message = error(client.post("/api/gpt/inspect", json={"run": "broken-gpt", "text": "abc", "position": 1}))
        assert "broken-gpt" in message
    finally:
        shutil.rmtree(broken)


def test_models_are_loaded_once_and_again_only_when_the_run_changes(app, client, runs_dir):
    models = app.state.studio.models
    ask = {"run": "gpt", "text": "ROMEO:", "position": 2}
    client.post("/api/gpt/inspect", json=ask)
    before = models.loads
    for _ in range(3):
        assert client.post("/api/gpt/inspect", json=ask).status_code == 200
    assert models.loads == before  # never a checkpoint read per request
    copy = runs_dir / "gpt-again"
    shutil.copytree(runs_dir / "gpt", copy)
    try:
        client.post("/api/gpt/inspect", json=ask | {"run": "gpt-again"})
        assert models.loads == before + 1
        ckpt = copy / (copy / "latest").read_text().strip()
        ckpt.rename(copy / "ckpt-99999999")  # a new checkpoint: the run was trained further
        (copy / "latest").write_text("ckpt-99999999\n")
        client.post("/api/gpt/inspect", json=ask | {"run": "gpt-again"})
        assert models.loads == before + 2
    finally:
        shutil.rmtree(copy)


# ---- translate --------------------------------------------------------------------------------

def test_translate_returns_both_attentions_with_their_labels(client, runs_dir):
    from nn2gpt.translate.evaluate import load_run, log_probability, translate_one

    sentence = "La pizza salió del horno."
    t = client.post("/api/translate", json={"run": "nested/translate", "sentence": sentence, "beam": 1}).json()
    model, tok, _ = load_run(runs_dir / "nested" / "translate")
    assert t["translation"] == translate_one(model, tok, sentence, beam=1)
    S, T = len(tok.encode(sentence)) + 1, len(t["target"])
    assert t["source"][-1] == "</s>" and len(t["source"]) == S and t["target"][-1] == "</s>"
    for name, rows in (("encoder", S), ("cross", T)):
        w = np.array(t[name])
        assert w.shape == (2, 2, rows, S), name  # [layer][head][rows][S]
        np.testing.assert_allclose(w.sum(-1), 1, atol=2e-3)
    # scored whatever it is, an empty translation too (then log P(</s> | sentence))
    assert math.isclose(t["log_prob"], log_probability(model, tok, sentence, t["translation"]), abs_tol=1e-3)
    assert math.isclose(sum(x["log_prob"] for x in t["tokens"]), t["log_prob"], abs_tol=1e-2)


def test_an_empty_translation_is_scored_as_the_model_stopping_at_once(runs_dir):
    """A model made to stop at once (its </s> logit raised) translates to "", scored log P(</s> | sentence)."""
    from nn2gpt.studio.translate import translate
    from nn2gpt.translate.evaluate import load_run, log_probability

    model, tok, _ = load_run(runs_dir / "nested" / "translate")
    bias = torch.zeros(model.embed.weight.shape[0])
    bias[tok.eos_id] = 30.0
    model.logits_bias = torch.nn.Parameter(bias)
    t = translate(model, tok, "La pizza salió del horno.", 1)
    assert t["translation"] == "" and [x["token"] for x in t["tokens"]] == ["</s>"]
    expected = log_probability(model, tok, "La pizza salió del horno.", "")
    assert t["log_prob"] is not None and math.isclose(t["log_prob"], expected, abs_tol=1e-3) and expected > -1e-3


def test_a_typed_translation_is_scored_as_log_probability_does(client, runs_dir):
    from nn2gpt.translate.evaluate import load_run, log_probability

    model, tok, _ = load_run(runs_dir / "nested" / "translate")
    body = {"run": "nested/translate", "sentence": "La pizza salió del horno.", "translation": "The pizza."}
    s = client.post("/api/translate/score", json=body).json()
    assert math.isclose(s["log_prob"], log_probability(model, tok, body["sentence"], "The pizza."), abs_tol=1e-3)
    assert math.isclose(sum(t["log_prob"] for t in s["tokens"]), s["log_prob"], abs_tol=1e-2)
    assert s["tokens"][-1]["token"] == "</s>"


@pytest.mark.parametrize("body,needle", [
    ({"sentence": ""}, "empty"), ({"sentence": "hola " * 300}, "tokens long"), ({"sentence": "日本語"}, "never saw"),
    ({"sentence": "Hola.", "beam": 0}, "beam"), ({"run": "gpt", "sentence": "Hola."}, "chapter-2 GPT")])
def test_bad_translate_requests_are_one_line_400s(client, body, needle):
    assert needle in error(client.post("/api/translate", json={"run": "nested/translate", **body}))


# ---- lab --------------------------------------------------------------------------------------

def test_the_lab_report_and_its_pictures(client):
    html = client.get("/api/lab/report?run=lab").json()["html"]
    assert "<table>" in html and "<h1>" in html
    src = html.split('src="', 1)[1].split('"', 1)[0]
    assert src.startswith("api/lab/file?run=lab&name=")
    picture = client.get("/" + src)
    assert picture.status_code == 200 and picture.content[:4] == b"\x89PNG"
    assert "no picture" in error(client.get("/api/lab/file?run=lab&name=../../etc/passwd"))
    assert "no picture" in error(client.get("/api/lab/file?run=lab&name=results.json"))


def test_the_toy_is_the_softmax_of_the_score_and_dot_saturates(client):
    toy = lambda score, d: client.post("/api/lab/toy", json={"score": score, "head_size": d, "T": 8, "seed": 1}).json()
    g = torch.Generator().manual_seed(1)
    q, k = torch.randn(1, 1, 8, 64, generator=g), torch.randn(1, 1, 8, 64, generator=g)
    reference = (q @ k.transpose(-2, -1) / 8.0)[0, 0].double().softmax(-1)  # q·k/sqrt(64), then softmax
    np.testing.assert_allclose(toy("scaled_dot", 64)["weights"], reference.numpy(), atol=1e-4)
    for d in (1, 16, 256):
        t = toy("dot", d)
        assert all(0 <= h <= math.log(8) + 1e-6 for h in t["entropy"])
        np.testing.assert_allclose(np.sum(t["weights"], axis=1), 1, atol=1e-3)
    assert toy("dot", 256)["mean_entropy"] < 0.5 < toy("scaled_dot", 256)["mean_entropy"]
    assert "score" in error(client.post("/api/lab/toy", json={"score": "magic", "head_size": 8}))
    assert "head size" in error(client.post("/api/lab/toy", json={"score": "dot", "head_size": 0}))


def test_a_report_s_html_and_links_are_text_and_its_pictures_stay_in_the_run(client, runs_dir, tmp_path):
    lab = runs_dir / "lab-odd"
    shutil.copytree(runs_dir / "lab", lab)
    (lab / "REPORT.md").write_text("# odd\n\n<script>alert(1)</script> [x](javascript:alert(2)) [y](../../etc)\n\n"
                                   "```\na & b < c\n```\n", encoding="utf-8")
    (tmp_path / "secret.png").write_bytes(b"\x89PNG secret")
    (lab / "leak.png").symlink_to(tmp_path / "secret.png")
    try:
        html = client.get("/api/lab/report?run=lab-odd").json()["html"]
        assert "<script>" not in html and "&lt;script&gt;" in html
        assert "javascript:" not in html and 'href="../../etc"' not in html
        assert "a &amp; b &lt; c" in html  # code shows as written, escaped once
        assert "no picture" in error(client.get("/api/lab/file?run=lab-odd&name=leak.png"))
    finally:
        shutil.rmtree(lab)


def test_odd_files_and_requests_never_break_the_page(client, runs_dir):
    odd = runs_dir / "odd-gpt"
    shutil.copytree(runs_dir / "gpt", odd)
    (odd / "config.json").write_text('["not", "a", "dict"]')
    try:
        listed = client.get("/api/runs").json()["runs"]["gpt"]
        assert "odd-gpt" in [r["name"] for r in listed]
    finally:
        shutil.rmtree(odd)
    deep = b"[" * 100_000 + b"]" * 100_000
    assert "JSON" in error(client.post("/api/gpt/inspect", content=deep, headers={"Content-Type": "application/json"}))
    assert "trains" in error(client.post("/api/train/start", json={"chapter": {}, "name": "x"}))
    assert "must be" in error(client.post("/api/gpt/generate", json={"run": "gpt", "prompt": "a", "seed": "1"}))


def test_a_newline_is_a_prompt_and_tokens_join_to_the_text(client):
    with client.stream("POST", "/api/gpt/generate", json={"run": "gpt", "prompt": "\n", "max_new_tokens": 5,
                                                          "seed": 0}) as r:
        got = events(r)
    assert got[-1]["type"] == "end" and got[-1]["new_tokens"] == 5
    text = "ROMEO:\nSoft!"
    assert "".join(client.post("/api/gpt/tokens", json={"run": "gpt", "text": text}).json()["tokens"]) == text


def test_gpt2_pieces_join_to_exactly_the_text():
    from nn2gpt.gpt.tokenizer import GPT2Tokenizer
    from nn2gpt.studio.gpt import pieces_of

    tok = GPT2Tokenizer()
    text = "La pizza salió del horno 🍕 y sabía bien"
    ids = tok.encode(text)
    pieces = pieces_of(tok, ids)
    assert len(pieces) == len(ids) and "".join(pieces) == text and "\ufffd" not in "".join(pieces)


def test_concurrent_looks_inside_one_model_do_not_mix(app, client):
    """Hooks are attached to the shared model for one pass: overlapping passes must wait for each other.
    Each answer given while others run is the answer the same request gets alone."""
    from concurrent.futures import ThreadPoolExecutor

    text = "First Citizen:\nBefore we proceed any further, hear me speak."
    ask = lambda p: client.post("/api/gpt/inspect", json={"run": "gpt", "text": text, "position": p}).json()
    shape = lambda t: client.post("/api/gpt/shapes", json={"run": "gpt", "text": t}).json()
    positions, texts = range(10, 40), ["ROMEO:", "First Citizen:", "O"] * 4
    alone = {p: ask(p) for p in positions}
    alone_shapes = {t: shape(t) for t in set(texts)}
    assert len({s["rows"][0]["shape"] for s in alone_shapes.values()}) == 3  # three lengths: mixing would show
    with ThreadPoolExecutor(6) as pool:  # inspections and shapes interleaved
        jobs = []
        for i, p in enumerate(positions):
            jobs.append((alone[p], pool.submit(ask, p)))
            if i < len(texts):
                jobs.append((alone_shapes[texts[i]], pool.submit(shape, texts[i])))
        for expected, job in jobs:
            assert job.result() == expected
