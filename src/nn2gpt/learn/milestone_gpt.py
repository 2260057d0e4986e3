"""`nn2gpt learn run gpt`: chapter 2's char GPT on Tiny Shakespeare, its blocks the learner's.

The model is chapter 2's GPT with GPT-2's recipe (`--recipe classic`: learned positions, AdamW,
the tied head), and training is `nn2gpt gpt train` as it is, with its flags, lock and
checkpoints. The difference is inside each block: its forward runs the learner's `Block`
(exercise 16), built from the learner's MultiHeadAttention, Head and FeedForward where they pass
their checks now (the reference's, the solutions, for the others). The learner's modules hold no
weights of their own: every forward hands them the block's own parameters
(`torch.func.functional_call`), cut into the lecture's shapes - rows h*hs:(h+1)*hs of the fused
q/k/v matrix are head h's query, and so on. So the gradients land in the project's tensors, the
checkpoint has the project's names, and the run is an ordinary gpt run: `gpt sample`, the studio
and `--resume` read it as any other.

The reference trains first, from the same seed for the same budget (into a temporary directory),
and the validation losses are printed side by side: equal to rounding when the learner's pieces
are right. Flags and --out are checked before anything trains; if the reference refuses a flag,
its last line is printed and the milestone ends with its status, and if Ctrl-C or SIGTERM stops
it, one line says that the learner's run never started and nothing was written to --out (exit
130 or 143; pieces.reference_first). Either way the learner's run does not start. A stop during
the learner's run is `gpt train`'s own: saved, resumable, its losses shown beside the reference's.
(The lecture's heads have no bias, so the reference's fused q/k/v bias is held at zero.) A
sample is then drawn with the learner's `next_token_probs` (exercise 18) if it passes. With
`--pos sinusoidal` the positions are the learner's `positional_encoding` table (exercise 17)
if it passes; the bigram loss and the average of the past (11, 12) are steps of the lecture with
no place in this network, and the run names them so when they pass.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import tempfile
from pathlib import Path

from nn2gpt.errors import UserError

PIECES = {"head": "Head", "multi_head": "MultiHeadAttention", "feed_forward": "FeedForward", "block": "Block"}
CLASSIC = ["--model", "gpt", "--recipe", "classic"]
FIXED = ("--model", "--recipe", "--engine", "--score", "--mask", "--optimizer", "--mlp", "--softcap",
         "--qk-norm", "--no-qk-norm", "--zero-init", "--no-zero-init", "--untie", "--no-untie")
NOT_HERE = {"bigram_loss": "the bigram model's own loss; this GPT's is the same cross-entropy, over its logits",
            "average_past": "the step before attention; this network's heads weigh the past instead"}
DEFAULTS = {"--out": "runs/learn-gpt", "--max-iters": "200", "--eval-interval": "50"}


def learner_block_class(checked) -> tuple[type, list[str], object | None]:
    """(the Block class to run, the names of the learner's pieces in it, their next_token_probs or None)."""
    chosen: dict = {}
    for name, cls in PIECES.items():     # in order: each file's imports of the earlier pieces get those chosen
        chosen[cls] = checked.function(name, cls, given=chosen)
    probs = checked.function("sampling", "next_token_probs", reference=False)
    return chosen["Block"], checked.mine((*PIECES, "sampling")), probs


def passed_others(checked, pos: str) -> tuple[object | None, dict[str, str]]:
    """(the learner's positional_encoding if it passes and --pos sinusoidal uses it, else None;
    {name: why} for the passed exercises with no place in this run)."""
    unused = {name: why for name, why in NOT_HERE.items() if checked.passed(name)}
    if not checked.passed("positional_encoding"):
        return None, unused
    if pos != "sinusoidal":
        return None, unused | {"positional_encoding": "the positions are learned; --pos sinusoidal trains with it"}
    return checked.function("positional_encoding", "positional_encoding"), unused


def flag_value(flags: list[str], name: str) -> str | None:
    """The value of `name VALUE` or `name=VALUE` in flags, the last one given; None if absent."""
    value = None
    for i, f in enumerate(flags):
        if f == name and i + 1 < len(flags):
            value = flags[i + 1]
        elif f.startswith(name + "="):
            value = f.split("=", 1)[1]
    return value


def pos_flag(flags: list[str]) -> str:
    """--pos's value: learned (GPT-2's recipe) or sinusoidal, the one the workbook has an exercise for."""
    pos = flag_value(flags, "--pos")
    pos = "learned" if pos is None else pos
    if pos not in ("learned", "sinusoidal"):
        raise UserError(f"--pos {pos}: this milestone trains chapter 2's GPT with GPT-2's recipe (--recipe classic), "
                        f"learned positions or the workbook's sinusoidal ones; drop --pos or choose one of those")
    return pos


def without_dropout(learner) -> list[str]:
    """Set every dropout layer of the learner's Block (the lecture's heads have nn.Dropout(0.2)) to
    p = 0, this milestone's own value, as the reference's; -> "name (p)" of each one changed.

    The reference has no dropout, so with it the same seed would give other losses; and the
    learner's modules are not submodules of the model, so model.eval() never reaches them and
    their dropout would stay on while the validation loss is measured."""
    from torch import nn

    kinds = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)
    changed = []
    for name, layer in learner.named_modules():
        if isinstance(layer, kinds) and layer.p > 0:
            changed.append(f"{name} ({layer.p:g})")
            layer.p = 0.0
    return changed


