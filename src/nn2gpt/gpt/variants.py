"""Chapter 4's and chapter 6's variants of chapter 2's models, and building any model by its config.

Chapter 2 (model.py) fixes one of each: the scaled dot product, the causal mask, learned
positions, GELU, a tied head. `ModelConfig` adds what the later chapters vary, and the road's
classes take those variants through three seams they already have: `new_attention` (the lab's
general layer, nn2gpt.nn.attention.MultiHeadAttention: scores, masks, RoPE, ALiBi, QK-norm),
`new_positions` / `embed` (none, sinusoidal, learned, rope, alibi) and `init_weights` / `head`
(chapter 6: ReLU², zero-init, an untied head, soft-capped logits; nn2gpt.gpt.modern).

    build_model(ModelConfig(pos="rope", untie=True, ...))   -> a model of the road
    ModelConfig.from_dict(saved["model"])                   a checkpoint's config, checked

A config that asks for none of them builds chapter 2's own classes, unchanged; the tensor
names are the same either way, so a checkpoint loads into whichever is built.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from nn2gpt.errors import UserError
from nn2gpt.gpt import rope_head_problem
from nn2gpt.gpt.model import GPT, MLP, AttentionLM, BigramLM, GPTConfig, MultiHeadLM
from nn2gpt.gpt.modern import MLPS, activation, softcap, zero_out
from nn2gpt.nn.attention import MultiHeadAttention
from nn2gpt.nn.masks import MASKS
from nn2gpt.nn.positional import POSITIONS, SINUSOIDAL, sinusoidal_encoding
from nn2gpt.nn.scores import SCORES


@dataclass
class ModelConfig(GPTConfig):
    # chapter 4, the lab (nn2gpt.nn): what attention scores, which keys it sees, how it knows positions
    pos: str = "learned"  # none | sinusoidal | sinusoidal_scaled | learned | rope | alibi
    score: str = "scaled_dot"  # see nn2gpt.nn.scores.SCORES
    mask: str = "causal"  # causal | anticausal | none | window
    window: int | None = None  # width of the sliding window when mask == "window"
    # chapter 6, the speedrun (nn2gpt.gpt.modern)
    mlp: str = "gelu"  # gelu | relu2
    qk_norm: bool = False  # RMS-normalise q and k per head before the score
    zero_init: bool = False  # output projections (and an untied head) start at zero
    untie: bool = False  # a head of its own (lm_head) instead of tok_emb read backwards
    softcap: float | None = None  # logits -> softcap * tanh(logits / softcap)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise UserError(f"unknown model config key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(known))}")
        cfg = cls(**d)
        check_config(cfg)
        return cfg

    def is_chapter_2(self) -> bool:
        """True when every variant is at chapter 2's choice: the road's own classes build it."""
        plain = ModelConfig(**{f.name: getattr(self, f.name) for f in fields(GPTConfig)})
        return self == plain


class Variant:
    """The seams of the road's classes, filled with chapter 4's and 6's choices (mixed in first)."""

    cfg: ModelConfig

    def new_positions(self):
        return super().new_positions() if self.cfg.pos == "learned" else None  # the others add no table

    def new_attention(self, n_head: int) -> nn.Module:
        c = self.cfg
        return MultiHeadAttention(c.n_embd, n_head, c.dropout, c.bias, c.score, c.mask, c.window, c.pos,
                                  block_size=c.block_size, qk_norm=c.qk_norm, flash=c.flash)

    def embed(self, idx: torch.Tensor, offset: int = 0) -> torch.Tensor:
        c, T = self.cfg, idx.size(1)
        x = self.tok_emb(idx)  # (B, T, C) what each token is
        if c.pos == "sinusoidal_scaled":  # the paper: embeddings x √C, so the table does not drown them
            x = x * math.sqrt(c.n_embd)  # (B, T, C)
        if c.pos == "learned":
            x = x + self.pos_emb(torch.arange(offset, offset + T, device=idx.device))  # + (T, C) where it is
        elif c.pos in SINUSOIDAL:
            x = x + self.pos_table[offset : offset + T]  # + (T, C) a fixed function of the position
        return self.drop(x)  # (B, T, C); rope and alibi act inside attention instead

    def init_weights(self, n_layer: int = 1) -> None:
        """Chapter 6's parts join before GPT-2's initialisation; zero-init comes after it."""
        c = self.cfg
        if c.pos in SINUSOIDAL and not hasattr(self, "pos_table"):  # a buffer, not saved
            self.register_buffer("pos_table", sinusoidal_encoding(c.block_size, c.n_embd), persistent=False)
        for m in self.modules():
            if isinstance(m, MLP):
                m.act = activation(c.mlp)  # GELU or ReLU²
        if c.untie and isinstance(self, GPT):
            self.lm_head = nn.Linear(c.n_embd, c.vocab_size, bias=False)  # (V, C), trained apart from tok_emb
        super().init_weights(n_layer)
        if c.zero_init and isinstance(self, GPT):
            zero_out(self)

    def head(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.lm_head(x) if self.cfg.untie else super().head(x)  # (B, T, V)
        return softcap(logits, self.cfg.softcap) if self.cfg.softcap else logits  # inside (-cap, cap)

    def new_caches(self):
        # incremental decoding assumes earlier positions never see later ones; under the
        # anti-causal or no-mask variants every position changes when a token is appended
        return super().new_caches() if self.cfg.mask in ("causal", "window") else None


class VariantAttentionLM(Variant, AttentionLM):
    pass


class VariantMultiHeadLM(Variant, MultiHeadLM):
    pass


class VariantGPT(Variant, GPT):
    pass


ROAD = {"bigram": BigramLM, "attention": AttentionLM, "multihead": MultiHeadLM, "gpt": GPT}  # chapter 2's own
VARIANTS = {"bigram": BigramLM, "attention": VariantAttentionLM, "multihead": VariantMultiHeadLM, "gpt": VariantGPT}


def check_road(cfg: GPTConfig) -> None:
    """Raise UserError, naming the valid choices, for anything the road (chapter 2) cannot build."""
    if cfg.model not in ROAD:
        raise UserError(f"unknown model {cfg.model!r}; choose from {', '.join(ROAD)}")
    for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
        value = getattr(cfg, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise UserError(f"{name} must be a positive integer, got {value!r}")
    if cfg.n_embd % cfg.n_head:
        raise UserError(f"n_embd {cfg.n_embd} must be divisible by n_head {cfg.n_head}")
    if not 0.0 <= cfg.dropout < 1.0:
        raise UserError(f"dropout must be in [0, 1), got {cfg.dropout}")


def check_config(cfg: ModelConfig) -> None:
    """Raise UserError, naming the valid choices, for anything build_model cannot build."""
    check_road(cfg)
    for name, value, choices in (("pos", cfg.pos, POSITIONS), ("score", cfg.score, SCORES),
                                 ("mask", cfg.mask, MASKS), ("mlp", cfg.mlp, MLPS)):
        if value not in choices:
            raise UserError(f"unknown {name} {value!r}; choose from {', '.join(choices)}")
    if cfg.mask == "window":
        if not isinstance(cfg.window, int) or cfg.window < 1:
            raise UserError(f"mask 'window' needs a window width >= 1 (e.g. --window 16), got {cfg.window!r}")
    elif cfg.window is not None:
        raise UserError(f"a window width ({cfg.window}) only applies to mask 'window', not {cfg.mask!r}")
    if cfg.model != "gpt" and (cfg.untie or cfg.softcap):
        raise UserError(f"untie and softcap are options of the gpt model (its head), not of {cfg.model!r}")
    if cfg.softcap is not None and not cfg.softcap > 0:
        raise UserError(f"softcap must be a positive number, got {cfg.softcap!r}")
    problem = rope_head_problem(cfg.pos, cfg.n_embd, 1 if cfg.model == "attention" else cfg.n_head)
    if problem:
        raise UserError(problem)


def build_model(cfg: GPTConfig):
    """The model `cfg` describes, initialised like GPT-2 from torch's current seed: chapter 2's
    own class when cfg asks for no variant, else that class with the variants mixed in."""
    if not isinstance(cfg, ModelConfig):
        cfg = ModelConfig(**asdict(cfg))
    check_config(cfg)
    return (ROAD if cfg.is_chapter_2() else VARIANTS)[cfg.model](cfg)


def config_from_saved(d: dict) -> ModelConfig:
    """A checkpoint's model config as a ModelConfig (keys this version does not know are dropped)."""
    names = {f.name for f in fields(ModelConfig)}
    return ModelConfig(**{k: v for k, v in d.items() if k in names})
