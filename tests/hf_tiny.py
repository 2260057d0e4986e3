"""Tiny Hugging Face model folders made here, never downloaded: a random GPT2LMHeadModel and a random
MarianMTModel with SentencePiece models trained on the lab's probe sentences. The references the
import tests compare against (transformers is a test-only dependency)."""

import json
from pathlib import Path

import torch

PROBES = Path(__file__).parents[1] / "src" / "nn2gpt" / "lab" / "pizza_probes.tsv"


def corpus() -> tuple[list[str], list[str]]:
    """Spanish and English sentences: the lab's probes and their references, and simple variations."""
    rows = [line.split("\t") for line in PROBES.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")]
    es, en = [r[1] for r in rows], [r[5] for r in rows]
    for a, b in (("La", "Una"), ("pizza", "torta"), ("bien", "mal"), ("The", "A"), ("good", "bad")):
        es += [s.replace(a, b) for s in es[:44]]
        en += [s.replace(a, b) for s in en[:44]]
    return es, en


def _perturbed(model, scale: float):
    """Every weight moved off its initial value (LayerNorms start at exactly 1 and 0), so that a
    tensor put in the wrong place changes the output."""
    torch.manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "embed_positions" not in name:  # Marian's sinusoids: a fixed table, not saved
                p.add_(torch.randn_like(p) * scale)
    return model.eval()


def gpt2_folder(folder: Path):
    """(folder, model): a 2-layer, 32-wide GPT-2 with GPT-2's 50257-token vocabulary, as safetensors."""
    import transformers

    config = transformers.GPT2Config(vocab_size=50257, n_positions=64, n_embd=32, n_layer=2, n_head=4)
    torch.manual_seed(0)
    model = _perturbed(transformers.GPT2LMHeadModel(config), 0.05)
    model.save_pretrained(folder, safe_serialization=True)
    return folder, model


def _train_spm(lines: list[str], prefix: Path) -> Path:
    import sentencepiece as spm

    text = prefix.with_suffix(".txt")
    text.write_text("\n".join(lines) + "\n", encoding="utf-8")
    spm.SentencePieceTrainer.train(input=str(text), model_prefix=str(prefix), vocab_size=150, model_type="unigram",
                                   hard_vocab_limit=False, minloglevel=2)
    return prefix.with_suffix(".model")


def marian_folder(folder: Path):
    """(folder, model): a Marian es-en model (2+2 layers, width 32, SiLU, a random logits bias),
    its SentencePiece models for each side and their joint vocab.json, Marian's layout."""
    import sentencepiece as spm
    import transformers

    folder.mkdir(parents=True)
    es, en = corpus()
    src_model, tgt_model = _train_spm(es, folder.parent / "src"), _train_spm(en, folder.parent / "tgt")
    vocab = {"</s>": 0, "<unk>": 1}
    for path in (src_model, tgt_model):
        sp = spm.SentencePieceProcessor(model_file=str(path))
        for i in range(sp.get_piece_size()):
            if not (sp.is_control(i) or sp.is_unknown(i)):
                vocab.setdefault(sp.id_to_piece(i), len(vocab))
    vocab["<pad>"] = len(vocab)
    (folder / "source.spm").write_bytes(src_model.read_bytes())
    (folder / "target.spm").write_bytes(tgt_model.read_bytes())
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    V = len(vocab)
    config = transformers.MarianConfig(vocab_size=V, d_model=32, encoder_layers=2, decoder_layers=2,
                                       encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64,
                                       decoder_ffn_dim=64, max_position_embeddings=64, pad_token_id=V - 1,
                                       decoder_start_token_id=V - 1, eos_token_id=0, activation_function="swish",
                                       scale_embedding=True)
    torch.manual_seed(0)
    model = _perturbed(transformers.MarianMTModel(config), 0.1)
    with torch.no_grad():
        model.final_logits_bias.copy_(torch.randn_like(model.final_logits_bias))
    model.save_pretrained(folder, safe_serialization=True)
    return folder, model
