"""`nn2gpt learn run digits`: the book's chapter-1 network trained on MNIST with the learner's code.

The setting is the book's (784-30-10, mini-batch 10, eta = 3.0, quadratic cost, N(0, 1) weights)
and the flags are `nn2gpt digits train`'s, with those defaults. Each of chapter 1's pieces the
training uses - sigmoid, feedforward, backprop, update_mini_batch - is the learner's if it
passes its check now, and the reference's (the exercise's solution) otherwise; the run says
which is which. The learner's functions are methods of chapter 1's `Network`, and training is
its own `SGD` loop, which hands `update_mini_batch` the book's list of (x, y) tuples. A passed
`backprop_matrix` replaces `backprop` (the mini-batch as one matrix), and `--cost cross-entropy`
trains with network2.py's backprop, whose BP1 is the learner's `CrossEntropyCost.delta`; a passed
exercise the run has no place for is named as such.

The reference trains first, from the same seed (same initial weights, same shuffles), with the
exercises' solutions in the learner's methods' places and through the same loop (one example
at a time, or the mini-batch as one matrix where the learner's backprop_matrix is used), so each
epoch's validation accuracy is printed beside the reference's: the same, to the last bit, when
the learner's code is right and does the book's arithmetic in the book's order (code that adds
in another order differs in the last bits, and training carries that on: docs/learn.md says by
how much). curve.png draws the reference's curves beside the learner's. The run is saved like any `digits train` run (same lock, atomic saves),
with `"learn"` in its config naming the learner's pieces, so the studio shows it as theirs.
Ctrl-C or SIGTERM stops the learner's training after the mini-batch in flight and saves the
weights as they are (`stopped_by` in the config), one line, exit 130 or 143, as `digits train` does;
during the reference, the one line says that the learner's run never started and nothing was
written to --out (pieces.reference_first).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nn2gpt.errors import UserError
from nn2gpt.loop import Diverged
from nn2gpt.learn.pieces import listing

USED = ("sigmoid", "feedforward", "backprop", "update_mini_batch")
MATRIX, CE = "backprop_matrix", "cross_entropy"     # used when they pass / with --cost cross-entropy
NETWORK2 = "backprop (network2.py's: BP1 is the cost's delta)"
BOOK = {"sizes": "784,30,10", "epochs": 30, "batch": 10, "eta": 3.0, "cost": "quadratic", "init": "large",
        "lmbda": 0.0, "dtype": "float64", "out": "runs/learn-digits"}
REFUSED = {"softmax": "--softmax", "early_stop": "--early-stop", "halve": "--halve", "trace": "--trace",
           "monitor_train": "--monitor-train"}
HIDDEN = (*REFUSED, "fast", "lmbda", "init")   # `digits train`'s flags this milestone refuses: not in its --help


def parser():
    from nn2gpt.cli import subcommands
    from nn2gpt.digits.cli import build_parser

    p = subcommands(build_parser())["train"]
    p.prog = "nn2gpt learn run digits"
    p.description = ("Train the book's chapter-1 network on MNIST with your workbook's functions (the reference "
                     "for those not passed yet). The flags are those of `nn2gpt digits train` that chapter 1's "
                     "network has; defaults are the book's: "
                     + " ".join(f"--{k} {v}" for k, v in BOOK.items() if k not in (*HIDDEN, "dtype", "out")) + ".")
    p.set_defaults(**BOOK)
    for action in p._actions:
        if action.dest in HIDDEN:       # still parsed, to be refused by name (run), but never offered
            action.help = argparse.SUPPRESS
        elif action.dest in BOOK and action.help:
            action.help = action.help.split(" (default")[0] + f" (default {BOOK[action.dest]})"
        if action.dest == "cost":
            action.metavar = "{quadratic,cross-entropy}"
    return p


def pieces(book, cost: str) -> tuple[dict, list[str], list[str], dict[str, str]]:
    """The training's functions {name: function}, the learner's where they pass now; the names of
    the pieces used that are theirs and that are the reference's; and {name: why} for the passed
    exercises this run has no place for."""
    from nn2gpt.learn.loading import pick
    from nn2gpt.learn.pieces import Pieces

    checked = Pieces(book, (*USED, MATRIX, CE))
    mine = checked.mine((*USED, MATRIX, CE))
    if cost == "cross-entropy":   # network.py's BP1 is cost_derivative * sigma'(z): no place for cost.delta
        why = "its BP1 is the quadratic cost's; --cost cross-entropy trains with network2.py's backprop"
        unused = {name: why for name in ("backprop", MATRIX) if name in mine}
        used = ["sigmoid", "feedforward", "update_mini_batch", CE]
    else:
        unused = {CE: "the run's cost is quadratic; --cost cross-entropy trains with it"} if CE in mine else {}
        if MATRIX in mine:
            unused["backprop"] = f"{MATRIX} does its work, on the whole mini-batch at once"
        used = ["sigmoid", "feedforward", MATRIX if MATRIX in mine else "backprop", "update_mini_batch"]
    sigmoids = checked.module("sigmoid")
    sig = {"sigmoid": pick(sigmoids, "sigmoid"), "sigmoid_prime": pick(sigmoids, "sigmoid_prime")}
    # the learner's sigmoid wherever a file uses the stubs' import (from nn2gpt.learn.ch1 import sigmoid)
    methods = {name: checked.function(name, "CrossEntropyCost" if name == CE else name, given=sig)
               for name in used[1:]}
    theirs = checked.theirs(used) + ([NETWORK2] if cost == "cross-entropy" else [])
    return methods, checked.mine(used), theirs, unused


def solution_methods(methods: dict) -> dict:
    """The same methods as `methods` (the names `pieces` chose), each the exercise's solution: the
    reference the learner's run is compared with takes the very same steps, so right code gives
    the same validation accuracy and cost at every epoch, to the last bit."""
    from nn2gpt.learn.loading import load_file, pick
    from nn2gpt.learn.registry import find

    sigmoids = load_file(find("sigmoid").solution, "reference_digits_sigmoid")
    sig = {"sigmoid": sigmoids.sigmoid, "sigmoid_prime": sigmoids.sigmoid_prime}   # as `pieces` gives the learner's files
    return {name: pick(load_file(find(name).solution, f"reference_digits_{name}", sig),
                       "CrossEntropyCost" if name == CE else name) for name in methods}


def learner_network(methods: dict):
    """Chapter 1's Network with the book's methods swapped in. Its SGD hands update_mini_batch the
    book's list of (x (784, 1), y (10, 1)) tuples and the L2 settings, which chapter 1 has not (0).

    With a backprop_matrix (or, for the cross-entropy, nn2gpt's Network.backprop, which is network2.py's
    with the learner's CrossEntropyCost.delta as BP1), update_mini_batch gets the mini-batch as ONE pair
    (X (784, m), Y (10, m)) and eta / m: its loop runs once, the backprop returns the gradient summed
    over the m columns, and the step is the same - eta / m times the sum - as over the m tuples."""
    import numpy as np

    from nn2gpt.digits.network import Network

    matrix = MATRIX in methods or CE in methods

    def update_mini_batch(self, mini_batch, eta, lmbda=0.0, n=None):
        if not matrix:
            return methods["update_mini_batch"](self, mini_batch, eta)
        X = np.hstack([x for x, _ in mini_batch])   # (784, m)
        Y = np.hstack([y for _, y in mini_batch])   # (10, m)
        methods["update_mini_batch"](self, [(X, Y)], eta / len(mini_batch))

    body = {"feedforward": methods["feedforward"], "update_mini_batch": update_mini_batch}
    if CE in methods:
        def output_error(self, a, y):                # z = sigma^-1(a), for a delta(z, a, y) that reads z
            with np.errstate(divide="ignore"):
                z = np.log(a) - np.log1p(-a)
            return methods[CE].delta(z, a, y)
        body["output_error"] = output_error
    else:
        body["backprop"] = methods.get(MATRIX) or methods["backprop"]
    return type("LearnerNetwork", (Network,), body)


def agreement(history: dict, reference: dict) -> str:
    """One line: whether the learner's run took the reference's very steps, and if not, from when."""
    mine, theirs = history.get("evaluation_cost", []), reference["evaluation_cost"][:len(history.get("epoch", []))]
    if mine == theirs:
        return "the same validation cost as the reference's at every epoch, to the last bit: the book's very steps"
    first = next(k for k, (a, b) in enumerate(zip(mine, theirs)) if a != b) + 1
    gap = max(abs(a - b) for a, b in zip(history["evaluation_accuracy"], reference["evaluation_accuracy"]))
    return (f"yours leaves the reference's steps at epoch {first} (at most {100 * gap:.2f} points apart): the same "
            f"maths added in another order does that, up to about 0.3 points by epoch 10 (docs/learn.md); far more "
            f"is a mistake the checks did not catch")


def stoppable(stop):
    """SGD's progress(batches, epoch) for the reference: once Ctrl-C or SIGTERM has set `stop`'s flag
    (interrupt.StopOnCtrlC), the mini-batch in flight finishes and `Stopped` ends the reference
    (pieces.reference_first says the learner's run never started). A flag read between two
    mini-batches, as every trainer stops: an exception raised wherever the signal lands may land
    in code that swallows it, and the reference would train on to its last epoch."""
    from nn2gpt.interrupt import Stopped

    def progress(batches, epoch):
        for mini_batch in batches:
            yield mini_batch
            if stop.set:
                raise Stopped(stop.signum)
    return progress


def run(book, flags: list[str]) -> int:
    from nn2gpt.runout import check_new_run
    from nn2gpt.digits.cli import parse_sizes
    from nn2gpt.runlock import RunLock

    args = parser().parse_args(flags)
    if args.fast:
        raise UserError("--fast trains with nn2gpt's own loop (digits/fast_epoch.py), not with your functions; "
                        "drop it")
    for dest, flag in REFUSED.items():
        if getattr(args, dest):
            raise UserError(f"{flag} is not part of the book's chapter-1 network, which this milestone trains; "
                            f"drop it (nn2gpt digits train has it)")
    if args.init != "large":
        raise UserError(f"--init {args.init} is chapter 3's; the book's chapter-1 network, which this milestone "
                        f"trains, starts from N(0, 1) weights: drop --init")
    if args.cost not in ("quadratic", "cross-entropy") or args.lmbda:
        raise UserError("chapter 1's network.py has the quadratic cost and no L2, and the workbook adds the "
                        "cross-entropy: drop --lmbda, and --cost other than those (nn2gpt digits train has them)")
    sizes = parse_sizes(args.sizes)
    out = Path(args.out)
    with RunLock(out):
        check_new_run(out, "digits", args.overwrite, resume_hint=False)
        return _train(book, args, sizes, out)


def _train(book, args, sizes, out: Path) -> int:
    import numpy as np

    from nn2gpt.data.mnist import load_mnist
    from nn2gpt.digits.guard import guarded_sgd, interrupted
    from nn2gpt.digits.model import save_model
    from nn2gpt.digits.network import Network
    from nn2gpt.digits.plots import learning_curve
    from nn2gpt.interrupt import StopOnCtrlC
    from nn2gpt.learn.pieces import raised, reference_first

    methods, mine, theirs, unused = pieces(book, args.cost)
    print(listing(mine, theirs, unused=unused))
    mnist = load_mnist(args.data_dir, dtype=np.dtype(args.dtype))
    X, labels = mnist.train.images, mnist.train.labels
    if args.limit:
        X, labels = X[:args.limit], labels[:args.limit]
    print(f"network {sizes}, {args.cost} cost, N(0, 1) init, {args.dtype}; {len(labels):,} training examples, "
          f"mini-batch {args.batch}, eta {args.eta}, seed {args.seed}")
    kw = dict(evaluation_data=mnist.validation, on_epoch=lambda h: None)
    common = (sizes, args.cost, "large", "sigmoid", args.seed, args.dtype)
    with reference_first("digits", out), np.errstate(all="ignore"), StopOnCtrlC() as stop:
        print("training the reference first (same seed, same epochs, the same steps as yours) ...", flush=True)
        # the solutions in the shape of the learner's run (one example at a time, or the mini-batch as
        # one matrix), through the same loop: right code gives the very same numbers, not nearly them
        reference = learner_network(solution_methods(methods))(*common).SGD(
            (X, labels), args.epochs, args.batch, args.eta, progress=stoppable(stop), **kw)
    ref = reference["evaluation_accuracy"]

    net = learner_network(methods)(*common)

    def report(h):
        k = len(h["epoch"])
        print(f"epoch {k:>3}/{args.epochs}: validation yours {100 * h['evaluation_accuracy'][-1]:6.2f}%   "
              f"reference {100 * ref[k - 1]:6.2f}%   {h['seconds'][-1]:.1f} s", flush=True)

    try:  # Ctrl-C, SIGTERM and divergence as in `nn2gpt digits train` (digits/guard.py)
        history, stop, seconds = guarded_sgd(net, (X, labels), args.epochs, args.batch, args.eta,
                                             validation=mnist.validation, report=report,
                                             start_cost=Network(*common).total_cost(mnist.validation))
    except Diverged:
        raise
    except Exception as e:  # the learner's code raised mid-training: one line, at their file, line and exercise
        raise UserError(raised(book, e, "nothing was saved", yours=mine)) from None
    print(agreement(history, reference), flush=True)
    correct = net.accuracy(mnist.test)
    settings = {k: getattr(args, k) for k in ("epochs", "batch", "eta", "lmbda", "seed", "limit")} \
        | ({"stopped_by": stop.name} if stop.set else {})
    learn = {"yours": mine, "reference": theirs, "not_used": sorted(unused),
             "reference_evaluation_accuracy": ref, "reference_evaluation_cost": reference["evaluation_cost"],
             "milestone": "digits"}
    save_model(net, out, {"train": settings, "history": history,
                          "test_accuracy": correct / len(mnist.test), "train_seconds": seconds, "learn": learn})
    if stop.set:
        print(interrupted(stop, history, seconds, out, correct / len(mnist.test)), flush=True)
        return stop.status
    curve = learning_curve(history, out / "curve.png", reference=reference)
    epochs = len(history["epoch"])
    print(f"trained {epochs} epoch{'' if epochs == 1 else 's'} in {seconds:.1f} s with your code; saved in {out}/ "
          f"(learning curve {curve}); open it with `nn2gpt studio --runs {out.parent}`")
    print(f"test accuracy: {100 * correct / len(mnist.test):.2f}% ({correct} / {len(mnist.test)})")
    return 0

