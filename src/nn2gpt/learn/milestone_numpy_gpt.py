"""`nn2gpt learn run numpy-gpt`: chapter 5's numpy GPT trained with the learner's backward passes.

Chapter 5's model (nn2gpt.numpy_gpt.model) calls its layers' forward and backward functions by
name. For the run, each of those the learner has written and that passes its check now takes
the place of chapter 5's - linear_backward, the LayerNorm pair, gelu_backward,
attention_backward, cross_entropy_backward - and the run says which. Everything else is
`nn2gpt gpt train --engine numpy` as it is, with its flags, its lock and its atomic
checkpoints; the saved config gains "learn" (the learner's pieces), so the studio can say whose
backward passes trained it. The learner's passes reach the model through chapter 5's seam, a
`Layers` object (nn2gpt.numpy_gpt.model), handed to its train(): nothing of chapter 5 is patched.
"""

from __future__ import annotations

from nn2gpt.errors import UserError
from nn2gpt.learn.loading import pick
from nn2gpt.learn.pieces import Pieces, learner_code, listing

USED = ("linear_backward", "layer_norm", "gelu_backward", "attention_backward", "cross_entropy_backward")
DEFAULTS = {"--out": "runs/learn-numpy-gpt", "--max-iters": "200"}


def passed_pieces(book) -> dict:
    """{exercise name: the learner's module} for each of USED that passes its check now."""
    checked = Pieces(book, USED)
    return {name: checked.module(name) for name in checked.mine(USED)}


def layers_of(mine: dict):
    """Chapter 5's Layers with the learner's passes in their places, adapted to chapter 5's
    signatures (nn2gpt.numpy_gpt.model.Layers: what the model applies, by name)."""
    from nn2gpt.numpy_gpt.model import Layers

    given = {}
    if "linear_backward" in mine:
        f = pick(mine["linear_backward"], "linear_backward")

        def linear_backward(dy, x, w, has_bias=True):
            dx, dw, db = f(dy, x, w)
            return dx, dw, db if has_bias else None
        given["linear_backward"] = linear_backward
    if "layer_norm" in mine:
        fwd, bwd = pick(mine["layer_norm"], "layer_norm_forward"), pick(mine["layer_norm"], "layer_norm_backward")

        def layer_norm_forward(x, gamma, beta, eps=1e-5):
            return fwd(x, gamma, 0.0 if beta is None else beta, eps)

        def layer_norm_backward(dy, gamma, cache, has_bias=True):
            dx, dgamma, dbeta = bwd(dy, gamma, cache)
            return dx, dgamma, dbeta if has_bias else None
        given |= {"layer_norm_forward": layer_norm_forward, "layer_norm_backward": layer_norm_backward}
    if "gelu_backward" in mine:
        g = pick(mine["gelu_backward"], "gelu_backward")
        given["gelu_backward"] = lambda dy, x, t: g(dy, x)     # t: chapter 5's cache, unused
    if "attention_backward" in mine:
        given["attention_backward"] = pick(mine["attention_backward"], "attention_backward")
    if "cross_entropy_backward" in mine:
        given["cross_entropy_backward"] = pick(mine["cross_entropy_backward"], "cross_entropy_backward")
    return Layers(**given)


def run(book, flags: list[str]) -> int:
    from nn2gpt.gpt.cli import main as gpt_main

    if any(f in ("-h", "--help") for f in flags):
        print("nn2gpt learn run numpy-gpt [flags of `nn2gpt gpt train`]: chapter 5's numpy GPT trained with your "
              f"backward passes ({', '.join(USED)}); defaults {' '.join(f'{k} {v}' for k, v in DEFAULTS.items())}")
        return gpt_main(["train", "--help"])
    if "--engine" in flags or any(f.startswith("--engine=") for f in flags):
        raise UserError("this milestone is the numpy engine's; drop --engine")
    mine = passed_pieces(book)
    theirs = [n for n in USED if n not in mine]
    print(listing(mine, theirs, "chapter 5's"), flush=True)
    given = {f.split("=")[0] for f in flags}
    extra = [x for k, v in DEFAULTS.items() if k not in given and not (k == "--max-iters" and "--max-seconds" in given)
             for x in (k, v)]
    learn = {"yours": list(mine), "reference": theirs, "milestone": "numpy-gpt"}   # the run's config names them
    with learner_code(book):  # chapter 5's own command, through its seams: nothing of it is patched
        return gpt_main(["train", "--engine", "numpy", *extra, *flags], layers=layers_of(mine),
                        config_extra={"learn": learn})
