"""One rule for what `--out` may hold (nn2gpt/runout.py), on every command that writes a run:
a new or empty folder, or a run of the same kind with --overwrite. A folder holding a file that
no nn2gpt command wrote is refused in one line naming that file, with or without --overwrite,
and the file is left as it was; `--out` equal to, inside or above `--from` is refused."""

import json

import pytest
from reliability_helpers import DIGITS_TINY, GPT_TINY, NUMPY_TINY, TRANSLATE_TINY, one_line_error, snapshot

from nn2gpt.cli import main

FOREIGN = '{"my": "settings"}'


def writers(runs):
    """command -> argv writing a fresh run into the folder given last (--out is appended)."""
    return {
        "gpt import": ["gpt", "import", "--from", runs["hf-gpt2"]],
        "translate import": ["translate", "import", "--from", runs["hf-marian"]],
        "gpt train": ["gpt", "train", *GPT_TINY, "--max-iters", "2"],
        "gpt train --engine numpy": ["gpt", "train", *NUMPY_TINY, "--max-iters", "2"],
        "translate train": ["translate", "train", *TRANSLATE_TINY, "--epochs", "1"],
        "translate average": ["translate", "average", runs["translate"]],
        "digits train": ["digits", "train", *DIGITS_TINY],
        "lab run": ["lab", "run", "--tiny", "--steps", "2", "--seeds", "1", "--suite", "masks", "--jobs", "1"],
    }


COMMANDS = ["gpt import", "translate import", "gpt train", "gpt train --engine numpy", "translate train",
            "translate average", "digits train", "lab run"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("overwrite", [False, True])
def test_a_foreign_file_in_out_is_refused_and_kept(command, overwrite, runs, tmp_path, capsys):
    out = tmp_path / "myproj"
    out.mkdir()
    (out / "config.json").write_text(FOREIGN)
    before = snapshot(out)
    argv = [*writers(runs)[command], "--out", out, *(["--overwrite"] if overwrite else [])]
    one_line_error(argv, capsys, "config.json", "no nn2gpt command wrote", "new or empty --out")
    assert snapshot(out) == before  # the user's file as it was, and nothing added
    assert sorted(p.name for p in out.iterdir()) == ["config.json"]


def test_the_file_named_is_the_first_by_name_and_hidden_files_count_too(runs, tmp_path, capsys):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "zz.txt").write_text("mine")
    (out / ".env").write_text("SECRET=1")
    one_line_error(["gpt", "import", "--from", runs["hf-gpt2"], "--out", out], capsys, ".env")


def test_an_empty_folder_or_one_holding_only_our_lock_is_written(runs, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["gpt", "import", "--from", str(runs["hf-gpt2"]), "--out", str(empty)]) == 0
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / ".lock").touch()  # what a run stopped before its first save leaves
    assert main(["gpt", "train", *GPT_TINY, "--max-iters", "2", "--out", str(locked)]) == 0
    assert (locked / "latest").is_file()


@pytest.mark.parametrize("importer", ["gpt", "translate"])
def test_out_equal_to_inside_or_above_from_is_refused(importer, runs, tmp_path, capsys):
    import shutil

    src = tmp_path / "hf"
    shutil.copytree(runs["hf-gpt2" if importer == "gpt" else "hf-marian"], src)
    before = snapshot(src)
    cases = {src: "is --from", src / "inside": "lies inside --from", tmp_path: "holds --from"}
    for out, words in cases.items():
        one_line_error([importer, "import", "--from", src, "--out", out, "--overwrite"], capsys, words)
    assert snapshot(src) == before  # the Hugging Face folder is still one transformers can load
    assert json.loads((src / "config.json").read_text())["model_type"] in ("gpt2", "marian")


def test_a_run_of_another_kind_is_refused_even_with_overwrite(copy_of, runs, capsys):
    digits = copy_of("digits")
    before = snapshot(digits)
    one_line_error(["gpt", "import", "--from", runs["hf-gpt2"], "--out", digits, "--overwrite"], capsys,
                   "holds a digits network")
    assert snapshot(digits) == before


def test_a_lab_report_is_replaced_only_with_overwrite(tmp_path, capsys):
    out = tmp_path / "lab"
    lab = ["lab", "run", "--tiny", "--steps", "2", "--seeds", "1", "--suite", "masks", "--variants", "anticausal",
           "--jobs", "1", "--out", out]
    assert main(list(map(str, lab))) == 0
    before = snapshot(out)
    one_line_error(lab, capsys, "already holds", "--overwrite")
    assert snapshot(out) == before
    assert main(list(map(str, [*lab, "--overwrite"]))) == 0


def test_an_import_over_a_trained_run_drops_its_training_curve(copy_of, runs):
    run = copy_of("gpt")
    (run / "samples.txt").write_text("the old model's samples")
    assert (run / "metrics.jsonl").is_file()
    assert main(["gpt", "import", "--from", str(runs["hf-gpt2"]), "--out", str(run), "--overwrite"]) == 0
    assert not (run / "metrics.jsonl").exists() and not (run / "samples.txt").exists()
    assert json.loads((run / "config.json").read_text())["imported"]["format"] == "gpt2"
