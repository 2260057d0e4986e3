"""The encoder-decoder Transformer of "Attention Is All You Need" (Vaswani et al., 2017), for translation.

    source ids (B, S) ─ embed·√d + sinusoids ─ N × EncoderLayer ─ LayerNorm ─► memory (B, S, C)
    target ids (B, T) ─ embed·√d + sinusoids ─ N × DecoderLayer(memory) ─ LayerNorm ─ @ embedᵀ ─► logits (B, T, V)

An encoder layer: self-attention over the source (every word sees every word, padding excepted),
then a position-wise feed-forward network. A decoder layer: *causal* self-attention over the
target produced so far, then **cross-attention** (queries from the target, keys and values
from the encoder's memory: "which source words matter for the next word?"), then feed-forward.
The attention itself is `nn2gpt.nn.attention.MultiHeadAttention`, shared with the GPT.

Choices, and why:
- **Pre-LN** (`x + sublayer(LayerNorm(x))`, plus a final LayerNorm on each stack) instead of the
  paper's post-LN (`LayerNorm(x + sublayer(x))`). With post-LN the gradient near the output is
  large at initialisation and the model diverges unless the learning rate warms up slowly
  (the paper: 4000 steps); pre-LN keeps an identity path from input to output and trains stably
  with a short warm-up (Xiong et al., 2020, "On Layer Normalization in the Transformer
  Architecture"). On a CPU budget of a few thousand steps that matters more than the small
  quality edge post-LN can have after long training.
- **One embedding matrix** (V, C) for source tokens, target tokens and the output projection
  (the vocabulary is shared, see bpe.py), as in the paper (section 3.4). Embeddings are
  multiplied by √d_model, so that with init std d^-1/2 the token vectors have unit size and are
  not drowned by the sinusoids (which have entries in [-1, 1]).
- Dropout (p = `dropout`) on the sum of embedding and position, after attention weights and
  after every sublayer, as in the paper.
- Padding: the source padding mask (B, S) (True = real token) is given to the encoder's
  self-attention and to every cross-attention, so no query ever attends to a padding key.
  Target padding sits *after* the real tokens and the mask is causal, so real positions never
  see it; the loss ignores padded positions.

Options (the "model" object of config.json; the defaults are the recipe above): what a Marian
model (imported by translate/marian.py) may differ in. The opus-mt models use every one but
`scale_embed=False` (their embeddings are scaled, as ours are):
- `norm="post"`: the paper's own arrangement, `x = LayerNorm(x + sublayer(x))`, and no final
  LayerNorm on either stack (the last sublayer's LayerNorm already normalises the output);
- `activation="silu"`: FFN(x) = SiLU(x W1 + b1) W2 + b2, SiLU(z) = z·sigmoid(z) ("swish");
- `pe_layout="halves"`: the same sinusoids, sines in the first d/2 columns and cosines in the
  last d/2, instead of interleaved (nn2gpt.nn.positional.sinusoidal_encoding);
- `scale_embed=False`: token embeddings added to the positions as they are, without the √d;
- `logits_bias=True`: a learned vector (V,) added to the output logits.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from nn2gpt.nn.attention import KVCache, MultiHeadAttention, fast_attention
from nn2gpt.nn.masks import as_4d
from nn2gpt.nn.positional import sinusoidal_encoding


NORMS = ("pre", "post")
ACTIVATIONS = {"relu": torch.relu, "silu": torch.nn.functional.silu}


class FeedForward(nn.Module):
    """FFN(x) = act(x W1 + b1) W2 + b2, applied to each position alone (paper eq. 2: act = ReLU)."""

    def __init__(self, d_model: int, d_ff: int, dropout: float, activation: str = "relu"):
        super().__init__()
        self.fc = nn.Linear(d_model, d_ff)
        self.proj = nn.Linear(d_ff, d_model)
        self.drop = nn.Dropout(dropout)
        self.act = ACTIVATIONS[activation]

    def forward(self, x):  # (B, T, C)
        return self.drop(self.proj(self.act(self.fc(x))))  # (B, T, C)


def residual(x, sublayer, ln: nn.LayerNorm, post: bool):
    """One residual connection around `sublayer` (a function of (B, T, C)) with its LayerNorm:
    pre-LN x + sublayer(LN(x)), or the paper's post-LN LN(x + sublayer(x))."""
    return ln(x + sublayer(x)) if post else x + sublayer(ln(x))  # (B, T, C)


