"""Chapter 2: the road from a bigram table to GPT, each step a model you can train (`--model`).

    bigram     a (V, V) table: the next token's logits are read off the current token's row.
    attention  token + position embeddings, ONE head of masked self-attention, a linear head:
               tokens can now look back at the context.
    multihead  several heads side by side, then a feed-forward network that lets each position
               think about what it gathered.
    gpt        n_layer pre-LayerNorm blocks with residual connections, a final LayerNorm,
               dropout, and the output head tied to the token embedding (GPT-2).

Read it top to bottom: the config, attention written out, the layers it makes, GPT-2's
initialisation, then the four models, ending on the GPT. They are the model of `nn2gpt gpt
train --recipe classic` (the default) with three neighbours: the KV cache (nn2gpt.nn.attention),
sampling (generate.py's `Sampling`, which every model inherits) and nn2gpt.gpt.variants, whose
`build_model` builds these very classes from a config at chapter 2's choices, and extends them
for chapter 4's variants (nn2gpt.nn) and chapter 6's (nn2gpt.gpt.modern). `gpt train --trace`
watches from outside (nn2gpt.gpt.trace): nothing below carries tracing code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nn2gpt.gpt.generate import Sampling
from nn2gpt.gpt.recipes import SIZES
from nn2gpt.nn.attention import KVCache


@dataclass
class GPTConfig:
    model: str = "gpt"  # bigram | attention | multihead | gpt: how far along the road
    vocab_size: int = 65  # Tiny Shakespeare has 65 distinct characters
    block_size: int = SIZES["torch"]["block_size"]  # the longest context the model sees
    n_layer: int = SIZES["torch"]["n_layer"]  # (each size's one default: nn2gpt.gpt.recipes.SIZES)
    n_head: int = SIZES["torch"]["n_head"]
    n_embd: int = SIZES["torch"]["n_embd"]  # C, the width of every token's vector
    dropout: float = 0.0
    bias: bool = True  # biases in Linear and LayerNorm layers, as GPT-2 has them
    # the fused kernel F.scaled_dot_product_attention; False runs `attention` below, written out
    # (the same numbers, slower: a test holds them equal)
    flash: bool = True


# -------------------------------------------------------------------- attention, written out


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, dropout: float = 0.0):
    """softmax(q kᵀ / √hs + causal mask) v, for every head at once.

    q (B, nh, Tq, hs); k, v (B, nh, Tk, hs). The queries are the LAST Tq of the Tk positions
    (Tq = Tk in training; Tq < Tk when a KV cache holds the earlier keys), so query i may look
    at keys 0 .. Tk - Tq + i. Returns (out (B, nh, Tq, hs), weights (B, nh, Tq, Tk)).
    """
    Tq, Tk, hs = q.size(-2), k.size(-2), q.size(-1)
    # dividing by √hs keeps the scores' variance near 1 whatever the head size, so the softmax
    # does not saturate into a one-hot at initialisation
    scores = q @ k.transpose(-2, -1) / math.sqrt(hs)  # (B, nh, Tq, Tk) how much query i likes key j
    future = torch.ones(Tq, Tk, dtype=torch.bool, device=q.device).triu(Tk - Tq + 1)  # (Tq, Tk) keys after i
    scores = scores.masked_fill(future, float("-inf"))  # no peeking: exp(-inf) = 0
    weights = F.softmax(scores, dim=-1)  # (B, nh, Tq, Tk) each row sums to 1
    dropped = F.dropout(weights, dropout) if dropout > 0 else weights
    return dropped @ v, weights  # (B, nh, Tq, hs): each query's weighted average of the values


def fast_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, dropout: float = 0.0) -> torch.Tensor:
    """The same as `attention`, through torch's fused kernel (flash / memory-efficient attention),
    which never stores the (Tq, Tk) weights. With Tq = Tk the kernel masks by itself."""
    Tq, Tk = q.size(-2), k.size(-2)
    if Tq == Tk:
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=True)  # (B, nh, T, hs)
    sees = torch.ones(Tq, Tk, dtype=torch.bool, device=q.device).tril(Tk - Tq)  # (Tq, Tk) True = may attend
    return F.scaled_dot_product_attention(q, k, v, attn_mask=sees, dropout_p=dropout)  # (B, nh, Tq, hs)


# -------------------------------------------------------------------- the layers


class CausalSelfAttention(nn.Module):
    """n_head heads of masked self-attention side by side, then a projection that mixes them.

    One Linear `qkv` (3C, C) makes every head's query, key and value in a single matmul: rows
    [0:C] are q, [C:2C] k, [2C:3C] v, and head h owns rows h*hs:(h+1)*hs of each (hs = C / nh).
    One head (n_head = 1) is the road's `attention` step: a head as wide as the embedding.
    """

    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0, bias: bool = True, flash: bool = True):
        super().__init__()
        self.qkv = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.resid_drop = nn.Dropout(dropout)
        self.n_head, self.dropout, self.flash = n_head, dropout, flash

    def forward(self, x: torch.Tensor, kv_cache: KVCache | None = None, return_weights: bool = False):
        """x (B, T, C) -> (B, T, C); with return_weights, also the weights (B, nh, T, Tk).
        kv_cache: x then holds only the newest positions, the cache the earlier keys and values."""
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)  # (B, T, C) each
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        if kv_cache is not None:
            k, v = kv_cache.append(k, v)  # (B, nh, Tk, hs): the earlier positions' too
        y, weights = self.attend(q, k, v, need_weights=return_weights)  # (B, nh, T, hs), (B, nh, T, Tk) or None
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, C) the heads side by side again
        y = self.resid_drop(self.proj(y))  # (B, T, C)
        return (y, weights) if return_weights else y

    def attend(self, q, k, v, *, need_weights: bool = False):
        """Every head's output (B, nh, Tq, hs) from its q, k, v, and the weights (B, nh, Tq, Tk):
        the fused kernel, which keeps no weights (None), unless they are wanted or flash is off."""
        p = self.dropout if self.training else 0.0
        if self.flash and not need_weights:
            return fast_attention(q, k, v, p), None
        return attention(q, k, v, p)


class MLP(nn.Module):
    """Position-wise feed-forward network: widen to 4C, GELU, back to C."""

    def __init__(self, n_embd: int, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        self.fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
        self.act = nn.GELU(approximate="tanh")  # GPT-2's tanh GELU (the numpy engine matches it exactly)
        self.proj = nn.Linear(4 * n_embd, n_embd, bias=bias)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        return self.drop(self.proj(self.act(self.fc(x))))  # (B, T, C) -> (B, T, 4C) -> (B, T, C)


class Block(nn.Module):
    """Pre-LayerNorm Transformer block: x + attn(ln1(x)), then x + mlp(ln2(x)).

    Normalising the *input* of each sub-layer (GPT-2) rather than the sum (the original
    post-LN Transformer) leaves the residual stream an untouched identity path from the
    embedding to the output, so gradients reach early layers undiminished and training is
    stable without a long learning-rate warm-up. `attn` replaces the block's attention layer
    (chapter 4's general one); by default it is CausalSelfAttention.
    """

    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0, bias: bool = True, attn: nn.Module | None = None):
        super().__init__()
        self.ln1 = nn.LayerNorm(n_embd, bias=bias)
        self.attn = attn if attn is not None else CausalSelfAttention(n_embd, n_head, dropout, bias)
        self.ln2 = nn.LayerNorm(n_embd, bias=bias)
        self.mlp = MLP(n_embd, dropout, bias)

    def forward(self, x, kv_cache: KVCache | None = None):
        x = x + self.attn(self.ln1(x), kv_cache=kv_cache)  # (B, T, C) communicate
        x = x + self.mlp(self.ln2(x))  # (B, T, C) compute
        return x


# -------------------------------------------------------------------- GPT-2's initialisation


def init_gpt2(model: nn.Module, n_layer: int = 1) -> None:
    """GPT-2's initialisation: N(0, 0.02) everywhere, zero biases, and the projections that
    write into the residual stream scaled by 1/sqrt(2 n_layer) so the stream's variance does
    not grow with depth (each block adds two such writes)."""
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)
    for name, p in model.named_parameters():
        if name.endswith(("attn.proj.weight", "mlp.proj.weight")):
            nn.init.normal_(p, std=0.02 / math.sqrt(2 * n_layer))


# -------------------------------------------------------------------- the road


class LanguageModel(Sampling, nn.Module):
    """What every model on the road does with its logits: the loss (sampling: generate.py)."""

    cfg: GPTConfig

    def logits(self, idx: torch.Tensor, caches: list[KVCache] | None = None) -> torch.Tensor:
        """(B, T) token ids -> (B, T, V) logits; with caches, idx holds only the newest tokens."""
        raise NotImplementedError

    def next_logits(self, idx: torch.Tensor, caches: list[KVCache] | None = None) -> torch.Tensor:
        """(B, T) token ids -> (B, V): the logits after the last position, all that sampling reads."""
        return self.logits(idx, caches)[:, -1]

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        logits = self.logits(idx)  # (B, T, V)
        if targets is None:
            return logits, None
        # mean over every position of -log p(right next token); -1 marks positions to ignore
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-1)
        return logits, loss

    def attention_layers(self) -> list[nn.Module]:
        return []  # the bigram has none

    def new_caches(self) -> list[KVCache] | None:
        """One KV cache per attention layer, for sampling (None: nothing to cache)."""
        return [KVCache(self.cfg.block_size) for _ in self.attention_layers()] or None

    def init_weights(self, n_layer: int = 1) -> None:
        init_gpt2(self, n_layer)


class BigramLM(LanguageModel):
    """Each token's row of a (V, V) table holds the logits of the token that follows it."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.vocab_size)  # (V, V) the whole model
        self.init_weights()

    def logits(self, idx, caches=None):
        return self.tok_emb(idx)  # (B, T, V)


class Embedded(LanguageModel):
    """Token embeddings plus learned position embeddings: what a token is, and where."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.n_embd)  # (V, C)
        self.pos_emb = self.new_positions()  # (block_size, C): one trained vector per position
        self.drop = nn.Dropout(cfg.dropout)

    def new_positions(self) -> nn.Module | None:
        return nn.Embedding(self.cfg.block_size, self.cfg.n_embd)

    def new_attention(self, n_head: int) -> nn.Module:
        """The attention layer of every step (chapter 4's variants give another)."""
        c = self.cfg
        return CausalSelfAttention(c.n_embd, n_head, c.dropout, c.bias, c.flash)

    def embed(self, idx: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """idx (B, T) of the positions offset .. offset + T - 1 -> x (B, T, C)."""
        T = idx.size(1)
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(offset, offset + T, device=idx.device))  # (B, T, C)
        return self.drop(x)  # (B, T, C)


class AttentionLM(Embedded):
    """Embeddings -> one head of masked self-attention (head size C) -> linear head."""

    def __init__(self, cfg: GPTConfig):
        super().__init__(cfg)
        self.attn = self.new_attention(1)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size)
        self.init_weights()

    def attention_layers(self):
        return [self.attn]

    def logits(self, idx, caches=None):
        x = self.embed(idx, caches[0].length if caches else 0)  # (B, T, C)
        x = self.attn(x, kv_cache=caches[0] if caches else None)  # (B, T, C)
        return self.lm_head(x)  # (B, T, V)


class MultiHeadLM(Embedded):
    """Embeddings -> n_head heads of self-attention -> feed-forward -> linear head.
    No residuals or LayerNorm yet: that is what the next step, `gpt`, adds."""

    def __init__(self, cfg: GPTConfig):
        super().__init__(cfg)
        self.attn = self.new_attention(cfg.n_head)
        self.mlp = MLP(cfg.n_embd, cfg.dropout, cfg.bias)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size)
        self.init_weights()

    def attention_layers(self):
        return [self.attn]

    def logits(self, idx, caches=None):
        x = self.embed(idx, caches[0].length if caches else 0)  # (B, T, C)
        x = self.attn(x, kv_cache=caches[0] if caches else None)  # (B, T, C) gather from the context
        x = self.mlp(x)  # (B, T, C) think about it, per position
        return self.lm_head(x)  # (B, T, V)


