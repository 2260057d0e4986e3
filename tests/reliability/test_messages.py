"""Errors say what is wrong: not "does not exist" for a directory, not the learning rate for a bad weight decay."""

import pytest
from reliability_helpers import GPT_TINY, NUMPY_TINY, TRANSLATE_TINY, one_line_error, snapshot


@pytest.fixture
def places(tmp_path):
    import os

    (tmp_path / "a-dir").mkdir()
    (tmp_path / "a-file").write_text("some text\n")
    os.mkfifo(tmp_path / "a-pipe")  # exists, but is no regular file (reading it would wait forever)
    return tmp_path


@pytest.mark.parametrize("argv,needles", [
    (lambda t, r: ["gpt", "train", "--text", t / "a-dir", "--out", t / "o"], ("a-dir is a directory, not a file",)),
    (lambda t, r: ["gpt", "train", "--text", t / "a-pipe", "--out", t / "o"], ("not a regular file",)),
    (lambda t, r: ["gpt", "train", "--text", t / "nothing.txt", "--out", t / "o"], ("does not exist",)),
    (lambda t, r: ["digits", "predict", t / "a-dir", "--model", r["digits"]], ("a-dir is a directory",)),
    (lambda t, r: ["digits", "predict", t / "a-pipe", "--model", r["digits"]], ("not a regular file",)),
    (lambda t, r: ["lab", "report", "--results", t / "a-dir"], ("a-dir is a directory",)),
    (lambda t, r: ["gpt", "sample", "--model", t / "a-file"], ("a-file is a file, not a run directory",)),
    (lambda t, r: ["gpt", "train", "--out", t / "a-file"], ("--out", "a-file is a file, not a directory")),
    (lambda t, r: ["gpt", "train", "--out", t / "a-file" / "run"], ("cannot create --out", "a part of it is a file")),
    (lambda t, r: ["digits", "train", "--out", t / "a-file"], ("--out", "is a file, not a directory")),
    (lambda t, r: ["translate", "train", "--pair", "es-en", "--out", t / "a-file"], ("is a file, not a directory",)),
])
def test_what_a_path_is_instead(argv, needles, places, runs, capsys):
    one_line_error(argv(places, runs), capsys, *needles)


MODEL_DESTS = {"model", "run", "init_from", "lm"}


def test_a_run_of_another_kind_is_named_as_such(runs, copy_of, tmp_path, capsys):
    """Every option that reads a trained run, given a run of every other kind: one line that says what it is."""
    from reliability_helpers import argv_of, base_commands

    from nn2gpt.cli import command_parsers

    runs = runs | {"translate-copy": copy_of("translate")}
    tried = 0
    for command, parser in command_parsers().items():
        for action in (a for a in parser._actions if a.dest in MODEL_DESTS and a.choices is None):
            key = action.option_strings[-1] if action.option_strings else action.dest  # `gpt export RUN`
            own = {k for k, r in runs.items() if r == base_commands(runs, tmp_path)[command].get(key)}
            own |= {"gpt", "numpy"} if own & {"gpt", "numpy"} or key == "--lm" else set()  # one format, two engines
            own |= {"gpt", "numpy"} if key in ("--model", "--run", "run") and command.startswith("gpt") else set()
            own |= {"translate"} if key == "--init-from" else set()
            for kind in sorted({"gpt", "numpy", "translate", "digits"} - own):
                spec = base_commands(runs, tmp_path)[command]
                spec[key] = runs[kind]
                if key == "--lm":  # reranking needs a beam of two or more
                    extra = spec.get("", [])
                    spec[""] = [("2" if i and extra[i - 1] == "--beam" else v) for i, v in enumerate(extra)]
                if key == "--init-from":
                    spec["--out"] = tmp_path / "new"
                err = one_line_error(argv_of(command, spec), capsys)
                assert any(w in err for w in ("holds a ", "is a translation model", "not a es-en translation run",
                                              "holds no trained language model")), err
                tried += 1
    assert tried >= 15


