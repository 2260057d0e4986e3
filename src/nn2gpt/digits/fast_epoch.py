"""The fast path: one epoch of mini-batch SGD, the same steps as `Network.update_mini_batch`.

`nn2gpt digits train --fast` (or `Network.SGD(..., fast=True)`) trains with this loop instead
of the readable `update_mini_batch` + `backprop`; read those first (notation in network.py).

With the book's sizes a mini-batch step is small: two (30, 784)-sized matrix products and a
few dozen tiny arrays. At m = 10 each numpy call costs about as much as its arithmetic, so
the time goes into *how many* calls a step makes. This loop makes fewer, by three ideas:

1. The bias is a weight on an input that is always 1. Append a row of ones to every layer's
   input, a^{l-1} (n_{l-1} + 1, m), and a column b^l to w^l, giving W^l (n_l, n_{l-1} + 1):
       z^l = w^l a^{l-1} + b^l  =  W^l [a^{l-1}; 1]
   BP3 and BP4 then become one product: dC/dW^l = delta^l [a^{l-1}; 1]^T, whose last column
   is sum_columns delta^l = dC/db^l. One product and one subtraction replace the bias add, the
   bias sum and the bias update of every layer.
2. Activations are written into buffers allocated once per epoch, not into new arrays, and
   products are `np.dot` (the book's spelling), which reaches BLAS with less overhead than `@`.
3. Training examples are gathered in chunks of ~1,000 shuffled rows (one `np.take`), so each
   mini-batch is a slice - a view - instead of a fancy-indexed copy; a helper thread gathers
   the next chunk while this one trains.

L2 weight decay scales the w part of W^l only (biases are not decayed, as in the book).
A test checks that this loop and the readable one give the same weights on the same seed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from nn2gpt.digits import costs

CHUNK = 1000  # examples gathered at a time; rounded to a multiple of the mini-batch size


def train_epoch(net, X: np.ndarray, Y: np.ndarray, order: np.ndarray, mini_batch_size: int, eta: float,
                lmbda: float = 0.0, n: int | None = None, progress=None) -> None:
    """Update net.weights and net.biases in place over one shuffled pass.

    X (n, n_in) and Y (n, n_out): one example per row; order: the shuffled row indices;
    progress(iterable) may wrap the loop over mini-batch starts (a progress bar).
    """
    dtype, m_full = net.dtype, mini_batch_size
    n = n or len(X)
    decay = 1.0 - eta * lmbda / n if lmbda else 1.0
    # Ws[l-1] = W^l = [w^l | b^l]  (n_l, n_{l-1} + 1), copied back into net.weights/biases at the end.
    Ws = [np.hstack([w, b]).astype(dtype) for w, b in zip(net.weights, net.biases)]
    chunk = m_full * max(1, CHUNK // m_full)
    # Two chunk buffers: a helper thread gathers the next chunk (np.take releases the GIL, and
    # the machine has a second core) while this one trains on the current chunk.
    buffers = [(np.ones((chunk, X.shape[1] + 1), dtype), np.empty((chunk, Y.shape[1]), dtype)) for _ in range(2)]

    def gather(start: int, buffer) -> None:
        rows = order[start:start + chunk]
        np.take(X, rows, axis=0, out=buffer[0][:len(rows), :-1], mode="clip")  # the ones column stays
        np.take(Y, rows, axis=0, out=buffer[1][:len(rows)], mode="clip")  # clip: no bounds buffer

    helper = ThreadPoolExecutor(max_workers=1)
    pending = helper.submit(gather, 0, buffers[0])
    # Hidden activations with their ones row, one buffer per mini-batch width (the last may be short).
    hidden: dict[int, list] = {}
    L = len(Ws)
    try:
        starts = range(0, len(order), m_full)
        for k in (progress(starts) if progress else starts):
            j = k % chunk
            if j == 0:                                      # this chunk is gathered; start the next
                pending.result()
                xs, ys = buffers[(k // chunk) % 2]
                if k + chunk < len(order):
                    pending = helper.submit(gather, k + chunk, buffers[(k // chunk + 1) % 2])
            m = min(m_full, len(order) - k)
            if m not in hidden:
                hidden[m] = [np.ones((W.shape[0] + 1, m), dtype) for W in Ws[:-1]]
            acts = [xs[j:j + m].T]                          # acts[l] = [a^l; 1]; [a^0; 1] (n_0 + 1, m), a view
            for l in range(1, L + 1):                       # forward
                z = np.dot(Ws[l - 1], acts[l - 1])          # z^l = W^l [a^{l-1}; 1]  (n_l, m)
                if l == L:
                    a = costs.activate(net.output, z)       # a^L (n_L, m)
                else:
                    a = hidden[m][l - 1]
                    costs.sigmoid(z, out=a[:-1])            # a^l into rows 0..n_l-1; row n_l stays 1
                acts.append(a)
            delta = costs.output_delta(net.cost, net.output, acts[L], ys[j:j + m].T)    # BP1 delta^L (n_L, m)
            delta *= eta / m                                # the step's scale, on the smallest array
            for l in range(L, 0, -1):                       # backward, updating W^l as we go
                if l > 1:                                   # BP2: delta^{l-1}, through w^l before its update
                    s = acts[l - 1][:-1]                    # a^{l-1} = sigma(z^{l-1}) (n_{l-1}, m)
                    below = np.dot(Ws[l - 1][:, :-1].T, delta)   # (n_{l-1}, m)
                    below *= s * (1.0 - s)
                if decay != 1.0:
                    Ws[l - 1][:, :-1] *= decay
                Ws[l - 1] -= np.dot(delta, acts[l - 1].T)   # BP3 + BP4: delta^l [a^{l-1}; 1]^T (n_l, n_{l-1} + 1)
                if l > 1:
                    delta = below
    finally:  # also on Ctrl-C: the steps taken reach net (the last one may be cut short), the helper stops
        helper.shutdown()
        for w, b, W in zip(net.weights, net.biases, Ws):
            w[...] = W[:, :-1]
            b[...] = W[:, -1:]
