"""Nielsen's digit network ("Neural Networks and Deep Learning", ch. 1-3), from scratch in numpy.

Notation (the book's). Layer l = 0 is the input, l = L-1 the output; sizes = [784, 30, 10].
    w^l  (n_l, n_{l-1})   weights into layer l; w^l_jk connects neuron k below to neuron j
    b^l  (n_l, 1)         biases of layer l
    z^l = w^l a^{l-1} + b^l,   a^l = sigma(z^l)          (n_l, m): one column per example
The four equations of backpropagation, for the cost C of the m examples in the columns:
    BP1  delta^L = grad_a C (*) sigma'(z^L)                  output error, (n_L, m)
    BP2  delta^l = ((w^{l+1})^T delta^{l+1}) (*) sigma'(z^l)  error moved one layer down
    BP3  dC/db^l = delta^l                   summed over the m columns -> (n_l, 1)
    BP4  dC/dw^l = delta^l (a^{l-1})^T       a sum of m outer products -> (n_l, n_{l-1})
((*) is the elementwise product.) Gradient descent then steps every w and b against the
gradient averaged over a mini-batch.

Two paths compute the same numbers: `backprop(x, y)` is the book's, one (784, 1) column at
a time, summed in a Python loop; `backprop_batch(X, Y)` feeds the whole mini-batch as one
(784, m) matrix, so BP4's sum of outer products becomes one matrix product. `SGD` trains with
a leaner loop over the same matrix maths (`fast_epoch.py`: the bias as a weight on a constant
input of 1, reused buffers); `update_mini_batch` and `backprop_batch` are the readable reference.

In code, lists are indexed from 0: weights[0] is w^1 (the book's w^2 - it counts the input
as layer 1). Traces name them w1, w2, ... as the layers above the input.
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

    sizes:  neurons per layer, e.g. [784, 30, 10]
    cost:   "quadratic" (ch.1), "cross-entropy" or "log-likelihood" (ch.3)
    init:   "large": w, b ~ N(0, 1) (ch.1);  "scaled": w ~ N(0, 1/n_in), b ~ N(0, 1) (ch.3),
            which keeps z = w.a + b ~ N(0, ~1) so the hidden neurons start unsaturated
    output: "sigmoid" or "softmax" (ch.3; pairs with the log-likelihood cost)
    seed:   every random number (init, shuffling) comes from np.random.default_rng(seed)
    dtype:  float64 for checking, float32 for speed (accuracy is the same)
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
        """a (784, m) -> output activations (10, m); m = 1 for the book's single column."""
        return self.activations(a)[-1]

    def activations(self, a: np.ndarray) -> list[np.ndarray]:
        """a (784, m) -> [a_2, ..., a_L]: every layer's activations, the hidden ones and the output."""
        layers = []
        for l, (b, w) in enumerate(zip(self.biases, self.weights)):
            z = w @ a + b                                   # (n_l, m); b broadcasts over columns
            a = costs.activate(self.output, z) if l == self.num_layers - 2 else costs.sigmoid(z)
            layers.append(a)
        return layers

    def cost_derivative(self, output_activations: np.ndarray, y: np.ndarray) -> np.ndarray:
        """grad_a C for one example or m columns; (10, m). For the quadratic cost, a - y."""
        return costs.derivative(self.cost, output_activations, y)

    # ---- backward: the book's path, one example at a time -----------------------------------
    def backprop(self, x: np.ndarray, y: np.ndarray) -> tuple[list, list]:
        """Gradient of the cost C_x of ONE example: x (784, 1), y (10, 1) one-hot.

        Returns (nabla_b, nabla_w), lists shaped like self.biases and self.weights.
        """
        activations, zs = [x], []                          # a^0 = x (784, 1)
        a = x
        for l, (b, w) in enumerate(zip(self.biases, self.weights)):
            z = w @ a + b                                   # z^l (n_l, 1)
            a = costs.activate(self.output, z) if l == self.num_layers - 2 else costs.sigmoid(z)
            zs.append(z)
            activations.append(a)
        nabla_b = [None] * len(self.biases)
        nabla_w = [None] * len(self.weights)
        delta = costs.output_delta(self.cost, self.output, activations[-1], y)   # BP1 (10, 1)
        nabla_b[-1] = delta                                                      # BP3
        nabla_w[-1] = delta @ activations[-2].T                                  # BP4 (10, n_{L-1})
        for l in range(2, self.num_layers):                 # l-th layer counted from the end
            delta = (self.weights[-l + 1].T @ delta) * costs.sigmoid_prime(zs[-l])  # BP2 (n_l, 1)
            nabla_b[-l] = delta                                                  # BP3
            nabla_w[-l] = delta @ activations[-l - 1].T                          # BP4 outer product
        return nabla_b, nabla_w

    # ---- backward: the whole mini-batch as one matrix ---------------------------------------
    def backprop_batch(self, X: np.ndarray, Y: np.ndarray, scale: float = 1.0,
                       trace: Callable[[str, np.ndarray], None] | None = None) -> tuple[list, list]:
        """Gradient of C = sum of the m examples' costs, times `scale`. X (784, m), Y (10, m).

        Same equations as `backprop`, with m columns at once: BP3 sums delta over columns and
        BP4's delta @ a.T adds up the m outer products inside one matrix product. Two speed
        details: sigma'(z) is computed as a (1 - a) from the activation already at hand, and
        `scale` (the update passes eta/m) multiplies the small delta^L (10, m) instead of
        every (n_l, n_{l-1}) gradient afterwards - delta is linear, so all gradients scale.
        `trace(name, array)`, if given, is called with every intermediate array.
        """
        activations = [X]                                   # a0 = x (784, m)
        if trace:
            trace("x = a0", X)
            trace("y (one-hot columns)", Y)
        a = X
        last = self.num_layers - 2
        for l, (b, w) in enumerate(zip(self.biases, self.weights)):
            z = w @ a                                       # (n_l, m)
            z += b                                          # b (n_l, 1) broadcasts over columns
            a = costs.activate(self.output, z) if l == last else costs.sigmoid(z)
            activations.append(a)
            if trace:
                trace(f"z{l + 1} = w{l + 1} @ a{l} + b{l + 1}", z)
                trace(f"a{l + 1} = {self.output if l == last else 'sigmoid'}(z{l + 1})", a)
        nabla_b = [None] * len(self.biases)
        nabla_w = [None] * len(self.weights)
        delta = costs.output_delta(self.cost, self.output, activations[-1], Y)   # BP1 (10, m)
        if scale != 1.0:
            delta *= scale
        for l in range(len(self.weights) - 1, -1, -1):     # weights[l] is w^{l+1}
            if l < len(self.weights) - 1:                   # BP2, with sigma'(z) = a (1 - a)
                a_l = activations[l + 1]
                delta = (self.weights[l + 1].T @ delta) * (a_l * (1.0 - a_l))
            nabla_b[l] = np.add.reduce(delta, axis=1, keepdims=True)  # BP3: sum over columns (n_l, 1)
            nabla_w[l] = delta @ activations[l].T           # BP4 (n_l, n_{l-1})
            if trace:
                formula = (costs.bp1_formula(self.cost, self.output, f"a{l + 1}") if l == len(self.weights) - 1
                           else f"(w{l + 2}.T @ delta{l + 2}) * a{l + 1}(1-a{l + 1})")
                trace(f"delta{l + 1} = {formula}", delta)
                trace(f"nabla_b{l + 1} = delta{l + 1}.sum(axis=1)", nabla_b[l])
                trace(f"nabla_w{l + 1} = delta{l + 1} @ a{l}.T", nabla_w[l])
        return nabla_b, nabla_w

    # ---- one step of gradient descent -------------------------------------------------------
    def update_mini_batch(self, mini_batch, eta: float, lmbda: float = 0.0, n: int | None = None,
                          per_example: bool = False) -> None:
        """One gradient-descent step on a mini-batch of m examples.

        mini_batch: the book's list of (x (784,1), y (10,1)) tuples, or a pair of matrices
        (X (784, m), Y (10, m)). With L2 regularization (ch.3) the cost gains
        lmbda/(2n) sum w^2 over a training set of n examples, and the step becomes
            w -> (1 - eta lmbda / n) w - (eta / m) sum_x nabla_w C_x      ("weight decay")
            b -> b - (eta / m) sum_x nabla_b C_x                          (biases not decayed)
        """
        if isinstance(mini_batch, tuple) and isinstance(mini_batch[0], np.ndarray) and mini_batch[0].ndim == 2:
            X, Y = mini_batch
        else:
            X = np.hstack([x for x, _ in mini_batch]).astype(self.dtype, copy=False)
            Y = np.hstack([y for _, y in mini_batch]).astype(self.dtype, copy=False)
        m = X.shape[1]
        decay = 1.0 - eta * lmbda / (n or m) if lmbda else 1.0
        if per_example:                                     # the book's loop
            nabla_b = [np.zeros(b.shape, self.dtype) for b in self.biases]
            nabla_w = [np.zeros(w.shape, self.dtype) for w in self.weights]
            for i in range(m):
                dnb, dnw = self.backprop(X[:, i:i + 1], Y[:, i:i + 1])
                nabla_b = [nb + d for nb, d in zip(nabla_b, dnb)]
                nabla_w = [nw + d for nw, d in zip(nabla_w, dnw)]
            for nb, nw in zip(nabla_b, nabla_w):
                nb *= eta / m
                nw *= eta / m
        else:                                               # already multiplied by eta/m
            nabla_b, nabla_w = self.backprop_batch(X, Y, scale=eta / m)
        for b, w, nb, nw in zip(self.biases, self.weights, nabla_b, nabla_w):
            if decay != 1.0:
                w *= decay                                  # in place: no new (n_l, n_{l-1}) array
            w -= nw
            b -= nb

    # ---- the training loop ------------------------------------------------------------------
    def SGD(self, training_data, epochs: int, mini_batch_size: int, eta: float, test_data=None, *,
            lmbda: float = 0.0, evaluation_data=None, monitor: bool = False, early_stop: int | None = None,
            halve: int | None = None, per_example: bool = False, progress=None, on_epoch=None) -> dict:
        """Train for `epochs` passes over training_data, in shuffled mini-batches.

        training_data: the book's list of (x, y) tuples, a `Split`, or (X (n, 784), labels (n,)).
        test_data:     scored after every epoch (accuracy only, as in the book).
        evaluation_data: validation data, scored (cost and accuracy) after every epoch and used
                       for early stopping: stop after `early_stop` epochs without a better validation
                       accuracy, and keep the best weights; `halve`: after that many epochs without
                       improvement halve eta, and stop once eta is 1/128 of its start (ch.3).
        monitor:       also score the training data after every epoch (a forward pass over all n).
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
        history: dict[str, list] = {k: [] for k in ("epoch", "eta", "seconds", "training_cost", "training_accuracy",
                                                     "evaluation_cost", "evaluation_accuracy", "test_accuracy")}
        best, best_weights, since_best, since_halved, eta0 = -1, None, 0, 0, eta
        for epoch in range(epochs):
            start = time.perf_counter()
            order = self.rng.permutation(n)
            wrap = (lambda it: progress(it, epoch)) if progress else None
            if per_example:                                 # the book's path, step by step
                starts = range(0, n, mini_batch_size)
                for k in (wrap(starts) if wrap else starts):
                    idx = order[k:k + mini_batch_size]
                    # X[idx] is (m, 784) C-ordered, so X[idx].T is the book's (784, m) without a copy.
                    self.update_mini_batch((X[idx].T, Y[idx].T), eta, lmbda, n, per_example=True)
            else:                                           # same maths, fewer numpy calls
                fast_epoch.train_epoch(self, X, Y, order, mini_batch_size, eta, lmbda, n, wrap)
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
