"""Run the lab: train every (variant, seed) with chapter 2's training loop, measure, report.

Runs are independent, so `jobs` of them train at once, each in its own process on one
thread (on 2 cores: two runs at a time, nearly twice as fast as one run on two threads).

Fair comparison means the same compute for every variant. The budget in seconds is turned
ONCE into a number of optimizer steps (by timing the baseline), and every run then trains
exactly that many steps with the same batches (the seed fixes the batch order and the
initialisation). Steps, unlike seconds, do not depend on how busy the machine is, so the same
seed gives the same numbers, and `--steps N` reproduces a lab exactly.

After each run the model is measured (probe.py): attention entropy on validation text, a
sample, and for the mask question the three losses. results.json is rewritten after every run,
so a lab stopped half-way (Ctrl-C, SIGTERM, exit 130 or 143) still leaves its numbers behind. A
run that diverges (nn2gpt.loop.Ceiling) stops the lab with one line, exit 2: a broken model's
numbers would only mislead the report.
"""

from __future__ import annotations

import platform
import time
from datetime import datetime, timezone
from pathlib import Path

from nn2gpt.errors import UserError
from nn2gpt.files import atomic_write_json
from nn2gpt.lab import metrics, positions, probe
from nn2gpt.lab.plan import BASE, Plan, Variant, suites
from nn2gpt.lab.report import portable_command, write_report

EVALS_PER_RUN = 10  # points on each validation curve
GEN_SEQS, GEN_TOKENS = 4, 256  # text each model writes for the mask question and the samples
HEAD_SIZES = [4, 8, 16, 32, 64, 128, 256]
RANDOM_SCORES = ["scaled_dot", "dot", "squared", "neg_l2"]
ATTENTION_TEXT = "To be, or not to be:"  # short enough to label every character
CONTEXTS = (1, 2, 4)  # the positions suite is also scored at 2x and 4x the trained context
COPY_PICTURES = ("no_mask", "anticausal")  # variants whose attention (seed 0) is drawn: do they copy?
CLASSIC = {"recipe": "classic"}  # the lab trains chapter 2's GPT (nn2gpt.gpt.recipes); a variant changes one piece



