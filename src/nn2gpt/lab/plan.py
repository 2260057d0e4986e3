"""The experiment plan: which variants each question trains, and the model they share.

A *variant* changes exactly one thing about the baseline char GPT (scaled dot-product scores,
causal mask, learned positions), so any difference in validation loss is caused by that one
change. The suites share the baseline, so it is trained once per seed, not once per suite. (The
head-size suite also changes the width, and compares its nine variants with each other.)

This module is plain Python (no torch): the CLI validates names against it before any heavy
import, and the report reads the descriptions from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nn2gpt.errors import UserError

# The baseline every variant departs from (fields of nn2gpt.gpt.variants.ModelConfig).
BASELINE = {"score": "scaled_dot", "mask": "causal", "pos": "learned", "window": None}

# The model every run trains: small enough that the 75 runs fit in 30 minutes on 2 CPU cores,
# big enough (2 layers x 4 heads, 16 numbers per head) to learn words, not only letter pairs.
MODEL = {"block_size": 64, "n_layer": 2, "n_head": 4, "n_embd": 64, "dropout": 0.0, "bias": True}
# The tests' model: a few thousand weights, trains in a second.
TINY_MODEL = {"block_size": 16, "n_layer": 1, "n_head": 2, "n_embd": 16, "dropout": 0.0, "bias": True}
# Optimisation settings shared by every run; eval_batches fixed validation batches per evaluation.
TRAIN = {"batch_size": 32, "learning_rate": 3e-3, "eval_batches": 20}
TINY_TRAIN = {"batch_size": 8, "learning_rate": 3e-3, "eval_batches": 2}


@dataclass(frozen=True)
class Variant:
    name: str  # unique across suites; used in tables, file names and --variants
    change: dict  # overrides of BASELINE
    what: str  # one line for the report's table

    def model_fields(self) -> dict:
        """The ModelConfig fields this variant sets: the baseline's four, changed, and for the
        head-size suite also its width and number of heads (which override the plan's model)."""
        return {**BASELINE, **self.change}


BASE = Variant("baseline", {}, "scaled dot product, causal mask, learned positions")


def _window(model: dict) -> int:
    """The sliding window: a quarter of the context, so it really cuts off most of it."""
    return max(2, model["block_size"] // 4)


def suites(model: dict = MODEL) -> dict[str, list[Variant]]:
    """Suite name -> its variants; the baseline comes first in every suite."""
    w = _window(model)
    return {
        "scores": [
            BASE,
            Variant("dot", {"score": "dot"}, "q·k, not divided by √d"),
            Variant("squared", {"score": "squared"}, "(q∘q)·(k∘k)/√d: square every number, then dot"),
            Variant("inverse", {"score": "inverse"}, "s/(s²+0.01), s = q·k/√d: ≈ 1/s, no pole at 0"),
            Variant("neg_dot", {"score": "neg_dot"}, "−q·k/√d: prefer the least similar key"),
            Variant("cosine", {"score": "cosine"}, "cosine similarity × learned temperature"),
            Variant("additive", {"score": "additive"}, "Bahdanau: v·tanh(Wq q + Wk k)"),
            Variant("neg_l2", {"score": "neg_l2"}, "−|q−k|²/√d: closeness instead of alignment"),
        ],
        "masks": [
            BASE,
            Variant("anticausal", {"mask": "anticausal"}, "lower-left masked: position t sees t..T-1"),
            Variant("no_mask", {"mask": "none"}, "nothing masked: every position sees all"),
            Variant("window", {"mask": "window", "window": w}, f"causal, but only the last {w} positions"),
        ],
        "positions": [
            BASE,
            Variant("no_pos", {"pos": "none"}, "no positional information at all"),
            Variant("sinusoidal", {"pos": "sinusoidal"}, "fixed sines and cosines (Vaswani et al.)"),
            Variant("sinusoidal_scaled", {"pos": "sinusoidal_scaled"},
                    "the same sines, added as the paper does: token embeddings × √d_model first"),
            Variant("rope", {"pos": "rope"}, "rotary: q and k rotated by position"),
            Variant("alibi", {"pos": "alibi"}, "ALiBi: a distance penalty added to the scores"),
        ],
        "heads": [BASE, *head_size_variants(model)],
    }


SUITE_NAMES = ("scores", "masks", "positions", "heads")
HEAD_SCORES = {"scaled": "scaled_dot", "dot": "dot", "squared": "squared"}  # the scores trained per head size
HEAD_SIZES = (8, 32, 128)


def head_size_variants(model: dict) -> list[Variant]:
    """Scaled dot, unscaled dot and squared at head sizes 8, 32 and 128 with the same total width.

    Width = the largest head size (128; one head of 128, four of 32, sixteen of 8), wider than
    the baseline's 64, so these nine compare with each other, not with the baseline. The tests'
    tiny model shrinks every size by the same factor.
    """
    width = model["n_embd"] * 2
    sizes = [max(1, width * d // HEAD_SIZES[-1]) for d in HEAD_SIZES]
    return [Variant(f"{short}_h{d}", {"score": score, "n_embd": width, "n_head": width // d},
                    f"{'q·k/√d' if short == 'scaled' else 'q·k' if short == 'dot' else '(q∘q)·(k∘k)/√d'}, "
                    f"{width // d} head{'s' if width // d > 1 else ''} of {d} (width {width})")
            for short, score in HEAD_SCORES.items() for d in sizes]


@dataclass
class Plan:
    suites: list[str]
    variants: list[Variant]  # unique, in report order
    seeds: list[int]
    model: dict = field(default_factory=lambda: dict(MODEL))
    train: dict = field(default_factory=lambda: dict(TRAIN))

    def runs(self) -> list[tuple[Variant, int]]:
        """Every (variant, seed) pair; seeds outer so a cut-short lab still covers every variant."""
        return [(v, s) for s in self.seeds for v in self.variants]


def make_plan(suite: str = "all", seeds: int = 3, only: list[str] | None = None, tiny: bool = False,
              skip: list[str] | None = None) -> Plan:
    """Resolve the CLI's --suite/--seeds/--variants/--skip into the list of runs.

    The baseline is always kept: every comparison (and the mask metrics, which score generated
    text with the causal baseline of the same seed) needs it.
    """
    model = dict(TINY_MODEL if tiny else MODEL)
    table = suites(model)
    if suite != "all" and suite not in table:
        raise UserError(f"unknown suite {suite!r}; choose from {', '.join(SUITE_NAMES)} or all")
    chosen = list(SUITE_NAMES) if suite == "all" else [suite]
    variants: list[Variant] = []
    for name in chosen:
        variants += [v for v in table[name] if v not in variants]
    known = {v.name for v in variants}
    for flag, names in (("--variants", only), ("--skip", skip)):
        unknown = [n for n in names or [] if n not in known]
        if unknown:
            raise UserError(f"unknown variant {', '.join(unknown)} in {flag} for suite {suite}; "
                            f"choose from {', '.join(sorted(known))}")
    if skip and BASE.name in skip:
        raise UserError("--skip cannot leave out the baseline: every comparison is made against it")
    if only:
        variants = [v for v in variants if v.name in only or v.name == BASE.name]
    variants = [v for v in variants if v.name not in (skip or [])]
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise UserError(f"--seeds must be a whole number >= 1, got {seeds!r}")
    return Plan(chosen, variants, list(range(seeds)), model, dict(TINY_TRAIN if tiny else TRAIN))


def suite_variants(plan: Plan, suite: str) -> list[Variant]:
    """The plan's variants that belong to `suite`, baseline first."""
    names = {v.name for v in suites(plan.model)[suite]}
    return [v for v in plan.variants if v.name in names]
