"""`nn2gpt learn run digits` on a tiny limit: the learner's passed functions train the network,
the reference fills in the rest, the curves match the reference's, and the run is a digits run."""

import re

import pytest

from nn2gpt.cli import main
from nn2gpt.learn.exercises import find


@pytest.fixture
def book(tmp_path, monkeypatch, capsys):
    root = tmp_path / "wb"
    assert main(["learn", "init", str(root)]) == 0
    monkeypatch.chdir(root)
    capsys.readouterr()
    return root


def test_the_learners_functions_train_and_match_the_reference(book, tmp_path, capsys):
    from nn2gpt.digits.model import load_model

    for name in ("sigmoid", "backprop", "update_mini_batch"):
        (book / find(name).file).write_text(find(name).solution.read_text())
    out = tmp_path / "runs" / "mine"
    assert main(["learn", "run", "digits", "--epochs", "2", "--limit", "100", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "yours: sigmoid, backprop, update_mini_batch; the reference's: feedforward" in text
    epochs = re.findall(r"validation yours +([\d.]+)% +reference +([\d.]+)%", text)
    assert len(epochs) == 2 and all(a == b for a, b in epochs), text
    net, config = load_model(out)
    assert config["learn"]["yours"] == ["sigmoid", "backprop", "update_mini_batch"]
    assert config["learn"]["reference"] == ["feedforward"]
    assert config["sizes"] == [784, 30, 10] and config["train"]["eta"] == 3.0 and config["train"]["batch"] == 10
    assert (out / "curve.png").is_file()
    from nn2gpt.studio.runs import summary

    assert summary(out, "digits").endswith("trained with your code (nn2gpt learn)")   # the studio says whose
    assert main(["learn", "run", "digits", "--epochs", "1", "--limit", "100", "--out", str(out)]) == 2
    assert "already holds a trained model" in capsys.readouterr().err


def test_a_wrong_function_is_not_used(book, tmp_path, capsys):
    ex = find("backprop")
    (book / ex.file).write_text(ex.solution.read_text().replace(" * sigmoid_prime(z)", ""))
    assert main(["learn", "run", "digits", "--epochs", "1", "--limit", "50", "--out", str(tmp_path / "r")]) == 0
    assert "yours: none yet; the reference's: sigmoid, feedforward, backprop, update_mini_batch" in \
        capsys.readouterr().out


@pytest.mark.parametrize("flag,needle", [(["--lmbda", "5"], "quadratic cost and no L2"),
                                         (["--softmax"], "--softmax is not part of the book's chapter-1"),
                                         (["--fast"], "not with your functions"),
                                         (["--epochs", "0"], "expected a whole number >= 1")])
def test_flags_outside_chapter_one_are_one_line(book, tmp_path, capsys, flag, needle):
    assert main(["learn", "run", "digits", *flag, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_a_run_that_diverges_is_stopped_by_the_rule_every_chapter_shares(book, tmp_path, capsys):
    """eta 1e30 on the book's network: the cost stays finite (the sigmoids saturate), the weights
    reach ~1e28; the shared rule (nn2gpt.loop) stops it and nothing is saved."""
    out = tmp_path / "r"
    assert main(["learn", "run", "digits", "--epochs", "2", "--limit", "100", "--eta", "1e30", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "a weight reached" in err and "training diverged" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
