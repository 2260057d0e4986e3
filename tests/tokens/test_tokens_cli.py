"""`nn2gpt tokens ...` as a user runs it: train, show, the pipes, and every bad input in one line, exit 2."""

import io
import json
import sys

import pytest

from nn2gpt.cli import main

TEXT = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n"
        "Ça va? 👋 日本語\n") * 20


def run(argv, capsys):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def one_line_error(argv, capsys, *needles):
    status, _, err = run(argv, capsys)
    lines = err.strip().splitlines()
    assert status == 2, err
    assert len(lines) == 1 and lines[0].startswith("nn2gpt tokens") and ": error: " in lines[0], err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


@pytest.fixture
def model(tmp_path, text_file, capsys):
    out = tmp_path / "tok"
    status, stdout, err = run(["tokens", "train", "--text", text_file, "--vocab-size", 300, "--out", out,
                               "--special", "<|endoftext|>"], capsys)
    assert status == 0, err
    assert "trained 43 merges (300 ids)" in stdout and err == ""
    return out


def feed(monkeypatch, data: bytes):
    stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)


def test_train_writes_a_tokenizer_that_both_trainers_agree_on(model, tmp_path, text_file, capsys):
    meta = json.loads((model / "tokenizer.json").read_text())
    assert meta["vocab_size"] == 300 and meta["special_tokens"] == {"<|endoftext|>": 299}
    assert meta["split_pattern"] and meta["trained_on"]["trainer"] == "fast"
    naive = tmp_path / "naive"
    assert run(["tokens", "train", "--text", text_file, "--vocab-size", 300, "--out", naive, "--special",
                "<|endoftext|>", "--trainer", "naive"], capsys)[0] == 0
    assert (naive / "merges.txt").read_text() == (model / "merges.txt").read_text()
    plain = tmp_path / "plain"
    assert run(["tokens", "train", "--text", text_file, "--vocab-size", 300, "--out", plain, "--no-split"],
               capsys)[0] == 0
    assert json.loads((plain / "tokenizer.json").read_text())["split_pattern"] is None


def test_show_lists_each_piece_with_its_id_and_bytes(model, capsys, monkeypatch):
    status, out, _ = run(["tokens", "show", "Speak, speak. é", "--model", model], capsys)
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["id", "bytes"] and "\x1b[" not in out  # plain: stdout is not a terminal
    assert lines[-1].endswith("tokens per byte") and lines[-1].split()[3] == str(len("Speak, speak. é".encode()))
    assert "'\\xc3'" in out or "'é'" in out
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    status, out, _ = run(["tokens", "show", "Speak, speak.", "--model", model], capsys)
    assert status == 0 and "\x1b[48;5;" in out


def test_show_with_gpt2(capsys):
    status, out, _ = run(["tokens", "show", "Hello world", "--model", "gpt2"], capsys)
    assert status == 0
    assert "15496  'Hello'" in out and "995  ' world'" in out and "2 tokens for 11 bytes: 0.18 tokens per byte" in out


@pytest.mark.parametrize("name", ["model", "gpt2"])
def test_the_pipes_keep_every_line_and_give_back_the_exact_bytes(name, model, tmp_path, capsys, monkeypatch):
    chosen = model if name == "model" else "gpt2"
    data = "line one\n\n\nSpeak, speak. 👋\r\n  indented\t<|endoftext|>\n\n".encode()
    feed(monkeypatch, data)
    status, ids, err = run(["tokens", "encode", "--model", chosen], capsys)
    assert status == 0, err
    assert len(ids.splitlines()) == data.count(b"\n") and ids.splitlines()[1:3] == ["", ""]
    (tmp_path / "ids.txt").write_text(ids)
    status, back, err = run(["tokens", "decode", "--model", chosen, tmp_path / "ids.txt"], capsys)
    assert status == 0, err
    assert back.encode() == data
    feed(monkeypatch, data)
    status, special, _ = run(["tokens", "encode", "--model", chosen, "--specials"], capsys)
    eot = "299" if name == "model" else "50256"
    assert eot in special.split() and eot not in ids.split()


