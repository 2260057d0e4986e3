"""Translating a file or a pipe, and scoring any test set: `translate < in.txt`, `eval --src/--ref`."""

import gzip
import sys

import pytest

from nn2gpt.cli import main
from nn2gpt.data.translation import load_pair

N = 40  # test sentences used


def _train(tmp_path_factory, name: str, *flags) -> object:
    out = tmp_path_factory.mktemp("lines") / name
    assert main(["translate", "train", "--pair", "de-en", "--out", str(out), "--d-model", "32", "--heads", "2",
                 "--ff", "64", "--vocab-size", "400", "--quiet", "--device", "cpu", "--threads", "1", *flags]) == 0
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A de-en model left near its random initial weights: its outputs differ from sentence to sentence
    (and in length), which is what order and batching checks need; a briefly trained tiny model says
    the same words for every input."""
    return _train(tmp_path_factory, "run", "--layers", "2", "--limit", "300", "--warmup", "5", "--epochs", "1",
                  "--lr-factor", "1e-9")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A de-en model trained a little: enough for a BLEU above zero, so that equal scores mean something."""
    return _train(tmp_path_factory, "trained", "--layers", "1", "--max-tokens", "800", "--limit", "400",
                  "--warmup", "20", "--epochs", "4")


@pytest.fixture(scope="module")
def test_files(tmp_path_factory):
    """The first N sentences of the built-in de-en test split, as the user's plain and gzipped files."""
    pairs = load_pair("de-en")["test"][:N]
    d = tmp_path_factory.mktemp("files")
    (d / "src.de").write_text("".join(s + "\n" for s, _ in pairs), encoding="utf-8")
    (d / "ref.en").write_text("".join(t + "\n" for _, t in pairs), encoding="utf-8")
    with gzip.open(d / "src.de.gz", "wt", encoding="utf-8") as f:
        f.write("".join(s + "\n" for s, _ in pairs))
    return d, pairs


def _stdout_lines(capsys, argv) -> list[str]:
    assert main(list(map(str, argv))) == 0
    return capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("beam", [1, 4])
def test_a_file_is_translated_line_for_line_as_one_sentence_at_a_time(beam, run, test_files, tmp_path, capsys):
    from nn2gpt.translate.evaluate import load_run, translate_one

    _, pairs = test_files
    sentences = [s for s, _ in pairs[:12]]
    lines = [sentences[0], "", *sentences[1:6], "   ", *sentences[6:]]  # blank lines stay blank, in place
    (tmp_path / "in.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = _stdout_lines(capsys, ["translate", "--model", run, "--input", tmp_path / "in.txt", "--beam", beam])
    model, tok, _ = load_run(run)
    one_by_one = [translate_one(model, tok, s, beam) if s.strip() else "" for s in lines]
    assert out == one_by_one
    assert len(set(one_by_one)) >= 3  # the outputs differ, so a shuffled order would be caught


def test_standard_input_and_gz_give_the_same_lines(run, test_files, capsys, monkeypatch):
    d, _ = test_files
    from_file = _stdout_lines(capsys, ["translate", "--model", run, "--input", d / "src.de", "--beam", "2"])
    from_gz = _stdout_lines(capsys, ["translate", "--model", run, "--input", d / "src.de.gz", "--beam", "2"])
    with open(d / "src.de", encoding="utf-8") as f:  # `nn2gpt translate --model RUN < src.de`, in this process
        monkeypatch.setattr(sys, "stdin", f)  # a file, as the shell's redirect gives: no terminal, bytes in .buffer
        piped = _stdout_lines(capsys, ["translate", "--model", run, "--beam", "2"])
    assert piped == from_file == from_gz and len(from_file) == N


def test_eval_on_the_test_files_equals_eval_on_the_split_and_the_pipe(trained, test_files, capsys):
    import sacrebleu

    from nn2gpt.translate.evaluate import EvalConfig, evaluate

    d, pairs = test_files
    run = trained
    on_split = evaluate(EvalConfig(model=str(run), limit=N, beam=2))
    on_files = evaluate(EvalConfig(model=str(run), src=str(d / "src.de.gz"), ref=str(d / "ref.en"), beam=2))
    assert on_files["hypotheses"] == on_split["hypotheses"]
    assert on_files["bleu"] == on_split["bleu"] > 0 and on_files["loss"] == on_split["loss"]
    capsys.readouterr()
    piped = _stdout_lines(capsys, ["translate", "--model", run, "--input", d / "src.de", "--beam", "2"])
    assert sacrebleu.corpus_bleu(piped, [[t for _, t in pairs]]).score == on_files["bleu"]


def test_a_bad_line_is_reported_by_number_and_the_rest_translated(run, tmp_path, capsys):
    (tmp_path / "in.txt").write_text("Ein Hund.\n这是\nZwei Hunde.\n", encoding="utf-8")
    assert main(["translate", "--model", str(run), "--input", str(tmp_path / "in.txt"), "--beam", "1"]) == 0
    captured = capsys.readouterr()
    out, err = captured.out.splitlines(), captured.err
    assert len(out) == 3 and out[1] != "" and len(err.splitlines()) == 1 and "line 2: characters this model never saw" in err
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("Ein Hund.\nM\xfcller\n".encode("utf-8")[:11] + b"M\xfcller\n")
    assert main(["translate", "--model", str(run), "--input", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "line 2 is not UTF-8" in err


@pytest.mark.parametrize("argv,needle", [
    (["eval", "--src", "{d}/src.de"], "--src and --ref go together"),
    (["eval", "--src", "{d}/src.de", "--ref", "{d}/short.en"], "has 40 lines but --ref"),
    (["eval", "--src", "{d}/nothing.de", "--ref", "{d}/ref.en"], "does not exist"),
    (["Hallo.", "--input", "{d}/src.de"], "not both"),
])
def test_bad_file_arguments_are_one_line_errors(argv, needle, run, test_files, capsys):
    d, _ = test_files
    (d / "short.en").write_text("one line\n", encoding="utf-8")
    assert main(["translate", *[a.format(d=d) for a in argv], "--model", str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err, err
