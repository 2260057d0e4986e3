"""Chapter 1's checks: each calls the learner's piece on seeded inputs and names what is wrong.

Every check compares with the reference (the exercise's solution) on networks of several shapes,
checks gradients against finite differences of the cost (float64), and, when the numbers
differ, recomputes them with each common mistake (`variants`) to say which one it is.
"""

from __future__ import annotations

import copy

import numpy as np

from nn2gpt.digits import costs
from nn2gpt.learn.ch1.network import assemble, reference
from nn2gpt.learn.checking import (CheckFailed, close, compare, expect_list, expect_numpy, finite_difference, need,
                                   untouched)

SHAPES = ([784, 30, 10], [3, 4, 5, 2], [2, 6, 1])


def sigmoid(z):
    """Chapter 1's sigmoid, for any shape (a 0-d z included)."""
    return costs.sigmoid(np.atleast_1d(np.asarray(z, dtype=np.float64))).reshape(np.shape(z))


def sigmoid_prime(z):
    s = sigmoid(z)
    return s * (1 - s)


def example(sizes, m: int, seed: int):
    """x (n_0, m) in [0, 1) like pixels, y (n_L, m) one-hot, from `seed`."""
    rng = np.random.default_rng(seed)
    x = rng.random((sizes[0], m))
    y = np.zeros((sizes[-1], m))
    y[rng.integers(0, sizes[-1], m), np.arange(m)] = 1.0
    return x, y


# ---- 01 sigmoid ---------------------------------------------------------------------------------
def check_sigmoid(module) -> None:
    sig, prime = need(module, "sigmoid", "sigmoid(z)"), need(module, "sigmoid_prime", "sigmoid_prime(z)")
    rng = np.random.default_rng(1)
    for shape in [(), (5,), (30, 1), (10, 7)]:
        z = rng.normal(0, 4, shape)
        with np.errstate(over="ignore"):
            s = expect_numpy(untouched(sig, "sigmoid", "z", z.copy()), f"sigmoid(z) for z {shape}", shape)
            compare(s, sigmoid(z), "sigmoid(z)", [
                (sigmoid(-z), "it is sigma(-z) = 1 - sigma(z): sigma(z) = 1 / (1 + e^(-z)), so that sigma(5) "
                              "is near 1")],
                f" for z of shape {shape}")
            p = expect_numpy(untouched(prime, "sigmoid_prime", "z", z.copy()), f"sigmoid_prime(z) for z {shape}", shape)
            compare(p, sigmoid_prime(z), "sigmoid_prime(z)", [
                (sigmoid(z), "it is sigma(z) itself; the slope is sigma(z) * (1 - sigma(z))"),
                (z * (1 - z), "you computed z (1 - z): apply the formula to sigma(z), sigma(z) (1 - sigma(z))"),
                (sigmoid(z) * (1 + sigmoid(z)), "it is sigma(z) (1 + sigma(z)); the slope is sigma(z) (1 - sigma(z))"),
                (1 - sigmoid(z), "it is 1 - sigma(z); multiply by sigma(z): sigma(z) (1 - sigma(z))")],
                f" for z of shape {shape}")
    z = np.linspace(-6, 6, 25)
    slope = finite_difference(lambda: float(np.sum(sig(z))), z)  # each entry only moves its own output
    compare(expect_numpy(prime(z.copy()), "sigmoid_prime(z)", z.shape), slope, "sigmoid_prime(z)",
            context=" against the finite-difference slope of your sigmoid", rtol=1e-5, atol=1e-8)
    with np.errstate(over="ignore"):
        big = expect_numpy(sig(np.array([-1000.0, 1000.0])), "sigmoid([-1000, 1000])", (2,))
    if not close(big, [0.0, 1.0]):
        raise CheckFailed(f"sigmoid([-1000, 1000]) is {big.tolist()}, expected [0, 1]: a large |z| must saturate, "
                          f"not overflow to nan")


# ---- 02 feedforward -----------------------------------------------------------------------------
def _forward_variants(net, a):
    """What the common mistakes of feedforward return, with their messages."""
    out, no_bias, raw, first = a, a, a, None
    for i, (b, w) in enumerate(zip(net.biases, net.weights)):
        z = w @ out + b
        raw = z if i == len(net.weights) - 1 else sigmoid(z)      # no sigmoid on the last layer
        out, no_bias = sigmoid(z), sigmoid(w @ no_bias)
        first = out if first is None else first
    plain = a
    for b, w in zip(net.biases, net.weights):
        plain = w @ plain + b
    return [(no_bias, "it matches the network with every bias left out: z = w a + b"),
            (raw, "the last layer returns z^L, not a^L = sigma(z^L): every layer applies the sigmoid"),
            (plain, "no sigmoid anywhere: each layer is a = sigma(w a + b)"),
            (first, "it is the first layer's output only: return after the loop, not inside it")]


