"""What a newcomer meets first: the help lists every chapter, the hints work, the defaults are the recipe."""

import subprocess
import sys

from in_process import run_cli

from nn2gpt.cli import main


def test_help_lists_the_seven_chapters(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for n in range(0, 7):
        assert f"ch.{n} " in out, out
    assert "gpt --engine numpy" in out and "gpt train --recipe speedrun" in out


def test_the_sample_hint_after_training_on_a_text_uses_that_text(tmp_path):
    text = tmp_path / "austen.txt"
    text.write_text("It is a truth universally acknowledged, that a single man in possession of a good fortune, "
                    "must be in want of a wife.\n" * 40, encoding="utf-8")
    r = run_cli("gpt", "train", "--text", text, "--out", tmp_path / "r", "--n-layer", "1", "--n-head", "2",
                "--n-embd", "16", "--block-size", "16", "--batch-size", "4", "--eval-batches", "2", "--max-iters", "4",
                "--eval-interval", "2", "--quiet", "--sample-tokens", "0")
    assert r.returncode == 0, r.stderr
    hint = r.stderr.strip().splitlines()[-1]
    assert "--prompt 'It is a truth'" in hint and "ROMEO" not in hint, hint
    cmd = hint.split("sample it: ", 1)[1]
    # the hint itself through a shell, as a user pastes it (its quoting is what is tested)
    s = subprocess.run(cmd.replace("nn2gpt", f"{sys.executable} -m nn2gpt", 1) + " --max-new-tokens 5", shell=True,
                       capture_output=True, text=True, timeout=60)
    assert s.returncode == 0 and s.stdout.startswith("It is a truth"), s.stderr  # the hint runs as given


def test_translate_defaults_are_the_measured_cpu_recipe(capsys):
    """BENCHMARKS.md, chapter 3: 2.16M parameters, 38.85 BLEU de-en after 30 minutes on 2 CPU cores."""
    from nn2gpt.translate.runconfig import DEFAULTS

    recipe = {"d_model": 128, "n_layer": 3, "n_head": 4, "d_ff": 512, "dropout": 0.1, "vocab_size": 6000,
              "max_tokens": 2048, "warmup": 400, "lr_factor": 0.7}
    assert {k: DEFAULTS[k] for k in recipe} == recipe
    assert main(["translate", "train", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for flag, value in (("--d-model", 128), ("--ff", 512), ("--vocab-size", 6000), ("--max-tokens", 2048),
                        ("--warmup", 400), ("--lr-factor", 0.7)):
        assert f"(default {value})" in out.split(flag, 2)[-1][:200], flag
