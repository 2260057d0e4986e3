"""Turning a trained model into translations: greedy search and beam search, batched.

Both run the encoder once per sentence, then the decoder one token at a time with a cache
(`model.start_decoding` / `model.decode_step`), so each step costs one token per hypothesis
instead of re-reading the whole prefix.

Output length is bounded relative to the source: at most `1.5 * source_tokens + 10` target
tokens (and never more than the model's `max_len`). A translation is rarely much longer
than its source, and the bound stops an untrained model from babbling forever.

Beam search keeps the `beam` best partial translations of each sentence (by summed log
probability). A hypothesis that emits </s> is frozen: it stays in the beam, extended only
by free padding, so it competes with the living ones on equal terms. At the end each
sentence's hypotheses are ranked by the GNMT length penalty
    score / ((5 + length) / 6) ** alpha
because a raw sum of log probabilities always prefers short outputs (every token costs).
alpha = 0 is the plain sum; with beam = 1 the search is exactly greedy.
"""

from __future__ import annotations


def max_output_len(src_len: int, model_max_len: int) -> int:
    return min(int(1.5 * src_len) + 10, model_max_len - 1)


def _sorted_chunks(n_items: int, lengths, max_sentences: int):
    """Indices grouped into chunks of similar source length (less padding in the encoder)."""
    order = sorted(range(n_items), key=lambda i: lengths[i])
    return [order[i:i + max_sentences] for i in range(0, n_items, max_sentences)]


def greedy_decode(model, src, max_len: int):
    """src (B, S) long -> list of B token-id lists (without <s>/</s>): argmax at every step."""
    import torch

    B = src.shape[0]
    state = model.start_decoding(src)
    tokens = torch.full((B,), model.bos_id, dtype=torch.long)
    out = torch.full((B, max_len), model.pad_id, dtype=torch.long)
    done = torch.zeros(B, dtype=torch.bool)
    for t in range(max_len):
        logits = model.decode_step(state, tokens)  # (B, V)
        tokens = logits.argmax(-1)  # (B,)
        tokens = torch.where(done, torch.full_like(tokens, model.pad_id), tokens)
        out[:, t] = tokens
        done |= tokens == model.eos_id
        if done.all():
            break
    return [_strip(row.tolist(), model) for row in out]


def beam_decode(model, src, max_len: int, beam: int = 4, alpha: float = 0.6):
    """src (B, S) long -> list of B token-id lists: the best of `beam` hypotheses per sentence."""
    import torch

    B, K = src.shape[0], beam
    V = model.vocab_size
    state = model.start_decoding(src.repeat_interleave(K, dim=0))  # every sentence K times: (B*K, S)
    scores = torch.full((B, K), float("-inf"))
    scores[:, 0] = 0.0  # all K copies start identical; keep just one alive or the beam fills with clones
    tokens = torch.full((B * K,), model.bos_id, dtype=torch.long)
    history = torch.empty((B, K, 0), dtype=torch.long)  # (B, K, t)
    finished = torch.zeros((B, K), dtype=torch.bool)
    lengths = torch.zeros((B, K))  # tokens produced up to and including </s>
    for t in range(max_len):
        logp = model.decode_step(state, tokens).log_softmax(-1).view(B, K, V)  # (B, K, V)
        # A finished hypothesis may only continue with <pad>, at no cost.
        frozen = torch.full((V,), float("-inf"))
        frozen[model.pad_id] = 0.0
        logp = torch.where(finished[..., None], frozen, logp)
        total = (scores[..., None] + logp).view(B, K * V)  # (B, K*V)
        scores, flat = total.topk(K, dim=-1)  # (B, K)
        parent, tokens_bk = flat // V, flat % V  # which hypothesis each new one extends, and with what
        history = torch.cat([history.gather(1, parent[..., None].expand(-1, -1, history.shape[2])),
                             tokens_bk[..., None]], dim=2)
        was_finished = finished.gather(1, parent)
        lengths = lengths.gather(1, parent) + (~was_finished).float()
        finished = was_finished | (tokens_bk == model.eos_id)
        rows = (parent + torch.arange(B)[:, None] * K).view(-1)  # (B*K,) rows of the flat state
        model.reorder_state(state, rows)
        tokens = tokens_bk.view(-1)
        if finished.all():
            break
    normalized = scores / ((5.0 + lengths) / 6.0) ** alpha if alpha else scores
    best = normalized.argmax(-1)  # (B,)
    return [_strip(history[b, best[b]].tolist(), model) for b in range(B)]


def _strip(ids: list[int], model) -> list[int]:
    out = []
    for i in ids:
        if i == model.eos_id:
            break
        if i != model.pad_id:
            out.append(i)
    return out


def translate(model, tok, sentences: list[str], beam: int = 1, alpha: float = 0.6,
              max_sentences: int = 64) -> list[str]:
    """Translate a list of sentences, batching sentences of similar length together."""
    import torch

    from nn2gpt.translate.batches import pad

    # sources longer than the model's positions are cut (the CLI refuses them before they get here)
    encoded = [ids[:model.max_len - 1] + [tok.eos_id] for ids in tok.encode_batch(sentences)]
    results: list[str] = [""] * len(sentences)
    model.eval()
    with torch.inference_mode():
        for chunk in _sorted_chunks(len(encoded), [len(e) for e in encoded], max_sentences):
            src = torch.from_numpy(pad([encoded[i] for i in chunk], tok.pad_id))
            max_len = max_output_len(src.shape[1], model.max_len)
            if beam <= 1:
                outs = greedy_decode(model, src, max_len)
            else:
                outs = beam_decode(model, src, max_len, beam, alpha)
            for i, ids in zip(chunk, outs):
                results[i] = tok.decode(ids)
    return results
