"""The numpy convolutional network: im2col against a direct convolution, gradients against finite differences."""

import numpy as np

from nn2gpt.digits.conv import ConvNet, col2im, im2col, maxpool, maxpool_backward


def test_im2col_product_equals_direct_convolution():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 7, 6, 3))                        # (N, H, W, C)
    w = rng.standard_normal((3, 3, 3, 4))                        # (kh, kw, C, F)
    fast = (im2col(x, 3) @ w.reshape(-1, 4)).reshape(2, 5, 4, 4)
    direct = np.zeros((2, 5, 4, 4))
    for i in range(5):
        for j in range(4):
            direct[:, i, j, :] = np.einsum("nhwc,hwcf->nf", x[:, i:i + 3, j:j + 3, :], w)
    np.testing.assert_allclose(fast, direct, atol=1e-12)
    # col2im is the adjoint of im2col: <im2col(x), g> == <x, col2im(g)>
    g = rng.standard_normal(fast.reshape(-1, 4).shape[:1] + (27,))
    np.testing.assert_allclose(np.sum(im2col(x, 3) * g), np.sum(x * col2im(g, x.shape, 3)), rtol=1e-12)


def test_maxpool_routes_gradient_to_the_maximum():
    x = np.arange(16.0).reshape(1, 4, 4, 1)[:, ::-1]            # distinct values
    out, mask = maxpool(x)
    assert out.shape == (1, 2, 2, 1) and out[0, 0, 0, 0] == x[0, :2, :2, 0].max()
    dx = maxpool_backward(np.ones_like(out), mask)
    assert dx.sum() == 4 and dx[0, :2, :2, 0].sum() == 1 and dx[0, :2, :2, 0][x[0, :2, :2, 0] == out[0, 0, 0, 0]] == 1


def test_convnet_gradients_match_finite_differences():
    net = ConvNet(f1=2, f2=3, hidden=5, image=14, k=3, seed=1, dtype=np.float64)
    rng = np.random.default_rng(2)
    x = rng.random((3, 14 * 14))
    labels = np.array([1, 7, 3])
    _, grads = net.loss_and_grads(x, labels, lmbda=0.01)
    h = 1e-6
    for name, p in net.params.items():
        flat = p.reshape(-1)
        for i in rng.choice(flat.size, size=min(flat.size, 12), replace=False):
            old = flat[i]
            flat[i] = old + h
            up, _ = net.loss_and_grads(x, labels, lmbda=0.01)
            flat[i] = old - h
            down, _ = net.loss_and_grads(x, labels, lmbda=0.01)
            flat[i] = old
            numeric = (up - down) / (2 * h)
            assert abs(numeric - grads[name].reshape(-1)[i]) <= 1e-7 + 1e-5 * abs(numeric), (name, i)


def test_convnet_learns_a_small_problem():
    """Memorising 64 random images with random labels: only possible if the whole chain learns."""
    rng = np.random.default_rng(0)
    x = rng.random((64, 196)).astype(np.float32)
    labels = rng.integers(0, 10, 64)
    net = ConvNet(f1=4, f2=8, hidden=32, image=14, k=3, seed=0)
    first = net.loss_and_grads(x, labels)[0]
    for _ in range(150):
        net.step(x, labels, eta=0.05)
    assert net.loss_and_grads(x, labels)[0] < 0.5 * first and net.accuracy(x, labels) > 0.6
