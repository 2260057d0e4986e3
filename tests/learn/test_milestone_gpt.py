"""`nn2gpt learn run gpt` on a tiny GPT: the learner's modules run inside chapter 2's blocks, the
validation losses equal the reference's at the same seed, and the run is an ordinary gpt run."""

import json

import pytest

from nn2gpt.cli import main
from nn2gpt.learn.exercises import find

TINY = ["--max-iters", "6", "--eval-interval", "3", "--n-layer", "1", "--n-head", "2", "--n-embd", "16",
        "--block-size", "16", "--batch-size", "4", "--eval-batches", "2", "--warmup", "2", "--sample-tokens", "0",
        "--quiet", "--threads", "1"]


def solve(root, name, change=("", "")):
    ex = find(name)
    text = ex.solution.read_text()
    assert change[0] in text
    (root / ex.file).write_text(text.replace(*change))


def test_the_learners_blocks_train_like_the_reference(book, tmp_path, capsys):
    from nn2gpt.gpt.runs import load_model
    from nn2gpt.studio.runs import summary

    for name in ("head", "multi_head", "block", "sampling"):
        solve(book, name)
    solve(book, "feed_forward", ('nn.GELU(approximate="tanh")', "nn.ReLU()"))      # wrong: the reference's is used
    out = tmp_path / "run"
    assert main(["learn", "run", "gpt", *TINY, "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "yours: head, multi_head, block, sampling; the reference's: feed_forward" in said
    rows = [line.split() for line in said.splitlines() if line.strip()[:1].isdigit()]
    assert [r[0] for r in rows] == ["3", "6"] and all(r[1] == r[2] for r in rows), said   # yours == reference
    assert "a sample drawn with your next_token_probs:" in said
    config = json.loads((out / "config.json").read_text())
    assert config["learn"]["reference"] == ["feed_forward"] and config["model"]["pos"] == "learned"
    model, _, _ = load_model(out)                                  # an ordinary run: chapter 2's GPT loads it
    assert type(model).__name__ == "GPT"
    assert summary(out, "gpt").endswith("trained with your code (nn2gpt learn)")


def test_an_error_in_training_is_one_line_at_the_learners_line(book, tmp_path, capsys):
    # right in float64 (the check), raises in float32 (training): the check cannot see it
    solve(book, "head", ("        B, T, C = x.shape\n", "        B, T, C = x.shape\n"
                                                       "        assert x.dtype == torch.float64, 'float32!'\n"))
    assert main(["learn", "run", "gpt", *TINY, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "13_head.py line 20, in forward: AssertionError: float32!" in err, err


def test_the_recipe_is_chapter_twos(book, capsys):
    assert main(["learn", "run", "gpt", "--pos", "rope"]) == 2
    assert "--pos rope: this milestone trains chapter 2's GPT" in capsys.readouterr().err
    assert main(["learn", "run", "gpt", "--score", "squared"]) == 2
    assert "(--recipe classic); drop --score" in capsys.readouterr().err


def test_pos_sinusoidal_trains_with_the_learners_table(book, tmp_path, capsys, monkeypatch):
    """The learner's positional_encoding, recording each (T, d) it is asked for, is the table of a
    --pos sinusoidal run (block size 16, width 16); the passed bigram loss and average of the past
    are named as checked but not part of this run."""
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("NN2GPT_TEST_CALLS", str(calls))
    solve(book, "positional_encoding", ('    pos = torch.arange', '    import os\n'
          '    with open(os.environ["NN2GPT_TEST_CALLS"], "a") as f:\n        f.write(f"{T} {d}\\n")\n'
          '    pos = torch.arange'))
    solve(book, "bigram_loss")
    solve(book, "average_past")
    calls.write_text("")
    out = tmp_path / "run"
    assert main(["learn", "run", "gpt", *TINY, "--pos", "sinusoidal", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "yours: positional_encoding; the reference's: head, multi_head" in said
    assert "bigram_loss: checked, not part of this run" in said
    assert "average_past: checked, not part of this run" in said
    assert "16 16" in calls.read_text().splitlines()
    rows = [line.split() for line in said.splitlines() if line.strip()[:1].isdigit()]
    assert [r[0] for r in rows] == ["3", "6"] and all(r[1] == r[2] for r in rows), said   # yours == reference
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["pos"] == "sinusoidal" and config["learn"]["yours"] == ["positional_encoding"]
    assert config["learn"]["not_used"] == ["average_past", "bigram_loss"]


def test_without_pos_sinusoidal_a_passed_table_is_named_unused(book, tmp_path, capsys):
    solve(book, "positional_encoding")
    assert main(["learn", "run", "gpt", *TINY, "--max-iters", "3", "--out", str(tmp_path / "run")]) == 0
    assert "positional_encoding: checked, not part of this run (the positions are learned; --pos sinusoidal" \
        in capsys.readouterr().out


@pytest.fixture
def trainings(monkeypatch):
    """Each `gpt train` the milestone starts, recorded; this one stops as SIGTERM would (exit 143)."""
    import sys

    from nn2gpt.gpt import cli

    calls = []

    def cmd_train(args):
        calls.append(args.out)
        print("nn2gpt gpt: stopped by SIGTERM at step 2, saved", file=sys.stderr)
        return 143
    monkeypatch.setattr(cli, "cmd_train", cmd_train)
    return calls


def test_a_stop_during_the_reference_ends_the_milestone(book, tmp_path, capsys, trainings):
    assert main(["learn", "run", "gpt", *TINY, "--out", str(tmp_path / "run")]) == 143
    assert len(trainings) == 1                                # the learner's training never started
    err = capsys.readouterr().err.strip()
    assert err == "nn2gpt gpt: stopped by SIGTERM at step 2, saved", err


def test_a_bad_flag_is_one_line_before_anything_trains(book, tmp_path, capsys):
    assert main(["learn", "run", "gpt", *TINY, "--lr", "-1", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--lr" in err, err
    assert not (tmp_path / "run").exists()


def test_an_existing_out_is_refused_before_the_reference_trains(book, tmp_path, capsys, trainings):
    out = tmp_path / "run"
    out.mkdir()
    (out / "weights.npz").write_bytes(b"")                    # a digits run lives there
    assert main(["learn", "run", "gpt", *TINY, f"--out={out}"]) == 2
    assert trainings == [] and "choose another --out" in capsys.readouterr().err
