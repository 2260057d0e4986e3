"""A run that diverges stops and is never saved, also when its loss stays a finite number.

One rule decides (nn2gpt.loop.Ceiling: a loss past twice ln(vocabulary), or twice a cost's
starting value; weights past nn2gpt.loop.WEIGHT_LIMIT), and every loop of every chapter asks it:
gpt (torch and numpy), translate, digits (the book's network and the conv net) and the lab.
"""

import math

import numpy as np
import pytest
from reliability_helpers import DIGITS_TINY, GPT_TINY, NUMPY_TINY, TRANSLATE_TINY, one_line_error, snapshot

from nn2gpt.cli import main
from nn2gpt.loop import FACTOR, Diverged


def test_the_loop_stops_a_finite_but_exploding_val_loss_before_saving(tmp_path, capsys, monkeypatch):
    """val 1e12 is finite; it must still stop the run, and its checkpoint must not be written."""
    import nn2gpt.gpt.train as train_mod

    losses, saved, real_save = iter([3.0, 1e12, 2.0]), [], train_mod.Saver.save
    monkeypatch.setattr(train_mod, "evaluate", lambda *a: next(losses))
    monkeypatch.setattr(train_mod.Saver, "save", lambda self, m, o, state: (saved.append(state["step"]),
                                                                            real_save(self, m, o, state)))
    out = tmp_path / "g"
    one_line_error(["gpt", "train", "--out", out, *GPT_TINY, "--max-iters", "6", "--eval-interval", "2"], capsys,
                   "val loss at step 4 is 1e+12", "ln 65", "training diverged", "last good checkpoint is kept")
    assert saved == [2]  # the healthy evaluation was saved, the diverged one not
    assert (out / "latest").read_text().strip() == "ckpt-00000002"


def test_the_ceiling_leaves_a_healthy_run_alone(tmp_path):
    """A run that learns never comes near the bound: its every loss is below the uniform guess's
    ln V plus a little, far under FACTOR x ln V (so the rule cannot fire on a healthy run's noise)."""
    from nn2gpt.runlog import read_metrics

    out = tmp_path / "g"
    assert main(["gpt", "train", "--out", str(out), *GPT_TINY, "--max-iters", "20", "--eval-interval", "5"]) == 0
    rows = read_metrics(out)
    losses = [r.get("val_loss", r.get("train_loss")) for r in rows]
    assert losses and max(losses) < math.log(65) + 0.5 < FACTOR * math.log(65) / 1.5


def test_numpy_engine_lr_1e6_stops_and_saves_nothing(tmp_path, capsys):
    """The numpy engine's losses at --lr 1e6 grow to ~1e11 and stay finite; the run was saved as good."""
    out = tmp_path / "np"
    one_line_error(["gpt", "train", *NUMPY_TINY, "--lr", "1e6", "--weight-decay", "0", "--max-iters", "30",
                    "--eval-interval", "10", "--out", out], capsys, "training diverged", "nothing was saved",
                   "ln 65", "lower --lr")
    assert not out.exists()


def test_a_resumed_gpt_run_that_diverges_keeps_its_last_good_checkpoint(tmp_path, capsys, monkeypatch):
    """Torch engine: a finite val loss past the bound (forced here) keeps the checkpoint before it."""
    import nn2gpt.gpt.train as train_mod

    out = tmp_path / "g"
    assert main(["gpt", "train", "--out", str(out), *GPT_TINY, "--max-iters", "4", "--eval-interval", "2"]) == 0
    capsys.readouterr()
    before = snapshot(out / "ckpt-00000004")
    monkeypatch.setattr(train_mod, "evaluate", lambda *a: 1e9)
    one_line_error(["gpt", "train", "--out", out, "--resume", "--max-iters", "8", "--quiet"], capsys,
                   "val loss at step 6 is 1e+09", "training diverged", "last good checkpoint is kept")
    assert (out / "latest").read_text().strip() == "ckpt-00000004"
    assert snapshot(out / "ckpt-00000004") == before


def test_translate_stops_on_a_finite_val_loss_past_the_bound(tmp_path, capsys, monkeypatch):
    import nn2gpt.translate.train as train_mod

    out = tmp_path / "t"
    monkeypatch.setattr(train_mod, "loss_on", lambda *a, **k: 50.0)  # finite; over 2 x ln(vocabulary)
    one_line_error(["translate", "train", *TRANSLATE_TINY, "--epochs", "1", "--out", out], capsys,
                   "validation loss at step", "is 50", "training diverged", "nothing was saved", "--lr-factor")
    assert not out.exists()


@pytest.mark.parametrize("flags", [
    ["--sizes", "784,30,10", "--cost", "quadratic", "--init", "large", "--lmbda", "0"],  # the book's: cost stays 0.9
    ["--lmbda", "0"],  # cross-entropy: the cost goes to inf while the weights stay finite
])
def test_digits_eta_1e30_stops_and_saves_nothing(flags, tmp_path, capsys):
    out = tmp_path / "d"
    one_line_error(["digits", "train", *DIGITS_TINY, *flags, "--eta", "1e30", "--out", out], capsys,
                   "training diverged", "nothing was saved", "lower --eta (it was 1e+30)")
    assert not out.exists()


def test_digits_keeps_the_old_model_when_a_replacement_diverges(copy_of, capsys):
    run = copy_of("digits")
    before = snapshot(run)
    one_line_error(["digits", "train", *DIGITS_TINY, "--sizes", "784,30,10", "--cost", "quadratic", "--lmbda", "0",
                    "--eta", "1e30", "--out", run, "--overwrite"], capsys, "a weight reached", "training diverged")
    assert snapshot(run) == before


def test_the_conv_net_stops_when_its_loss_explodes():
    from nn2gpt.digits.conv import ConvNet

    rng = np.random.default_rng(0)
    x, y = rng.random((40, 784), dtype=np.float32), rng.integers(0, 10, 40)
    with pytest.raises(Diverged, match="training diverged"):
        ConvNet(f1=2, f2=4, hidden=8, seed=0).train_epoch(x, y, 10, eta=1e6, momentum=0.9)
    healthy = ConvNet(f1=2, f2=4, hidden=8, seed=0)
    assert healthy.train_epoch(x, y, 10, eta=0.01) < FACTOR * math.log(10)


def test_a_lab_run_that_diverges_stops_the_lab_with_one_line(tmp_path, capsys, monkeypatch):
    import nn2gpt.loop as loop

    monkeypatch.setattr(loop, "FACTOR", 0.01)  # every loss is now past the bound
    out = tmp_path / "lab"
    one_line_error(["lab", "run", "--tiny", "--steps", "4", "--seeds", "1", "--suite", "masks", "--jobs", "1",
                    "--out", out], capsys, "lab run", "training diverged")
    assert not (out / "REPORT.md").exists()
