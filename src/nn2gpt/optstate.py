"""Adam's state in a checkpoint, named one way for every chapter.

Adam keeps, for every parameter, a running mean of its gradient (exp_avg, "m"), of the
gradient's square (exp_avg_sq, "v"), and the number of steps taken (for the bias correction).
A checkpoint stores them as arrays named after the parameter:

    exp_avg.<name>  exp_avg_sq.<name>  step.<name>     e.g. exp_avg.blocks.0.attn.qkv.weight

so a checkpoint can be read without knowing the order in which an optimizer listed its
parameters. Chapter 2's torch engine, chapter 3's Transformer and chapter 5's numpy AdamW all
write this, and read only this: optimizer state of any other spelling is refused by name.
This module needs numpy only; the torch helpers import torch when they are called.
"""

from __future__ import annotations

import numpy as np

KEYS = ("exp_avg", "exp_avg_sq", "step")


def adam_arrays(moments) -> dict[str, np.ndarray]:
    """{array name: array} from (parameter name, exp_avg, exp_avg_sq, step) tuples."""
    out = {}
    for name, m, v, step in moments:
        out[f"exp_avg.{name}"], out[f"exp_avg_sq.{name}"] = np.asarray(m), np.asarray(v)
        out[f"step.{name}"] = np.asarray([float(step)], dtype=np.float32)
    return out


def read_adam(arrays: dict[str, np.ndarray], steps: int | None = None) -> dict[str, tuple]:
    """{parameter name: (exp_avg, exp_avg_sq, step)} from a checkpoint's optimizer arrays (the step
    count `steps` where an array has none). Arrays that are no Adam state (a saved RNG,
    "rng.torch"; Muon's "muon.<name>") are left out; a moment without its partner is refused."""
    from nn2gpt.errors import UserError

    out = {}
    for key, a in arrays.items():
        kind, _, name = key.partition(".")
        if kind in ("state", "m", "v"):  # spellings of unreleased versions
            raise UserError(f"the saved optimizer state is in a spelling this version does not read ({key}); "
                            f"it cannot be continued: start the run again with --overwrite")
        if kind == "exp_avg":
            if f"exp_avg_sq.{name}" not in arrays:
                raise UserError(f"the saved optimizer state has exp_avg.{name} but no exp_avg_sq.{name}; "
                                f"it cannot be continued: start the run again with --overwrite")
            step = arrays[f"step.{name}"][0] if f"step.{name}" in arrays else steps
            out[name] = (a, arrays[f"exp_avg_sq.{name}"], step)
    return out


def torch_adam_arrays(opt, model) -> dict[str, np.ndarray]:
    """The state of a torch Adam/AdamW over `model`'s parameters, as arrays named by parameter."""
    names = {id(p): n for n, p in model.named_parameters()}
    return adam_arrays((names[id(p)], st["exp_avg"].cpu().numpy(), st["exp_avg_sq"].cpu().numpy(),
                        float(st["step"]))
                       for group in opt.param_groups for p in group["params"] if (st := opt.state.get(p)))


def load_torch_adam(opt, model, arrays: dict[str, np.ndarray]) -> None:
    """Put the saved moments back into a torch Adam/AdamW built over `model` (its param groups from
    the run's config, as when it was saved)."""
    import torch

    saved = read_adam(arrays)
    on_device = opt.defaults.get("fused") or opt.defaults.get("capturable")  # else torch keeps `step` on the CPU
    for name, p in model.named_parameters():
        if name in saved:
            m, v, step = saved[name]
            opt.state[p] = {"step": torch.tensor(float(step), dtype=torch.float32,
                                                 device=p.device if on_device else "cpu"),
                            "exp_avg": torch.from_numpy(np.array(m)).to(p.device),
                            "exp_avg_sq": torch.from_numpy(np.array(v)).to(p.device)}
