"""`nn2gpt learn run translate`: chapter 3's Transformer trained and scored with the learner's pieces.

A few minutes of `nn2gpt translate train` (de-en by default, `--max-seconds 180`), then
`nn2gpt translate eval` with greedy decoding on the test split, both as they are - flags, lock,
checkpoints, sacreBLEU - except for the pieces the learner wrote, where they pass their checks:

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

from nn2gpt.errors import UserError
from nn2gpt.learn.exercise import load_file, pick
from nn2gpt.learn.exercises import find
from nn2gpt.learn.milestone_gpt import split_out

PIECES = {"padding_mask": "padding_mask", "cross_attention": "CrossAttention",
          "label_smoothing": "label_smoothed_loss", "greedy_decode": "greedy_decode"}
DEFAULTS = {"--pair": "de-en", "--max-seconds": "180", "--out": "runs/learn-translate"}
EVAL_LIMIT = 200


def passed(book) -> dict:
    from nn2gpt.learn.runner import check

    out = {}
    for name, what in PIECES.items():
        ex = find(name)
        path = book.root / ex.file
        if path.is_file() and check(ex, path).status == "passed":
            out[name] = pick(load_file(path, f"workbook_run_{name}"), what)
    return out


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


def run(book, flags: list[str]) -> int:
    from nn2gpt import checkpoint
    from nn2gpt.learn.milestone_numpy_gpt import swapped
    from nn2gpt.learn.runner import from_workbook, located
    from nn2gpt.translate import decode, model, train
    from nn2gpt.translate.cli import main as translate_main

    if any(f in ("-h", "--help") for f in flags):
        print("nn2gpt learn run translate [flags of `nn2gpt translate train`] [--eval-limit N]: chapter 3's "
              "Transformer with your padding_mask, CrossAttention and label_smoothed_loss, scored by sacreBLEU "
              "with your greedy_decode; defaults "
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
    extra = [x for k, v in DEFAULTS.items() if k not in given and not (k == "--max-seconds" and "--epochs" in given)
             for x in (k, v)]
    out = split_out(flags, DEFAULTS["--out"])[0]                        # --out DIR or --out=DIR
    mine = passed(book)
    theirs = [n for n in PIECES if n not in mine]
    print(f"yours: {', '.join(mine) or 'none yet'}; chapter 3's: {', '.join(theirs) or 'none'}", flush=True)
    real_build, real_save = model.build_model, checkpoint.save_checkpoint

    def build_model(cfg):
        built = real_build(cfg)
        if "padding_mask" in mine:                                       # (B, S) -> (B, S) bool
            built.padding_mask = lambda src: mine["padding_mask"](src, built.pad_id)
        if "cross_attention" in mine:
            for layer in built.decoder:
                adapt_cross(layer, mine["cross_attention"])
        return built

    def save_checkpoint(run_dir, weights, config, *args, **kw):          # the config names the learner's pieces
        learn = {"yours": list(mine), "reference": theirs, "milestone": "translate"}
        return real_save(run_dir, weights, config | {"learn": learn}, *args, **kw)
    swaps = [(model, "build_model", build_model), (checkpoint, "save_checkpoint", save_checkpoint)]
    if "label_smoothing" in mine:
        swaps.append((train, "label_smoothed_loss", mine["label_smoothing"]))
    if "greedy_decode" in mine:
        swaps.append((decode, "greedy_decode", learner_greedy(mine["greedy_decode"])))
    try:
        with swapped(swaps):
            translate_main(["train", *extra, *flags])
            print(f"scoring the first {limit} test sentences, greedy:", flush=True)
            return translate_main(["eval", "--model", out, "--beam", "1", "--limit", str(limit)])
    except Exception as e:  # the learner's code raised: one line, at their file and line
        if not from_workbook(e, book.root):
            raise
        raise UserError(f"your code raised ({located(e, book.root)}); the last checkpoint, if any, is kept: "
                        f"`nn2gpt learn check` that exercise") from None
