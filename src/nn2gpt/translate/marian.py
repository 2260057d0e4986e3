"""A real translation model in chapter 3's Transformer: the opus-mt models (Marian) of Helsinki-NLP.

    nn2gpt translate import Helsinki-NLP/opus-mt-es-en --out runs/opus-es-en   (or --from FOLDER)

The opus-mt models (Tiedemann & Thottingal, 2020) were trained with Marian NMT on OPUS, and
Hugging Face converted them into `MarianMTModel` folders (config.json, model.safetensors,
source.spm, target.spm, vocab.json). Their architecture is the paper's base Transformer; where
it differs from our recipe, translate/model.py has the option, and the import switches it on:

    LayerNorm after each residual (post-LN)   norm="post"          (ours: pre-LN)
    SiLU in the feed-forward network          activation="silu"    (ours: ReLU)
    sines then cosines in the position table  pe_layout="halves"   (ours: interleaved)
    a bias added to the output logits         logits_bias=True     (ours: none)
    embeddings x √d_model                     scale_embed=True     (as ours)
    SentencePiece per language, one vocab     spm.SentencePiecePair (ours: one BPE)

The tensors move over one by one (`TensorTable` refuses any that is missing, left over or of the
wrong shape): q, k and v projections are stacked into our fused `qkv` (rows q, then k, then v,
as MultiHeadAttention splits them) and the cross-attention's k and v into `kv`. The result is
an ordinary run directory: `translate`, `translate eval`, `translate attention`, the studio and
`lab pizza` read it like one we trained, and `translate train --init-from` fine-tunes it.
"""

from __future__ import annotations

import re
from pathlib import Path

from nn2gpt.errors import UserError

NEEDED = ("config.json", "source.spm", "target.spm", "vocab.json")
ACTIVATION = {"swish": "silu", "silu": "silu", "relu": "relu"}  # Marian's name -> translate/model.py's
# the longest position table an import builds: opus-mt models have 512 positions; a config.json asking
# for 10**12 would otherwise end in "out of memory" while the table is computed, naming nothing
MAX_POSITIONS = 65536


def pair_from_name(name: str) -> str | None:
    """"Helsinki-NLP/opus-mt-es-en" -> "es-en" (None if the name does not say)."""
    name = name.rstrip("/")
    m = re.search(r"-([A-Za-z_]+)-([A-Za-z_]+)$", name)
    return f"{m.group(1)}-{m.group(2)}" if m and "opus-mt-" in name else None


def model_config(hf: dict, where: str) -> dict:
    """Our Transformer's "model" config from a MarianConfig (config.json); UserError naming any
    setting our Transformer cannot represent."""
    def need(key, default=None):
        if key not in hf and default is None:
            raise UserError(f"{where}/config.json has no {key}; it is not a Marian config")
        return hf.get(key, default)

    if hf.get("model_type") != "marian":
        raise UserError(f"{where} holds a {hf.get('model_type')!r} model, not a Marian (opus-mt) one")
    from nn2gpt.hub import positive_ints

    positive_ints(hf, where, ("d_model", "vocab_size", "max_position_embeddings", "encoder_layers", "decoder_layers",
                              "encoder_attention_heads", "decoder_attention_heads", "encoder_ffn_dim",
                              "decoder_ffn_dim") + (("decoder_vocab_size",) if "decoder_vocab_size" in hf else ()))
    positive_ints(hf, where, ("pad_token_id", "eos_token_id", "decoder_start_token_id"), least=0)
    for enc, dec in (("encoder_layers", "decoder_layers"), ("encoder_attention_heads", "decoder_attention_heads"),
                     ("encoder_ffn_dim", "decoder_ffn_dim")):
        if need(enc) != need(dec):
            raise UserError(f"{where}: {enc} {hf[enc]} differs from {dec} {hf[dec]}; nn2gpt's Transformer "
                            f"has the same shape on both sides")
    unsupported = {"share_encoder_decoder_embeddings": (False, "separate source and target vocabularies"),
                   "tie_word_embeddings": (False, "an output projection of its own"),
                   "normalize_before": (True, "pre-LN layers (Marian's are post-LN)"),
                   "add_final_layer_norm": (True, "a final LayerNorm on each stack"),
                   "normalize_embedding": (True, "a LayerNorm on the embeddings"),
                   "static_position_embeddings": (False, "learned positions")}
    for key, (bad, what) in unsupported.items():
        if hf.get(key) is bad:
            raise UserError(f"{where}: {key}={bad} ({what}) is not something nn2gpt's Transformer builds")
    act = need("activation_function")
    if act not in ACTIVATION:
        raise UserError(f"{where}: activation_function {act!r} is not one nn2gpt's Transformer has "
                        f"(it has {', '.join(ACTIVATION)})")
    if need("decoder_vocab_size", hf["vocab_size"]) != need("vocab_size"):
        raise UserError(f"{where}: decoder_vocab_size differs from vocab_size; nn2gpt shares one vocabulary")
    if hf["max_position_embeddings"] > MAX_POSITIONS:
        raise UserError(f"{where}/config.json: max_position_embeddings is {hf['max_position_embeddings']}, more "
                        f"than the {MAX_POSITIONS} positions nn2gpt builds (opus-mt models have 512); the config "
                        f"is damaged, copy it again")
    d, nh = need("d_model"), need("encoder_attention_heads")
    if d % nh:
        raise UserError(f"{where}: d_model {d} is not divisible by {nh} heads")
    return {"model": "transformer", "vocab_size": hf["vocab_size"], "d_model": d, "n_layer": hf["encoder_layers"],
            "n_head": nh, "d_ff": hf["encoder_ffn_dim"], "dropout": float(hf.get("dropout", 0.1)),
            "max_len": need("max_position_embeddings"), "pad_id": need("pad_token_id"),
            "bos_id": need("decoder_start_token_id"), "eos_id": need("eos_token_id"),
            "norm": "post", "activation": ACTIVATION[act], "pe_layout": "halves",
            "scale_embed": bool(hf.get("scale_embedding", False)), "logits_bias": True}


