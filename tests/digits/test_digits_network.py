"""Backpropagation checked against finite differences, one column at a time against m columns at once;
the readable training path against the fast one; scoring against a one-example-at-a-time loop; a saved
model's weights are never unpickled."""

import io
import subprocess
import sys

import numpy as np
import pytest

from nn2gpt.digits.data import book_format, one_hot, to_matrices
from nn2gpt.digits.network import Network

VARIANTS = [  # (cost, output, lmbda)
    ("quadratic", "sigmoid", 0.0),
    ("cross-entropy", "sigmoid", 0.0),
    ("quadratic", "sigmoid", 3.0),
    ("cross-entropy", "sigmoid", 3.0),
    ("log-likelihood", "softmax", 0.0),
    ("log-likelihood", "softmax", 2.0),
    ("quadratic", "softmax", 0.0),       # exercises the general softmax Jacobian in BP1
    ("cross-entropy", "softmax", 0.0),
]


def small_problem(seed=0, m=7, sizes=(6, 5, 4, 3)):
    rng = np.random.default_rng(seed)
    X = rng.random((sizes[0], m))                       # (n_in, m) columns
    labels = rng.integers(0, sizes[-1], m)
    Y = one_hot(labels, sizes[-1]).T                    # (n_out, m)
    return X, Y, labels


def book_correct(net, examples) -> int:
    """The book's evaluate, written out: each (x, label) fed alone as a (784, 1) column through
    sigmoid(w @ a + b) layer by layer (in float64, from the net's weights), argmax vs label."""
    correct = 0
    for x, label in examples:
        a = np.asarray(x, dtype=np.float64).reshape(-1, 1)
        for i, (w, b) in enumerate(zip(net.weights, net.biases)):
            z = w.astype(np.float64) @ a + b.astype(np.float64)
            if i == len(net.weights) - 1 and net.output == "softmax":
                a = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
            else:
                a = 1 / (1 + np.exp(-z))
        correct += int(np.argmax(a)) == int(label)
    return correct


def mean_cost(net, X, labels, lmbda, n):
    return net.total_cost((X.T.copy(), labels), lmbda, n)


@pytest.mark.parametrize("cost,output,lmbda", VARIANTS)
def test_backprop_matches_finite_differences(cost, output, lmbda):
    sizes = (6, 5, 4, 3)
    X, Y, labels = small_problem(sizes=sizes)
    m, n = X.shape[1], 20                                # n: "training set size" in the L2 term
    net = Network(sizes, cost=cost, output=output, init="scaled", seed=3, dtype=np.float64)
    nabla_b, nabla_w = net.backprop(X, Y)
    # gradient of mean cost + lmbda/(2n) sum w^2, as update_mini_batch uses it
    grads = [nb / m for nb in nabla_b] + [nw / m + lmbda / n * w for nw, w in zip(nabla_w, net.weights)]
    params = net.biases + net.weights
    h = 1e-6
    for p, g in zip(params, grads):
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + h
            up = mean_cost(net, X, labels, lmbda, n)
            p[idx] = old - h
            down = mean_cost(net, X, labels, lmbda, n)
            p[idx] = old
            numeric = (up - down) / (2 * h)
            assert abs(numeric - g[idx]) <= 1e-7 + 1e-5 * abs(numeric), (cost, output, idx, numeric, g[idx])


def book_step(net, X, Y, eta, lmbda, n):
    """The book's chapter-3 update_mini_batch, written out: backprop one (784, 1) column at a time,
    sum the gradients, then w -> (1 - eta lmbda/n) w - eta/m sum nabla_w, b -> b - eta/m sum nabla_b."""
    m = X.shape[1]
    sum_b = [np.zeros_like(b) for b in net.biases]
    sum_w = [np.zeros_like(w) for w in net.weights]
    for i in range(m):
        db, dw = net.backprop(X[:, i:i + 1], Y[:, i:i + 1])
        sum_b = [a + d for a, d in zip(sum_b, db)]
        sum_w = [a + d for a, d in zip(sum_w, dw)]
    net.weights = [(1 - eta * lmbda / n) * w - (eta / m) * nw for w, nw in zip(net.weights, sum_w)]
    net.biases = [b - (eta / m) * nb for b, nb in zip(net.biases, sum_b)]


