"""What chapter 1's exercises share; each one's check and trace example are its folder's check.py.

Chapter 1's checks: each calls the learner's piece on seeded inputs and names what is wrong.

Every check compares with the reference (the exercise's solution) on networks of several shapes,
checks gradients against finite differences of the cost (float64), and, when the numbers
differ, recomputes them with each common mistake (`variants`) to say which one it is.

Chapter 1's examples for `nn2gpt learn trace`: MNIST digits through the book's 784-30-10 network.

Each exercise's example() returns (what the example is, a function of the learner's module that runs
it). The network is the book's, N(0, 1) weights from seed 0, its methods the reference's except the
one traced (nn2gpt.learn.ch1.network.assemble), so `self.backprop` inside update_mini_batch is
right.
"""

from __future__ import annotations

import numpy as np

from nn2gpt.digits import costs
from nn2gpt.learn.ch1.network import assemble, reference
from nn2gpt.learn.checking import CheckFailed, close, compare, expect_list, expect_numpy, finite_difference
from nn2gpt.learn.example_data import digits


SHAPES = ([784, 30, 10], [3, 4, 5, 2], [2, 6, 1])


def sigmoid(z):
    """Chapter 1's sigmoid, for any shape (a 0-d z included)."""
    return costs.sigmoid(np.atleast_1d(np.asarray(z, dtype=np.float64))).reshape(np.shape(z))


def sigmoid_prime(z):
    s = sigmoid(z)
    return s * (1 - s)


def seeded(sizes, m: int, seed: int):
    """x (n_0, m) in [0, 1) like pixels, y (n_L, m) one-hot, from `seed`."""
    rng = np.random.default_rng(seed)
    x = rng.random((sizes[0], m))
    y = np.zeros((sizes[-1], m))
    y[rng.integers(0, sizes[-1], m), np.arange(m)] = 1.0
    return x, y


def variants(net, x, y):
    """(nabla_b, nabla_w) summed over the columns of x, for the right maths and each common mistake."""
    def run(bp1=True, bp2=True, on_a=False, sign=1.0):
        acts, zs = [x], []
        for b, w in zip(net.biases, net.weights):
            zs.append(w @ acts[-1] + b)
            acts.append(sigmoid(zs[-1]))
        d = lambda l: sigmoid(acts[l]) * (1 - sigmoid(acts[l])) if on_a else sigmoid_prime(zs[l - 1])
        delta = sign * (acts[-1] - y) * (d(len(acts) - 1) if bp1 else 1.0)
        nb, nw = [None] * len(zs), [None] * len(zs)
        for l in range(len(zs) - 1, -1, -1):
            if l < len(zs) - 1:
                delta = (net.weights[l + 1].T @ delta) * (d(l + 1) if bp2 else 1.0)
            nb[l], nw[l] = delta.sum(axis=1, keepdims=True), delta @ acts[l].T
        return nb, nw
    return run(), [
        (run(bp2=False), "sigma'(z^l) is left out of BP2: delta^l = (w^{l+1}.T delta^{l+1}) * sigmoid_prime(z^l)"),
        (run(bp1=False), "sigma'(z^L) is left out of BP1: delta^L = (a^L - y) * sigmoid_prime(z^L)"),
        (run(bp1=False, bp2=False), "sigma' is left out of both BP1 and BP2: each delta is multiplied by "
                                   "sigmoid_prime(z) of its layer"),
        (run(on_a=True), "sigma' is applied to the activation a, not to z: sigmoid_prime(zs[-l]), "
                         "or a * (1 - a) without calling sigmoid again"),
        (run(sign=-1.0), "the gradient points the wrong way: the cost derivative is a - y, not y - a")]


def same(got, want) -> bool:
    return all(close(g, w) for g, w in zip([*got[0], *got[1]], [*want[0], *want[1]]))