class EncoderLayer(nn.Module):
    def __init__(self, d_model: int, n_head: int, d_ff: int, dropout: float, post: bool = False,
                 activation: str = "relu"):
        super().__init__()
        self.post = post
        self.ln1 = nn.LayerNorm(d_model)
        self.self_attn = MultiHeadAttention(d_model, n_head, dropout, mask="none")
        self.ln2 = nn.LayerNorm(d_model)
        self.ff = FeedForward(d_model, d_ff, dropout, activation)

    def forward(self, x, src_keep, return_weights: bool = False):
        """x (B, S, C), src_keep (B, S) True on real tokens -> (B, S, C) [, weights (B, nh, S, S)]."""
        seen = []

        def attend(h):
            a = self.self_attn(h, mask=src_keep, return_weights=return_weights)
            a, w = a if return_weights else (a, None)
            seen.append(w)
            return a  # (B, S, C); MultiHeadAttention applies the sublayer dropout itself

        x = residual(x, attend, self.ln1, self.post)  # (B, S, C)
        x = residual(x, self.ff, self.ln2, self.post)  # (B, S, C)
        return (x, seen[0]) if return_weights else x


class DecoderLayer(nn.Module):
    def __init__(self, d_model: int, n_head: int, d_ff: int, dropout: float, max_len: int, post: bool = False,
                 activation: str = "relu"):
        super().__init__()
        self.post = post
        self.ln1 = nn.LayerNorm(d_model)
        self.self_attn = MultiHeadAttention(d_model, n_head, dropout, mask="causal", block_size=max_len)
        self.ln2 = nn.LayerNorm(d_model)
        self.cross_attn = MultiHeadAttention(d_model, n_head, dropout, mask="none", cross=True)
        self.ln3 = nn.LayerNorm(d_model)
        self.ff = FeedForward(d_model, d_ff, dropout, activation)

    def forward(self, y, memory, src_keep, cache: KVCache | None = None, memory_kv=None,
                return_weights: bool = False):
        """y (B, T, C) target so far (only the newest position when `cache` is given),
        memory (B, S, C), src_keep (B, S) -> (B, T, C) [, cross-attention weights (B, nh, T, S)].
        memory_kv: the cross-attention keys and values of `memory`, from `memory_keys_values`."""
        seen = []

        def cross(h):
            if memory_kv is not None:
                return self._cross_attend_cached(h, *memory_kv, src_keep)
            c = self.cross_attn(h, context=memory, mask=src_keep, return_weights=return_weights)
            c, w = c if return_weights else (c, None)
            seen.append(w)
            return c  # (B, T, C) each target position reads the source

        y = residual(y, lambda h: self.self_attn(h, kv_cache=cache), self.ln1, self.post)  # causal: no peeking
        y = residual(y, cross, self.ln2, self.post)  # (B, T, C)
        y = residual(y, self.ff, self.ln3, self.post)  # (B, T, C)
        return (y, seen[0]) if return_weights else y

    # The memory does not change while a sentence is decoded, so neither do the cross-attention
    # keys and values. MultiHeadAttention recomputes them from the context at every call (S
    # positions per step, for 1 new query); when decoding we compute them once and call the same
    # attention function (nn2gpt.nn.attention.fast_attention) with the same weights.

    def memory_keys_values(self, memory):
        """memory (B, S, C) -> k, v (B, nh, S, hs) of the cross-attention."""
        a = self.cross_attn
        k, v = a.kv(memory).split(memory.shape[-1], dim=2)  # (B, S, C) each
        return a._heads(k), a._heads(v)  # (B, nh, S, hs)

    def _cross_attend_cached(self, x, k, v, src_keep):
        a = self.cross_attn
        B, T, C = x.shape
        q = a._heads(a.q(x))  # (B, nh, T, hs)
        out = fast_attention(q, k, v, as_4d(src_keep))  # (B, nh, T, hs); inference: no dropout
        return a.proj(out.transpose(1, 2).reshape(B, T, C))  # (B, T, C)