class GPT(Embedded):
    """GPT-2's decoder: embeddings -> n_layer blocks -> LayerNorm -> the tied head."""

    def __init__(self, cfg: GPTConfig):
        super().__init__(cfg)
        self.blocks = nn.ModuleList(Block(cfg.n_embd, cfg.n_head, cfg.dropout, cfg.bias, self.new_attention(cfg.n_head))
                                    for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.init_weights(cfg.n_layer)

    def attention_layers(self):
        return [block.attn for block in self.blocks]

    def head(self, x: torch.Tensor) -> torch.Tensor:
        # the token embedding read backwards: the logit of token v is h · e_v. Tying saves V*C
        # parameters and makes "similar input" imply "similar prediction"
        return F.linear(x, self.tok_emb.weight)  # (B, T, V)

    def residual(self, idx, caches=None) -> torch.Tensor:
        x = self.embed(idx, caches[0].length if caches else 0)  # (B, T, C)
        for i, block in enumerate(self.blocks):
            x = block(x, caches[i] if caches else None)  # (B, T, C) the residual stream
        return x

    def logits(self, idx, caches=None):
        return self.head(self.ln_f(self.residual(idx, caches)))  # (B, T, V)

    def next_logits(self, idx, caches=None):
        # the head (V x C a position) is the costliest product of a prompt's pass: only the last row is sampled
        return self.head(self.ln_f(self.residual(idx, caches)[:, -1:]))[:, 0]  # (B, V)
