"""Masked multi-head self-attention, forward and backward by hand.

Shapes: B batch, T time steps, C = n_embd, nh heads, hs = C // nh head size.

    qkv = x @ Wqkv.T + bqkv                (B*T, 3C)   one fused matmul for q, k and v
    q, k, v = split into heads             (B, nh, T, hs) each
    scores = q @ k^T / sqrt(hs)            (B, nh, T, T)
    scores[j > i] = -inf                   causal: position i sees only positions <= i
    att = softmax(scores, over keys)       (B, nh, T, T)
    y = att @ v                            (B, nh, T, hs)
    out = merge heads (y) @ Wproj.T + b    (B*T, C)

The only new derivative compared with chapter 1 is the softmax's: for each row a = softmax(s),
ds = a * (da - sum(da * a)). Every other step is a matmul, and the backward of Z = X @ Y is
dX = dZ @ Y^T, dY = X^T @ dZ.

With rotary positions (pos "rope", chapter 6's default) q and k are rotated by their position
before the scores: pair (j, j + hs/2) of the vector at position m turns by the angle m·θ_j,
θ_j = 10000^(-2j/hs). A rotation's backward is the rotation by the opposite angle (its
transpose), so the gradient of the unrotated q is the gradient of the rotated q turned back.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from nn2gpt.numpy_gpt.layers import linear_backward, linear_forward, softmax


def split_heads(x: np.ndarray, n_head: int) -> np.ndarray:
    """(B, T, C) -> (B, nh, T, hs): head h owns channels h*hs:(h+1)*hs."""
    b, t, c = x.shape
    return x.reshape(b, t, n_head, c // n_head).transpose(0, 2, 1, 3)


def merge_heads(x: np.ndarray) -> np.ndarray:
    """(B, nh, T, hs) -> (B, T, C), the inverse of split_heads (copies into a contiguous array)."""
    b, nh, t, hs = x.shape
    return x.transpose(0, 2, 1, 3).reshape(b, t, nh * hs)


def future_mask(t_q: int, t_k: int) -> np.ndarray:
    """Boolean (t_q, t_k), True where query i may NOT look at key j (j in the future).

    With t_q < t_k (a few new queries on top of a KV cache) the queries are the last t_q positions.
    """
    offset = t_k - t_q
    return np.triu(np.ones((t_q, t_k), dtype=bool), k=1 + offset)


@lru_cache(maxsize=16)
def additive_causal_mask(t_q: int, t_k: int, dtype) -> np.ndarray:
    """(t_q, t_k) of 0 where attending is allowed and -inf where it is not. Adding it to the
    scores is much faster than boolean-indexed assignment, and exp(-inf) = 0 all the same."""
    mask = np.where(future_mask(t_q, t_k), -np.inf, 0.0).astype(dtype)
    mask.flags.writeable = False  # shared between calls
    return mask


@lru_cache(maxsize=16)
def rotary_tables(n: int, hs: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin (n, hs/2) of the angles m·θ_j for positions m < n (computed in float64)."""
    theta = 10000.0 ** (-np.arange(0, hs, 2, dtype=np.float64) / hs)  # (hs/2,)
    angle = np.arange(n, dtype=np.float64)[:, None] * theta  # (n, hs/2)
    cos, sin = np.cos(angle).astype(dtype), np.sin(angle).astype(dtype)
    cos.flags.writeable = sin.flags.writeable = False  # shared between calls
    return cos, sin


