"""`nn2gpt tokens neighbours`, in-process through a parser built around `add_parser`, on a tiny char
run trained here and on a tiny GPT-2 imported with `gpt import --from`: what it prints is the
library's answer on the run's own weights, its map is a PNG written by the output rule, and every
bad input is one line naming the problem and its fix."""

import argparse

import numpy as np
import pytest

from nn2gpt.cli import main
from nn2gpt.errors import UserError
from nn2gpt.gpt.runs import load_model
from nn2gpt.tokens.embeddings import neighbours, pca_2d
from nn2gpt.tokens.embeddings_cli import add_parser, labelled, parser, run

TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16", "--batch-size", "4",
        "--eval-batches", "2", "--warmup", "2", "--threads", "1", "--sample-tokens", "0", "--quiet"]


@pytest.fixture(scope="module")
def char_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("emb") / "char"
    assert main(["gpt", "train", "--out", str(out), "--max-iters", "6", *TINY]) == 0
    return out


@pytest.fixture(scope="module")
def gpt2_run(tmp_path_factory):
    from hf_tiny import gpt2_folder

    root = tmp_path_factory.mktemp("emb-gpt2")
    folder, hf = gpt2_folder(root / "hf")
    assert main(["gpt", "import", "--from", str(folder), "--out", str(root / "gpt2")]) == 0
    return root / "gpt2", hf


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    """A folder of `nn2gpt tokens train`: a tokenizer, with no model and so no embeddings."""
    out = tmp_path_factory.mktemp("emb-tok") / "tok"
    assert main(["tokens", "train", "--vocab-size", "260", "--out", str(out), "--quiet"]) == 0
    return out


def tokens_cli(*argv):
    """`nn2gpt tokens ...` as the tokens command will hold it: a subparsers object with `neighbours` in it."""
    top = argparse.ArgumentParser(prog="nn2gpt tokens")
    add_parser(top.add_subparsers(dest="command"))
    return run(top.parse_args(["neighbours", *map(str, argv)]))


def wte(path) -> np.ndarray:
    model, _, _ = load_model(path)
    return model.tok_emb.weight.detach().numpy()


def test_the_neighbours_printed_are_the_library_s_on_the_run_s_weights(char_run, capsys):
    assert tokens_cli("e", "--model", char_run, "-k", "5") == 0
    lines = capsys.readouterr().out.splitlines()
    _, tok, _ = load_model(char_run)
    e = tok.stoi["e"]
    assert lines[0].startswith(f"e is token {e} of {tok.vocab_size}") and "wte (65, 16)" in lines[0]
    rows = lines[2:]
    expected = neighbours(wte(char_run), e, 5)
    assert len(rows) == 5
    for row, (j, s) in zip(rows, expected):
        rank, shown, _, number, cosine = row.split()
        assert int(number) == j and float(cosine) == pytest.approx(s, abs=5e-4)
        assert shown == {" ": "␣", "\n": "⏎"}.get(tok.chars[j], tok.chars[j])
    assert len({row.index(" id ") for row in rows}) == 1 and len({len(row) for row in rows}) == 1  # aligned


def test_by_id_and_a_whitespace_token(char_run, capsys):
    _, tok, _ = load_model(char_run)
    assert tokens_cli("--id", tok.stoi[" "], "--model", char_run, "-k", "3") == 0
    by_id = capsys.readouterr().out
    assert tokens_cli(" ", "--model", char_run, "-k", "3") == 0
    assert capsys.readouterr().out == by_id and by_id.startswith("␣ is token")


def test_the_map_is_a_png_of_the_library_s_pca(char_run, tmp_path, capsys):
    from PIL import Image

    picture = char_run / "embeddings.png"  # a GPT's picture may go into its own run, as gpt attention's does
    assert tokens_cli("e", "--model", char_run, "--map", picture) == 0
    m = pca_2d(wte(char_run))
    said = capsys.readouterr().out.splitlines()[-1]
    assert said == (f"wrote {picture}: wte (65, 16) → 2 components; PC1 explains {100 * m.explained[0]:.1f}%, "
                    f"PC2 {100 * m.explained[1]:.1f}%")
    with Image.open(picture) as im:
        assert im.format == "PNG" and min(im.size) > 400
    with pytest.raises(UserError, match="already exists; pass --overwrite"):
        tokens_cli("e", "--model", char_run, "--map", picture)
    assert tokens_cli("e", "--model", char_run, "--map", picture, "--overwrite") == 0
    with pytest.raises(UserError, match="the run's own loss.png"):
        tokens_cli("e", "--model", char_run, "--map", char_run / "loss.png", "--overwrite")


