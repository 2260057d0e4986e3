"""`nn2gpt translate average`: one model whose weights are the mean of several checkpoints.

    nn2gpt translate train --pair es-en --out runs/es-en --keep 5 ...
    nn2gpt translate average runs/es-en/ckpt-* --out runs/es-en-avg5
    nn2gpt translate eval --model runs/es-en-avg5

The paper's reported models are such averages: the last 5 checkpoints for the base model, the
last 20 for the big one (section 6.1). The maths and the checks are in
`nn2gpt.checkpoint.average_checkpoints`; this writes the result as a run directory that every
other `translate` command reads. It holds no optimizer state, so it cannot be resumed; fine-tune
it with `train --init-from`.
"""

from __future__ import annotations

from pathlib import Path

from nn2gpt.errors import UserError


def write_average(paths: list[str], out: str, overwrite: bool = False) -> Path:
    from nn2gpt.checkpoint import average_checkpoints, check_new_run, save_checkpoint
    from nn2gpt.runlock import RunLock
    from nn2gpt.translate.spm import tokenizer_from_json

    run = Path(out).resolve()
    for p in map(Path, paths):  # --out must neither hold an input nor lie inside one
        if run == p.resolve() or run in p.resolve().parents or p.resolve() in run.parents:
            raise UserError(f"--out {out} overlaps the checkpoint {p}; write the average to a new directory")
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
        for leftover in ("metrics.jsonl", "loss.png"):  # a replaced run's training curve is not this model's
            (run / leftover).unlink(missing_ok=True)
    return Path(out)
