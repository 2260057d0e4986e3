"""Cost functions and output layers of the digit network (Nielsen, chapters 1 and 3).

Every array here is one output column per example, as in the book:
    a, y, z : (10, m)   output activations, one-hot targets, weighted inputs; m examples

A cost C(a, y) is summed over the m columns. Backpropagation needs one thing from it,
the output error  delta^L = dC/dz^L  (equation BP1). In general

    delta^L = (da/dz)^T  grad_a C                     (BP1)

where grad_a C = `derivative(a, y)` (the book's `cost_derivative`). For a sigmoid output
da/dz is diagonal, sigma'(z) = a (1 - a), so BP1 is  grad_a C * a * (1 - a). For a softmax
output da_j/dz_k = a_j (delta_jk - a_k), so BP1 is  a * (g - sum_j a_j g_j)  with g = grad_a C.

Two pairings make the sigma'(z) factor cancel and leave delta^L = a - y: sigmoid with the
cross-entropy cost, and softmax with the log-likelihood cost. That cancellation is why
chapter 3 introduces them: the quadratic cost's delta has a sigma'(z) factor that is ~0 when
a saturated neuron is badly wrong, so it learns slowly exactly when it should learn fast.
"""

from __future__ import annotations

import numpy as np

COSTS = ("quadratic", "cross-entropy", "log-likelihood")
OUTPUTS = ("sigmoid", "softmax")


def sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """sigma(z) = 1 / (1 + e^-z), written as 0.5 (1 + tanh(z/2)) so that no exp overflows.

    In place on one array (a new one, or `out`): for the book's small layers each numpy call
    costs more than its arithmetic, so fewer temporaries means faster training.
    """
    s = np.multiply(z, 0.5, out=out)
    np.tanh(s, out=s)
    s += 1.0
    s *= 0.5
    return s


def sigmoid_prime(z: np.ndarray) -> np.ndarray:
    """sigma'(z) = sigma(z) (1 - sigma(z))."""
    s = sigmoid(z)
    return s * (1.0 - s)


def softmax(z: np.ndarray) -> np.ndarray:
    """a_j = e^{z_j} / sum_k e^{z_k} down each column; shifting by the max changes nothing but
    keeps e^z from overflowing."""
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def activate(output: str, z: np.ndarray) -> np.ndarray:
    return softmax(z) if output == "softmax" else sigmoid(z)


def cost_value(cost: str, a: np.ndarray, y: np.ndarray) -> float:
    """C summed over the columns of a, y (10, m)."""
    if cost == "quadratic":                        # C = 1/2 ||a - y||^2
        return 0.5 * float(np.sum((a - y) ** 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        if cost == "cross-entropy":                # C = -sum_j [y ln a + (1-y) ln(1-a)]
            # nan_to_num: 0 * ln 0 is 0 here (a_j = y_j exactly), not nan.
            return float(-np.sum(np.nan_to_num(y * np.log(a) + (1 - y) * np.log(1 - a))))
        return float(-np.sum(np.nan_to_num(y * np.log(a))))  # log-likelihood: C = -ln a_y


def derivative(cost: str, a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """grad_a C, the partial derivatives dC/da_j; (10, m)."""
    if cost == "quadratic":
        return a - y
    if cost == "cross-entropy":
        return (a - y) / (a * (1.0 - a))
    return -y / a                                 # log-likelihood


def output_delta(cost: str, output: str, a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """BP1: delta^L = dC/dz^L for the m columns; (10, m). Uses a = activation(z) only."""
    if (cost, output) in (("cross-entropy", "sigmoid"), ("log-likelihood", "softmax")):
        return a - y                               # sigma'(z) cancels (see module docstring)
    g = derivative(cost, a, y)
    if output == "sigmoid":
        g *= a * (1.0 - a)
        return g
    return a * (g - np.sum(a * g, axis=0, keepdims=True))


def bp1_formula(cost: str, output: str, a: str = "a") -> str:
    """BP1 written out for this cost and output layer, for traces: e.g. 'a2 - y'."""
    if (cost, output) in (("cross-entropy", "sigmoid"), ("log-likelihood", "softmax")):
        return f"{a} - y"
    g = {"quadratic": f"({a} - y)", "cross-entropy": f"({a} - y)/({a}(1-{a}))", "log-likelihood": f"(-y/{a})"}[cost]
    return f"{g} * {a}(1-{a})" if output == "sigmoid" else f"{a} * (g - sum({a} g)), g = {g}"
