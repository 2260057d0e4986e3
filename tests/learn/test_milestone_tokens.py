"""`nn2gpt learn run tokens` with tiny flags: the learner's BPE trained on Tiny Shakespeare,
checked against the chapter's, then a GPT on its tokens beside a character GPT; a wrong piece
let past its check is named; a stop is one line."""

import json

import pytest

from nn2gpt.cli import main
from nn2gpt.learn.registry import all_exercises, find

pytestmark = pytest.mark.slow  # trains, or drives processes or a browser, for seconds: `-m 'not slow'` leaves it out

TINY = ["--vocab-size", "300", "--max-iters", "4", "--eval-interval", "2", "--n-layer", "1", "--n-head", "2",
        "--n-embd", "16", "--block-size", "16", "--batch-size", "4", "--eval-batches", "2", "--warmup", "2",
        "--sample-tokens", "0", "--quiet", "--threads", "1"]
CHAPTER_0 = [ex.name for ex in all_exercises() if ex.chapter == 0]


def solve(root, name, change=("", "")):
    ex = find(name)
    text = ex.solution.read_text()
    assert change[0] in text
    (root / ex.file).write_text(text.replace(*change))


def table(printed: str) -> dict:
    """{model: [vocabulary, bytes/token, steps, val loss, bits/byte]} from the milestone's table."""
    rows = {}
    for line in printed.splitlines():
        for name in ("characters", "your BPE"):
            if line.strip().startswith(name):
                rows[name] = line.strip()[len(name):].split()
    return rows


