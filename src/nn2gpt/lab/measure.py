"""One run of the lab: its settings, the step count every run gets, training it and measuring it.

    steps = calibrate(plan, budget, data_dir)        # once, on the baseline: seconds -> steps
    record = train_and_measure(plan, variant, seed, steps, data_dir, picture_dir)

Each run is chapter 2's training loop on the plan's model with one piece changed (the variant),
`steps` optimizer steps on one thread. Then the model is measured (probe.py, metrics.py):
attention entropy on validation text, the weight on the next token, a sample, and where its
question asks for them, the mask's three losses, the losses at longer contexts and the
pictures. The lab around the runs (jobs, results.json, the report) is runner.py.
"""

from __future__ import annotations

import time
from pathlib import Path

from nn2gpt.lab import metrics, positions, probe
from nn2gpt.lab.plan import BASE, Plan, Variant, suites

EVALS_PER_RUN = 10  # points on each validation curve
GEN_SEQS, GEN_TOKENS = 4, 256  # text each model writes for the mask question and the samples
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


def val_windows(tok, plan: Plan, data_dir, length: int | None = None):
    """The fixed validation windows the training loop evaluates on (recomputed, not copied);
    `length` asks for longer windows spread over the same validation text."""
    from nn2gpt.data.text import read_text
    from nn2gpt.gpt.batches import encode_text, split, val_batches

    _, val_ids = split(encode_text(tok, read_text(None, data_dir)), plan.model["block_size"])
    return val_batches(val_ids, length or plan.model["block_size"], plan.train["batch_size"], plan.train["eval_batches"])


def train_and_measure(plan: Plan, variant: Variant, seed: int, steps: int, data_dir, picture_dir, parts=None) -> dict:
    """One run: train with chapter 2's loop, then measure everything the report needs.

    Returns the record for results.json plus, under keys starting with '_', what the parent
    needs afterwards: the text the model wrote (scored later by the causal baseline of the same
    seed) and, for the baseline, its weights. Runs in a worker process when --jobs > 1.
    """
    from nn2gpt.gpt.runs import weights_to_numpy
    from nn2gpt.gpt.train import train

    build = parts.build_model() if parts is not None else None   # the learner's score or mask (lab/parts.py)
    result = train(train_config(plan, variant, seed, steps, data_dir), **({"build_model": build} if build else {}))
    if result.status in ("diverged", "interrupted"):  # the parent stops the lab (_stop_if_broken)
        return {"variant": variant.name, "seed": seed, "status": result.status, "_message": result.message}
    model, tok = result.model.eval(), result.tokenizer
    val = val_windows(tok, plan, data_dir)
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
        out[str(k * T)] = None if longer is None else probe.mean_loss(longer, val_windows(tok, plan, data_dir, k * T))
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
