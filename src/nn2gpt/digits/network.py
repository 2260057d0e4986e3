"""Nielsen's digit network ("Neural Networks and Deep Learning", ch. 1-3), from scratch in numpy.

Notation, used by every docstring and comment in this chapter. Layers are numbered l = 0 (the
input) to L = num_layers - 1 (the output); sizes = [n_0, ..., n_L], e.g. [784, 30, 10].
    w^l  (n_l, n_{l-1})   weights into layer l (l = 1..L); w^l_jk joins neuron k of layer l-1
                          to neuron j of layer l.  Stored in self.weights[l-1]
    b^l  (n_l, 1)         biases of layer l.  Stored in self.biases[l-1]
    z^l = w^l a^{l-1} + b^l,   a^l = sigma(z^l),   a^0 = x            (n_l, m)
m examples travel together as the m columns of one matrix (m = 1: the book's single column x).
(The book counts the input as layer 1, so its w^2 is our w^1; traces and saved files name
w^l and b^l "wl" and "bl", e.g. w1, b1.) For the cost C of the m columns, backpropagation is:
    BP1  delta^L = grad_a C (*) sigma'(z^L)                  output error, (n_L, m)
    BP2  delta^l = ((w^{l+1})^T delta^{l+1}) (*) sigma'(z^l)  error moved one layer down
    BP3  dC/db^l = delta^l                   summed over the m columns -> (n_l, 1)
    BP4  dC/dw^l = delta^l (a^{l-1})^T       a sum of m outer products -> (n_l, n_{l-1})
((*) is the elementwise product.) Gradient descent then steps every w and b against the
gradient averaged over a mini-batch.

What `nn2gpt digits train` runs, top to bottom: `SGD` shuffles the training examples and cuts
them into mini-batches; `update_mini_batch` stacks a mini-batch's m examples as the columns of
one (784, m) matrix (the book's chapter-2 exercise) and steps down the gradient that `backprop`
returns; `backprop` is BP1-BP4 above, written once for any number of columns. These methods
keep the book's names and signatures, so the book's code and this one read side by side.

`SGD(..., fast=True)` (`digits train --fast`) trains with `fast_epoch.train_epoch` instead: the
same steps in fewer numpy calls (the bias folded into the weights, reused buffers); a test
checks that both give the same weights on the same seed.
"""

from __future__ import annotations

import copy
import time
from typing import Callable, Iterable

import numpy as np

from nn2gpt.digits import costs, fast_epoch
from nn2gpt.digits.data import one_hot, to_matrices

INITS = ("large", "scaled")