def test_with_the_solutions_your_bpe_and_characters_are_side_by_side(book, tmp_path, capsys):
    """Every piece the learner's: the invariants hold, both GPTs train, and the GPT on the learner's
    tokens is the one `gpt train --tokenizer bpe` trains (the same ids, so the same losses)."""
    from nn2gpt.checkpoint import load_checkpoint
    from nn2gpt.gpt.tokenizer import tokenizer_from_json

    for name in CHAPTER_0:
        solve(book, name)
    out = tmp_path / "run"
    assert main(["learn", "run", "tokens", *TINY, "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "yours: regex_split, pair_counts, merge, train_bpe, encode, decode, byte_table; the chapter's: none" in said
    assert "44 merges in" in said and "spelt as GPT-2's files spell them: Ġt he" in said
    assert said.count("\n  ok  ") == 5 and "  NO " not in said, said
    rows = table(said)
    assert rows["characters"][:3] == ["65", "1.00", "4"] and rows["your BPE"][0] == "300", said
    assert float(rows["your BPE"][1]) > 1.2                        # a BPE token is more than one byte
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["tokenizer"] == "bpe" and config["model"]["vocab_size"] == 300
    saved = load_checkpoint(out).tokenizer
    assert saved["learn"]["milestone"] == "tokens" and tokenizer_from_json(saved).vocab_size == 300

    theirs = tmp_path / "theirs"
    gpt_flags = TINY[2:]                                           # all but --vocab-size 300
    assert main(["gpt", "train", "--tokenizer", "bpe", "--vocab-size", "300", "--max-seconds", "60", *gpt_flags,
                 "--out", str(theirs)]) == 0
    bpb = [[r["val_bpb"] for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
            if "val_bpb" in r] for run in (out, theirs)]
    assert bpb[0] == bpb[1] and len(bpb[0]) == 2, bpb
    assert float(rows["your BPE"][4]) == pytest.approx(bpb[0][-1], abs=1e-4)


@pytest.fixture
def past_the_checks(monkeypatch):
    """Every exercise counted as passed: a mistake the checks would have caught reaches the run."""
    from nn2gpt.learn import pieces

    monkeypatch.setattr(pieces.Pieces, "passed", lambda self, name: True)


WRONG = {  # a piece with a mistake, let past its check, and what the milestone says of it
    "encode in training's order": ("encode", ('pair = min(counts, key=lambda p: ranks.get(p, float("inf")))',
                                              "pair = max(counts, key=lambda p: (p in ranks, counts[p]))"),
                                   "NO  the ids are the chapter's encoder's, with the same merges: your encode: it "
                                   "merges the most frequent pair of the text it encodes, as training does"),
    "merges from the validation text": ("train_bpe", ("    ids = [list(chunk) for chunk in chunks]",
                                                      "    from nn2gpt.data.text import read_text\n"
                                                      "    from nn2gpt.tokens.pairs import GPT2_SPLIT, chunk_counts\n"
                                                      "    chunks = chunk_counts(read_text(None), GPT2_SPLIT)\n"
                                                      "    ids = [list(chunk) for chunk in chunks]"),
                                        "NO  the merges are the chapter's trainer's on the same text: they are the "
                                        "merges of the WHOLE text, the validation split's too"),
    "ties broken another way": ("train_bpe", ("best = min(counts, key=lambda pair: (-counts[pair], pair[0], pair[1]))",
                                              "best = max(counts, key=lambda pair: (counts[pair], pair))"),
                                "NO  the merges are the chapter's trainer's on the same text: merge 131 is (268, 316) "
                                "b' but', the chapter's trainer's is (117, 115) b'us': ties broken another way"),
}
MORE = {"ties broken another way": ["--vocab-size", "388"]}   # Tiny Shakespeare's first tie is at merge 131 (of 132)


@pytest.mark.parametrize("case", WRONG)
def test_a_wrong_piece_let_past_its_check_is_named(book, tmp_path, capsys, past_the_checks, case):
    name, change, said_of_it = WRONG[case]
    for other in CHAPTER_0:
        solve(book, other, change if other == name else ("", ""))
    assert main(["learn", "run", "tokens", *TINY, *MORE.get(case, []), "--out", str(tmp_path / "run")]) == 0
    said = capsys.readouterr().out
    assert said_of_it in said, said
    assert said.count("\n  NO  ") == 1 and set(table(said)) == {"characters", "your BPE"}, said


FEW = ["--vocab-size", "260", *TINY[2:]]   # 4 merges: where what is checked is not the merges themselves


def test_a_broken_round_trip_trains_no_gpt(book, tmp_path, capsys, past_the_checks):
    for name in CHAPTER_0:
        solve(book, name, ('.decode("utf-8", errors="replace")', '.decode("utf-8", errors="replace").lower()')
              if name == "decode" else ("", ""))
    out = tmp_path / "run"
    assert main(["learn", "run", "tokens", *FEW, "--out", str(out)]) == 1
    said = capsys.readouterr()
    assert "NO  decode(encode(s)) == s on the validation text" in said.out
    assert len(said.err.strip().splitlines()) == 1 and "no GPT was trained" in said.err
    assert "training a GPT" not in said.out and not out.exists()


def test_the_chapters_pieces_stand_in_for_the_stubs(book, tmp_path, capsys):
    solve(book, "merge")
    assert main(["learn", "run", "tokens", *TINY, "--max-iters", "2", "--out", str(tmp_path / "run")]) == 0
    said = capsys.readouterr().out
    assert "yours: merge; the chapter's: regex_split, pair_counts, train_bpe, encode, decode, byte_table" in said
    assert said.count("\n  ok  ") == 5


@pytest.mark.parametrize("flags, words", [(["--vocab-size", "256"], "--vocab-size 256: give a whole number of at "
                                           "least 257"),
                                          (["--tokenizer", "gpt2"], "drop --tokenizer"),
                                          (["--text", "x.txt"], "drop --text")])
def test_a_flag_it_cannot_take_is_one_line(book, capsys, flags, words):
    assert main(["learn", "run", "tokens", *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err, err


def test_sigterm_while_the_bpe_trains_is_one_line_143(book, tmp_path, stop_when):
    for name in CHAPTER_0:
        solve(book, name)
    out = tmp_path / "run"
    status, printed, err = stop_when(["learn", "run", "tokens", "--vocab-size", "1000", "--out", out],
                                     lambda printed: "training the BPE" in printed, cwd=book)
    assert status == 143, (printed, err)
    assert err.strip() == (f"the BPE's training was stopped by SIGTERM; no GPT was trained and nothing was written "
                           f"to {out}: run `nn2gpt learn run tokens` again (same flags)"), err
    assert not out.exists()


def test_sigterm_while_your_gpt_trains_saves_it_and_shows_the_table(book, tmp_path, stop_when):
    for name in CHAPTER_0:
        solve(book, name)
    out = tmp_path / "run"
    at = FEW.index("--max-iters")
    flags = FEW[:at] + FEW[at + 2:]
    # 3 s each: the characters' GPT trains all of them first; yours is stopped as soon as it has saved
    status, printed, err = stop_when(["learn", "run", "tokens", *flags, "--max-seconds", "3", "--max-iters", "100000",
                                      "--out", out], lambda printed: (out / "latest").exists(), cwd=book)
    assert status == 143, (printed, err)
    assert len(err.strip().splitlines()) == 1 and "your GPT was interrupted by SIGTERM at step" in err, err
    assert set(table(printed)) == {"characters", "your BPE"}, printed