@pytest.mark.parametrize("kind,argv,needles", [
    ("gpt", ["gpt", "train", "--resume", "--n-embd", "64"], ("trained with n_embd 16, not 64", "drop --n-embd")),
    ("gpt", ["gpt", "train", "--resume", "--n-layer", "3"], ("trained with n_layer 1, not 3", "drop --n-layer")),
    ("gpt", ["gpt", "train", "--resume", "--tokenizer", "gpt2"], ("tokenizer char, not gpt2",)),
    ("numpy", ["gpt", "train", "--engine", "numpy", "--resume", "--n-embd", "64"], ("n_embd 16, not 64",)),
    ("numpy", ["gpt", "train", "--resume"], ("trained by the numpy engine", "--engine numpy")),
    ("gpt", ["gpt", "train", "--engine", "numpy", "--resume"], ("trained by the torch engine", "--engine torch")),
    ("translate", ["translate", "train", "--pair", "es-en", "--resume", "--d-model", "64"],
     ("trained with --d-model 16, not 64", "drop --d-model")),
    ("translate", ["translate", "train", "--pair", "es-en", "--resume", "--warmup", "99"],
     ("trained with --warmup 5, not 99",)),
    ("translate", ["translate", "train", "--pair", "es-en", "--resume", "--limit", "7"], ("--limit 60, not 7",)),
])
def test_a_resumed_run_names_the_setting_it_keeps(kind, argv, needles, copy_of, capsys):
    run = copy_of(kind)
    before = snapshot(run)
    one_line_error([*argv, "--out", run], capsys, *needles)
    assert snapshot(run) == before


def test_a_resumed_run_takes_the_flags_it_was_trained_with(copy_of, capsys):
    from nn2gpt.checkpoint import load_checkpoint
    from nn2gpt.cli import main

    run = copy_of("translate")
    assert main(["translate", "train", "--pair", "es-en", "--out", str(run), "--resume", "--epochs", "2",
                 "--d-model", "16", "--quiet"]) == 0  # the same value again is fine
    assert load_checkpoint(run).config["train"]["limit"] == 60


@pytest.mark.parametrize("engine", ["torch", "numpy"])
def test_divergence_names_the_settings_to_change(engine, tmp_path, capsys):
    tiny = NUMPY_TINY[2:] if engine == "numpy" else GPT_TINY
    err = one_line_error(["gpt", "train", "--engine", engine, *tiny, "--lr", "1e30", "--warmup", "0", "--grad-clip",
                          "0", "--weight-decay", "0", "--max-iters", "30", "--eval-interval", "10",
                          "--out", tmp_path / "r"], capsys, "diverged")
    assert "--lr (it was 1e+30)" in err and "--warmup (it was 0)" in err
    assert "nothing was saved" in err and not (tmp_path / "r").exists()  # no empty run left behind


def test_no_command_writes_over_a_device_or_a_pipe(places, capsys):
    import os

    one_line_error(["translate", "target-text", "--pair", "es-en", "--out", places / "a-pipe"], capsys,
                   "not a regular file")
    assert not (places / "a-pipe").is_file() and os.path.exists(places / "a-pipe")


def test_eval_batches_zero_is_refused_by_name(capsys):
    one_line_error(["gpt", "train", "--eval-batches", "0"], capsys, "--eval-batches", ">= 1")


def test_translate_shape_flags_default_to_the_recipe(tmp_path):
    """Unset shape flags are None on the parser and the DEFAULTS in the run (a fresh run is unchanged)."""
    from nn2gpt.translate.cli import _config, _train_parser
    from nn2gpt.translate.runconfig import DEFAULTS, TranslateConfig, settle_flags

    cfg = _config(TranslateConfig, _train_parser().parse_args(["--pair", "es-en", "--out", str(tmp_path / "x")]))
    assert cfg.d_model is None
    settle_flags(cfg, None, (), "")
    assert (cfg.d_model, cfg.layers, cfg.heads, cfg.ff, cfg.warmup, cfg.seed, cfg.limit) == (
        DEFAULTS["d_model"], DEFAULTS["n_layer"], DEFAULTS["n_head"], DEFAULTS["d_ff"], DEFAULTS["warmup"], 0, None)


def test_chapter_3s_configs_hold_every_flag_of_their_commands():
    """The command line only parses and calls: each flag lands in the library's config dataclass."""
    from dataclasses import fields

    from nn2gpt.translate.cli import parsers
    from nn2gpt.translate.evaluate import EvalConfig
    from nn2gpt.translate.pictures import AttentionConfig
    from nn2gpt.translate.runconfig import TranslateConfig

    handled_by_the_cli = {"help", "threads", "lm", "lm_weight"}  # torch threads; the reranker is built apart
    for command, cls in (("train", TranslateConfig), ("eval", EvalConfig), ("attention", AttentionConfig)):
        dests = {a.dest for a in parsers()[command]._actions} - handled_by_the_cli
        assert dests == {f.name for f in fields(cls)}, command


