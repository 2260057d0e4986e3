"""A setting of `gpt train` is declared once (nn2gpt.gpt.runconfig.TrainConfig): its flag, its
help with the defaults filled in, the numpy engine's config and what --resume may change all
come from that one declaration."""

from dataclasses import fields

from nn2gpt.gpt.cli import parsers
from nn2gpt.gpt.runconfig import NUMPY_DEFAULTS, RECIPE, SAFE_ON_RESUME, SETTINGS, TrainConfig, help_text
from nn2gpt.gpt.recipes import DEFAULT_RECIPE, RECIPES
from nn2gpt.numpy_gpt.train import NumpyTrainConfig

COMMAND_FLAGS = {"help", "recipe", "resume", "overwrite", "compile", "engine", "trace", "quiet"}


def test_every_flag_of_gpt_train_is_a_declared_setting_with_its_declared_help_and_type():
    p = parsers()["train"]
    options = {a.dest: a for a in p._actions}
    flagged = {n for n, f in SETTINGS.items() if f.metadata["flag"] is not None}
    assert set(options) == flagged | COMMAND_FLAGS
    for name in flagged:
        action, kind = options[name], SETTINGS[name].metadata["flag"]
        assert action.help == help_text(name) and "{" not in action.help, name
        if isinstance(kind, tuple):
            assert tuple(action.choices) == kind, name
        elif kind not in ("switch", str):
            assert action.type is kind, name
        assert action.default is None, name          # "not given", so that --resume keeps the run's own


def test_the_help_names_both_engines_defaults_where_they_differ():
    assert help_text("n_layer") == "transformer blocks (default 2; 4 with --engine numpy)"
    assert help_text("n_head") == "attention heads per block (default 4)"
    assert help_text("pos").endswith("(classic: learned, speedrun: rope)")


def test_the_numpy_engines_config_is_made_of_the_declared_settings():
    numpy = {f.name: f.default for f in fields(NumpyTrainConfig)}
    torch_only = {n for n, f in SETTINGS.items() if f.metadata["torch_only"]}
    assert set(numpy) == set(SETTINGS) - torch_only
    for name, default in numpy.items():
        declared = SETTINGS[name].metadata["numpy"]
        if declared == RECIPE:
            assert default == RECIPES[DEFAULT_RECIPE][name], name
        else:
            assert default == NUMPY_DEFAULTS.get(name, getattr(TrainConfig, name)), name
    assert (numpy["n_layer"], numpy["n_embd"], numpy["lr"]) == (4, 128, 2e-3)   # chapter 5's baby GPT
    assert NumpyTrainConfig(n_layer=1).model_config(65)["n_layer"] == 1


def test_what_resume_may_change_is_what_the_declarations_say():
    assert SAFE_ON_RESUME == tuple(n for n, f in SETTINGS.items() if f.metadata["resume"] == "safe")
    assert {"max_iters", "max_seconds", "device", "threads"} <= set(SAFE_ON_RESUME)
    assert not {"lr", "seed", "n_layer", "text", "tokenizer"} & set(SAFE_ON_RESUME)
    help_ = parsers()["train"]._option_string_actions["--resume"].help
    assert all("--" + n.replace("_", "-") in help_ for n in SAFE_ON_RESUME)


def test_the_recipes_set_exactly_the_settings_declared_as_the_recipes():
    from nn2gpt.gpt.recipes import RECIPE_SETTINGS

    declared = {n for n, f in SETTINGS.items() if "{recipes}" in f.metadata["help"]}
    assert declared == set(RECIPE_SETTINGS)
    assert all(getattr(TrainConfig, n) is None for n in RECIPE_SETTINGS)   # left to the recipe
    assert all(TrainConfig(recipe=r).pos == RECIPES[r]["pos"] for r in RECIPES)


def test_each_engine_has_one_model_size_default_stated_in_the_recipes():
    from nn2gpt.gpt.model import GPTConfig
    from nn2gpt.gpt.recipes import SIZES

    for name, value in SIZES["torch"].items():
        assert getattr(TrainConfig(), name) == getattr(GPTConfig(), name) == value, name
    numpy = NumpyTrainConfig()
    assert {n: getattr(numpy, n) for n in SIZES["numpy"]} == SIZES["numpy"]
