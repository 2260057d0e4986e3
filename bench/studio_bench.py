"""The studio's response times, over real HTTP, for the small GPT and one of GPT-2's size, in the same run.

    .venv/bin/python bench/studio_bench.py --runs runs [--big-run PATH] [--screenshots docs/studio]
    .venv/bin/python bench/studio_bench.py --runs runs --check      # every request once, a tiny 12x12 model

Two studios are started as a user starts them (`nn2gpt studio`): one over --runs (its GPT run
--gpt, made by `make demo`; its translate run --translate and runs/digits when there), one over a
GPT of GPT-2 small's shape (12 layers x 12 heads, 768 wide, block 1024, 50,257 BPE tokens) with
random weights: --big-run names such a run, else one is made in a temporary folder (one training
step, about a minute and 2 GB of memory on 2 cores). Each figure is the median and the worst of
--repeat requests, after one warm-up request (a model loads on its first request and stays):
- first token: POST /api/gpt/generate until the first piece of text arrives (target 100 ms);
- streaming: tokens a second from the first piece to the last of 64 (target 30), and the first click
  into the text just generated (its pass is made as the stream ends);
- attention click: POST /api/gpt/inspect on a text of 256 tokens, at a new position each time (the
  page's click: its pass over the text is kept, so a click reads it; target 200 ms). The first
  click on a new text (a pass over it) is shown too, without a target;
- heads-off bars: POST /api/gpt/next at the clicked position with a new head off each time, one
  layer further up each time (the bars the page shows when a box is ticked; target 150 ms), and with a
  head of the first layer (a pass through every block) and of the last (one block);
- translate: POST /api/translate (beam 4) of the pizza sentence, plain and with a decoder head off,
  and their ratio (target 2x); a slider's move and a digits prediction on the small studio;
- page: a fresh browser tab, from navigation to the run list shown (1 s), with Debian's chromium.
--threads N starts both studios with `--threads N` (the studio's default: one thread, and the free
cores for a costly pass over a whole text).
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

TARGETS = {"first streamed token": "<= 100 ms", "streaming": ">= 30 tokens/s", "attention click": "<= 200 ms",
           "heads-off bars": "<= 150 ms", "translate, a head off / plain": "<= 2x"}


def start(runs: str, threads: list[str]) -> tuple[subprocess.Popen, str, int]:
    proc = subprocess.Popen([sys.executable, "-m", "nn2gpt", "studio", "--runs", runs, "--port", "0", *threads],
                            stderr=subprocess.PIPE, text=True)
    m = re.search(r"http://([\w.]+):(\d+)/", proc.stderr.readline())
    if not m:
        proc.kill()
        sys.exit("the studio did not start")
    return proc, m[1], int(m[2])


def post(where, path, body, pieces=False):
    """(seconds to the answer, or to the first streamed piece; the answer, or each piece's (arrival, text))."""
    conn = http.client.HTTPConnection(*where)
    t0 = time.perf_counter()
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    r = conn.getresponse()
    if r.status != 200:
        sys.exit(f"{path}: {r.status} {r.read()[:200]!r}")
    if pieces:
        got = [(time.perf_counter() - t0, json.loads(line[6:])["text"]) for line in iter(r.readline, b"")
               if b'"type": "piece"' in line]
        conn.close()
        return got[0][0], got
    answer = json.loads(r.read())
    seconds = time.perf_counter() - t0
    conn.close()
    return seconds, answer


def median_worst(values: list[float]) -> tuple[float, float]:
    return round(statistics.median(values), 1), round(max(values), 1)


def timed(repeat: int, call) -> list[float]:
    call(-1)  # the warm-up
    return [call(i) * 1000 for i in range(repeat)]


def text_of(where, run: str, n: int) -> str:
    """A text of about n tokens of the run's tokenizer (Shakespeare's words, cut at a token)."""
    text = "ROMEO:\nBut soft, what light through yonder window breaks? It is the east, and Juliet is the sun.\n" * 40
    return "".join(post(where, "/api/gpt/tokens", {"run": run, "text": text})[1]["tokens"][:n])


def gpt_rows(where, run: str, repeat: int, check: bool) -> dict:
    """Every GPT figure of one studio's run: {what: (median, worst)}."""
    rows = {}
    gen = {"run": run, "prompt": "ROMEO:", "max_new_tokens": 5, "seed": 0}
    rows["first streamed token"] = median_worst(timed(repeat, lambda i: post(where, "/api/gpt/generate", gen, True)[0]))
    rates, clicks = [], []
    for i in range(max(1, repeat // 3)):
        _, got = post(where, "/api/gpt/generate", gen | {"max_new_tokens": 16 if check else 64, "seed": i}, True)
        rates.append((len(got) - 1) / (got[-1][0] - got[0][0]) if len(got) > 1 else 0.0)
        written = "ROMEO:" + "".join(piece for _, piece in got)  # the page's text: its first click comes next
        clicks.append(post(where, "/api/gpt/inspect", {"run": run, "text": written, "position": 3})[0] * 1000)
    rows["streaming"] = (round(statistics.median(rates), 1), round(min(rates), 1))
    rows["  first click after generating"] = median_worst(clicks)
    text = text_of(where, run, 256)
    n = len(post(where, "/api/gpt/inspect", {"run": run, "text": text, "position": 0})[1]["tokens"])
    where_at = lambda i: n - 1 - (7 * (i + 1)) % (n // 2)  # a new position each time, in the text's second half
    click = lambda i: post(where, "/api/gpt/inspect", {"run": run, "text": text, "position": where_at(i)})[0]
    rows[f"attention click ({n} tokens)"] = median_worst(timed(repeat, click))
    other = lambda i: text[:-1] + "abcdefghijklmnopqrstuvwxyz"[i % 26]  # its last token changed: a new text
    fresh = lambda i: post(where, "/api/gpt/inspect", {"run": run, "text": other(i), "position": n - 1})[0]
    rows["  first click on a new text"] = median_worst(timed(max(1, repeat // 2), fresh))
    shape = post(where, "/api/gpt/inspect", {"run": run, "text": text, "position": n - 1})[1]
    layers, heads = shape["n_layer"], shape["n_head"]
    if layers:
        bars = lambda layer, head: post(where, "/api/gpt/next", {"run": run, "text": text, "position": n - 1,
                                                                 "heads_off": [[layer, head % heads]]})[0]
        rows["heads-off bars"] = median_worst(timed(repeat, lambda i: bars((i + 1) % layers, (i + 1) // layers)))
        few = max(1, repeat // 3)  # heads the loop above did not turn off
        rows["  a head of the first layer"] = median_worst(timed(few, lambda i: bars(0, i + 6)))
        rows["  a head of the last layer"] = median_worst(timed(few, lambda i: bars(layers - 1, i + 6)))
    return rows


def small_rows(where, args) -> dict:
    """The small studio's own: a slider's move, a digits prediction, a translation plain and with a head off."""
    rows, text = {}, "ROMEO:\n" + "But soft, what light through yonder window breaks? " * 6
    moves = lambda i: post(where, "/api/gpt/next", {"run": args.gpt, "text": text, "position": 250,
                                                    "temperature": 0.3 + 0.05 * (i % 30), "top_k": 20})[0]
    rows["temperature / top-k slider"] = median_worst(timed(args.repeat, moves))
    if (Path(args.runs) / args.digits / "weights.npz").is_file():
        side = 140
        pixels = [0 if 30 < x < 110 and 25 < y < 38 or 95 < x < 108 and y >= 25 else 255
                  for y in range(side) for x in range(side)]
        rows["digits prediction"] = median_worst(timed(args.repeat, lambda i: post(where, "/api/digits/predict", {
            "run": args.digits, "width": side, "height": side, "pixels": pixels})[0]))
    if (Path(args.runs) / args.translate).is_dir():
        body = {"run": args.translate, "sentence": "La pizza salió del horno y sabía bien.", "beam": 4}
        layers = post(where, "/api/translate", body)[1]["layers"]
        cross = next((i for i, name in enumerate(layers) if name.startswith("decoder") and "cross" in name), 0)
        plain, off = [], []
        for i in range(args.repeat + 1):  # taken in turns, so that both see the same load
            plain.append(post(where, "/api/translate", body)[0] * 1000)
            off.append(post(where, "/api/translate", body | {"heads_off": [[cross, i % 2]]})[0] * 1000)
        plain, off = plain[1:], off[1:]
        rows["translate (beam 4)"] = median_worst(plain)
        rows["translate, a head off"] = median_worst(off)
        rows["translate, a head off / plain"] = (round(statistics.median(off) / statistics.median(plain), 2), None)
    return rows


def page_load(base: str, screenshots: Path | None, repeat: int) -> tuple | None:
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
        if screenshots:
            from studio_screens import take_screenshots

            take_screenshots(browser, base, screenshots)
        browser.close()
    return median_worst(times[1:])


def make_big(folder: Path, width: int) -> Path:
    """A GPT of GPT-2 small's shape (12 layers x 12 heads, `width` wide, block 1024, GPT-2's BPE),
    one training step from its random initialisation (lr 1e-9): what an imported model looks like to the studio."""
    run = folder / "gpt2-12x12"
    subprocess.run([sys.executable, "-m", "nn2gpt", "gpt", "train", "--out", str(run), "--tokenizer", "gpt2",
                    "--n-layer", "12", "--n-head", "12", "--n-embd", str(width), "--block-size", "1024",
                    "--max-iters", "1", "--lr", "1e-9", "--warmup", "1", "--eval-batches", "1", "--batch-size", "1",
                    "--sample-tokens", "0", "--quiet"], check=True)
    return run


def show(small: dict, big: dict) -> list[dict]:
    """The table: each figure for both models, and its target."""
    def cell(v, what):
        if v is None:
            return "-"
        unit = " tok/s" if what == "streaming" else "x" if what.endswith("/ plain") else " ms"
        return f"{v[0]}{unit}" + (f" ({'min' if what == 'streaming' else 'max'} {v[1]})" if v[1] is not None else "")

    names = list(dict.fromkeys([*small, *big]))
    print(f"\n{'':<34}{'small model':<28}{'12x12 (GPT-2 small shape)':<28}target")
    rows = []
    for what in names:
        target = next((t for k, t in TARGETS.items() if what.startswith(k)), "")
        print(f"{what:<34}{cell(small.get(what), what):<28}{cell(big.get(what), what):<28}{target}")
        rows.append({"what": what, "small": small.get(what), "big": big.get(what), "target": target})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default="runs")
    ap.add_argument("--gpt", default="gpt", help="the GPT run's name inside --runs (default gpt)")
    ap.add_argument("--digits", default="digits")
    ap.add_argument("--translate", default="translate", help="the translate run's name inside --runs")
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--screenshots", type=Path, help="save one screenshot of each page into this folder")
    ap.add_argument("--no-page", action="store_true", help="skip the browser's page load")
    ap.add_argument("--threads", type=int, help="the studios' --threads (default: the studio's own default)")
    ap.add_argument("--big-run", help="a 12-layer x 12-head GPT run to time (default: one made for the bench)")
    ap.add_argument("--check", action="store_true", help="each request once, a 48-wide 12x12 model: tests the script")
    args = ap.parse_args()
    if args.check:
        args.repeat = 1
    with tempfile.TemporaryDirectory() as tmp:
        big_run = Path(args.big_run) if args.big_run else make_big(Path(tmp), 48 if args.check else 768)
        threads = ["--threads", str(args.threads)] if args.threads else []
        studios = [start(args.runs, threads), start(str(big_run.parent), threads)]
        try:
            (_, *small_at), (_, *big_at) = studios
            small = gpt_rows(tuple(small_at), args.gpt, args.repeat, args.check)
            big = gpt_rows(tuple(big_at), big_run.name, args.repeat, args.check)
            small |= small_rows(tuple(small_at), args)
            if not args.no_page:
                load = page_load("http://{}:{}/".format(*small_at), args.screenshots, min(args.repeat, 5))
                if load:
                    small["page load (run list shown)"] = load
            print(json.dumps(show(small, big)))
        finally:
            for proc, *_ in studios:
                proc.terminate()
                proc.wait(30)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
