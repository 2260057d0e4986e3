"""Chapter 1 benchmark: accuracy and speed of nn2gpt.digits on the real MNIST.

    .venv/bin/python bench/digits_bench.py [--part a|b|all] [--peers DIR]

Run it with the machine to itself: it times things.
(a) Nielsen's chapter-1 setting: [784, 30, 10], quadratic cost, N(0,1) init, 30 epochs,
    mini-batch 10, eta 3.0. Both our paths run all 30 epochs in float32, alternately
    (--repeats times each): the readable default (`Network.update_mini_batch` + `backprop`)
    and the fast path (`--fast`, digits/fast_epoch.py); the readable path once more in float64.
    The peer runs a few epochs (--slow-epochs), extrapolated to 30; the test set is scored after
    every epoch, as the book does, and off the clock for both.
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
    """Nielsen's Network([784, 30, 10]).SGD(training, 1, 10, 3.0), `epochs` times: each epoch timed,
    then the test set scored with its own evaluate(), off the clock (as ours is)."""
    with tempfile.TemporaryDirectory(prefix="nielsen-") as tmp:
        network = nielsen_network(folder, Path(tmp))
    train, test = loader_format(mnist.train, True), loader_format(mnist.test, False)
    random.seed(0)
    np.random.seed(0)
    net = network.Network([784, 30, 10])
    seconds, accuracy = 0.0, []
    for _ in range(epochs):
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):   # its "Epoch 0 complete"
            net.SGD(train, 1, 10, 3.0)                      # one epoch: shuffle, then the mini-batches
        seconds += time.perf_counter() - start
        accuracy.append(net.evaluate(test) / len(test))
    return {"s_per_epoch": seconds / epochs, "accuracy": accuracy}


def part_a(mnist, epochs_slow: int, repeats: int, nielsen: Path) -> None:
    print("== (a) Nielsen ch.1: [784,30,10], quadratic, N(0,1) init, 30 epochs, batch 10, eta 3.0")
    paths = {"readable": False, "fast": True}
    runs = [(path, "float32") for _ in range(repeats) for path in paths] + [("readable", "float64")]
    per_epoch, accuracy = {}, {}
    for path, dtype in runs:
        data = load_mnist(dtype=dtype) if dtype != mnist.train.images.dtype.name else mnist
        net = Network([784, 30, 10], seed=0, dtype=dtype)
        cpu = time.process_time()
        hist = net.SGD(data.train, 30, 10, 3.0, test_data=data.test, fast=paths[path], on_epoch=lambda h: None)
        total, cpu = sum(hist["seconds"]), time.process_time() - cpu   # seconds: training only, scoring off the clock
        per_epoch.setdefault((path, dtype), []).append(total / 30)
        accuracy.setdefault((path, dtype), hist["test_accuracy"])
        print(f"ours, {path} path, {dtype}: 30 epochs trained in {total:.1f} s ({total / 30:.3f} s/epoch; "
              f"{cpu:.1f} s CPU with scoring); test accuracy {100 * hist['test_accuracy'][-1]:.2f}% "
              f"(best epoch {100 * max(hist['test_accuracy']):.2f}%)", flush=True)
    peer = run_peer(nielsen, mnist, epochs_slow)
    book_s = peer["s_per_epoch"]
    print(f"peer: the book's network.py (its own code, Python 3), float64 weights: {book_s:.2f} s/epoch over "
          f"{epochs_slow} epochs -> {30 * book_s:.0f} s for 30 (extrapolated); test accuracy per epoch "
          + ", ".join(f"{100 * a:.2f}%" for a in peer["accuracy"]))
    median = {k: float(np.median(v)) for k, v in per_epoch.items()}
    for path in paths:
        print(f"{path}, float32, {repeats} run(s): " + ", ".join(f"{30 * t:.1f}" for t in per_epoch[(path, "float32")])
              + f" s for 30 epochs; median {median[(path, 'float32')]:.3f} s/epoch")
    readable, fast = median[("readable", "float32")], median[("fast", "float32")]
    print(f"ratios per epoch: book's network.py / ours readable(float32) = {book_s / readable:.1f}x, "
          f"book's network.py / ours fast(float32) = {book_s / fast:.1f}x, readable / fast = {readable / fast:.2f}x, "
          f"readable float64 / float32 = {median[('readable', 'float64')] / readable:.2f}x")
    for path in paths:
        acc = ", ".join(f"{100 * a:.2f}%" for a in accuracy[(path, "float32")][:epochs_slow])
        print(f"test accuracy after epochs 1..{epochs_slow}: ours {path} (float32, first run) {acc}")
    print(f"test accuracy after epochs 1..{epochs_slow}: book's network.py "
          + ", ".join(f"{100 * a:.2f}%" for a in peer["accuracy"]))


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
    ap.add_argument("--slow-epochs", type=int, default=2, help="epochs for the book's network.py (extrapolated)")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each float32 path (the machine's speed drifts)")
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