def same_twice(forward, cfg) -> bool:
    """Whether `forward` gives one answer twice for one input: a random draw inside it would make
    the run leave the reference's. The random state is put back, so training's draws are the same."""
    import torch

    with torch.random.fork_rng(devices=[]), torch.no_grad():
        x = torch.randn(1, min(8, cfg.block_size), cfg.n_embd, generator=torch.Generator().manual_seed(0))
        return torch.equal(forward(x), forward(x))


def block_forward(block, learner, n_head: int):
    """A forward for the project's `block` that runs the `learner`'s Block on the block's parameters."""
    import torch
    from torch import nn

    C = block.ln1.weight.shape[0]
    hs = C // n_head
    fc, proj = [n for n, m in learner.ffwd.named_modules() if isinstance(m, nn.Linear)]

    def params() -> dict:
        qkv = block.attn.qkv.weight                                       # (3C, C): q rows, then k, then v
        p = {f"{ln}.{w}": getattr(getattr(block, ln), w) for ln in ("ln1", "ln2") for w in ("weight", "bias")}
        p |= {f"sa.proj.{w}": getattr(block.attn.proj, w) for w in ("weight", "bias")}
        p |= {f"ffwd.{fc}.{w}": getattr(block.mlp.fc, w) for w in ("weight", "bias")}
        p |= {f"ffwd.{proj}.{w}": getattr(block.mlp.proj, w) for w in ("weight", "bias")}
        for h in range(n_head):
            for j, name in enumerate(("query", "key", "value")):
                p[f"sa.heads.{h}.{name}.weight"] = qkv[j * C + h * hs: j * C + (h + 1) * hs]   # (hs, C)
        return p

    def forward(x, kv_cache=None):                                        # sampling runs without a cache
        if learner.training != block.training:   # not a submodule: model.eval() reaches it only here
            learner.train(block.training)
        return torch.func.functional_call(learner, params(), (x,))
    return forward


def pop_flag(flags: list[str], name: str, default: str) -> tuple[str, list[str]]:
    """(the value of `name VALUE` or `name=VALUE`, the last one given, else `default`; the flags
    without it): a milestone's own flag, taken out before the chapter's command sees the rest."""
    value, rest, i = default, [], 0
    while i < len(flags):
        if flags[i] == name and i + 1 < len(flags):
            value, i = flags[i + 1], i + 2
            continue
        if flags[i].startswith(name + "="):
            value = flags[i].split("=", 1)[1]
        else:
            rest.append(flags[i])
        i += 1
    return value, rest


