"""`nn2gpt learn run digits` on a tiny limit: the learner's passed functions train the network,
the reference fills in the rest, the curves match the reference's, and the run is a digits run."""

import re

import numpy as np
import pytest

from nn2gpt.cli import main
from nn2gpt.learn.registry import find


@pytest.fixture(scope="module")
def mnist_once():
    """MNIST read from its .gz files once for the module, read-only: every run here loads the same
    60,000 + 10,000 images (decompressed, scaled to float), and none may change them."""
    from nn2gpt.data import mnist

    made, real = {}, mnist.load_mnist

    def load_mnist(data_dir=None, dtype=np.float64):
        key = (str(data_dir), np.dtype(dtype).str)
        if key not in made:
            made[key] = real(data_dir, dtype)
            for split in (made[key].train, made[key].validation, made[key].test):
                split.images.setflags(write=False)
                split.labels.setflags(write=False)
        return made[key]
    yield load_mnist
    made.clear()


@pytest.fixture
def book(tmp_path, monkeypatch, capsys, mnist_once):
    from nn2gpt.data import mnist

    monkeypatch.setattr(mnist, "load_mnist", mnist_once)
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
    out = capsys.readouterr().out
    assert "yours: none yet; the reference's: sigmoid, feedforward, backprop, update_mini_batch" in out
    assert "trained 1 epoch in " in out                        # one epoch, not "1 epochs"


@pytest.mark.parametrize("flag,needle", [(["--lmbda", "5"], "quadratic cost and no L2"),
                                         (["--softmax"], "--softmax is not part of the book's chapter-1"),
                                         (["--fast"], "not with your functions"),
                                         (["--epochs", "0"], "expected a whole number >= 1"),
                                         (["--init", "scaled"], "--init scaled is chapter 3's")])
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


