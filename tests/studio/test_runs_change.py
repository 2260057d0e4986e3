"""Runs that change under the page, as the API tells them: every model answer names its run and the identity
of the model that computed it, the run list carries the same identity, a rewritten checkpoint is a new
identity in both, and the run list reads each run's files once, and of metrics.jsonl only its end."""

import json
import shutil
import time

import pytest

from nn2gpt.studio import runs as runs_module
from nn2gpt.studio.runs import Summaries, last_row

from tests.studio.test_api import canvas, error, seven


def listed(client, chapter, name) -> dict:
    return next(r for r in client.get("/api/runs").json()["runs"][chapter] if r["name"] == name)


def test_every_model_answer_carries_its_run_and_the_list_s_identity(client):
    gpt = listed(client, "gpt", "gpt")["identity"]
    digits = listed(client, "digits", "digits")["identity"]
    translate = listed(client, "translate", "nested/translate")["identity"]
    assert gpt.startswith("ckpt-") and digits and translate.startswith("ckpt-")
    answers = [(client.post("/api/gpt/inspect", json={"run": "gpt", "text": "ROMEO:", "position": 2}).json(), gpt),
               (client.post("/api/gpt/shapes", json={"run": "gpt"}).json(), gpt),
               (client.get("/api/embeddings/map?run=gpt").json(), gpt),
               (client.post("/api/digits/predict", json={"run": "digits", **canvas(seven())}).json(), digits),
               (client.get("/api/digits/neuron?run=digits&neuron=0").json(), digits),
               (client.get("/api/translate/info?run=nested/translate").json(), translate),
               (client.post("/api/translate", json={"run": "nested/translate", "sentence": "La pizza.", "beam": 1}).json(),
                translate)]
    for body, identity in answers:
        assert body["identity"] == identity and body["run"] in ("gpt", "digits", "nested/translate")
    events = [json.loads(line[6:]) for line in client.post("/api/gpt/generate", json={
        "run": "gpt", "prompt": "RO", "max_new_tokens": 2}).iter_lines() if line.startswith("data: ")]
    assert events[0] == {"type": "model", "run": "gpt", "identity": gpt} and events[1]["type"] == "start"


def test_a_rewritten_checkpoint_is_a_new_identity_and_a_deleted_run_a_clear_400(client, runs_dir):
    copy = runs_dir / "gpt-rewritten"
    shutil.copytree(runs_dir / "gpt", copy)
    try:
        ask = {"run": "gpt-rewritten", "text": "ROMEO:", "position": 2}
        before = client.post("/api/gpt/inspect", json=ask).json()["identity"]
        assert listed(client, "gpt", "gpt-rewritten")["identity"] == before
        weights = copy / (copy / "latest").read_text().strip() / "weights.safetensors"
        time.sleep(0.01)
        weights.write_bytes(weights.read_bytes())  # the same name, rewritten in place: trained again
        after = listed(client, "gpt", "gpt-rewritten")["identity"]
        assert after != before
        assert client.post("/api/gpt/inspect", json=ask).json()["identity"] == after
    finally:
        shutil.rmtree(copy)
    assert "there is no run 'gpt-rewritten'" in error(client.post("/api/gpt/inspect", json=ask))


def test_a_digits_run_trained_again_answers_with_the_new_weights(app, client, runs_dir):
    from nn2gpt.digits.model import load_model, save_model

    copy = runs_dir / "digits-again"
    shutil.copytree(runs_dir / "digits", copy)
    try:
        ask = {"run": "digits-again", **canvas(seven())}
        first = client.post("/api/digits/predict", json=ask).json()
        net, config = load_model(copy)
        net.weights[-1] = -net.weights[-1]  # another network in the same folder
        save_model(net, copy, {k: v for k, v in config.items() if k != "sizes"})
        second = client.post("/api/digits/predict", json=ask).json()
        assert second["identity"] != first["identity"]
        assert second["identity"] == listed(client, "digits", "digits-again")["identity"]
        assert second["probabilities"] != first["probabilities"]
    finally:
        shutil.rmtree(copy)


def test_a_misclassified_test_digit_goes_through_the_network(client, app):
    from nn2gpt.studio.digits import forward

    gallery = client.get("/api/digits/misclassified?run=digits").json()
    item = gallery["items"][0]
    answer = client.get(f"/api/digits/test?run=digits&index={item['index']}").json()
    assert answer["label"] == item["label"] and answer["digit"] == item["predicted"] != item["label"]
    net = app.state.studio.model("digits", "digits")[0]
    images = app.state.studio.gallery._images()[0]
    assert answer["probabilities"] == forward(net, images[item["index"]])["probabilities"]
    assert len(answer["input"]) == 784 and len(answer["hidden"][0]) == 30 and answer["run"] == "digits"
    for bad in ("", "-1", "10000", "x"):
        assert "index" in error(client.get(f"/api/digits/test?run=digits&index={bad}"))


def test_the_translation_summary_says_its_validation_loss(client):
    line = listed(client, "translate", "nested/translate")["summary"]
    assert "val loss" in line and "perplexity" in line


