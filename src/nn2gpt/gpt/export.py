"""A chapter-2 GPT back out to Hugging Face transformers (`nn2gpt gpt export RUN --out DIR`).

The reverse of nn2gpt.gpt.pretrained: chapter 2's GPT is GPT-2's architecture (learned
positions, pre-LayerNorm blocks with eps 1e-5, GELU's tanh approximation, a final LayerNorm,
the head tied to the token embedding), so a run trained here pours into a `GPT2LMHeadModel`
tensor by tensor. GPT-2 keeps its linear layers as `Conv1D`, W stored (in, out) and applied as
x @ W, where `nn.Linear` stores (out, in): each block's four matrices are transposed on the way
out, the same four the import transposes on the way in:

    tok_emb (V, C) -> transformer.wte      pos_emb (T, C) -> transformer.wpe
    blocks.{i}.ln1 / ln2 -> transformer.h.{i}.ln_1 / ln_2      ln_f -> transformer.ln_f
    blocks.{i}.attn.qkv.weight  (3C, C) -> h.{i}.attn.c_attn.weight (C, 3C)   (rows q, k, v -> columns)
    blocks.{i}.attn.proj.weight (C, C)  -> h.{i}.attn.c_proj.weight (C, C)
    blocks.{i}.mlp.fc.weight    (4C, C) -> h.{i}.mlp.c_fc.weight    (C, 4C)
    blocks.{i}.mlp.proj.weight  (C, 4C) -> h.{i}.mlp.c_proj.weight  (4C, C)

Mapped exactly rather than refused: a run without biases (`bias=False`) gets biases of zero,
which compute the same; an untied head (`untie`, the speedrun's) becomes `lm_head.weight` with
`tie_word_embeddings: false`; zero-init only changed where training started. Refused by name,
since GPT-2 has no such part: positions other than learned (RoPE, ALiBi, sinusoids, none), a
score other than the scaled dot product, a mask other than the causal one, ReLU² in the MLP,
QK-norm, soft-capped logits, and the steps of the road before the GPT (bigram, one head,
multi-head). The folder gets the tokenizer where it has one transformers reads: GPT-2's own
(vocab.json and merges.txt, from the `gpt2` dataset); a character run writes its characters
(`nn2gpt-vocab.json`, id -> character) and a run on chapter 0's BPE its `merges.txt` and
`tokenizer.json` (`nn2gpt tokens decode --model DIR` turns ids back into text).

The folder is written whole beside `--out` (`.OUT.export-*.tmp`), its weights read back, and
only then swapped in (`swap`): a full disk or a kill leaves the old export as it was, never the
config of one model beside the weights of another.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

from nn2gpt.errors import UserError

# model setting -> (the value GPT-2 has, what GPT-2 lacks otherwise)
EXPORTABLE = {"model": ("gpt", "the blocks of a GPT (the earlier steps of the road have no GPT-2 form)"),
              "pos": ("learned", "learned positions (wpe); RoPE, ALiBi, sinusoids and none have no GPT-2 tensor"),
              "score": ("scaled_dot", "the scaled dot product as its attention score"),
              "mask": ("causal", "the causal mask"),
              "mlp": ("gelu", "GELU in its MLP, not ReLU²"),
              "qk_norm": (False, "no normalisation of q and k"),
              "softcap": (None, "no cap on its logits")}


def refuse_unexportable(cfg, run) -> None:
    for key, (want, why) in EXPORTABLE.items():
        if getattr(cfg, key) != want:
            raise UserError(f"{run} cannot be exported to transformers: its {key} is {getattr(cfg, key)!r}, and "
                            f"GPT-2 has {why}; export a run trained with --{key.replace('_', '-')} "
                            f"{'learned' if key == 'pos' else want} (the classic recipe)")


def hf_config(cfg) -> dict:
    return {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": cfg.vocab_size,
            "n_positions": cfg.block_size, "n_embd": cfg.n_embd, "n_layer": cfg.n_layer, "n_head": cfg.n_head,
            "n_inner": None, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
            "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0, "scale_attn_weights": True,
            "tie_word_embeddings": not cfg.untie, "bos_token_id": None, "eos_token_id": None}


def hf_tensors(state: dict, cfg) -> dict:
    """GPT-2's tensors (contiguous torch tensors) from our state_dict."""
    import torch

    C = cfg.n_embd

    def get(name, shape):
        t = state.get(name)
        return torch.zeros(shape) if t is None else t.detach().float()  # bias=False: a bias of zero, exact

    def matrix(name):
        return state[name].detach().float().t()  # (out, in) -> (in, out): W x becomes x @ W

    out = {"transformer.wte.weight": get("tok_emb.weight", (cfg.vocab_size, C)),
           "transformer.wpe.weight": get("pos_emb.weight", (cfg.block_size, C)),
           "transformer.ln_f.weight": get("ln_f.weight", (C,)), "transformer.ln_f.bias": get("ln_f.bias", (C,))}
    conv = {"attn.qkv": ("attn.c_attn", 3 * C), "attn.proj": ("attn.c_proj", C),
            "mlp.fc": ("mlp.c_fc", 4 * C), "mlp.proj": ("mlp.c_proj", C)}
    for i in range(cfg.n_layer):
        b, h = f"blocks.{i}", f"transformer.h.{i}"
        for ours, theirs in (("ln1", "ln_1"), ("ln2", "ln_2")):
            for p in ("weight", "bias"):
                out[f"{h}.{theirs}.{p}"] = get(f"{b}.{ours}.{p}", (C,))
        for ours, (theirs, n_out) in conv.items():
            out[f"{h}.{theirs}.weight"] = matrix(f"{b}.{ours}.weight")
            out[f"{h}.{theirs}.bias"] = get(f"{b}.{ours}.bias", (n_out,))
    if cfg.untie:
        out["lm_head.weight"] = get("lm_head.weight", (cfg.vocab_size, C))
    return {k: v.contiguous() for k, v in out.items()}