class Network:
    """A fully connected sigmoid network trained by mini-batch stochastic gradient descent.

    sizes:  neurons per layer, [n_0, ..., n_L], e.g. [784, 30, 10]
    cost:   "quadratic" (ch.1), "cross-entropy" or "log-likelihood" (ch.3)
    init:   "large": w, b ~ N(0, 1) (ch.1);  "scaled": w ~ N(0, 1/n_{l-1}), b ~ N(0, 1) (ch.3),
            which keeps z = w a + b ~ N(0, ~1) so the hidden neurons start unsaturated
    output: "sigmoid" or "softmax" (ch.3; pairs with the log-likelihood cost) for layer L
    seed:   every random number (init, shuffling) comes from np.random.default_rng(seed)
    dtype:  float64 for checking, float32 for speed (accuracy is the same)
    The book's attributes: num_layers, sizes, biases [b^1..b^L], weights [w^1..w^L].
    """

    def __init__(self, sizes: Iterable[int], cost: str = "quadratic", init: str = "large",
                 output: str = "sigmoid", seed: int | None = None, dtype=np.float64):
        self.sizes = [int(n) for n in sizes]
        if len(self.sizes) < 2 or min(self.sizes) < 1:
            raise ValueError(f"sizes must list at least 2 positive layer sizes, got {self.sizes}")
        if cost not in costs.COSTS or output not in costs.OUTPUTS or init not in INITS:
            raise ValueError(f"cost in {costs.COSTS}, output in {costs.OUTPUTS}, init in {INITS}")
        self.num_layers = len(self.sizes)
        self.cost, self.init, self.output = cost, init, output
        self.dtype = np.dtype(dtype)
        self.rng = np.random.default_rng(seed)
        self.biases = [self.rng.standard_normal((n, 1)).astype(self.dtype) for n in self.sizes[1:]]
        scale = (lambda n_in: 1.0 / np.sqrt(n_in)) if init == "scaled" else (lambda n_in: 1.0)
        self.weights = [(self.rng.standard_normal((n_out, n_in)) * scale(n_in)).astype(self.dtype)
                        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:])]

    # ---- forward ----------------------------------------------------------------------------
    def feedforward(self, a: np.ndarray) -> np.ndarray:
        """a^0 (784, m) -> a^L (10, m), the output activations; m = 1 for the book's column x."""
        return self.activations(a)[-1]

    def activations(self, x: np.ndarray) -> list[np.ndarray]:
        """x = a^0 (n_0, m) -> [a^0, a^1, ..., a^L]: every layer's activations, a^l (n_l, m)."""
        acts = [x]
        for l in range(1, self.num_layers):
            z = self.weights[l - 1] @ acts[l - 1] + self.biases[l - 1]  # z^l (n_l, m); b^l joins every column
            acts.append(self.sigma(l, z))
        return acts

    def sigma(self, l: int, z: np.ndarray) -> np.ndarray:
        """Layer l's activation function: the sigmoid, or at l = L the chosen output (softmax)."""
        return costs.activate(self.output, z) if l == self.num_layers - 1 else costs.sigmoid(z)

    def cost_derivative(self, output_activations: np.ndarray, y: np.ndarray) -> np.ndarray:
        """grad_a C for m columns; (10, m). For the quadratic cost, a^L - y."""
        return costs.derivative(self.cost, output_activations, y)

    def output_error(self, output_activations: np.ndarray, y: np.ndarray) -> np.ndarray:
        """BP1, delta^L = dC/dz^L for m columns; (10, m): network2.py's `cost.delta(z, a, y)`."""
        return costs.output_delta(self.cost, self.output, output_activations, y)

    # ---- backward ---------------------------------------------------------------------------
    def backprop(self, x: np.ndarray, y: np.ndarray, *,
                 trace: Callable[[str, np.ndarray], None] | None = None) -> tuple[list, list]:
        """The gradient of C, the cost summed over the columns of x, by BP1-BP4.

        x (784, m) inputs, y (10, m) one-hot targets: the book's one example is m = 1, x (784, 1);
        `update_mini_batch` passes a whole mini-batch as m columns, and BP4's delta @ a.T then
        adds up the m outer products inside one matrix product.
        Returns (nabla_b, nabla_w), shaped like self.biases and self.weights:
        nabla_b[l-1] = dC/db^l (n_l, 1), nabla_w[l-1] = dC/dw^l (n_l, n_{l-1}).
        `trace(name, array)`, if given, is called with every array on the way (`digits train --trace`).
        """
        a = self.activations(x)                             # a[l] = a^l (n_l, m)
        L = self.num_layers - 1
        if trace:
            _trace_forward(self, a, y, trace)
        nabla_b = [None] * L
        nabla_w = [None] * L
        delta = self.output_error(a[L], y)                                      # BP1: delta^L (n_L, m)
        for l in range(L, 0, -1):
            if l < L:                                       # BP2; sigma'(z^l) = a^l (1 - a^l)
                delta = (self.weights[l].T @ delta) * (a[l] * (1 - a[l]))       # (n_l, m); weights[l] is w^{l+1}
            nabla_b[l - 1] = delta.sum(axis=1, keepdims=True)                   # BP3: sum over columns (n_l, 1)
            nabla_w[l - 1] = delta @ a[l - 1].T                                 # BP4 (n_l, n_{l-1})
            if trace:
                _trace_backward(self, l, delta, nabla_b[l - 1], nabla_w[l - 1], trace)
        return nabla_b, nabla_w

    # ---- one step of gradient descent -------------------------------------------------------
    def update_mini_batch(self, mini_batch, eta: float, lmbda: float = 0.0, n: int | None = None) -> None:
        """One gradient-descent step on a mini-batch: the book's list of m (x (784, 1), y (10, 1)) tuples.

        The m examples become the columns of one matrix, so one `backprop` call computes the
        gradient summed over all of them. With L2 regularization (ch.3, lmbda > 0) the cost gains
        lmbda/(2n) sum w^2 over a training set of n examples, and the step becomes
            w -> (1 - eta lmbda / n) w - (eta / m) sum_x nabla_w C_x      ("weight decay")
            b -> b - (eta / m) sum_x nabla_b C_x                          (biases not decayed)
        """
        # The m examples as rows (m, 784), then .T: the (784, m) matrix whose column i is example i.
        # (np.hstack of the columns gives the same matrix; this memory layout multiplies faster.)
        x = np.vstack([x.T for x, y in mini_batch]).T      # (784, m)
        y = np.vstack([y.T for x, y in mini_batch]).T      # (10, m)
        m = x.shape[1]
        nabla_b, nabla_w = self.backprop(x, y)
        for w, b, nw, nb in zip(self.weights, self.biases, nabla_w, nabla_b):
            if lmbda:
                w *= 1 - eta * lmbda / (n or m)             # in place: no new (n_l, n_{l-1}) array
            w -= (eta / m) * nw
            b -= (eta / m) * nb

    # ---- the training loop ------------------------------------------------------------------
    def SGD(self, training_data, epochs: int, mini_batch_size: int, eta: float, test_data=None, *,
            lmbda: float = 0.0, evaluation_data=None, monitor: bool = False, early_stop: int | None = None,
            halve: int | None = None, fast: bool = False, progress=None, on_epoch=None) -> dict:
        """Train for `epochs` passes over training_data, in shuffled mini-batches.

        training_data: the book's list of (x, y) tuples, a `Split`, or (X (n, 784), labels (n,)).
        test_data:     scored after every epoch (accuracy only, as in the book).
        evaluation_data: validation data, scored (cost and accuracy) after every epoch and used
                       for early stopping: stop after `early_stop` epochs without a better validation
                       accuracy, and keep the best weights; `halve`: after that many epochs without
                       improvement halve eta, and stop once eta is 1/128 of its start (ch.3).
        monitor:       also score the training data after every epoch (a forward pass over all n).
        fast:          train each epoch with `fast_epoch.train_epoch` (the same steps, fewer numpy calls)
                       instead of `update_mini_batch`.
        progress(iterable, epoch) may wrap the mini-batch loop (a progress bar); on_epoch(history)
        is called after each epoch (default: print the book's "Epoch j: k / n").
        Returns the history: per-epoch lists of eta, seconds and the monitored numbers.
        """
        X, labels = to_matrices(training_data, self.sizes[0], self.sizes[-1], self.dtype)
        Y = one_hot(labels, self.sizes[-1], self.dtype)     # (n, 10)
        test = None if test_data is None else to_matrices(test_data, self.sizes[0], self.sizes[-1], self.dtype)
        val = None if evaluation_data is None else to_matrices(evaluation_data, self.sizes[0], self.sizes[-1],
                                                                self.dtype)
        if (early_stop or halve) and val is None:
            raise ValueError("early stopping and eta halving watch evaluation_data; pass it")
        n = len(X)
        examples = list(zip(X[:, :, None], Y[:, :, None]))  # the book's (x (784, 1), y (10, 1)) tuples, views
        history: dict[str, list] = {k: [] for k in ("epoch", "eta", "seconds", "training_cost", "training_accuracy",
                                                     "evaluation_cost", "evaluation_accuracy", "test_accuracy")}
        best, best_weights, since_best, since_halved, eta0 = -1, None, 0, 0, eta
        for epoch in range(epochs):
            start = time.perf_counter()
            order = self.rng.permutation(n)
            wrap = (lambda it: progress(it, epoch)) if progress else None
            if fast:
                fast_epoch.train_epoch(self, X, Y, order, mini_batch_size, eta, lmbda, n, wrap)
            else:
                shuffled = [examples[i] for i in order.tolist()]
                mini_batches = [shuffled[k:k + mini_batch_size] for k in range(0, n, mini_batch_size)]
                for mini_batch in (wrap(mini_batches) if wrap else mini_batches):
                    self.update_mini_batch(mini_batch, eta, lmbda, n)
            history["epoch"].append(epoch + 1)
            history["eta"].append(eta)
            history["seconds"].append(time.perf_counter() - start)
            if monitor:
                history["training_cost"].append(self.total_cost((X, labels), lmbda, n))
                history["training_accuracy"].append(self.accuracy((X, labels)) / n)
            if val is not None:
                acc = self.accuracy(val) / len(val[1])
                history["evaluation_accuracy"].append(acc)
                history["evaluation_cost"].append(self.total_cost(val, lmbda, n))
            if test is not None:
                history["test_accuracy"].append(self.accuracy(test) / len(test[1]))
            if on_epoch:
                on_epoch(history)
            elif test is not None:
                print(f"Epoch {epoch}: {round(history['test_accuracy'][-1] * len(test[1]))} / {len(test[1])}")
            if val is None:
                continue
            if acc > best:
                best, since_best, since_halved = acc, 0, 0
                best_weights = copy.deepcopy((self.weights, self.biases))
            else:
                since_best += 1
                since_halved += 1
            if halve and since_halved >= halve:
                eta, since_halved = eta / 2, 0
                if eta < eta0 / 128 * (1 + 1e-9):
                    break
            if early_stop and since_best >= early_stop:
                break
        if early_stop and best_weights is not None:
            self.weights, self.biases = best_weights
        return history

    # ---- scoring ----------------------------------------------------------------------------
    def predict(self, X: np.ndarray, chunk: int = 10_000) -> np.ndarray:
        """X (n, 784) rows -> output activations (n, 10), computed chunk by chunk."""
        X = np.asarray(X, dtype=self.dtype)
        return np.concatenate([self.feedforward(X[i:i + chunk].T).T for i in range(0, max(len(X), 1), chunk)])

    def accuracy(self, data) -> int:
        """Number of examples whose most active output neuron is the right digit."""
        X, labels = to_matrices(data, self.sizes[0], self.sizes[-1], self.dtype)
        return int(np.sum(np.argmax(self.predict(X), axis=1) == labels))

    evaluate = accuracy  # the book's name: "number of test inputs ... correct"

    def total_cost(self, data, lmbda: float = 0.0, n: int | None = None) -> float:
        """Mean cost over data plus the L2 term lmbda/(2n) sum w^2 (n: training set size)."""
        X, labels = to_matrices(data, self.sizes[0], self.sizes[-1], self.dtype)
        A = self.predict(X)                                  # (n_data, 10)
        c = costs.cost_value(self.cost, A.T, one_hot(labels, self.sizes[-1], A.dtype).T) / len(X)
        return c + 0.5 * lmbda / (n or len(X)) * sum(float(np.sum(w.astype(np.float64) ** 2)) for w in self.weights)


def _trace_forward(net: Network, a: list, y: np.ndarray, trace: Callable[[str, np.ndarray], None]) -> None:
    """The forward pass's arrays, named as the module docstring names them."""
    trace("x = a0", a[0])
    trace("y (one-hot columns)", y)
    for l in range(1, net.num_layers):
        trace(f"z{l} = w{l} @ a{l - 1} + b{l}", a[l])       # z^l has a^l's shape
        trace(f"a{l} = {net.output if l == net.num_layers - 1 else 'sigmoid'}(z{l})", a[l])


def _trace_backward(net: Network, l: int, delta, nabla_b, nabla_w, trace: Callable[[str, np.ndarray], None]) -> None:
    """Layer l's arrays in the backward pass: delta^l (BP1 or BP2), then BP3 and BP4."""
    L = net.num_layers - 1
    formula = costs.bp1_formula(net.cost, net.output, f"a{l}") if l == L else f"(w{l + 1}.T @ delta{l + 1}) * a{l}(1-a{l})"
    trace(f"delta{l} = {formula}", delta)
    trace(f"nabla_b{l} = delta{l}.sum(axis=1)", nabla_b)
    trace(f"nabla_w{l} = delta{l} @ a{l - 1}.T", nabla_w)