def test_an_imported_gpt2_goes_through_its_own_tokenizer(gpt2_run, tmp_path, capsys):
    run_dir, hf = gpt2_run
    assert np.array_equal(wte(run_dir), hf.transformer.wte.weight.detach().numpy())  # the weights imported
    assert tokens_cli(" the", "--model", run_dir, "-k", "4", "--map", tmp_path / "gpt2.png") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("␣the is token 262 of 50,257") and len(lines) == 2 + 4 + 1
    assert [int(line.split(" id ")[1].split()[0]) for line in lines[2:6]] == \
        [j for j, _ in neighbours(wte(run_dir), 262, 4)]
    with pytest.raises(UserError, match=r"becomes 2 tokens for this model: ␣hello \(\d+\), ␣world \(\d+\)"):
        tokens_cli(" hello world", "--model", run_dir)
    assert labelled(50257) == list(range(256, 316)) and labelled(300) == list(range(256, 300))
    assert labelled(65) == list(range(65)) and len(labelled(200)) == 60


@pytest.mark.parametrize("argv,needles", [
    (["e", "--model", "{missing}"], ["does not exist", "train a model into it"]),
    (["e", "--model", "{lab}"], ["holds a lab report, not a chapter-2 GPT", "nn2gpt gpt"]),
    (["e", "--model", "{tokenizer}"], ["holds a tokenizer, not a chapter-2 GPT", "`nn2gpt tokens`", "nn2gpt gpt"]),
    (["e", "--model", "gpt2"], ["names GPT-2's tokenizer", "nn2gpt gpt import gpt2 --out runs/gpt2"]),
    (["é", "--model", "{run}"], ["é is no token of this model", "--id N (0 to 64)"]),
    (["", "--model", "{run}"], ["the token is empty", "--id N"]),
    (["ee", "--model", "{run}"], ["becomes 2 tokens for this model: e (43), e (43)", "give one of them"]),
    (["--id", "65", "--model", "{run}"], ["--id 65 is not one of the model's 65 tokens", "from 0 to 64"]),
    (["e", "--model", "{run}", "-k", "65"], ["-k 65 is more than the 64 other tokens", "-k from 1 to 64"]),
    (["e", "--id", "3", "--model", "{run}"], ["not both"]),
    (["--model", "{run}"], ["give the token to look at", "--id N"]),
    (["e", "--model", "{run}", "--map", "{run}/map.jpg"], ["does not end in .png"]),
])
def test_bad_input_is_one_line_naming_the_problem_and_the_fix(char_run, tokenizer, tmp_path, monkeypatch, argv,
                                                             needles):
    lab = tmp_path / "lab"
    lab.mkdir()
    (lab / "results.json").write_text("{}")
    monkeypatch.chdir(tmp_path)  # where no folder is called gpt2
    paths = {"missing": tmp_path / "nope", "lab": lab, "tokenizer": tokenizer, "run": char_run}
    with pytest.raises(UserError) as e:
        tokens_cli(*[a.format(**paths) for a in argv])
    assert "\n" not in str(e.value)
    for needle in needles:
        assert needle in str(e.value)


def test_a_checkpoint_of_another_kind_names_the_command_that_reads_it(tmp_path):
    """A translation checkpoint (its config says "transformer") names the command that reads it."""
    from nn2gpt.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "t", {"w": np.zeros(2, np.float32)}, {"model": {"model": "transformer"}}, {},
                    state={"step": 1})
    with pytest.raises(UserError, match="a translation model, not a chapter-2 GPT; use it with `nn2gpt translate"):
        tokens_cli("e", "--model", tmp_path / "t")


def test_flags_are_checked_as_they_are_parsed(capsys):
    for argv in (["e", "--model", "r", "-k", "0"], ["--id", "-1", "--model", "r"], ["e"]):
        with pytest.raises(SystemExit) as e:
            parser().parse_args(argv)
        assert e.value.code == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1

