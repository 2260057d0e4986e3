"""GPT-2's own weights in chapter 2's GPT (`nn2gpt gpt import gpt2 --out runs/gpt2`).

OpenAI's GPT-2 (Radford et al., 2019) is the model chapter 2 builds: learned positions,
pre-LayerNorm blocks (LayerNorm eps 1e-5), GELU in its tanh approximation, a final LayerNorm
and the head tied to the token embedding. So its weights pour into `nn2gpt.gpt.model.GPT`
unchanged, tensor by tensor, with one twist: GPT-2 was written in TensorFlow, and its linear
layers (Hugging Face keeps them as `Conv1D`) store W as (in, out) and compute x @ W, where
`nn.Linear` stores (out, in) and computes x @ Wᵀ. Each of the four matrices of a block is
therefore transposed on the way in:

    h.{i}.attn.c_attn.weight  (C, 3C)  ->  blocks.{i}.attn.qkv.weight  (3C, C)   rows q, k, v
    h.{i}.attn.c_proj.weight  (C, C)   ->  blocks.{i}.attn.proj.weight (C, C)
    h.{i}.mlp.c_fc.weight     (C, 4C)  ->  blocks.{i}.mlp.fc.weight    (4C, C)
    h.{i}.mlp.c_proj.weight   (4C, C)  ->  blocks.{i}.mlp.proj.weight  (C, 4C)
    wte (V, C) -> tok_emb, wpe (T, C) -> pos_emb, ln_1/ln_2/ln_f -> ln1/ln2/ln_f

The tokenizer is the one nn2gpt already has (gpt/tokenizer.py: GPT-2's byte-level BPE through
tiktoken). The result is an ordinary run of `nn2gpt gpt`: sample it, look at its attention,
run it in the numpy engine, or fine-tune it with `gpt train --resume --out RUN --text FILE`
(its checkpoint carries a fine-tuning recipe: AdamW, lr 1e-4, no dropout).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from nn2gpt.errors import UserError

# the four sizes OpenAI released (124M, 355M, 774M, 1.5B parameters) and where the Hub keeps them
SIZES = {name: f"openai-community/{name}" for name in ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl")}
GELU_TANH = ("gelu_new", "gelu_pytorch_tanh", "gelu_fast")  # Hugging Face's names for GPT-2's GELU
VOCAB = 50257
# fine-tuning defaults written into the imported run (a resumed run keeps them unless given again)
FINE_TUNE = {"optimizer": "adamw", "lr": 1e-4, "min_lr": 1e-5, "warmup": 10, "weight_decay": 0.01,
             "batch_size": 4, "max_iters": 200, "eval_interval": 50, "eval_batches": 10, "sample_tokens": 200}


def model_config(hf: dict, where: str):
    """chapter 2's ModelConfig for a GPT2Config (config.json); UserError naming anything it cannot hold."""
    from nn2gpt.gpt.variants import ModelConfig
    from nn2gpt.hub import positive_ints

    if hf.get("model_type") != "gpt2":
        raise UserError(f"{where} holds a {hf.get('model_type')!r} model, not GPT-2")
    positive_ints(hf, where, ("n_embd", "n_layer", "n_head", "n_positions", "vocab_size"))
    checks = [("vocab_size", hf["vocab_size"] == VOCAB, f"GPT-2's BPE tokenizer has {VOCAB} tokens"),
              ("activation_function", hf.get("activation_function", "gelu_new") in GELU_TANH,
               "chapter 2's MLP computes GELU's tanh approximation"),
              ("layer_norm_epsilon", abs(hf.get("layer_norm_epsilon", 1e-5) - 1e-5) < 1e-12,
               "chapter 2's LayerNorms use eps 1e-5"),
              ("n_inner", hf.get("n_inner") in (None, 4 * hf["n_embd"]), "chapter 2's MLP is 4 x n_embd wide"),
              ("scale_attn_weights", hf.get("scale_attn_weights", True) is True, "chapter 2 divides scores by √hs"),
              ("scale_attn_by_inverse_layer_idx", not hf.get("scale_attn_by_inverse_layer_idx", False),
               "chapter 2 scales every layer's scores alike"),
              ("tie_word_embeddings", hf.get("tie_word_embeddings", True) is True, "chapter 2's head is tied")]
    for key, ok, why in checks:
        if not ok:
            raise UserError(f"{where}: {key} {hf.get(key)!r} cannot be represented: {why}")
    if hf["n_embd"] % hf["n_head"]:
        raise UserError(f"{where}: n_embd {hf['n_embd']} is not divisible by n_head {hf['n_head']}")
    return ModelConfig(model="gpt", vocab_size=VOCAB, block_size=hf["n_positions"], n_layer=hf["n_layer"],
                       n_head=hf["n_head"], n_embd=hf["n_embd"], dropout=0.0, bias=True, pos="learned")