def check_feedforward(module) -> None:
    ff = need(module, "feedforward", "feedforward(self, a)")
    for seed, (sizes, m) in enumerate([(SHAPES[0], 1), (SHAPES[1], 1), (SHAPES[1], 5), (SHAPES[2], 3)]):
        net = assemble(feedforward=ff)(sizes, seed=seed)
        a, _ = example(sizes, m, seed)
        want, mistakes = reference("feedforward")(net, a), _forward_variants(net, a)
        got = untouched(ff, "feedforward", "self, a", net, a.copy())
        for wrong, message in mistakes:   # before the shape: the first layer's output has another shape
            if close(got, wrong) and not close(got, want):
                raise CheckFailed(f"`feedforward(a)` for sizes {sizes}, a {a.shape}: {message}")
        got = expect_numpy(got, f"feedforward(a) for a {a.shape}", want.shape,
                           "the output layer's activations, one column per input column")
        compare(got, want, "feedforward(a)", mistakes, f" for sizes {sizes}, a {a.shape}")


# ---- 03 backprop and 05 backprop_matrix ---------------------------------------------------------
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


def _same(got, want) -> bool:
    return all(close(g, w) for g, w in zip([*got[0], *got[1]], [*want[0], *want[1]]))


def _check_gradients(result, net, x, y, what: str, total: float = 1.0) -> None:
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
    if _same((nb, nw), want):
        return
    m = x.shape[1]
    if m > 1 and _same((nb, nw), ([b / m for b in want[0]], [w / m for w in want[1]])):
        raise CheckFailed(f"{what} returned the AVERAGE over the {m} examples; return the sum "
                          f"(update_mini_batch divides by m)")
    for wrong, message in mistakes:
        if _same((nb, nw), wrong):
            raise CheckFailed(f"{what}: {message}")
    for name, got, right in [*((f"nabla_b[{l}]", nb[l], want[0][l]) for l in range(n)),
                             *((f"nabla_w[{l}]", nw[l], want[1][l]) for l in range(n))]:
        compare(got, right, name, context=f" (sizes {net.sizes}, m = {m})")


def _check_against_finite_differences(method, what: str, m: int) -> None:
    """The gradient of C = 1/2 sum ||a - y||^2 by nudging every parameter of a small network."""
    sizes = SHAPES[1]
    net = assemble()(sizes, seed=7)
    x, y = example(sizes, m, 7)
    nb, nw = method(net, x, y)
    cost = lambda: 0.5 * float(np.sum((reference("feedforward")(net, x) - y) ** 2))
    for l in range(len(sizes) - 1):
        for name, got, param in ((f"nabla_w[{l}]", nw[l], net.weights[l]), (f"nabla_b[{l}]", nb[l], net.biases[l])):
            compare(np.asarray(got), finite_difference(cost, param), name,
                    context=f" against finite differences of the cost (sizes {sizes})", rtol=1e-4, atol=1e-7)


def check_backprop(module) -> None:
    bp = need(module, "backprop", "backprop(self, x, y)")
    for seed, sizes in enumerate(SHAPES):
        net = assemble(backprop=bp)(sizes, seed=seed)
        before = copy.deepcopy((net.weights, net.biases))
        x, y = example(sizes, 1, seed)
        result = untouched(bp, "backprop", "self, x, y", net, x.copy(), y.copy())
        if not all(close(a, b) for a, b in zip([*net.weights, *net.biases], [*before[0], *before[1]])):
            raise CheckFailed("backprop changed self.weights or self.biases: it only computes the gradients; "
                              "update_mini_batch steps the weights")
        _check_gradients(result, net, x, y, "backprop(x, y)")
    _check_against_finite_differences(bp, "backprop", 1)


def check_backprop_matrix(module) -> None:
    bpm = need(module, "backprop_matrix", "backprop_matrix(self, X, Y)")
    for seed, (sizes, m) in enumerate([(SHAPES[0], 10), (SHAPES[1], 3), (SHAPES[1], 1), (SHAPES[2], 7)]):
        net = assemble(backprop_matrix=bpm)(sizes, seed=seed)
        X, Y = example(sizes, m, seed)
        _check_gradients(untouched(bpm, "backprop_matrix", "self, X, Y", net, X.copy(), Y.copy()), net, X, Y,
                         f"backprop_matrix(X, Y) with m = {m}")
    _check_against_finite_differences(bpm, "backprop_matrix", 4)