@pytest.mark.parametrize("cost,output,lmbda", VARIANTS)
def test_one_column_at_a_time_equals_the_mini_batch_matrix(cost, output, lmbda):
    X, Y, _ = small_problem(seed=1, m=9, sizes=(784, 30, 10))
    net = Network([784, 30, 10], cost=cost, output=output, seed=5)
    nabla_b, nabla_w = net.backprop(X, Y)                            # (784, 9): all nine columns at once
    assert [g.shape for g in nabla_b] == [b.shape for b in net.biases]
    assert [g.shape for g in nabla_w] == [w.shape for w in net.weights]
    per_b = [np.zeros_like(b) for b in net.biases]
    per_w = [np.zeros_like(w) for w in net.weights]
    for i in range(X.shape[1]):
        db, dw = net.backprop(X[:, i:i + 1], Y[:, i:i + 1])        # the book's x (784, 1)
        per_b = [a + d for a, d in zip(per_b, db)]
        per_w = [a + d for a, d in zip(per_w, dw)]
    for a, b in zip(per_b + per_w, nabla_b + nabla_w):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)
    # and update_mini_batch on the book's list of (x, y) tuples takes the book's step
    mini_batch = [(X[:, i:i + 1], Y[:, i:i + 1]) for i in range(X.shape[1])]
    nets = [Network([784, 30, 10], cost=cost, output=output, seed=5) for _ in range(2)]
    nets[0].update_mini_batch(mini_batch, 0.5, lmbda, 100)
    book_step(nets[1], X, Y, 0.5, lmbda, 100)
    for a, b in zip(nets[0].weights + nets[0].biases, nets[1].weights + nets[1].biases):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)
    assert not np.allclose(nets[0].weights[0], net.weights[0])      # a step was taken


def test_book_interface_accepts_lists_of_tuples():
    X, Y, labels = small_problem(seed=2, m=12, sizes=(784, 30, 10))
    train = book_format(X.T, labels, vector_labels=True)
    test = book_format(X.T, labels, vector_labels=False)
    assert train[0][0].shape == (784, 1) and train[0][1].shape == (10, 1) and isinstance(test[0][1], int)
    a, b = Network([784, 30, 10], seed=0), Network([784, 30, 10], seed=0)
    a.update_mini_batch(train[:5], 3.0)                              # the book's call
    book_step(b, X[:, :5], Y[:, :5], 3.0, 0.0, 50_000)
    for p, q in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_allclose(p, q, rtol=0, atol=1e-12)
    # evaluate counts what feeding one example at a time counts, in the book's format and as matrices
    assert a.evaluate(test) == a.accuracy((X.T, labels)) == book_correct(a, test)
    # and on labels made to be half right (the net's own answer) and half wrong, it counts the right half
    mine = [int(np.argmax(a.feedforward(x))) for x, _ in test]
    half = [(x, d if i % 2 == 0 else (d + 1) % 10) for i, ((x, _), d) in enumerate(zip(test, mine))]
    assert a.evaluate(half) == book_correct(a, half) == (len(half) + 1) // 2
    assert a.feedforward(train[0][0]).shape == (10, 1)
    Xm, lm = to_matrices(train, 784, 10, np.float64)
    np.testing.assert_array_equal(lm, labels)


