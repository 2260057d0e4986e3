"""`nn2gpt translate average`: one model whose weights are the mean of several checkpoints.

    nn2gpt translate train --pair es-en --out runs/es-en --keep 5 ...
    nn2gpt translate average runs/es-en/ckpt-* --out runs/es-en-avg5
    nn2gpt translate eval --model runs/es-en-avg5

The paper's reported models are such averages: the last 5 checkpoints for the base model, the
last 20 for the big one (section 6.1). The maths and the checks are in
`average_checkpoints` below; `write_average` writes the result as a run directory that every
other `translate` command reads. It holds no optimizer state, so it cannot be resumed; fine-tune
it with `train --init-from`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nn2gpt.checkpoint import Checkpoint, checkpoint_dir, load_checkpoint
from nn2gpt.errors import UserError


def write_average(paths: list[str], out: str, overwrite: bool = False) -> Path:
    from nn2gpt.checkpoint import save_checkpoint
    from nn2gpt.runout import check_new_run, drop_training_files
    from nn2gpt.runlock import RunLock
    from nn2gpt.translate.spm import tokenizer_from_json

    run = Path(out).resolve()
    check_new_run(out, "translate", overwrite, resume_hint=False, sources=[("the checkpoint", p) for p in paths])
    ck = average_checkpoints(paths)
    if ck.config.get("model", {}).get("model") != "transformer":
        raise UserError(f"{paths[0]} is not a translation model; average runs of `nn2gpt translate train`")
    config = dict(ck.config, averaged=ck.state["averaged"])
    with RunLock(run):  # no training run may be writing there meanwhile
        check_new_run(out, "translate", overwrite, resume_hint=False)
        # first the model itself; config.json and tokenizer.json follow it
        tok = tokenizer_from_json(ck.tokenizer)
        files = {"tokenizer.json": tok.hf.to_str(pretty=True)} if hasattr(tok, "hf") else {}  # our BPE's, readable
        save_checkpoint(run, ck.weights, config, ck.tokenizer, None, ck.state, files=files, again="average again")
        drop_training_files(run)  # a replaced run's training curve is not this model's
    return Path(out)


def average_checkpoints(paths) -> Checkpoint:
    """The element-wise mean of the weights of several checkpoints of one model.

    Averaging the last few checkpoints of a run is what "Attention Is All You Need" does for its
    reported models (section 6.1): late in training the weights wander around a minimum, and their
    mean sits closer to its centre than any one of them, which usually helps a little and costs
    nothing at inference. It only makes sense for checkpoints of one training run (same
    configuration, tokenizer and weight shapes; else UserError). Each path is a run directory (its
    latest checkpoint) or a checkpoint directory. The result has no optimizer state; its `state`
    lists what was averaged.
    """
    paths = [Path(p) for p in paths]
    if len(paths) < 2:
        raise UserError("averaging needs at least two checkpoints; name two or more run or ckpt-* directories")
    dirs = [checkpoint_dir(p).resolve() for p in paths]
    for i, d in enumerate(dirs):
        if d in dirs[:i]:
            raise UserError(f"{paths[i]} is the same checkpoint as {paths[dirs.index(d)]}; name each checkpoint once")
    first = load_checkpoint(paths[0])
    total = {k: v.astype(np.float64) for k, v in first.weights.items()}
    steps = [(first.state or {}).get("step")]
    for path in paths[1:]:
        ck = load_checkpoint(path)
        if ck.config != first.config or ck.tokenizer != first.tokenizer:
            raise UserError(f"{path} is not a checkpoint of the same model as {paths[0]} (its configuration or "
                            f"tokenizer differ); average checkpoints of one run")
        if {k: v.shape for k, v in ck.weights.items()} != {k: v.shape for k, v in total.items()}:
            raise UserError(f"{path} has other weights than {paths[0]}; average checkpoints of one run")
        for k, v in ck.weights.items():
            total[k] += v
        steps.append((ck.state or {}).get("step"))
    weights = {k: (v / len(paths)).astype(np.float32) for k, v in total.items()}
    state = {"step": max((s for s in steps if s is not None), default=0),
             "averaged": [{"checkpoint": str(p), "step": s} for p, s in zip(paths, steps)]}
    return Checkpoint(config=first.config, tokenizer=first.tokenizer, weights=weights, optimizer=None, state=state)
