"""Run the lab: train every (variant, seed) with chapter 2's training loop, measure, report.

Runs are independent, so `jobs` of them train at once, each in its own process on one
thread (on 2 cores: two runs at a time, nearly twice as fast as one run on two threads).

Fair comparison means the same compute for every variant. The budget in seconds is turned
ONCE into a number of optimizer steps (by timing the baseline), and every run then trains
exactly that many steps with the same batches (the seed fixes the batch order and the
initialisation). Steps, unlike seconds, do not depend on how busy the machine is, so the same
seed gives the same numbers, and `--steps N` reproduces a lab exactly.

After each run the model is measured (measure.py: train_and_measure, with probe.py): attention
entropy on validation text, a sample, and for the mask question the three losses; here, the
text each run wrote is scored by the causal baseline of its seed. results.json is rewritten
after every run, so a lab stopped half-way (Ctrl-C, SIGTERM, exit 130 or 143) still leaves its
numbers behind. A run that diverges (nn2gpt.loop.Ceiling) stops the lab with one line, exit 2: a broken model's
numbers would only mislead the report.
"""

from __future__ import annotations

import platform
import time
from datetime import datetime, timezone
from pathlib import Path

from nn2gpt.files import atomic_write_json
from nn2gpt.lab import metrics, probe
from nn2gpt.lab.measure import COPY_PICTURES, calibrate, train_and_measure
from nn2gpt.lab.plan import BASE, Plan, suites
from nn2gpt.lab.report import portable_command, write_report

HEAD_SIZES = [4, 8, 16, 32, 64, 128, 256]
RANDOM_SCORES = ["scaled_dot", "dot", "squared", "neg_l2"]  # the random q, k baselines of the report


def _stop_if_broken(record: dict) -> None:
    """A run that diverged stops the lab with its one line (exit 2); one a signal stopped ends it
    as that signal does (exit 130 or 143). results.json keeps the runs finished before it."""
    from nn2gpt.interrupt import Stopped, signal_named
    from nn2gpt.loop import Diverged

    where = f"lab run {record['variant']} (seed {record['seed']})"
    if record["status"] == "diverged":
        raise Diverged(f"{where}: {record['_message']}; results.json keeps the runs finished before it")
    if record["status"] == "interrupted":
        raise Stopped(signal_named(record["_message"]))


def _baseline_model(plan: Plan, weights: dict, vocab_size: int):
    from nn2gpt.gpt.runs import load_weights
    from nn2gpt.gpt.variants import ModelConfig, build_model

    model = build_model(ModelConfig(**plan.model, **BASE.model_fields(), vocab_size=vocab_size))
    load_weights(model, weights, where="baseline of the lab")
    return model.eval()


def _score_own_text(plan: Plan, records: list[dict], judges: dict) -> None:
    """Add 'generated_loss' to every run whose seed's causal baseline has finished: the text
    the run wrote, scored by that baseline. Called after every run, so results.json is
    complete for the finished runs even if the lab is stopped half-way."""
    import torch

    for r in records:
        if "generated_loss" in r:
            continue
        if r["seed"] not in judges:
            base = next((b for b in records if b["seed"] == r["seed"] and b["variant"] == BASE.name), None)
            if base is None:
                continue
            judges[r["seed"]] = _baseline_model(plan, base["_weights"], base["vocab_size"])
        r["generated_loss"] = probe.text_loss(judges[r["seed"]], torch.tensor(r["_own_text"]), plan.model["block_size"])
        if "mask" in r:
            r["mask"]["generated"] = r["generated_loss"]


def _public(record: dict) -> dict:
    return {k: v for k, v in record.items()
            if not k.startswith("_") and k not in ("attention", "learned_positions", "copy_picture")}


def run_lab(plan: Plan, out_dir, budget: float | None, steps: int | None, data_dir=None, jobs: int = 1,
            command: str = "nn2gpt lab run", log=print, overwrite: bool = False, parts=None) -> Path:
    """Train and measure every run of `plan` (`jobs` at a time), write results.json and REPORT.md.
    `parts` (nn2gpt.lab.parts.Parts, one job only): score functions and masks in place of the lab's.

    `out_dir` is locked for the whole lab (nn2gpt.runlock): two labs never write one report."""
    from nn2gpt.runlock import RunLock

    from nn2gpt.runout import check_new_run

    with RunLock(out_dir):  # a lab replaces a lab report with --overwrite; it never replaces a model
        check_new_run(out_dir, "lab", overwrite, resume_hint=False)
        return _run_lab(plan, Path(out_dir), budget, steps, data_dir, jobs, command, log, parts)