class DecodingState:
    """What incremental decoding carries between steps: the encoder output and the KV caches."""

    def __init__(self, memory, src_keep, caches, memory_kv):
        self.memory, self.src_keep, self.caches, self.t = memory, src_keep, caches, 0
        self.memory_kv = memory_kv  # per decoder layer: cross-attention (k, v), each (B, nh, S, hs)


class Transformer(nn.Module):
    def __init__(self, vocab_size: int, d_model: int, n_layer: int, n_head: int, d_ff: int,
                 dropout: float, max_len: int, pad_id: int, bos_id: int, eos_id: int, norm: str = "pre",
                 activation: str = "relu", pe_layout: str = "interleaved", scale_embed: bool = True,
                 logits_bias: bool = False):
        super().__init__()
        self.vocab_size, self.d_model, self.max_len = vocab_size, d_model, max_len
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id
        self.embed = nn.Embedding(vocab_size, d_model)
        nn.init.normal_(self.embed.weight, std=d_model ** -0.5)  # x √d below -> unit-size token vectors
        self.embed_scale = math.sqrt(d_model) if scale_embed else 1.0
        pe = sinusoidal_encoding(max_len, d_model, layout=pe_layout)  # (max_len, C)
        self.register_buffer("pe", pe, persistent=False)
        self.drop = nn.Dropout(dropout)
        post = norm == "post"
        self.encoder = nn.ModuleList(EncoderLayer(d_model, n_head, d_ff, dropout, post, activation)
                                     for _ in range(n_layer))
        self.decoder = nn.ModuleList(DecoderLayer(d_model, n_head, d_ff, dropout, max_len, post, activation)
                                     for _ in range(n_layer))
        # pre-LN stacks end with a LayerNorm of their own; post-LN ones end normalised already
        self.ln_enc = nn.Identity() if post else nn.LayerNorm(d_model)
        self.ln_dec = nn.Identity() if post else nn.LayerNorm(d_model)
        self.logits_bias = nn.Parameter(torch.zeros(vocab_size)) if logits_bias else None  # (V,)

    def _embed(self, ids, start: int = 0):
        """ids (B, T) -> (B, T, C): scaled token embedding plus the sinusoid of each position."""
        T = ids.shape[1]
        return self.drop(self.embed(ids) * self.embed_scale + self.pe[start:start + T])  # (B, T, C)

    def _logits(self, y):
        """y (B, T, C) the decoder's output -> (B, T, V): the tied output projection (+ the bias)."""
        logits = self.ln_dec(y) @ self.embed.weight.T  # (B, T, V)
        return logits if self.logits_bias is None else logits + self.logits_bias

    def padding_mask(self, src):
        """src (B, S) -> (B, S) bool, True where the token is real: the keys attention may look at."""
        return src != self.pad_id

    def encode(self, src, return_weights: bool = False):
        """src (B, S) -> memory (B, S, C), src_keep (B, S) [, per-layer weights [(B, nh, S, S)]]."""
        src_keep = self.padding_mask(src)  # (B, S) True = a real token that may be attended to
        x = self._embed(src)  # (B, S, C)
        weights = []
        for layer in self.encoder:
            x = layer(x, src_keep, return_weights)
            if return_weights:
                x, w = x
                weights.append(w)
        memory = self.ln_enc(x)  # (B, S, C)
        return (memory, src_keep, weights) if return_weights else (memory, src_keep)

    def decode(self, tgt, memory, src_keep, return_weights: bool = False):
        """tgt (B, T) -> logits (B, T, V) [, per-layer cross-attention weights [(B, nh, T, S)]]."""
        y = self._embed(tgt)  # (B, T, C)
        weights = []
        for layer in self.decoder:
            y = layer(y, memory, src_keep, return_weights=return_weights)
            if return_weights:
                y, w = y
                weights.append(w)
        logits = self._logits(y)  # (B, T, V)
        return (logits, weights) if return_weights else logits

    def forward(self, src, tgt_in):
        """Teacher forcing: src (B, S), tgt_in (B, T) = <s> y1 .. -> logits (B, T, V) for y1 .. </s>."""
        memory, src_keep = self.encode(src)
        return self.decode(tgt_in, memory, src_keep)

    # --- incremental decoding (used by greedy and beam search in decode.py) ---

    def start_decoding(self, src, max_steps: int | None = None) -> DecodingState:
        """Encode src (B, S); the KV caches hold `max_steps` positions (default: max_len)."""
        memory, src_keep = self.encode(src)
        steps = min(max_steps or self.max_len, self.max_len)
        return DecodingState(memory, src_keep, [KVCache(steps) for _ in self.decoder],
                             [layer.memory_keys_values(memory) for layer in self.decoder])

    def decode_step(self, state: DecodingState, tokens):
        """tokens (B,) the newest target token of each row -> logits (B, V) for the next one."""
        y = self._embed(tokens[:, None], start=state.t)  # (B, 1, C) at position t
        for layer, cache, kv in zip(self.decoder, state.caches, state.memory_kv):
            y = layer(y, state.memory, state.src_keep, cache=cache, memory_kv=kv)  # (B, 1, C)
        state.t += 1
        return self._logits(y)[:, 0]  # (B, V)

    def reorder_state(self, state: DecodingState, rows) -> None:
        """Beam search: row i of the state becomes a copy of row rows[i] (B',).

        Rows move only between hypotheses of one sentence, and those share the encoder memory:
        so while the batch keeps its size only the filled part of the KV caches is copied.
        When rows are dropped (finished sentences) everything shrinks to the rows kept."""
        if rows.numel() == state.memory.shape[0]:
            for cache in state.caches:
                n = cache.length
                cache.k[:, :, :n] = cache.k[rows, :, :n]  # (B, nh, n, hs)
                cache.v[:, :, :n] = cache.v[rows, :, :n]
            return
        state.memory, state.src_keep = state.memory[rows], state.src_keep[rows]  # (B', S, C), (B', S)
        state.memory_kv = [(k[rows], v[rows]) for k, v in state.memory_kv]  # (B', nh, S, hs) each
        for cache in state.caches:
            cache.k, cache.v = cache.k[rows], cache.v[rows]  # (B', nh, max_steps, hs)


# the options of the "model" object and the value a config that does not name one means
OPTIONS = {"norm": "pre", "activation": "relu", "pe_layout": "interleaved", "scale_embed": True, "logits_bias": False}


def build_model(cfg: dict) -> Transformer:
    """A Transformer from the "model" object of config.json (a missing option takes OPTIONS' value)."""
    options = {k: cfg.get(k, default) for k, default in OPTIONS.items()}
    if options["norm"] not in NORMS or options["activation"] not in ACTIVATIONS:
        raise KeyError(f"norm {options['norm']!r} / activation {options['activation']!r}")
    return Transformer(cfg["vocab_size"], cfg["d_model"], cfg["n_layer"], cfg["n_head"], cfg["d_ff"],
                       cfg["dropout"], cfg["max_len"], cfg["pad_id"], cfg["bos_id"], cfg["eos_id"], **options)


def model_weights(model: Transformer) -> dict:
    """state_dict as float32 numpy arrays (what checkpoints store)."""
    return {k: v.detach().cpu().float().numpy() for k, v in model.state_dict().items()}
