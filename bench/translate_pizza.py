"""Chapter 3: how far is each model from translating the pizza sentence as a person would?

    NN2GPT_DATA=... .venv/bin/python bench/translate_pizza.py RUN [RUN ...] [--sense-plot FILE.png]

For each trained es-en run: its beam-4 translation of "La pizza salió del horno y sabía bien.",
the log-probability it gives that output and the correct "The pizza came out of the oven and
tasted good.", and the gap between them (nats; 0 or less means the model prefers the correct
one), and the step where the two part: the model's five likeliest next tokens there. Then its
translations of a few variants (other nouns, no "y", the verb alone) that tell whether the sense
or the sentence structure is what fails.

With --sense-plot, the RUNs are read as checkpoints of one training run (a run directory or its
ckpt-* directories, in order) and the plot shows, against the step, the probability the model
gives "tasted" and "knew" right after "The pizza came out of the oven and".
"""

from __future__ import annotations

import argparse

PIZZA = "La pizza salió del horno y sabía bien."
CORRECT = "The pizza came out of the oven and tasted good."
VARIANTS = ["La pizza sabía bien.", "La sopa sabía bien.", "La pizza estaba caliente y sabía bien.",
            "El pan salió del horno y sabía bien.", "Tom salió de la casa y sabía bien.",
            "La pizza salió del horno y olía bien."]


def main() -> None:
    import torch

    from nn2gpt.checkpoint import load_checkpoint
    from nn2gpt.translate.evaluate import load_run, log_probability, next_token_log_probs, translate_one

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--sense-plot", default=None, metavar="FILE.png")
    args = parser.parse_args()
    torch.set_num_threads(1)
    sense = []  # (step, P(tasted), P(knew)) after the correct prefix, one row per run
    for run in args.runs:
        model, tok, _ = load_run(run)
        own = translate_one(model, tok, PIZZA, beam=4)
        lp_own, lp_correct = log_probability(model, tok, PIZZA, own), log_probability(model, tok, PIZZA, CORRECT)
        print(f"{run}\n  beam 4: {own}\n  log P(own) {lp_own:.2f}, log P(correct) {lp_correct:.2f}, "
              f"gap {lp_own - lp_correct:.2f} nats")
        ids, logp = next_token_log_probs(model, tok, PIZZA, CORRECT)  # (T,), (T, V)
        own_ids = tok.encode(own) + [tok.eos_id]
        split = next((i for i, (a, b) in enumerate(zip(own_ids, ids.tolist())) if a != b), None)
        if split is not None:  # same prefix up to here, so row `split` is the model's choice between them
            top = logp[split].topk(5)
            prefix = tok.decode(ids[:split].tolist())
            print(f"  after {prefix!r}: " + ", ".join(f"{tok.id_to_token(int(i))} {float(v.exp()):.3f}"
                                                     for v, i in zip(top.values, top.indices)))
        if args.sense_plot:
            verb = len(tok.encode("The pizza came out of the oven and"))  # ids[verb] is "▁tast"
            knew = tok.encode("and knew")[-1]
            sense.append((load_checkpoint(run).state["step"], float(logp[verb, ids[verb]].exp()),
                          float(logp[verb, knew].exp())))
        for sentence in VARIANTS:
            print(f"  {sentence:42s} -> {translate_one(model, tok, sentence, beam=4)}")
    if args.sense_plot:
        _plot_sense(sense, args.sense_plot)


def _plot_sense(rows, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps, tasted, knew = zip(*rows)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(steps, tasted, "o-", label='"tasted"')
    ax.plot(steps, knew, "s-", label='"knew"')
    ax.axhline(0.5, color="grey", lw=0.5)
    ax.set(xlabel="training step", ylabel="probability", ylim=(0, 1),
           title='next word after "The pizza came out of the oven and"')
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