def _run_lab(plan: Plan, out: Path, budget, steps, data_dir, jobs: int, command: str, log, parts=None) -> Path:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    import torch

    t0, started = time.perf_counter(), datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    calibrated = steps is None
    if calibrated:
        steps = calibrate(plan, budget, data_dir)
        log(f"lab: {budget:g} s per run = {steps} steps of the baseline on this machine")
    if "--steps" not in command:
        command += f" --steps {steps}"
    table = {v.name: [s for s, vs in suites(plan.model).items() if v in vs and s in plan.suites] for v in plan.variants}
    results = {
        "settings": {"suites": plan.suites, "seeds": plan.seeds, "steps": steps, "model": plan.model,
                     "budget_s": budget if calibrated else None, "batch_size": plan.train["batch_size"],
                     "learning_rate": plan.train["learning_rate"], "eval_batches": plan.train["eval_batches"], "head_size": plan.model["n_embd"] // plan.model["n_head"],
                     "machine": f"{platform.machine()} CPU, {jobs} run(s) at a time on 1 thread each, "
                                f"torch {torch.__version__}",
                     "command": portable_command(command, out), "started": started, "target_minutes": 30, "wall_s": 0.0, "jobs": jobs},
        "variants": [{"name": v.name, "what": v.what, "suites": table[v.name], "config": v.model_fields()}
                     for v in plan.variants],
        "runs": [],
        **(parts.results_extra if parts is not None else {}),
        "random_entropy": {s: metrics.random_qk_entropy(s, HEAD_SIZES, T=plan.model["block_size"])
                           for s in RANDOM_SCORES},
        "random_T": plan.model["block_size"],
        "random_max_entropy": metrics.uniform_causal_entropy(plan.model["block_size"]),
    }
    # the slowest variants first (additive, then the wider head-size models), so the last
    # minutes are not one long run on one core
    todo = sorted(plan.runs(), key=lambda vs: (vs[0].name != "additive", "n_embd" not in vs[0].change))
    records: list[dict] = []

    judges: dict = {}  # seed -> the causal baseline of that seed, rebuilt from its weights

    def done(record: dict) -> None:
        _stop_if_broken(record)
        records.append(record)
        _score_own_text(plan, records, judges)
        results["settings"]["vocab_size"] = record["vocab_size"]
        results["settings"]["wall_s"] = round(time.perf_counter() - t0, 1)
        for key in ("attention", "learned_positions"):
            if key in record:
                results[key] = record[key]
        if "copy_picture" in record:
            results.setdefault("copy_pictures", {})[record["variant"]] = record["copy_picture"]
        order = {(v.name, s): i for i, (v, s) in enumerate(plan.runs())}
        results["runs"] = [_public(r) for r in sorted(records, key=lambda r: order[r["variant"], r["seed"]])]
        atomic_write_json(out / "results.json", results)  # a lab stopped half-way keeps its numbers
        log(f"lab: seed {record['seed']} {record['variant']:<11} val {record['final_val']:.4f}  "
            f"({record['seconds']:.1f} s; {len(records)}/{len(todo)} runs, "
            f"{results['settings']['wall_s'] / 60:.1f} min so far)")

    picture = lambda v, s: out if (v.name in (BASE.name, *COPY_PICTURES) and s == plan.seeds[0]) else None  # noqa: E731
    if jobs == 1:
        for v, s in todo:
            done(train_and_measure(plan, v, s, steps, data_dir, picture(v, s), parts))
    else:  # fresh interpreters ("spawn"): forking a process that already runs torch threads can hang
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(train_and_measure, plan, v, s, steps, data_dir, picture(v, s)) for v, s in todo]
            try:
                for f in as_completed(futures):
                    done(f.result())
            except BaseException:  # a stop signal, or a run that diverged: the runs in flight stop too
                # no future is cancelled by hand: once its workers end, the pool fails every pending one
                # itself (cancelling them too makes its own thread raise on a cancelled future)
                for worker in list(pool._processes.values()):  # noqa: SLF001 - the pool names no public handle
                    worker.terminate()  # SIGTERM: a run in training ends at its next step
                raise
    results["runs"] = [_public(r) for r in sorted(records, key=lambda r: (r["seed"], [v.name for v in plan.variants]
                                                                           .index(r["variant"])))]
    results["settings"]["wall_s"] = round(time.perf_counter() - t0, 1)
    atomic_write_json(out / "results.json", results)
    return write_report(results, out)
