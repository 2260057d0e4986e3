"""The loop both GPT engines train with, knowing nothing of GPT, torch or numpy.

    status, message = run_steps(cfg, state, resumed_at, evaluate, save, take_step)

One pass per optimizer step:
  1. the stopping rules: out of steps (cfg.max_iters), out of time (cfg.max_seconds), the step
     asked for (cfg.stop_at), or Ctrl-C (the step in flight has finished: Ctrl-C only sets a flag);
  2. every cfg.eval_interval steps, and once at the end: `evaluate()` gives the validation loss,
     kept in state["rows"]; a non-finite one stops the run ("diverged") before anything is saved;
     otherwise `save()` writes a checkpoint;
  3. `take_step(step, elapsed)` makes one optimizer step and moves state["step"] on; it returns
     a message when the training loss stops being finite.
With cfg.eval_off_clock the time spent evaluating and saving is kept off the clock that
max_seconds and the schedule read (bench/speedrun.py evaluates often; see docs/speedrun.md).
A resumed run starts at a step that was evaluated and saved before it stopped, so that one is
not evaluated again: a stopped-and-resumed run writes the same rows as a straight one.
`agree(flag)` makes every process of a multi-process run (DDP) stop at the same step.
The translation trainer (nn2gpt.translate.train) counts in epochs, not steps, so it has a loop
of its own in the same shape, and shares `diverged_message`.
"""

from __future__ import annotations

import math
import time

from nn2gpt.interrupt import StopOnCtrlC


def run_steps(cfg, state: dict, resumed_at: int | None, evaluate, save, take_step, on_val=None,
              agree=lambda flag: flag) -> tuple[str, str]:
    """Train until a stopping rule fires; (status, message). Status: done | time | stopped |
    interrupted | diverged. `state` ("step", "seconds", "rows", "best_val_loss") is updated in place."""
    seconds_before, t_train = state["seconds"], time.perf_counter()
    paused = [0.0]  # seconds spent evaluating and saving, when cfg.eval_off_clock keeps them off the clock

    def elapsed() -> float:  # seconds of training, over every invocation of a resumed run
        return seconds_before + time.perf_counter() - t_train - paused[0]

    with StopOnCtrlC() as ctrl_c:
        while True:
            step = state["step"]
            state["seconds"] = elapsed()
            out_of_time = bool(cfg.max_seconds) and state["seconds"] >= cfg.max_seconds
            last = agree(ctrl_c.set or out_of_time or step == cfg.stop_at) or step >= cfg.max_iters
            if step != resumed_at and ((step > 0 and step % cfg.eval_interval == 0) or last):
                t_eval = time.perf_counter()
                val = evaluate()
                state["rows"].append({"step": step, "time": round(state["seconds"], 3), "val_loss": val})
                off_clock = getattr(cfg, "eval_off_clock", False)
                state["best_val_loss"] = min(state["best_val_loss"], val)
                if on_val:
                    on_val(step, val)
                if not math.isfinite(val):
                    return "diverged", f"val loss is {val} at step {step}"
                save()
                if off_clock:  # the row says how long it stood off the clock (benchmarks add it back)
                    state["rows"][-1]["eval_s"] = round(time.perf_counter() - t_eval, 4)
                    paused[0] += time.perf_counter() - t_eval
            if last:
                return ("interrupted" if ctrl_c.set else "time" if out_of_time else
                        "stopped" if step == cfg.stop_at else "done"), ""
            problem = take_step(step, elapsed)
            if problem:
                return "diverged", problem


def diverged_message(problem: str, run_dir, cfg=None, advice: str | None = None, name_kept: bool = False) -> str:
    """One line for a run that diverged: what went non-finite, what is kept, which flags to change.

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
