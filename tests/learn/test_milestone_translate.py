"""`nn2gpt learn run translate` on a tiny es-en model: the learner's cross-attention trains and
the learner's greedy search is what the BLEU evaluation decodes with."""

import json

import pytest

from nn2gpt.cli import main
from nn2gpt.learn.registry import find

TINY = ["--pair", "es-en", "--d-model", "16", "--layers", "1", "--heads", "2", "--ff", "32", "--vocab-size", "200",
        "--max-tokens", "400", "--limit", "60", "--warmup", "5", "--quiet", "--device", "cpu", "--threads", "1",
        "--epochs", "1", "--eval-limit", "5"]


def solve(root, name, change=("", "")):
    ex = find(name)
    text = ex.solution.read_text()
    assert change[0] in text
    (root / ex.file).write_text(text.replace(*change))


RECORD = ('        import os\n        with open(os.environ["NN2GPT_TEST_CALLS"], "a") as f:\n'
          '            f.write(f"{} {{os.getpid()}}\\n")\n')


def test_the_learners_cross_attention_trains_and_is_scored_beside_chapter_3s(book, tmp_path, capsys, monkeypatch):
    """The learner's CrossAttention (recording each call) is what every decoder layer runs, in this
    process, in training and in the evaluation; the reference's BLEU, trained first with the same
    flags, is printed beside theirs, and with the solution's code and --epochs the two are equal."""
    import os
    import re

    from nn2gpt.translate import decode, model
    from nn2gpt.translate.evaluate import load_run

    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("NN2GPT_TEST_CALLS", str(calls))
    originals = (model.build_model, decode.greedy_decode)
    solve(book, "cross_attention", ("        B, T, C = x.shape\n", RECORD.format("cross") + "        B, T, C = x.shape\n"))
    calls.write_text("")
    out = tmp_path / "run"
    same = ["--dropout", "0", "--epochs", "2"]
    assert main(["learn", "run", "translate", *TINY, *same, "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "yours: cross_attention; chapter 3's: padding_mask, label_smoothing, greedy_decode" in said and "BLEU" in said
    assert "dropout: chapter 3's model runs" not in said                   # --dropout 0: nothing to say
    # chapter 3's own training with the same flags: the same losses, to float rounding, when the piece is right
    assert main(["translate", "train", *TINY[:-2], *same, "--out", str(tmp_path / "ref")]) == 0

    def losses(run):
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
        return [(r["step"], r[k]) for r in rows for k in ("loss", "val_loss") if k in r]
    mine, theirs = losses(out), losses(tmp_path / "ref")
    assert len(mine) == len(theirs) >= 2 and mine == theirs, (mine, theirs)     # exactly, not nearly
    row = re.search(r"greedy:\s+yours\s+([\d.]+) \((\d+) steps\)\s+chapter 3's\s+([\d.]+) \((\d+) steps\)", said)
    assert row, said
    yours, my_steps, reference, ref_steps = float(row[1]), int(row[2]), float(row[3]), int(row[4])
    assert my_steps == ref_steps > 0 and abs(yours - reference) < 0.5, said
    # one call a training step (one decoder layer), and more for the validation and the decoding
    assert calls.read_text().splitlines().count(f"cross {os.getpid()}") > my_steps    # not only the check's child
    assert json.loads((out / "config.json").read_text())["learn"]["yours"] == ["cross_attention"]
    assert (model.build_model, decode.greedy_decode) == originals
    load_run(out)                                              # an ordinary translate run: chapter 3 loads it
    from nn2gpt.studio.runs import summary

    assert summary(out, "translate").endswith("trained with your code (nn2gpt learn)")


def test_the_learners_greedy_search_is_what_decodes(book, tmp_path, capsys):
    # right on the check's scripted model (8 tokens), raises on the real vocabulary: only the evaluation meets it
    solve(book, "greedy_decode", ("        token = int(torch.argmax(next_logits(out)))",
                                  "        logits = next_logits(out)\n"
                                  "        assert len(logits) <= 8, 'a real vocabulary!'\n"
                                  "        token = int(torch.argmax(logits))"))
    assert main(["learn", "run", "translate", *TINY, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "24_greedy_decode.py line 11, in greedy_decode: AssertionError: " \
                                          "a real vocabulary!" in err, err


def test_the_learners_padding_mask_and_loss_are_the_training_steps(book, tmp_path, capsys, monkeypatch):
    """The learner's padding_mask and label_smoothed_loss, each recording the process that calls it
    (the checks run in a child), are what the model's attention masks with and what training minimises."""
    import os

    from nn2gpt.translate import train

    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("NN2GPT_TEST_CALLS", str(calls))
    record = ('    import os\n    with open(os.environ["NN2GPT_TEST_CALLS"], "a") as f:\n'
              '        f.write(f"{} {{os.getpid()}}\\n")\n')
    solve(book, "padding_mask", ("    return src != pad_id", record.format("mask") + "    return src != pad_id"))
    solve(book, "label_smoothing", ("    logp = ", record.format("loss") + "    logp = "))
    real = train.label_smoothed_loss
    calls.write_text("")
    out = tmp_path / "run"
    assert main(["learn", "run", "translate", *TINY, "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "yours: padding_mask, label_smoothing; chapter 3's: cross_attention, greedy_decode" in said
    lines = calls.read_text().splitlines()
    steps = json.loads((out / "config.json").read_text())["learn"]
    assert steps["yours"] == ["padding_mask", "label_smoothing"]
    assert lines.count(f"loss {os.getpid()}") >= 2 and f"mask {os.getpid()}" in lines, lines   # this process
    assert train.label_smoothed_loss is real


def test_out_with_an_equals_sign_is_the_folder_scored(book, tmp_path, capsys):
    """(and with the learner's cross-attention under the default dropout, the run says why its losses
    will not be the reference's)"""
    solve(book, "cross_attention")
    out = tmp_path / "run"
    assert main(["learn", "run", "translate", *TINY, f"--out={out}"]) == 0
    said = capsys.readouterr().out
    assert "BLEU" in said and (out / "config.json").is_file()
    assert "dropout: chapter 3's model runs --dropout 0.1, and your cross-attention has none of its own" in said
    assert not (book / "runs").exists()                        # nothing looked for in the default folder


def test_resume_is_refused_before_anything_trains(book, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    for flags, said in ((["--resume"], "has none"), (["--resume", "--overwrite"], "give one of the two")):
        assert main(["learn", "run", "translate", *TINY, *flags, "--out", str(empty)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and said in err, err
        assert not any(empty.iterdir())


def test_sigterm_while_the_reference_trains_says_yours_never_started(book, tmp_path, stop_when):
    """SIGTERM once chapter 3's model is in its training loop (its metrics.jsonl, in the temporary
    directory found through TMPDIR): exit 143, one line that the reference was stopped and the
    learner's run never started, never the temporary directory, and nothing in --out."""
    import os

    out, tmp = tmp_path / "run", tmp_path / "tmp"
    tmp.mkdir()

    def training(printed):                                      # the reference's first rows are written
        return any(tmp.glob("nn2gpt-learn-reference-*/ref/metrics.jsonl"))
    status, printed, err = stop_when(["learn", "run", "translate", *TINY, "--epochs", "100000", "--out", out],
                                     training, cwd=book, env=os.environ | {"TMPDIR": str(tmp)})
    assert status == 143, err
    assert err.strip() == (f"the reference run was stopped by SIGTERM; your run was never started and nothing was "
                           f"written to {out}: run `nn2gpt learn run translate` again (same flags) to train both"), err
    assert "nn2gpt-learn-reference" not in printed + err and not out.exists(), printed
    assert not any(tmp.glob("nn2gpt-learn-reference-*"))


def test_a_stop_while_yours_is_scored_says_it_is_saved(book, tmp_path, capsys, monkeypatch):
    """SIGTERM while the learner's trained run is scored: one line that it is saved and how to score
    it, exit 143, not a bare "interrupted"."""
    import signal

    from nn2gpt.interrupt import Stopped
    from nn2gpt.translate import evaluate

    out, real = tmp_path / "run", evaluate.evaluate

    def scoring(cfg, *args, **kw):
        if str(cfg.model) == str(out):                          # the learner's, after the reference's
            raise Stopped(signal.SIGTERM)
        return real(cfg, *args, **kw)
    monkeypatch.setattr(evaluate, "evaluate", scoring)
    assert main(["learn", "run", "translate", *TINY, "--out", str(out)]) == 143
    err = capsys.readouterr().err.strip()
    assert err == (f"scoring was stopped by SIGTERM: your run is trained and saved in {out}, its BLEU not computed "
                   f"(`nn2gpt translate eval --model {out} --beam 1 --limit 5` scores it with chapter 3's "
                   f"decoding)"), err
    assert (out / "latest").is_file()