def test_sgd_trains_through_update_mini_batch_and_backprop():
    """The readable path is the one SGD runs by default: replacing Network.backprop changes training
    (the seam an exercise plugs a learner's own code into), and fast=True does not go through it."""
    X, _, labels = small_problem(seed=7, m=95, sizes=(784, 30, 10))
    calls = []

    class Counting(Network):
        def update_mini_batch(self, mini_batch, eta, lmbda=0.0, n=None):
            calls.append(("update", len(mini_batch), mini_batch[0][0].shape, mini_batch[0][1].shape))
            super().update_mini_batch(mini_batch, eta, lmbda, n)

        def backprop(self, x, y, **kw):
            calls.append(("backprop", x.shape, y.shape))
            return super().backprop(x, y, **kw)

    Counting([784, 30, 10], seed=0).SGD((X.T, labels), 1, 10, 3.0, on_epoch=lambda h: None)
    updates = [c for c in calls if c[0] == "update"]
    assert len(updates) == 10 and updates[0] == ("update", 10, (784, 1), (10, 1)) and updates[-1][1] == 5
    assert calls[1] == ("backprop", (784, 10), (10, 10)) and len(calls) == 20   # one matrix call per mini-batch
    calls.clear()
    Counting([784, 30, 10], seed=0).SGD((X.T, labels), 1, 10, 3.0, fast=True, on_epoch=lambda h: None)
    assert calls == []

    class Frozen(Network):
        def backprop(self, x, y, **kw):              # a "learner's" backprop that returns zero gradients
            nabla_b, nabla_w = super().backprop(x, y, **kw)
            return [0 * g for g in nabla_b], [0 * g for g in nabla_w]

    frozen = Frozen([784, 30, 10], seed=0)
    before = [w.copy() for w in frozen.weights]
    frozen.SGD((X.T, labels), 1, 10, 3.0, on_epoch=lambda h: None)
    for p, q in zip(before, frozen.weights):
        np.testing.assert_array_equal(p, q)


def test_same_seed_same_numbers():
    X, _, labels = small_problem(seed=4, m=200, sizes=(784, 30, 10))
    runs = []
    for _ in range(2):
        net = Network([784, 30, 10], cost="cross-entropy", init="scaled", seed=11, dtype=np.float32)
        hist = net.SGD((X.T, labels), 2, 10, 0.5, lmbda=1.0, evaluation_data=(X.T[:50], labels[:50]),
                       monitor=True, on_epoch=lambda h: None)
        runs.append((net, hist))
    for p, q in zip(runs[0][0].weights + runs[0][0].biases, runs[1][0].weights + runs[1][0].biases):
        np.testing.assert_array_equal(p, q)
    assert runs[0][1]["training_cost"] == runs[1][1]["training_cost"]
    other = Network([784, 30, 10], cost="cross-entropy", init="scaled", seed=12, dtype=np.float32)
    assert not np.array_equal(other.weights[0], runs[0][0].weights[0])


@pytest.mark.parametrize("cost,output,lmbda,m,dtype", [(*v, 10, np.float64) for v in VARIANTS]
                         + [("quadratic", "sigmoid", 0.0, 7, np.float64),
                            ("cross-entropy", "sigmoid", 3.0, 10, np.float32)])
def test_fast_path_equals_readable_path(cost, output, lmbda, m, dtype):
    """SGD(fast=True) (bias folded into the weights, chunked gathers, a short last mini-batch) takes
    the steps that the readable update_mini_batch + backprop take on the same seed: the same weights
    to float tolerance, and the same accuracy after every epoch."""
    sizes, n, eta = (20, 7, 6, 5), 1037, 0.5             # 1037: chunks of 1000 (994 for m = 7), a short last batch
    rng = np.random.default_rng(1)
    X, labels = rng.random((n, sizes[0])).astype(dtype), rng.integers(0, sizes[-1], n)
    val = (X[:300], labels[:300])
    histories = []
    nets = [Network(sizes, cost=cost, output=output, seed=3, dtype=dtype) for _ in range(2)]
    for net, fast in zip(nets, (False, True)):
        histories.append(net.SGD((X, labels), 3, m, eta, lmbda=lmbda, evaluation_data=val, fast=fast,
                                 on_epoch=lambda h: None))
    readable, fast = nets
    for p, q in zip(fast.weights + fast.biases, readable.weights + readable.biases):
        assert p.dtype == q.dtype == dtype
        np.testing.assert_allclose(p, q, rtol=0, atol=1e-12 if dtype == np.float64 else 1e-5)
    if dtype == np.float64:
        assert histories[0]["evaluation_accuracy"] == histories[1]["evaluation_accuracy"]
    else:  # float32 rounding may tip an example that sits on a decision boundary
        assert histories[0]["evaluation_accuracy"] == pytest.approx(histories[1]["evaluation_accuracy"], abs=2 / 300)
    np.testing.assert_allclose(histories[0]["evaluation_cost"], histories[1]["evaluation_cost"], rtol=1e-5)
    assert not np.allclose(fast.weights[0], Network(sizes, cost=cost, output=output, seed=3).weights[0])


