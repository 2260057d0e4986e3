"""Chapter 1 stretch: the numpy convolutional network (nn2gpt.digits.conv) on the real MNIST.

    .venv/bin/python bench/digits_conv_bench.py [--epochs 8] [--limit N]

conv(5x5,20)-pool-ReLU -> conv(5x5,40)-pool-ReLU -> FC 100 ReLU -> softmax, momentum SGD
(0.9), mini-batch 50, L2 1e-4, eta 0.02 (1 - epoch/epochs) per epoch. The weights of the epoch
with the best validation accuracy are scored on the test set. Target: >= 99.0% in <= 10 min.
"""

from __future__ import annotations

import argparse
import copy
import os
import time

# One BLAS thread: measured 32 ms of CPU per mini-batch step with one, 92 ms with two (busy box).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from nn2gpt.data.mnist import load_mnist  # noqa: E402
from nn2gpt.digits.conv import ConvNet  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--eta", type=float, default=0.02)
    ap.add_argument("--lmbda", type=float, default=1e-4)
    ap.add_argument("--limit", type=int, help="train on the first N examples (a quick check)")
    args = ap.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, {os.cpu_count()} cores, numpy {np.__version__}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'default')}, "
          f"load average {os.getloadavg()[0]:.2f}")
    mnist = load_mnist(dtype="float32")
    x, y = mnist.train.images[:args.limit], mnist.train.labels[:args.limit]
    net = ConvNet(seed=0)
    start = time.perf_counter()
    best, best_params = -1.0, None
    steps_per_epoch = -(-len(x) // args.batch)
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        eta = args.eta * (1 - epoch / args.epochs)
        loss = net.train_epoch(x, y, args.batch, eta, momentum=0.9, lmbda=args.lmbda)
        val = net.accuracy(mnist.validation.images, mnist.validation.labels)
        if val > best:
            best, best_params = val, copy.deepcopy(net.params)
        print(f"epoch {epoch + 1}/{args.epochs}: loss {loss:.4f}  validation {100 * val:.2f}%  eta {eta:.4f}  "
              f"{time.perf_counter() - t0:.0f} s ({steps_per_epoch} steps)", flush=True)
    net.params = best_params
    total = time.perf_counter() - start
    test = net.accuracy(mnist.test.images, mnist.test.labels)
    print(f"conv net: {args.epochs} epochs in {total:.0f} s ({total / 60:.1f} min); best validation {100 * best:.2f}%; "
          f"test accuracy {100 * test:.2f}%; load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    from nn2gpt.errors import UserError

    try:
        main()
    except UserError as e:  # a run that diverges (nn2gpt.loop.Diverged): one line, exit 2
        raise SystemExit(f"digits_conv_bench: error: {e}") from None
