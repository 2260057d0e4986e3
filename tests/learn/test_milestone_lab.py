"""`nn2gpt learn run lab` on the lab's tiny model: the learner's score and mask are what trains."""

import json

import pytest

from nn2gpt.cli import main
from nn2gpt.learn.registry import find

TINY = ["--tiny", "--steps", "2"]


def solve(root, name, change=("", "")):
    ex = find(name)
    text = ex.solution.read_text()
    assert change[0] in text
    (root / ex.file).write_text(text.replace(*change))


def test_the_learners_variants_train_against_the_baseline(book, tmp_path, capsys):
    from nn2gpt.nn import attention, scores

    plain, mask = dict(scores._PLAIN), attention.structural_mask
    solve(book, "inverse_score", ("    return t / (t * t + 0.01)", "    return -t"))     # the negated reading
    solve(book, "anticausal_mask")
    out = tmp_path / "lab"
    assert main(["learn", "run", "lab", *TINY, "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "yours: inverse_score, anticausal_mask; trained in the lab as neg_dot, anticausal" in said
    assert "| scores | `neg_dot` |" in said and "| masks | `anticausal` |" in said     # the lab's table
    results = json.loads((out / "results.json").read_text())
    assert results["learn"]["variants"] == ["neg_dot", "anticausal"]
    assert sorted({r["variant"] for r in results["runs"]}) == ["anticausal", "baseline", "neg_dot"]
    assert scores._PLAIN == plain and attention.structural_mask is mask                 # put back
    from nn2gpt.studio.runs import summary

    assert summary(out, "lab").endswith("trained with your code (nn2gpt learn)")


def test_the_learners_mask_is_the_one_that_trains(book, tmp_path, capsys):
    # right at the sizes the check tries, raises at the tiny model's context of 16: only training meets it
    solve(book, "anticausal_mask", ("    return torch.triu(", "    assert T != 16, 'sixteen!'\n    return torch.triu("))
    assert main(["learn", "run", "lab", *TINY, "--out", str(tmp_path / "lab")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "33_anticausal_mask.py line 8, in anticausal_mask: AssertionError: " \
                                          "sixteen!" in err, err
    assert "in exercise anticausal_mask (" in err and "fix 33_anticausal_mask.py there" in err, err


def test_nothing_passed_is_one_line(book, tmp_path, capsys):
    assert main(["learn", "run", "lab", *TINY, "--out", str(tmp_path / "lab")]) == 2
    assert "none of chapter 4's exercises passes yet" in capsys.readouterr().err
    assert main(["learn", "run", "lab", "--suite", "masks"]) == 2
    assert "drop --suite" in capsys.readouterr().err


def test_right_variants_give_the_labs_own_numbers_exactly(book, tmp_path, capsys):
    """The solutions' squared score and anticausal mask train to the very losses of the lab's own
    `squared` and `anticausal` variants, same steps and seed: the learner's code is what ran, and
    right code is not nearly but exactly the lab's. The lab trains one run at a time here, as the
    milestone does (--jobs 1): the same runs, without a pool of fresh interpreters to start."""
    solve(book, "squared_score")
    solve(book, "anticausal_mask")
    assert main(["learn", "run", "lab", *TINY, "--out", str(tmp_path / "mine")]) == 0
    assert main(["lab", "run", *TINY, "--seeds", "1", "--variants", "squared,anticausal", "--jobs", "1",
                 "--out", str(tmp_path / "theirs")]) == 0

    def losses(folder):
        runs = json.loads((folder / "results.json").read_text())["runs"]
        return {(r["variant"], r["seed"]): (r["final_val"], r["history"]) for r in runs
                if r["variant"] in ("squared", "anticausal", "baseline")}
    mine, theirs = losses(tmp_path / "mine"), losses(tmp_path / "theirs")
    assert {k[0] for k in mine} == {"squared", "anticausal", "baseline"}, mine
    assert mine == {k: theirs[k] for k in mine}, (mine, theirs)


def test_the_help_gives_the_milestones_own_defaults_and_flags():
    from nn2gpt.learn.milestone_lab import parser

    text = " ".join(parser().format_help().split())
    assert "(0..N-1; default 1)" in text and "(default runs/learn-lab)" in text, text
    assert "default 3" not in text and "runs/lab," not in text and "runs/lab-long" not in text
    for refused in ("--suite", "--variants", "--skip", "--jobs"):   # the milestone chooses them: never offered
        assert refused not in text, refused
    args = parser().parse_args([])
    assert (args.seeds, args.out) == (1, "runs/learn-lab")        # what the help says is what it uses
