"""The GPT family, from a bigram table to GPT-2's architecture, in one file.

The road of "Let's build GPT", each step a model you can train (`GPTConfig.model`):

    bigram     a (V, V) table: the next token's logits are read off the current token's row.
    attention  token + position embeddings, ONE head of masked self-attention, a linear head:
               tokens can now look back at the context.
    multihead  several heads side by side, then a feed-forward network that lets each position
               think about what it gathered.
    gpt        n_layer pre-LayerNorm blocks with residual connections, a final LayerNorm,
               dropout, and the output head tied to the token embedding (GPT-2).

API (what the training loop, the sampler, chapter 4's lab and the numpy engine rely on):

    GPTConfig(...)                      the model config; .to_dict() / GPTConfig.from_dict(d)
    check_config(cfg)                   UserError naming the valid choices for bad values
    build_model(cfg) -> LanguageModel   checks, builds, initialises like GPT-2
    model(idx, targets=None)            -> (logits (B, T, V), mean cross-entropy or None)
    model.stream(idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None,
                 generator=None, use_cache=True)   yields one int token at a time (batch of 1)
    model.generate(...same...)          -> (B, T + max_new_tokens) tensor
    model.num_params()                  parameters, the tied head counted once
    model.flops_per_token(T=None)       training FLOPs per token, for MFU
Sampling and the KV cache are in generate.py, the shape tracer (`gpt train --trace`) in trace.py.

The `gpt` model's state_dict() has exactly the tensor names of the project contract
(tok_emb.weight, pos_emb.weight, blocks.{i}.ln1, .attn.qkv, .attn.proj, .ln2, .mlp.fc, .mlp.proj,
ln_f): the head is tied (logits = h @ tok_emb.weight.T), so no head tensor is stored.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from nn2gpt.errors import UserError
from nn2gpt.gpt import MODELS  # the road: bigram, attention, multihead, gpt
from nn2gpt.gpt.generate import Sampling
from nn2gpt.gpt.modern import MLPS, activation, softcap, zero_out
from nn2gpt.nn.attention import KVCache, MultiHeadAttention
from nn2gpt.nn.masks import MASKS
from nn2gpt.nn.positional import POSITIONS, SINUSOIDAL, LearnedPositions, sinusoidal_encoding
from nn2gpt.nn.scores import SCORES


@dataclass
class GPTConfig:
    model: str = "gpt"  # bigram | attention | multihead | gpt
    vocab_size: int = 65
    block_size: int = 64  # the longest context the model sees
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True  # biases in Linear and LayerNorm layers
    pos: str = "learned"  # none | sinusoidal | sinusoidal_scaled | learned | rope | alibi
    score: str = "scaled_dot"  # see nn2gpt.nn.scores.SCORES
    mask: str = "causal"  # causal | anticausal | none | window
    window: int | None = None  # width of the sliding window when mask == "window"
    # chapter 6 (nn2gpt.gpt.modern), all off by default
    mlp: str = "gelu"  # gelu | relu2
    qk_norm: bool = False  # RMS-normalise q and k per head before the score
    zero_init: bool = False  # output projections (and an untied head) start at zero
    untie: bool = False  # a head of its own (lm_head) instead of tok_emb read backwards
    softcap: float | None = None  # logits -> softcap * tanh(logits / softcap)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "GPTConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise UserError(f"unknown model config key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(known))}")
        cfg = cls(**d)
        check_config(cfg)
        return cfg


class LanguageModel(Sampling, nn.Module):
    """What every model on the road shares: the loss, initialisation and counting (sampling: generate.py)."""

    cfg: GPTConfig
    n_residual = 1  # residual layers whose output projections get the smaller GPT-2 init

    def logits(self, idx: torch.Tensor, caches: list[KVCache] | None = None) -> torch.Tensor:
        """(B, T) token ids -> (B, T, V) logits; with caches, idx holds only the newest tokens."""
        raise NotImplementedError

    def new_caches(self) -> list[KVCache] | None:
        return None  # models without attention have nothing to cache

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        logits = self.logits(idx)  # (B, T, V)
        if targets is None:
            return logits, None
        # mean over every position of -log p(right next token); -1 marks positions to ignore
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-1)
        return logits, loss

    def _trace(self, name: str, t: torch.Tensor, dims: str) -> None:
        tracer = getattr(self, "tracer", None)
        if tracer is not None:
            tracer(name, t, dims)

    def _init_weights(self) -> None:
        """GPT-2's initialisation: N(0, 0.02) everywhere, zero biases, and the projections that
        write into the residual stream scaled by 1/sqrt(2 n_layer) so the stream's variance does
        not grow with depth (each block adds two such writes)."""
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)
        for name, p in self.named_parameters():
            if name.endswith("attn.proj.weight") or name.endswith("mlp.proj.weight"):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * self.n_residual))
        if self.cfg.zero_init:
            zero_out(self)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())  # parameters() yields tied tensors once

    def flops_per_token(self, T: int | None = None) -> float:
        """Training FLOPs (forward + backward) per token at context length T (default block_size).

        6N for the weights (2 per multiply-add forward, 4 backward; PaLM appendix B), N without
        the position table (a lookup, no matmul), plus 12·L·C·T for attention's q·k and w·v,
        which no weight counts. Divide tokens/s × this by the peak FLOP/s to get MFU.
        (The bigram's table is a lookup, counted as the one-hot matmul it stands for.)
        """
        T = self.cfg.block_size if T is None else T
        n = self.num_params() - (self.pos_emb.weight.numel() if hasattr(self, "pos_emb") else 0)
        layers = 0 if self.cfg.model == "bigram" else self.n_residual
        return 6 * n + 12 * layers * self.cfg.n_embd * T


# -------------------------------------------------------------------- the road


class BigramLM(LanguageModel):
    """Each token's row of a (V, V) table holds the logits of the token that follows it."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.vocab_size)  # (V, V) the whole model
        self._init_weights()

    def logits(self, idx, caches=None):
        logits = self.tok_emb(idx)  # (B, T, V)
        self._trace("logits", logits, "B,T,V")
        return logits


class _Embedded(LanguageModel):
    """Token embeddings plus the input positional encoding (learned or sinusoidal, if any)."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.n_embd)  # (V, C)
        if cfg.pos == "learned":
            self.pos_emb = LearnedPositions(cfg.block_size, cfg.n_embd)  # (block_size, C)
        elif cfg.pos in SINUSOIDAL:  # a fixed function of the position: a buffer, not saved
            self.register_buffer("pos_table", sinusoidal_encoding(cfg.block_size, cfg.n_embd), persistent=False)
        self.drop = nn.Dropout(cfg.dropout)

    def embed(self, idx: torch.Tensor, offset: int = 0) -> torch.Tensor:
        T = idx.size(1)
        x = self.tok_emb(idx)  # (B, T, C) what each token is
        if self.cfg.pos == "sinusoidal_scaled":  # the paper: embeddings x √C, so the table does not drown them
            x = x * math.sqrt(self.cfg.n_embd)  # (B, T, C)
        if self.cfg.pos == "learned":
            x = x + self.pos_emb(torch.arange(offset, offset + T, device=idx.device))  # + (T, C) where it is
        elif self.cfg.pos in SINUSOIDAL:
            x = x + self.pos_table[offset : offset + T]  # + (T, C)
        x = self.drop(x)  # (B, T, C)
        self._trace("x", x, "B,T,C")
        return x

    def attention_layers(self) -> list[MultiHeadAttention]:
        return [m for m in self.modules() if isinstance(m, MultiHeadAttention)]

    def new_caches(self) -> list[KVCache] | None:
        # incremental decoding assumes earlier positions never see later ones; under the
        # anti-causal or no-mask variants every position changes when a token is appended
        if self.cfg.mask not in ("causal", "window"):
            return None
        return [KVCache(self.cfg.block_size) for _ in self.attention_layers()]

    def _mha(self, n_head: int) -> MultiHeadAttention:
        c = self.cfg
        return MultiHeadAttention(c.n_embd, n_head, c.dropout, c.bias, c.score, c.mask, c.window, c.pos,
                                  block_size=c.block_size, qk_norm=c.qk_norm)


class AttentionLM(_Embedded):
    """Embeddings -> one head of masked self-attention (head size C) -> linear head."""

    def __init__(self, cfg: GPTConfig):
        super().__init__(cfg)
        self.attn = self._mha(1)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size)
        self._init_weights()

    def logits(self, idx, caches=None):
        x = self.embed(idx, caches[0].length if caches else 0)  # (B, T, C)
        x = self.attn(x, kv_cache=caches[0] if caches else None)  # (B, T, C)
        logits = self.lm_head(x)  # (B, T, V)
        self._trace("logits", logits, "B,T,V")
        return logits


class MultiHeadLM(_Embedded):
    """Embeddings -> n_head heads of self-attention -> feed-forward -> linear head.
    No residuals or LayerNorm yet: that is what the next step, `gpt`, adds."""

    def __init__(self, cfg: GPTConfig):
        super().__init__(cfg)
        self.attn = self._mha(cfg.n_head)
        self.mlp = MLP(cfg)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size)
        self._init_weights()

    def logits(self, idx, caches=None):
        x = self.embed(idx, caches[0].length if caches else 0)  # (B, T, C)
        x = self.attn(x, kv_cache=caches[0] if caches else None)  # (B, T, C) gather from the context
        x = self.mlp(x)  # (B, T, C) think about it, per position
        logits = self.lm_head(x)  # (B, T, V)
        self._trace("logits", logits, "B,T,V")
        return logits


class GPT(_Embedded):
    """GPT-2's decoder: embeddings -> n_layer blocks -> LayerNorm -> tied head (or, with
    cfg.untie, a head of its own), the logits soft-capped when cfg.softcap is set."""

    def __init__(self, cfg: GPTConfig):
        super().__init__(cfg)
        self.blocks = nn.ModuleList(Block(cfg, self._mha(cfg.n_head)) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        if cfg.untie:
            self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)  # (V, C), trained apart from tok_emb
        self.n_residual = cfg.n_layer
        self._init_weights()

    def logits(self, idx, caches=None):
        x = self.embed(idx, caches[0].length if caches else 0)  # (B, T, C)
        for i, block in enumerate(self.blocks):
            x = block(x, caches[i] if caches else None)  # (B, T, C) the residual stream
        x = self.ln_f(x)  # (B, T, C)
        # the head is the token embedding read backwards: the logit of token v is h · e_v.
        # Tying saves V*C parameters and makes "similar input" imply "similar prediction".
        logits = self.lm_head(x) if self.cfg.untie else F.linear(x, self.tok_emb.weight)  # (B, T, V)
        if self.cfg.softcap:
            logits = softcap(logits, self.cfg.softcap)  # (B, T, V) inside (-cap, cap)
        self._trace("logits", logits, "B,T,V")
        return logits


# -------------------------------------------------------------------- the parts of a block


class MLP(nn.Module):
    """Position-wise feed-forward network: widen to 4C, GELU (or ReLU², cfg.mlp), back to C."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
        self.act = activation(cfg.mlp)  # GPT-2's tanh GELU (numpy matches it exactly), or ReLU²
        self.proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x):
        return self.drop(self.proj(self.act(self.fc(x))))  # (B, T, C) -> (B, T, 4C) -> (B, T, C)


