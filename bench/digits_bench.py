"""Chapter 1 benchmark: accuracy and speed of nn2gpt.digits on the real MNIST.

    flock /tmp/nn2gpt-bench.lock .venv/bin/python bench/digits_bench.py [--part a|b|all] [--peers DIR]

(a) Nielsen's chapter-1 setting: [784, 30, 10], quadratic cost, N(0,1) init, 30 epochs,
    mini-batch 10, eta 3.0. Our mini-batch path runs all 30 epochs (float32 and float64);
    our per-example path and the peer run for a few epochs (--slow-epochs) and are
    extrapolated to 30; the test set is scored after every epoch, as the book does.
    The peer is the book's own src/network.py (found in --peers, default ../shared/peers
    beside the repository), copied to a temporary directory and run there under Python 3
    after the only two changes allowed (xrange -> range, print statements -> print();
    peers.python3_source). Its mnist_loader cannot run unchanged under Python 3 (cPickle, and
    zip() is no list there), so this script hands network.Network.SGD the data in the shape
    load_data_wrapper() returns: lists of (x (784, 1) float32, y (10, 1) float64 one-hot)
    for training and (x, digit) for the test set, from the same MNIST files as ours.
(b) The book's chapter-3 network: [784, 100, 10], cross-entropy, L2 lmbda 5.0, mini-batch 10,
    N(0, 1/n_in) init: the book's 30 epochs at eta 0.5, its 60 epochs at eta 0.1, and eta 0.5
    with the halving schedule (patience 10); each scored on the test set with the weights of
    its best validation epoch.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import platform
import random
import re
import tempfile
import time
from pathlib import Path

# One BLAS thread, as `nn2gpt digits` uses (see nn2gpt/digits/cli.py): must precede numpy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from nn2gpt.data.mnist import load_mnist  # noqa: E402
from nn2gpt.digits.network import Network  # noqa: E402


def nielsen_network(folder: Path, tmp: Path):
    """The book's network.py as a module: a temporary copy, made Python 3 by the two allowed changes."""
    import peers

    src = peers.copy(folder, tmp / "nielsen") / "src"
    path = src / "network.py"
    path.write_text(peers.python3_source(path.read_text(encoding="utf-8")), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("network", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def loader_format(split, training: bool) -> list[tuple]:
    """What the book's mnist_loader.load_data_wrapper() returns, as a list (its Python 2 zip)."""
    xs = [x.reshape(784, 1) for x in split.images]
    if not training:
        return list(zip(xs, split.labels))
    ys = np.zeros((len(split.labels), 10, 1))  # float64, as its vectorized_result()
    ys[np.arange(len(split.labels)), split.labels, 0] = 1.0
    return list(zip(xs, ys))


def run_peer(folder: Path, mnist, epochs: int) -> dict:
    """Nielsen's Network([784, 30, 10]).SGD(training, epochs, 10, 3.0, test_data=test), timed."""
    with tempfile.TemporaryDirectory(prefix="nielsen-") as tmp:
        network = nielsen_network(folder, Path(tmp))
    train, test = loader_format(mnist.train, True), loader_format(mnist.test, False)
    random.seed(0)
    np.random.seed(0)
    net = network.Network([784, 30, 10])
    log = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(log):
        net.SGD(train, epochs, 10, 3.0, test_data=test)
    seconds = time.perf_counter() - start
    hits = [int(k) for k in re.findall(r"^Epoch \d+: (\d+) / 10000$", log.getvalue(), re.M)]
    if len(hits) != epochs:
        raise SystemExit(f"bench: unexpected output from the book's network.py: {log.getvalue()[-200:]!r}")
    return {"s_per_epoch": seconds / epochs, "accuracy": [h / 1e4 for h in hits]}


def part_a(mnist, epochs_slow: int, repeats: int, nielsen: Path) -> None:
    print("== (a) Nielsen ch.1: [784,30,10], quadratic, N(0,1) init, 30 epochs, batch 10, eta 3.0")
    results, accuracy = {}, {}
    for dtype in ["float32"] * repeats + ["float64"]:
        data = load_mnist(dtype=dtype) if dtype != mnist.train.images.dtype.name else mnist
        net = Network([784, 30, 10], seed=0, dtype=dtype)
        start, cpu = time.perf_counter(), time.process_time()
        hist = net.SGD(data.train, 30, 10, 3.0, test_data=data.test, on_epoch=lambda h: None)
        total, cpu = time.perf_counter() - start, time.process_time() - cpu
        results.setdefault(dtype + " runs", []).append(total)
        results[dtype] = float(np.median(results[dtype + " runs"]))
        accuracy.setdefault(dtype, hist["test_accuracy"])
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
    peer = run_peer(nielsen, mnist, epochs_slow)
    book_s = peer["s_per_epoch"]
    print(f"peer: the book's network.py (its own code, Python 3), float64 weights: {book_s:.2f} s/epoch over "
          f"{epochs_slow} epochs -> {30 * book_s:.0f} s for 30 (extrapolated); test accuracy per epoch "
          + ", ".join(f"{100 * a:.2f}%" for a in peer["accuracy"]))
    if repeats > 1:
        runs = ", ".join(f"{t:.1f}" for t in results["float32 runs"])
        print(f"float32, {repeats} runs of 30 epochs: {runs} s; median {results['float32']:.1f} s")
    ours = results["float32"] / 30
    print(f"ratios per epoch: book's network.py / ours mini-batch(float32) = {book_s / ours:.1f}x, "
          f"book's network.py / ours per-example(float64) = {book_s / per_example:.2f}x, "
          f"per-example / mini-batch(float32) = {per_example / ours:.1f}x, float64 / float32 = "
          f"{results['float64'] / results['float32']:.2f}x")
    ours_acc = ", ".join(f"{100 * a:.2f}%" for a in accuracy["float32"][:epochs_slow])
    print(f"test accuracy after epochs 1..{epochs_slow}: book's network.py "
          + ", ".join(f"{100 * a:.2f}%" for a in peer["accuracy"]) + f"; ours (float32, first run) {ours_acc}")


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
    ap.add_argument("--slow-epochs", type=int, default=2, help="epochs for our per-example path and the book's network.py (extrapolated)")
    ap.add_argument("--repeats", type=int, default=3, help="runs of the float32 path (the machine's speed drifts)")
    import peers

    peers.add_argument(ap)
    args = ap.parse_args()
    nielsen = peers.find(args.peers, "nielsen", "src/network.py") if args.part in ("a", "all") else None
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, "
          f"load average {os.getloadavg()[0]:.2f} at start; {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC")
    mnist = load_mnist(dtype="float32")
    if args.part in ("a", "all"):
        part_a(mnist, args.slow_epochs, args.repeats, nielsen)
    if args.part in ("b", "all"):
        part_b(mnist)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