def test_a_passed_backprop_matrix_does_the_step_on_the_whole_mini_batch(book, tmp_path, capsys, monkeypatch):
    """The learner's backprop_matrix, recording the shape of every X it is given, is what
    update_mini_batch calls: once per mini-batch of 20, on (784, 20); the per-example backprop and
    the passed cross-entropy are named as checked but not part of this run."""
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("NN2GPT_TEST_CALLS", str(calls))
    ex = find("backprop_matrix")
    recording = ex.solution.read_text().replace(
        '    nabla_b = [None]',
        '    import os\n    with open(os.environ["NN2GPT_TEST_CALLS"], "a") as f:\n'
        '        f.write(f"{X.shape}\\n")\n    nabla_b = [None]', 1)
    (book / ex.file).write_text(recording)
    for name in ("backprop", "update_mini_batch", "cross_entropy"):
        (book / find(name).file).write_text(find(name).solution.read_text())
    calls.write_text("")
    out = tmp_path / "r"
    assert main(["learn", "run", "digits", "--epochs", "1", "--limit", "100", "--batch", "20",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "yours: backprop_matrix, update_mini_batch; the reference's: sigmoid, feedforward" in text
    assert "backprop: checked, not part of this run (backprop_matrix does its work" in text
    assert "cross_entropy: checked, not part of this run (the run's cost is quadratic; --cost cross-entropy" in text
    assert calls.read_text().splitlines().count("(784, 20)") == 5    # 100 examples, mini-batches of 20
    epochs = re.findall(r"validation yours +([\d.]+)% +reference +([\d.]+)%", text)
    assert len(epochs) == 1 and epochs[0][0] == epochs[0][1], text
    from nn2gpt.digits.model import load_model

    config = load_model(out)[1]["learn"]
    assert config["yours"] == ["backprop_matrix", "update_mini_batch"]
    assert config["not_used"] == ["backprop", "cross_entropy"]


def test_with_cost_cross_entropy_a_passed_cross_entropy_is_bp1(book, tmp_path, capsys, monkeypatch):
    """--cost cross-entropy: the learner's CrossEntropyCost.delta, recording the shape of every a, gives
    BP1 once per mini-batch, (10, 20); the curve matches the reference's cross-entropy run, and the
    passed chapter-1 backprop, whose BP1 is the quadratic cost's, is named as not part of the run."""
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("NN2GPT_TEST_CALLS", str(calls))
    ex = find("cross_entropy")
    recording = ex.solution.read_text().replace(
        '        return (a - y)',
        '        import os\n        with open(os.environ["NN2GPT_TEST_CALLS"], "a") as f:\n'
        '            f.write(f"{a.shape}\\n")\n        return (a - y)', 1)
    assert recording != ex.solution.read_text()
    (book / ex.file).write_text(recording)
    (book / find("backprop").file).write_text(find("backprop").solution.read_text())
    out = tmp_path / "r"
    assert main(["learn", "run", "digits", "--cost", "cross-entropy", "--eta", "0.5", "--epochs", "1",
                 "--limit", "100", "--batch", "20", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "yours: cross_entropy; the reference's: sigmoid, feedforward, update_mini_batch, backprop (network2" in text
    assert "backprop: checked, not part of this run (its BP1 is the quadratic cost's" in text
    assert "cross-entropy cost" in text
    assert calls.read_text().splitlines().count("(10, 20)") == 5    # 100 examples, mini-batches of 20
    epochs = re.findall(r"validation yours +([\d.]+)% +reference +([\d.]+)%", text)
    assert len(epochs) == 1 and epochs[0][0] == epochs[0][1], text


def test_sigterm_saves_the_weights_and_exits_143(book, tmp_path, capsys, monkeypatch):
    """SIGTERM in the middle of the learner's training (sent by their update_mini_batch, in this
    process only: the checks run in children): one line, exit 143, the weights saved as they were."""
    import os

    from nn2gpt.digits.model import load_model

    monkeypatch.setenv("NN2GPT_TEST_PID", str(os.getpid()))
    ex = find("update_mini_batch")
    text = ex.solution.read_text()
    head = "def update_mini_batch(self, mini_batch, eta):\n"
    assert head in text
    (book / ex.file).write_text(text.replace(head, head + "    import os, signal\n"
                                             "    if os.getpid() == int(os.environ['NN2GPT_TEST_PID']):\n"
                                             "        os.kill(os.getpid(), signal.SIGTERM)\n", 1))
    out = tmp_path / "run"
    assert main(["learn", "run", "digits", "--epochs", "2", "--limit", "100", "--out", str(out)]) == 143
    said = capsys.readouterr()
    assert "yours: update_mini_batch" in said.out
    last = said.out.strip().splitlines()[-1]
    assert last.startswith("interrupted by SIGTERM after 0 full epoch(s)") and str(out) in last, said.out
    _, config = load_model(out)
    assert config["train"]["stopped_by"] == "SIGTERM" and config["learn"]["yours"] == ["update_mini_batch"]


def test_sigterm_while_the_reference_trains_says_yours_never_started(book, tmp_path, stop_when):
    """SIGTERM once the reference has started (the line saying so): exit 143, one line that the
    reference was stopped and the learner's run never started, and nothing in --out."""
    out = tmp_path / "run"
    status, printed, err = stop_when(["learn", "run", "digits", "--sizes", "784,10,10", "--epochs", "100000",
                                      "--limit", "200", "--out", out],
                                     lambda printed: "training the reference first" in printed, cwd=book)
    assert status == 143, err
    assert err.strip() == (f"the reference run was stopped by SIGTERM; your run was never started and nothing was "
                           f"written to {out}: run `nn2gpt learn run digits` again (same flags) to train both"), err
    assert "validation yours" not in printed and not out.exists(), printed     # no epoch of the learner's


@pytest.mark.parametrize("matrix", [False, True], ids=["one example at a time", "backprop_matrix"])
def test_right_code_gives_the_reference_numbers_to_the_last_bit(book, tmp_path, capsys, matrix):
    """The reference takes the learner's very steps (the solutions in the same loop, one example at a
    time or the mini-batch as a matrix): right code gives the same validation cost at every epoch,
    exactly, not to a few decimals; curve.png is drawn with the reference's curves beside."""
    import json

    names = ["sigmoid", "feedforward", "backprop", "update_mini_batch"] + (["backprop_matrix"] if matrix else [])
    for name in names:
        (book / find(name).file).write_text(find(name).solution.read_text())
    out = tmp_path / "r"
    assert main(["learn", "run", "digits", "--epochs", "3", "--limit", "200", "--out", str(out)]) == 0
    assert "the same validation cost as the reference's at every epoch, to the last bit" in capsys.readouterr().out
    config = json.loads((out / "config.json").read_text())
    learn, history = config["learn"], config["history"]
    assert learn["reference_evaluation_cost"] == history["evaluation_cost"]          # floats, compared exactly
    assert learn["reference_evaluation_accuracy"] == history["evaluation_accuracy"]
    assert len(set(history["evaluation_cost"])) == 3                                 # it did train
    assert (out / "curve.png").stat().st_size > 10_000


def test_arithmetic_in_another_order_is_not_the_reference_to_the_last_bit(book, tmp_path, capsys):
    """The exactness is real: the same maths with each mini-batch's gradients added up in the other
    order differs in the last bits, and the stored costs are no longer equal."""
    import json

    for name in ("sigmoid", "feedforward", "backprop"):
        (book / find(name).file).write_text(find(name).solution.read_text())
    ex = find("update_mini_batch")
    text = ex.solution.read_text()
    changed = text.replace("for x, y in mini_batch:", "for x, y in reversed(mini_batch):")
    assert changed != text
    (book / ex.file).write_text(changed)
    out = tmp_path / "r"
    assert main(["learn", "run", "digits", "--epochs", "3", "--limit", "200", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "yours: sigmoid, feedforward, backprop, update_mini_batch" in said
    assert "yours leaves the reference's steps at epoch " in said and "the same maths added in another order" in said
    config = json.loads((out / "config.json").read_text())
    assert config["learn"]["reference_evaluation_cost"] != config["history"]["evaluation_cost"]


def test_the_help_lists_only_what_the_milestone_takes_with_the_defaults_it_uses():
    from nn2gpt.learn.milestone_digits import parser

    text = " ".join(parser().format_help().split())
    for refused in ("--lmbda", "--softmax", "--early-stop", "--halve", "--monitor-train", "--fast", "--trace",
                    "--init", "log-likelihood", "scaled"):
        assert refused not in text, refused
    for taken in ("--cost {quadratic,cross-entropy}", "--epochs EPOCHS passes over the training data (default 30)",
                  "(default runs/learn-digits)", "--limit N", "--seed SEED", "--dtype"):
        assert taken in text, taken


@pytest.mark.parametrize("line, where", [
    ("    assert a.shape[1] < 1000, 'too wide'\n", "in exercise feedforward (02_feedforward.py line {n}, in feedforward: "
                                                 "AssertionError: too wide); nothing was saved: its check passed"),
    ("    a = a[:5] if a.shape[1] > 1000 else a\n", "raised in nn2gpt's code, not in your files); nothing was saved: "
                                                 "compare what your functions (feedforward) return")],
    ids=["raised in the learner's file", "a result training cannot use"])
def test_code_that_breaks_only_in_training_is_named_by_file_line_and_exercise(book, tmp_path, capsys, line, where):
    """A feedforward right on the check's few columns that fails on the validation set's 10,000: one
    line naming the exercise, its file and line, and the fix - not "check it", which passes."""
    ex = find("feedforward")
    text = ex.solution.read_text()
    body = text.replace("    return a\n", line + "    return a\n")
    (book / ex.file).write_text(body)
    n = 1 + body.splitlines().index(line.rstrip("\n"))
    out = tmp_path / "r"
    assert main(["learn", "run", "digits", "--epochs", "1", "--limit", "100", "--out", str(out)]) == 2
    said = capsys.readouterr()
    assert "yours: feedforward" in said.out
    err = said.err.strip()
    assert len(err.splitlines()) == 1 and where.format(n=n) in err, err
    assert "`nn2gpt learn check` that exercise" not in err and not out.exists()
