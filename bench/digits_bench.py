"""Chapter 1 benchmark: accuracy and speed of nn2gpt.digits on the real MNIST.

    flock /tmp/nn2gpt-bench.lock .venv/bin/python bench/digits_bench.py [--part a|b|all]

(a) Nielsen's chapter-1 setting: [784, 30, 10], quadratic cost, N(0,1) init, 30 epochs,
    mini-batch 10, eta 3.0. Our mini-batch path runs all 30 epochs (float32 and float64);
    our per-example path and the book's algorithm (a naive per-example loop written here the
    way the book's network.py works: Python lists of (x, y) tuples, random.shuffle, one
    backprop per example, new lists of arrays per step, float64 weights) run for a few epochs
    and are extrapolated to 30; the test set is scored after every epoch, as the book does.
(b) The book's chapter-3 network: [784, 100, 10], cross-entropy, L2 lmbda 5.0, mini-batch 10,
    N(0, 1/n_in) init: the book's 30 epochs at eta 0.5, its 60 epochs at eta 0.1, and eta 0.5
    with the halving schedule (patience 10); each scored on the test set with the weights of
    its best validation epoch.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time

# One BLAS thread, as `nn2gpt digits` uses (see nn2gpt/digits/cli.py): must precede numpy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from nn2gpt.data.mnist import load_mnist  # noqa: E402
from nn2gpt.digits.data import book_format  # noqa: E402
from nn2gpt.digits.network import Network  # noqa: E402


class BookAlgorithm:
    """The book's chapter-1 SGD, naive on purpose (our re-statement; the book's code is not copied).

    Everything is per example: x (784, 1), y (10, 1); the mini-batch gradient is a Python sum.
    """

    def __init__(self, sizes, seed):
        rs = np.random.RandomState(seed)
        self.biases = [rs.randn(n, 1) for n in sizes[1:]]
        self.weights = [rs.randn(n_out, n_in) for n_in, n_out in zip(sizes[:-1], sizes[1:])]

    @staticmethod
    def sig(z):
        return 1.0 / (1.0 + np.exp(-z))

    def gradient_one(self, x, y):
        a, acts, zs = x, [x], []
        for w, b in zip(self.weights, self.biases):
            z = np.dot(w, a) + b
            a = self.sig(z)
            zs.append(z)
            acts.append(a)
        grads_b = [np.zeros(b.shape) for b in self.biases]
        grads_w = [np.zeros(w.shape) for w in self.weights]
        d = (acts[-1] - y) * self.sig(zs[-1]) * (1 - self.sig(zs[-1]))
        grads_b[-1], grads_w[-1] = d, np.dot(d, acts[-2].T)
        for k in range(2, len(acts)):
            s = self.sig(zs[-k])
            d = np.dot(self.weights[-k + 1].T, d) * s * (1 - s)
            grads_b[-k], grads_w[-k] = d, np.dot(d, acts[-k - 1].T)
        return grads_b, grads_w

    def step(self, batch, eta):
        sum_b = [np.zeros(b.shape) for b in self.biases]
        sum_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in batch:
            gb, gw = self.gradient_one(x, y)
            sum_b = [s + g for s, g in zip(sum_b, gb)]
            sum_w = [s + g for s, g in zip(sum_w, gw)]
        self.weights = [w - (eta / len(batch)) * s for w, s in zip(self.weights, sum_w)]
        self.biases = [b - (eta / len(batch)) * s for b, s in zip(self.biases, sum_b)]

    def correct(self, test):
        hits = 0
        for x, label in test:
            a = x
            for w, b in zip(self.weights, self.biases):
                a = self.sig(np.dot(w, a) + b)
            hits += int(np.argmax(a) == label)
        return hits

    def epoch(self, train, m, eta, test):
        random.shuffle(train)
        for k in range(0, len(train), m):
            self.step(train[k:k + m], eta)
        return self.correct(test)


def part_a(mnist, epochs_slow: int, repeats: int) -> None:
    print("== (a) Nielsen ch.1: [784,30,10], quadratic, N(0,1) init, 30 epochs, batch 10, eta 3.0")
    results = {}
    for dtype in ["float32"] * repeats + ["float64"]:
        data = load_mnist(dtype=dtype) if dtype != mnist.train.images.dtype.name else mnist
        net = Network([784, 30, 10], seed=0, dtype=dtype)
        start, cpu = time.perf_counter(), time.process_time()
        hist = net.SGD(data.train, 30, 10, 3.0, test_data=data.test, on_epoch=lambda h: None)
        total, cpu = time.perf_counter() - start, time.process_time() - cpu
        results.setdefault(dtype + " runs", []).append(total)
        results[dtype] = float(np.median(results[dtype + " runs"]))
        print(f"ours, mini-batch matrix path, {dtype}: 30 epochs in {total:.1f} s wall, {cpu:.1f} s CPU "
              f"({total / 30:.3f} s/epoch); "
              f"test accuracy {100 * hist['test_accuracy'][-1]:.2f}% (best epoch {100 * max(hist['test_accuracy']):.2f}%)")
    net = Network([784, 30, 10], seed=0, dtype="float64")
    start = time.perf_counter()
    hist = net.SGD(mnist.train, epochs_slow, 10, 3.0, test_data=mnist.test, per_example=True, on_epoch=lambda h: None)
    per_example = (time.perf_counter() - start) / epochs_slow
    print(f"ours, per-example path (book's equations, one column at a time), float64: {per_example:.2f} s/epoch "
          f"over {epochs_slow} epochs -> {30 * per_example:.0f} s for 30 (extrapolated); "
          f"test accuracy after {epochs_slow}: {100 * hist['test_accuracy'][-1]:.2f}%")
    random.seed(0)
    train = book_format(mnist.train.images, mnist.train.labels, vector_labels=True)
    test = book_format(mnist.test.images, mnist.test.labels, vector_labels=False)
    book = BookAlgorithm([784, 30, 10], seed=0)
    start = time.perf_counter()
    for _ in range(epochs_slow):
        hits = book.epoch(train, 10, 3.0, test)
    book_s = (time.perf_counter() - start) / epochs_slow
    print(f"the book's algorithm (naive per-example loop, float64 weights): {book_s:.2f} s/epoch over "
          f"{epochs_slow} epochs -> {30 * book_s:.0f} s for 30 (extrapolated); test accuracy {hits / 100:.2f}%")
    if repeats > 1:
        runs = ", ".join(f"{t:.1f}" for t in results["float32 runs"])
        print(f"float32, {repeats} runs of 30 epochs: {runs} s; median {results['float32']:.1f} s")
    ours = results["float32"] / 30
    print(f"ratios per epoch: per-example / mini-batch(float32) = {per_example / ours:.1f}x, "
          f"book / mini-batch(float32) = {book_s / ours:.1f}x, float64 / float32 = "
          f"{results['float64'] / results['float32']:.2f}x")


def part_b(mnist) -> None:
    print("== (b) Nielsen ch.3: [784,100,10], cross-entropy, lmbda 5.0, batch 10, N(0,1/n_in) init")
    runs = [("the book's ch.3 run: 30 epochs, eta 0.5", 30, 0.5, None),
            ("the book's longer run: 60 epochs, eta 0.1", 60, 0.1, None),
            ("eta 0.5, halved after 10 epochs without improvement, up to 60 epochs", 60, 0.5, 10)]
    for name, epochs, eta, halve in runs:
        net = Network([784, 100, 10], cost="cross-entropy", init="scaled", seed=0, dtype="float32")
        start = time.perf_counter()
        hist = net.SGD(mnist.train, epochs, 10, eta, lmbda=5.0, evaluation_data=mnist.validation, halve=halve,
                       early_stop=epochs, on_epoch=lambda h: None)   # early_stop=epochs: keep the best weights
        total = time.perf_counter() - start
        best = int(np.argmax(hist["evaluation_accuracy"]))
        print(f"{name}: {len(hist['epoch'])} epochs in {total:.1f} s ({np.mean(hist['seconds']):.2f} s/epoch); "
              f"best validation {100 * hist['evaluation_accuracy'][best]:.2f}% at epoch {best + 1}; "
              f"test accuracy with those weights {100 * net.accuracy(mnist.test) / 1e4:.2f}%", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=["a", "b", "all"], default="all")
    ap.add_argument("--slow-epochs", type=int, default=2, help="epochs for the per-example paths (extrapolated)")
    ap.add_argument("--repeats", type=int, default=3, help="runs of the float32 path (the machine's speed drifts)")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, "
          f"load average {os.getloadavg()[0]:.2f} at start; {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC")
    mnist = load_mnist(dtype="float32")
    if args.part in ("a", "all"):
        part_a(mnist, args.slow_epochs, args.repeats)
    if args.part in ("b", "all"):
        part_b(mnist)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
