"""Chapter 1's training, stoppable and watched: what `digits train` and `learn run digits` share.

`Network.SGD` is the book's loop. Around it, every chapter's trainer promises two things
(nn2gpt.loop, docs/reliability.md), and this module keeps them for chapter 1 in one place:

- **Ctrl-C or SIGTERM** stops training after the mini-batch in flight - the weights are whole,
  never half-updated - and the caller saves them as they are and exits 130 or 143.
- **Divergence** stops training, with nothing saved: after every epoch, the validation cost past
  twice where it started (loop.Ceiling), or a weight past loop.WEIGHT_LIMIT (the book's quadratic
  cost saturates instead of climbing); and once more on the weights training ends with.
"""

from __future__ import annotations

import time

from nn2gpt.loop import Ceiling, Diverged, diverged_message, weights_problem


class _StopNow(Exception):
    """Ctrl-C or SIGTERM came: leave SGD between two mini-batches, then hand back what was trained."""


def guarded_sgd(net, training, epochs: int, batch: int, eta: float, *, validation, start_cost: float,
                report, bar=None, **sgd):
    """`net.SGD(training, epochs, batch, eta, evaluation_data=validation, **sgd)`, stoppable and watched.

    `start_cost` is the validation cost before training (the ceiling is twice it); `report(history)`
    is called after each epoch, before the divergence rule; `bar(batches, epoch)` may wrap each
    epoch's mini-batches (a progress bar). Returns (history, stop, seconds): `stop.set` when Ctrl-C
    or SIGTERM ended training early (`stop.name`, `stop.status`: the signal and its exit code).
    Raises loop.Diverged, with the advice to lower eta, when training diverged."""
    import numpy as np

    from nn2gpt.interrupt import StopOnCtrlC

    advice = f"lower --eta (it was {eta:g})"
    ceiling = Ceiling(start_cost, "the validation cost before training")
    history = {"epoch": []}

    def progress(batches, epoch):
        for mini_batch in (bar(batches, epoch) if bar else batches):
            yield mini_batch
            if stop.set:  # the step in flight has finished: the weights are whole
                raise _StopNow

    def on_epoch(h):
        history.update(h)
        report(h)
        when = f"after epoch {h['epoch'][-1]}"
        problem = (ceiling.problem(h["evaluation_cost"][-1], f"the validation cost {when}")
                   or weights_problem([*net.weights, *net.biases], when))
        if problem:
            raise Diverged(diverged_message(problem, None, advice=advice))

    start = time.perf_counter()
    with np.errstate(all="ignore"), StopOnCtrlC() as stop:
        try:
            net.SGD(training, epochs, batch, eta, evaluation_data=validation, progress=progress,
                    on_epoch=on_epoch, **sgd)
        except _StopNow:  # the caller saves what was trained, as on every chapter's Ctrl-C or SIGTERM
            pass
    seconds = time.perf_counter() - start
    # never save a broken model (early stopping may have gone back to an earlier epoch's weights)
    problem = weights_problem([*net.weights, *net.biases], f"after {len(history['epoch'])} epoch(s)")
    if problem:
        raise Diverged(diverged_message(problem, None, advice=advice))
    return history, stop, seconds


def interrupted(stop, history: dict, seconds: float, out, accuracy: float) -> str:
    """The line a stopped run ends with."""
    return (f"interrupted by {stop.name} after {len(history['epoch'])} full epoch(s), {seconds:.1f} s: the weights "
            f"as they were saved in {out}/; test accuracy {100 * accuracy:.2f}%")