class Block(nn.Module):
    """Pre-LayerNorm Transformer block: x + attn(ln1(x)), then x + mlp(ln2(x)).

    Normalising the *input* of each sub-layer (GPT-2) rather than the sum (the original
    post-LN Transformer) leaves the residual stream an untouched identity path from the
    embedding to the output, so gradients reach early layers undiminished and training is
    stable without a long learning-rate warm-up.
    """

    def __init__(self, cfg: GPTConfig, attn: MultiHeadAttention):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.attn = attn
        self.ln2 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.mlp = MLP(cfg)

    def forward(self, x, kv_cache: KVCache | None = None):
        x = x + self.attn(self.ln1(x), kv_cache=kv_cache)  # (B, T, C) communicate
        x = x + self.mlp(self.ln2(x))  # (B, T, C) compute
        return x


# -------------------------------------------------------------------- building one


def check_config(cfg: GPTConfig) -> None:
    """Raise UserError, naming the valid choices, for anything build_model cannot build."""
    for name, value, choices in (("model", cfg.model, MODELS), ("pos", cfg.pos, POSITIONS),
                                 ("score", cfg.score, SCORES), ("mask", cfg.mask, MASKS), ("mlp", cfg.mlp, MLPS)):
        if value not in choices:
            raise UserError(f"unknown {name} {value!r}; choose from {', '.join(choices)}")
    for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
        value = getattr(cfg, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise UserError(f"{name} must be a positive integer, got {value!r}")
    if cfg.n_embd % cfg.n_head:
        raise UserError(f"n_embd {cfg.n_embd} must be divisible by n_head {cfg.n_head}")
    if not 0.0 <= cfg.dropout < 1.0:
        raise UserError(f"dropout must be in [0, 1), got {cfg.dropout}")
    if cfg.mask == "window":
        if not isinstance(cfg.window, int) or cfg.window < 1:
            raise UserError(f"mask 'window' needs a window width >= 1 (e.g. --window 16), got {cfg.window!r}")
    elif cfg.window is not None:
        raise UserError(f"a window width ({cfg.window}) only applies to mask 'window', not {cfg.mask!r}")
    if cfg.model != "gpt" and (cfg.untie or cfg.softcap):
        raise UserError(f"untie and softcap are options of the gpt model (its head), not of {cfg.model!r}")
    if cfg.softcap is not None and not cfg.softcap > 0:
        raise UserError(f"softcap must be a positive number, got {cfg.softcap!r}")
    heads = 1 if cfg.model == "attention" else cfg.n_head
    if cfg.pos == "rope" and (cfg.n_embd // heads) % 2:
        raise UserError(f"rope needs an even head size, got n_embd/n_head = {cfg.n_embd // heads}")


def build_model(cfg: GPTConfig) -> "LanguageModel":
    check_config(cfg)
    kind = {"bigram": BigramLM, "attention": AttentionLM, "multihead": MultiHeadLM, "gpt": GPT}[cfg.model]
    return kind(cfg)
