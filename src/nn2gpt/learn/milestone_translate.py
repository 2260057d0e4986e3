"""`nn2gpt learn run translate`: chapter 3's Transformer trained and scored with the learner's pieces.

A few minutes of `nn2gpt translate train` (de-en by default, `--max-seconds 180`), then
`nn2gpt translate eval` with greedy decoding on the test split, both as they are - flags, lock,
checkpoints, sacreBLEU - except for the pieces the learner wrote, where they pass their checks.
Chapter 3's own model trains first with the same flags and seed (into a temporary directory) and
is scored the same way, so the learner's BLEU is printed beside the reference's, with the steps
each took. With `--epochs` both take the same steps; with `--dropout 0` as well, right pieces
train to the reference's losses (the learner's cross-attention has no dropout, so with dropout
the random draws differ). Under the default time budget the learner's slower modules take fewer
steps. With `--resume` there is no reference run. Ctrl-C or SIGTERM while the reference trains
or is scored ends the milestone with one line (the learner's run never started, nothing was
written to --out; exit 130 or 143); during the learner's run, `translate train` saves and says so;
while the learner's run is scored, one line says it is saved and how to score it.
The pieces:

- cross-attention (exercise 22): every decoder layer's cross-attention runs the learner's
  `CrossAttention` on the layer's own parameters (`torch.func.functional_call`): the fused key
  and value matrix `kv` (2C, C) is cut into the learner's `key` (rows 0..C-1) and `value`
  (rows C..2C-1). The checkpoint keeps chapter 3's names, so the run stays an ordinary
  translate run. Decoding recomputes the cross-attention at every step (no cached keys).
- greedy decoding (exercise 24): the evaluation's greedy search is the learner's
  `greedy_decode`, one sentence at a time, its `next_logits` the decoder run on the prefix.

- the padding mask (exercise 21): the model's `padding_mask(src)`, the keys every attention may
  look at, is the learner's `padding_mask(src, pad_id)` (their `masked_scores` serves inside
  their own attention, if they call it).
- the label-smoothed loss (exercise 23): every training step's loss is the learner's
  `label_smoothed_loss(logits, targets, eps, pad_id)`, in place of chapter 3's.

The learner's cross-attention has no dropout of its own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io

from nn2gpt.errors import UserError
from nn2gpt.learn.milestone_gpt import flag_value, redraw_with_reference, split_out, val_losses
from nn2gpt.learn.pieces import Pieces, learner_code, listing, quietly, reference_first

PIECES = {"padding_mask": "padding_mask", "cross_attention": "CrossAttention",
          "label_smoothing": "label_smoothed_loss", "greedy_decode": "greedy_decode"}
DEFAULTS = {"--pair": "de-en", "--max-seconds": "180", "--out": "runs/learn-translate"}
EVAL_LIMIT = 200


def passed(book) -> dict:
    """{exercise name: the learner's function or class} for each of PIECES that passes its check now."""
    checked = Pieces(book, PIECES)
    return {name: checked.function(name, what) for name, what in PIECES.items() if checked.passed(name)}


def adapt_cross(layer, CrossAttention) -> None:
    """Make `layer`'s cross-attention run the learner's module on the layer's parameters."""
    import torch

    a = layer.cross_attn
    C = a.proj.weight.shape[0]
    learner = CrossAttention(C, a.n_head).to(a.proj.weight.device)

    def bias(t, rows=slice(None)):
        return torch.zeros(C, device=a.proj.weight.device) if t is None else t[rows]

    def params() -> dict:
        w = a.kv.weight                                                 # (2C, C): keys, then values
        return {"query.weight": a.q.weight, "query.bias": bias(a.q.bias), "key.weight": w[:C],
                "key.bias": bias(a.kv.bias, slice(0, C)), "value.weight": w[C:],
                "value.bias": bias(a.kv.bias, slice(C, 2 * C)), "proj.weight": a.proj.weight,
                "proj.bias": bias(a.proj.bias)}

    def forward(x, context=None, mask=None, return_weights=False, **_):
        y = torch.func.functional_call(learner, params(), (x, context, mask))   # (B, T, C)
        return (y, None) if return_weights else y
    a.forward = forward
    layer.memory_keys_values = lambda memory: (memory, None)            # decoding: the memory itself
    layer._cross_attend_cached = lambda x, memory, _, keep: forward(x, memory, keep)


def learner_greedy(greedy):
    """Chapter 3's greedy_decode(model, src, max_len) made of the learner's, a sentence at a time."""
    import torch

    def greedy_decode(model, src, max_len):
        limits = torch.as_tensor(max_len, dtype=torch.long).expand(src.shape[0])
        memory, keep = model.encode(src)                                # (B, S, C), (B, S)
        outs = []
        for i in range(src.shape[0]):
            m, k = memory[i:i + 1], keep[i:i + 1]

            def next_logits(prefix):                                     # the decoder on the prefix: (V,)
                return model.decode(torch.tensor([list(prefix)], dtype=torch.long), m, k)[0, -1]
            outs.append([int(t) for t in greedy(next_logits, model.bos_id, model.eos_id, int(limits[i]))])
        return outs
    return greedy_decode


def last_step(run_dir) -> int:
    """The training steps a run took (its metrics' last row)."""
    from nn2gpt.runlog import read_metrics

    return max((r["step"] for r in read_metrics(run_dir) if "step" in r), default=0)


@contextlib.contextmanager
def scoring_yours(out, limit: int):
    """The learner's run is trained and saved; a stop (Ctrl-C, SIGTERM) while it is scored ends the
    milestone with one line saying so, exit 130 or 143, not a bare "interrupted"."""
    import signal
    import sys

    from nn2gpt.interrupt import NAMES, Stopped

    try:
        yield
    except KeyboardInterrupt as e:
        signum = getattr(e, "signum", signal.SIGINT)
        print(f"scoring was stopped by {NAMES.get(signum, f'signal {signum}')}: your run is trained and saved in "
              f"{out}, its BLEU not computed (`nn2gpt translate eval --model {out} --beam 1 --limit {limit}` "
              f"scores it with chapter 3's decoding)", file=sys.stderr)
        raise Stopped(signum, told=True) from None


def dropout_of(flags: list[str]) -> float:
    """The dropout rate `translate train` runs with these flags (its default where none is given)."""
    from nn2gpt.translate.runconfig import DEFAULTS as TRAIN_DEFAULTS

    value = flag_value(flags, "--dropout")
    try:
        return float(TRAIN_DEFAULTS["dropout"] if value is None else value)
    except ValueError:
        return 0.0                          # translate train refuses the value in its own words


def run(book, flags: list[str]) -> int:
    import tempfile
    from pathlib import Path

    from nn2gpt import checkpoint, runout
    from nn2gpt.translate import model
    from nn2gpt.translate.parts import Parts
    from nn2gpt.translate.cli import main as translate_main
    from nn2gpt.translate.evaluate import EvalConfig, evaluate

    if any(f in ("-h", "--help") for f in flags):
        print("nn2gpt learn run translate [flags of `nn2gpt translate train`] [--eval-limit N]: chapter 3's "
              "Transformer with your padding_mask, CrossAttention and label_smoothed_loss, scored by sacreBLEU "
              "with your greedy_decode, beside chapter 3's own model trained first with the same flags; defaults "
              + " ".join(f"{k} {v}" for k, v in DEFAULTS.items()) + f" --eval-limit {EVAL_LIMIT}")
        return translate_main(["train", "--help"])
    flags, limit = list(flags), EVAL_LIMIT
    if "--eval-limit" in flags:
        i = flags.index("--eval-limit")
        if i + 1 >= len(flags) or not flags[i + 1].isdigit() or int(flags[i + 1]) < 1:
            raise UserError("--eval-limit needs a whole number >= 1 (test sentences to score)")
        limit = int(flags[i + 1])
        del flags[i:i + 2]
    given = {f.split("=")[0] for f in flags}
    extra = [x for k, v in DEFAULTS.items() if k != "--out" and k not in given
             and not (k == "--max-seconds" and "--epochs" in given) for x in (k, v)]
    out, mine_flags, ref_flags = split_out(flags, DEFAULTS["--out"])
    scoring = EvalConfig(model=out, limit=limit, beam=1, data_dir=flag_value(flags, "--data-dir"))
    mine = passed(book)
    theirs = [n for n in PIECES if n not in mine]
    print(listing(mine, theirs, "chapter 3's"), flush=True)
    reference = ref_steps = ref_losses = None
    if "--resume" in flags:                 # refused now, not after minutes of training
        if "--overwrite" in flags:
            raise UserError("--resume continues the run in --out and --overwrite replaces it; give one of the two")
        if not checkpoint.has_checkpoint(out):
            raise UserError(f"--resume needs a run directory with a checkpoint; {out} has none "
                            f"(drop --resume to start a new run)")
        print("--resume: no reference run this time (it would start from nothing, yours does not)", flush=True)
    else:
        runout.check_new_run(out, "translate", "--overwrite" in flags)
        with reference_first("translate", out), tempfile.TemporaryDirectory(prefix="nn2gpt-learn-reference-") as tmp:
            ref_dir = str(Path(tmp) / "ref")
            print("training chapter 3's own model first (same flags, same seed) ...", flush=True)
            status = quietly(translate_main, ["train", *extra, *ref_flags, "--out", ref_dir, "--quiet"])
            if status != 0:                 # a bad flag (a stop is raised): the learner's run does not start
                return status
            with contextlib.redirect_stdout(io.StringIO()):
                reference = evaluate(dataclasses.replace(scoring, model=ref_dir))["bleu"]
            ref_steps = last_step(ref_dir)
            ref_losses = val_losses(Path(ref_dir))
    def build_model(cfg):
        built = model.build_model(cfg)
        if "padding_mask" in mine:                                       # (B, S) -> (B, S) bool
            built.padding_mask = lambda src: mine["padding_mask"](src, built.pad_id)
        if "cross_attention" in mine:
            for layer in built.decoder:
                adapt_cross(layer, mine["cross_attention"])
        return built

    learn = {"yours": list(mine), "reference": theirs, "milestone": "translate"}   # the run's config names them
    parts = Parts(build_model=build_model, loss=mine.get("label_smoothing"), config_extra={"learn": learn},
                  greedy_decode=learner_greedy(mine["greedy_decode"]) if "greedy_decode" in mine else None)
    dropout = dropout_of(mine_flags)
    if "cross_attention" in mine and dropout:
        print(f"dropout: chapter 3's model runs --dropout {dropout:g}, and your cross-attention has none of its own "
              f"(the reference's has it): the two runs draw differently; with --dropout 0 and --epochs N they take "
              f"the same steps", flush=True)
    # chapter 3's own commands, through their seam (nn2gpt.translate.parts): nothing of it is patched
    with learner_code(book, during="while training or scoring"):
        translate_main(["train", *extra, *mine_flags, "--out", out], parts)
        print(f"scoring the first {limit} test sentences, greedy:", flush=True)
        with scoring_yours(out, limit):
            yours = evaluate(scoring, parts=parts)["bleu"]
    if ref_losses:
        redraw_with_reference(Path(out), ref_losses, {"train_loss": "train (label-smoothed)", "val_loss": "val (NLL)"})
    theirs_bleu = "" if reference is None else f"   chapter 3's {reference:6.2f} ({ref_steps} steps)"
    print(f"test BLEU, first {limit} sentences, greedy:  yours {yours:6.2f} ({last_step(out)} steps){theirs_bleu}")
    return 0