def rotate(x: np.ndarray, offset: int, inverse: bool = False) -> np.ndarray:
    """Rotate each pair (x[..., j], x[..., j + hs/2]) of x (B, nh, T, hs), whose rows sit at
    positions offset..offset+T-1, by its angle (by minus the angle with inverse: the backward)."""
    t, hs = x.shape[-2:]
    cos, sin = rotary_tables(offset + t, hs, x.dtype)
    cos, sin = cos[offset:], sin[offset:]  # (T, hs/2)
    if inverse:
        sin = -sin
    x1, x2 = x[..., : hs // 2], x[..., hs // 2:]  # (B, nh, T, hs/2) each
    return np.concatenate((x1 * cos - x2 * sin, x1 * sin + x2 * cos), axis=-1)  # (B, nh, T, hs)


def attention_forward(q: np.ndarray, k: np.ndarray, v: np.ndarray):
    """Causal scaled dot-product attention. q (B,nh,Tq,hs), k, v (B,nh,Tk,hs) -> y (B,nh,Tq,hs).

    Returns (y, att) with att (B,nh,Tq,Tk) the attention weights, kept for the backward.
    """
    scale = 1.0 / np.sqrt(q.shape[-1])
    scores = q @ k.swapaxes(-1, -2)  # (B, nh, Tq, Tk)
    scores *= scale
    scores += additive_causal_mask(q.shape[-2], k.shape[-2], scores.dtype)  # future: -inf, exp(-inf) = 0
    att = softmax(scores, axis=-1)  # (B, nh, Tq, Tk)
    y = att @ v  # (B, nh, Tq, hs)
    return y, att


def attention_backward(dy: np.ndarray, q: np.ndarray, k: np.ndarray, v: np.ndarray, att: np.ndarray):
    """Backward of attention_forward. dy (B,nh,T,hs) -> dq, dk, dv (B,nh,T,hs).

      y = att @ v          -> datt = dy @ v^T (B,nh,T,T),  dv = att^T @ dy
      att = softmax(s)     -> ds = att * (datt - sum_j(datt * att))   (row-wise)
                              masked entries have att = 0, so their ds is 0 too
      s = q @ k^T * scale  -> dq = ds @ k * scale,  dk = ds^T @ q * scale
    """
    scale = 1.0 / np.sqrt(q.shape[-1])
    datt = dy @ v.swapaxes(-1, -2)  # (B, nh, T, T)
    dv = att.swapaxes(-1, -2) @ dy  # (B, nh, T, hs)
    row_dot = np.sum(datt * att, axis=-1, keepdims=True)  # (B, nh, T, 1)
    datt -= row_dot
    datt *= att  # now d(scores)
    datt *= scale
    dq = datt @ k  # (B, nh, T, hs)
    dk = datt.swapaxes(-1, -2) @ q  # (B, nh, T, hs)
    return dq, dk, dv


def self_attention_forward(x: np.ndarray, p: dict, n_head: int, kv_cache: dict | None = None,
                           rope: bool = False):
    """Multi-head causal self-attention on x (B, T, C) with weights p (names as in the checkpoint:
    "qkv.weight" (3C, C), "qkv.bias", "proj.weight" (C, C), "proj.bias").

    kv_cache (sampling only): a dict holding "k", "v" (B, nh, T_past, hs) from earlier calls; the
    new keys and values are appended, and x holds only the new positions (which start at
    T_past: with rope, q and k are rotated by those positions, and cached keys keep their angle).
    Returns (out (B, T, C), cache for the backward; None when sampling).
    """
    b, t, c = x.shape
    x2 = x.reshape(b * t, c)  # (N, C)
    qkv = linear_forward(x2, p["qkv.weight"], p.get("qkv.bias"))  # (N, 3C)
    qkv = qkv.reshape(b, t, 3, n_head, c // n_head).transpose(2, 0, 3, 1, 4)  # (3, B, nh, T, hs)
    q, k, v = qkv[0], qkv[1], qkv[2]  # (B, nh, T, hs) each
    if rope:
        past = kv_cache["k"].shape[2] if kv_cache and "k" in kv_cache else 0
        q, k = rotate(q, past), rotate(k, past)  # (B, nh, T, hs): where each row sits
    if kv_cache is not None:
        if "k" in kv_cache:
            k = np.concatenate([kv_cache["k"], k], axis=2)  # (B, nh, T_past + T, hs)
            v = np.concatenate([kv_cache["v"], v], axis=2)
        kv_cache["k"], kv_cache["v"] = k, v
    y, att = attention_forward(q, k, v)  # (B, nh, T, hs)
    y2 = merge_heads(y).reshape(b * t, c)  # (N, C)
    out = linear_forward(y2, p["proj.weight"], p.get("proj.bias")).reshape(b, t, c)
    cache = None if kv_cache is not None else (x2, q, k, v, att, y2, rope)
    return out, cache


def self_attention_backward(dout: np.ndarray, p: dict, cache, n_head: int, layers=None):
    """Backward of self_attention_forward. dout (B, T, C) -> (dx (B, T, C), grads dict).
    `layers` (nn2gpt.numpy_gpt.model.Layers): the linear and attention backward passes to apply,
    this module's own when None."""
    linear_bwd = linear_backward if layers is None else layers.linear_backward
    attention_bwd = attention_backward if layers is None else layers.attention_backward
    x2, q, k, v, att, y2, rope = cache
    b, t, c = dout.shape
    has_bias = "proj.bias" in p
    dy2, dw_proj, db_proj = linear_bwd(dout.reshape(b * t, c), y2, p["proj.weight"], has_bias)
    dy = split_heads(dy2.reshape(b, t, c), n_head)  # (B, nh, T, hs)
    dq, dk, dv = attention_bwd(dy, q, k, v, att)  # w.r.t. the rotated q and k
    if rope:
        dq, dk = rotate(dq, 0, inverse=True), rotate(dk, 0, inverse=True)  # turned back
    dqkv = np.empty((b, t, 3, n_head, c // n_head), dtype=dout.dtype)  # (B, T, 3, nh, hs)
    for i, d in enumerate((dq, dk, dv)):
        dqkv[:, :, i] = d.transpose(0, 2, 1, 3)  # (B, T, nh, hs): undo the head split
    dqkv = dqkv.reshape(b * t, 3 * c)  # (N, 3C), columns [q | k | v] like qkv.weight's rows
    dx2, dw_qkv, db_qkv = linear_bwd(dqkv, x2, p["qkv.weight"], has_bias)
    grads = {"qkv.weight": dw_qkv, "proj.weight": dw_proj}
    if has_bias:
        grads["qkv.bias"], grads["proj.bias"] = db_qkv, db_proj
    return dx2.reshape(b, t, c), grads
