"""Run the lab: train every (variant, seed) with chapter 2's training loop, measure, report.

Fair comparison means the same compute for every variant. The budget in seconds is turned
ONCE into a number of optimizer steps (by timing the baseline), and every run then trains
exactly that many steps with the same batches (the seed fixes the batch order and the
initialisation). Steps, unlike seconds, do not depend on how busy the machine is, so the same
seed gives the same numbers, and `--steps N` reproduces a lab exactly.

After each run the model is measured (probe.py): attention entropy on validation text, a
sample, and for the mask question the three losses. results.json is rewritten after every run,
so a lab stopped half-way still leaves its numbers behind.
"""

from __future__ import annotations

import platform
import time
from datetime import datetime, timezone
from pathlib import Path

from nn2gpt.files import atomic_write_json
from nn2gpt.lab import metrics, probe
from nn2gpt.lab.plan import BASE, TRAIN, Plan, Variant, suites
from nn2gpt.lab.report import write_report

EVALS_PER_RUN = 10  # points on each validation curve
EVAL_BATCHES = 20  # 20 x 32 windows of the validation text (the same windows in every run)
GEN_SEQS, GEN_TOKENS = 4, 256  # text each model writes for the mask question and the samples
HEAD_SIZES = [4, 8, 16, 32, 64, 128, 256]
RANDOM_SCORES = ["scaled_dot", "dot", "squared", "neg_l2"]
ATTENTION_TEXT = "To be, or not to be: that is the question."