@pytest.mark.parametrize("argv,kind,needles", [
    (lambda r: ["digits", "train", "--sizes", "784,10,10", "--limit", "100", "--epochs", "1", "--out", r["gpt"],
                "--overwrite"], "gpt", ("holds a chapter-2 GPT, not a digits network",)),
    (lambda r: ["lab", "run", "--tiny", "--steps", "2", "--seeds", "1", "--out", r["gpt"]], "gpt",
     ("holds a chapter-2 GPT, not a lab report",)),
    (lambda r: ["gpt", "train", *GPT_TINY, "--max-iters", "2", "--out", r["digits"], "--overwrite"], "digits",
     ("holds a digits network, not a chapter-2 GPT",)),
    (lambda r: ["gpt", "train", "--resume", "--out", r["digits"]], "digits", ("holds a digits network",)),
    (lambda r: ["translate", "train", *TRANSLATE_TINY, "--out", r["gpt"], "--overwrite"], "gpt",
     ("holds a chapter-2 GPT, not a translation model",)),
    (lambda r: ["digits", "predict", "x.png", "--model", r["gpt"]], "gpt", ("holds a chapter-2 GPT", "nn2gpt gpt")),
    (lambda r: ["gpt", "sample", "--model", r["digits"]], "digits", ("holds a digits network", "nn2gpt digits")),
])
def test_no_command_replaces_or_misreads_a_run_of_another_kind(argv, kind, needles, runs, copy_of, capsys):
    run = copy_of(kind)
    before = snapshot(run)
    one_line_error(argv(runs | {kind: run}), capsys, *needles)
    assert snapshot(run) == before


@pytest.mark.parametrize("argv", [
    lambda r: ["translate", "hola", "--model", r, "--beam", "1"],
    lambda r: ["translate", "eval", "--model", r, "--limit", "3"],
    lambda r: ["translate", "attention", "Hola.", "--model", r, "--out", r.parent / "att"],
], ids=["sentence", "eval", "attention"])
@pytest.mark.parametrize("kind", ["digits", "lab"])
def test_a_run_of_another_kind_given_to_translate_names_translate_as_the_fix(argv, kind, copy_of, tmp_path, capsys):
    """A digits network (or a lab report) given to a command that reads a translation model: the
    fix names the command that wants one, `nn2gpt translate`, never `nn2gpt gpt`, which
    translate would refuse in turn."""
    if kind == "digits":  # a trained digits network: the shared one, copied (the attention writes beside it)
        run = copy_of("digits")
    else:
        run = tmp_path / kind
        run.mkdir()
        (run / "results.json").write_text("{}")
    capsys.readouterr()
    err = one_line_error(argv(run), capsys, f"holds {'a digits network' if kind == 'digits' else 'a lab report'}, "
                                            f"not a translation model", "give a directory of `nn2gpt translate`")
    assert "`nn2gpt gpt`" not in err, err


def test_a_resumed_run_that_used_all_the_data_refuses_a_limit(copy_of, capsys):
    """An older run's config says "limit": null (all pairs): --limit 60 on --resume would train on other data."""
    import json

    from nn2gpt.checkpoint import latest_checkpoint_dir, meta_digest

    run = copy_of("translate")
    meta_path = latest_checkpoint_dir(run) / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["config"]["train"]["limit"] = None
    meta["config"]["train"].pop("vocab_size_asked")  # as runs saved before it was recorded
    meta["meta_sha256"] = meta_digest(meta)
    meta_path.write_text(json.dumps(meta))
    one_line_error(["translate", "train", "--pair", "es-en", "--out", run, "--resume", "--limit", "60"], capsys,
                   "trained with --limit None, not 60")


@pytest.mark.parametrize("flags,needles", [
    (["--eta", "1e300"], ("--eta 1e+300 times --lmbda 5", "flip the weights' sign")),
    (["--lmbda", "1e300"], ("--lmbda 1e+300", "flip")),
    (["--eta", "1e300", "--lmbda", "0"], ("training diverged", "nothing was saved", "lower --eta")),
])
def test_digits_never_saves_a_network_that_diverged(flags, needles, tmp_path, capsys):
    out = tmp_path / "d"
    one_line_error(["digits", "train", "--sizes", "784,10,10", "--limit", "200", "--epochs", "1", *flags,
                    "--out", out], capsys, *needles)
    assert not out.exists()


def test_a_fresh_digits_model_killed_before_its_config_json_loads(copy_of, tmp_path):
    """The weights file carries the config: config.json (the copy, written second) may be missing."""
    from nn2gpt.digits.model import load_model

    run = copy_of("digits")
    (run / "config.json").unlink()
    net, config = load_model(run)
    assert net.sizes == config["sizes"] == [784, 10, 10]


@pytest.mark.parametrize("argv,needles", [
    (lambda t: ["gpt", "train", "--out", t / "a-pipe"], ("a-pipe is a device or a pipe, not a directory",)),
    (lambda t: ["gpt", "sample", "--model", t / "a-pipe"], ("is a device or a pipe, not a run directory",)),
    (lambda t: ["translate", "Hola.", "--model", t / "a-file"], ("a-file is not a directory",)),
])
def test_a_pipe_or_a_file_where_a_directory_belongs(argv, needles, places, capsys):
    one_line_error(argv(places), capsys, *needles)
