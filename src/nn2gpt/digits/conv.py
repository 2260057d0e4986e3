"""Beyond the book in numpy: a small convolutional network (Nielsen ch.6's architecture, by hand).

    input (N, 28, 28, 1) -> conv 5x5, 20 filters -> max-pool 2x2 -> ReLU   (N, 12, 12, 20)
                         -> conv 5x5, 40 filters -> max-pool 2x2 -> ReLU   (N, 4, 4, 40)
                         -> fully connected 640 -> 100, ReLU -> 10, softmax + log-likelihood

Images are kept channels-last, (N, H, W, C), so that a convolution is one matrix product:
"im2col" copies every k x k x C window of the input into a row,
    cols (N*OH*OW, k*k*C) @ W (k*k*C, F) + b  ->  (N*OH*OW, F) = (N, OH, OW, F)
and the backward pass is two more products (dW = cols.T @ dout, dcols = dout @ W.T) plus
"col2im", which adds each window's gradient back where the window came from.
Max-pooling before the ReLU gives the same result as after (both are monotone) on 4x less data.
Trained by SGD with momentum and L2 weight decay. Rows are examples here (unlike the
column-per-example convention of network.py), because that is what makes im2col cheap.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def im2col(x: np.ndarray, k: int) -> np.ndarray:
    """x (N, H, W, C) -> (N*OH*OW, k*k*C) rows, OH = H-k+1; row order (n, oh, ow), column (kh, kw, c)."""
    n, h, w, c = x.shape
    win = sliding_window_view(x, (k, k), axis=(1, 2))          # (N, OH, OW, C, k, k), a view
    return win.transpose(0, 1, 2, 4, 5, 3).reshape(n * (h - k + 1) * (w - k + 1), k * k * c)  # the copy


def col2im(dcols: np.ndarray, x_shape: tuple, k: int) -> np.ndarray:
    """Inverse bookkeeping of im2col: sum each window's gradient back into (N, H, W, C)."""
    n, h, w, c = x_shape
    oh, ow = h - k + 1, w - k + 1
    d6 = dcols.reshape(n, oh, ow, k, k, c)
    dx = np.zeros(x_shape, dtype=dcols.dtype)
    for i in range(k):
        for j in range(k):
            dx[:, i:i + oh, j:j + ow, :] += d6[:, :, :, i, j, :]
    return dx


