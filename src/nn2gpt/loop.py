"""The rules every training loop of the road calls by the same names, knowing nothing of GPT,
torch or numpy.

    clock = Clock(seconds_before, off_clock)         seconds of training, evaluations off it or not
    stop_status(cfg, step, seconds, stopping)        "" to go on, else why the run stops (Limits)
    evaluation_due(cfg, step, resumed_at, last)      evaluate (and save) now?
    Ceiling.uniform(V).problem(loss, what)           has the run diverged?   weights_problem(...)
    diverged_message(problem, run_dir, cfg)          the one line a diverged run ends with

Each engine writes its own loop out in one function a learner reads top to bottom:
nn2gpt.gpt.train.train_loop (torch) and nn2gpt.numpy_gpt.train._train (numpy), step by step in
the same order:
  1. the stopping rules: out of steps (cfg.max_iters), out of time (cfg.max_seconds), the step
     asked for (cfg.stop_at), or Ctrl-C (the step in flight has finished: Ctrl-C only sets a flag);
  2. every cfg.eval_interval steps, and once at the end: the validation loss, kept in the run's
     rows; one that the `Ceiling` calls diverged stops the run ("diverged") before anything is
     saved; otherwise a checkpoint;
  3. the learning rate, one optimizer step, and every log_interval steps a row whose training
     loss is held to the same `Ceiling`.
With cfg.eval_off_clock the time spent evaluating and saving is kept off the clock that
max_seconds and the schedule read (bench/speedrun.py evaluates often; see docs/speedrun.md).
A resumed run starts at a step that was evaluated and saved before it stopped, so that one is
not evaluated again: a stopped-and-resumed run writes the same rows as a straight one.
`agree(flag)` makes every process of a multi-process run (DDP) stop at the same step.
The translation trainer (nn2gpt.translate.train.train_loop) is written out in the same shape,
counts in epochs, and asks `stop_status` (with `Limits`: its time limit), `Ceiling` and
`diverged_message`. Chapter 1's loop is the book's own `Network.SGD`, watched by
nn2gpt.digits.guard with the same rules: the Ctrl-C flag read between mini-batches, `Ceiling`,
`weights_problem` and `diverged_message`.

When has a run diverged? When its loss is no longer a finite number, and also when it is a
finite number far above where any run starts (`Ceiling`): a model that guesses every token
uniformly scores ln V nats, so a loss above twice that (or twice the loss the run started
at, for costs that are not log-likelihoods) is a model that has broken, not one that learns
slowly. A learning rate of 1e6 gives val losses around 1e12 without ever reaching inf; a
healthy run stays below its start, so the bound cannot fire on a healthy run's noise.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from nn2gpt.errors import UserError

FACTOR = 2.0  # a loss above FACTOR x the baseline has diverged
WEIGHT_LIMIT = 1e6  # a weight past this has saturated every unit it feeds (chapter 1's stay below 10)


@dataclass(frozen=True)
class Ceiling:
    """The highest loss a run that still learns can have: FACTOR x `baseline`, the loss it starts
    at or below (`about` says which, for the message)."""

    baseline: float
    about: str

    @classmethod
    def uniform(cls, classes: int) -> Ceiling:
        """For a log-likelihood over `classes` outcomes: ln(classes), a uniform guess's loss."""
        return cls(math.log(classes), f"ln {classes}, the loss of a uniform guess")

    def problem(self, loss: float, what: str) -> str | None:
        """None for a loss under the ceiling; else `what` (e.g. "val loss ... at step 40") in words."""
        if not math.isfinite(loss):
            return f"{what} is {loss}"
        if loss > FACTOR * self.baseline:
            return (f"{what} is {loss:.4g}, over {FACTOR:g} x {self.baseline:.3f} ({self.about}), "
                    f"where no run that learns goes")
        return None