def _attention(table, src: str, shapes: dict, dst: str, cross: bool) -> dict:
    """Marian's q/k/v/out projections -> our fused qkv (self) or q + kv (cross), and proj."""
    import torch

    C = shapes[f"{dst}.proj.weight"][0]
    names = {"q": "q_proj", "k": "k_proj", "v": "v_proj", "o": "out_proj"}
    w = {x: table.take(f"{src}.{n}.weight", (C, C)) for x, n in names.items()}
    b = {x: table.take(f"{src}.{n}.bias", (C,)) for x, n in names.items()}
    out = {f"{dst}.proj.weight": w["o"], f"{dst}.proj.bias": b["o"]}
    if cross:
        out |= {f"{dst}.q.weight": w["q"], f"{dst}.q.bias": b["q"],
                f"{dst}.kv.weight": torch.cat([w["k"], w["v"]]), f"{dst}.kv.bias": torch.cat([b["k"], b["v"]])}
    else:
        out |= {f"{dst}.qkv.weight": torch.cat([w["q"], w["k"], w["v"]]),
                f"{dst}.qkv.bias": torch.cat([b["q"], b["k"], b["v"]])}
    return out


def _linear_and_norms(table, src: str, dst: str, shapes: dict, names: dict) -> dict:
    """Tensors that only change their names: `names` maps Marian's module to ours."""
    out = {}
    for theirs, ours in names.items():
        for p in ("weight", "bias"):
            out[f"{dst}.{ours}.{p}"] = table.take(f"{src}.{theirs}.{p}", shapes[f"{dst}.{ours}.{p}"])
    return out


def our_weights(tensors: dict, cfg: dict, where: str) -> dict:
    """{our state_dict name: tensor} from a MarianMTModel's safetensors; UserError naming the first
    tensor that is missing, left over, of the wrong shape, or not what our model computes."""
    import torch

    from nn2gpt.hub import TensorTable
    from nn2gpt.nn.positional import sinusoidal_encoding
    from nn2gpt.translate.model import build_model

    with torch.device("meta"):  # the names and shapes of our Transformer, before any memory is spent on it
        shapes = {k: tuple(v.shape) for k, v in build_model(cfg).state_dict().items()}
    table = TensorTable(tensors, where, prefixes=("model.",))
    V, C = cfg["vocab_size"], cfg["d_model"]
    # one embedding for both stacks and the output, however many names the file gives it
    names = [n for n in ("shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight",
                         "lm_head.weight") if table.has(n)]
    if not names:
        raise UserError(f"{where} has no tensor shared.weight; it is not a complete Marian model")
    embed = table.take(names[0], (V, C))
    for other in names[1:]:
        if not torch.equal(table.take(other, (V, C)), embed):
            raise UserError(f"{where}: {other} differs from {names[0]}; nn2gpt's Transformer ties its embeddings "
                            f"and output projection, so it cannot hold untied ones")
    out = {"embed.weight": embed, "logits_bias": table.take("final_logits_bias", (1, V))[0]}
    for side in ("encoder", "decoder"):
        name = f"{side}.embed_positions.weight"
        if not table.has(name):
            continue
        given = table.take(name, (cfg["max_len"], C))  # its shape checked before the table is computed
        if (given - sinusoidal_encoding(cfg["max_len"], C, layout="halves")).abs().max() > 1e-4:
            raise UserError(f"{where}: {name} is not Marian's sinusoidal table; nn2gpt computes that table "
                            f"and cannot hold learned positions")
    ffn = {"fc1": "ff.fc", "fc2": "ff.proj"}
    for i in range(cfg["n_layer"]):
        e, d = f"encoder.layers.{i}", f"decoder.layers.{i}"
        out |= _attention(table, f"{e}.self_attn", shapes, f"encoder.{i}.self_attn", cross=False)
        out |= _linear_and_norms(table, e, f"encoder.{i}", shapes,
                                 {"self_attn_layer_norm": "ln1", "final_layer_norm": "ln2", **ffn})
        out |= _attention(table, f"{d}.self_attn", shapes, f"decoder.{i}.self_attn", cross=False)
        out |= _attention(table, f"{d}.encoder_attn", shapes, f"decoder.{i}.cross_attn", cross=True)
        out |= _linear_and_norms(table, d, f"decoder.{i}", shapes, {"self_attn_layer_norm": "ln1",
                                 "encoder_attn_layer_norm": "ln2", "final_layer_norm": "ln3", **ffn})
    table.done()
    missing = sorted(set(shapes) - set(out))
    if missing:  # cannot happen unless the two models drift apart: say which
        raise UserError(f"nn2gpt's Transformer has {missing[0]}, which the import does not fill")
    return out


