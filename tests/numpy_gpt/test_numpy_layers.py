"""Every layer's hand-written backward against central finite differences, in float64.

For a layer y = f(x, params) we take the scalar L = sum(y * R) with a fixed random R, so
dL/dy = R. The backward, given R, must return dL/dx and dL/dparam; each entry is compared with
(L(x + h e_i) - L(x - h e_i)) / 2h.
"""

import numpy as np
import pytest

from nn2gpt.numpy_gpt import attention as A
from nn2gpt.numpy_gpt import layers as L

RNG = np.random.default_rng(0)


def numerical_grad(f, x, h=1e-6):
    """Central differences of the scalar function f() with respect to every entry of x (in place)."""
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        up = f()
        flat[i] = old - h
        down = f()
        flat[i] = old
        gflat[i] = (up - down) / (2 * h)
    return grad


def assert_close(analytic, numeric, tol=1e-7):
    err = np.abs(analytic - numeric).max() / max(1e-12, np.abs(numeric).max())
    assert err < tol, f"relative error {err:.2e}"


def randn(*shape):
    return RNG.standard_normal(shape)


def test_linear_backward():
    x, w, b = randn(5, 4), randn(3, 4), randn(3)
    r = randn(5, 3)
    loss = lambda: np.sum(L.linear_forward(x, w, b) * r)  # noqa: E731
    dx, dw, db = L.linear_backward(r, x, w)
    for analytic, wrt in ((dx, x), (dw, w), (db, b)):
        assert_close(analytic, numerical_grad(loss, wrt))


@pytest.mark.parametrize("bias", [True, False])
def test_layer_norm_backward(bias):
    x, g, b = randn(6, 5) * 3 + 1, randn(5), randn(5) if bias else None
    r = randn(6, 5)
    loss = lambda: np.sum(L.layer_norm_forward(x, g, b)[0] * r)  # noqa: E731
    dx, dg, db = L.layer_norm_backward(r, g, L.layer_norm_forward(x, g, b)[1], has_bias=bias)
    assert_close(dx, numerical_grad(loss, x))
    assert_close(dg, numerical_grad(loss, g))
    if bias:
        assert_close(db, numerical_grad(loss, b))
    else:
        assert db is None


def test_layer_norm_matches_the_formula():
    x, g, b = randn(4, 7), randn(7), randn(7)
    expected = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-5) * g + b
    np.testing.assert_allclose(L.layer_norm_forward(x, g, b)[0], expected, rtol=1e-12, atol=1e-12)


def test_gelu_backward_and_formula():
    x = randn(7, 3) * 2
    r = randn(7, 3)
    y, t = L.gelu_forward(x.copy())
    expected = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    np.testing.assert_allclose(y, expected, rtol=1e-13)
    loss = lambda: np.sum(L.gelu_forward(x)[0] * r)  # noqa: E731
    assert_close(L.gelu_backward(r, x, t), numerical_grad(loss, x))


def test_embedding_backward_is_a_scatter_add():
    table, idx = randn(6, 3), np.array([[1, 4, 1], [0, 1, 5]])
    r = randn(2, 3, 3)
    loss = lambda: np.sum(L.embedding_forward(idx, table) * r)  # noqa: E731
    dtable = L.embedding_backward(idx, r, 6)
    assert_close(dtable, numerical_grad(loss, table))
    assert np.all(dtable[[2, 3]] == 0)  # rows never looked up get no gradient
    naive = np.zeros_like(table)
    np.add.at(naive, idx.reshape(-1), r.reshape(-1, 3))
    np.testing.assert_allclose(dtable, naive, rtol=1e-12)


def test_cross_entropy_forward_and_backward():
    logits, targets = randn(8, 5) * 3, RNG.integers(0, 5, 8)
    loss, probs = L.cross_entropy_forward(logits, targets)
    log_softmax = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    assert loss == pytest.approx(-log_softmax[np.arange(8), targets].mean(), rel=1e-12)
    f = lambda: L.cross_entropy_forward(logits, targets)[0]  # noqa: E731
    assert_close(L.cross_entropy_backward(probs, targets), numerical_grad(f, logits))


def test_cross_entropy_survives_huge_logits():
    loss, _ = L.cross_entropy_forward(np.array([[1000.0, 0.0], [0.0, -1000.0]]), np.array([0, 1]))
    assert np.isfinite(loss) and loss == pytest.approx(500.0)


def test_attention_backward_and_causality():
    b, nh, t, hs = 2, 3, 5, 4
    q, k, v = randn(b, nh, t, hs), randn(b, nh, t, hs), randn(b, nh, t, hs)
    r = randn(b, nh, t, hs)
    y, att = A.attention_forward(q, k, v)
    assert np.allclose(att.sum(-1), 1) and np.all(np.triu(att[0, 0], 1) == 0)  # rows sum to 1, no future
    loss = lambda: np.sum(A.attention_forward(q, k, v)[0] * r)  # noqa: E731
    dq, dk, dv = A.attention_backward(r, q, k, v, att)
    for analytic, wrt in ((dq, q), (dk, k), (dv, v)):
        assert_close(analytic, numerical_grad(loss, wrt))
    # changing the last position must not change any earlier output
    k2, v2 = k.copy(), v.copy()
    k2[:, :, -1] += 5
    v2[:, :, -1] -= 3
    np.testing.assert_allclose(A.attention_forward(q, k2, v2)[0][:, :, :-1], y[:, :, :-1], rtol=1e-12)


@pytest.mark.parametrize("bias", [True, False])
def test_self_attention_backward(bias):
    b, t, c, nh = 2, 4, 6, 2
    x = randn(b, t, c)
    p = {"qkv.weight": randn(3 * c, c) * 0.5, "proj.weight": randn(c, c) * 0.5}
    if bias:
        p |= {"qkv.bias": randn(3 * c), "proj.bias": randn(c)}
    r = randn(b, t, c)
    loss = lambda: np.sum(A.self_attention_forward(x, p, nh)[0] * r)  # noqa: E731
    out, cache = A.self_attention_forward(x, p, nh)
    dx, grads = A.self_attention_backward(r, p, cache, nh)
    assert set(grads) == set(p)
    assert_close(dx, numerical_grad(loss, x))
    for name in p:
        assert_close(grads[name], numerical_grad(loss, p[name]))


def test_kv_cache_gives_the_same_outputs():
    b, t, c, nh = 1, 6, 8, 2
    x = randn(b, t, c)
    p = {"qkv.weight": randn(3 * c, c), "qkv.bias": randn(3 * c), "proj.weight": randn(c, c), "proj.bias": randn(c)}
    full, _ = A.self_attention_forward(x, p, nh)
    cache = {}
    first, _ = A.self_attention_forward(x[:, :4], p, nh, kv_cache=cache)
    rest = [A.self_attention_forward(x[:, i:i + 1], p, nh, kv_cache=cache)[0] for i in range(4, t)]
    np.testing.assert_allclose(np.concatenate([first, *rest], axis=1), full, rtol=1e-10, atol=1e-12)
