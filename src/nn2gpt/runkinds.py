"""The kinds of run directory, and what tells them apart.

Every command that reads a directory first asks what it holds, so that a digits network given
to `gpt sample` is named as one (with the command that reads it), not met with a missing file:

    gpt        a checkpoint whose config names a model of chapter 2's road (GPT_MODELS)
    translate  a checkpoint whose config names the Transformer
    digits     weights.npz                    lab     results.json
    export     nn2gpt-export.json (EXPORT_MARK), beside the Hugging Face files `gpt export` made
    tokens     merges.txt and tokenizer.json (nn2gpt.tokens.store)

A checkpoint's kind is in its config (`config_kind`); the other kinds are known by a file
(`folder_kind`). `run_kind`, which asks both, lives with the checkpoint's reading
(nn2gpt.checkpoint.load), since it must read a checkpoint's config, and that reading itself
refuses a folder of another kind: so this module sits below the checkpoint and imports no
chapter. The road's names are declared here for that reason, and nn2gpt.gpt takes them from
here (its `MODELS`).
"""

from __future__ import annotations

from pathlib import Path

from nn2gpt.errors import UserError

# The road of chapter 2, in order: each model adds one idea to the one before (nn2gpt.gpt.model).
GPT_MODELS = ("bigram", "attention", "multihead", "gpt")

# what each kind of run directory holds, and the command that makes and reads it
KINDS = {"translate": ("a translation model", "nn2gpt translate"), "gpt": ("a chapter-2 GPT", "nn2gpt gpt"),
         "digits": ("a digits network", "nn2gpt digits"), "lab": ("a lab report", "nn2gpt lab"),
         "export": ("a GPT exported for transformers", "nn2gpt gpt export"),
         "tokens": ("a tokenizer", "nn2gpt tokens")}
EXPORT_MARK = "nn2gpt-export.json"  # what `gpt export` writes beside the Hugging Face files it makes


def config_kind(config) -> str | None:
    """"gpt" or "translate" from a checkpoint's config (its "model"), None if neither."""
    model = (config.get("model") or {}).get("model") if isinstance(config, dict) else None
    return "translate" if model == "transformer" else "gpt" if model in GPT_MODELS else None


def folder_kind(path) -> str | None:
    """What the directory `path` holds besides a checkpoint: "digits" (weights.npz), "lab"
    (results.json), "export" (a Hugging Face folder `gpt export` wrote), "tokens" (a tokenizer),
    or None (nothing of ours: empty, missing, a checkpoint, or someone else's files)."""
    path = Path(path)
    if (path / "weights.npz").is_file():
        return "digits"
    if (path / "results.json").is_file():
        return "lab"
    if (path / EXPORT_MARK).is_file():
        return "export"
    if (path / "merges.txt").is_file() and (path / "tokenizer.json").is_file():
        return "tokens"  # written by `nn2gpt tokens train` (nn2gpt.tokens.store)
    return None


def describe(kind: str | None) -> str:
    return KINDS.get(kind, ("a run of unknown kind", ""))[0]


def require_kind(run_dir, config: dict, want: str) -> None:
    """UserError unless the checkpoint config `config` of `run_dir` is of kind `want` ("gpt" or
    "translate"): a translation run given to `gpt sample` says so, not "unknown model 'transformer'"."""
    kind = config_kind(config)
    if kind != want:
        refuse_kind(run_dir, kind, want)


def refuse_kind(run_dir, kind: str | None, want: str | None):
    """UserError: `run_dir` holds a run of `kind`, where one of `want` (None: any checkpoint) belongs."""
    wanted = describe(want) if want else "a run with a checkpoint"
    fix = f"a directory of `{KINDS[want][1]}`" if want else "a run of `nn2gpt gpt` or `nn2gpt translate`"
    if kind not in KINDS:  # a damaged meta.json, or a checkpoint of a model we do not know: no command reads it
        raise UserError(f"{run_dir} holds a checkpoint whose meta.json cannot be read as one of ours, not {wanted}; "
                        f"retrain it, or give {fix}")
    raise UserError(f"{run_dir} holds {describe(kind)}, not {wanted}; use it with `{KINDS[kind][1]}`, or give {fix}")
