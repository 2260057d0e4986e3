"""The tiny settings and the checks every bad-input test shares.

Each rule of reliability has its own module here, and each walks every command the argparse
parsers define (nn2gpt.cli.command_parsers), so a flag added tomorrow is probed tomorrow.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from nn2gpt.cli import main

GPT_TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16", "--batch-size", "4",
            "--eval-batches", "2", "--warmup", "2", "--threads", "1", "--sample-tokens", "0", "--quiet"]
NUMPY_TINY = ["--engine", "numpy", "--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16",
              "--batch-size", "4", "--eval-batches", "2", "--warmup", "2", "--sample-tokens", "0", "--quiet"]
TRANSLATE_TINY = ["--pair", "es-en", "--d-model", "16", "--layers", "1", "--heads", "2", "--ff", "32",
                  "--vocab-size", "200", "--max-tokens", "400", "--limit", "60", "--warmup", "5", "--quiet",
                  "--device", "cpu", "--threads", "1"]
DIGITS_TINY = ["--sizes", "784,10,10", "--epochs", "1", "--limit", "200"]


def snapshot(run: Path) -> dict:
    """Every file under `run` with its bytes: "the run is untouched" is `snapshot(run) == before`."""
    return {p.relative_to(run): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


def forge(run, weights=None, meta=None, digest=True):
    """Change the latest checkpoint of `run`: `weights(dict)` and `meta(dict)` edit it in place;
    every sha256 is then recomputed (meta.json's own too, unless digest=False)."""
    import json

    from safetensors.numpy import load_file, save_file

    from nn2gpt.checkpoint import latest_checkpoint_dir, meta_digest
    from nn2gpt.files import sha256_file

    ckpt = latest_checkpoint_dir(run)
    m = json.loads((ckpt / "meta.json").read_text())
    if weights is not None:
        arrays = load_file(str(ckpt / "weights.safetensors"))
        weights(arrays)
        save_file(arrays, str(ckpt / "weights.safetensors"))
        m["sha256"]["weights.safetensors"] = sha256_file(ckpt / "weights.safetensors")
    if meta is not None:
        meta(m)
    if digest:
        m["meta_sha256"] = meta_digest(m)
    (ckpt / "meta.json").write_text(json.dumps(m))
    return run


def nan_in_first(arrays):
    """A forge() edit: one NaN in the first weight."""
    import numpy as np

    name = sorted(arrays)[0]
    arrays[name] = arrays[name].copy()
    arrays[name].flat[0] = np.nan


def one_line_error(argv, capsys, *needles) -> str:
    """Run `nn2gpt ARGV` in this process; it must exit 2 with one line on stderr naming each needle."""
    status = main(list(map(str, argv)))
    err = capsys.readouterr().err.strip()
    assert status == 2, f"exit {status} for {argv}: {err}"
    assert len(err.splitlines()) == 1 and ": error: " in err, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err
    return err


def start(argv, **kw) -> subprocess.Popen:
    """The command in a session of its own, so that the test can end it and all it started."""
    return subprocess.Popen([*map(str, argv)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, **kw)


def terminate_when(p: subprocess.Popen, ready, timeout: float = 120) -> tuple[str, str]:
    """Wait until `ready()` (the child is training), send SIGTERM to it alone, return (stdout, stderr)."""
    deadline = time.time() + timeout
    try:
        while p.poll() is None and time.time() < deadline and not ready():
            time.sleep(0.1)
        if p.poll() is not None or not ready():
            raise AssertionError(f"the trainer never started training (exit {p.poll()})")
        p.send_signal(signal.SIGTERM)
        return p.communicate(timeout=120)
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)  # whatever is left of it (torchrun's workers, the lab's)
        except ProcessLookupError:
            pass
        if p.returncode is None:
            p.communicate()


def nn2gpt(*args, timeout=180, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nn2gpt", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, **kw)


PATH_DESTS = {"out", "model", "run", "runs", "text", "data_dir", "results", "init_from", "lm", "image", "checkpoints",
              "from_dir"}


def base_commands(runs, tmp):
    """command -> {option or positional dest: value}: a run of it that works, with tiny settings."""
    png = tmp / "digit.png"
    if not png.exists():
        from PIL import Image

        Image.new("L", (40, 40), 255).save(png)
        from PIL import ImageDraw

        im = Image.open(png)
        ImageDraw.Draw(im).line((20, 5, 20, 35), fill=0, width=4)
        im.save(png)
    results = tmp / "lab" / "results.json"
    ids = tmp / "tokens" / "ids.txt"  # the input of `tokens decode`, and of `tokens encode` beside it
    if not ids.exists():
        ids.parent.mkdir(parents=True, exist_ok=True)
        ids.write_text("51 35\n\n")
        (ids.parent / "lines.txt").write_text("To be\n\n")
    book = tmp / "learn-book"
    if not book.exists():  # a workbook whose every exercise holds its solution
        from nn2gpt.learn.registry import all_exercises

        assert main(["learn", "init", str(book)]) == 0
        for ex in all_exercises():
            (book / ex.file).write_text(ex.solution.read_text())
    return {
        "digits train": {"--out": tmp / "d", "": [*DIGITS_TINY, "--overwrite"]},
        "digits predict": {"image": png, "--model": runs["digits"]},
        "digits show": {"--model": runs["digits"], "--out": tmp / "wrong.png", "": ["--overwrite"]},
        "gpt train": {"--out": tmp / "g", "--text": None, "": [*GPT_TINY, "--max-iters", "2", "--overwrite"]},
        "gpt sample": {"--model": runs["gpt"], "": ["--max-new-tokens", "3"]},
        "gpt attention": {"text": "To be", "--model": runs["gpt"], "--out": tmp / "att.png", "": ["--overwrite"]},
        "translate train": {"--out": tmp / "t", "": [*TRANSLATE_TINY, "--epochs", "1", "--overwrite"]},
        "translate eval": {"--model": runs["translate"], "--lm": None, "": ["--limit", "3", "--beam", "1"]},
        "translate average": {"checkpoints": [runs["translate"], runs["translate-copy"]], "--out": tmp / "avg",
                              "": ["--overwrite"]},
        "translate attention": {"sentence": "Hola.", "--model": runs["translate"], "--out": tmp / "tatt",
                                "": ["--beam", "1"]},
        "translate": {"sentence": "Hola.", "--model": runs["translate"], "--lm": None, "": ["--beam", "1"]},
        "translate target-text": {"--pair": "es-en", "--out": tmp / "en.txt", "": ["--overwrite"]},
        "translate import": {"--from": runs["hf-marian"], "--out": tmp / "opus", "": ["--overwrite"]},
        "gpt import": {"--from": runs["hf-gpt2"], "--out": tmp / "gpt2", "": ["--overwrite"]},
        # the lab's cheapest run: its baseline alone, in the suite whose report draws nothing more for it
        "lab run": {"--out": tmp / "lab", "": ["--tiny", "--steps", "2", "--seeds", "1", "--suite", "heads",
                                               "--variants", "baseline", "--jobs", "1", "--overwrite"]},
        "lab report": {"--results": results, "--out": tmp / "report"},
        "lab pizza": {"--model": runs["translate"], "--out": tmp / "pizza"},
        "data": {"action": "list"},
        "studio": {"--runs": runs["gpt"].parent, "": ["--list"]},
        "learn": {"--dir": book},
        "learn init": {"path": tmp / "learn-new"},
        "learn check": {"name": "sigmoid", "--dir": book},
        "learn watch": {"--dir": book, "": ["--max-checks", "1", "--poll", "0.01"]},
        "learn hint": {"name": "backprop", "--dir": book},
        "learn solution": {"name": "backprop", "--dir": book, "": ["--give-up"]},
        "learn list": {"--dir": book},
        "learn run": {"--dir": book, "": ["digits", "--epochs", "1", "--limit", "20", "--out", tmp / "learn-run",
                                          "--overwrite"]},
        "learn reset": {"name": "cross_entropy", "--dir": book},
        "learn trace": {"name": "sigmoid", "--dir": book},
        "learn goto": {"name": "backprop", "--dir": book},
        "tokens train": {"--out": tmp / "tok", "": ["--vocab-size", "300", "--overwrite"]},
        "tokens show": {"string": "To be", "--model": runs["tokens"]},
        "tokens encode": {"file": ids.parent / "lines.txt", "--model": runs["tokens"]},
        "tokens decode": {"file": ids, "--model": runs["tokens"]},
        "tokens neighbours": {"token": "e", "--model": runs["gpt"]},
        "gpt export": {"run": runs["gpt"], "--out": tmp / "export", "": ["--overwrite"]},
    }


def argv_of(command: str, spec: dict) -> list[str]:
    words = command.split()
    head = {"translate": ["translate"], "data": ["data"], "studio": ["studio"]}.get(command, words)
    positionals, options = [], []
    for key, value in spec.items():
        if key == "" or value is None:
            continue
        values = value if isinstance(value, list) else [value]
        (options.extend([key, *map(str, values)]) if key.startswith("--") else positionals.extend(map(str, values)))
    return [*head, *positionals, *options, *map(str, spec.get("", []))]


def path_options(parser):
    return [a for a in parser._actions if a.dest in PATH_DESTS]
