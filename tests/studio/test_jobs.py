"""Training from the page: one run at a time, the same command a terminal runs, watched through events."""

import json
import math
import time

import pytest

from nn2gpt.gpt.runs import load_model

pytestmark = pytest.mark.slow  # trains, or drives processes or a browser, for seconds: `-m 'not slow'` leaves it out


def wait_for_end(client, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = client.get("/api/train").json()["job"]
        if job and job["status"] != "running":
            return job
        time.sleep(0.5)
    raise AssertionError("the training run did not end")


def test_a_run_trains_a_second_is_refused_and_the_checkpoint_loads(client, runs_dir):
    fields = {"layers": 1, "width": 32, "pos": "rope", "seconds": 5}
    r = client.post("/api/train/start", json={"chapter": "gpt", "name": "live", "fields": fields})
    assert r.status_code == 200, r.text
    assert "--pos rope" in r.json()["command"] and "--max-seconds 5" in r.json()["command"]
    second = client.post("/api/train/start", json={"chapter": "gpt", "name": "live-2", "fields": fields})
    assert second.status_code == 409 and "still training" in second.json()["error"]
    job = wait_for_end(client)
    assert job["status"] == "finished", job
    with client.stream("GET", "/api/train/events?after=0") as s:  # a tab opened late sees it all
        got = [json.loads(line[6:]) for line in s.iter_lines() if line.startswith("data: ")]
    kinds = [e["type"] for e in got]
    assert kinds[0] == "start" and kinds[-1] == "end"
    metrics = [e for e in got if e["type"] == "metric"]
    assert any("val_loss" in e for e in metrics) and any("train_loss" in e for e in metrics)
    assert any(e["type"] == "sample" and e["text"] for e in got)
    model, _, config = load_model(runs_dir / "live")
    assert config["model"]["pos"] == "rope" and config["model"]["n_layer"] == 1
    # the new run is listed for the other pages
    assert "live" in [r["name"] for r in client.get("/api/runs").json()["runs"]["gpt"]]


@pytest.mark.parametrize("body,needle", [
    ({"chapter": "gpt", "name": "../escape"}, "run name"), ({"chapter": "gpt", "name": "gpt"}, "already exists"),
    ({"chapter": "translate", "name": "t"}, "trains gpt or digits"),
    ({"chapter": "gpt", "name": "w", "fields": {"width": 30}}, "multiple of 4"),
    ({"chapter": "gpt", "name": "w", "fields": {"seconds": 0}}, "seconds"),
    ({"chapter": "gpt", "name": "w", "fields": {"pos": "spiral"}}, "positions")])
def test_bad_training_requests_are_400s_and_start_nothing(client, runs_dir, body, needle):
    r = client.post("/api/train/start", json=body)
    assert r.status_code == 400 and needle in r.json()["error"], r.text
    assert not (runs_dir / "w").exists()


@pytest.mark.parametrize("name", ["gpt-live-3", "تجربة", "実験-2", "प्रयोग", "Ünïcode_1.5"])
def test_a_run_name_may_be_letters_and_digits_of_any_script(name):
    from nn2gpt.studio.jobs import good_name

    assert good_name(name)


@pytest.mark.parametrize("name", ["", ".", "..", ".hidden", "a/b", "a\\b", "تجربة/..", "a b", "tab\tname",
                                  "line\nbreak", "nul\x00", "\u200ezero-width-mark", "x" * 65, None, 7])
def test_a_run_name_is_never_a_path_dots_or_a_control_character(name):
    from nn2gpt.studio.jobs import good_name

    assert not good_name(name)


def test_an_arabic_run_name_starts_a_run_in_its_own_folder(client, runs_dir):
    wait_for_end(client) if client.get("/api/train").json()["job"] else None
    fields = {"layers": 1, "width": 16, "seconds": 60}
    r = client.post("/api/train/start", json={"chapter": "gpt", "name": "تجربة", "fields": fields})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "تجربة"
    assert client.post("/api/train/stop", json={}).json()["stopping"]  # its first step is all the test needs
    job = wait_for_end(client)
    assert job["status"] == "stopped" and job["saved"], job
    load_model(runs_dir / "تجربة")
    assert "تجربة" in [r["name"] for r in client.get("/api/runs").json()["runs"]["gpt"]]


def test_stop_with_nothing_running_says_so(client):
    wait_for_end(client) if client.get("/api/train").json()["job"] else None
    r = client.post("/api/train/stop", json={})
    assert r.status_code == 400 and "no training run" in r.json()["error"]


def test_the_digits_button_trains_the_book_s_network_and_reports_each_epoch(client, runs_dir):
    from nn2gpt.digits.model import load_model

    wait_for_end(client) if client.get("/api/train").json()["job"] else None
    r = client.post("/api/train/start", json={"chapter": "digits", "name": "book", "fields": {"epochs": 2}})
    assert r.status_code == 200 and "--sizes 784,30,10" in r.json()["command"] and "--eta 3.0" in r.json()["command"]
    assert wait_for_end(client)["status"] == "finished"
    with client.stream("GET", "/api/train/events?after=0") as s:
        got = [json.loads(line[6:]) for line in s.iter_lines() if line.startswith("data: ")]
    epochs = [e for e in got if e["type"] == "metric"]
    assert [e["epoch"] for e in epochs] == [1, 2] and all(50 < e["accuracy"] <= 100 for e in epochs)
    net, config = load_model(runs_dir / "book")
    assert net.sizes == [784, 30, 10] and config["cost"] == "quadratic"
    assert math.isclose(100 * config["history"]["evaluation_accuracy"][-1], epochs[-1]["accuracy"], abs_tol=0.01)


def test_stop_before_the_first_step_waits_for_it_and_saves(client, runs_dir):
    wait_for_end(client) if client.get("/api/train").json()["job"] else None
    fields = {"layers": 1, "width": 32, "seconds": 120}
    started = client.post("/api/train/start", json={"chapter": "gpt", "name": "early", "fields": fields}).json()
    stopping = client.post("/api/train/stop", json={}).json()  # at once: the child is still importing torch
    assert stopping["stopping"] and stopping["step"] is None
    job = wait_for_end(client)
    assert job["status"] == "stopped" and job["saved"] is True, job
    model, _, config = load_model(runs_dir / "early")  # Stop left a checkpoint
    assert config["model"]["n_layer"] == 1
    # a tab still watching this job after another starts is told it is gone (it then asks for the new one)
    with client.stream("GET", f"/api/train/events?job={started['id'] + 1000}&after=0") as s:
        got = [json.loads(line[6:]) for line in s.iter_lines() if line.startswith("data: ")]
    assert got == [{"type": "gone"}]


def test_a_progress_line_is_a_training_loss_point():
    from nn2gpt.studio.jobs import PROGRESS, PROGRESS_LOSS, Job, Jobs

    job = Job("gpt", "x", None, [])
    line = "step 120, 12 s of 60 s (20%), 38.2 step/s, loss 2.4817 | 52,100 tok/s"  # a budget of seconds
    assert PROGRESS.match("step 7/2000 (0%), 3.0 step/s")[1] == "7"  # a budget of steps
    Jobs._progress(None, job, int(PROGRESS.match(line)[1]), PROGRESS_LOSS.search(line))
    assert job.step == 120 and job.events[-1] == {"type": "metric", "step": 120, "train_loss": 2.4817, "live": True,
                                                  "n": 0}
    assert PROGRESS_LOSS.search("step 1/1000000 (0%), 3.0 step/s") is None  # the first line: alive, no loss yet