def split_out(flags: list[str], default: str = DEFAULTS["--out"]) -> tuple[str, list[str], list[str]]:
    """(--out DIR or --out=DIR, else `default`; the flags without --out; those also without
    --resume/--overwrite, for the reference run)."""
    out, rest = pop_flag(flags, "--out", default)
    return out, rest, [f for f in rest if f not in ("--resume", "--overwrite")]


def run(book, flags: list[str]) -> int:
    from nn2gpt.runout import check_new_run
    from nn2gpt.gpt import setup
    from nn2gpt.gpt.cli import main as gpt_main
    from nn2gpt.learn.pieces import Pieces, learner_code, listing, quietly, reference_first

    if any(f in ("-h", "--help") for f in flags):
        print("nn2gpt learn run gpt [flags of `nn2gpt gpt train`]: chapter 2's GPT whose blocks are your Block, "
              "MultiHeadAttention, Head and FeedForward (with --pos sinusoidal, your positional_encoding); "
              f"defaults {' '.join(f'{k} {v}' for k, v in DEFAULTS.items())}")
        return gpt_main(["train", "--help"])
    fixed = [f.split("=")[0] for f in flags if f.split("=")[0] in FIXED]
    if fixed:
        raise UserError(f"this milestone trains chapter 2's GPT with GPT-2's recipe (--recipe classic); drop "
                        f"{', '.join(fixed)}")
    out, mine_flags, ref_flags = split_out(flags)
    given = {f.split("=")[0] for f in flags}
    extra = [x for k, v in DEFAULTS.items() if k != "--out" and k not in given
             and not (k == "--max-iters" and "--max-seconds" in given) for x in (k, v)]
    pos = pos_flag(flags)
    checked = Pieces(book, [*PIECES, "sampling", "positional_encoding", *NOT_HERE])
    Block, mine, probs = learner_block_class(checked)
    table, unused = passed_others(checked, pos)
    mine += ["positional_encoding"] if table else []
    theirs = [n for n in (*PIECES, "sampling") if n not in mine]
    theirs += ["positional_encoding"] if pos == "sinusoidal" and not table else []
    print(listing(mine, theirs, unused=unused), flush=True)
    built = []

    def build(cfg, tok, device, dist):
        model_cfg, model = setup.build(cfg, tok, device, dist)
        if not dataclasses.replace(model_cfg, pos="learned").is_chapter_2():   # (the flags above keep it so)
            raise UserError("this milestone trains chapter 2's GPT; drop the chapter 4 and 6 variants")
        if cfg.dropout or not cfg.bias:
            raise UserError("this milestone's blocks have no dropout and keep their biases; drop --dropout")
        for k, block in enumerate(model.blocks):
            learner = Block(model_cfg.n_embd, model_cfg.n_head, model_cfg.block_size).to(device)
            dropped = without_dropout(learner)
            if dropped and k == 0 and not built:
                print(f"your Block's dropout runs with p = 0 here, this milestone's own value (the reference's GPT "
                      f"has none): {', '.join(dropped)}", flush=True)
            block.forward = block_forward(block, learner, model_cfg.n_head)
            if k == 0 and not built and not same_twice(block.forward, model_cfg):
                print("your Block gives two different outputs for one input (a dropout in a forward, "
                      "F.dropout?): this milestone has no dropout, so your losses will not be the reference's",
                      flush=True)
        model.new_caches = lambda: None                                  # the learner's blocks keep no KV cache
        if table is not None:                                            # (T, C): the learner's, not saved
            model.pos_table = table(model_cfg.block_size, model_cfg.n_embd).to(device, model.pos_table.dtype)
        built.append((model, tok))
        return model_cfg, model

    learn = {"yours": mine, "reference": theirs, "not_used": sorted(unused), "milestone": "gpt"}

    def reference_build(cfg, tok, device, dist):                      # the lecture's heads have no q/k/v bias
        model_cfg, model = setup.build(cfg, tok, device, dist)
        for block in model.blocks:
            block.attn.qkv.bias.requires_grad_(False)                   # zero from the init, and kept there
        return model_cfg, model

    if "--resume" not in flags:             # refused now, not after the reference has trained
        check_new_run(out, "gpt", "--overwrite" in flags)
    with reference_first("gpt", out), tempfile.TemporaryDirectory(prefix="nn2gpt-learn-reference-") as tmp:
        print("training the reference first (same seed, same budget) ...", flush=True)
        status = quietly(functools.partial(gpt_main, build_model=reference_build),
                         ["train", *CLASSIC, *extra, *ref_flags, "--out", str(Path(tmp) / "ref"), "--quiet",
                          "--sample-tokens", "0"])
        if status != 0:                     # a bad flag (a stop is raised): the learner's run does not start
            return status
        reference = val_losses(Path(tmp) / "ref")
    with learner_code(book):  # chapter 2's own command, through its seams: nothing of it is patched
        status = gpt_main(["train", *CLASSIC, *extra, *mine_flags, "--out", out], build_model=build,
                          config_extra={"learn": learn})
    print(side_by_side(val_losses(Path(out)), reference, stopped=status != 0))
    redraw_with_reference(Path(out), reference)
    if probs is not None and built:
        print("a sample drawn with your next_token_probs:")
        print(sample(built[-1][0], built[-1][1], probs))
    return status