def train_config(plan: Plan, variant: Variant, seed: int, steps: int, data_dir, stop_at: int | None = None):
    """Chapter 2's TrainConfig for one run: the plan's model, the variant's change, the seed.

    One thread per run: these models are too small for two threads to help (the threads spend
    their time waiting for each other), so the lab runs one model per core instead. The lab's
    GPT is the classic recipe's (AdamW, a tied head, GPT-2's initialisation), named here so
    that a change of the command's default recipe never changes what the lab measures.
    """
    from nn2gpt.gpt.train import TrainConfig

    t = plan.train
    return TrainConfig(**{**plan.model, **variant.model_fields()}, **CLASSIC, batch_size=t["batch_size"], lr=t["learning_rate"],
                       warmup=min(50, steps // 10), max_iters=steps, stop_at=stop_at,
                       eval_interval=max(1, steps // EVALS_PER_RUN), eval_batches=t["eval_batches"], seed=seed,
                       data_dir=str(data_dir) if data_dir else None, device="cpu", threads=1, out=None,
                       progress=False, sample_tokens=0)


def calibrate(plan: Plan, budget: float, data_dir) -> int:
    """How many steps of the baseline fit in `budget` seconds of one CPU core.

    Two short runs (to steps a and b) differ only by b - a steps, so their time difference is
    the cost of those steps without the set-up. Time is *CPU* time of this process (each run
    uses one thread): on a shared machine wall time also counts the other programs, CPU time
    does not, so the step count stays about the same however busy the machine is.
    Rounded down to a multiple of 10 steps.
    """
    from nn2gpt.gpt.train import train

    a, b = 5, 25
    train(train_config(plan, BASE, 0, 10**6, data_dir, stop_at=1))  # warm-up: first-call imports cost seconds
    times = []
    for n in (a, b):
        start = time.process_time()
        train(train_config(plan, BASE, 0, 10**6, data_dir, stop_at=n))
        times.append(time.process_time() - start)
    per_step = (times[1] - times[0]) / (b - a)
    if per_step <= 0:
        raise RuntimeError(f"calibration failed ({times}); give the step count with --steps")
    return max(10, int(budget / per_step) // 10 * 10)


def _val_windows(tok, plan: Plan, data_dir, length: int | None = None):
    """The fixed validation windows the training loop evaluates on (recomputed, not copied);
    `length` asks for longer windows spread over the same validation text."""
    from nn2gpt.data.text import read_text
    from nn2gpt.gpt.batches import encode_text, split, val_batches

    _, val_ids = split(encode_text(tok, read_text(None, data_dir)), plan.model["block_size"])
    return val_batches(val_ids, length or plan.model["block_size"], plan.train["batch_size"], plan.train["eval_batches"])


def train_and_measure(plan: Plan, variant: Variant, seed: int, steps: int, data_dir, picture_dir) -> dict:
    """One run: train with chapter 2's loop, then measure everything the report needs.

    Returns the record for results.json plus, under keys starting with '_', what the parent
    needs afterwards: the text the model wrote (scored later by the causal baseline of the same
    seed) and, for the baseline, its weights. Runs in a worker process when --jobs > 1.
    """
    from nn2gpt.gpt.runs import weights_to_numpy
    from nn2gpt.gpt.train import train

    result = train(train_config(plan, variant, seed, steps, data_dir))
    if result.status in ("diverged", "interrupted"):  # the parent stops the lab (_stop_if_broken)
        return {"variant": variant.name, "seed": seed, "status": result.status, "_message": result.message}
    model, tok = result.model.eval(), result.tokenizer
    val = _val_windows(tok, plan, data_dir)
    with probe.captured_attention(model) as weights:
        probe.mean_loss(model, val[:4])
    own_text = probe.generate(model, tok.encode("\n")[0], GEN_SEQS, min(GEN_TOKENS, 4 * plan.model["block_size"]),
                              seed=seed)  # (GEN_SEQS, n)
    record = {"variant": variant.name, "seed": seed, "steps": result.step, "status": result.status,
              "seconds": round(result.seconds, 2), "final_val": result.final_val_loss,
              "history": [[s, v] for s, _, v in result.val_history],
              "entropy": sum(metrics.attention_entropy(w) for w in weights) / len(weights),
              "next_weight": probe.weight_on_next(_by_layer(weights, model)),
              "sample": tok.decode(own_text[0, :200].tolist()), "vocab_size": tok.vocab_size,
              "_own_text": own_text.tolist()}
    if variant.model_fields()["mask"] != "causal" or variant.name == BASE.name:
        with probe.masked_as(model, "causal"):
            record["mask"] = {"teacher_forced": result.final_val_loss, "causal_eval": probe.mean_loss(model, val)}
    if variant in suites(plan.model)["positions"]:
        record["contexts"] = context_losses(plan, model, tok, data_dir)
    if picture_dir is not None and variant.name in COPY_PICTURES:
        record["copy_picture"] = attention_picture(Path(picture_dir), model, tok, plan.model["block_size"], seed,
                                                   variant.name)
    if variant.name == BASE.name:
        record["_weights"] = weights_to_numpy(model)
        if picture_dir is not None:
            record["attention"] = attention_picture(Path(picture_dir), model, tok, plan.model["block_size"], seed)
            record["learned_positions"] = positions.learned_picture(Path(picture_dir), record["_weights"]["pos_emb.weight"])
    return record


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


def _by_layer(weights: list, model) -> list:
    """Weights captured over several batches (batch 0's layers, then batch 1's, ...) as one
    (B_total, nh, T, T) tensor per layer."""
    import torch

    n = len(probe.attention_layers(model))
    return [torch.cat(weights[layer::n]) for layer in range(n)]


def context_losses(plan: Plan, model, tok, data_dir) -> dict[str, float | None]:
    """Validation loss on windows of 1x, 2x and 4x the trained context ("64": ..., "128": ...).

    The same weights, rebuilt for the longer window (probe.with_context); None where the
    encoding cannot go beyond the trained length. Every window length is scored on the same
    number of windows spread over the validation text.
    """
    T = plan.model["block_size"]
    out: dict[str, float | None] = {}
    for k in CONTEXTS:
        longer = model if k == 1 else probe.with_context(model, k * T)
        out[str(k * T)] = None if longer is None else probe.mean_loss(longer, _val_windows(tok, plan, data_dir, k * T))
    return out


def attention_picture(out: Path, model, tok, T: int, seed: int, name: str = BASE.name) -> dict:
    """Per-layer, per-head attention of a trained model (`name`, the variant) on a line of Hamlet."""
    import torch

    from nn2gpt.lab import plots

    text = ATTENTION_TEXT[:T]
    ids = torch.tensor([tok.encode(text)])  # (1, T)
    with probe.captured_attention(model) as weights, torch.no_grad():
        model(ids)
    grid = torch.cat(weights)  # (n_layer, nh, T, T): batch of 1 per layer, stacked
    plots.attention_grid(out / f"attention_{name}.png", grid.numpy(), text,
                         f"Trained char GPT ({name}, seed {seed}): who looks at whom")
    return {"picture": f"attention_{name}.png", "text": text, "seed": seed,
            "entropy": metrics.attention_entropy(grid), "uniform_entropy": metrics.uniform_causal_entropy(len(text)),
            "next_weight": probe.weight_on_next(weights)}


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
            command: str = "nn2gpt lab run", log=print, overwrite: bool = False) -> Path:
    """Train and measure every run of `plan` (`jobs` at a time), write results.json and REPORT.md.

    `out_dir` is locked for the whole lab (nn2gpt.runlock): two labs never write one report."""
    from nn2gpt.runlock import RunLock

    from nn2gpt.runout import check_new_run

    with RunLock(out_dir):  # a lab replaces a lab report with --overwrite; it never replaces a model
        check_new_run(out_dir, "lab", overwrite, resume_hint=False)
        return _run_lab(plan, Path(out_dir), budget, steps, data_dir, jobs, command, log)


def _run_lab(plan: Plan, out: Path, budget, steps, data_dir, jobs: int, command: str, log) -> Path:
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
            done(train_and_measure(plan, v, s, steps, data_dir, picture(v, s)))
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