# ---- 04 update_mini_batch -----------------------------------------------------------------------
def check_update(module) -> None:
    update = need(module, "update_mini_batch", "update_mini_batch(self, mini_batch, eta)")
    for seed, (sizes, m, eta) in enumerate([(SHAPES[1], 10, 3.0), (SHAPES[0], 10, 3.0), (SHAPES[1], 7, 0.5),
                                            (SHAPES[2], 1, 2.0)]):
        net = assemble(update_mini_batch=update)(sizes, seed=seed)
        X, Y = example(sizes, m, seed)
        batch = [(X[:, i:i + 1], Y[:, i:i + 1]) for i in range(m)]
        w0, b0 = copy.deepcopy(net.weights), copy.deepcopy(net.biases)
        (sb, sw), _ = variants(net, X, Y)                        # the summed gradients
        last = variants(net, X[:, -1:], Y[:, -1:])[0]
        untouched(update, "update_mini_batch", "self, mini_batch, eta", net, batch, eta)
        steps = [(eta / m, ""), (eta, f"the step is {m} times too large: divide by m = len(mini_batch)"),
                 (eta / m ** 2, f"the step is divided by m twice (m = {m})"),
                 (-eta / m, "the step goes uphill: w - (eta/m) nabla_w, with a minus"),
                 (eta / 10, f"the step is divided by 10, not by len(mini_batch) = {m}")]
        got = expect_list(net.weights, "self.weights", len(w0), "the weights before"), \
            expect_list(net.biases, "self.biases", len(b0), "the biases before")
        for l in range(len(w0)):
            expect_numpy(got[0][l], f"self.weights[{l}] after the step", w0[l].shape)
            expect_numpy(got[1][l], f"self.biases[{l}] after the step", b0[l].shape)
        if _same(got, (w0, b0)):
            raise CheckFailed("self.weights and self.biases did not change: assign the stepped lists to "
                              "self.weights and self.biases (or update them in place)")
        for scale, message in steps:
            if _same(got, ([w - scale * g for w, g in zip(w0, sw)], [b - scale * g for b, g in zip(b0, sb)])):
                if not message:
                    break
                raise CheckFailed(f"update_mini_batch with eta = {eta}: {message}")
        else:
            if m > 1 and _same(got, ([w - eta / m * g for w, g in zip(w0, last[1])],
                                     [b - eta / m * g for b, g in zip(b0, last[0])])):
                raise CheckFailed("only the last example's gradient was used: add every example's backprop into "
                                  "nabla_b and nabla_w (nabla_w = [nw + dnw ...]), then step")
            for l in range(len(w0)):
                compare(got[0][l], w0[l] - eta / m * sw[l], f"self.weights[{l}]",
                        context=f" after one step (sizes {sizes}, m = {m}, eta = {eta})")
                compare(got[1][l], b0[l] - eta / m * sb[l], f"self.biases[{l}]",
                        context=f" after one step (sizes {sizes}, m = {m}, eta = {eta})")


# ---- 06 cross-entropy ---------------------------------------------------------------------------
def check_cross_entropy(module) -> None:
    cost = need(module, "CrossEntropyCost", "class CrossEntropyCost with fn(a, y) and delta(z, a, y)")
    ref = reference("CrossEntropyCost")
    for seed in range(3):
        z, (_, y) = np.random.default_rng(seed).normal(0, 2, (10, 1)), example([1, 10], 1, seed)
        a = sigmoid(z)
        with np.errstate(divide="ignore", invalid="ignore"):
            got = expect_numpy(untouched(cost.fn, "CrossEntropyCost.fn", "a, y", a.copy(), y.copy()),
                               "CrossEntropyCost.fn(a, y)", ())
        want = ref.fn(a, y)
        compare(got, want, "CrossEntropyCost.fn(a, y)", [
            (-np.sum(y * np.log(a)), "only the y ln a term: add (1 - y) ln(1 - a) for the neurons that should be 0"),
            (-want, "the cost is negative: C = -sum [y ln a + (1 - y) ln(1 - a)], with the minus in front"),
            (want / 10, "it is the mean over the 10 outputs; the cost of one example is their sum")])
        d = expect_numpy(untouched(cost.delta, "CrossEntropyCost.delta", "z, a, y", z.copy(), a.copy(), y.copy()),
                         "CrossEntropyCost.delta(z, a, y)", (10, 1))
        compare(d, a - y, "CrossEntropyCost.delta(z, a, y)", [
            ((a - y) * sigmoid_prime(z), "it keeps sigma'(z): for the cross-entropy it cancels, delta^L = a - y"),
            (y - a, "it is y - a; the error is a - y")])
        zz = z.copy()
        slope = finite_difference(lambda: float(ref.fn(sigmoid(zz), y)), zz)
        compare(d, slope, "CrossEntropyCost.delta(z, a, y)", context=" against finite differences of the cost in z",
                rtol=1e-4, atol=1e-7)
    a, y = np.array([[1.0], [0.0], [0.5]]), np.array([[1.0], [0.0], [1.0]])
    with np.errstate(divide="ignore", invalid="ignore"):
        edge = expect_numpy(cost.fn(a, y), "CrossEntropyCost.fn(a, y)", ())
    if not np.isfinite(edge):
        raise CheckFailed(f"CrossEntropyCost.fn is {float(edge)} where a equals y exactly (0 ln 0): wrap the sum in "
                          f"np.nan_to_num, 0 ln 0 is 0")
    compare(edge, np.log(2.0), "CrossEntropyCost.fn(a, y)", context=" for a = [1, 0, 0.5], y = [1, 0, 1]")
