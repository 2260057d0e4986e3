"""Named recipes (nn2gpt.gpt.recipes) and what --resume may change (nn2gpt.gpt.runconfig), both engines."""

import ast
import shutil
from pathlib import Path

import pytest

from nn2gpt.cli import main
from nn2gpt.gpt.recipes import RECIPE_SETTINGS, RECIPES


def config_of(*argv):
    from nn2gpt.gpt.cli import _build_parser, train_config_from_args

    return train_config_from_args(_build_parser().parse_args(["train", "--quiet", *argv]))


def test_classic_is_the_default_and_chapter_2s_gpt():
    from nn2gpt.gpt.train import TrainConfig

    for cfg in (TrainConfig(), config_of(), config_of("--recipe", "classic")):
        assert cfg.recipe == "classic"
        assert (cfg.pos, cfg.optimizer, cfg.zero_init, cfg.untie) == ("learned", "adamw", False, False)
        assert (cfg.mlp, cfg.qk_norm, cfg.softcap, cfg.schedule) == ("gelu", False, None, "cosine")


def test_speedrun_is_the_record_and_single_flags_override():
    rec = config_of("--recipe", "speedrun")
    assert (rec.pos, rec.optimizer, rec.zero_init, rec.untie) == ("rope", "muon", True, True)
    assert {k: getattr(rec, k) for k in RECIPE_SETTINGS} == RECIPES["speedrun"]
    mixed = config_of("--recipe", "speedrun", "--optimizer", "adamw", "--no-untie")
    assert (mixed.pos, mixed.optimizer, mixed.zero_init, mixed.untie) == ("rope", "adamw", True, False)
    assert config_of("--pos", "rope").optimizer == "adamw"  # a flag on the classic recipe changes that one value
    assert config_of("--no-flash").flash is False and config_of().flash is True


def test_the_help_the_lab_and_the_benchmarks_read_the_one_table():
    from nn2gpt.gpt.cli import parsers
    from nn2gpt.lab.plan import BASE, make_plan
    from nn2gpt.lab.measure import train_config

    help_text = " ".join(parsers()["train"].format_help().split())
    assert "classic: learned, speedrun: rope" in help_text and "classic (default)" in help_text
    assert "classic: adamw, speedrun: muon" in help_text
    lab = train_config(make_plan("scores", 1), BASE, 0, 10, None)
    assert {k: getattr(lab, k) for k in RECIPE_SETTINGS} == RECIPES["classic"]
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    try:
        import gpt_train_bench as gtb
    finally:
        sys.path.pop(0)
    assert gtb.CLASSIC_PIECES == RECIPES["classic"] and gtb.RECIPES["speedrun"].items() >= RECIPES["speedrun"].items()


