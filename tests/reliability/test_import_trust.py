"""An import is checked as strictly as a checkpoint is read, before anything is saved: finite
float weights only, the vocabulary complete and one-to-one, config sizes against what nn2gpt
builds. Each forged Hugging Face folder is refused in one line, and a good run that
`--overwrite` would have replaced is left as it was."""

import json
import shutil

import pytest
import torch
from reliability_helpers import one_line_error, snapshot
from safetensors.torch import load_file, save_file

IMPORTERS = {"gpt": "hf-gpt2", "translate": "hf-marian"}
GOOD_RUN = {"gpt": "gpt", "translate": "translate"}


def forged(runs, tmp_path, importer, edit):
    """A copy of the tiny Hugging Face folder with `edit(tensors)` applied to its safetensors."""
    folder = tmp_path / f"forged-{importer}"
    shutil.copytree(runs[IMPORTERS[importer]], folder)
    path = folder / "model.safetensors"
    tensors = load_file(str(path))
    edit(tensors)
    save_file(tensors, str(path), metadata={"format": "pt"})
    return folder


def _first_float(tensors):
    return sorted(k for k, v in tensors.items() if v.is_floating_point())[0]


def nan(tensors):
    tensors[_first_float(tensors)].view(-1)[3] = float("nan")


def inf(tensors):
    tensors[_first_float(tensors)].view(-1)[0] = float("-inf")


def integers(tensors):
    for k in list(tensors):
        tensors[k] = (tensors[k] * 100).to(torch.int64)


def one_bool(tensors):
    name = _first_float(tensors)
    tensors[name] = tensors[name] > 0


@pytest.mark.parametrize("importer", IMPORTERS)
@pytest.mark.parametrize("edit, words", [(nan, "NaN or inf"), (inf, "NaN or inf"), (integers, "I64"),
                                         (one_bool, "BOOL")])
def test_a_forged_model_is_refused_and_the_run_it_would_replace_is_kept(importer, edit, words, runs, copy_of,
                                                                        tmp_path, capsys):
    folder = forged(runs, tmp_path, importer, edit)
    run = copy_of(GOOD_RUN[importer])
    before = snapshot(run)
    pair = ["--pair", "es-en"] if importer == "translate" else []
    err = one_line_error([importer, "import", "--from", folder, *pair, "--out", run, "--overwrite"], capsys, words,
                         "tensor ")
    assert snapshot(run) == before, err


def _vocab_edit(runs, tmp_path, edit):
    folder = tmp_path / "forged-vocab"
    shutil.copytree(runs["hf-marian"], folder)
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    edit(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    return folder


def test_a_vocabulary_with_entries_deleted_is_refused(runs, copy_of, tmp_path, capsys):
    def drop_half(vocab):
        for piece in list(vocab)[5:5 + len(vocab) // 2]:
            del vocab[piece]

    run = copy_of("translate")
    before = snapshot(run)
    one_line_error(["translate", "import", "--from", _vocab_edit(runs, tmp_path, drop_half), "--pair", "es-en",
                    "--out", run, "--overwrite"], capsys, "vocab.json", "incomplete")
    assert snapshot(run) == before


def test_a_vocabulary_giving_one_id_to_two_pieces_is_refused(runs, tmp_path, capsys):
    def twice(vocab):
        pieces = list(vocab)
        vocab[pieces[7]] = vocab[pieces[6]]

    one_line_error(["translate", "import", "--from", _vocab_edit(runs, tmp_path, twice), "--pair", "es-en",
                    "--out", tmp_path / "o"],
                   capsys, "vocab.json", "gives id", "to two pieces")
    assert not (tmp_path / "o").exists()


def test_a_huge_position_table_names_config_json_and_the_field(runs, tmp_path, capsys):
    folder = tmp_path / "forged-positions"
    shutil.copytree(runs["hf-marian"], folder)
    config = json.loads((folder / "config.json").read_text())
    config["max_position_embeddings"] = 10**12
    (folder / "config.json").write_text(json.dumps(config))
    one_line_error(["translate", "import", "--from", folder, "--pair", "es-en", "--out", tmp_path / "o"], capsys,
                   "config.json", "max_position_embeddings", str(10**12))
    assert not (tmp_path / "o").exists()
