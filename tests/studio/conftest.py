"""Tiny trained runs of every chapter in one --runs folder, made once per test session, and the
studio's app over them (an ASGI test client; the browser tests start a real server, `studio`, and
drive Debian's chromium through Playwright: `browser`, `page`)."""

import os
import re
import shutil
import subprocess
import sys

import pytest
from starlette.testclient import TestClient

from nn2gpt.cli import main
from shared_runs import once

GPT = ["--n-layer", "2", "--n-head", "2", "--n-embd", "16", "--block-size", "32", "--batch-size", "8",
       "--eval-batches", "2", "--warmup", "2", "--threads", "1", "--sample-tokens", "0", "--quiet"]
TRANSLATE = ["--pair", "es-en", "--d-model", "16", "--layers", "2", "--heads", "2", "--ff", "32",
             "--vocab-size", "200", "--max-tokens", "400", "--limit", "60", "--warmup", "5", "--quiet",
             "--device", "cpu", "--threads", "1"]


def _train_runs(root):
    assert main(["digits", "train", "--out", str(root / "digits"), "--sizes", "784,30,10", "--epochs", "2",
                 "--eta", "3.0", "--lmbda", "0", "--init", "scaled"]) == 0
    assert main(["gpt", "train", "--out", str(root / "gpt"), "--max-iters", "20", "--eval-interval", "10", *GPT]) == 0
    assert main(["translate", "train", "--out", str(root / "nested" / "translate"), "--epochs", "1", *TRANSLATE]) == 0
    assert main(["gpt", "train", "--out", str(root / "wide" / "gpt2-12x12"), "--tokenizer", "gpt2", "--n-layer", "12",
                 "--n-head", "12", "--n-embd", "48", "--block-size", "64", "--max-iters", "1", "--lr", "1e-9",
                 "--warmup", "1", "--eval-batches", "1", "--batch-size", "2", "--threads", "1", "--sample-tokens", "0",
                 "--quiet"]) == 0
    assert main(["lab", "run", "--out", str(root / "lab"), "--tiny", "--steps", "2", "--seeds", "1", "--suite",
                 "scores", "--jobs", "1"]) == 0


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory):
    """runs/digits (the book's network, 2 epochs: it reads a drawn 7), runs/gpt, runs/nested/translate, runs/lab,
    and runs/wide/gpt2-12x12: 12 layers x 12 heads over GPT-2's 50,257-token BPE, one step from random weights
    (the shape of a model imported from pretrained weights, small enough to test with). Trained once for every
    worker (shared_runs); each worker's tests read and add runs in a copy of its own."""
    trained = once(tmp_path_factory, "studio-runs", _train_runs)
    root = tmp_path_factory.mktemp("studio") / "runs"
    shutil.copytree(trained, root)
    return root


@pytest.fixture(scope="session")
def app(runs_dir):
    from nn2gpt.studio.server import StudioConfig, make_app

    return make_app(StudioConfig(runs=str(runs_dir), port=8000))


@pytest.fixture
def client(app):
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        yield c


@pytest.fixture(scope="session")
def studio(runs_dir):
    """`nn2gpt studio --port 0` in its own process, one per worker (its runs change under it as they would
    under a user's: each test adds, retrains and deletes runs of its own names); yields its URL."""
    proc = subprocess.Popen([sys.executable, "-m", "nn2gpt", "studio", "--runs", str(runs_dir), "--port", "0"],
                            stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    match = re.search(r"http://[\w.]+:\d+/", line)
    assert match, line
    yield match[0]
    proc.terminate()
    proc.wait(30)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is not installed: `make test` installs it (apt-get install chromium)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield b
        b.close()


def open_page(browser, tmp_path, width=1280, height=900, touch=False, request=None):
    """A fresh tab of `width` x `height` (a phone's: touch events too); yields it, then asserts that no
    JavaScript error happened. A screenshot of the whole page is saved as tmp_path/page-<width>.png when
    the test failed, or for every test with NN2GPT_SCREENSHOTS=1 (to look at the pages)."""
    # bypass_csp: the test's own wait_for_function() evaluates strings, which the page's policy forbids;
    # test_the_pages_run_under_their_own_policy checks the page without it
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True, has_touch=touch,
                                  is_mobile=touch)
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    yield page
    failed = request is not None and getattr(request.node, "failed_call", False)
    if failed or problems or os.environ.get("NN2GPT_SCREENSHOTS") == "1":
        page.screenshot(path=str(tmp_path / f"page-{width}.png"), full_page=True)
    context.close()
    assert not problems, problems  # no JavaScript error on any page


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        item.failed_call = True  # open_page saves the failed page's screenshot
    return report


@pytest.fixture
def page(browser, tmp_path, request):
    yield from open_page(browser, tmp_path, request=request)


@pytest.fixture
def phone(browser, tmp_path, request):
    """A 390 x 844 touch screen."""
    yield from open_page(browser, tmp_path, 390, 844, touch=True, request=request)


def draw_seven(page, dx=0):
    """A 7 drawn with the mouse on the digits page's canvas (`dx` px to the right)."""
    box = page.locator("#digits-canvas").bounding_box()
    x, y = box["x"] + dx, box["y"]
    page.mouse.move(x + 60, y + 60)
    page.mouse.down()
    for t in range(11):
        page.mouse.move(x + 60 + 16 * t, y + 60)
    for t in range(11):
        page.mouse.move(x + 220 - 10 * t, y + 60 + 18 * t)
    page.mouse.up()