def redraw_with_reference(run_dir: Path, reference: dict[int, float], labels: dict | None = None) -> None:
    """loss.png again, the reference's validation losses dashed beside the learner's."""
    from nn2gpt.runlog import plot_losses, read_metrics

    if (run_dir / "loss.png").is_file() and reference:
        plot_losses(run_dir, read_metrics(run_dir), labels, reference=reference)


def side_by_side(yours: dict[int, float], reference: dict[int, float], stopped: bool) -> str:
    """The validation losses of the learner's run beside the reference's, step by step. A step the
    reference has no evaluation at - the one where Ctrl-C or SIGTERM stopped the learner's run,
    between two of the reference's evaluations - shows "-" and a line saying why, not a NaN."""
    lines = ["validation loss   step     yours   reference"]
    for step, loss in yours.items():
        theirs = f"{reference[step]:7.4f}" if step in reference else f"{'-':>7}"
        lines.append(f"                  {step:>5}   {loss:7.4f}   {theirs}")
    missing = [str(step) for step in yours if step not in reference]
    if missing:
        why = "your run was stopped there, between two of the reference's evaluations" if stopped \
            else "the two runs evaluated at different steps"
        lines.append(f"(-: the reference has no evaluation at step {', '.join(missing)}: {why})")
    return "\n".join(lines)


def val_losses(run_dir: Path) -> dict[int, float]:
    from nn2gpt.runlog import read_metrics

    return {r["step"]: r["val_loss"] for r in read_metrics(run_dir) if "val_loss" in r}


def sample(model, tok, next_token_probs, n: int = 200, seed: int = 0) -> str:
    """n characters from a newline, each drawn from your next_token_probs (temperature 0.8, top-k 20)."""
    import torch

    from nn2gpt.gpt.tokenizer import prompt_ids

    idx = torch.tensor([prompt_ids(tok, "")], dtype=torch.long)
    g = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device  # where it trained (--device)
    model.eval()
    with torch.no_grad(), contextlib.suppress(KeyboardInterrupt):
        for _ in range(n):  # the draw on the CPU, in float64: the Apple GPU (mps) has no float64
            logits = model.logits(idx[:, -model.cfg.block_size:].to(device))[:, -1].cpu()  # (1, V)
            p = next_token_probs(logits.double(), temperature=0.8, top_k=20)
            idx = torch.cat([idx, torch.multinomial(p, 1, generator=g)], dim=1)
    return tok.decode(idx[0].tolist())