def check_gradients(result, net, x, y, what: str, total: float = 1.0) -> None:
    """result must be (nabla_b, nabla_w) shaped like net, equal to the reference, else say how."""
    if not isinstance(result, tuple) or len(result) != 2:
        raise CheckFailed(f"{what} returned {type(result).__name__}, expected the tuple (nabla_b, nabla_w)")
    n = net.num_layers - 1
    nb = expect_list(result[0], "nabla_b", n, "self.biases")
    nw = expect_list(result[1], "nabla_w", n, "self.weights")
    if all(np.shape(b) == w.shape and np.shape(w_) == b_.shape        # the two lists, each where the other goes
           for b, w_, w, b_ in zip(nb, nw, net.weights, net.biases)):
        raise CheckFailed(f"{what} returned (nabla_w, nabla_b): the book's order is (nabla_b, nabla_w), "
                          f"biases first, as update_mini_batch unpacks it")
    for l in range(n):
        rows, cols = net.weights[l].shape
        m = x.shape[1]
        if np.shape(nw[l]) == (rows, rows) != (rows, cols):
            raise CheckFailed(f"`nabla_w[{l}]` is {(rows, rows)}, expected {(rows, cols)}: BP4 multiplies delta by "
                              f"the activation of the layer BELOW, np.dot(delta, activations[-l - 1].T) - "
                              f"activations[-l] is the layer's own output (at BP1, activations[-2])")
        hint_b = ("BP3: nabla_b is delta, a column" if m == 1 else
                  "you summed over the rows (axis=0); BP3 sums over the m columns, delta.sum(axis=1, keepdims=True)"
                  if np.shape(nb[l]) in ((1, m), (m,)) else
                  "sum delta over the m columns: delta.sum(axis=1, keepdims=True)")
        nb[l] = expect_numpy(nb[l], f"nabla_b[{l}]", (rows, 1), hint_b)
        nw[l] = expect_numpy(nw[l], f"nabla_w[{l}]", (rows, cols),
                             "BP4 is np.dot(delta, a_below.T), delta first" if nw[l] is not None and
                             np.shape(nw[l]) == (cols, rows) else "shaped like self.weights[%d]" % l)
    want, mistakes = variants(net, x, y)
    if same((nb, nw), want):
        return
    m = x.shape[1]
    if m > 1 and same((nb, nw), ([b / m for b in want[0]], [w / m for w in want[1]])):
        raise CheckFailed(f"{what} returned the AVERAGE over the {m} examples; return the sum "
                          f"(update_mini_batch divides by m)")
    for wrong, message in mistakes:
        if same((nb, nw), wrong):
            raise CheckFailed(f"{what}: {message}")
    for name, got, right in [*((f"nabla_b[{l}]", nb[l], want[0][l]) for l in range(n)),
                             *((f"nabla_w[{l}]", nw[l], want[1][l]) for l in range(n))]:
        compare(got, right, name, context=f" (sizes {net.sizes}, m = {m})")


def check_against_finite_differences(method, what: str, m: int) -> None:
    """The gradient of C = 1/2 sum ||a - y||^2 by nudging every parameter of a small network."""
    sizes = SHAPES[1]
    net = assemble()(sizes, seed=7)
    x, y = seeded(sizes, m, 7)
    nb, nw = method(net, x, y)
    cost = lambda: 0.5 * float(np.sum((reference("feedforward")(net, x) - y) ** 2))
    for l in range(len(sizes) - 1):
        for name, got, param in ((f"nabla_w[{l}]", nw[l], net.weights[l]), (f"nabla_b[{l}]", nb[l], net.biases[l])):
            compare(np.asarray(got), finite_difference(cost, param), name,
                    context=f" against finite differences of the cost (sizes {sizes})", rtol=1e-4, atol=1e-7)


SIZES = [784, 30, 10]


def first_digit():
    x, y, labels = digits(1)
    return x, y, f"MNIST test digit 0 (a {labels[0]}) as x (784, 1)"


def book_network(**methods):
    return assemble(**methods)(SIZES, seed=0)