def marian_tokenizer(folder: Path, hf: dict, where: str):
    """spm.SentencePiecePair from the folder's source.spm, target.spm and vocab.json."""
    from nn2gpt.hub import positive_ints, read_json
    from nn2gpt.translate.spm import SentencePiecePair

    tok_cfg = read_json(folder, "tokenizer_config.json") if (folder / "tokenizer_config.json").is_file() else {}
    if tok_cfg.get("separate_vocabs"):
        raise UserError(f"{where} has separate source and target vocabularies (separate_vocabs); "
                        f"nn2gpt's Transformer shares one")
    vocab = read_json(folder, "vocab.json")
    positive_ints(vocab, where, vocab, least=0, file="vocab.json")  # {piece: id}: every id a whole number
    itos = {i: t for t, i in vocab.items()}
    # complete and one-to-one: every embedding row has exactly one piece, or a sentence would be
    # refused later as "characters this model never saw" and a sampled id would decode to nothing
    if len(itos) < len(vocab):
        from collections import Counter

        twice = min(i for i, n in Counter(vocab.values()).items() if n > 1)
        pieces = [t for t, i in vocab.items() if i == twice][:2]
        raise UserError(f"{where}/vocab.json gives id {twice} to two pieces ({pieces[0]!r} and {pieces[1]!r}); "
                        f"the vocabulary is damaged, copy vocab.json again")
    missing = next((i for i in range(hf["vocab_size"]) if i not in itos), None)
    if missing is not None:
        raise UserError(f"{where}/vocab.json has {len(vocab)} pieces, the model {hf['vocab_size']} embeddings "
                        f"(id {missing} has no piece); the vocabulary is incomplete, copy vocab.json again")
    names = {}
    for role, key in (("eos", "eos_token_id"), ("pad", "pad_token_id"), ("decoder_start", "decoder_start_token_id")):
        if hf[key] not in itos:
            raise UserError(f"{where}: {key} {hf[key]} is not in vocab.json; the tokenizer and the model do not match")
        names[role] = itos[hf[key]]
    unk = tok_cfg.get("unk_token", "<unk>")
    unk = unk if isinstance(unk, str) else unk.get("content", "<unk>")
    if max(itos) >= hf["vocab_size"]:
        raise UserError(f"{where}: vocab.json has id {max(itos)}, the model only {hf['vocab_size']} embeddings")
    return SentencePiecePair((folder / "source.spm").read_bytes(), (folder / "target.spm").read_bytes(), vocab,
                             unk=unk, **names)


def import_marian(name: str | None, out: str, from_dir: str | None = None, pair: str | None = None,
                  overwrite: bool = False) -> Path:
    """Write the Marian model `name` (Hub repository) or `from_dir` (a local folder) into the run `out`."""
    from nn2gpt.checkpoint import save_checkpoint
    from nn2gpt.runout import check_new_run, drop_training_files
    from nn2gpt.hub import model_folder, read_json, read_tensors
    from nn2gpt.runlock import RunLock
    from nn2gpt.translate.model import model_weights

    where = from_dir if from_dir is not None else name
    pair = pair or pair_from_name(name or str(Path(from_dir).resolve()))
    no_pair = UserError(f"cannot tell the language pair of {where}; give it with --pair (e.g. --pair es-en)")
    if pair is None and name is not None:
        raise no_pair
    sources = [("--from", from_dir)]
    check_new_run(out, "translate", overwrite, resume_hint=False, sources=sources)  # before any download
    folder = model_folder(name, from_dir, NEEDED)
    if pair is None:
        raise no_pair
    hf = read_json(folder, "config.json")
    cfg = model_config(hf, where)
    tok = marian_tokenizer(folder, hf, where)
    weights = our_weights(read_tensors(folder), cfg, where)
    model = _checked_model(cfg, weights)
    config = {"model": cfg, "engine": "torch",
              "train": {"pair": pair, "max_tokens": 2048, "imported": {"from": where, "format": "marian"}}}
    with RunLock(Path(out)):
        check_new_run(out, "translate", overwrite, resume_hint=False, sources=sources)
        save_checkpoint(Path(out), model_weights(model), config, tok.to_json(), None, {"step": 0},
                        again="import again")
        drop_training_files(out)  # the curve and samples of a run this import replaced are not this model's
    return Path(out)


def _checked_model(cfg: dict, weights: dict):
    from nn2gpt.translate.model import build_model

    model = build_model(cfg)
    model.load_state_dict(weights, strict=True)
    return model.eval()