def test_the_numpy_engine_refuses_the_speedrun_recipes_muon_by_name(tmp_path, capsys):
    assert main(["gpt", "train", "--engine", "numpy", "--recipe", "speedrun", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "optimizer muon" in err and "speedrun" in err and not (tmp_path / "r").exists()


def test_numpy_cli_never_imports_the_gpt_cli():
    """gpt/cli.py starts the numpy engine; the numpy engine's entry must not import it back (no cycle)."""
    import nn2gpt.numpy_gpt.cli_entry as entry

    tree = ast.parse(Path(entry.__file__).read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "nn2gpt.gpt.cli" not in imported and "nn2gpt.cli" not in imported


# ------------------------------------------------------------------ --resume

TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16", "--batch-size", "4",
        "--eval-interval", "2", "--eval-batches", "1", "--sample-tokens", "0", "--quiet", "--max-iters", "2"]
REFUSED = [("--lr", "0.001"), ("--text", "OTHER"), ("--batch-size", "8"), ("--warmup", "7"),
           ("--weight-decay", "0.01"), ("--seed", "7"), ("--min-lr", "0.0001"), ("--dropout", "0.1"),
           ("--recipe", "speedrun"), ("--grad-clip", "0.5"), ("--eval-batches", "3"), ("--n-embd", "32")]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny run of each engine, trained for 2 steps (shared read-only: every test below is refused
    before it writes, or copies it)."""
    out = {}
    for engine in ("torch", "numpy"):
        out[engine] = tmp_path_factory.mktemp(engine) / "run"
        assert main(["gpt", "train", "--engine", engine, "--out", str(out[engine]), *TINY]) == 0
    return out


# the numpy engine refuses any --dropout before it looks at the run (test_numpy_cli)
CASES = [(e, f, v) for e in ("torch", "numpy") for f, v in REFUSED if not (e == "numpy" and f == "--dropout")]


@pytest.mark.parametrize("engine,flag,value", CASES, ids=[f"{e}{f}" for e, f, _ in CASES])
def test_resume_refuses_a_changed_recipe_setting_by_name(runs, engine, flag, value, tmp_path, capsys):
    out = runs[engine]
    if flag == "--text":
        value = str(tmp_path / "other.txt")
        Path(value).write_text("another text entirely, " * 400, encoding="utf-8")
    before = sorted(p.name for p in out.iterdir())
    capsys.readouterr()
    code = main(["gpt", "train", "--engine", engine, "--out", str(out), *TINY, "--resume", flag, value])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "Traceback" not in err, err
    assert "was trained with" in err and (flag in err) and "start a new --out" in err, err
    assert sorted(p.name for p in out.iterdir()) == before  # nothing written


@pytest.mark.parametrize("engine", ["torch", "numpy"])
def test_resume_with_the_same_values_or_a_safe_change_continues_and_says_so(runs, engine, tmp_path, capsys):
    from nn2gpt.checkpoint import load_checkpoint

    out = runs[engine]
    run = tmp_path / "run"
    shutil.copytree(out, run)
    capsys.readouterr()
    assert main(["gpt", "train", "--engine", engine, "--out", str(run), *TINY, "--resume", "--recipe", "classic",
                 "--lr", str(load_checkpoint(run).config["train"]["lr"]), "--max-iters", "4"]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("resumed")]
    assert lines == [f"resumed {run} with its own settings, except max_iters 4 (was 2)"], err
    assert load_checkpoint(run).state["step"] == 4 and load_checkpoint(run).config["train"]["max_iters"] == 4


@pytest.mark.parametrize("engine", ["torch", "numpy"])
def test_sample_with_zero_new_tokens_prints_only_the_prompt(runs, engine, capsys):
    """`--max-new-tokens 0` asks for no tokens (the numpy engine once read 0 as "the default, 500")."""
    out = runs["torch"]
    capsys.readouterr()
    assert main(["gpt", "sample", "--engine", engine, "--model", str(out), "--prompt", "ROMEO:",
                 "--max-new-tokens", "0"]) == 0
    assert capsys.readouterr().out == "ROMEO:\n"


def test_a_run_saved_before_recipes_and_flash_samples_and_resumes(tmp_path, capsys):
    """A checkpoint whose config has no "recipe" (train) and no "flash" (model), as every run saved
    before them, loads, samples and resumes with its own settings (the speedrun's here)."""
    from nn2gpt.checkpoint import latest_checkpoint_dir, load_checkpoint, save_checkpoint

    out = tmp_path / "old"
    assert main(["gpt", "train", "--recipe", "speedrun", "--out", str(out), *TINY]) == 0
    ck = load_checkpoint(out, with_optimizer=True)
    ck.config["train"].pop("recipe"), ck.config["train"].pop("flash"), ck.config["model"].pop("flash")
    shutil.rmtree(latest_checkpoint_dir(out))
    save_checkpoint(out, ck.weights, ck.config, ck.tokenizer, ck.optimizer, ck.state)
    capsys.readouterr()
    assert main(["gpt", "sample", "--model", str(out), "--max-new-tokens", "5", "--seed", "0"]) == 0
    assert main(["gpt", "train", "--out", str(out), *TINY, "--resume", "--max-iters", "4"]) == 0
    resumed = load_checkpoint(out)
    assert resumed.state["step"] == 4 and resumed.config["train"]["recipe"] == "speedrun"
    assert resumed.config["train"]["optimizer"] == "muon" and "lm_head.weight" in resumed.weights
