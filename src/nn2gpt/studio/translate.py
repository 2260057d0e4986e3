"""The translate page: a sentence, its translation, and where each attention head reads.

`attention_maps` (the same function as `nn2gpt translate attention`) translates the sentence,
then runs the model once more on its own translation with teacher forcing and keeps the weights:
the encoder's self-attention (nh, S, S) per layer, rows = the source subword that asks, and the
decoder's cross-attention (nh, T, S) per layer, rows = the English subword being produced.
`log_probability` scores any translation, the model's own or one the user types, as
log P(target | source) in nats: comparing two says how much the model prefers one.
Both take heads to turn off (`nn2gpt.nn.ablate.heads_off`): [[layer, head]] pairs, the layer
numbered over every attention layer in `layer_names` order (encoder self-attention, then each
decoder layer's self- and cross-attention).
"""

from __future__ import annotations

from nn2gpt.studio import checks

PIZZA = {"es": "La pizza salió del horno y sabía bien.", "de": "Die Pizza kam aus dem Ofen und schmeckte gut."}
# a translation to compare with the model's own: the word-for-word slip each sentence invites
SLIP = {"es": "The pizza came out of the oven and knew well.", "de": "The pizza came from the oven and tasted well."}
MAX_CHARS = 2_000


def _round(array) -> list:
    return (array.round(4)).tolist()


def source_language(config: dict) -> str:
    from nn2gpt.translate.runconfig import pair_of

    return (pair_of(config) or "es-en").split("-")[0]


def check_sentence(sentence, what: str = "sentence") -> str:
    return checks.text(sentence, what, MAX_CHARS, "type a sentence")


def layer_names(model) -> list[str]:
    """Every attention layer, as the page names them: "encoder 1 self", "decoder 1 self", "decoder 1 cross"."""
    from nn2gpt.nn.ablate import attention_layers

    def name(dotted: str) -> str:
        part, index, kind = dotted.split(".")[-3:]
        return f"{part} {int(index) + 1} {kind.removesuffix('_attn')}"
    return [name(n) for n, _ in attention_layers(model)]


def _off(model, heads) -> dict:
    return checks.heads(heads, len(layer_names(model)), model.encoder[0].self_attn.n_head)


def translate(model, tok, sentence: str, beam: int, heads=None) -> dict:
    """The translation with both attentions, and its log-probability token by token; with the heads
    `heads` turned off in every pass (the search, the attention maps, the score)."""
    from nn2gpt.nn.ablate import heads_off
    from nn2gpt.translate.lines import prepare_sentence
    from nn2gpt.translate.pictures import attention_maps

    beam = checks.number({"beam": beam}, "beam", int, 1, 16)  # 1 = greedy
    off = _off(model, heads)
    with heads_off(model, off):
        src, tgt, enc, cross, translation = attention_maps(model, tok, check_sentence(sentence), beam)
        source = prepare_sentence(model, tok, check_sentence(sentence))
        # An empty translation is the model stopping at once: it is scored too, as log P(</s> | sentence).
        target = prepare_sentence(model, tok, translation, "translation") if translation.strip() else ""
        scored = _scored(model, tok, source, target)
    return {"translation": translation, "source": src, "target": tgt, "layers": layer_names(model),
            "n_head": model.encoder[0].self_attn.n_head, "off": [[l, h] for l in off for h in off[l]],
            "encoder": [_round(w) for w in enc],  # [layer][head][S][S]
            "cross": [_round(w) for w in cross],  # [layer][head][T][S]
            "log_prob": scored["log_prob"], "tokens": scored["tokens"]}


def score(model, tok, sentence: str, target: str, heads=None) -> dict:
    """log P(target | sentence), in total and for each target token (its </s> included)."""
    from nn2gpt.nn.ablate import heads_off
    from nn2gpt.translate.lines import prepare_sentence

    source = prepare_sentence(model, tok, check_sentence(sentence))
    target = prepare_sentence(model, tok, check_sentence(target, "translation"), "translation")
    with heads_off(model, _off(model, heads)):
        return _scored(model, tok, source, target)


def _scored(model, tok, source: str, target: str) -> dict:
    """score's answer for a prepared source and target ("" = the translation that stops at once)."""
    from nn2gpt.translate.evaluate import next_token_log_probs

    ids, logp = next_token_log_probs(model, tok, source, target)  # (T,), (T, V)
    per = logp.gather(-1, ids[:, None])[:, 0]  # (T,)
    labels = [tok.id_to_token(int(i)) for i in ids[:-1]] + ["</s>"]
    return {"translation": target, "log_prob": round(float(per.sum()), 4),
            "tokens": [{"token": t, "log_prob": round(float(p), 4)} for t, p in zip(labels, per)]}