def maxpool(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2x2 max-pool of (N, H, W, C) -> (N, H/2, W/2, C), and the mask of the maxima for backward."""
    n, h, w, c = x.shape
    blocks = x.reshape(n, h // 2, 2, w // 2, 2, c)
    out = blocks.max(axis=(2, 4))
    mask = blocks == out[:, :, None, :, None, :]               # ties are measure-zero for real inputs
    return out, mask


def maxpool_backward(dout: np.ndarray, mask: np.ndarray) -> np.ndarray:
    n, h2, _, w2, _, c = mask.shape
    return (mask * dout[:, :, None, :, None, :]).reshape(n, 2 * h2, 2 * w2, c)


class ConvNet:
    """conv(5x5,f1)-pool-ReLU -> conv(5x5,f2)-pool-ReLU -> FC(hidden)-ReLU -> FC(10)-softmax."""

    def __init__(self, f1=20, f2=40, hidden=100, image=28, k=5, seed=0, dtype=np.float32):
        rng = np.random.default_rng(seed)
        s1 = (image - k + 1) // 2                                # 12
        s2 = (s1 - k + 1) // 2                                   # 4
        shapes = {"W1": (k * k * 1, f1), "W2": (k * k * f1, f2), "W3": (s2 * s2 * f2, hidden), "W4": (hidden, 10)}
        self.k, self.image, self.dtype = k, image, np.dtype(dtype)
        self.params = {}
        for i, (name, shape) in enumerate(shapes.items(), start=1):
            # He init: variance 2/fan_in keeps ReLU activations at a steady scale layer to layer
            self.params[name] = (rng.standard_normal(shape) * np.sqrt(2.0 / shape[0])).astype(self.dtype)
            self.params[f"b{i}"] = np.zeros(shape[1], dtype=self.dtype)
        self.velocity = {k_: np.zeros_like(v) for k_, v in self.params.items()}
        self.rng = rng
        self.ceiling = None  # set by the first training step (train_epoch)

    def forward(self, x: np.ndarray, keep: bool = False):
        """x (N, 784) -> logits (N, 10); with keep=True also the cache for backward."""
        p, k = self.params, self.k
        n = len(x)
        a0 = x.reshape(n, self.image, self.image, 1)
        c1 = im2col(a0, k)                                        # (N*24*24, 25)
        z1 = (c1 @ p["W1"] + p["b1"]).reshape(n, self.image - k + 1, self.image - k + 1, -1)  # (N,24,24,f1)
        q1, m1 = maxpool(z1)                                      # (N, 12, 12, f1)
        a1 = np.maximum(q1, 0)
        c2 = im2col(a1, k)                                        # (N*8*8, 25*f1)
        z2 = (c2 @ p["W2"] + p["b2"]).reshape(n, a1.shape[1] - k + 1, a1.shape[2] - k + 1, -1)  # (N,8,8,f2)
        q2, m2 = maxpool(z2)                                      # (N, 4, 4, f2)
        a2 = np.maximum(q2, 0).reshape(n, -1)                     # (N, 640)
        h = np.maximum(a2 @ p["W3"] + p["b3"], 0)                 # (N, hidden)
        logits = h @ p["W4"] + p["b4"]                            # (N, 10)
        return (logits, (c1, m1, q1, a1, c2, m2, q2, a2, h)) if keep else logits

    def loss_and_grads(self, x: np.ndarray, labels: np.ndarray, lmbda: float = 0.0):
        """Mean log-likelihood of the softmax over the batch (+ lmbda/2 sum W^2) and its gradients."""
        p, k = self.params, self.k
        logits, (c1, m1, q1, a1, c2, m2, q2, a2, h) = self.forward(x, keep=True)
        n = len(x)
        z = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(z)
        probs /= probs.sum(axis=1, keepdims=True)
        loss = -np.mean(np.log(probs[np.arange(n), labels] + 1e-30))
        g = {}
        d = probs
        d[np.arange(n), labels] -= 1.0                           # softmax + log-likelihood: a - y
        d /= n                                                    # (N, 10)
        g["W4"], g["b4"] = h.T @ d, d.sum(0)
        d = (d @ p["W4"].T) * (h > 0)                             # (N, hidden)
        g["W3"], g["b3"] = a2.T @ d, d.sum(0)
        d = ((d @ p["W3"].T).reshape(q2.shape) * (q2 > 0))        # (N, 4, 4, f2) through the ReLU
        d = maxpool_backward(d, m2)                               # (N, 8, 8, f2)
        d = d.reshape(-1, d.shape[-1])                            # (N*64, f2)
        g["W2"], g["b2"] = c2.T @ d, d.sum(0)
        d = col2im(d @ p["W2"].T, a1.shape, k) * (q1 > 0)         # (N, 12, 12, f1)
        d = maxpool_backward(d, m1).reshape(-1, p["W1"].shape[1])  # (N*576, f1)
        g["W1"], g["b1"] = c1.T @ d, d.sum(0)
        if lmbda:
            for name in ("W1", "W2", "W3", "W4"):
                loss += 0.5 * lmbda * float(np.sum(p[name].astype(np.float64) ** 2))
                g[name] = g[name] + lmbda * p[name]
        return float(loss), g

    def step(self, x, labels, eta: float, momentum: float = 0.9, lmbda: float = 0.0) -> float:
        """v <- momentum v - eta grad;  param <- param + v  (momentum SGD, Nielsen ch.3)."""
        loss, grads = self.loss_and_grads(x, labels, lmbda)
        for name, grad in grads.items():
            v = self.velocity[name]
            v *= momentum
            v -= eta * grad.astype(self.dtype, copy=False)
            self.params[name] += v
        return loss

    def accuracy(self, images: np.ndarray, labels: np.ndarray, chunk: int = 1000) -> float:
        hits = 0
        for i in range(0, len(images), chunk):
            logits = self.forward(images[i:i + chunk].astype(self.dtype))   # (chunk, 10)
            hits += int(np.sum(np.argmax(logits, axis=1) == labels[i:i + chunk]))
        return hits / len(images)

    def train_epoch(self, images, labels, batch: int, eta: float, momentum=0.9, lmbda=0.0, progress=None) -> float:
        """One shuffled pass of momentum SGD; the mean loss. A loss past the ceiling (twice ln 10, or
        twice the first loss this network trained at, whichever is higher: nn2gpt.loop.Ceiling)
        raises nn2gpt.loop.Diverged: the run has broken, and its weights should not be kept."""
        from nn2gpt.loop import Ceiling, Diverged, diverged_message

        order = self.rng.permutation(len(images))
        losses = []
        starts = range(0, len(images), batch)
        for s in (progress(starts) if progress else starts):
            idx = order[s:s + batch]
            losses.append(self.step(images[idx].astype(self.dtype, copy=False), labels[idx], eta, momentum, lmbda))
            if self.ceiling is None:  # the first step: the loss this network starts at
                self.ceiling = Ceiling(max(math.log(10), losses[-1]), "ln 10 or the first loss, the higher")
            problem = self.ceiling.problem(losses[-1], f"the training loss at mini-batch {len(losses)}")
            if problem:
                raise Diverged(diverged_message(problem, None, advice=f"lower eta (it was {eta:g})"))
        return float(np.mean(losses))
