"""`nn2gpt learn run gpt` on a tiny GPT: the learner's modules run inside chapter 2's blocks, the
validation losses equal the reference's at the same seed, and the run is an ordinary gpt run."""

import json
import os
from pathlib import Path

import pytest

from nn2gpt.checkpoint import load_checkpoint
from nn2gpt.cli import main
from nn2gpt.learn.registry import find

TINY = ["--max-iters", "6", "--eval-interval", "3", "--n-layer", "1", "--n-head", "2", "--n-embd", "16",
        "--block-size", "16", "--batch-size", "4", "--eval-batches", "2", "--warmup", "2", "--sample-tokens", "0",
        "--quiet", "--threads", "1"]


def snapshot(run: Path) -> dict:
    """Every file under `run` with its bytes ({} when there is none)."""
    return {p.relative_to(run): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


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

    def cmd_train(args, **seams):
        calls.append(args.out)
        print("nn2gpt gpt: stopped by SIGTERM at step 2, saved", file=sys.stderr)
        return 143
    monkeypatch.setattr(cli, "cmd_train", cmd_train)
    return calls


def test_a_stop_during_the_reference_ends_the_milestone(book, tmp_path, capsys, trainings):
    out = tmp_path / "run"
    assert main(["learn", "run", "gpt", *TINY, "--out", str(out)]) == 143
    assert len(trainings) == 1                                # the learner's training never started
    err = capsys.readouterr().err.strip()                     # one line of the milestone's, not the reference's
    assert err == (f"the reference run was stopped by SIGTERM; your run was never started and nothing was written "
                   f"to {out}: run `nn2gpt learn run gpt` again (same flags) to train both"), err


@pytest.mark.parametrize("signal_name, status", [("SIGTERM", 143), ("Ctrl-C", 130)])
def test_a_stop_raised_before_the_references_loop_is_the_same_one_line(book, tmp_path, capsys, monkeypatch,
                                                                      signal_name, status):
    """SIGTERM while the reference loads its data (nn2gpt's main raises it, interrupt.Stopped), or
    Ctrl-C (KeyboardInterrupt): the same line, exit 143 or 130, the learner's run never started."""
    import signal

    from nn2gpt.gpt import cli
    from nn2gpt.interrupt import Stopped

    def cmd_train(args, **seams):
        raise Stopped(signal.SIGTERM) if signal_name == "SIGTERM" else KeyboardInterrupt()
    monkeypatch.setattr(cli, "cmd_train", cmd_train)
    out = tmp_path / "run"
    assert main(["learn", "run", "gpt", *TINY, "--out", str(out)]) == status
    err = capsys.readouterr().err.strip()
    assert err == (f"the reference run was stopped by {signal_name}; your run was never started and nothing was "
                   f"written to {out}: run `nn2gpt learn run gpt` again (same flags) to train both"), err


def test_sigterm_while_the_reference_trains_says_yours_never_started(book, tmp_path, stop_when):
    """SIGTERM once the reference's loop has saved a checkpoint (in its temporary directory, found
    through TMPDIR): exit 143, one line that the reference was stopped and the learner's run never
    started, never the temporary directory (deleted by then, where the reference's own last line
    pointed), and --out as it was: the run there that --overwrite would have replaced is untouched."""
    out, tmp = tmp_path / "run", tmp_path / "tmp"
    tmp.mkdir()
    assert main(["gpt", "train", *TINY, "--out", str(out)]) == 0
    before = snapshot(out)
    status, printed, err = stop_when(["learn", "run", "gpt", *TINY, "--max-iters", "100000", "--overwrite",
                                      "--out", out],
                                     lambda printed: any(tmp.glob("nn2gpt-learn-reference-*/ref/latest")),
                                     cwd=book, env=os.environ | {"TMPDIR": str(tmp)})
    assert status == 143, err
    assert err.strip() == (f"the reference run was stopped by SIGTERM; your run was never started and nothing was "
                           f"written to {out}: run `nn2gpt learn run gpt` again (same flags) to train both"), err
    assert "nn2gpt-learn-reference" not in printed + err and "Traceback" not in err
    assert snapshot(out) == before and not any(tmp.glob("nn2gpt-learn-reference-*"))


def test_sigterm_while_yours_trains_saves_it_and_shows_no_nan(book, tmp_path, stop_when):
    """SIGTERM once the learner's run has saved: gpt train's own stop (saved in --out, exit 143),
    and the losses side by side with "-" where the reference has no evaluation (the stop step)."""
    out, every = tmp_path / "run", 25                      # the reference evaluates every 25 of its 200 steps
    status, printed, err = stop_when(["learn", "run", "gpt", *TINY, "--max-iters", "200", "--eval-interval",
                                      str(every), "--out", out], lambda printed: (out / "latest").exists(), cwd=book)
    assert status == 143, err
    step = load_checkpoint(out).state["step"]
    assert f"interrupted by SIGTERM at step {step}:" in err and "Traceback" not in err, err
    assert "nan" not in printed and "nn2gpt-learn-reference" not in printed + err, printed
    rows = {int(r[0]): r[1:] for r in (line.split() for line in printed.splitlines()) if r and r[0].isdigit()}
    assert max(rows) == step and all(len(r) == 2 for r in rows.values()), printed
    assert all(r[1] != "-" for s, r in rows.items() if s % every == 0)     # the reference's evaluations
    if step % every:                                                       # the stop came between two of them
        assert rows[step][1] == "-", printed
        assert f"(-: the reference has no evaluation at step {step}: your run was stopped there" in printed


def test_the_side_by_side_table_says_why_a_reference_cell_is_empty():
    from nn2gpt.learn.milestone_gpt import side_by_side

    table = side_by_side({3: 2.5, 5: 2.4}, {3: 2.5, 6: 2.3}, stopped=True)
    assert "nan" not in table and table.splitlines()[2].split() == ["5", "2.4000", "-"], table
    assert table.splitlines()[-1].startswith("(-: the reference has no evaluation at step 5: your run was stopped")
    assert "different steps" in side_by_side({5: 2.4}, {6: 2.3}, stopped=False)
    assert len(side_by_side({3: 2.5}, {3: 2.5}, stopped=False).splitlines()) == 2


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


def losses_printed(said: str) -> list[list[str]]:
    return [line.split() for line in said.splitlines() if line.strip()[:1].isdigit()]


def test_the_lectures_dropout_runs_at_this_milestones_value_and_the_losses_stay_the_references(book, tmp_path,
                                                                                              capsys, monkeypatch):
    """The lecture's Head has nn.Dropout(0.2): it passes its check (in eval mode), and in the run
    it is set to p = 0, this milestone's value, said in one line, so the losses are the reference's."""
    solve(book, "head", ("        self.register_buffer(", "        self.dropout = nn.Dropout(0.2)\n"
                                                         "        self.register_buffer("))
    (book / find("head").file).write_text((book / find("head").file).read_text().replace(
        "        wei = F.softmax(wei, dim=-1)\n", "        wei = F.softmax(wei, dim=-1)\n        wei = self.dropout(wei)\n"))
    for name in ("multi_head", "feed_forward", "block"):
        solve(book, name)
    from nn2gpt import runlog

    drawn, real = [], runlog.plot_losses
    monkeypatch.setattr(runlog, "plot_losses", lambda *a, **kw: (drawn.append(kw.get("reference")), real(*a, **kw)))
    assert main(["learn", "run", "gpt", *TINY, "--out", str(tmp_path / "run")]) == 0
    said = capsys.readouterr().out
    assert "yours: head, multi_head, feed_forward, block" in said
    assert "your Block's dropout runs with p = 0 here, this milestone's own value" in said
    assert "sa.heads.0.dropout (0.2)" in said and "sa.heads.1.dropout (0.2)" in said
    rows = losses_printed(said)
    assert len(rows) == 2 and all(r[1] == r[2] for r in rows), said
    assert drawn and sorted(drawn[-1]) == [3, 6]             # loss.png redrawn with the reference's losses


def test_a_random_draw_inside_a_forward_is_said(book, tmp_path, capsys):
    """F.dropout written into the forward cannot be set to 0 from outside: the run says it will not be
    the reference's."""
    solve(book, "head", ("        wei = F.softmax(wei, dim=-1)\n",
                         "        wei = F.softmax(wei, dim=-1)\n        wei = F.dropout(wei, 0.2, self.training)\n"))
    assert main(["learn", "run", "gpt", *TINY, "--out", str(tmp_path / "run")]) == 0
    said = capsys.readouterr().out
    assert "yours: head;" in said and "your Block gives two different outputs for one input" in said