def test_decode_writes_the_bytes_of_ids_that_cut_a_character(model, tmp_path):
    """é is C3 A9: one byte per line comes out as those bytes, not as U+FFFD (a real process: bytes on stdout)."""
    import subprocess

    (tmp_path / "cut.txt").write_text("195\n169\n")
    r = subprocess.run([sys.executable, "-m", "nn2gpt", "tokens", "decode", "--model", str(model),
                        str(tmp_path / "cut.txt")], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"\xc3\n\xa9\n"


@pytest.mark.parametrize("lines,words", [
    ("1 2\n3 x4 5\n", ("line 2", "'x4' is not a token id", "0..299")),
    ("1\n\n300\n", ("line 3", "token id 300 is outside", "0..299")),
    ("-1\n", ("line 1", "'-1' is not a token id")),
    ("1.5\n", ("line 1", "'1.5'")),
])
def test_decode_names_the_line_of_a_bad_id(lines, words, model, capsys, monkeypatch):
    feed(monkeypatch, lines.encode())
    one_line_error(["tokens", "decode", "--model", model], capsys, "standard input", *words)


def test_encode_names_a_line_that_is_not_utf8(model, capsys, monkeypatch):
    feed(monkeypatch, b"fine\nbad \xff here\n")
    one_line_error(["tokens", "encode", "--model", model], capsys, "standard input line 2 is not UTF-8")


@pytest.mark.parametrize("make,flags,words", [
    (lambda t: t.write_text(""), [], ("is empty",)),
    (lambda t: t.write_bytes(b"caf\xe9\n"), [], ("is not UTF-8",)),
    (lambda t: None, ["--vocab-size", "255"], ("--vocab-size", ">= 256", "'255'")),
    (lambda t: None, ["--vocab-size", "256", "--special", "<|a|>"], ("--vocab-size 256 is too small", "257")),
    (lambda t: None, ["--special", ""], ("--special ''", "is empty")),
    (lambda t: None, ["--special", "<|a|>", "<|a|>"], ("given twice",)),
    (lambda t: None, ["--special", "<|a|>", "<|a|>!"], ("contains --special '<|a|>'",)),
])
def test_train_refuses_bad_input_and_writes_nothing(make, flags, words, tmp_path, capsys):
    text = tmp_path / "in.txt"
    text.write_text(TEXT)
    make(text)
    out = tmp_path / "out"
    argv = ["tokens", "train", "--text", text, "--out", out, *(flags if "--vocab-size" in flags else
                                                                ["--vocab-size", "300", *flags])]
    one_line_error(argv, capsys, *words)
    assert not out.exists()


def test_a_missing_text_file_is_named(tmp_path, capsys):
    one_line_error(["tokens", "train", "--text", tmp_path / "nope.txt", "--vocab-size", 300, "--out", tmp_path / "o"],
                   capsys, "nope.txt does not exist")


def test_a_vocabulary_the_text_cannot_fill_is_saved_with_a_one_line_note(tmp_path, capsys):
    (tmp_path / "small.txt").write_text("aaaa abab\n")
    out = tmp_path / "small"
    status, stdout, err = run(["tokens", "train", "--text", tmp_path / "small.txt", "--vocab-size", 1000, "--out", out],
                              capsys)
    assert status == 0 and len(err.strip().splitlines()) == 1
    assert "only 5 merges" in err and "261 ids, not 1000" in err and "saved" in err
    assert json.loads((out / "tokenizer.json").read_text())["vocab_size"] == 261


def test_out_rules(model, text_file, tmp_path, capsys):
    argv = ["tokens", "train", "--text", text_file, "--vocab-size", 280]
    before = snapshot(model)
    one_line_error([*argv, "--out", model], capsys, "already holds a tokenizer", "--overwrite")
    assert snapshot(model) == before
    assert run([*argv, "--out", model, "--overwrite"], capsys)[0] == 0
    assert json.loads((model / "tokenizer.json").read_text())["vocab_size"] == 280

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    for extra in ([], ["--overwrite"]):
        one_line_error([*argv, "--out", mine, *extra], capsys, "notes.txt", "no nn2gpt command wrote")
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]

    (model / "notes.txt").write_text("beside")  # our tokenizer with a stranger's file beside it: replacing the
    assert run([*argv, "--out", model, "--overwrite"], capsys)[0] == 0  # tokenizer leaves that file alone
    assert (model / "notes.txt").read_text() == "beside"

    digits = tmp_path / "digits-run"
    digits.mkdir()
    (digits / "weights.npz").write_bytes(b"")  # what marks a digits network's folder
    one_line_error([*argv, "--out", digits, "--overwrite"], capsys, "holds a digits network")
    one_line_error([*argv, "--out", digits / "inside"], capsys, "lies inside", "choose a --out outside it")
    assert not (digits / "inside").exists()

    one_line_error([*argv, "--out", text_file], capsys, "is a file, not a folder")


@pytest.mark.parametrize("command", ["show x", "encode", "decode"])
def test_a_model_that_is_not_a_tokenizer_is_named(command, tmp_path, text_file, capsys):
    head = ["tokens", *command.split()]
    one_line_error([*head, "--model", tmp_path / "none"], capsys, "does not exist", "gpt2")
    one_line_error([*head, "--model", text_file], capsys, "is a file, not a tokenizer folder")
    one_line_error([*head, "--model", tmp_path], capsys, "holds no tokenizer.json")
