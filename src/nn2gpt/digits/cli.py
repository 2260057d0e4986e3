"""`nn2gpt digits`: train Nielsen's network on MNIST, classify your own picture, show mistakes.

    nn2gpt digits train [--sizes 784,100,10] [--epochs 10] ... [--out runs/digits] [--trace] [--fast]
    nn2gpt digits predict IMAGE.png --model runs/digits
    nn2gpt digits show --model runs/digits [--out misclassified.png]

numpy, tqdm, Pillow and matplotlib are imported inside the functions so `--help` is instant.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from nn2gpt.cli import SEED, Number, Parser, positive
from nn2gpt.errors import UserError

# The book's matrices are tiny (e.g. (100, 10) @ (10, 784) per step): a second BLAS thread spends
# more time synchronising than multiplying. Measured on the 2-core box under load: 46 us on one
# thread, 1.7 ms of CPU with two. Set before numpy is first imported; an explicit setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

BOOK = "nn2gpt digits train --sizes 784,30,10 --epochs 30 --batch 10 --eta 3.0 --cost quadratic --init large --lmbda 0"


def parse_sizes(text: str) -> list[int]:
    """'784,30,10' -> [784, 30, 10]; the input layer must be 784 pixels, the output 10 digits."""
    parts = text.split(",")
    if len(parts) < 2 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise UserError(f"--sizes {text!r} is malformed; give positive layer sizes separated by commas, "
                        f"e.g. --sizes 784,30,10")
    sizes = [int(p) for p in parts]
    if sizes[0] != 784 or sizes[-1] != 10:
        raise UserError(f"--sizes {text!r} must start with 784 (28x28 pixels) and end with 10 (digits), "
                        f"e.g. --sizes 784,30,10")
    return sizes


def build_parser() -> Parser:
    p = Parser(prog="nn2gpt digits", description="Chapter 1: Nielsen's MNIST digit network in numpy.",
               epilog=f"The book's chapter-1 setting: {BOOK}")
    sub = p.add_subparsers(dest="action", required=True, metavar="{train,predict,show}", parser_class=Parser)
    t = sub.add_parser("train", help="train on MNIST (50k train / 10k validation / 10k test)",
                       description="Train by mini-batch SGD through Network.update_mini_batch and "
                                   "Network.backprop (src/nn2gpt/digits/network.py; --fast: the same steps in "
                                   "a leaner loop); prints validation accuracy per epoch and the final test "
                                   "accuracy; saves weights.npz, config.json, curve.png in --out. "
                                   f"The book's chapter-1 setting: {BOOK}")
    t.add_argument("--sizes", default="784,100,10", help="neurons per layer (default 784,100,10)")
    t.add_argument("--epochs", type=positive(int), default=10, help="passes over the training data (default 10)")
    t.add_argument("--batch", type=positive(int), default=10, help="mini-batch size m (default 10)")
    t.add_argument("--eta", type=positive(float), default=0.5, help="learning rate (default 0.5)")
    t.add_argument("--cost", choices=["quadratic", "cross-entropy", "log-likelihood"],
                   help="cost function (default cross-entropy; log-likelihood with --softmax)")
    t.add_argument("--lmbda", type=Number(float, 0), default=5.0, help="L2 regularization strength (default 5.0; 0 = off)")
    t.add_argument("--init", choices=["large", "scaled"], default="scaled",
                   help="weights N(0,1) (large, ch.1) or N(0,1/n_in) (scaled, ch.3; default)")
    t.add_argument("--softmax", action="store_true", help="softmax output layer (implies log-likelihood cost)")
    t.add_argument("--early-stop", type=positive(int), metavar="N", help="stop after N epochs without better validation accuracy")
    t.add_argument("--halve", type=positive(int), metavar="N",
                   help="halve eta after N epochs without better validation accuracy; stop at eta/128")
    t.add_argument("--monitor-train", action="store_true", help="also compute training cost and accuracy each epoch")
    t.add_argument("--fast", action="store_true",
                   help="the fast path: train with digits/fast_epoch.py, the same steps as the readable "
                        "update_mini_batch in fewer numpy calls (faster, harder to read)")
    t.add_argument("--dtype", choices=["float32", "float64"], default="float32", help="float type (default float32)")
    t.add_argument("--limit", type=positive(int), metavar="N", help="train on the first N training examples only")
    t.add_argument("--seed", type=SEED, default=0, help="random seed, 0 to 2**32-1 (default 0): same seed, same numbers")
    t.add_argument("--out", default="runs/digits", help="model directory to write (default runs/digits)")
    t.add_argument("--overwrite", action="store_true", help="replace the model already in --out")
    t.add_argument("--data-dir", help="directory holding mnist/ (default: $NN2GPT_DATA, then the cache)")
    t.add_argument("--trace", action="store_true", help="print every array's shape through loading and one "
                                                        "forward and backward pass")
    pr = sub.add_parser("predict", help="classify a picture of a digit (any size, either polarity)")
    pr.add_argument("image", help="PNG/JPEG file of one handwritten digit (at most 4096 pixels a side)")
    pr.add_argument("--model", default="runs/digits", help="model directory (default runs/digits)")
    pr.add_argument("--trace", action="store_true", help="print the shapes through preprocessing and the forward pass")
    s = sub.add_parser("show", help="save a grid of misclassified test digits as a PNG")
    s.add_argument("--model", default="runs/digits", help="model directory (default runs/digits)")
    s.add_argument("--out", help="PNG to write (default MODEL/misclassified.png)")
    s.add_argument("--overwrite", action="store_true", help="replace the PNG if it exists")
    s.add_argument("--data-dir", help="directory holding mnist/ (default: $NN2GPT_DATA, then the cache)")
    return p


def parsers() -> dict:
    from nn2gpt.cli import subcommands

    return subcommands(build_parser())


def main(argv: list[str]) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    return {"train": train, "predict": predict, "show": show}[args.action](args)


def _shape(name: str, array) -> None:
    print(f"  {name:<44} {str(tuple(array.shape)):>12}")


def train(args) -> int:
    sizes = parse_sizes(args.sizes)
    cost = args.cost or ("log-likelihood" if args.softmax else "cross-entropy")
    output = "softmax" if args.softmax or cost == "log-likelihood" else "sigmoid"
    from nn2gpt.runout import check_new_run
    from nn2gpt.runlock import RunLock

    out = Path(args.out)
    with RunLock(out):  # before training: --out must be writable, and no other process writing it
        check_new_run(out, "digits", args.overwrite, resume_hint=False)
        return _train(args, sizes, cost, output, out)


def _train(args, sizes, cost, output, out: Path) -> int:
    import numpy as np
    from tqdm import tqdm

    from nn2gpt.data.mnist import load_mnist
    from nn2gpt.digits.data import one_hot, trace_loading
    from nn2gpt.digits.model import save_model
    from nn2gpt.digits.network import Network
    from nn2gpt.digits.plots import learning_curve

    mnist = load_mnist(args.data_dir, dtype=np.dtype(args.dtype))
    train_x, train_y = mnist.train.images, mnist.train.labels
    if args.limit:
        train_x, train_y = train_x[:args.limit], train_y[:args.limit]
    net = Network(sizes, cost=cost, init=args.init, output=output, seed=args.seed, dtype=args.dtype)
    print(f"network {sizes}, {cost} cost, {output} output, {args.init} init, {args.dtype}; "
          f"{len(train_y):,} training examples, mini-batch {args.batch}, eta {args.eta}, lmbda {args.lmbda}")
    if args.trace:
        trace_loading(mnist)
        m = min(args.batch, len(train_y))
        print(f"one forward and backward pass on the first mini-batch (m = {m}; the book's x is one column, m = 1):")
        net.backprop(train_x[:m].T, one_hot(train_y[:m], 10, train_x.dtype).T, trace=_shape)
        decay = "(1 - eta*lmbda/n) * " if args.lmbda else ""
        for l, (w, b) in enumerate(zip(net.weights, net.biases), start=1):
            _shape(f"update: w{l} = {decay}w{l} - eta/m * nabla_w{l}", w)
            _shape(f"update: b{l} -= eta/m * nabla_b{l}", b)
        print("evaluation:")
        _shape("feedforward(test images.T) -> a", np.empty((10, len(mnist.test))))
        _shape("argmax(a, axis=0) == labels", mnist.test.labels)

    from nn2gpt.digits.guard import guarded_sgd, interrupted

    def bar(batches, epoch):
        return tqdm(batches, desc=f"epoch {epoch + 1}/{args.epochs}", unit="batch", leave=False, file=sys.stderr,
                    disable=None, mininterval=0.5)

    def report(h):
        extra = ""
        if h["training_accuracy"]:
            extra = f"  train {100 * h['training_accuracy'][-1]:.2f}% (cost {h['training_cost'][-1]:.4f})"
        print(f"epoch {h['epoch'][-1]:>3}/{args.epochs}: validation {100 * h['evaluation_accuracy'][-1]:.2f}% "
              f"(cost {h['evaluation_cost'][-1]:.4f})"
              f"{extra}  eta {h['eta'][-1]:g}  {h['seconds'][-1]:.2f} s", flush=True)

    if args.eta * args.lmbda / len(train_y) >= 1:  # L2's weight decay factor 1 - eta*lmbda/n would be <= 0
        raise UserError(f"--eta {args.eta:g} times --lmbda {args.lmbda:g} over {len(train_y):,} examples is "
                        f"{args.eta * args.lmbda / len(train_y):g}: each step would flip the weights' sign; "
                        f"lower --eta or --lmbda")
    # Ctrl-C or SIGTERM: the weights as they are after the mini-batch in flight, saved below;
    # a diverging run (the validation cost past twice its start, or a weight past the limit): nothing saved
    history, stop, seconds = guarded_sgd(
        net, (train_x, train_y), args.epochs, args.batch, args.eta, validation=mnist.validation,
        start_cost=net.total_cost(mnist.validation, args.lmbda, len(train_y)), report=report, bar=bar,
        lmbda=args.lmbda, monitor=args.monitor_train, early_stop=args.early_stop, halve=args.halve, fast=args.fast)
    correct = net.accuracy(mnist.test)
    settings = {k: getattr(args, k) for k in ("epochs", "batch", "eta", "lmbda", "early_stop", "halve", "seed",
                                               "limit", "fast")} | ({"stopped_by": stop.name} if stop.set else {})
    try:
        save_model(net, out, {"train": settings, "history": history, "test_accuracy": correct / len(mnist.test),
                              "train_seconds": seconds})
    except OSError as e:
        raise UserError(f"could not save the model in {out} ({e.strerror or e}); whatever was saved there before is "
                        f"unchanged; free some disk space or fix the permissions and train again") from None
    curve = learning_curve(history, out / "curve.png") if history["epoch"] else None
    if stop.set:
        print(interrupted(stop, history, seconds, out, correct / len(mnist.test)), flush=True)
        return stop.status
    print(f"trained {len(history['epoch'])} epochs in {seconds:.1f} s; model saved in {out}/, learning curve {curve}")
    print(f"test accuracy: {100 * correct / len(mnist.test):.2f}% ({correct} / {len(mnist.test)})")
    return 0


def predict(args) -> int:
    import numpy as np

    from nn2gpt.digits.image import load_digit
    from nn2gpt.digits.model import load_model

    net, _ = load_model(args.model)          # check the model first: cheap, and the likelier mistake
    x = load_digit(args.image, _shape if args.trace else None).reshape(784, 1).astype(net.dtype)  # (784, 1)
    a = net.feedforward(x)[:, 0]                                     # (10,)
    if args.trace:
        _shape("x = pixels as the book's column", x)
        _shape("a = feedforward(x)", a.reshape(10, 1))
    probs = a if net.output == "softmax" else a / a.sum()
    digit = int(np.argmax(a))
    what = "softmax probabilities" if net.output == "softmax" else "output activations scaled to sum to 1"
    print(f"digit: {digit}")
    print(f"{what}:")
    for d, p in enumerate(probs):
        print(f"  {d}: {p:.4f}{'  <-' if d == digit else ''}")
    return 0


def show(args) -> int:
    import numpy as np

    from nn2gpt.data.mnist import load_mnist
    from nn2gpt.digits.model import load_model
    from nn2gpt.digits.plots import misclassified_grid
    from nn2gpt.outputs import writing

    out = Path(args.out) if args.out else Path(args.model) / "misclassified.png"
    if out.is_dir():
        raise UserError(f"--out {out} is a directory; give a file name such as {out / 'misclassified.png'}")
    with writing(out, owner="digits", overwrite=args.overwrite):  # never over a run's own files
        net, _ = load_model(args.model)
        test = load_mnist(args.data_dir, dtype=net.dtype).test
        predicted = np.argmax(net.predict(test.images), axis=1)
        misclassified_grid(test.images, test.labels, predicted, out)
    wrong = int(np.sum(predicted != test.labels))
    print(f"{wrong} of {len(test)} test digits misclassified ({100 * (1 - wrong / len(test)):.2f}% correct); "
          f"grid saved to {out}")
    return 0
