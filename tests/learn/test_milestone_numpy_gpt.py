"""`nn2gpt learn run numpy-gpt` on a tiny model: the learner's passed backward passes train chapter
5's numpy GPT, a failing one is left out, chapter 5's functions are back afterwards, and an error
in the learner's code during training is one line at their file and line."""

import json

import pytest

from nn2gpt.cli import main
from nn2gpt.learn.registry import find
from nn2gpt.numpy_gpt import attention, model

TINY = ["--max-iters", "4", "--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16",
        "--batch-size", "4", "--eval-batches", "2", "--warmup", "2", "--sample-tokens", "0", "--quiet"]


def solve(root, name, change=("", "")):
    ex = find(name)
    text = ex.solution.read_text()
    assert change[0] in text
    (root / ex.file).write_text(text.replace(*change))


def test_the_learners_backward_passes_train_the_numpy_gpt(book, tmp_path, capsys):
    from nn2gpt.studio.runs import summary

    originals = (model.linear_backward, model.layer_norm_forward, attention.attention_backward)
    for name in ("linear_backward", "layer_norm", "attention_backward", "cross_entropy_backward"):
        solve(book, name)
    solve(book, "gelu_backward", (" * du_dx)", ")"))                   # wrong: chapter 5's is used instead
    out = tmp_path / "run"
    assert main(["learn", "run", "numpy-gpt", *TINY, "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert ("yours: linear_backward, layer_norm, attention_backward, cross_entropy_backward; "
            "chapter 5's: gelu_backward") in said
    config = json.loads((out / "config.json").read_text())
    assert config["engine"] == "numpy" and config["learn"]["reference"] == ["gelu_backward"]
    assert config["train"]["max_iters"] == 4
    assert summary(out, "gpt").endswith("trained with your code (nn2gpt learn)")
    assert (model.linear_backward, model.layer_norm_forward, attention.attention_backward) == originals


def test_an_error_in_training_is_one_line_at_the_learners_line(book, tmp_path, capsys):
    # right in float64 (the check), raises in float32 (training): the check cannot see it
    solve(book, "linear_backward", ("    dx = dy @ w ", "    if dy.dtype == np.float32:\n"
                                                       "        raise ValueError('float32!')\n    dx = dy @ w "))
    assert main(["learn", "run", "numpy-gpt", *TINY, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "41_linear_backward.py line 9, in linear_backward: ValueError: float32!" in err, err
    assert model.linear_backward.__module__ == "nn2gpt.numpy_gpt.layers"


def test_the_engine_is_not_a_choice(book, capsys):
    assert main(["learn", "run", "numpy-gpt", "--engine", "torch"]) == 2
    assert "drop --engine" in capsys.readouterr().err


def test_right_backward_passes_train_to_chapter_5s_losses(book, tmp_path, capsys, monkeypatch):
    """With every backward pass the learner's (the solutions: right), the run's losses are chapter 5's
    own, from the same seed, to float rounding; with a wrong one let past the check (dW + 0.01: a
    gradient scaled by a constant would not do, Adam does not see the scale) they are not - the
    comparison can fail."""
    from nn2gpt.learn import pieces

    for name in ("linear_backward", "layer_norm", "gelu_backward", "attention_backward", "cross_entropy_backward"):
        solve(book, name)
    evals = ["--eval-interval", "2", "--max-iters", "8"]
    assert main(["learn", "run", "numpy-gpt", *TINY, *evals, "--out", str(tmp_path / "mine")]) == 0
    assert "yours: linear_backward, layer_norm, gelu_backward, attention_backward, cross_entropy_backward" \
        in capsys.readouterr().out
    assert main(["gpt", "train", "--engine", "numpy", *TINY, *evals, "--out", str(tmp_path / "theirs")]) == 0

    def losses(run):
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
        return [(r["step"], r[k]) for r in rows for k in ("loss", "val_loss") if k in r]
    mine, theirs = losses(tmp_path / "mine"), losses(tmp_path / "theirs")
    assert len(mine) == len(theirs) >= 4 and [s for s, _ in mine] == [s for s, _ in theirs]
    assert all(abs(a - b) < 1e-4 for (_, a), (_, b) in zip(mine, theirs)), (mine, theirs)
    assert mine[-1][1] < mine[0][1] - 0.05                              # training happened: the loss fell

    solve(book, "linear_backward", ("return dx, dw, db", "return dx, dw + 0.01, db"))
    monkeypatch.setattr(pieces.Pieces, "passed", lambda self, name: True)   # as if the check had missed it
    assert main(["learn", "run", "numpy-gpt", *TINY, *evals, "--out", str(tmp_path / "wrong")]) == 0
    wrong = losses(tmp_path / "wrong")
    assert max(abs(a - b) for (_, a), (_, b) in zip(wrong, theirs)) > 1e-3, (wrong, theirs)


def test_right_backward_passes_give_chapter_5s_losses_exactly(book, tmp_path, capsys):
    """With every backward pass the learner's (the solutions), the run's losses are those of
    `nn2gpt gpt train --engine numpy` with the same flags and seed: exactly, not to rounding."""
    for name in ("linear_backward", "layer_norm", "gelu_backward", "attention_backward", "cross_entropy_backward"):
        solve(book, name)
    assert main(["learn", "run", "numpy-gpt", *TINY, "--eval-interval", "2", "--out", str(tmp_path / "mine")]) == 0
    said = capsys.readouterr().out
    assert "chapter 5's: none" in said
    assert main(["gpt", "train", "--engine", "numpy", *TINY, "--eval-interval", "2",
                 "--out", str(tmp_path / "theirs")]) == 0

    def losses(run):
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
        return [(r["step"], k, r[k]) for r in rows for k in ("train_loss", "val_loss") if k in r]
    mine, theirs = losses(tmp_path / "mine"), losses(tmp_path / "theirs")
    assert len(mine) >= 3 and mine == theirs, (mine, theirs)


def test_the_learners_pass_is_the_one_that_ran(book, tmp_path, capsys, monkeypatch):
    """The learner's cross_entropy_backward (recording each call) is what the model applies at
    every training step, through chapter 5's seam, in this process: not only in the check's child."""
    import os

    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("NN2GPT_TEST_CALLS", str(calls))
    ex = find("cross_entropy_backward")
    text = ex.solution.read_text()
    head = "def cross_entropy_backward(probs, targets):\n"
    assert head in text
    (book / ex.file).write_text(text.replace(head, head + '    import os\n    with open(os.environ["NN2GPT_TEST_CALLS"], '
                                                         '"a") as f:\n        f.write(f"{os.getpid()}\\n")\n', 1))
    calls.write_text("")
    assert main(["learn", "run", "numpy-gpt", *TINY, "--out", str(tmp_path / "run")]) == 0
    assert calls.read_text().splitlines().count(str(os.getpid())) == 4     # one a training step, 4 steps
