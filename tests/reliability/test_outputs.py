"""Output flags never write over runs (nn2gpt.outputs).

`gpt attention --out RUN/latest` once replaced `latest` with a PNG, and the next `gpt sample`
printed 41 KB of PNG bytes as its error. Every `--out` of a command that does not train now
refuses a run's own files, a run of another kind, a run a trainer holds, and an existing file
without --overwrite; the run is left byte for byte as it was.
"""

import json

import pytest
from reliability_helpers import one_line_error, snapshot

from nn2gpt.checkpoint import latest_checkpoint_dir
from nn2gpt.cli import command_parsers, main
from nn2gpt.runlock import RunLock

# every command that has --out and does not train: what it needs besides --out, whether --out is a
# folder, and the kind of run it may write into (its own: see the tests further down)
READERS = {
    "gpt attention": (lambda r, t: ["gpt", "attention", "To be", "--model", r["gpt"]], False, "gpt"),
    "digits show": (lambda r, t: ["digits", "show", "--model", r["digits"]], False, "digits"),
    "translate attention": (lambda r, t: ["translate", "attention", "Hola.", "--model", r["translate"],
                                          "--beam", "1"], True, "translate"),
    "translate target-text": (lambda r, t: ["translate", "target-text", "--pair", "es-en"], False, None),
    "lab report": (lambda r, t: ["lab", "report", "--results", _results(t)], True, "lab"),
    "lab pizza": (lambda r, t: ["lab", "pizza", "--model", r["translate"]], True, "translate"),  # and "lab"
}
TRAINERS = {"gpt train", "gpt import", "digits train", "translate train", "translate average", "translate import",
            "lab run", "tokens train", "gpt export"}  # these write a run of their own


def _results(tmp):
    path = tmp / "lab" / "results.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({"runs": [], "settings": {}}))
    return path


def test_every_output_flag_is_listed():
    with_out = {c for c, p in command_parsers().items() if any(a.dest == "out" for a in p._actions)}
    assert with_out == set(READERS) | TRAINERS


@pytest.mark.parametrize("command", READERS)
def test_an_output_inside_a_run_of_another_kind_is_refused(command, runs, copy_of, tmp_path, capsys):
    argv, folder, owner = READERS[command]
    for kind in {"gpt", "translate", "digits"} - {owner}:
        victim = copy_of(kind)
        before = snapshot(victim)
        out = victim if folder else victim / "config.json"
        one_line_error([*argv(runs, tmp_path), "--out", out, *([] if folder else ["--overwrite"])], capsys,
                       "lies inside", "choose a path outside it")
        assert snapshot(victim) == before


@pytest.mark.parametrize("target", ["latest", "config.json", "metrics.jsonl", "ckpt", ".lock"])
def test_gpt_attention_never_writes_over_its_runs_own_files(target, copy_of, capsys):
    run = copy_of("gpt")
    before = snapshot(run)
    out = latest_checkpoint_dir(run) / "weights.safetensors" if target == "ckpt" else run / target
    one_line_error(["gpt", "attention", "To be", "--model", run, "--out", out, "--overwrite"], capsys,
                   "the run's own", "choose another name")
    assert snapshot(run) == before


def test_target_text_never_writes_into_a_translation_run(copy_of, capsys):
    run = copy_of("translate")
    before = snapshot(run)
    one_line_error(["translate", "target-text", "--pair", "es-en", "--out", run / "tokenizer.json", "--overwrite"],
                   capsys, "lies inside", "holds a translation model")
    assert snapshot(run) == before


def test_lab_report_never_writes_into_a_gpt_run(copy_of, tmp_path, capsys):
    run = copy_of("gpt")
    before = snapshot(run)
    one_line_error(["lab", "report", "--results", _results(tmp_path), "--out", run], capsys,
                   "lies inside", "holds a chapter-2 GPT")
    assert snapshot(run) == before


def test_an_existing_file_is_replaced_only_with_overwrite(runs, tmp_path, capsys):
    out = tmp_path / "att.png"
    out.write_bytes(b"mine")
    argv = ["gpt", "attention", "To be", "--model", runs["gpt"], "--out", out]
    one_line_error(argv, capsys, "already exists", "--overwrite")
    assert out.read_bytes() == b"mine"
    assert main([*map(str, argv), "--overwrite"]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")


def test_a_picture_beside_the_model_needs_the_runs_lock(copy_of, capsys):
    """The default RUN/attention.png is the run's own command writing into it: fine, unless a trainer holds it."""
    import os

    run = copy_of("gpt")
    with RunLock(run):
        one_line_error(["gpt", "attention", "To be", "--model", run], capsys, "in use by another nn2gpt process",
                       f"PID {os.getpid()}")
    assert not (run / "attention.png").exists()
    assert main(["gpt", "attention", "To be", "--model", str(run)]) == 0
    assert (run / "attention.png").read_bytes().startswith(b"\x89PNG")
    assert main(["gpt", "sample", "--model", str(run), "--max-new-tokens", "2"]) == 0  # the run still loads
