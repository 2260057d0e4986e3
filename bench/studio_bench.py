"""The studio's response times, over real HTTP, against `nn2gpt studio` started as a user starts it.

    .venv/bin/python bench/studio_bench.py --runs runs [--screenshots docs/studio] [--big-run PATH]
    .venv/bin/python bench/studio_bench.py --runs runs --check      # every request once, a tiny 12x12 model

Needs a GPT run (`make demo` writes runs/gpt), and optionally runs/digits, a translate run and a lab
run under --runs. Each figure is the median and the worst of --repeat requests, after one warm-up
request (the server loads a model on its first request and then keeps it in memory):
- first token: POST /api/gpt/generate until the first piece of text arrives (quality bar: 200 ms);
- attention: POST /api/gpt/inspect for a position deep in a 300-character text (200 ms);
- slider: POST /api/gpt/next at a new temperature and top-k for the clicked position, the request a
  slider's move makes (50 ms);
- heads off: POST /api/gpt/next with one head turned off, at a new position each time, so each is a
  forward pass through the ablated model (50 ms);
- digits: POST /api/digits/predict with a 140x140 drawing, the page's own size (50 ms);
- page: a fresh browser tab, from navigation to the run list shown (1 s), with Debian's chromium;
- 12x12: the first token and the attention click of a model of GPT-2 small's shape (12 layers x 12
  heads, 768 wide, block 1024, 50,257 BPE tokens) with random weights, served by a second studio:
  --big-run names such a run, else one is made in a temporary folder (one training step, about a
  minute and 2 GB of memory on 2 cores).
--screenshots DIR also saves one picture of each page, made on those runs, for the README.
--check runs each request once and makes the 12x12 model only 48 wide: a quick test of the script
itself, not a measurement.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def start(runs: str) -> tuple[subprocess.Popen, str, int]:
    proc = subprocess.Popen([sys.executable, "-m", "nn2gpt", "studio", "--runs", runs, "--port", "0"],
                            stderr=subprocess.PIPE, text=True)
    m = re.search(r"http://([\w.]+):(\d+)/", proc.stderr.readline())
    if not m:
        proc.kill()
        sys.exit("the studio did not start")
    return proc, m[1], int(m[2])


def timed_post(host, port, path, body, until_piece=False) -> float:
    conn = http.client.HTTPConnection(host, port)
    data = json.dumps(body)
    t0 = time.perf_counter()
    conn.request("POST", path, data, {"Content-Type": "application/json"})
    r = conn.getresponse()
    if r.status != 200:
        sys.exit(f"{path}: {r.status} {r.read()[:200]!r}")
    if until_piece:
        while b'"piece"' not in r.readline():
            pass
        seconds = time.perf_counter() - t0
    else:
        r.read()
        seconds = time.perf_counter() - t0
    conn.close()
    return seconds


def make_big(folder: Path, width: int) -> Path:
    """A GPT of GPT-2 small's shape (12 layers x 12 heads, `width` wide, block 1024, GPT-2's BPE),
    one training step from its random initialisation (lr 1e-9): what an imported model looks like to the studio."""
    run = folder / "gpt2-12x12"
    subprocess.run([sys.executable, "-m", "nn2gpt", "gpt", "train", "--out", str(run), "--tokenizer", "gpt2",
                    "--n-layer", "12", "--n-head", "12", "--n-embd", str(width), "--block-size", "1024",
                    "--max-iters", "1", "--lr", "1e-9", "--warmup", "1", "--eval-batches", "1", "--batch-size", "1",
                    "--sample-tokens", "0", "--quiet"], check=True)
    return run


def measure(name, repeat, call) -> dict:
    call()  # warm-up: the model's first load
    times = [call() * 1000 for _ in range(repeat)]
    row = {"what": name, "median_ms": round(statistics.median(times), 1), "worst_ms": round(max(times), 1)}
    print(f"{name:<34} median {row['median_ms']:7.1f} ms   worst {row['worst_ms']:7.1f} ms", flush=True)
    return row


def page_load(base: str, screenshots: Path | None, repeat: int) -> dict | None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if not chromium:
        print("page load: chromium not installed (apt-get install chromium); skipped")
        return None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        times = []
        for _ in range(repeat + 1):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            t0 = time.perf_counter()
            page.goto(base + "#gpt")
            page.wait_for_selector("#gpt-run option", state="attached")
            times.append((time.perf_counter() - t0) * 1000)
            context.close()
        times = times[1:]
        row = {"what": "page load (run list shown)", "median_ms": round(statistics.median(times), 1),
               "worst_ms": round(max(times), 1)}
        print(f"{row['what']:<34} median {row['median_ms']:7.1f} ms   worst {row['worst_ms']:7.1f} ms")
        if screenshots:
            from studio_screens import take_screenshots

            take_screenshots(browser, base, screenshots)
        browser.close()
    return row


def big_model(args, text: str) -> list[dict]:
    """The first token and the attention click of a 12x12 model, on a studio of its own."""
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(args.big_run) if args.big_run else make_big(Path(tmp), 48 if args.check else 768)
        proc, host, port = start(str(run.parent))
        try:
            name = run.name
            return [measure("12x12 first streamed token", args.repeat, lambda: timed_post(
                        host, port, "/api/gpt/generate", {"run": name, "prompt": "ROMEO:", "max_new_tokens": 5,
                                                          "seed": 0}, until_piece=True)),
                    measure("12x12 attention click", args.repeat, lambda: timed_post(
                        host, port, "/api/gpt/inspect", {"run": name, "text": text, "position": 60}))]
        finally:
            proc.terminate()
            proc.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default="runs")
    ap.add_argument("--gpt", default="gpt", help="the GPT run's name inside --runs (default gpt)")
    ap.add_argument("--digits", default="digits")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--screenshots", type=Path, help="save one screenshot of each page into this folder")
    ap.add_argument("--big-run", help="a 12-layer x 12-head GPT run to time (default: one made for the bench)")
    ap.add_argument("--check", action="store_true", help="each request once, a 48-wide 12x12 model: tests the script")
    args = ap.parse_args()
    if args.check:
        args.repeat = 1
    proc, host, port = start(args.runs)
    try:
        rows = []
        text = "ROMEO:\n" + "But soft, what light through yonder window breaks? " * 6
        rows.append(measure("first streamed token", args.repeat, lambda: timed_post(
            host, port, "/api/gpt/generate", {"run": args.gpt, "prompt": "ROMEO:", "max_new_tokens": 50, "seed": 0},
            until_piece=True)))
        rows.append(measure("attention for a clicked position", args.repeat, lambda: timed_post(
            host, port, "/api/gpt/inspect", {"run": args.gpt, "text": text, "position": 250})))
        moves = iter(range(10**6))
        rows.append(measure("temperature / top-k slider", args.repeat, lambda: timed_post(
            host, port, "/api/gpt/next", {"run": args.gpt, "text": text, "position": 250,
                                          "temperature": 0.3 + 0.05 * (next(moves) % 30), "top_k": 20})))
        where = iter(range(10**6))  # a new position each time: a forward pass, never the kept logits
        rows.append(measure("one head turned off", args.repeat, lambda: timed_post(
            host, port, "/api/gpt/next", {"run": args.gpt, "text": text, "position": 100 + next(where) % 150,
                                          "heads_off": [[0, 0]]})))
        if (Path(args.runs) / args.digits / "weights.npz").is_file():
            side = 140
            pixels = [0 if 30 < x < 110 and 25 < y < 38 or 95 < x < 108 and y >= 25 else 255
                      for y in range(side) for x in range(side)]
            rows.append(measure("digits prediction round trip", args.repeat, lambda: timed_post(
                host, port, "/api/digits/predict", {"run": args.digits, "width": side, "height": side,
                                                    "pixels": pixels})))
        load = page_load(f"http://{host}:{port}/", args.screenshots, min(args.repeat, 5))
        if load:
            rows.append(load)
        rows += big_model(args, text)
        print(json.dumps(rows))
    finally:
        proc.terminate()
        proc.wait(30)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
