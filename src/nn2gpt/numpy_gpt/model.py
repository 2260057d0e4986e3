"""Chapter 2's GPT in numpy: the forward pass, and the backward pass written out by hand.

    idx (B, T) -> tok_emb[idx] + pos_emb[:T]                         x (B, T, C)
    n_layer times:  x = x + attn(ln1(x));  x = x + mlp(ln2(x))     (pre-LayerNorm residual blocks)
    logits = ln_f(x) @ tok_emb.T                                     (B, T, V)  head tied to tok_emb
    loss = mean cross-entropy(logits, targets)

Chapter 6's recipe changes two pieces, and this engine has both: pos "rope" adds no table to
the input (attention rotates q and k instead, attention.py), and untie gives the head a matrix
of its own, lm_head.weight (V, C), so logits = ln_f(x) @ lm_head.T and tok_emb is only looked up.

The weights live in one flat dict under exactly the checkpoint names of the torch model
("tok_emb.weight", "blocks.0.attn.qkv.weight", ...: those of nn2gpt.gpt.model), so a checkpoint
moves between the engines without any renaming. The backward visits the layers in reverse and
applies each layer's backward from `layers.py` / `attention.py`; at a residual connection
x + f(x) the gradient simply flows down both branches and adds up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from nn2gpt.errors import UserError
from nn2gpt.gpt import rope_head_problem
from nn2gpt.numpy_gpt.attention import attention_backward, self_attention_backward, self_attention_forward
from nn2gpt.numpy_gpt.layers import (cross_entropy_backward, cross_entropy_forward, embedding_backward,
                                     gelu_backward, gelu_forward, layer_norm_backward, layer_norm_forward,
                                     linear_backward, linear_forward)

# What this engine can do, in one place: each setting (a model config key, a training setting or a
# `gpt train` flag) -> the values it honours, the first being what a config without the key means;
# any other value is the torch engine's only. () = none: the setting is the torch engine's only.
# The model's keys are checked whenever a model is built (check_supported, also for a checkpoint
# the torch engine saved), every key when `gpt train --engine numpy` starts (cli_entry).
CAN = {"model": ("gpt",), "pos": ("learned", "rope"), "score": ("scaled_dot",), "mask": ("causal",),
       "window": (None, 0), "mlp": ("gelu",), "qk_norm": (False,), "untie": (False, True),
       "zero_init": (False, True), "softcap": (None,), "flash": (True, False),
       # training: the classic recipe's AdamW and cosine; no Muon, no WSD
       "optimizer": ("adamw",), "schedule": ("cosine",), "muon_lr": (), "cooldown": (),
       # the machine: numpy on the CPU, in float32, one process
       "device": ("auto", "cpu"), "dtype": ("auto", "float32", "fp32"), "compile": (False,), "trace": (False,),
       "threads": (), "peak_tflops": ()}
MODEL_KEYS = ("model", "pos", "score", "mask", "window", "mlp", "qk_norm", "untie", "softcap")
WHY_NOT = {"threads": " (numpy's BLAS picks its own threads; set OPENBLAS_NUM_THREADS instead)",
           "peak_tflops": " (the numpy engine reports no MFU)"}


def unsupported(settings: dict, keys=None) -> tuple[str, object] | None:
    """The first (key, value) of `settings` (only `keys`, default all of CAN) this engine cannot
    honour, or None. A key `settings` lacks is fine: it means the first value of CAN."""
    return next(((k, settings[k]) for k in keys or CAN if k in settings and settings[k] not in CAN[k]), None)


def check_supported(config: dict, training: bool) -> None:
    """Raise UserError if the model config asks for something only the torch engine has."""
    bad = unsupported(config, MODEL_KEYS)
    if bad:
        key, value = bad
        raise UserError(f"the numpy engine does not support {key} {value!r} (only "
                        f"{', '.join(map(str, CAN[key]))}); use --engine torch")
    problem = rope_head_problem(config.get("pos", "learned"), config["n_embd"], config["n_head"])
    if problem:
        raise UserError(problem)
    if training and float(config.get("dropout", 0.0)) > 0:
        raise UserError(f"the numpy engine trains without dropout (got --dropout {config['dropout']}); "
                        f"use --dropout 0 or --engine torch")


def parameter_shapes(config: dict) -> dict[str, tuple[int, ...]]:
    """Every tensor name of the checkpoint and its shape, in the torch model's order."""
    v, c, bias = config["vocab_size"], config["n_embd"], config.get("bias", True)
    shapes = {"tok_emb.weight": (v, c)}
    if config.get("pos", "learned") == "learned":
        shapes["pos_emb.weight"] = (config["block_size"], c)
    for i in range(config["n_layer"]):
        layer = {"ln1.weight": (c,), "ln1.bias": (c,), "attn.qkv.weight": (3 * c, c), "attn.qkv.bias": (3 * c,),
                 "attn.proj.weight": (c, c), "attn.proj.bias": (c,), "ln2.weight": (c,), "ln2.bias": (c,),
                 "mlp.fc.weight": (4 * c, c), "mlp.fc.bias": (4 * c,), "mlp.proj.weight": (c, 4 * c),
                 "mlp.proj.bias": (c,)}
        shapes.update({f"blocks.{i}.{k}": s for k, s in layer.items() if bias or not k.endswith(".bias")})
    shapes["ln_f.weight"] = (c,)
    if bias:
        shapes["ln_f.bias"] = (c,)
    if config.get("untie"):
        shapes["lm_head.weight"] = (v, c)
    return shapes


