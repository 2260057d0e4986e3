"""The named recipes of `nn2gpt gpt train --recipe NAME`: the one table of their values.

    classic   chapter 2's GPT, as GPT-2 trained it in 2019 (the default): learned positions,
              AdamW, the head tied to the token embedding, GPT-2's initialisation.
    speedrun  chapter 6's record (docs/speedrun.md): rotary positions, Muon for the blocks'
              matrices, output projections that start at zero, a head of its own.

A recipe sets only the settings below; every other setting (learning rate, batch, budget) has
one default, the same under both recipes, where the setting is declared: in
nn2gpt.gpt.runconfig.TrainConfig (with the numpy engine's own, where it differs). The model's
size has one default per engine, SIZES below, which TrainConfig, the numpy engine's config and
chapter 2's GPTConfig read. A flag
given with a recipe overrides that one value (`--recipe speedrun --optimizer adamw`). The help
text, the docs, the lab (which always trains the classic recipe), a resumed run saved before
recipes existed, and the benchmarks all read this table. No torch here: `--help` reads it.
"""

from __future__ import annotations

from nn2gpt.errors import UserError

RECIPES = {
    "classic": {"pos": "learned", "optimizer": "adamw", "zero_init": False, "untie": False,
                "mlp": "gelu", "qk_norm": False, "softcap": None, "schedule": "cosine"},
    "speedrun": {"pos": "rope", "optimizer": "muon", "zero_init": True, "untie": True,
                 "mlp": "gelu", "qk_norm": False, "softcap": None, "schedule": "cosine"},
}
DEFAULT_RECIPE = "classic"
# the one model-size default of each engine: chapter 2's torch GPT (the best val loss per CPU-second
# we measured, BENCHMARKS.md) and chapter 5's numpy baby GPT (the one it benchmarks against torch)
SIZES = {"torch": {"n_layer": 2, "n_head": 4, "n_embd": 64, "block_size": 64},
         "numpy": {"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 64}}
WHAT = {"classic": "chapter 2's GPT: learned positions, AdamW, a tied head",
        "speedrun": "chapter 6's record: RoPE, Muon, zero-init, an untied head"}
# the settings a recipe fixes (the keys of every row above)
RECIPE_SETTINGS = tuple(RECIPES[DEFAULT_RECIPE])


def recipe(name: str) -> dict:
    """The settings of recipe `name` (a copy), or a UserError naming the recipes there are."""
    if name not in RECIPES:
        raise UserError(f"unknown recipe {name!r}; choose from {', '.join(RECIPES)}")
    return dict(RECIPES[name])


def per_recipe(setting: str) -> str:
    """'classic: learned, speedrun: rope': a setting's value under each recipe, for help texts."""
    def shown(v):
        return "off" if v is False else "on" if v is True else "none" if v is None else str(v)
    return ", ".join(f"{name}: {shown(values[setting])}" for name, values in RECIPES.items())


def recipe_of(settings: dict) -> str | None:
    """The recipe whose every setting `settings` has, or None (a recipe with a flag changed)."""
    return next((name for name, values in RECIPES.items()
                 if all(settings.get(k) == v for k, v in values.items())), None)