def test_init_scales():
    large = Network([784, 100, 10], init="large", seed=0)
    scaled = Network([784, 100, 10], init="scaled", seed=0)
    assert abs(large.weights[0].std() - 1.0) < 0.02
    assert abs(scaled.weights[0].std() - 1 / np.sqrt(784)) < 0.001
    assert scaled.biases[0].shape == (100, 1) and scaled.weights[1].shape == (10, 100)


def test_early_stopping_and_halving_stop_and_keep_best():
    X, _, labels = small_problem(seed=6, m=300, sizes=(784, 30, 10))   # random labels: no progress
    net = Network([784, 30, 10], init="scaled", cost="cross-entropy", seed=0)
    hist = net.SGD((X.T, labels), 50, 10, 0.1, evaluation_data=(X.T[:100], (labels[:100] + 1) % 10),
                   early_stop=2, on_epoch=lambda h: None)
    assert len(hist["epoch"]) < 50
    best = max(hist["evaluation_accuracy"])
    assert net.accuracy((X.T[:100], (labels[:100] + 1) % 10)) / 100 == pytest.approx(best)
    net = Network([784, 30, 10], init="scaled", cost="cross-entropy", seed=0)
    hist = net.SGD((X.T, labels), 100, 10, 0.1, evaluation_data=(X.T[:100], (labels[:100] + 1) % 10),
                   halve=1, on_epoch=lambda h: None)
    assert hist["eta"][0] == 0.1 and min(hist["eta"]) < 0.1 / 32 and len(hist["epoch"]) < 100


def test_importing_digits_does_not_import_torch():
    modules = ", ".join(f"nn2gpt.digits.{m}" for m in ("network", "fast_epoch", "costs", "data", "model", "image",
                                                        "plots", "conv", "cli"))
    code = f"import sys, {modules}; assert 'torch' not in sys.modules, 'torch was imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


class _CreatesMarker:
    """Unpickling this calls open(path, "w"), which creates `path`: proof that a pickle was loaded."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


def test_loading_a_model_never_unpickles(tmp_path):
    """weights.npz with a pickled object array in it: `digits predict` refuses it in one line and
    the pickle never runs (np.load with allow_pickle=True would run it: checked on a probe)."""
    from PIL import Image, ImageDraw

    from nn2gpt.digits.model import WEIGHTS, save_model

    model = save_model(Network([784, 30, 10], seed=0), tmp_path / "model")
    picture = tmp_path / "one.png"
    im = Image.new("L", (56, 56), 255)
    ImageDraw.Draw(im).line([(28, 8), (28, 48)], fill=0, width=6)
    im.save(picture)
    cmd = [sys.executable, "-m", "nn2gpt", "digits", "predict", str(picture), "--model", str(model)]
    ok = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and ok.stdout.startswith("digit: "), ok.stderr  # the genuine model loads

    def malicious(marker) -> bytes:
        with np.load(model / WEIGHTS) as f:
            arrays = {k: f[k] for k in f.files}  # the real weights and config...
        assert "config" in arrays and "w1" in arrays
        arrays["w1"] = np.array([_CreatesMarker(marker)], dtype=object)  # ...with one pickled object array
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return buf.getvalue()

    probe, marker = tmp_path / "probe", tmp_path / "marker"
    with np.load(io.BytesIO(malicious(probe)), allow_pickle=True) as f:
        f["w1"]
    assert probe.exists()  # the payload is live
    (model / WEIGHTS).write_bytes(malicious(marker))
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert lines[0].startswith("nn2gpt digits: error:") and WEIGHTS in lines[0] and "corrupt" in lines[0], lines
    assert not marker.exists()