def init_weights(config: dict, seed: int = 0, dtype=np.float32) -> dict[str, np.ndarray]:
    """GPT-2's initialisation: N(0, 0.02) matrices and embeddings, zero biases, unit LayerNorm
    gains, and the projections that feed a residual stream scaled by 1/sqrt(2 n_layer) so the
    stream's variance does not grow with depth. With zero_init (chapter 6) those projections and
    an untied head start at zero instead, so every block starts as the identity map."""
    rng = np.random.default_rng(seed)
    weights = {}
    zero = ("attn.proj.weight", "mlp.proj.weight", "lm_head.weight") if config.get("zero_init") else ()
    for name, shape in parameter_shapes(config).items():
        if name.endswith(".bias") or name.endswith(zero):
            w = np.zeros(shape)
        elif len(shape) == 1:  # LayerNorm gain
            w = np.ones(shape)
        else:
            std = 0.02 / np.sqrt(2 * config["n_layer"]) if name.endswith("proj.weight") else 0.02
            w = rng.normal(0.0, std, size=shape)
        weights[name] = w.astype(dtype)
    return weights


@dataclass(frozen=True)
class Layers:
    """The layer passes the model applies, by name: chapter 5's own (layers.py, attention.py) by
    default. The workbook's milestone (`nn2gpt learn run numpy-gpt`) gives a model the learner's
    in their places; nothing else in the engine changes."""

    linear_backward: Callable = linear_backward
    layer_norm_forward: Callable = layer_norm_forward
    layer_norm_backward: Callable = layer_norm_backward
    gelu_backward: Callable = gelu_backward
    attention_backward: Callable = attention_backward
    cross_entropy_backward: Callable = cross_entropy_backward


