"""The layers of a GPT, each as a forward and a hand-written backward, in numpy alone.

Every layer is a pair of plain functions:

    out, cache = <layer>_forward(inputs..., params...)
    d_inputs..., d_params... = <layer>_backward(d_out, cache, ...)

`cache` holds exactly what the backward pass needs and nothing more. The backward of a
layer takes dL/d(out), the gradient of the loss with respect to the layer's output, and
returns dL/d(input) and dL/d(each parameter) by the chain rule. That is all backpropagation
is, here as in chapter 1's digit network.

Shapes: N = B*T rows (the batch and the time steps flattened together, because every layer
here except attention treats each position independently), C = n_embd, V = vocab size.
All functions keep the dtype of their inputs (float32 for training, float64 for the
gradient checks).
"""

from __future__ import annotations

import numpy as np

LAYER_NORM_EPS = 1e-5
GELU_SQRT_2_OVER_PI = np.sqrt(2.0 / np.pi)
GELU_CUBIC = 0.044715


# ----------------------------------------------------------------------------- linear
def linear_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """y = x @ W.T + b, with W stored (out, in) like torch's nn.Linear.

    x (N, in), W (out, in), b (out,) -> y (N, out). The cache is simply x (the caller keeps it).
    """
    y = x @ w.T  # (N, out)
    if b is not None:
        y += b
    return y


def linear_backward(dy: np.ndarray, x: np.ndarray, w: np.ndarray, has_bias: bool = True):
    """Backward of y = x @ W.T + b.

    y_nj = sum_i x_ni W_ji + b_j, so
      dL/dx_ni = sum_j dy_nj W_ji      -> dx = dy @ W        (N, in)
      dL/dW_ji = sum_n dy_nj x_ni      -> dW = dy.T @ x      (out, in)
      dL/db_j  = sum_n dy_nj           -> db = dy.sum(0)     (out,)
    """
    dx = dy @ w  # (N, in)
    dw = dy.T @ x  # (out, in)
    db = dy.sum(axis=0) if has_bias else None  # (out,)
    return dx, dw, db


# ------------------------------------------------------------------------- layer norm
def layer_norm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray | None, eps: float = LAYER_NORM_EPS):
    """Normalise each row to mean 0, variance 1, then scale and shift.

    x (N, C): mu = mean(x), var = mean((x-mu)^2) (biased, like torch), rstd = 1/sqrt(var+eps),
    xhat = (x - mu) * rstd, y = xhat * gamma + beta. Cache: xhat (N, C) and rstd (N, 1).
    """
    xhat = x - x.mean(axis=-1, keepdims=True)  # (N, C) centred
    var = np.mean(xhat * xhat, axis=-1, keepdims=True)  # (N, 1)
    rstd = 1.0 / np.sqrt(var + eps)  # (N, 1)
    xhat *= rstd  # (N, C) normalised
    y = xhat * gamma
    if beta is not None:
        y += beta
    return y, (xhat, rstd)


def layer_norm_backward(dy: np.ndarray, gamma: np.ndarray, cache, has_bias: bool = True):
    """Backward of layer norm.

    dgamma = sum_n dy * xhat, dbeta = sum_n dy. With g = dy * gamma (dL/dxhat), and since
    xhat depends on x through mu and rstd as well as directly, the three paths add up to
      dx = rstd * (g - mean(g) - xhat * mean(g * xhat))        (means over C, per row).
    """
    xhat, rstd = cache
    dgamma = np.sum(dy * xhat, axis=0)  # (C,)
    dbeta = dy.sum(axis=0) if has_bias else None  # (C,)
    g = dy * gamma  # (N, C)
    dx = g - g.mean(axis=-1, keepdims=True)
    dx -= xhat * np.mean(g * xhat, axis=-1, keepdims=True)
    dx *= rstd
    return dx, dgamma, dbeta


# ------------------------------------------------------------------------------- GELU
def gelu_forward(x: np.ndarray):
    """GELU, tanh approximation (GPT-2's, and torch's approximate="tanh").

    u = sqrt(2/pi) * (x + 0.044715 x^3), t = tanh(u), y = 0.5 x (1 + t). Cache: t (N, 4C).
    """
    u = x * x
    u *= GELU_CUBIC
    u += 1.0
    u *= x
    u *= GELU_SQRT_2_OVER_PI
    t = np.tanh(u, out=u)  # reuse the buffer: u is not needed again
    y = 1.0 + t
    y *= x
    y *= 0.5
    return y, t


def gelu_backward(dy: np.ndarray, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """dy/dx of y = 0.5 x (1 + tanh(u)) by the product and chain rules:

      dy/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) * du/dx,   du/dx = sqrt(2/pi) (1 + 3*0.044715 x^2).
    """
    du = x * x
    du *= 3.0 * GELU_CUBIC
    du += 1.0
    du *= GELU_SQRT_2_OVER_PI  # du/dx
    sech2 = 1.0 - t * t  # tanh' = 1 - tanh^2
    du *= sech2
    du *= x
    du += 1.0 + t
    du *= 0.5  # dy/dx
    du *= dy
    return du


# -------------------------------------------------------------------------- embedding
def embedding_forward(idx: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Look up rows: idx (...) of ints -> table[idx] (..., C). A gather."""
    return table[idx]


def embedding_backward(idx: np.ndarray, dout: np.ndarray, num_rows: int) -> np.ndarray:
    """Backward of a gather is a scatter-add: row r of dTable is the sum of dout over every
    position that looked up row r (a token used 5 times in the batch gets 5 gradients).

    idx (N,), dout (N, C) -> dTable (num_rows, C). Done by sorting the ids and summing runs
    (np.add.reduceat), several times faster than np.add.at.
    """
    idx = idx.reshape(-1)
    dout = dout.reshape(idx.size, -1)
    dtable = np.zeros((num_rows, dout.shape[1]), dtype=dout.dtype)
    order = np.argsort(idx, kind="stable")
    sorted_ids = idx[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])  # first of each run
    dtable[sorted_ids[starts]] = np.add.reduceat(dout[order], starts, axis=0)
    return dtable


# ---------------------------------------------------------------------- cross-entropy
def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(x - max) / sum(exp(x - max)); subtracting the max changes nothing but avoids overflow."""
    e = x - x.max(axis=axis, keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=axis, keepdims=True)
    return e


def cross_entropy_forward(logits: np.ndarray, targets: np.ndarray):
    """Mean over N rows of -log softmax(logits)[target].

    logits (N, V), targets (N,) ints -> (loss scalar, probs (N, V)). log-softmax is computed as
    z - max - log(sum(exp(z - max))) so that no exp overflows and no log sees 0.
    """
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)  # (N, V)
    probs = np.exp(shifted)
    sums = probs.sum(axis=1, keepdims=True)  # (N, 1)
    log_p_target = shifted[np.arange(n), targets] - np.log(sums[:, 0])  # (N,)
    probs /= sums
    return float(-log_p_target.mean()), probs


def cross_entropy_backward(probs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """d(mean CE)/dlogits = (softmax - onehot(target)) / N. (Overwrites and returns probs.)"""
    n = probs.shape[0]
    probs[np.arange(n), targets] -= 1.0
    probs /= n
    return probs