def train_config(plan: Plan, variant: Variant, seed: int, steps: int, data_dir, stop_at: int | None = None):
    """Chapter 2's TrainConfig for one run: the plan's model, the variant's change, the seed."""
    from nn2gpt.gpt.train import TrainConfig

    return TrainConfig(**plan.model, **variant.model_fields(), batch_size=TRAIN["batch_size"], lr=TRAIN["learning_rate"],
                       warmup=min(50, steps // 10), max_iters=steps, stop_at=stop_at,
                       eval_interval=max(1, steps // EVALS_PER_RUN), eval_batches=EVAL_BATCHES, seed=seed,
                       data_dir=str(data_dir) if data_dir else None, device="cpu", out=None, progress=False,
                       sample_tokens=0)


def calibrate(plan: Plan, budget: float, data_dir) -> int:
    """How many steps of the baseline fit in `budget` seconds on this machine right now.

    Two short runs (to steps a and b) differ only by b - a steps, so their time difference is
    the cost of those steps without the set-up. Rounded down to a multiple of 10 steps.
    """
    from nn2gpt.gpt.train import train

    a, b = 5, 25
    times = [train(train_config(plan, BASE, 0, 10**6, data_dir, stop_at=n)).seconds for n in (a, b)]
    per_step = max(1e-6, (times[1] - times[0]) / (b - a))
    return max(10, int(budget / per_step) // 10 * 10)


def _val_windows(result, plan: Plan, data_dir):
    """The fixed validation windows the training loop evaluates on (recomputed, not copied)."""
    from nn2gpt.data.text import read_text
    from nn2gpt.gpt.batches import encode_text, split, val_batches

    _, val_ids = split(encode_text(result.tokenizer, read_text(None, data_dir)), plan.model["block_size"])
    return val_batches(val_ids, plan.model["block_size"], TRAIN["batch_size"], EVAL_BATCHES)


def measure(result, variant: Variant, seed: int, plan: Plan, baseline, val, gen_tokens: int) -> dict:
    """Everything the report needs from one trained model."""
    model, tok, T = result.model, result.tokenizer, plan.model["block_size"]
    with probe.captured_attention(model) as weights:
        probe.mean_loss(model, val[:4])
    start = tok.encode("\n")[0]
    own_text = probe.generate(model, start, GEN_SEQS, gen_tokens, seed=seed)  # (GEN_SEQS, gen_tokens)
    record = {"variant": variant.name, "seed": seed, "steps": result.step, "status": result.status,
              "seconds": round(result.seconds, 2), "final_val": result.final_val_loss,
              "history": [[s, v] for s, _, v in result.val_history],
              "entropy": sum(metrics.attention_entropy(w) for w in weights) / len(weights),
              "sample": tok.decode(own_text[0, :200].tolist()),
              "generated_loss": probe.text_loss(baseline or model, own_text, T)}
    if variant.model_fields()["mask"] != "causal" or variant is BASE:
        with probe.masked_as(model, "causal"):
            causal_eval = probe.mean_loss(model, val)
        record["mask"] = {"teacher_forced": result.final_val_loss, "causal_eval": causal_eval,
                          "generated": record["generated_loss"]}
    return record


def attention_picture(out: Path, model, tok, T: int, seed: int) -> dict:
    """Per-layer, per-head attention of a trained baseline on a line of Hamlet."""
    import torch

    from nn2gpt.lab import plots

    text = ATTENTION_TEXT[:T]
    ids = torch.tensor([tok.encode(text)])  # (1, T)
    with probe.captured_attention(model) as weights, torch.no_grad():
        model.eval()
        model(ids)
    grid = torch.cat(weights)  # (n_layer, nh, T, T): batch of 1 per layer, stacked
    plots.attention_grid(out / "attention_baseline.png", grid.numpy(), text,
                         f"Trained char GPT (baseline, seed {seed}): who looks at whom")
    return {"picture": "attention_baseline.png", "text": text, "seed": seed,
            "entropy": metrics.attention_entropy(grid), "uniform_entropy": metrics.uniform_causal_entropy(len(text))}


def run_lab(plan: Plan, out_dir, budget: float | None, steps: int | None, data_dir=None,
            command: str = "nn2gpt lab run", log=print) -> Path:
    """Train and measure every run of `plan`, then write results.json and REPORT.md in out_dir."""
    import torch

    from nn2gpt.gpt.train import train

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0, started = time.perf_counter(), datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    calibrated = steps is None
    if calibrated:
        steps = calibrate(plan, budget, data_dir)
        log(f"lab: {budget:g} s per run = {steps} steps of the baseline on this machine")
    if "--steps" not in command:
        command += f" --steps {steps}"
    table = {v.name: [s for s, vs in suites(plan.model).items() if v in vs] for v in plan.variants}
    results = {
        "settings": {"suites": plan.suites, "seeds": plan.seeds, "steps": steps, "model": plan.model,
                     "budget_s": budget if calibrated else None, "batch_size": TRAIN["batch_size"],
                     "learning_rate": TRAIN["learning_rate"], "head_size": plan.model["n_embd"] // plan.model["n_head"],
                     "machine": f"{platform.machine()} CPU, {torch.get_num_threads()} threads, torch {torch.__version__}",
                     "command": command, "started": started, "target_minutes": 30, "wall_s": 0.0},
        "variants": [{"name": v.name, "what": v.what, "suites": table[v.name], "config": v.model_fields()}
                     for v in plan.variants],
        "runs": [],
        "random_entropy": {s: metrics.random_qk_entropy(s, HEAD_SIZES, T=plan.model["block_size"])
                           for s in RANDOM_SCORES},
        "random_T": plan.model["block_size"],
        "random_max_entropy": metrics.uniform_causal_entropy(plan.model["block_size"]),
    }
    gen_tokens = min(GEN_TOKENS, 4 * plan.model["block_size"])
    val = None
    for seed in plan.seeds:
        baseline = None  # the causal baseline of this seed scores every variant's text
        for variant in plan.variants:
            result = train(train_config(plan, variant, seed, steps, data_dir))
            val = val or _val_windows(result, plan, data_dir)
            results["settings"]["vocab_size"] = result.tokenizer.vocab_size
            record = measure(result, variant, seed, plan, baseline, val, gen_tokens)
            if variant is BASE:
                baseline = result.model
                if seed == plan.seeds[0]:
                    results["attention"] = attention_picture(out, result.model, result.tokenizer,
                                                             plan.model["block_size"], seed)
            results["runs"].append(record)
            results["settings"]["wall_s"] = round(time.perf_counter() - t0, 1)
            atomic_write_json(out / "results.json", results)
            log(f"lab: seed {seed} {variant.name:<11} val {record['final_val']:.4f}  "
                f"({record['seconds']:.1f} s, {results['settings']['wall_s'] / 60:.1f} min so far)")
    return write_report(results, out)