class NumpyGPT:
    """A GPT whose forward and backward are numpy. `weights` maps checkpoint names to arrays;
    `layers` are the passes it applies (chapter 5's, unless given)."""

    def __init__(self, config: dict, weights: dict[str, np.ndarray], dtype=np.float32, layers: Layers | None = None):
        check_supported(config, training=False)
        self.config = config
        self.layers = layers or Layers()
        expected = parameter_shapes(config)
        missing = sorted(set(expected) - set(weights))
        unexpected = sorted(set(weights) - set(expected))  # refused, as the torch engine refuses them
        wrong = [n for n in expected if n in weights and tuple(weights[n].shape) != expected[n]]
        if missing or unexpected or wrong:
            raise UserError(f"the weights do not fit the model config (missing {missing[:3]}, unexpected "
                            f"{unexpected[:3]}, wrong shape {wrong[:3]}); the checkpoint and its config disagree, "
                            f"retrain it or restore a copy")
        self.weights = {n: np.ascontiguousarray(weights[n], dtype=dtype) for n in expected}
        # Per-block views of the same arrays, keyed without the "blocks.i." prefix.
        self.blocks = [{k[len(f"blocks.{i}."):]: w for k, w in self.weights.items() if k.startswith(f"blocks.{i}.")}
                       for i in range(config["n_layer"])]
        self.attn = [_prefixed(p, "attn.") for p in self.blocks]  # "qkv.weight", "proj.weight", ...
        self.n_head = config["n_head"]
        self.rope = config.get("pos", "learned") == "rope"
        self.head = "lm_head.weight" if config.get("untie") else "tok_emb.weight"  # (V, C) the read-out

    # ------------------------------------------------------------------ forward
    def forward(self, idx: np.ndarray, targets: np.ndarray | None = None, pos_offset: int = 0,
                kv_caches: list[dict] | None = None, last_only: bool = False, for_backward: bool = True):
        """idx (B, T) ints -> (logits, loss, cache). logits (B, T, V), or (B, 1, V) with last_only.

        With targets (and for_backward) the activations that `backward` needs are returned in
        `cache`; evaluation passes for_backward=False and keeps none. With kv_caches (one dict
        per block, sampling) the new keys and values are appended there.
        """
        w, (b, t), L = self.weights, idx.shape, self.layers
        if pos_offset + t > self.config["block_size"]:
            raise ValueError(f"sequence of {pos_offset + t} tokens is longer than block_size")
        keep = targets is not None and for_backward
        x = w["tok_emb.weight"][idx]  # (B, T, C)
        if not self.rope:
            x = x + w["pos_emb.weight"][pos_offset:pos_offset + t]  # (B, T, C)
        c = x.shape[-1]
        x = x.reshape(b * t, c)  # (N, C), the residual stream
        block_caches = []
        for i, p in enumerate(self.blocks):
            h1, ln1 = L.layer_norm_forward(x, p["ln1.weight"], p.get("ln1.bias"))  # (N, C)
            a, attn = self_attention_forward(h1.reshape(b, t, c), self.attn[i], self.n_head,
                                             None if kv_caches is None else kv_caches[i], self.rope)
            x += a.reshape(b * t, c)  # residual 1 (in place: the caches hold xhat, never x)
            h2, ln2 = L.layer_norm_forward(x, p["ln2.weight"], p.get("ln2.bias"))  # (N, C)
            f = linear_forward(h2, p["mlp.fc.weight"], p.get("mlp.fc.bias"))  # (N, 4C)
            g, tanh_u = gelu_forward(f)  # (N, 4C)
            m = linear_forward(g, p["mlp.proj.weight"], p.get("mlp.proj.bias"))  # (N, C)
            x += m  # residual 2
            if keep:
                block_caches.append((ln1, attn, ln2, h2, f, tanh_u, g))
        if last_only:
            x = x.reshape(b, t, c)[:, -1]  # (B, C): sampling needs the next token only
        hf, lnf = L.layer_norm_forward(x, w["ln_f.weight"], w.get("ln_f.bias"))  # (N, C)
        logits = hf @ w[self.head].T  # (N, V), the head: tied to the token embedding, or lm_head
        if targets is None:
            return logits.reshape(b, -1, logits.shape[-1]), None, None
        loss, probs = cross_entropy_forward(logits, targets.reshape(-1))
        if not keep:
            return logits.reshape(b, t, -1), loss, None
        cache = (idx, targets.reshape(-1), probs, hf, lnf, block_caches)
        return logits.reshape(b, t, -1), loss, cache

    # ----------------------------------------------------------------- backward
    def backward(self, cache) -> dict[str, np.ndarray]:
        """Gradients of the mean cross-entropy with respect to every weight (same names)."""
        w, L = self.weights, self.layers
        idx, targets, probs, hf, lnf, block_caches = cache
        b, t = idx.shape
        grads = {}
        dlogits = L.cross_entropy_backward(probs, targets)  # (N, V)
        dhf = dlogits @ w[self.head]  # (N, C)
        dhead = dlogits.T @ hf  # (V, C): the head's gradient (tok_emb's share of it when tied)
        has_bias = "ln_f.bias" in w
        dx, grads["ln_f.weight"], db = L.layer_norm_backward(dhf, w["ln_f.weight"], lnf, has_bias)
        if has_bias:
            grads["ln_f.bias"] = db
        for i in reversed(range(len(self.blocks))):
            p, (ln1, attn, ln2, h2, f, tanh_u, g) = self.blocks[i], block_caches[i]
            gb = {}
            # x = x + mlp(ln2(x)): dx passes straight through and also down the MLP branch
            dg, gb["mlp.proj.weight"], gb["mlp.proj.bias"] = L.linear_backward(dx, g, p["mlp.proj.weight"], has_bias)
            df = L.gelu_backward(dg, f, tanh_u)  # (N, 4C)
            dh2, gb["mlp.fc.weight"], gb["mlp.fc.bias"] = L.linear_backward(df, h2, p["mlp.fc.weight"], has_bias)
            dln2, gb["ln2.weight"], gb["ln2.bias"] = L.layer_norm_backward(dh2, p["ln2.weight"], ln2, has_bias)
            dx += dln2
            # x = x + attn(ln1(x))
            dh1, ga = self_attention_backward(dx.reshape(b, t, -1), self.attn[i], attn, self.n_head, L)
            gb.update({f"attn.{k}": v for k, v in ga.items()})
            dln1, gb["ln1.weight"], gb["ln1.bias"] = L.layer_norm_backward(dh1.reshape(b * t, -1), p["ln1.weight"],
                                                                         ln1, has_bias)
            dx += dln1
            grads.update({f"blocks.{i}.{k}": v for k, v in gb.items() if v is not None})
        # x0 = tok_emb[idx] + pos_emb[:T]: the sum passes dx to both tables
        if not self.rope:
            dpos = np.zeros_like(w["pos_emb.weight"])
            dpos[:t] = dx.reshape(b, t, -1).sum(axis=0)
            grads["pos_emb.weight"] = dpos
        dtok = embedding_backward(idx, dx, w["tok_emb.weight"].shape[0])
        if self.head == "lm_head.weight":
            grads["lm_head.weight"] = dhead
        else:
            dtok += dhead
        grads["tok_emb.weight"] = dtok
        return {n: grads[n] for n in w}  # the checkpoint's order

    def loss_and_grads(self, idx: np.ndarray, targets: np.ndarray):
        """One forward and one backward: (loss, grads)."""
        _, loss, cache = self.forward(idx, targets)
        return loss, self.backward(cache)


def _prefixed(p: dict, prefix: str) -> dict:
    """The entries of p under `prefix`, with the prefix removed ("attn.qkv.weight" -> "qkv.weight")."""
    return {k[len(prefix):]: v for k, v in p.items() if k.startswith(prefix)}