def weights_problem(arrays, when: str) -> str | None:
    """None for weights that are finite and under WEIGHT_LIMIT; else what is wrong, `when`."""
    import numpy as np

    for w in arrays:
        top = float(np.max(np.abs(w))) if np.size(w) else 0.0
        if not math.isfinite(top):
            return f"the weights are no longer finite {when}"
        if top > WEIGHT_LIMIT:
            return f"a weight reached {top:.3g} {when}, past {WEIGHT_LIMIT:g}, where no run that learns goes"
    return None


class Diverged(UserError):
    """A run stopped because it diverged; its message is one line from `diverged_message`."""


class Clock:
    """Seconds of training, over every invocation of a resumed run (`before` came from its
    checkpoint). With `off_clock` the time spent evaluating and saving stands off it."""

    def __init__(self, before: float, off_clock: bool = False):
        self.before, self.start, self.paused, self.off_clock = before, time.perf_counter(), 0.0, off_clock

    def elapsed(self) -> float:
        return self.before + time.perf_counter() - self.start - self.paused

    def stand_off(self, since: float) -> float | None:
        """After evaluating and saving from `since` (perf_counter): with off_clock, take those
        seconds off the clock and return them (a row records them; benchmarks add them back)."""
        if not self.off_clock:
            return None
        seconds = time.perf_counter() - since
        self.paused += seconds
        return seconds


@dataclass(frozen=True)
class Limits:
    """What `stop_status` reads, for a loop whose settings name them otherwise: the translation
    trainer counts epochs itself and has only a time limit (of one invocation, --max-seconds)."""

    max_iters: float = math.inf
    max_seconds: float | None = None
    stop_at: int | None = None


def stop_status(cfg, step: int, seconds: float, stopping: bool, agree=lambda flag: flag) -> str:
    """Why a run stops before `step`, or "" to go on: interrupted (Ctrl-C or SIGTERM, `stopping`) |
    time (cfg.max_seconds) | stopped (cfg.stop_at) | done (cfg.max_iters). `agree` makes every
    process stop at the same step (DDP)."""
    out_of_time = bool(cfg.max_seconds) and seconds >= cfg.max_seconds
    if not (agree(stopping or out_of_time or step == cfg.stop_at) or step >= cfg.max_iters):
        return ""
    return "interrupted" if stopping else "time" if out_of_time else "stopped" if step == cfg.stop_at else "done"


def evaluation_due(cfg, step: int, resumed_at: int | None, last: bool) -> bool:
    """Evaluate (and save) every cfg.eval_interval steps and once at the end, but not at the step
    a resumed run was saved at: a stopped-and-resumed run writes the same rows as a straight one."""
    return step != resumed_at and ((step > 0 and step % cfg.eval_interval == 0) or last)


def retry_advice(first_save: bool, overwrite: bool) -> str | None:
    """How to try again after a save failed (nn2gpt.checkpoint.save_checkpoint's `again`). None, its
    default ("--resume" when the run has a checkpoint), except at the first save of a run that
    replaces another (--overwrite): the checkpoint there is the replaced run's, which --resume
    would continue."""
    if first_save and overwrite:
        return "run again with --overwrite"
    return None


def diverged_message(problem: str, run_dir, cfg=None, advice: str | None = None, name_kept: bool = False) -> str:
    """One line for a run that diverged: which loss (or weight) broke the bound, what is kept, which flags to change.

    The advice is the GPT engines' (--lr and --warmup, with the values `cfg` had) unless given;
    `name_kept` also names the checkpoint that is kept (translate's runs say which)."""
    from nn2gpt.checkpoint import has_checkpoint, latest_checkpoint_dir

    if run_dir and has_checkpoint(run_dir):
        named = f", {latest_checkpoint_dir(run_dir).name}," if name_kept else ""
        kept = f"the last good checkpoint{named} is kept"
    else:
        kept = "nothing was saved"
    advice = advice or f"lower --lr (it was {cfg.lr:g}) or raise --warmup (it was {cfg.warmup})"
    return f"{problem}: training diverged and stopped ({kept}); {advice}"