def tokenizer_files(tok, data_dir) -> dict[str, bytes]:
    """The tokenizer files the export carries, by name."""
    kind = tok.to_json()["type"]
    if kind == "gpt2":
        from nn2gpt.data import fetch

        return {"vocab.json": fetch("gpt2", "encoder.json", data_dir).read_bytes(),
                "merges.txt": fetch("gpt2", "vocab.bpe", data_dir).read_bytes()}
    if kind == "char":
        chars = {i: c for i, c in enumerate(tok.chars)}
        return {"nn2gpt-vocab.json": json.dumps(chars, ensure_ascii=False, indent=0).encode("utf-8")}
    with tempfile.TemporaryDirectory() as tmp:  # chapter 0's saved form, exactly as `tokens train` writes it
        from nn2gpt.tokens.store import save

        (Path(tmp) / "t").mkdir()
        save(tok, Path(tmp) / "t")
        return {name: (Path(tmp) / "t" / name).read_bytes() for name in ("merges.txt", "tokenizer.json")}


def swap(new: Path, out: Path) -> None:
    """Put the folder `new` where the folder `out` is, and `out`'s old content where `new` was.

    On Linux one call does it: renameat2 with RENAME_EXCHANGE swaps two names atomically, so a
    reader, a full disk or a kill sees the old export or the new one, each whole. Elsewhere (macOS,
    a file system without it) two renames do it, with a moment in which `out` is missing: a kill
    there leaves the old export whole beside it, as `.NAME.export-*.tmp`."""
    import ctypes

    rename2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    if rename2 is not None and rename2(AT_FDCWD, os.fsencode(new), AT_FDCWD, os.fsencode(out), RENAME_EXCHANGE) == 0:
        return
    aside = new.with_name(new.name + ".old.tmp")
    os.rename(out, aside)
    try:
        os.rename(new, out)
    except OSError:
        os.rename(aside, out)  # the old export back in its place
        raise
    os.rename(aside, new)


def export_gpt(run, out, overwrite: bool = False, data_dir=None) -> Path:
    """Write the GPT of `run` into `out` as a Hugging Face GPT-2 folder (see the module docstring)."""
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file, save_file

    from nn2gpt.checkpoint import EXPORT_MARK, load_checkpoint
    from nn2gpt.files import atomic_write_bytes, atomic_write_json, file_mode
    from nn2gpt.gpt.runs import load_model
    from nn2gpt.runlock import RunLock
    from nn2gpt.runout import check_new_run

    out = Path(out)
    sources = [("the run", run)]
    check_new_run(out, "export", overwrite, resume_hint=False, sources=sources)
    model, tok, config = load_model(run, data_dir=data_dir)  # every check a reader of a run makes
    cfg = model.cfg
    refuse_unexportable(cfg, run)
    tensors = hf_tensors(model.state_dict(), cfg)
    files = tokenizer_files(tok, data_dir)
    step = (load_checkpoint(run).state or {}).get("step")
    with RunLock(out):
        check_new_run(out, "export", overwrite, resume_hint=False, sources=sources)
        for leftover in out.parent.iterdir():  # a killed export's folder: the lock says no export writes it now
            if leftover.name.startswith(f".{out.name}.export-") and leftover.name.endswith(".tmp"):
                shutil.rmtree(leftover, ignore_errors=True)
        new = None
        try:  # the whole new folder beside the old one, then one swap: never half of each
            new = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.export-", suffix=".tmp"))
            os.chmod(new, stat.S_IMODE(os.stat(out).st_mode))  # mkdtemp makes it 0700: keep the folder's mode
            save_file(tensors, str(new / "model.safetensors"), metadata={"format": "pt"})
            os.chmod(new / "model.safetensors", file_mode())  # safetensors makes its files 0600, whatever the umask
            with open(new / "model.safetensors", "rb+") as f:
                os.fsync(f.fileno())  # on the disk before the swap makes it the export
            back = load_file(str(new / "model.safetensors"))  # verified before anything is replaced
            if back.keys() != tensors.keys() or any(not torch.equal(back[k], tensors[k]) for k in tensors):
                raise UserError(f"the weights written beside {out} read back differently; check the disk, "
                                f"then export again")
            atomic_write_json(new / "config.json", hf_config(cfg))
            for name, data in files.items():
                atomic_write_bytes(new / name, data)
            atomic_write_json(new / EXPORT_MARK, {"from": str(run), "step": step, "tokenizer": tok.to_json()["type"],
                                                  "untied": bool(cfg.untie)})
            swap(new, out)  # `new` now holds what `out` held: the old export, or only the lock file
        except (OSError, SafetensorError) as e:  # safetensors reports a full disk as its own error
            why = getattr(e, "strerror", None) or str(e)[:100]
            raise UserError(f"could not write the export in {out} ({why}); what {out} held is unchanged; "
                            f"free some disk space or fix the permissions, then export again") from None
        finally:
            if new is not None:
                shutil.rmtree(new, ignore_errors=True)
    return out
