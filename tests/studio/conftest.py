"""Tiny trained runs of every chapter in one --runs folder, made once per test session, and the
studio's app over them (an ASGI test client; the browser tests start a real server)."""

import pytest
from starlette.testclient import TestClient

from nn2gpt.cli import main

GPT = ["--n-layer", "2", "--n-head", "2", "--n-embd", "16", "--block-size", "32", "--batch-size", "8",
       "--eval-batches", "2", "--warmup", "2", "--threads", "1", "--sample-tokens", "0", "--quiet"]
TRANSLATE = ["--pair", "es-en", "--d-model", "16", "--layers", "2", "--heads", "2", "--ff", "32",
             "--vocab-size", "200", "--max-tokens", "400", "--limit", "60", "--warmup", "5", "--quiet",
             "--device", "cpu", "--threads", "1"]


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory):
    """runs/digits (the book's network, 2 epochs: it reads a drawn 7), runs/gpt, runs/nested/translate, runs/lab."""
    root = tmp_path_factory.mktemp("studio-runs")
    assert main(["digits", "train", "--out", str(root / "digits"), "--sizes", "784,30,10", "--epochs", "2",
                 "--eta", "3.0", "--lmbda", "0", "--init", "scaled"]) == 0
    assert main(["gpt", "train", "--out", str(root / "gpt"), "--max-iters", "20", "--eval-interval", "10", *GPT]) == 0
    assert main(["translate", "train", "--out", str(root / "nested" / "translate"), "--epochs", "1", *TRANSLATE]) == 0
    assert main(["lab", "run", "--out", str(root / "lab"), "--tiny", "--steps", "2", "--seeds", "1", "--suite",
                 "scores", "--jobs", "1"]) == 0
    return root


@pytest.fixture(scope="session")
def app(runs_dir):
    from nn2gpt.studio.server import StudioConfig, make_app

    return make_app(StudioConfig(runs=str(runs_dir), port=8000))


@pytest.fixture
def client(app):
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        yield c