def our_weights(tensors: dict, cfg, where: str) -> dict:
    """{chapter 2's state_dict name: tensor} from GPT-2's safetensors (Conv1D matrices transposed);
    UserError naming the first tensor that is missing, left over or of the wrong shape."""
    import torch

    from nn2gpt.hub import TensorTable

    C, V, T = cfg.n_embd, cfg.vocab_size, cfg.block_size
    table = TensorTable(tensors, where, prefixes=("transformer.",))
    out = {"tok_emb.weight": table.take("wte.weight", (V, C)), "pos_emb.weight": table.take("wpe.weight", (T, C)),
           "ln_f.weight": table.take("ln_f.weight", (C,)), "ln_f.bias": table.take("ln_f.bias", (C,))}
    if table.has("lm_head.weight") and not torch.equal(table.take("lm_head.weight", (V, C)), out["tok_emb.weight"]):
        raise UserError(f"{where}: lm_head.weight differs from wte.weight; chapter 2's head is the token "
                        f"embedding itself, so it cannot hold an untied one")
    conv = {"attn.c_attn": ("attn.qkv", 3 * C, C), "attn.c_proj": ("attn.proj", C, C),
            "mlp.c_fc": ("mlp.fc", 4 * C, C), "mlp.c_proj": ("mlp.proj", C, 4 * C)}
    for i in range(cfg.n_layer):
        h, b = f"h.{i}", f"blocks.{i}"
        for theirs, ours in (("ln_1", "ln1"), ("ln_2", "ln2")):
            for p in ("weight", "bias"):
                out[f"{b}.{ours}.{p}"] = table.take(f"{h}.{theirs}.{p}", (C,))
        for theirs, (ours, n_out, n_in) in conv.items():
            out[f"{b}.{ours}.weight"] = table.take(f"{h}.{theirs}.weight", (n_in, n_out)).t().contiguous()  # x @ W -> W x
            out[f"{b}.{ours}.bias"] = table.take(f"{h}.{theirs}.bias", (n_out,))
    # older files also store each layer's causal mask as a buffer ("attn.bias", "attn.masked_bias")
    table.done(ignore=lambda name: name.endswith((".attn.bias", ".attn.masked_bias")))
    return out


def import_gpt2(name: str | None, out: str, from_dir: str | None = None, overwrite: bool = False,
                data_dir=None) -> Path:
    """Write GPT-2 `name` (gpt2 .. gpt2-xl, or any Hub repository of a GPT2LMHeadModel) or the folder
    `from_dir` into the run directory `out`, as an ordinary chapter-2 run."""
    import numpy as np
    import torch

    from nn2gpt.checkpoint import save_checkpoint
    from nn2gpt.runout import check_new_run, drop_training_files
    from nn2gpt.gpt import runs
    from nn2gpt.gpt.setup import fresh_state
    from nn2gpt.gpt.tokenizer import GPT2Tokenizer
    from nn2gpt.gpt.train import TrainConfig
    from nn2gpt.gpt.variants import build_model
    from nn2gpt.hub import model_folder, read_json, read_tensors
    from nn2gpt.runlock import RunLock

    where = from_dir if from_dir is not None else name
    sources = [("--from", from_dir)]
    check_new_run(out, "gpt", overwrite, resume_hint=False, sources=sources)  # before any download
    tok = GPT2Tokenizer(data_dir)  # its files are nn2gpt's own data (found or fetched before the weights)
    folder = model_folder(SIZES.get(name, name) if from_dir is None else None, from_dir, ("config.json",))
    cfg = model_config(read_json(folder, "config.json"), where)
    weights = {k: v.numpy() for k, v in our_weights(read_tensors(folder), cfg, where).items()}
    with torch.device("meta"):  # the names and shapes chapter 2's GPT has, without 1.5B random numbers (gpt2-xl)
        expected = {k: tuple(v.shape) for k, v in build_model(cfg).state_dict().items()}
    have = {k: tuple(v.shape) for k, v in weights.items()}
    wrong = sorted(k for k in expected.keys() | have.keys() if expected.get(k) != have.get(k))
    if wrong:  # our_weights fills exactly the GPT's tensors: this is a mismatch between the two modules
        raise UserError(f"chapter 2's GPT and the import disagree on {wrong[0]}; the import cannot fill it")
    train = TrainConfig(**{k: v for k, v in asdict(cfg).items()  # vocab_size there is --tokenizer bpe's
                           if k in TrainConfig.__dataclass_fields__ and k != "vocab_size"},
                        tokenizer="gpt2", **FINE_TUNE)
    config = runs.run_config(cfg, train) | {"imported": {"from": where, "format": "gpt2"}}
    state = fresh_state() | {"numpy_rng": np.random.default_rng(train.seed).bit_generator.state,
                             "torch_rng": runs.torch_rng_to_json()}
    with RunLock(Path(out)):
        check_new_run(out, "gpt", overwrite, resume_hint=False, sources=sources)
        save_checkpoint(Path(out), weights, config, tok.to_json(), None, state,
                        again="import again")
        drop_training_files(out)  # the curve and samples of a run this import replaced are not this model's
    return Path(out)