def test_the_last_evaluation_is_read_from_the_end_of_metrics(tmp_path):
    path = tmp_path / "metrics.jsonl"
    rows = [{"step": s, "val_loss": 3.0 - s / 100} for s in range(0, 300, 100)]
    text = "".join(json.dumps(r) + "\n" for r in rows)
    path.write_text(text + json.dumps({"step": 300, "train_loss": 1.0, "sample": "x" * 3_000_000}) + "\n"
                    + '{"step": 310, "val_loss": 2.5, "half wri')
    assert last_row(path, "val_loss") == rows[-1]  # past the line being written and the 3 MB one
    path.write_text(text + json.dumps({"val_loss": 9.0, "sample": "y" * 8_000_000}) + "\n")
    assert last_row(path, "val_loss") == rows[-1]  # an 8 MB row is stepped over, never parsed
    assert last_row(tmp_path / "none.jsonl", "val_loss") == {}


def test_the_run_list_reads_a_run_s_summary_once_and_again_when_it_changes(runs_dir, tmp_path, monkeypatch):
    """A 50 MB metrics line costs the run list nothing after its first read; a changed file is read again."""
    run = tmp_path / "gpt"
    shutil.copytree(runs_dir / "gpt", run)
    metrics = run / "metrics.jsonl"
    metrics.write_text(metrics.read_text() + json.dumps({"step": 21, "sample": "z" * 50_000_000}) + "\n")
    opened = []
    real = runs_module.last_row
    monkeypatch.setattr(runs_module, "last_row", lambda path, key: opened.append(path) or real(path, key))
    kept = Summaries()
    first = kept.get(run, "gpt")
    assert ", val 3." in first  # the run's last evaluation, before the 50 MB line
    started = time.perf_counter()
    for _ in range(20):
        assert kept.get(run, "gpt") == first
    assert time.perf_counter() - started < 0.05 and len(opened) == 1 and kept.reads == 1
    with metrics.open("a") as f:
        f.write(json.dumps({"step": 30, "val_loss": 1.234}) + "\n")
    assert kept.get(run, "gpt").endswith("val 1.234") and kept.reads == 2


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"model": 7}'])
def test_an_odd_config_still_lists_the_run(runs_dir, tmp_path, text):
    run = tmp_path / "gpt"
    shutil.copytree(runs_dir / "gpt", run)
    (run / "config.json").write_text(text)
    line = Summaries().get(run, "gpt")
    assert line == "?" or line.startswith("? ")  # listed, its shape unknown


def test_the_run_being_trained_is_marked_in_the_list(app, client):
    """The page then says "is still training" rather than "was trained again" when its checkpoint moves on."""
    from types import SimpleNamespace

    jobs = app.state.studio.jobs
    before = jobs.job
    jobs.job = SimpleNamespace(chapter="gpt", name="gpt", status="running")
    try:
        marked = {r["name"]: r.get("training") for r in client.get("/api/runs").json()["runs"]["gpt"]}
        assert marked["gpt"] is True and marked["wide/gpt2-12x12"] is False
        jobs.job.status = "stopped"
        assert "training" not in listed(client, "gpt", "gpt")
    finally:
        jobs.job = before


def test_an_answer_computed_as_its_run_reloads_keeps_its_model_s_identity(runs_dir, tmp_path):
    """The model a request took keeps its identity after the run reloads, and is not kept alive for it."""
    import gc

    from nn2gpt.studio.runs import Models

    run = tmp_path / "gpt"
    shutil.copytree(runs_dir / "gpt", run)
    models = Models()
    old, before = models.fetch(run, "gpt")
    weights = run / (run / "latest").read_text().strip() / "weights.safetensors"
    time.sleep(0.01)
    weights.write_bytes(weights.read_bytes())
    new, after = models.fetch(run, "gpt")
    assert after != before and models.identity(run, new[0]) == after and models.identity(run, old[0]) == before
    ref = __import__("weakref").ref(old[0])
    del old
    gc.collect()
    assert ref() is None  # the replaced model went with its last request


def test_the_run_list_the_page_reads_is_the_kept_one(runs_dir, tmp_path, monkeypatch):
    """/api/runs, asked again and again, reads a run's files once, and again when one of them changes."""
    from starlette.testclient import TestClient

    from nn2gpt.studio.server import StudioConfig, make_app

    folder = tmp_path / "runs"
    shutil.copytree(runs_dir / "gpt", folder / "gpt")
    read = []
    real = runs_module.summary
    monkeypatch.setattr(runs_module, "summary", lambda run, kind: read.append(run.name) or real(run, kind))
    with TestClient(make_app(StudioConfig(runs=str(folder), port=8000)), base_url="http://127.0.0.1:8000") as client:
        first = listed(client, "gpt", "gpt")["summary"]
        for _ in range(5):
            assert listed(client, "gpt", "gpt")["summary"] == first
        assert read.count("gpt") == 1, "the run list read the run's files again though none changed"
        with (folder / "gpt" / "metrics.jsonl").open("a") as f:
            f.write(json.dumps({"step": 99, "val_loss": 1.234}) + "\n")
        assert listed(client, "gpt", "gpt")["summary"].endswith("val 1.234") and read.count("gpt") == 2
